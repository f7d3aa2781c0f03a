/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netpool.c - the host-wide pool of workspace addresses (netlink.h, "The
 * address pool"): one fact file per held slot beneath net/, every change
 * under net/lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fsutil.h"
#include "names.h"
#include "netlink.h"
#include "util.h"

/* ---- the address pool ---------------------------------------------------- */

#define POOL_DIR "net"
#define POOL_LOCK "lock"

struct pool {
	int dirfd;	/* net/ */
	int lockfd;
};

static void pool_close(struct pool *p)
{
	if (p->lockfd >= 0)
		close(p->lockfd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->lockfd = p->dirfd = -1;
}

static int pool_open(int dirfd, enum enc_lock_mode mode, struct pool *p, struct enc_err *err)
{
	p->dirfd = p->lockfd = -1;
	p->dirfd = enc_mkdir_p_at(dirfd, POOL_DIR, 0700, err);
	if (p->dirfd < 0)
		return p->dirfd;
	p->lockfd = enc_lock_at(p->dirfd, POOL_LOCK, mode, true, err);
	if (p->lockfd < 0) {
		int r = p->lockfd;

		pool_close(p);
		return r;
	}
	return 0;
}

/* "0".."16383", no leading zeros, no suffix (so "7.new" is not a slot). */
static bool slot_of(const char *name, unsigned *slot)
{
	unsigned long v = 0;
	size_t i;

	if (!name[0] || (name[0] == '0' && name[1]) || strlen(name) > 5)
		return false;
	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(name[i] - '0');
	}
	if (v >= ENC_NETPOOL_SLOTS)
		return false;
	*slot = (unsigned)v;
	return true;
}

/* Read the holder of slot; -ENOENT when free, -EINVAL when the record
 * does not parse (kept as held: it cannot be judged). */
static int holder_read(int dirfd, unsigned slot, struct enc_netpool_holder *h)
{
	_cleanup_free_ char *buf = NULL;
	char name[16], *space, *slash, *end;
	unsigned long uid;
	int r;

	snprintf(name, sizeof(name), "%u", slot);
	r = enc_fact_read(dirfd, name, 2 * ENC_NAME_MAX + ENC_NETPOOL_OWNER_MAX + 32, true,
			  &buf, NULL, NULL);
	if (r < 0)
		return r;
	h->owner[0] = '\0';
	/* The optional owner is the third word: an absolute path. */
	end = strchr(buf, ' ');
	end = end ? strchr(end + 1, ' ') : NULL;
	if (end) {
		*end = '\0';
		if (end[1] != '/' || strlen(end + 1) > ENC_NETPOOL_OWNER_MAX ||
		    strpbrk(end + 1, " \n"))
			return -EINVAL;
		snprintf(h->owner, sizeof(h->owner), "%s", end + 1);
	}
	space = strchr(buf, ' ');
	if (!space || space == buf || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	*space = '\0';
	errno = 0;
	uid = strtoul(buf, &end, 10);
	if (errno || *end || uid >= (uid_t)-1)
		return -EINVAL;
	slash = strchr(space + 1, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (!enc_name_valid(space + 1) || !enc_name_valid(slash + 1))
		return -EINVAL;
	h->slot = slot;
	h->uid = (uid_t)uid;
	snprintf(h->sandbox, sizeof(h->sandbox), "%s", space + 1);
	snprintf(h->workspace, sizeof(h->workspace), "%s", slash + 1);
	return 0;
}

static bool holder_is(const struct enc_netpool_holder *h, uid_t uid, const char *sandbox,
		      const char *workspace)
{
	return h->uid == uid && strcmp(h->sandbox, sandbox) == 0 &&
	       strcmp(h->workspace, workspace) == 0;
}

/* The same holder for allocation: owners, where both are known, must
 * match too (same names in another store are another workspace). */
static bool holder_same(const struct enc_netpool_holder *h, uid_t uid, const char *sandbox,
			const char *workspace, const char *owner)
{
	return holder_is(h, uid, sandbox, workspace) &&
	       (!owner || !h->owner[0] || strcmp(h->owner, owner) == 0);
}

/* Walk the held slots: fn gets each slot number; stop on its error. */
typedef int (*slot_fn)(struct pool *p, unsigned slot, void *arg);

static int pool_walk(struct pool *p, slot_fn fn, void *arg, struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r = 0;

	fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot read the network pool");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return enc_err_sys(err, -errno, "cannot read the network pool");
	}
	while ((errno = 0, de = readdir(d))) {
		unsigned slot;

		if (!slot_of(de->d_name, &slot))
			continue;
		r = fn(p, slot, arg);
		if (r < 0)
			return r;
	}
	if (errno)
		return enc_err_sys(err, -errno, "cannot read the network pool");
	return 0;
}

struct scan_ctx {
	uint8_t used[ENC_NETPOOL_SLOTS / 8];
	bool who;			/* look for uid/sandbox/workspace */
	uid_t uid;
	const char *sandbox, *workspace, *owner;
	int mine;			/* the slot it holds, -1 */
	unsigned nused;
	unsigned nuid;			/* slots held by uid */
};

static int scan_fn(struct pool *p, unsigned slot, void *arg)
{
	struct scan_ctx *s = arg;
	struct enc_netpool_holder h;

	s->used[slot / 8] |= (uint8_t)(1u << (slot % 8));
	s->nused++;
	if (s->who && holder_read(p->dirfd, slot, &h) == 0 && h.uid == s->uid) {
		s->nuid++;
		if (s->mine < 0 && holder_same(&h, s->uid, s->sandbox, s->workspace, s->owner))
			s->mine = (int)slot;
	}
	return 0;
}

static int pool_scan(struct pool *p, struct scan_ctx *s, bool who, uid_t uid,
		     const char *sandbox, const char *workspace, const char *owner,
		     struct enc_err *err)
{
	memset(s, 0, sizeof(*s));
	s->who = who;
	s->uid = uid;
	s->sandbox = sandbox;
	s->workspace = workspace;
	s->owner = owner;
	s->mine = -1;
	return pool_walk(p, scan_fn, s, err);
}

struct reclaim_ctx {
	enc_netpool_alive_fn alive;
	void *arg;
	unsigned reclaimed;
	struct enc_err *err;
};

static int reclaim_fn(struct pool *p, unsigned slot, void *arg)
{
	struct reclaim_ctx *c = arg;
	struct enc_netpool_holder h;
	char name[16];

	if (holder_read(p->dirfd, slot, &h) < 0)
		return 0;
	if (c->alive(&h, c->arg) != 0)
		return 0;
	snprintf(name, sizeof(name), "%u", slot);
	if (unlinkat(p->dirfd, name, 0) < 0 && errno != ENOENT)
		return enc_err_sys(c->err, -errno, "cannot free network slot %u", slot);
	c->reclaimed++;
	return 0;
}

static int pool_reclaim(struct pool *p, enc_netpool_alive_fn alive, void *arg,
			unsigned *reclaimed, struct enc_err *err)
{
	struct reclaim_ctx c = { alive, arg, 0, err };
	int r;

	r = pool_walk(p, reclaim_fn, &c, err);
	if (reclaimed)
		*reclaimed = c.reclaimed;
	return r;
}

static bool names_ok(const char *sandbox, const char *workspace, struct enc_err *err)
{
	if (enc_name_check(ENC_NAME_SANDBOX, sandbox, err) < 0)
		return false;
	return enc_name_check(ENC_NAME_WORKSPACE, workspace, err) == 0;
}

static int lowest_free(const struct scan_ctx *s)
{
	for (unsigned i = 0; i < ENC_NETPOOL_SLOTS; i++)
		if (!(s->used[i / 8] & (1u << (i % 8))))
			return (int)i;
	return -1;
}

int enc_netpool_alloc(int dirfd, const struct enc_netpool_req *q, unsigned *slot,
		      struct enc_err *err)
{
	struct pool p;
	struct scan_ctx *s;
	char name[16];
	int r, free_slot;

	if (!names_ok(q->sandbox, q->workspace, err))
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return enc_err_sys(err, -ENOMEM, "cannot allocate a network slot");
	r = pool_open(dirfd, ENC_LOCK_EXCLUSIVE, &p, err);
	if (r < 0)
		goto out_free;

	if (q->owner && (q->owner[0] != '/' || strlen(q->owner) > ENC_NETPOOL_OWNER_MAX ||
			 strpbrk(q->owner, " \n"))) {
		r = enc_err_set(err, -EINVAL, "bad network pool owner '%s'", q->owner);
		goto out;
	}
	r = pool_scan(&p, s, true, q->uid, q->sandbox, q->workspace, q->owner, err);
	if (r < 0)
		goto out;
	if (s->mine >= 0) {
		r = enc_err_set(err, -EEXIST, "workspace %s/%s already holds network slot %d",
				q->sandbox, q->workspace, s->mine);
		goto out;
	}
	free_slot = lowest_free(s);
	/* Stale holders are asked about when they are in the way: the pool is
	 * full, or this user is at the quota. */
	if ((free_slot < 0 || (q->quota && s->nuid >= q->quota)) && q->alive) {
		r = pool_reclaim(&p, q->alive, q->arg, NULL, err);
		if (r < 0)
			goto out;
		r = pool_scan(&p, s, true, q->uid, q->sandbox, q->workspace, q->owner, err);
		if (r < 0)
			goto out;
		free_slot = lowest_free(s);
	}
	if (q->quota && s->nuid >= q->quota) {
		r = enc_err_set(err, -EDQUOT, "user %u already holds %u network slots (the quota)",
				(unsigned)q->uid, s->nuid);
		goto out;
	}
	if (free_slot < 0) {
		r = enc_err_set(err, -ENOSPC, "the network address pool is exhausted "
				"(%u workspaces hold all %u slots)", s->nused, ENC_NETPOOL_SLOTS);
		goto out;
	}
	/* The record is written under the pool lock, so no other allocator
	 * can have picked the same slot in between. Not synced: the pool
	 * lives in the runtime dir, which does not outlive a reboot. */
	snprintf(name, sizeof(name), "%d", free_slot);
	r = enc_fact_printf(p.dirfd, name, 0600, false, err, "%u %s/%s%s%s\n", (unsigned)q->uid,
			    q->sandbox, q->workspace, q->owner ? " " : "",
			    q->owner ? q->owner : "");
	if (r < 0)
		goto out;
	*slot = (unsigned)free_slot;
out:
	pool_close(&p);
out_free:
	free(s);
	return r;
}

int enc_netpool_release(int dirfd, unsigned slot, uid_t uid, const char *sandbox,
			const char *workspace, struct enc_err *err)
{
	struct enc_netpool_holder h;
	struct pool p;
	char name[16];
	int r;

	if (!names_ok(sandbox, workspace, err))
		return -EINVAL;
	if (slot >= ENC_NETPOOL_SLOTS)
		return enc_err_set(err, -ERANGE, "network slot %u is outside the pool", slot);
	r = pool_open(dirfd, ENC_LOCK_EXCLUSIVE, &p, err);
	if (r < 0)
		return r;
	r = holder_read(p.dirfd, slot, &h);
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r < 0) {
		r = enc_err_sys(err, r, "cannot read the holder of network slot %u", slot);
		goto out;
	}
	if (!holder_is(&h, uid, sandbox, workspace)) {
		r = enc_err_set(err, -EPERM, "network slot %u is held by %s/%s of user %u, "
				"not %s/%s of user %u", slot, h.sandbox, h.workspace,
				(unsigned)h.uid, sandbox, workspace, (unsigned)uid);
		goto out;
	}
	snprintf(name, sizeof(name), "%u", slot);
	if (unlinkat(p.dirfd, name, 0) < 0 && errno != ENOENT)
		r = enc_err_sys(err, -errno, "cannot free network slot %u", slot);
out:
	pool_close(&p);
	return r;
}

int enc_netpool_find(int dirfd, uid_t uid, const char *sandbox, const char *workspace,
		     unsigned *slot, struct enc_err *err)
{
	struct pool p;
	struct scan_ctx *s;
	int r;

	if (!names_ok(sandbox, workspace, err))
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return enc_err_sys(err, -ENOMEM, "cannot search the network pool");
	r = pool_open(dirfd, ENC_LOCK_SHARED, &p, err);
	if (r < 0)
		goto out_free;
	r = pool_scan(&p, s, true, uid, sandbox, workspace, NULL, err);
	if (r == 0 && s->mine < 0)
		r = enc_err_set(err, -ENOENT, "workspace %s/%s holds no network slot",
				sandbox, workspace);
	else if (r == 0)
		*slot = (unsigned)s->mine;
	pool_close(&p);
out_free:
	free(s);
	return r;
}

int enc_netpool_reclaim(int dirfd, enc_netpool_alive_fn alive, void *arg,
			unsigned *reclaimed, struct enc_err *err)
{
	struct pool p;
	int r;

	if (reclaimed)
		*reclaimed = 0;
	if (!alive)
		return enc_err_set(err, -EINVAL, "cannot reclaim network slots without a "
				   "liveness check");
	r = pool_open(dirfd, ENC_LOCK_EXCLUSIVE, &p, err);
	if (r < 0)
		return r;
	r = pool_reclaim(&p, alive, arg, reclaimed, err);
	pool_close(&p);
	return r;
}
