/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workspace.c - a workspace's directories, lock, pid files and id slot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "names.h"
#include "parse.h"
#include "unpriv.h"
#include "workspace.h"

static char *join3(const char *a, const char *b, const char *c)
{
	char *s = NULL;

	if (asprintf(&s, "%s/%s/%s", a, b, c) < 0)
		return NULL;
	return s;
}

static int ws_open(const struct enc_state *st, const char *sandbox, const char *name,
		   bool create, struct enc_ws *w, struct enc_err *err);

int enc_ws_open(const struct enc_state *st, const char *sandbox, const char *name,
		bool create, struct enc_ws *w, struct enc_err *err)
{
	int r;

	*w = (struct enc_ws)ENC_WS_INIT;
	if ((r = enc_name_check(ENC_NAME_WORKSPACE, name, err)) < 0)
		return r;
	return ws_open(st, sandbox, name, create, w, err);
}

int enc_ws_open_setup(const struct enc_state *st, const char *sandbox, bool create,
		      struct enc_ws *w, struct enc_err *err)
{
	*w = (struct enc_ws)ENC_WS_INIT;
	return ws_open(st, sandbox, ENC_WS_SETUP, create, w, err);
}

static int ws_open(const struct enc_state *st, const char *sandbox, const char *name,
		   bool create, struct enc_ws *w, struct enc_err *err)
{
	char rel[2 * ENC_NAME_MAX + 32];
	int r;

	if ((r = enc_name_check(ENC_NAME_SANDBOX, sandbox, err)) < 0)
		return r;
	snprintf(rel, sizeof(rel), "workspaces/%s/%s", sandbox, name);

	w->sandbox = strdup(sandbox);
	w->name = strdup(name);
	w->dir_path = join3(st->data_path, "workspaces", rel + strlen("workspaces/"));
	w->run_path = join3(st->run_path, "workspaces", rel + strlen("workspaces/"));
	if (!w->sandbox || !w->name || !w->dir_path || !w->run_path) {
		enc_ws_close(w);
		return enc_err_set(err, -ENOMEM, "out of memory");
	}

	struct enc_err local = {};
	if (create)
		r = enc_mkdir_p_at(st->data_fd, rel, 0700, &local);
	else
		r = enc_opendir_at(st->data_fd, rel, &local);
	if (r < 0) {
		enc_ws_close(w);
		if (r == -ENOENT && !create)
			return enc_err_set(err, -ENOENT, "no workspace %s/%s", sandbox, name);
		if (err && !enc_err_isset(err))
			*err = local;
		return r;
	}
	w->dir_fd = r;

	/* The runtime dir is recreated on demand: it lives on tmpfs for root
	 * and vanishes at reboot, while the data dir does not. */
	r = enc_mkdir_p_at(st->run_fd, rel, 0700, err);
	if (r < 0) {
		enc_ws_close(w);
		return r;
	}
	w->run_fd = r;
	return 0;
}

void enc_ws_close(struct enc_ws *w)
{
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	if (w->run_fd >= 0)
		close(w->run_fd);
	free(w->sandbox);
	free(w->name);
	free(w->dir_path);
	free(w->run_path);
	*w = (struct enc_ws)ENC_WS_INIT;
}

int enc_ws_lock(struct enc_ws *w, bool wait, struct enc_err *err)
{
	int fd, r;

	if (w->lock_fd >= 0)
		return 0;
	fd = enc_lock_open(w->dir_fd, "lock", err);
	if (fd < 0)
		return fd;
	r = enc_lock_take(fd, ENC_LOCK_EXCLUSIVE, wait, NULL);
	/* A monitor in its last step: wait for it (milliseconds). */
	for (int step = 1, waited = 0; r == -EWOULDBLOCK && waited < ENC_WS_STOPPING_WAIT_MS &&
	     faccessat(w->run_fd, ENC_WS_STOPPING, F_OK, AT_SYMLINK_NOFOLLOW) == 0;) {
		poll(NULL, 0, step);
		waited += step;
		if (step < 20)
			step *= 2;
		r = enc_lock_take(fd, ENC_LOCK_EXCLUSIVE, false, NULL);
	}
	if (r < 0) {
		close(fd);
		if (r == -EWOULDBLOCK)
			return enc_err_set(err, -EBUSY, "workspace %s/%s is running",
					   w->sandbox, w->name);
		return enc_err_sys(err, r, "cannot lock workspace %s/%s", w->sandbox, w->name);
	}
	w->lock_fd = fd;
	/* The stopping monitor before us is gone (it leaves the file to us,
	 * so no waiter sees it vanish before the lock is free). */
	unlinkat(w->run_fd, ENC_WS_STOPPING, 0);
	return 0;
}

void enc_ws_unlock(struct enc_ws *w)
{
	if (w->lock_fd >= 0) {
		close(w->lock_fd);
		w->lock_fd = -1;
	}
}

int enc_ws_running(const struct enc_ws *w, struct enc_err *err)
{
	if (w->lock_fd >= 0)
		return 0;	/* we hold it: nobody else is running it */
	int r = enc_lock_held(w->dir_fd, "lock", err);
	if (r == 1 && faccessat(w->run_fd, ENC_WS_STOPPING, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;	/* ended; its monitor is only tidying up */
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int enc_ws_wait_stopped(const struct enc_ws *w, int timeout_ms, struct enc_err *err)
{
	_cleanup_close_ int fd = enc_lock_open(w->dir_fd, "lock", err);
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	if (fd < 0)
		return fd;
	if (timeout_ms < 0) {
		/* A blocking shared lock returns exactly when the monitor's
		 * exclusive lock is gone: no polling. */
		if (ENC_RETRY(flock(fd, LOCK_SH)) < 0)
			return enc_err_sys(err, -errno, "waiting for workspace %s/%s",
					   w->sandbox, w->name);
		return 0;
	}
	/* With a deadline: poll the lock with a short back-off (flock has no
	 * timeout). Starts at 1 ms so a stop that is almost done is seen at
	 * once, and caps at 50 ms. */
	int step = 1;
	for (;;) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return enc_err_sys(err, -errno, "waiting for workspace %s/%s",
					   w->sandbox, w->name);
		if (now_ms() >= deadline)
			return enc_err_set(err, -ETIMEDOUT, "workspace %s/%s is still running",
					   w->sandbox, w->name);
		poll(NULL, 0, step);
		if (step < 50)
			step *= 2;
	}
}

int enc_ws_pid_write(const struct enc_ws *w, const char *which, const struct enc_pidref *ref,
		     struct enc_err *err)
{
	char buf[64];
	int n = enc_pidref_format(ref, buf, sizeof(buf));

	return enc_fact_write(w->run_fd, which, buf, (size_t)n, 0600, false, err);
}

int enc_ws_pid_read(const struct enc_ws *w, const char *which, struct enc_pidref *ref,
		    struct enc_err *err)
{
	_cleanup_free_ char *s = NULL;
	int r = enc_fact_read(w->run_fd, which, 64, false, &s, NULL, err);

	if (r < 0)
		return r;
	if (enc_pidref_parse(s, ref) < 0)
		return enc_err_set(err, -EINVAL, "%s/%s: malformed pid file", w->run_path, which);
	return 0;
}

/* ---- id slots ---------------------------------------------------------- */

static int read_slot(int dirfd, const char *path, uint32_t *slot)
{
	_cleanup_free_ char *s = NULL;
	int r = enc_fact_read(dirfd, path, 32, true, &s, NULL, NULL);

	if (r < 0)
		return r;
	return enc_parse_u32(s, 0, ENC_IDPOOL_SLOTS - 1, slot, NULL);
}

/* Slot claims live in workspaces/.slots/<slot> (content "sandbox/ws"), so
 * allocation reads one small directory instead of every workspace. */
static int claimed_slots(int slotsfd, unsigned char *used, struct enc_err *err)
{
	int fd = dup(slotsfd);
	if (fd < 0)
		return enc_err_sys(err, -errno, "listing id slots");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return enc_err_sys(err, -errno, "listing id slots");
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		uint32_t s;
		if (de->d_name[0] != '.' &&
		    enc_parse_u32(de->d_name, 0, ENC_IDPOOL_SLOTS - 1, &s, NULL) == 0)
			used[s] = 1;
	}
	return errno ? enc_err_sys(err, -errno, "listing id slots") : 0;
}

int enc_ws_idslot(const struct enc_state *st, const struct enc_ws *w, uint32_t *slot,
		  struct enc_err *err)
{
	if (read_slot(w->dir_fd, "idslot", slot) == 0)
		return 0;

	/* Allocate under the store-wide lock so two starts never pick the
	 * same slot. */
	_cleanup_close_ int wsroot = enc_opendir_at(st->data_fd, "workspaces", err);
	if (wsroot < 0)
		return wsroot;
	_cleanup_close_ int lock = enc_lock_at(wsroot, ".lock", ENC_LOCK_EXCLUSIVE, true, err);
	if (lock < 0)
		return lock;
	if (read_slot(w->dir_fd, "idslot", slot) == 0)
		return 0;
	_cleanup_close_ int slots = enc_mkdir_p_at(wsroot, ".slots", 0700, err);
	if (slots < 0)
		return slots;
	_cleanup_free_ unsigned char *used = calloc(ENC_IDPOOL_SLOTS, 1);
	if (!used)
		return enc_err_set(err, -ENOMEM, "out of memory");
	int r = claimed_slots(slots, used, err);
	if (r < 0)
		return r;

	for (uint32_t s = 0; s < ENC_IDPOOL_SLOTS; s++) {
		if (used[s])
			continue;
		char name[16], owner[2 * ENC_NAME_MAX + 4], buf[16];
		snprintf(name, sizeof(name), "%u", s);
		int ol = snprintf(owner, sizeof(owner), "%s/%s\n", w->sandbox, w->name);
		r = enc_fact_write(slots, name, owner, (size_t)ol, 0600, false, err);
		if (r < 0)
			return r;
		int len = snprintf(buf, sizeof(buf), "%u\n", s);
		r = enc_fact_write(w->dir_fd, "idslot", buf, (size_t)len, 0600, false, err);
		if (r < 0) {
			unlinkat(slots, name, 0);
			return r;
		}
		*slot = s;
		return 0;
	}
	return enc_err_set(err, -ENOSPC, "no free host id range left (%u workspaces)",
			   ENC_IDPOOL_SLOTS);
}

/* Give the slot back when the workspace goes. */
static void release_slot(const struct enc_state *st, const struct enc_ws *w)
{
	uint32_t s;
	char name[16];

	if (read_slot(w->dir_fd, "idslot", &s) < 0)
		return;
	_cleanup_close_ int slots = enc_opendir_at(st->data_fd, "workspaces/.slots", NULL);
	if (slots < 0)
		return;
	snprintf(name, sizeof(name), "%u", s);
	unlinkat(slots, name, 0);
}

/* ---- listing ----------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
	const struct enc_ws_entry *x = a, *y = b;
	int c = strcmp(x->sandbox, y->sandbox);

	return c ? c : strcmp(x->name, y->name);
}

static int list_dir_names(int dirfd, struct enc_strv *out, struct enc_err *err, const char *what)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return enc_err_sys(err, -errno, "%s", what);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return enc_err_sys(err, -errno, "%s", what);
	}
	rewinddir(d);
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		/* Only names that pass the allowlist are workspaces; ".lock"
		 * and anything odd a user left are not. */
		if (!enc_name_valid(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (enc_strv_push(out, de->d_name) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
	}
	if (errno)
		return enc_err_sys(err, -errno, "%s", what);
	return 0;
}

int enc_ws_list(const struct enc_state *st, const char *sandbox, struct enc_ws_entry **out,
		size_t *n, struct enc_err *err)
{
	struct enc_strv sbs = {};
	struct enc_ws_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	_cleanup_close_ int root = enc_opendir_at(st->data_fd, "workspaces", NULL);
	if (root < 0)
		return root == -ENOENT ? 0 : enc_err_sys(err, root, "%s/workspaces", st->data_path);

	if (sandbox) {
		r = enc_strv_push(&sbs, sandbox) < 0 ? -ENOMEM : 0;
	} else {
		r = list_dir_names(root, &sbs, err, "listing workspaces");
	}
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < sbs.n; i++) {
		struct enc_strv wss = {};
		int sfd = enc_opendir_at(root, sbs.v[i], NULL);
		if (sfd < 0)
			continue;
		r = list_dir_names(sfd, &wss, err, "listing workspaces");
		close(sfd);
		if (r < 0) {
			enc_strv_free(&wss);
			goto fail;
		}
		for (size_t k = 0; k < wss.n; k++) {
			if (cnt == cap) {
				cap = cap ? 2 * cap : 16;
				struct enc_ws_entry *nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					enc_strv_free(&wss);
					r = enc_err_set(err, -ENOMEM, "out of memory");
					goto fail;
				}
				v = nv;
			}
			v[cnt].sandbox = strdup(sbs.v[i]);
			v[cnt].name = strdup(wss.v[k]);
			cnt++;
			if (!v[cnt - 1].sandbox || !v[cnt - 1].name) {
				enc_strv_free(&wss);
				r = enc_err_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
		}
		enc_strv_free(&wss);
	}
	enc_strv_free(&sbs);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entry);
	*out = v;
	*n = cnt;
	return 0;
fail:
	enc_strv_free(&sbs);
	enc_ws_list_free(v, cnt);
	return r < 0 ? r : -ENOMEM;
}

void enc_ws_list_free(struct enc_ws_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].sandbox);
		free(e[i].name);
	}
	free(e);
}

void enc_ws_cgroup_name(const struct enc_ws *w, char *buf, size_t len)
{
	struct stat st = {};

	if (fstat(w->dir_fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	snprintf(buf, len, "%s:%s:%llx-%llx", w->sandbox, w->name,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

int enc_ws_remove(const struct enc_state *st, struct enc_ws *w, struct enc_err *err)
{
	char rel[2 * ENC_NAME_MAX + 32];
	int r;

	/* An ordinary user's persistent upper layer is the workspace's ids':
	 * removed as those (lib/unpriv.h). */
	uint32_t slot;
	bool slotted = read_slot(w->dir_fd, "idslot", &slot) == 0;

	snprintf(rel, sizeof(rel), "workspaces/%s/%s", w->sandbox, w->name);
	release_slot(st, w);
	r = enc_rm_rf_at(st->run_fd, rel, err);
	if (r < 0)
		return r;
	/* The lock file goes with the directory; our fd keeps the lock on the
	 * unlinked inode until we close it, and a new start creates a new
	 * lock file, which is fine: nothing can be running once removed. */
	r = slotted ? enc_unpriv_rm_rf_slot(st->data_fd, rel, slot, err)
		    : enc_rm_rf_at(st->data_fd, rel, err);
	if (r < 0)
		return r;
	/* Drop the sandbox's directory when it became empty. */
	_cleanup_close_ int root = enc_opendir_at(st->data_fd, "workspaces", err);
	if (root < 0)
		return root;
	if (unlinkat(root, w->sandbox, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
	    errno != EEXIST && errno != ENOENT)
		return enc_err_sys(err, -errno, "%s/workspaces/%s", st->data_path, w->sandbox);
	return 0;
}
