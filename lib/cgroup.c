/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup.c - per-workspace cgroups on cgroup v2, hybrid and v1 hosts.
 * The contract is in cgroup.h; this file explains the kernel facts it
 * relies on where they are used.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include "cgroup.h"

static const char *const ctrl_names[ENC_CG_NCTRL] = {
	[ENC_CG_MEMORY] = "memory",
	[ENC_CG_PIDS] = "pids",
	[ENC_CG_CPU] = "cpu",
	[ENC_CG_CPUACCT] = "cpuacct",
	[ENC_CG_FREEZER] = "freezer",
};

#define CTRL(c) (1u << (c))

const char *enc_cgroup_ctrl_str(enum enc_cgroup_ctrl ctrl)
{
	return (unsigned)ctrl < ENC_CG_NCTRL ? ctrl_names[ctrl] : "?";
}

const char *enc_cgroup_mode_str(enum enc_cgroup_mode mode)
{
	switch (mode) {
	case ENC_CGROUP_MODE_NONE:
		return "none";
	case ENC_CGROUP_MODE_UNIFIED:
		return "unified";
	case ENC_CGROUP_MODE_HYBRID:
		return "hybrid";
	case ENC_CGROUP_MODE_LEGACY:
		return "legacy";
	}
	return "?";
}

/* ---- small file helpers (all fd-relative, one component, no symlinks) */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int open_file(int dirfd, const char *file, int flags)
{
	int fd = ENC_RETRY(openat(dirfd, file, flags | O_CLOEXEC | O_NOFOLLOW));

	return fd < 0 ? -errno : fd;
}

static int open_dir(int dirfd, const char *name)
{
	return open_file(dirfd, name, O_RDONLY | O_DIRECTORY);
}

static bool has_file(int dirfd, const char *file)
{
	return faccessat(dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* cgroupfs takes a value in a single write(); a short write is an error. */
static int write_file(int dirfd, const char *file, const char *val)
{
	_cleanup_close_ int fd = open_file(dirfd, file, O_WRONLY);
	size_t len = strlen(val);

	if (fd < 0)
		return fd;
	ssize_t n = ENC_RETRY(write(fd, val, len));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int pread_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n = ENC_RETRY(pread(fd, buf + len, size - 1 - len, (off_t)len));
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (int)len;
}

static int read_file(int dirfd, const char *file, char *buf, size_t size)
{
	_cleanup_close_ int fd = open_file(dirfd, file, O_RDONLY);

	if (fd < 0)
		return fd;
	return pread_all(fd, buf, size);
}

/* Whole-file read with growth, for cgroup.procs (unbounded in principle). */
static int read_file_alloc(int dirfd, const char *file, char **out)
{
	_cleanup_close_ int fd = open_file(dirfd, file, O_RDONLY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= (64u << 20))
				return -EFBIG;
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		ssize_t n = ENC_RETRY(read(fd, buf + len, cap - len - 1));
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = steal_pointer(&buf);
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end && *end != '\n' && *end != ' ')
		return -EINVAL;
	*v = x;
	return 0;
}

static int read_u64(int dirfd, const char *file, uint64_t *v)
{
	char buf[64];
	int r = read_file(dirfd, file, buf, sizeof(buf));

	return r < 0 ? r : parse_u64(buf, v);
}

/* "key value" lines (memory.events, cpu.stat, memory.oom_control, ...). */
static int kv_get(const char *buf, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = buf;

	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return parse_u64(p + kl + 1, v);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

static bool word_in(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, seps);
		if (n == wl && strncmp(p, word, wl) == 0)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* "memory,pids" (sep ",") or "+memory +pids" (sep " ", plus). */
static void ctrls_str(unsigned ctrls, bool plus, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int c = 0; c < ENC_CG_NCTRL && len < size; c++)
		if (ctrls & CTRL(c))
			len += (size_t)snprintf(buf + len, size - len, "%s%s%s",
						len ? (plus ? " " : ",") : "",
						plus ? "+" : "", ctrl_names[c]);
}

static void hier_label(int version, unsigned ctrls, char *buf, size_t size)
{
	char list[40];

	ctrls_str(ctrls, false, list, sizeof(list));
	snprintf(buf, size, "cgroup v%d%s%s", version, *list ? " " : "", list);
}

static bool name_ok(const char *name)
{
	size_t len = name ? strnlen(name, ENC_CGROUP_NAME_MAX + 1) : 0;

	return len > 0 && len <= ENC_CGROUP_NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* ---- detection */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
		    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static void sys_init(struct enc_cgroup_sys *sys)
{
	memset(sys, 0, sizeof(*sys));
	sys->v2 = -1;
	for (int c = 0; c < ENC_CG_NCTRL; c++)
		sys->ctrl_hier[c] = -1;
	for (int i = 0; i < ENC_CGROUP_HIER_MAX; i++) {
		sys->hier[i].mnt_fd = -1;
		sys->hier[i].parent_fd = -1;
	}
}

void enc_cgroup_sys_close(struct enc_cgroup_sys *sys)
{
	if (!sys)
		return;
	for (int i = 0; i < sys->nhier; i++) {
		enc_closep(&sys->hier[i].mnt_fd);
		enc_closep(&sys->hier[i].parent_fd);
		sys->hier[i].mnt_fd = sys->hier[i].parent_fd = -1;
	}
	sys->nhier = 0;
}

/* Add one mountinfo entry if it is a cgroup hierarchy enclave uses and
 * not a second mount of one already seen. Returns 0 (added or skipped)
 * or -errno. */
static int add_mount(struct enc_cgroup_sys *sys, unsigned maj, unsigned min,
		     const char *mnt, const char *fstype, const char *opts)
{
	int version;
	unsigned ctrls = 0;
	dev_t dev = makedev(maj, min);
	struct stat st;
	struct statfs sfs;

	if (strcmp(fstype, "cgroup2") == 0) {
		if (sys->v2 >= 0)
			return 0;
		version = 2;
	} else if (strcmp(fstype, "cgroup") == 0) {
		version = 1;
		for (int c = 0; c < ENC_CG_NCTRL; c++)
			if (word_in(opts, ctrl_names[c], ","))
				ctrls |= CTRL(c);
		/* name=systemd, devices, blkio, cpuset...: not ours. */
		if (!ctrls)
			return 0;
	} else {
		return 0;
	}
	for (int i = 0; i < sys->nhier; i++)
		if (sys->hier[i].dev == dev)
			return 0;
	if (sys->nhier == ENC_CGROUP_HIER_MAX || strlen(mnt) >= sizeof(sys->hier[0].mount))
		return 0;

	/* The mount point may be shadowed by a later mount; only a directory
	 * that really is this cgroupfs superblock is used. */
	int fd = ENC_RETRY(open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (fd < 0)
		return 0;
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0 || st.st_dev != dev ||
	    sfs.f_type != (version == 2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC)) {
		close(fd);
		return 0;
	}

	struct enc_cgroup_hier *h = &sys->hier[sys->nhier];
	h->version = version;
	h->ctrls = ctrls;
	h->dev = dev;
	h->mnt_fd = fd;
	h->parent_fd = -1;
	snprintf(h->mount, sizeof(h->mount), "%s", mnt);
	if (version == 2)
		sys->v2 = sys->nhier;
	sys->nhier++;
	return 0;
}

static int parse_mountinfo(struct enc_cgroup_sys *sys, struct enc_err *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return enc_err_sys(err, -errno, "cannot open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *fld[6], *save = NULL, *tok;
		unsigned maj, min;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok && n < 6;
		     tok = strtok_r(NULL, " ", &save))
			fld[n++] = tok;
		if (n < 6)
			continue;
		while (tok && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " ", &save);
		char *fstype = strtok_r(NULL, " ", &save);
		char *source = strtok_r(NULL, " ", &save);
		char *sopts = strtok_r(NULL, " ", &save);
		if (!tok || !fstype || !source || !sopts)
			continue;
		if (sscanf(fld[2], "%u:%u", &maj, &min) != 2)
			continue;
		unescape(fld[4]);
		int r = add_mount(sys, maj, min, fld[4], fstype, sopts);
		if (r < 0)
			return enc_err_sys(err, r, "cannot use cgroup mount %s", fld[4]);
	}
	return 0;
}

/* Some files exist only in non-root cgroups (cgroup.kill, memory.peak,
 * memory.swap.max, cpu.max): look for them in the root's children.
 * 1 found, 0 a child has `witness` (the controller is on there) but not
 * `file`, -1 cannot tell. */
static int v2_peek(int mnt_fd, const char *witness, const char *file)
{
	int fd = open_dir(mnt_fd, ".");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = -1, seen = 0;

	if (!d) {
		enc_closep(&fd);
		return -1;
	}
	while ((de = readdir(d)) && seen < 64) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		seen++;
		_cleanup_close_ int cfd = open_dir(mnt_fd, de->d_name);
		if (cfd < 0 || !has_file(cfd, witness))
			continue;
		if (has_file(cfd, file)) {
			ret = 1;
			break;
		}
		ret = 0;
	}
	closedir(d);
	return ret;
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a, b;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > major || (a == major && b >= minor);
}

static void probe_features(struct enc_cgroup_sys *sys)
{
	unsigned f = 0;
	int m = sys->ctrl_hier[ENC_CG_MEMORY];
	int c = sys->ctrl_hier[ENC_CG_CPU];

	if (m >= 0) {
		const struct enc_cgroup_hier *h = &sys->hier[m];
		f |= ENC_CGROUP_F_MEMORY;
		if (h->version == 1) {
			if (has_file(h->mnt_fd, "memory.memsw.limit_in_bytes"))
				f |= ENC_CGROUP_F_MEMORY_SWAP;
			if (has_file(h->mnt_fd, "memory.max_usage_in_bytes"))
				f |= ENC_CGROUP_F_MEMORY_PEAK;
		} else {
			/* Unknown counts as present: create() has the last word. */
			if (v2_peek(h->mnt_fd, "memory.max", "memory.swap.max") != 0)
				f |= ENC_CGROUP_F_MEMORY_SWAP;
			int pk = v2_peek(h->mnt_fd, "memory.max", "memory.peak");
			if (pk == 1 || (pk < 0 && kernel_at_least(5, 19)))
				f |= ENC_CGROUP_F_MEMORY_PEAK;
			f |= ENC_CGROUP_F_OOM_GROUP;
		}
	}
	if (sys->ctrl_hier[ENC_CG_PIDS] >= 0)
		f |= ENC_CGROUP_F_PIDS;
	if (c >= 0) {
		const struct enc_cgroup_hier *h = &sys->hier[c];
		/* Quotas need CONFIG_CFS_BANDWIDTH. */
		if (h->version == 1 ? has_file(h->mnt_fd, "cpu.cfs_quota_us")
				    : v2_peek(h->mnt_fd, "cpu.weight", "cpu.max") != 0)
			f |= ENC_CGROUP_F_CPU;
	}
	if (sys->ctrl_hier[ENC_CG_CPUACCT] >= 0)
		f |= ENC_CGROUP_F_CPU_STAT;
	if (sys->ctrl_hier[ENC_CG_FREEZER] >= 0)
		f |= ENC_CGROUP_F_FREEZER;
	if (sys->v2 >= 0) {
		f |= ENC_CGROUP_F_CLONE_INTO;
		/* cgroup.kill is a core file (any cgroup2, no controller) since
		 * Linux 5.14, below enclave's 6.1 floor; still check. */
		int k = v2_peek(sys->hier[sys->v2].mnt_fd, "cgroup.procs", "cgroup.kill");
		if (k == 1 || (k < 0 && kernel_at_least(5, 14)))
			f |= ENC_CGROUP_F_KILL;
	}
	sys->features = f;
}

int enc_cgroup_probe(struct enc_cgroup_sys *sys, struct enc_err *err)
{
	bool v1 = false;
	int r;

	sys_init(sys);
	r = parse_mountinfo(sys, err);
	if (r < 0)
		goto fail;
	if (sys->nhier == 0) {
		r = enc_err_set(err, -ENOENT,
				"no cgroup hierarchy is mounted (neither cgroup2 nor a v1 memory, pids, cpu, cpuacct or freezer hierarchy in /proc/self/mountinfo)");
		goto fail;
	}

	if (sys->v2 >= 0) {
		struct enc_cgroup_hier *h = &sys->hier[sys->v2];
		char buf[512];

		/* The root's cgroup.controllers lists what this hierarchy
		 * can hand down; a controller bound to a v1 hierarchy is
		 * never listed here. */
		r = read_file(h->mnt_fd, "cgroup.controllers", buf, sizeof(buf));
		if (r < 0) {
			r = enc_err_sys(err, r, "cannot read %s/cgroup.controllers", h->mount);
			goto fail;
		}
		for (int c = ENC_CG_MEMORY; c <= ENC_CG_CPU; c++)
			if (word_in(buf, ctrl_names[c], " \n"))
				h->ctrls |= CTRL(c);
	}
	/* cgroup2 always has cpu.stat (usage_usec) as a core file: the
	 * scheduler charges every task's runtime to its cgroup2 cgroup
	 * whether or not the cpu controller is bound there. Taking the
	 * usage from it spares a hybrid host's workspace the v1 cpuacct
	 * hierarchy (one mkdir, attach, read and rmdir less per start). */
	if (sys->v2 >= 0)
		sys->ctrl_hier[ENC_CG_CPUACCT] = sys->v2;
	for (int i = 0; i < sys->nhier; i++) {
		if (sys->hier[i].version == 1)
			v1 = true;
		for (int c = 0; c < ENC_CG_NCTRL; c++)
			if ((sys->hier[i].ctrls & CTRL(c)) && sys->ctrl_hier[c] < 0)
				sys->ctrl_hier[c] = i;
	}
	if (sys->v2 >= 0)
		sys->mode = v1 ? ENC_CGROUP_MODE_HYBRID : ENC_CGROUP_MODE_UNIFIED;
	else
		sys->mode = ENC_CGROUP_MODE_LEGACY;
	probe_features(sys);
	return 0;
fail:
	enc_cgroup_sys_close(sys);
	sys->mode = ENC_CGROUP_MODE_NONE;
	return r;
}

int enc_cgroup_probe_delegated(struct enc_cgroup_sys *sys, int dirfd,
			       struct enc_err *err)
{
	struct statfs sfs;
	int r = enc_cgroup_probe(sys, err);

	if (r < 0)
		return r;
	if (sys->mode != ENC_CGROUP_MODE_UNIFIED) {
		enc_cgroup_sys_close(sys);
		return enc_err_set(err, -EOPNOTSUPP,
				   "cgroup delegation needs a pure cgroup v2 host, this one is %s",
				   enc_cgroup_mode_str(sys->mode));
	}
	if (fstatfs(dirfd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		enc_cgroup_sys_close(sys);
		return enc_err_set(err, -EINVAL, "delegated cgroup is not a cgroup2 directory");
	}
	struct enc_cgroup_hier *h = &sys->hier[sys->v2];
	h->parent_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (h->parent_fd < 0) {
		r = -errno;
		enc_cgroup_sys_close(sys);
		return enc_err_sys(err, r, "cannot duplicate the delegated cgroup fd");
	}
	h->delegated = true;
	return 0;
}

/* enclave's parent as the caller sees it: "enclave" for root, the
 * delegated "enclave/user-UID" for an ordinary user (whose workspaces
 * enclave-helper's cgroup-add places there), each step without symlinks. */
static int open_parent(int mnt_fd)
{
	char user[32];
	int pfd = open_dir(mnt_fd, ENC_CGROUP_PARENT);

	if (pfd < 0 || geteuid() == 0)
		return pfd;
	snprintf(user, sizeof(user), "user-%u", (unsigned)geteuid());
	int ufd = open_dir(pfd, user);
	close(pfd);
	return ufd;
}

int enc_cgroup_probe_user(struct enc_cgroup_sys *sys, struct enc_err *err)
{
	uid_t uid = geteuid();
	char user[32];
	int r = enc_cgroup_probe(sys, err);

	if (r < 0)
		return r;
	snprintf(user, sizeof(user), "%s/user-%u", ENC_CGROUP_PARENT, (unsigned)uid);
	for (int i = 0; i < sys->nhier; i++) {
		struct enc_cgroup_hier *h = &sys->hier[i];
		struct stat st;
		int fd = open_parent(h->mnt_fd);

		if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != uid)) {
			close(fd);
			fd = -EPERM;
		}
		if (fd < 0) {
			enc_cgroup_sys_close(sys);
			return enc_err_sys(err, fd, "no cgroup delegated to uid %u: %s/%s",
					   (unsigned)uid, h->mount, user);
		}
		if (h->parent_fd >= 0)
			close(h->parent_fd);
		h->parent_fd = fd;
		h->delegated = true;
		h->enabled = 0;
	}
	return 0;
}

/* ---- creation */

static void cg_init(struct enc_cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	cg->v2 = -1;
	cg->ep_fd = cg->oom_efd = -1;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(cg->ev_fd); i++)
		cg->ev_fd[i] = -1;
	for (int i = 0; i < ENC_CGROUP_HIER_MAX; i++)
		cg->dir_fd[i] = cg->parent_fd[i] = -1;
	for (int c = 0; c < ENC_CG_NCTRL; c++)
		cg->ctrl_hier[c] = -1;
}

static void cg_copy_layout(struct enc_cgroup *cg, const struct enc_cgroup_sys *sys,
			   const char *name)
{
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	cg->nhier = sys->nhier;
	cg->v2 = sys->v2;
	cg->features = sys->features;
	for (int i = 0; i < sys->nhier; i++) {
		cg->version[i] = sys->hier[i].version;
		cg->ctrls[i] = sys->hier[i].ctrls;
	}
	for (int c = 0; c < ENC_CG_NCTRL; c++)
		cg->ctrl_hier[c] = sys->ctrl_hier[c];
}

void enc_cgroup_close(struct enc_cgroup *cg)
{
	if (!cg)
		return;
	for (int i = 0; i < ENC_CGROUP_HIER_MAX; i++) {
		enc_closep(&cg->dir_fd[i]);
		enc_closep(&cg->parent_fd[i]);
		cg->dir_fd[i] = cg->parent_fd[i] = -1;
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(cg->ev_fd); i++) {
		enc_closep(&cg->ev_fd[i]);
		cg->ev_fd[i] = -1;
	}
	enc_closep(&cg->ep_fd);
	enc_closep(&cg->oom_efd);
	cg->ep_fd = cg->oom_efd = -1;
}

/* The directory of controller c's hierarchy, or -1. */
static int ctrl_dir(const struct enc_cgroup *cg, enum enc_cgroup_ctrl c)
{
	int i = cg->ctrl_hier[c];

	return i >= 0 ? cg->dir_fd[i] : -1;
}

static int ctrl_version(const struct enc_cgroup *cg, enum enc_cgroup_ctrl c)
{
	int i = cg->ctrl_hier[c];

	return i >= 0 ? cg->version[i] : 0;
}

/* Enable controllers in one cgroup2 directory's cgroup.subtree_control,
 * adding only what is missing and never removing anything. */
static int v2_enable(int dirfd, unsigned want)
{
	char buf[512], req[128];
	int r = read_file(dirfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r < 0)
		return r;
	for (int c = ENC_CG_MEMORY; c <= ENC_CG_CPU; c++)
		if (word_in(buf, ctrl_names[c], " \n"))
			want &= ~CTRL(c);
	ctrls_str(want, true, req, sizeof(req));
	return want ? write_file(dirfd, "cgroup.subtree_control", req) : 0;
}

/* Open (creating on first use) enclave's parent in hierarchy i, and on
 * cgroup2 make sure the controllers in `want` reach its children. */
static int ensure_parent(struct enc_cgroup_sys *sys, int i, unsigned want,
			 struct enc_err *err)
{
	struct enc_cgroup_hier *h = &sys->hier[i];
	char wl[64];
	int r;

	want &= h->ctrls;
	if (h->version != 2)
		want = 0;
	ctrls_str(want, true, wl, sizeof(wl));

	if (h->parent_fd < 0 || (want & ~h->enabled)) {
		/* Writing the mount root's subtree_control is the one write
		 * outside enclave's own directories, and it is unavoidable:
		 * a cgroup2 controller reaches "enclave" only if its parent,
		 * the root, hands it down. It only adds the controllers a
		 * workspace needs (memory, pids; cpu for a quota). That makes
		 * their interface files appear in the other top-level
		 * cgroups but sets no limit on them (defaults are "max"), and
		 * the real root is exempt from the no-internal-process rule
		 * (the root of a cgroup namespace holding processes is not:
		 * that fails with EBUSY and the error says where). On
		 * systemd hosts they are enabled already and nothing is
		 * written. A delegated parent's ancestors are the
		 * delegator's business: never written. */
		if (want && !h->delegated) {
			r = v2_enable(h->mnt_fd, want);
			if (r < 0)
				return enc_err_sys(err, r, "cannot enable %s in %s/cgroup.subtree_control",
						   wl, h->mount);
		}
	}
	if (h->parent_fd < 0) {
		if (mkdirat(h->mnt_fd, ENC_CGROUP_PARENT, 0755) < 0 && errno != EEXIST)
			return enc_err_sys(err, -errno, "cannot create %s/%s", h->mount,
					   ENC_CGROUP_PARENT);
		h->parent_fd = open_dir(h->mnt_fd, ENC_CGROUP_PARENT);
		if (h->parent_fd < 0)
			return enc_err_sys(err, h->parent_fd, "cannot open %s/%s",
					   h->mount, ENC_CGROUP_PARENT);
		h->enabled = 0;
	}
	if (want & ~h->enabled) {
		/* enclave's parent holds no process of its own, so the
		 * no-internal-process rule lets it hand controllers down. */
		r = v2_enable(h->parent_fd, want);
		if (r < 0)
			return enc_err_sys(err, r, "cannot enable %s in %s/%s/cgroup.subtree_control",
					   wl, h->mount, h->delegated ? "<delegated>" : ENC_CGROUP_PARENT);
		h->enabled |= want;
	}
	return 0;
}

static int rmdir_tree(int dirfd, const char *name, int depth, uint64_t deadline);

static int check_limits(const struct enc_cgroup_sys *sys, const struct enc_cgroup_limits *lim,
			struct enc_err *err)
{
	int mv = sys->ctrl_hier[ENC_CG_MEMORY] >= 0 ? sys->hier[sys->ctrl_hier[ENC_CG_MEMORY]].version : 0;

	if ((lim->memory_max || lim->limit_swap) && !(sys->features & ENC_CGROUP_F_MEMORY))
		return enc_err_set(err, -EOPNOTSUPP,
				   "a memory limit was requested but no memory controller is available (cgroup2 memory or a v1 memory hierarchy)");
	if (lim->limit_swap && !(sys->features & ENC_CGROUP_F_MEMORY_SWAP))
		return enc_err_set(err, -EOPNOTSUPP, "a swap limit was requested but %s is missing (kernel without swap accounting; boot with swapaccount=1)",
				   mv == 1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max");
	if (lim->limit_swap && mv == 1 && !lim->memory_max)
		return enc_err_set(err, -EINVAL,
				   "a swap limit needs a memory limit on cgroup v1 (memory.memsw.limit_in_bytes bounds memory plus swap)");
	/* v1 page counters are signed 64-bit. */
	if (lim->limit_swap && mv == 1 &&
	    (lim->memory_max > INT64_MAX || lim->swap_max > INT64_MAX - lim->memory_max))
		return enc_err_set(err, -ERANGE, "memory plus swap limit is too large");
	if (lim->pids_max && !(sys->features & ENC_CGROUP_F_PIDS))
		return enc_err_set(err, -EOPNOTSUPP,
				   "a pids limit was requested but no pids controller is available (cgroup2 pids or a v1 pids hierarchy)");
	if (lim->cpu_quota_us) {
		uint32_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;

		if (!(sys->features & ENC_CGROUP_F_CPU))
			return enc_err_set(err, -EOPNOTSUPP,
					   "a CPU quota was requested but no cpu controller with CFS bandwidth control is available (cgroup2 cpu.max or v1 cpu.cfs_quota_us)");
		/* The kernel's own bounds (sched/core.c): period 1 ms..1 s,
		 * quota at least 1 ms. */
		if (period < 1000 || period > 1000000)
			return enc_err_set(err, -EINVAL, "CPU period %" PRIu32 " us is outside 1000..1000000",
					   period);
		if (lim->cpu_quota_us < 1000)
			return enc_err_set(err, -EINVAL, "CPU quota %" PRIu32 " us is below the kernel's minimum of 1000",
					   lim->cpu_quota_us);
	}
	return 0;
}

/* Write one limit file, naming it on failure. */
static int set_file(const struct enc_cgroup *cg, int i, const char *file, const char *val,
		    struct enc_err *err)
{
	char label[64];
	int r = write_file(cg->dir_fd[i], file, val);

	if (r < 0) {
		hier_label(cg->version[i], cg->ctrls[i], label, sizeof(label));
		if (r == -ENOENT)
			return enc_err_set(err, -EOPNOTSUPP, "cannot enforce %s=%s on %s %s/%s: the kernel has no %s",
					   file, val, label, ENC_CGROUP_PARENT, cg->name, file);
		return enc_err_sys(err, r, "cannot write %s to %s in %s %s/%s", val, file,
				   label, ENC_CGROUP_PARENT, cg->name);
	}
	return 0;
}

static int set_u64(const struct enc_cgroup *cg, int i, const char *file, uint64_t v,
		   struct enc_err *err)
{
	char val[32];

	snprintf(val, sizeof(val), "%" PRIu64, v);
	return set_file(cg, i, file, val, err);
}

/* Confirm sys features against the cgroup's real files. */
static void confirm_features(struct enc_cgroup *cg)
{
	int m = ctrl_dir(cg, ENC_CG_MEMORY);

	if (cg->v2 < 0 || cg->dir_fd[cg->v2] < 0 || !has_file(cg->dir_fd[cg->v2], "cgroup.kill"))
		cg->features &= ~ENC_CGROUP_F_KILL;
	if (cg->v2 < 0 || cg->dir_fd[cg->v2] < 0)
		cg->features &= ~ENC_CGROUP_F_CLONE_INTO;
	if (ctrl_dir(cg, ENC_CG_FREEZER) < 0)
		cg->features &= ~ENC_CGROUP_F_FREEZER;
	if (m < 0) {
		cg->features &= ~(ENC_CGROUP_F_MEMORY | ENC_CGROUP_F_MEMORY_SWAP |
				  ENC_CGROUP_F_MEMORY_PEAK | ENC_CGROUP_F_OOM_GROUP);
	} else if (ctrl_version(cg, ENC_CG_MEMORY) == 2) {
		if (!has_file(m, "memory.swap.max"))
			cg->features &= ~ENC_CGROUP_F_MEMORY_SWAP;
		if (!has_file(m, "memory.peak"))
			cg->features &= ~ENC_CGROUP_F_MEMORY_PEAK;
		if (!has_file(m, "memory.oom.group"))
			cg->features &= ~ENC_CGROUP_F_OOM_GROUP;
	}
}

static int apply_limits(struct enc_cgroup *cg, const struct enc_cgroup_limits *lim,
			struct enc_err *err)
{
	int m = cg->ctrl_hier[ENC_CG_MEMORY];
	int p = cg->ctrl_hier[ENC_CG_PIDS];
	int c = cg->ctrl_hier[ENC_CG_CPU];
	int r;

	if (m >= 0 && cg->version[m] == 2) {
		if (lim->memory_max && (r = set_u64(cg, m, "memory.max", lim->memory_max, err)) < 0)
			return r;
		if (lim->limit_swap && (r = set_u64(cg, m, "memory.swap.max", lim->swap_max, err)) < 0)
			return r;
		/* One OOM kill takes the whole workload down, so it never
		 * limps on with a random process missing. */
		if ((cg->features & ENC_CGROUP_F_OOM_GROUP) &&
		    (r = set_file(cg, m, "memory.oom.group", "1", err)) < 0)
			return r;
	} else if (m >= 0) {
		/* v1 checks memsw >= limit on every write: limit first. */
		if (lim->memory_max &&
		    (r = set_u64(cg, m, "memory.limit_in_bytes", lim->memory_max, err)) < 0)
			return r;
		if (lim->limit_swap &&
		    (r = set_u64(cg, m, "memory.memsw.limit_in_bytes",
				 lim->memory_max + lim->swap_max, err)) < 0)
			return r;
	}
	if (lim->pids_max && p >= 0 && (r = set_u64(cg, p, "pids.max", lim->pids_max, err)) < 0)
		return r;
	if (lim->cpu_quota_us && c >= 0) {
		uint32_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;
		char val[32];

		if (cg->version[c] == 2) {
			snprintf(val, sizeof(val), "%" PRIu32 " %" PRIu32, lim->cpu_quota_us, period);
			if ((r = set_file(cg, c, "cpu.max", val, err)) < 0)
				return r;
		} else {
			if ((r = set_u64(cg, c, "cpu.cfs_period_us", period, err)) < 0 ||
			    (r = set_u64(cg, c, "cpu.cfs_quota_us", lim->cpu_quota_us, err)) < 0)
				return r;
		}
	}
	return 0;
}

/* The hierarchies a workspace with these limits is created in (bit i for
 * sys->hier[i]): cgroup2 whenever mounted (clone3 into it, cgroup.kill,
 * cgroup.events, cpu.stat), the memory and pids controllers' (stats and
 * kill reasons even without a limit), cpu's only for a quota, the v1
 * cpuacct's only where there is no cgroup2 for the usage, the v1 freezer's
 * only where there is no cgroup.kill to stop forks racing the kill. Each
 * hierarchy costs a mkdir, a cgroup.procs write, a read at kill and an
 * rmdir per start, so the ones a workspace cannot use are left out. */
static unsigned hier_needed(const struct enc_cgroup_sys *sys, const struct enc_cgroup_limits *lim)
{
	unsigned want = CTRL(ENC_CG_MEMORY) | CTRL(ENC_CG_PIDS) | CTRL(ENC_CG_CPUACCT);
	unsigned mask = 0;

	if (lim->cpu_quota_us)
		want |= CTRL(ENC_CG_CPU);
	if (!(sys->features & ENC_CGROUP_F_KILL))
		want |= CTRL(ENC_CG_FREEZER);
	if (sys->v2 >= 0)
		mask |= 1u << sys->v2;
	for (int c = 0; c < ENC_CG_NCTRL; c++)
		if ((want & CTRL(c)) && sys->ctrl_hier[c] >= 0)
			mask |= 1u << sys->ctrl_hier[c];
	return mask;
}

int enc_cgroup_create(struct enc_cgroup_sys *sys, const char *name,
		      const struct enc_cgroup_limits *lim, struct enc_cgroup *cg,
		      struct enc_err *err)
{
	static const struct enc_cgroup_limits none;
	char label[64];
	int r = 0;

	cg_init(cg);
	if (!lim)
		lim = &none;
	if (!name_ok(name))
		return enc_err_set(err, -EINVAL, "invalid cgroup name '%s': one path component, not '.' or '..', at most %d bytes",
				   name ? name : "", ENC_CGROUP_NAME_MAX);
	if (sys->nhier == 0)
		return enc_err_set(err, -ENOENT, "no cgroup hierarchy was probed");
	r = check_limits(sys, lim, err);
	if (r < 0)
		return r;
	cg_copy_layout(cg, sys, name);

	unsigned want = CTRL(ENC_CG_MEMORY) | CTRL(ENC_CG_PIDS);
	if (lim->cpu_quota_us)
		want |= CTRL(ENC_CG_CPU);

	unsigned use = hier_needed(sys, lim);
	for (int i = 0; i < sys->nhier; i++) {
		struct enc_cgroup_hier *h = &sys->hier[i];

		if (!(use & (1u << i)))
			continue;
		hier_label(h->version, h->ctrls, label, sizeof(label));
		for (int attempt = 0;; attempt++) {
			r = ensure_parent(sys, i, want, err);
			if (r < 0)
				goto fail;
			if (mkdirat(h->parent_fd, name, 0755) == 0)
				break;
			r = -errno;
			/* Someone removed the empty parent since we opened
			 * it (a test's cleanup): open it afresh once. */
			if (r == -ENOENT && attempt == 0 && !h->delegated) {
				enc_closep(&h->parent_fd);
				h->parent_fd = -1;
				continue;
			}
			if (r == -EEXIST)
				enc_err_set(err, r, "cgroup %s/%s/%s already exists (%s)",
					    h->mount, ENC_CGROUP_PARENT, name, label);
			else
				enc_err_sys(err, r, "cannot create cgroup %s/%s/%s", h->mount,
					    h->delegated ? "<delegated>" : ENC_CGROUP_PARENT, name);
			goto fail;
		}
		cg->parent_fd[i] = fcntl(h->parent_fd, F_DUPFD_CLOEXEC, 3);
		if (cg->parent_fd[i] < 0) {
			r = enc_err_sys(err, -errno, "cannot duplicate an fd");
			unlinkat(h->parent_fd, name, AT_REMOVEDIR);
			goto fail;
		}
		cg->dir_fd[i] = open_dir(h->parent_fd, name);
		if (cg->dir_fd[i] < 0) {
			r = enc_err_sys(err, cg->dir_fd[i], "cannot open cgroup %s/%s/%s",
					h->mount, ENC_CGROUP_PARENT, name);
			goto fail;
		}
	}
	confirm_features(cg);
	if (lim->limit_swap && !(cg->features & ENC_CGROUP_F_MEMORY_SWAP)) {
		r = enc_err_set(err, -EOPNOTSUPP,
				"a swap limit was requested but memory.swap.max is missing in the new cgroup (kernel without swap accounting; boot with swapaccount=1)");
		goto fail;
	}
	r = apply_limits(cg, lim, err);
	if (r < 0)
		goto fail;
	return 0;

fail:
	/* Nothing was started in it yet: plain rmdir is enough. */
	for (int i = 0; i < cg->nhier; i++)
		if (cg->parent_fd[i] >= 0)
			rmdir_tree(cg->parent_fd[i], name, 0, now_ms() + 100);
	enc_cgroup_close(cg);
	return r;
}

int enc_cgroup_open(struct enc_cgroup_sys *sys, const char *name,
		    struct enc_cgroup *cg, struct enc_err *err)
{
	int found = 0;

	cg_init(cg);
	if (!name_ok(name))
		return enc_err_set(err, -EINVAL, "invalid cgroup name '%s'", name ? name : "");
	cg_copy_layout(cg, sys, name);
	for (int i = 0; i < sys->nhier; i++) {
		struct enc_cgroup_hier *h = &sys->hier[i];
		int pfd;

		/* Fresh from the mount unless delegated: a cached parent fd
		 * may name a removed directory. */
		if (h->delegated) {
			pfd = fcntl(h->parent_fd, F_DUPFD_CLOEXEC, 3);
			if (pfd < 0)
				pfd = -errno;
		} else {
			pfd = open_parent(h->mnt_fd);
		}
		if (pfd == -ENOENT)
			continue;
		if (pfd < 0) {
			enc_cgroup_close(cg);
			return enc_err_sys(err, pfd, "cannot open %s/%s", h->mount, ENC_CGROUP_PARENT);
		}
		int dfd = open_dir(pfd, name);
		if (dfd < 0) {
			close(pfd);
			if (dfd == -ENOENT)
				continue;
			enc_cgroup_close(cg);
			return enc_err_sys(err, dfd, "cannot open cgroup %s/%s/%s", h->mount,
					   ENC_CGROUP_PARENT, name);
		}
		cg->parent_fd[i] = pfd;
		cg->dir_fd[i] = dfd;
		found++;
	}
	if (!found) {
		enc_cgroup_close(cg);
		return enc_err_set(err, -ENOENT, "cgroup %s/%s does not exist", ENC_CGROUP_PARENT, name);
	}
	confirm_features(cg);
	return 0;
}

/* ---- placement */

int enc_cgroup_fd(const struct enc_cgroup *cg)
{
	if (cg->v2 < 0 || cg->dir_fd[cg->v2] < 0)
		return -EOPNOTSUPP;
	return cg->dir_fd[cg->v2];
}

bool enc_cgroup_needs_attach(const struct enc_cgroup *cg)
{
	if (enc_cgroup_fd(cg) < 0)
		return true;
	for (int i = 0; i < cg->nhier; i++)
		if (cg->version[i] == 1 && cg->dir_fd[i] >= 0)
			return true;
	return false;
}

int enc_cgroup_attach(struct enc_cgroup *cg, pid_t pid, struct enc_err *err)
{
	char val[24], label[64];

	if (pid < 0)
		return enc_err_set(err, -EINVAL, "invalid pid %d", (int)pid);
	snprintf(val, sizeof(val), "%d", (int)pid);
	for (int i = 0; i < cg->nhier; i++) {
		if (cg->dir_fd[i] < 0)
			continue;
		/* v1 cgroup.procs moves every thread of the process. */
		int r = write_file(cg->dir_fd[i], "cgroup.procs", val);
		if (r < 0) {
			hier_label(cg->version[i], cg->ctrls[i], label, sizeof(label));
			return enc_err_sys(err, r, "cannot move process %d into %s %s/%s",
					   (int)pid, label, ENC_CGROUP_PARENT, cg->name);
		}
	}
	return 0;
}

int enc_cgroup_join_open(const struct enc_cgroup *cg, int fds[ENC_CGROUP_HIER_MAX],
			 struct enc_err *err)
{
	char label[64];
	int n = 0;

	for (int i = 0; i < cg->nhier; i++) {
		if (cg->dir_fd[i] < 0 || cg->version[i] != 1)
			continue;
		int fd = open_file(cg->dir_fd[i], "tasks", O_WRONLY);
		if (fd < 0) {
			hier_label(cg->version[i], cg->ctrls[i], label, sizeof(label));
			enc_cgroup_join_close(fds, n);
			return enc_err_sys(err, fd, "cannot open tasks of %s %s/%s", label,
					   ENC_CGROUP_PARENT, cg->name);
		}
		fds[n++] = fd;
	}
	return n;
}

int enc_cgroup_join(const int *fds, int n, int *failed)
{
	for (int i = 0; i < n; i++) {
		/* "0" is the writer itself; through "tasks" it moves just
		 * this thread, which takes no global lock (see cgroup.h). */
		if (write(fds[i], "0", 1) != 1) {
			int r = errno ? -errno : -EIO;
			if (failed)
				*failed = i;
			return r;
		}
	}
	return 0;
}

void enc_cgroup_join_close(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		enc_closep(&fds[i]);
		fds[i] = -1;
	}
}

/* ---- stats and events */

int enc_cgroup_stats(struct enc_cgroup *cg, struct enc_cgroup_stats *st,
		     struct enc_err *err)
{
	int m = ctrl_dir(cg, ENC_CG_MEMORY);
	int p = ctrl_dir(cg, ENC_CG_PIDS);
	int a = ctrl_dir(cg, ENC_CG_CPUACCT);
	char buf[2048];
	uint64_t v;

	memset(st, 0, sizeof(*st));
	if (m >= 0) {
		bool v2 = ctrl_version(cg, ENC_CG_MEMORY) == 2;
		const char *cur = v2 ? "memory.current" : "memory.usage_in_bytes";
		const char *peak = v2 ? "memory.peak" : "memory.max_usage_in_bytes";
		int r = read_u64(m, cur, &st->memory_current);

		if (r < 0)
			return enc_err_sys(err, r, "cannot read %s of cgroup %s", cur, cg->name);
		st->valid |= ENC_CGROUP_ST_MEMORY;
		if ((cg->features & ENC_CGROUP_F_MEMORY_PEAK) && read_u64(m, peak, &st->memory_peak) == 0)
			st->valid |= ENC_CGROUP_ST_MEMORY_PEAK;
	}
	if (a >= 0) {
		int r;

		if (ctrl_version(cg, ENC_CG_CPUACCT) == 2) {
			r = read_file(a, "cpu.stat", buf, sizeof(buf));
			if (r >= 0)
				r = kv_get(buf, "usage_usec", &st->cpu_usage_usec);
		} else {
			/* v1 cpuacct.usage is in nanoseconds. */
			r = read_u64(a, "cpuacct.usage", &v);
			if (r >= 0)
				st->cpu_usage_usec = v / 1000;
		}
		if (r < 0)
			return enc_err_sys(err, r, "cannot read the CPU usage of cgroup %s", cg->name);
		st->valid |= ENC_CGROUP_ST_CPU;
	}
	if (p >= 0) {
		int r = read_u64(p, "pids.current", &st->pids_current);

		if (r < 0)
			return enc_err_sys(err, r, "cannot read pids.current of cgroup %s", cg->name);
		st->valid |= ENC_CGROUP_ST_PIDS;
	}
	return 0;
}

enum { EV_POPULATED, EV_MEMORY, EV_PIDS, EV_OOMCTL };

/* Read an events file through the watch fd when there is one: reading is
 * what re-arms POLLPRI on a kernfs file. */
static int read_events(struct enc_cgroup *cg, int slot, int dirfd, const char *file,
		       char *buf, size_t size)
{
	if (cg->ev_fd[slot] >= 0)
		return pread_all(cg->ev_fd[slot], buf, size);
	return read_file(dirfd, file, buf, size);
}

int enc_cgroup_events(struct enc_cgroup *cg, struct enc_cgroup_events *ev,
		      struct enc_err *err)
{
	int m = ctrl_dir(cg, ENC_CG_MEMORY);
	int p = ctrl_dir(cg, ENC_CG_PIDS);
	char buf[1024];
	uint64_t v;
	int r;

	memset(ev, 0, sizeof(*ev));
	if (cg->oom_efd >= 0) {
		uint64_t cnt;
		/* Drain so the epoll fd stops reporting it. */
		while (read(cg->oom_efd, &cnt, sizeof(cnt)) == sizeof(cnt))
			;
	}
	if (m >= 0) {
		bool v2 = ctrl_version(cg, ENC_CG_MEMORY) == 2;
		const char *file = v2 ? "memory.events" : "memory.oom_control";

		r = read_events(cg, v2 ? EV_MEMORY : EV_OOMCTL, m, file, buf, sizeof(buf));
		if (r >= 0)
			r = kv_get(buf, "oom_kill", &ev->oom_kill);
		if (r < 0)
			return enc_err_sys(err, r, "cannot read oom_kill from %s of cgroup %s",
					   file, cg->name);
		/* v1 has no count of OOM invocations, only of kills. */
		if (!v2 || kv_get(buf, "oom", &ev->oom) < 0)
			ev->oom = ev->oom_kill;
		ev->valid |= ENC_CGROUP_EV_OOM;
	}
	if (p >= 0) {
		r = read_events(cg, EV_PIDS, p, "pids.events", buf, sizeof(buf));
		if (r >= 0)
			r = kv_get(buf, "max", &ev->pids_max);
		if (r < 0)
			return enc_err_sys(err, r, "cannot read pids.events of cgroup %s", cg->name);
		ev->valid |= ENC_CGROUP_EV_PIDS;
	}
	if (cg->v2 >= 0 && cg->dir_fd[cg->v2] >= 0) {
		r = read_events(cg, EV_POPULATED, cg->dir_fd[cg->v2], "cgroup.events", buf, sizeof(buf));
		if (r >= 0)
			r = kv_get(buf, "populated", &v);
		if (r < 0)
			return enc_err_sys(err, r, "cannot read cgroup.events of cgroup %s", cg->name);
		ev->populated = v != 0;
		ev->valid |= ENC_CGROUP_EV_POPULATED;
	}
	return 0;
}

static int watch(struct enc_cgroup *cg, int slot, int dirfd, const char *file)
{
	struct epoll_event e = { .events = EPOLLPRI, .data.u32 = (uint32_t)slot };
	int fd = open_file(dirfd, file, O_RDONLY);

	if (fd < 0)
		return fd;
	cg->ev_fd[slot] = fd;
	return epoll_ctl(cg->ep_fd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

int enc_cgroup_event_fd(struct enc_cgroup *cg, struct enc_err *err)
{
	int m = ctrl_dir(cg, ENC_CG_MEMORY);
	int p = ctrl_dir(cg, ENC_CG_PIDS);
	struct enc_cgroup_events ev;
	int r = 0;

	if (cg->ep_fd >= 0)
		return cg->ep_fd;
	cg->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (cg->ep_fd < 0)
		return enc_err_sys(err, -errno, "epoll_create1");

	/* kernfs signals POLLPRI (and POLLERR) on these files whenever the
	 * kernel notifies a change (cgroup_file_notify()): populated
	 * changes, memory.events and pids.events counters. */
	if (cg->v2 >= 0 && cg->dir_fd[cg->v2] >= 0)
		r = watch(cg, EV_POPULATED, cg->dir_fd[cg->v2], "cgroup.events");
	if (r == 0 && m >= 0 && ctrl_version(cg, ENC_CG_MEMORY) == 2)
		r = watch(cg, EV_MEMORY, m, "memory.events");
	/* v1 pids.events is never notified (measured on 6.18): a v1
	 * pids.max hit shows only in the counter, read at each wakeup and
	 * at the workload's death. */
	if (r == 0 && p >= 0 && ctrl_version(cg, ENC_CG_PIDS) == 2)
		r = watch(cg, EV_PIDS, p, "pids.events");
	if (r == 0 && m >= 0 && ctrl_version(cg, ENC_CG_MEMORY) == 1) {
		/* v1 memory has no pollable counter file; its notification
		 * is an eventfd registered in cgroup.event_control against
		 * memory.oom_control, signalled on each OOM (and when the
		 * cgroup is removed). */
		char req[32];
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = EV_OOMCTL };

		cg->oom_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (cg->oom_efd < 0)
			r = -errno;
		if (r == 0) {
			r = open_file(m, "memory.oom_control", O_RDONLY);
			if (r >= 0) {
				cg->ev_fd[EV_OOMCTL] = r;
				snprintf(req, sizeof(req), "%d %d", cg->oom_efd, r);
				r = write_file(m, "cgroup.event_control", req);
			}
		}
		if (r == 0 && epoll_ctl(cg->ep_fd, EPOLL_CTL_ADD, cg->oom_efd, &e) < 0)
			r = -errno;
	}
	if (r < 0) {
		int saved = r;
		for (size_t i = 0; i < ENC_ARRAY_SIZE(cg->ev_fd); i++) {
			enc_closep(&cg->ev_fd[i]);
			cg->ev_fd[i] = -1;
		}
		enc_closep(&cg->oom_efd);
		enc_closep(&cg->ep_fd);
		cg->oom_efd = cg->ep_fd = -1;
		return enc_err_sys(err, saved, "cannot watch the events of cgroup %s", cg->name);
	}
	/* Read everything once so each watch starts from the current
	 * state instead of reporting an old change. */
	r = enc_cgroup_events(cg, &ev, err);
	return r < 0 ? r : cg->ep_fd;
}

/* ---- kill and destroy */

/* Call fn on the directory fd of a cgroup and of each descendant, deepest
 * last. Descendants exist only if the workload made them (it cannot as
 * long as cgroupfs is not delegated to it); walked to be sure. */
typedef int (*walk_fn)(int dirfd, void *arg);

static int walk(int dirfd, int depth, walk_fn fn, void *arg)
{
	int r = fn(dirfd, arg);

	if (r < 0 || depth >= 32)
		return r;
	int fd = open_dir(dirfd, ".");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		enc_closep(&fd);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		_cleanup_close_ int cfd = open_dir(dirfd, de->d_name);
		if (cfd >= 0 && (r = walk(cfd, depth + 1, fn, arg)) < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

struct kill_arg {
	bool do_kill;
	unsigned count;
};

static int kill_procs(int dirfd, void *arg)
{
	struct kill_arg *ka = arg;
	_cleanup_free_ char *buf = NULL;
	int r = read_file_alloc(dirfd, "cgroup.procs", &buf);

	if (r == -ENOENT || r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	for (char *s = buf, *end; s && *s; s = end) {
		long pid = strtol(s, &end, 10);
		if (end == s)
			break;
		while (*end == '\n')
			end++;
		if (pid <= 0)
			continue;
		ka->count++;
		/* A pid read from cgroup.procs names a process in this
		 * cgroup; if it exited meanwhile, the kernel hands pids out
		 * cyclically, so its number is not reused by an unrelated
		 * process within this loop's few milliseconds. While the
		 * freezer holds the cgroup, nothing in it can exit or fork
		 * at all. */
		if (ka->do_kill)
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

static int procs_count(struct enc_cgroup *cg, int only_version, bool do_kill, unsigned *count)
{
	struct kill_arg ka = { .do_kill = do_kill };

	for (int i = 0; i < cg->nhier; i++) {
		if (cg->dir_fd[i] < 0 || (only_version && cg->version[i] != only_version))
			continue;
		int r = walk(cg->dir_fd[i], 0, kill_procs, &ka);
		if (r < 0)
			return r;
	}
	*count = ka.count;
	return 0;
}

/* cgroup2: wait for "populated 0" in cgroup.events, which counts the
 * whole subtree and drops as tasks exit (zombies included: they leave
 * their css_set at exit, not when reaped). The kernel rate-limits the
 * POLLPRI notification of a cgroup file to one per 10 ms
 * (CGROUP_FILE_NOTIFY_MIN_INTV), and a fresh workload has just notified
 * "populated 1", so poll with a short, growing timeout and re-read:
 * dying tasks are usually gone within a fraction of a millisecond. */
static int v2_wait_empty(int dirfd, uint64_t deadline)
{
	_cleanup_close_ int fd = open_file(dirfd, "cgroup.events", O_RDONLY);
	char buf[256];
	uint64_t pop;
	long ns = 50000;

	if (fd < 0)
		return fd;
	for (;;) {
		int r = pread_all(fd, buf, sizeof(buf));
		if (r < 0)
			return r;
		if (kv_get(buf, "populated", &pop) < 0)
			return -EIO;
		if (!pop)
			return 0;
		if (now_ms() >= deadline)
			return -EBUSY;
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		struct timespec ts = { .tv_sec = 0, .tv_nsec = ns };
		if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		ns = ns < 10000000 ? ns * 2 : ns;
	}
}

static int freezer_set(int dirfd, const char *state, uint64_t deadline)
{
	char buf[32];
	unsigned us = 50;
	int r = write_file(dirfd, "freezer.state", state);

	if (r < 0)
		return r;
	for (;;) {
		r = read_file(dirfd, "freezer.state", buf, sizeof(buf));
		if (r < 0)
			return r;
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, state) == 0)
			return 0;
		if (now_ms() >= deadline)
			return -EBUSY;
		sleep_us(us);
		us = us < 5000 ? us * 2 : us;
	}
}

/* SIGKILL rounds over cgroup.procs until every hierarchy is empty. */
static int signal_loop(struct enc_cgroup *cg, uint64_t deadline, struct enc_err *err)
{
	int fz = ctrl_dir(cg, ENC_CG_FREEZER);
	bool frozen = false;
	unsigned count = 0, us = 50;
	int r;

	if (fz >= 0 && (cg->features & ENC_CGROUP_F_FREEZER)) {
		/* Freeze first so nothing forks between reading cgroup.procs
		 * and the signal. If freezing stalls (a task in D state),
		 * go on without it: the rounds below still converge since
		 * a task with SIGKILL pending cannot fork. */
		r = freezer_set(fz, "FROZEN", now_ms() + 1000);
		frozen = true;
		if (r < 0 && r != -EBUSY) {
			freezer_set(fz, "THAWED", deadline);
			return enc_err_sys(err, r, "cannot freeze cgroup %s", cg->name);
		}
	}
	for (;;) {
		r = procs_count(cg, 0, true, &count);
		if (r < 0)
			break;
		if (frozen) {
			/* Frozen tasks die once thawed: SIGKILL does not wake
			 * the refrigerator. */
			r = freezer_set(fz, "THAWED", deadline);
			frozen = false;
			if (r < 0)
				break;
		}
		if (count == 0)
			return 0;
		if (now_ms() >= deadline) {
			r = -EBUSY;
			break;
		}
		sleep_us(us);
		us = us < 10000 ? us * 2 : us;
		r = procs_count(cg, 0, false, &count);
		if (r < 0)
			break;
		if (count == 0)
			return 0;
	}
	if (frozen)
		freezer_set(fz, "THAWED", deadline);
	if (r == -EBUSY)
		return enc_err_set(err, r, "cgroup %s still has %u process(es) after %d ms of SIGKILL",
				   cg->name, count, ENC_CGROUP_KILL_TIMEOUT_MS);
	return enc_err_sys(err, r, "cannot kill the processes of cgroup %s", cg->name);
}

int enc_cgroup_kill(struct enc_cgroup *cg, struct enc_err *err)
{
	uint64_t deadline = now_ms() + ENC_CGROUP_KILL_TIMEOUT_MS;
	int v2fd = cg->v2 >= 0 ? cg->dir_fd[cg->v2] : -1;
	unsigned count;
	int r;

	if (v2fd >= 0 && (cg->features & ENC_CGROUP_F_KILL)) {
		/* cgroup.kill (5.14): the kernel SIGKILLs every task of the
		 * subtree and stops new forks racing it, atomically. */
		r = write_file(v2fd, "cgroup.kill", "1");
		if (r == 0) {
			r = v2_wait_empty(v2fd, deadline);
			if (r == -EBUSY)
				return enc_err_set(err, r, "cgroup %s is still populated %d ms after cgroup.kill",
						   cg->name, ENC_CGROUP_KILL_TIMEOUT_MS);
			if (r < 0)
				return enc_err_sys(err, r, "cannot wait for cgroup %s to empty", cg->name);
			/* On a hybrid host a process might sit in the v1
			 * hierarchies without being in the cgroup2 one (if it
			 * was attached there only): check, usually nothing. */
			r = procs_count(cg, 1, false, &count);
			if (r == 0 && count == 0)
				return 0;
		} else if (r != -ENOENT) {
			return enc_err_sys(err, r, "cannot write cgroup.kill of cgroup %s", cg->name);
		}
	}
	return signal_loop(cg, deadline, err);
}

static int rmdir_sub(int dirfd, int depth, uint64_t deadline)
{
	int fd = open_dir(dirfd, ".");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		enc_closep(&fd);
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		r = rmdir_tree(dirfd, de->d_name, depth + 1, deadline);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* rmdir a cgroup, its sub-cgroups first. cgroupfs refuses rmdir with
 * -EBUSY while a task is still attached or a child cgroup exists; the
 * interface files inside do not count. */
static int rmdir_tree(int dirfd, const char *name, int depth, uint64_t deadline)
{
	unsigned us = 100;

	if (depth > 32)
		return -ELOOP;
	for (;;) {
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		int r = -errno;
		if (r != -EBUSY && r != -ENOTEMPTY)
			return r;
		_cleanup_close_ int sub = open_dir(dirfd, name);
		if (sub == -ENOENT)
			return 0;
		if (sub >= 0 && (r = rmdir_sub(sub, depth, deadline)) < 0 && r != -EBUSY)
			return r;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY && errno != ENOTEMPTY)
			return -errno;
		if (now_ms() >= deadline)
			return -EBUSY;
		sleep_us(us);
		us = us < 20000 ? us * 2 : us;
	}
}

int enc_cgroup_destroy(struct enc_cgroup *cg, struct enc_err *err)
{
	uint64_t deadline = now_ms() + ENC_CGROUP_RMDIR_TIMEOUT_MS;
	char label[64];

	/* Close our own fds inside first: an open file does not pin a
	 * cgroup, but the v1 OOM eventfd registration is released sooner. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(cg->ev_fd); i++) {
		enc_closep(&cg->ev_fd[i]);
		cg->ev_fd[i] = -1;
	}
	for (int i = 0; i < cg->nhier; i++) {
		if (cg->parent_fd[i] < 0)
			continue;
		int r = rmdir_tree(cg->parent_fd[i], cg->name, 0, deadline);
		if (r < 0) {
			hier_label(cg->version[i], cg->ctrls[i], label, sizeof(label));
			if (r == -EBUSY)
				return enc_err_set(err, r, "cannot remove %s %s/%s: still in use after %d ms",
						   label, ENC_CGROUP_PARENT, cg->name,
						   ENC_CGROUP_RMDIR_TIMEOUT_MS);
			return enc_err_sys(err, r, "cannot remove %s %s/%s", label,
					   ENC_CGROUP_PARENT, cg->name);
		}
		enc_closep(&cg->dir_fd[i]);
		enc_closep(&cg->parent_fd[i]);
		cg->dir_fd[i] = cg->parent_fd[i] = -1;
	}
	enc_cgroup_close(cg);
	return 0;
}

int enc_cgroup_sweep_name(struct enc_cgroup_sys *sys, const char *name,
			  struct enc_err *err)
{
	struct enc_err oerr = { 0 };
	struct enc_cgroup cg;
	int r = enc_cgroup_open(sys, name, &cg, &oerr);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return enc_err_set(err, r, "%s", oerr.msg);
	r = enc_cgroup_kill(&cg, err);
	if (r == 0)
		r = enc_cgroup_destroy(&cg, err);
	enc_cgroup_close(&cg);
	return r;
}
