/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mounts.c - a workspace's root filesystem; see mounts.h for the contract
 * and the tree it builds.
 *
 * Only the new mount API is used (open_tree, move_mount, fsopen, fsconfig,
 * fsmount, mount_setattr), through syscall(2) with <linux/mount.h>; glibc's
 * <sys/mount.h> is not included because its declarations collide with the
 * kernel header's. Mount targets are fds wherever the path could be shaped
 * by the rootfs or the project dir; fixed kernel paths are looked up by name
 * relative to the fd of a mount we made ourselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"

#include "syscalls.h"
#ifndef MNT_DETACH
#define MNT_DETACH 2 /* <sys/mount.h>, which we do not include */
#endif

/* Where the staging tmpfs is attached inside the workspace's own mount
 * namespace while the tree is built. Any directory that exists in the host
 * tree would do; it is covered only in that namespace and detached with the
 * old root. */
#define STAGE "/tmp"

#define ATTR_SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

static const char *const default_hide[] = { ".env", ".env.*", NULL };
static const char *const default_prune[] = { ".git", "node_modules", NULL };

/* ------------------------------------------------------------------ */
/* syscalls */

static int sys_open_tree(int dfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags | OPEN_TREE_CLOEXEC);
}

static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
			  unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

/* Attach the detached tree mnt_fd at dfd/path ("" = dfd itself). */
static int attach(int mnt_fd, int dfd, const char *path)
{
	unsigned int flags = MOVE_MOUNT_F_EMPTY_PATH;

	if (!*path)
		flags |= MOVE_MOUNT_T_EMPTY_PATH;
	return sys_move_mount(mnt_fd, "", dfd, path, flags);
}

static int sys_setattr(int dfd, const char *path, unsigned int flags, uint64_t set,
		       uint64_t propagation, int userns_fd)
{
	struct mount_attr a = {
		.attr_set = set,
		.propagation = propagation,
		.userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0,
	};

	if (!*path)
		flags |= AT_EMPTY_PATH;
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof(a));
}

static int sys_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = resolve };

	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void step_done(struct enc_mount_report *r, enum enc_mount_step s, uint64_t *t)
{
	uint64_t n = now_ns();

	if (r)
		r->ns[s] += n - *t;
	*t = n;
}

const char *enc_mount_step_name(enum enc_mount_step step)
{
	switch (step) {
	case ENC_MSTEP_IDMAP_ROOTFS: return "idmap-rootfs";
	case ENC_MSTEP_PERSIST: return "persist";
	case ENC_MSTEP_IDMAP_HOME: return "idmap-home";
	case ENC_MSTEP_IDMAP_PROJECT: return "idmap-project";
	case ENC_MSTEP_STAGE: return "stage";
	case ENC_MSTEP_OVERLAY: return "overlay";
	case ENC_MSTEP_PROC: return "proc";
	case ENC_MSTEP_DEV: return "dev";
	case ENC_MSTEP_SYS: return "sys";
	case ENC_MSTEP_TMPFS: return "tmpfs";
	case ENC_MSTEP_HOME: return "home";
	case ENC_MSTEP_PROJECT: return "project";
	case ENC_MSTEP_HIDE: return "hide";
	case ENC_MSTEP_PROTECT: return "protect";
	case ENC_MSTEP_PIVOT: return "pivot";
	case ENC_MSTEP__COUNT: break;
	}
	return "?";
}

void enc_mount_fds_close(struct enc_mount_fds *fds)
{
	int *all[] = { &fds->rootfs, &fds->persist, &fds->persist_upper,
		       &fds->persist_work, &fds->home, &fds->project };

	for (size_t i = 0; i < ENC_ARRAY_SIZE(all); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

/* ------------------------------------------------------------------ */
/* filesystem contexts */

struct fsopt {
	const char *key;
	const char *val;	/* NULL: a flag */
};

/* Report a failed fsconfig/fsmount with the kernel's own explanation from
 * the context's message log ("e overlay: ...") when it left one. */
static int fs_fail(int fs, int code, struct enc_err *err, const char *what, const char *type)
{
	char log[256] = "";
	ssize_t n = read(fs, log, sizeof(log) - 1);

	if (n > 0) {
		log[n] = '\0';
		log[strcspn(log, "\n")] = '\0';
	} else {
		log[0] = '\0';
	}
	return enc_err_set(err, code, "cannot mount %s (%s): %s%s%s", what, type,
			   strerror(-code), log[0] ? " -- kernel says: " : "", log);
}

/* A new, detached mount of a fresh filesystem. */
static int new_fs(const char *type, const struct fsopt *opts, size_t nopts, unsigned int attrs,
		  const char *what, struct enc_err *err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);

	if (fs < 0)
		return enc_err_sys(err, -errno, "cannot mount %s (%s)", what, type);
	for (size_t i = 0; i < nopts; i++) {
		int r;

		if (opts[i].val)
			r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opts[i].key,
					 opts[i].val, 0);
		else
			r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, opts[i].key,
					 NULL, 0);
		if (r < 0)
			return fs_fail(fs, -errno, err, what, type);
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(fs, -errno, err, what, type);
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0)
		return fs_fail(fs, -errno, err, what, type);
	return m;
}

static void size_opt(struct fsopt *o, char *buf, size_t len, uint64_t size)
{
	snprintf(buf, len, "%llu", (unsigned long long)size);
	o->key = "size";
	o->val = buf;
}

/* ------------------------------------------------------------------ */
/* spec check (pure) */

static bool path_ok(const char *p, bool absolute)
{
	if (!p || !*p || strlen(p) >= PATH_MAX)
		return false;
	if (absolute != (p[0] == '/'))
		return false;
	if (absolute && p[1] == '\0')
		return true;	/* "/" itself; callers refuse it where needed */
	const char *c = absolute ? p + 1 : p;
	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0)
			return false;	/* "//" or a trailing '/' */
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c[n] == '\0')
			return true;
		c += n + 1;
	}
}

static bool path_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

static int check_dst(const char *what, const char *p, struct enc_err *err)
{
	static const char *const kernel[] = { "/proc", "/dev", "/sys" };

	if (!path_ok(p, true))
		return enc_err_set(err, -EINVAL, "%s: not a normalised absolute path: '%s'",
				   what, p ? p : "");
	if (strcmp(p, "/") == 0)
		return enc_err_set(err, -EINVAL, "%s: cannot be /", what);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(kernel); i++)
		if (path_under(p, kernel[i]))
			return enc_err_set(err, -EINVAL, "%s: %s is under %s", what, p, kernel[i]);
	return 0;
}

static const char *project_dst(const struct enc_mount_spec *s)
{
	return s->project_dst ? s->project_dst : s->src.project_src;
}

#define MAX_LIST 256

int enc_mount_spec_check(const struct enc_mount_spec *spec, struct enc_err *err)
{
	const struct enc_mount_sources *s = &spec->src;
	int r;

	if (s->ns_uid_base == 0 || s->ns_gid_base == 0)
		return enc_err_set(err, -EINVAL,
				   "id base 0 would make root inside the host's root");
	if (s->ns_uid_base > UINT32_MAX - 65535 || s->ns_gid_base > UINT32_MAX - 65535)
		return enc_err_set(err, -ERANGE, "id base too high for a 65536-id range");
	if (s->user_uid > 65535 || s->user_gid > 65535)
		return enc_err_set(err, -ERANGE, "workspace user %u:%u outside 0..65535",
				   (unsigned)s->user_uid, (unsigned)s->user_gid);
	if (!path_ok(s->rootfs, true) || strcmp(s->rootfs, "/") == 0)
		return enc_err_set(err, -EINVAL, "rootfs: not a normalised absolute path: '%s'",
				   s->rootfs ? s->rootfs : "");
	switch (s->overlay) {
	case ENC_OVERLAY_PERSISTENT:
		if (!path_ok(s->persist_dir, true) || strcmp(s->persist_dir, "/") == 0)
			return enc_err_set(err, -EINVAL,
					   "persistent overlay needs an absolute persist dir");
		break;
	case ENC_OVERLAY_TMP:
	case ENC_OVERLAY_READONLY:
		if (s->rootfs_writable && s->overlay != ENC_OVERLAY_TMP)
			return enc_err_set(err, -EINVAL, "a writable rootfs takes no overlay");
		if (s->persist_dir)
			return enc_err_set(err, -EINVAL,
					   "a persist dir is only for the persistent overlay");
		break;
	default:
		return enc_err_set(err, -EINVAL, "unknown overlay mode %d", (int)s->overlay);
	}
	if (!s->home_src != !spec->home_dst)
		return enc_err_set(err, -EINVAL, "home needs both a source and a destination");
	if (s->home_src) {
		if (!path_ok(s->home_src, true))
			return enc_err_set(err, -EINVAL,
					   "home source: not a normalised absolute path: '%s'",
					   s->home_src);
		r = check_dst("home", spec->home_dst, err);
		if (r < 0)
			return r;
	}
	if (!s->project_src && spec->project_dst)
		return enc_err_set(err, -EINVAL, "project destination without a source");
	if (s->project_src) {
		if (!path_ok(s->project_src, true) || strcmp(s->project_src, "/") == 0)
			return enc_err_set(err, -EINVAL,
					   "project: not a normalised absolute path: '%s'",
					   s->project_src);
		r = check_dst("project", project_dst(spec), err);
		if (r < 0)
			return r;
		if (spec->home_dst && path_under(spec->home_dst, project_dst(spec)))
			return enc_err_set(err, -EINVAL, "home %s is inside the project dir %s",
					   spec->home_dst, project_dst(spec));
	}
	size_t n = 0;
	for (const char *const *g = spec->hide; g && *g; g++, n++)
		if (!**g || **g == '/' || n >= MAX_LIST)
			return enc_err_set(err, -EINVAL, "bad hide glob '%s'", *g);
	n = 0;
	for (const char *const *p = spec->hide_prune; p && *p; p++, n++)
		if (!**p || strchr(*p, '/') || n >= MAX_LIST)
			return enc_err_set(err, -EINVAL, "bad prune name '%s'", *p);
	n = 0;
	for (const char *const *p = spec->protect; p && *p; p++, n++)
		if (!path_ok(*p, false) || n >= MAX_LIST)
			return enc_err_set(err, -EINVAL,
					   "protected path '%s' must be relative to the project "
					   "dir, without '.' or '..'", *p);
	if (!s->project_src && ((spec->protect && spec->protect[0])))
		return enc_err_set(err, -EINVAL, "protected paths need a project dir");
	return 0;
}

/* ------------------------------------------------------------------ */
/* namespace primitives */

/* The carrier process only has to exist while its maps are written and its
 * namespace fd opened. It runs on a private stack in the parent's memory
 * (CLONE_VM, no page-table copy), so it must not touch anything: only raw
 * syscalls, no instrumentation. */
__attribute__((no_sanitize("address"), noreturn))
static int carrier_main(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
}

static char *format_map(const struct enc_idrange *r, size_t n)
{
	size_t len = n * 36 + 1;
	char *buf = malloc(len);
	size_t off = 0;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%u %u %u\n", r[i].inside,
					r[i].outside, r[i].count);
	return buf;
}

static int write_proc_file(pid_t pid, const char *name, const char *text, struct enc_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", path);
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	if (w < 0)
		return enc_err_sys(err, -errno, "cannot write %s", path);
	if ((size_t)w != len)
		return enc_err_set(err, -EIO, "short write to %s", path);
	return 0;
}

int enc_userns_new(const struct enc_idrange *uids, size_t nuids,
		   const struct enc_idrange *gids, size_t ngids, struct enc_err *err)
{
	if (nuids == 0 || ngids == 0 || nuids > 340 || ngids > 340)
		return enc_err_set(err, -EINVAL, "a user namespace needs 1..340 id ranges");
	for (size_t i = 0; i < nuids + ngids; i++) {
		const struct enc_idrange *r = i < nuids ? &uids[i] : &gids[i - nuids];

		if (r->count == 0 || r->inside > UINT32_MAX - r->count ||
		    r->outside > UINT32_MAX - r->count)
			return enc_err_set(err, -ERANGE, "bad id range %u %u %u", r->inside,
					   r->outside, r->count);
	}
	_cleanup_free_ char *umap = format_map(uids, nuids);
	_cleanup_free_ char *gmap = format_map(gids, ngids);
	if (!umap || !gmap)
		return enc_err_set(err, -ENOMEM, "out of memory");

	const size_t stack_size = 64 * 1024;
	void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return enc_err_sys(err, -errno, "cannot map a stack for a user namespace");
	pid_t pid = clone(carrier_main, (char *)stack + stack_size,
			  CLONE_NEWUSER | CLONE_VM | SIGCHLD, NULL);
	if (pid < 0) {
		int r = enc_err_sys(err, -errno, "cannot create a user namespace");
		munmap(stack, stack_size);
		return r;
	}

	/* SAFETY: writing maps with arbitrary host ids is what needs
	 * CAP_SETUID/CAP_SETGID here; the ids come from the caller, who (as
	 * the helper, later) validated them against its policy. No
	 * "setgroups deny" is needed because the writer is privileged. */
	int r = write_proc_file(pid, "uid_map", umap, err);
	if (r == 0)
		r = write_proc_file(pid, "gid_map", gmap, err);
	int fd = -1;
	if (r == 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = enc_err_sys(err, -errno, "cannot open %s", path);
	}
	/* Our own unreaped child: its pid cannot have been reused. */
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	munmap(stack, stack_size);
	return r < 0 ? r : fd;
}

int enc_userns_enter(int userns_fd, struct enc_err *err)
{
	if (setns(userns_fd, CLONE_NEWUSER) < 0)
		return enc_err_sys(err, -errno, "cannot join the workspace user namespace");
	if (setgroups(0, NULL) < 0)
		return enc_err_sys(err, -errno, "cannot drop supplementary groups");
	if (setresgid(0, 0, 0) < 0)
		return enc_err_sys(err, -errno, "cannot become gid 0 in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return enc_err_sys(err, -errno, "cannot become uid 0 in the user namespace");
	return 0;
}

/* ------------------------------------------------------------------ */
/* privileged side */

/* 1 when the directory fd (read from its start) has no entries. */
static int dir_is_empty(int fd)
{
	char buf[512];

	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			const char *d_name = buf + off + 19;
			unsigned short reclen;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (strcmp(d_name, ".") != 0 && strcmp(d_name, "..") != 0)
				return 0;
			off += reclen;
		}
	}
}

/* Make dfd/name a directory owned by uid:gid. A missing one is created; an
 * existing empty one is handed over (and given mode when mode != 0); an
 * existing non-empty one must already be owned by uid:gid unless
 * any_owner_ok. Everything after the open works on that one fd, so a
 * rename or symlink swap in between cannot redirect the chown. */
static int own_dir(int dfd, const char *name, const char *what, uid_t uid, gid_t gid,
		   mode_t mode, bool any_owner_ok, struct enc_err *err)
{
	struct stat st;

	if (mkdirat(dfd, name, mode ? mode : 0700) < 0 && errno != EEXIST)
		return enc_err_sys(err, -errno, "cannot create %s", what);
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", what);
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", what);
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	int empty = dir_is_empty(fd);
	if (empty < 0)
		return enc_err_sys(err, empty, "cannot read %s", what);
	if (!empty) {
		if (any_owner_ok)
			return 0;
		return enc_err_set(err, -EPERM, "%s is owned by %u:%u, expected %u:%u", what,
				   (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid,
				   (unsigned)gid);
	}
	/* SAFETY: only an empty directory changes hands, so no existing file
	 * becomes the workspace's. */
	if (fchown(fd, uid, gid) < 0)
		return enc_err_sys(err, -errno, "cannot chown %s", what);
	if (mode && fchmod(fd, mode) < 0)
		return enc_err_sys(err, -errno, "cannot chmod %s", what);
	return 0;
}

struct carrier {
	int fd;
	uid_t uid;
	gid_t gid;
};

/* A recursive clone of dfd/path (or of dfd itself with path "") that the
 * workspace user (user_uid inside) sees as its own and that stores what
 * it creates as owner_uid:owner_gid on disk. */
static int owner_clone(const struct enc_mount_sources *src, int dfd, const char *path,
		       uid_t owner_uid, gid_t owner_gid, struct carrier *car, const char *what,
		       struct enc_err *err)
{
	uid_t kuid = src->ns_uid_base + src->user_uid;
	gid_t kgid = src->ns_gid_base + src->user_gid;
	unsigned int flags = OPEN_TREE_CLONE | AT_RECURSIVE | (*path ? 0 : AT_EMPTY_PATH);
	_cleanup_close_ int m = sys_open_tree(dfd, path, flags);

	if (m < 0)
		return enc_err_sys(err, -errno, "cannot clone %s", what);
	if (owner_uid == kuid && owner_gid == kgid) {
		/* The owner is already the workspace user's own host id: the
		 * plain view is the right one, no idmapping needed. */
		if (sys_setattr(m, "", AT_RECURSIVE, ATTR_SAFE, 0, -1) < 0)
			return enc_err_sys(err, -errno, "cannot set attributes of %s", what);
		return steal_fd(&m);
	}
	if (car->fd < 0 || car->uid != owner_uid || car->gid != owner_gid) {
		struct enc_idrange u = { owner_uid, kuid, 1 };
		struct enc_idrange g = { owner_gid, kgid, 1 };

		if (car->fd >= 0)
			close(car->fd);
		car->fd = enc_userns_new(&u, 1, &g, 1, err);
		if (car->fd < 0) {
			int r = car->fd;

			enc_err_prefix(err, "idmapping %s: ", what);
			return r;
		}
		car->uid = owner_uid;
		car->gid = owner_gid;
	}
	/* SAFETY: the carrier maps exactly one id pair, owner <-> the
	 * workspace user's host id, so the mount grants the workspace user
	 * the owner's files and nothing else, and nobody else inside can
	 * create files there. The clone is detached until the workspace
	 * attaches it in its own mount namespace. */
	if (sys_setattr(m, "", AT_RECURSIVE, MOUNT_ATTR_IDMAP | ATTR_SAFE, 0, car->fd) < 0)
		return enc_err_sys(err, -errno, "cannot idmap %s", what);
	return steal_fd(&m);
}

static int prepare_persist(const struct enc_mount_sources *src, struct enc_mount_fds *fds,
			   struct enc_err *err)
{
	struct stat root;

	/* The upper's root directory becomes "/" inside: give it the mode
	 * and (mapped) owner the rootfs root has. Seen through the idmapped
	 * clone, the owner already is in host terms. */
	if (fstat(fds->rootfs, &root) < 0)
		return enc_err_sys(err, -errno, "cannot stat the rootfs");
	uid_t ruid = root.st_uid - src->ns_uid_base < 65536 ? root.st_uid : src->ns_uid_base;
	gid_t rgid = root.st_gid - src->ns_gid_base < 65536 ? root.st_gid : src->ns_gid_base;

	_cleanup_close_ int dfd = open(src->persist_dir,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", src->persist_dir);
	char what[PATH_MAX + 16];
	snprintf(what, sizeof(what), "%s/upper", src->persist_dir);
	int r = own_dir(dfd, "upper", what, ruid, rgid, root.st_mode & 07777, false, err);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "%s/work", src->persist_dir);
	r = own_dir(dfd, "work", what, src->ns_uid_base, src->ns_gid_base, 0700, false, err);
	if (r < 0)
		return r;

	/* Plain clone: upper and work must be on one mount for overlayfs,
	 * and their on-disk owners already are the workspace's mapped ids. */
	fds->persist = sys_open_tree(dfd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
	if (fds->persist < 0)
		return enc_err_sys(err, -errno, "cannot clone %s", src->persist_dir);
	if (sys_setattr(fds->persist, "", 0, ATTR_SAFE | MOUNT_ATTR_NOEXEC, 0, -1) < 0)
		return enc_err_sys(err, -errno, "cannot set attributes of %s", src->persist_dir);
	fds->persist_upper = openat(fds->persist, "upper",
				    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fds->persist_upper < 0)
		return enc_err_sys(err, -errno, "cannot open %s/upper", src->persist_dir);
	fds->persist_work = openat(fds->persist, "work",
				   O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fds->persist_work < 0)
		return enc_err_sys(err, -errno, "cannot open %s/work", src->persist_dir);
	return 0;
}

static int prepare_home(const struct enc_mount_sources *src, struct enc_mount_fds *fds,
			struct carrier *car, struct enc_err *err)
{
	_cleanup_free_ char *parent = strdup(src->home_src);

	if (!parent)
		return enc_err_set(err, -ENOMEM, "out of memory");
	char *slash = strrchr(parent, '/');
	const char *name = slash + 1;
	*slash = '\0';
	_cleanup_close_ int pfd = open(*parent ? parent : "/",
				       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", *parent ? parent : "/");
	int r = own_dir(pfd, name, src->home_src, src->home_owner_uid, src->home_owner_gid, 0,
			true, err);
	if (r < 0)
		return r;
	_cleanup_close_ int hfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0)
		return enc_err_sys(err, -errno, "cannot open %s", src->home_src);
	fds->home = owner_clone(src, hfd, "", src->home_owner_uid, src->home_owner_gid, car,
				src->home_src, err);
	return fds->home < 0 ? fds->home : 0;
}

int enc_mounts_prepare_idmapped(const struct enc_mount_sources *src, int userns_fd,
				struct enc_mount_fds *out, struct enc_mount_report *report,
				struct enc_err *err)
{
	struct enc_mount_fds fds = ENC_MOUNT_FDS_INIT;
	struct carrier car = { .fd = -1 };
	struct enc_mount_spec check = { .src = *src };
	uint64_t t = now_ns();
	int r;

	/* Only the sources matter here; fill in destinations so the shared
	 * check accepts them. */
	check.home_dst = src->home_src ? "/home/x" : NULL;
	r = enc_mount_spec_check(&check, err);
	if (r < 0)
		return r;

	/* SAFETY: the rootfs clone is detached, read-only and idmapped with
	 * the workspace's own namespace: root-owned files are root inside,
	 * and nothing can be written to the shared generation through it. */
	fds.rootfs = sys_open_tree(AT_FDCWD, src->rootfs, OPEN_TREE_CLONE | AT_RECURSIVE);
	if (fds.rootfs < 0) {
		r = enc_err_sys(err, -errno, "cannot clone rootfs %s", src->rootfs);
		goto fail;
	}
	/* SAFETY (setup): a generation being built is writable on purpose;
	 * it is private to its builder until committed, and never shared. */
	if (sys_setattr(fds.rootfs, "", AT_RECURSIVE,
			MOUNT_ATTR_IDMAP | ATTR_SAFE |
				(src->rootfs_writable ? 0 : MOUNT_ATTR_RDONLY),
			0, userns_fd) < 0) {
		r = enc_err_sys(err, -errno, "cannot idmap rootfs %s", src->rootfs);
		goto fail;
	}
	step_done(report, ENC_MSTEP_IDMAP_ROOTFS, &t);

	if (src->overlay == ENC_OVERLAY_PERSISTENT) {
		r = prepare_persist(src, &fds, err);
		if (r < 0)
			goto fail;
	}
	step_done(report, ENC_MSTEP_PERSIST, &t);

	if (src->home_src) {
		r = prepare_home(src, &fds, &car, err);
		if (r < 0)
			goto fail;
	}
	step_done(report, ENC_MSTEP_IDMAP_HOME, &t);

	if (src->project_src) {
		fds.project = owner_clone(src, AT_FDCWD, src->project_src,
					  src->project_owner_uid, src->project_owner_gid, &car,
					  src->project_src, err);
		if (fds.project < 0) {
			r = fds.project;
			goto fail;
		}
	}
	step_done(report, ENC_MSTEP_IDMAP_PROJECT, &t);

	if (car.fd >= 0)
		close(car.fd);
	*out = fds;
	return 0;
fail:
	if (car.fd >= 0)
		close(car.fd);
	enc_mount_fds_close(&fds);
	return r;
}

/* ------------------------------------------------------------------ */
/* workspace side */

struct build {
	const struct enc_mount_spec *spec;
	struct enc_mount_fds *fds;
	struct enc_mount_report *rep;
	int stage;		/* staging tmpfs, attached at STAGE */
	int root;		/* the overlay, attached at STAGE/root */
};

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int mkdir_mount_point(const struct build *b, int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != EOVERFLOW)
		return -errno;
	/* An idmapped home or project maps only the workspace user, so root
	 * cannot create there: a mount point inside it is the user's. */
	setfsgid(b->spec->src.user_gid);
	setfsuid(b->spec->src.user_uid);
	int r = mkdirat(dfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
	setfsuid(0);
	setfsgid(0);
	return r;
}

/* Open (creating as needed) the directory `path` (absolute inside) beneath
 * the new root as an O_PATH fd to mount on. No symlink is followed. */
static int mount_point(const struct build *b, const char *path, struct enc_err *err)
{
	char buf[PATH_MAX];
	_cleanup_close_ int cur = -1;

	snprintf(buf, sizeof(buf), "%s", path[0] == '/' ? path + 1 : path);
	for (char *c = buf, *next; c && *c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		int dfd = cur >= 0 ? cur : b->root;
		int fd = sys_openat2(dfd, c, O_PATH | O_DIRECTORY, RESOLVE_STRICT);
		if (fd < 0 && errno == ENOENT) {
			int r = mkdir_mount_point(b, dfd, c);

			if (r < 0)
				return enc_err_sys(err, r, "cannot create mount point %s", path);
			fd = sys_openat2(dfd, c, O_PATH | O_DIRECTORY, RESOLVE_STRICT);
		}
		if (fd < 0) {
			if (errno == ELOOP)
				return enc_err_set(err, -ELOOP,
						   "mount point %s: a component is a symlink", path);
			return enc_err_sys(err, -errno, "cannot open mount point %s", path);
		}
		if (cur >= 0)
			close(cur);
		cur = fd;
	}
	if (cur < 0)
		return enc_err_set(err, -EINVAL, "empty mount point");
	return steal_fd(&cur);
}

/* Attach mnt (consumed) at the mount point `path` inside the new root. */
static int attach_at(const struct build *b, int *mnt, const char *path, struct enc_err *err)
{
	_cleanup_close_ int tgt = mount_point(b, path, err);

	if (tgt < 0)
		return tgt;
	if (attach(*mnt, tgt, "") < 0)
		return enc_err_sys(err, -errno, "cannot mount %s", path);
	close(steal_fd(mnt));
	return 0;
}

/* Cover the object fd refers to with the empty read-only file or directory
 * from the staging mask. */
static int mask_fd(const struct build *b, int fd, const char *what, struct enc_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", what);
	_cleanup_close_ int m = sys_open_tree(b->stage, S_ISDIR(st.st_mode) ? "mask/d" : "mask/f",
					      OPEN_TREE_CLONE);
	if (m < 0)
		return enc_err_sys(err, -errno, "cannot clone the mask for %s", what);
	if (attach(m, fd, "") < 0)
		return enc_err_sys(err, -errno, "cannot mask %s", what);
	return 0;
}

/* Mask dfd/name (a kernel path under a mount we made) when it exists. */
static int mask_kernel(const struct build *b, int dfd, const char *name, const char *what,
		       struct enc_err *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : enc_err_sys(err, -errno, "cannot open %s", what);
	return mask_fd(b, fd, what, err);
}

/* Bind dfd/name read-only over itself (recursively) when it exists. */
static int ro_self(int dfd, const char *name, const char *what, struct enc_err *err)
{
	_cleanup_close_ int m = sys_open_tree(dfd, name, OPEN_TREE_CLONE | AT_RECURSIVE |
						    AT_SYMLINK_NOFOLLOW);

	if (m < 0)
		return errno == ENOENT ? 0 : enc_err_sys(err, -errno, "cannot clone %s", what);
	if (sys_setattr(m, "", AT_RECURSIVE, MOUNT_ATTR_RDONLY | ATTR_SAFE | MOUNT_ATTR_NOEXEC,
			0, -1) < 0)
		return enc_err_sys(err, -errno, "cannot make %s read-only", what);
	if (sys_move_mount(m, "", dfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return enc_err_sys(err, -errno, "cannot mount %s read-only", what);
	return 0;
}

static int build_stage(struct build *b, struct enc_err *err)
{
	const struct enc_mount_spec *s = b->spec;
	struct fsopt opts[2] = { { "mode", "0700" } };
	char size[32];
	size_t n = 1;

	/* Nothing mounted here may propagate anywhere and nothing from the
	 * host may arrive while we build. The copies of the host's mounts in
	 * a namespace owned by a less privileged user namespace are already
	 * slaves at most; private also cuts the host -> here direction. */
	if (sys_setattr(AT_FDCWD, "/", AT_RECURSIVE, 0, MS_PRIVATE, -1) < 0)
		return enc_err_sys(err, -errno, "cannot make the mount tree private");

	if (s->src.overlay == ENC_OVERLAY_TMP && s->upper_size)
		size_opt(&opts[n++], size, sizeof(size), s->upper_size);
	b->stage = new_fs("tmpfs", opts, n, ATTR_SAFE, "the staging tmpfs", err);
	if (b->stage < 0)
		return b->stage;
	if (mkdirat(b->stage, "lower", 0700) < 0 || mkdirat(b->stage, "root", 0700) < 0 ||
	    mkdirat(b->stage, "mask", 0755) < 0)
		return enc_err_sys(err, -errno, "cannot populate the staging tmpfs");
	_cleanup_close_ int mask = openat(b->stage, "mask", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mask < 0 || mkdirat(mask, "d", 0555) < 0)
		return enc_err_sys(err, -errno, "cannot create the mask directory");
	_cleanup_close_ int f = openat(mask, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (f < 0)
		return enc_err_sys(err, -errno, "cannot create the mask file");
	if (attach(b->stage, AT_FDCWD, STAGE) < 0)
		return enc_err_sys(err, -errno, "cannot attach the staging tmpfs at " STAGE);
	/* Every mask is a clone of this read-only bind: the masks are
	 * read-only without a mount_setattr each. */
	return ro_self(b->stage, "mask", "the mask", err);
}

/* Readonly mode: a directory for every mount point that the rootfs lacks,
 * with the rootfs's mode and owner for the components it has. */
static int scaffold_add(const struct build *b, int scaf, const char *path, struct enc_err *err)
{
	char buf[PATH_MAX];
	_cleanup_close_ int lcur = -1, scur = -1;
	bool have_lower = true;

	snprintf(buf, sizeof(buf), "%s", path + 1);
	for (char *c = buf, *next; c && *c; c = next) {
		int ldfd = lcur >= 0 ? lcur : b->fds->rootfs;
		int sdfd = scur >= 0 ? scur : scaf;
		struct stat st;

		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		if (have_lower && fstatat(ldfd, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
			have_lower = false;
		if (have_lower && !S_ISDIR(st.st_mode))
			return enc_err_set(err, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR,
					   "mount point %s: a component is not a directory in "
					   "the rootfs", path);
		if (mkdirat(sdfd, c, 0755) == 0) {
			if (have_lower &&
			    (fchownat(sdfd, c, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			     fchmodat(sdfd, c, st.st_mode & 07777, 0) < 0))
				return enc_err_sys(err, -errno, "cannot set up mount point %s",
						   path);
		} else if (errno != EEXIST) {
			return enc_err_sys(err, -errno, "cannot create mount point %s", path);
		}
		int fd = openat(sdfd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return enc_err_sys(err, -errno, "cannot create mount point %s", path);
		if (scur >= 0)
			close(scur);
		scur = fd;
		if (have_lower) {
			fd = openat(ldfd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (lcur >= 0)
				close(lcur);
			lcur = fd;
			have_lower = fd >= 0;
		}
	}
	return 0;
}

static int copy_root_attrs(int rootfs, int dfd, const char *name, struct enc_err *err)
{
	struct stat st;

	if (fstat(rootfs, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat the rootfs");
	if (fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(dfd, name, st.st_mode & 07777, 0) < 0)
		return enc_err_sys(err, -errno, "cannot set up the root directory");
	return 0;
}

static int build_overlay(struct build *b, struct enc_err *err)
{
	const struct enc_mount_spec *s = b->spec;
	struct enc_mount_fds *fds = b->fds;
	struct fsopt opts[4];
	char upper[64], work[64];
	size_t n = 0;
	int r;

	if (s->src.rootfs_writable) {
		/* Setup: the generation itself is the root. */
		b->root = fds->rootfs;
		fds->rootfs = -1;
		if (attach(b->root, b->stage, "root") < 0)
			return enc_err_sys(err, -errno, "cannot attach the rootfs");
		return 0;
	}
	if (attach(fds->rootfs, b->stage, "lower") < 0)
		return enc_err_sys(err, -errno, "cannot attach the rootfs");
	opts[n++] = (struct fsopt){ "userxattr", NULL };
	switch (s->src.overlay) {
	case ENC_OVERLAY_TMP:
		if (mkdirat(b->stage, "upper", 0755) < 0 || mkdirat(b->stage, "work", 0700) < 0)
			return enc_err_sys(err, -errno, "cannot create the tmp upper");
		r = copy_root_attrs(fds->rootfs, b->stage, "upper", err);
		if (r < 0)
			return r;
		opts[n++] = (struct fsopt){ "lowerdir", STAGE "/lower" };
		opts[n++] = (struct fsopt){ "upperdir", STAGE "/upper" };
		opts[n++] = (struct fsopt){ "workdir", STAGE "/work" };
		break;
	case ENC_OVERLAY_PERSISTENT:
		if (fds->persist < 0 || fds->persist_upper < 0 || fds->persist_work < 0)
			return enc_err_set(err, -EBADF, "persistent overlay without its fds");
		/* overlayfs clones its layers privately, which needs them
		 * attached in this namespace. */
		if (mkdirat(b->stage, "persist", 0700) < 0 ||
		    attach(fds->persist, b->stage, "persist") < 0)
			return enc_err_sys(err, -errno, "cannot attach the persistent upper");
		snprintf(upper, sizeof(upper), "/proc/self/fd/%d", fds->persist_upper);
		snprintf(work, sizeof(work), "/proc/self/fd/%d", fds->persist_work);
		opts[n++] = (struct fsopt){ "lowerdir", STAGE "/lower" };
		opts[n++] = (struct fsopt){ "upperdir", upper };
		opts[n++] = (struct fsopt){ "workdir", work };
		break;
	case ENC_OVERLAY_READONLY: {
		/* No upper: the mount points the rootfs lacks come from a
		 * second, tiny lower layer, so nothing is writable at all. */
		const char *mps[] = { "/proc", "/dev", "/sys", "/tmp", "/run",
				      s->home_dst, s->src.project_src ? project_dst(s) : NULL };

		if (mkdirat(b->stage, "scaffold", 0755) < 0)
			return enc_err_sys(err, -errno, "cannot create the scaffold");
		r = copy_root_attrs(fds->rootfs, b->stage, "scaffold", err);
		if (r < 0)
			return r;
		_cleanup_close_ int scaf = openat(b->stage, "scaffold",
						  O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (scaf < 0)
			return enc_err_sys(err, -errno, "cannot open the scaffold");
		for (size_t i = 0; i < ENC_ARRAY_SIZE(mps); i++) {
			if (!mps[i])
				continue;
			r = scaffold_add(b, scaf, mps[i], err);
			if (r < 0)
				return r;
		}
		opts[n++] = (struct fsopt){ "lowerdir", STAGE "/scaffold:" STAGE "/lower" };
		break;
	}
	default:
		return enc_err_set(err, -EINVAL, "unknown overlay mode");
	}
	b->root = new_fs("overlay", opts, n,
			 ATTR_SAFE | (s->src.overlay == ENC_OVERLAY_READONLY ? MOUNT_ATTR_RDONLY : 0),
			 "the workspace root", err);
	if (b->root < 0)
		return b->root;
	if (attach(b->root, b->stage, "root") < 0)
		return enc_err_sys(err, -errno, "cannot attach the workspace root");
	return 0;
}

static int build_proc(struct build *b, struct enc_err *err)
{
	/* Read-only: /proc/sys is where the workspace's root owns files (its
	 * network namespace's sysctls). bus, fs and irq are not bound: every
	 * file there belongs to the initial namespace's root, which no
	 * workspace maps, so root inside holds no capability over them and
	 * DAC already refuses writes; each bind would cost ~10 us a start. */
	static const char *const ro[] = { "sys" };
	/* Masked: what any uid may read and that tells about the host or
	 * other users (keys and quotas of every user, kernel symbols and
	 * modules, timers with other processes' names, scheduler state), plus
	 * kcore and sysrq-trigger by name. The 0400 root-only files (kpage*,
	 * vmallocinfo, slabinfo) are refused by DAC like bus/fs/irq above. */
	static const char *const masked[] = {
		"kcore", "keys", "key-users", "kallsyms", "timer_list", "sched_debug",
		"sysrq-trigger", "latency_stats", "timer_stats", "acpi", "scsi", "asound",
	};
	static const struct fsopt opts[] = { { "hidepid", "invisible" } };
	_cleanup_close_ int p = new_fs("proc", opts, ENC_ARRAY_SIZE(opts),
				       ATTR_SAFE | MOUNT_ATTR_NOEXEC, "/proc", err);
	char what[64];
	int r;

	if (p < 0)
		return p;
	/* Attach first: the ro binds and masks are clones onto it. */
	_cleanup_close_ int tgt = mount_point(b, "/proc", err);
	if (tgt < 0)
		return tgt;
	if (attach(p, tgt, "") < 0)
		return enc_err_sys(err, -errno, "cannot mount /proc");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(ro); i++) {
		snprintf(what, sizeof(what), "/proc/%s", ro[i]);
		r = ro_self(p, ro[i], what, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(masked); i++) {
		snprintf(what, sizeof(what), "/proc/%s", masked[i]);
		r = mask_kernel(b, p, masked[i], what, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build_dev(struct build *b, struct enc_err *err)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },	  { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
	};
	static const struct fsopt pts_opts[] = { { "newinstance", NULL }, { "ptmxmode", "0666" },
						 { "mode", "0620" }, { "gid", "5" } };
	/* /dev/shm is a 1777 directory of the /dev tmpfs, which is sized for
	 * it: same flags (nosuid, nodev, noexec) as a tmpfs of its own would
	 * have, one filesystem less to set up. */
	struct fsopt dev_opts[2] = { { "mode", "0755" } };
	char size[32], path[32];
	size_t ndev = 1;

	if (b->spec->tmp_size)
		size_opt(&dev_opts[ndev++], size, sizeof(size), b->spec->tmp_size);
	_cleanup_close_ int d = new_fs("tmpfs", dev_opts, ndev, ATTR_SAFE | MOUNT_ATTR_NOEXEC,
				       "/dev", err);
	if (d < 0)
		return d;
	/* Populate while only we can see it. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(nodes); i++) {
		int fd = openat(d, nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

		if (fd < 0)
			return enc_err_sys(err, -errno, "cannot create /dev/%s", nodes[i]);
		close(fd);
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][1], d, links[i][0]) < 0)
			return enc_err_sys(err, -errno, "cannot create /dev/%s", links[i][0]);
	if (mkdirat(d, "pts", 0755) < 0 || mkdirat(d, "shm", 01777) < 0)
		return enc_err_sys(err, -errno, "cannot populate /dev");

	_cleanup_close_ int tgt = mount_point(b, "/dev", err);
	if (tgt < 0)
		return tgt;
	if (attach(d, tgt, "") < 0)
		return enc_err_sys(err, -errno, "cannot mount /dev");

	/* The device nodes are binds of the host's: a user namespace may not
	 * mknod. Only these six; no block device, no host pty. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(nodes); i++) {
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		_cleanup_close_ int m = sys_open_tree(AT_FDCWD, path,
						      OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW);
		if (m < 0)
			return enc_err_sys(err, -errno, "cannot clone the host's %s", path);
		if (attach(m, d, nodes[i]) < 0)
			return enc_err_sys(err, -errno, "cannot mount %s", path);
	}

	_cleanup_close_ int pts = new_fs("devpts", pts_opts, ENC_ARRAY_SIZE(pts_opts),
					 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev/pts", err);
	if (pts < 0)
		return pts;
	if (attach(pts, d, "pts") < 0)
		return enc_err_sys(err, -errno, "cannot mount /dev/pts");
	return 0;
}

static int build_sys(struct build *b, struct enc_err *err)
{
	struct enc_err e2 = { 0 };
	const unsigned int attrs = MOUNT_ATTR_RDONLY | ATTR_SAFE | MOUNT_ATTR_NOEXEC;
	int r;

	_cleanup_close_ int s = new_fs("sysfs", NULL, 0, attrs, "/sys", &e2);
	if (s == -EPERM) {
		/* The network namespace is not ours (network=host): a new
		 * sysfs would show it, which the kernel refuses. The host's
		 * /sys, all of it read-only, shows nothing more. */
		s = sys_open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | AT_RECURSIVE);
		if (s < 0)
			return enc_err_sys(err, -errno, "cannot clone the host's /sys");
		if (sys_setattr(s, "", AT_RECURSIVE, attrs, 0, -1) < 0)
			return enc_err_sys(err, -errno, "cannot make /sys read-only");
		if (b->rep)
			b->rep->sys_from_host = true;
	} else if (s < 0) {
		return enc_err_set(err, s, "%s", e2.msg);
	}
	_cleanup_close_ int tgt = mount_point(b, "/sys", err);
	if (tgt < 0)
		return tgt;
	if (attach(s, tgt, "") < 0)
		return enc_err_sys(err, -errno, "cannot mount /sys");
	r = mask_kernel(b, s, "firmware", "/sys/firmware", err);
	if (r == 0)
		r = mask_kernel(b, s, "devices/virtual/powercap", "/sys/devices/virtual/powercap",
				err);
	return r;
}

static int build_tmpfs(struct build *b, const char *path, const char *mode, unsigned int attrs,
		       struct enc_err *err)
{
	struct fsopt opts[2] = { { "mode", mode } };
	char size[32];
	size_t n = 1;

	if (b->spec->tmp_size)
		size_opt(&opts[n++], size, sizeof(size), b->spec->tmp_size);
	_cleanup_close_ int m = new_fs("tmpfs", opts, n, attrs, path, err);
	if (m < 0)
		return m;
	return attach_at(b, &m, path, err);
}

struct hide {
	const struct build *b;
	const char *const *globs;
	const char *const *prune;
	int proj;		/* O_PATH fd of the project mount's root */
	char rel[PATH_MAX];	/* path of the directory being walked */
	char *bufs[ENC_HIDE_MAX_DEPTH + 1];	/* getdents64 buffer per depth */
};

#define HIDE_BUF 16384

/* A glob with '/' and no wildcard names one path: it is looked up, not
 * matched during the walk, so pruning never skips it. */
static bool glob_is_literal_path(const char *g)
{
	return strchr(g, '/') && !strpbrk(g, "*?[\\");
}

static bool hide_match(const struct hide *h, const char *name, const char *rel)
{
	for (const char *const *g = h->globs; *g; g++) {
		if (glob_is_literal_path(*g))
			continue;
		if (strchr(*g, '/') ? fnmatch(*g, rel, FNM_PATHNAME) == 0
				    : fnmatch(*g, name, 0) == 0)
			return true;
	}
	return false;
}

static bool hide_pruned(const struct hide *h, const char *name)
{
	for (const char *const *p = h->prune; *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

/* Mask fd (consumed) for the entry at rel. */
static int hide_fd(struct hide *h, int fd, const char *rel, struct enc_err *err)
{
	int r = mask_fd(h->b, fd, rel, err);

	close(fd);
	if (r == 0 && h->b->rep)
		h->b->rep->hidden++;
	return r;
}

static int hide_entry(struct hide *h, int dfd, const char *name, unsigned char type,
		      const char *rel, struct enc_err *err)
{
	int fd;

	if (type == DT_LNK) {
		/* Hide what it points to, if that is inside the project. */
		fd = sys_openat2(h->proj, rel, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd < 0)
			return 0;
	} else {
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return enc_err_sys(err, -errno, "cannot open %s to hide it", rel);
	}
	return hide_fd(h, fd, rel, err);
}

/* Walk the directory dfd (owned, closed here) whose path is h->rel (len
 * bytes). Raw getdents64 into one buffer per depth: glibc's fdopendir would
 * add an fstat and an fcntl per directory, a third of the walk's cost. */
static int hide_walk(struct hide *h, int dfd, size_t len, int depth, struct enc_err *err)
{
	_cleanup_close_ int fd = dfd;
	int r = 0;

	if (depth > ENC_HIDE_MAX_DEPTH)
		return enc_err_set(err, -ELOOP, "project tree deeper than %d levels at %s",
				   ENC_HIDE_MAX_DEPTH, h->rel);
	if (!h->bufs[depth] && !(h->bufs[depth] = malloc(HIDE_BUF)))
		return enc_err_set(err, -ENOMEM, "out of memory");
	char *buf = h->bufs[depth];
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, HIDE_BUF);

		if (n < 0)
			return enc_err_sys(err, -errno, "cannot read %s", len ? h->rel : ".");
		if (n == 0)
			return 0;
		for (long off = 0; off < n && r == 0;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			unsigned char type = (unsigned char)buf[off + 18];
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
				continue;
			size_t nlen = strlen(name), sub = len + (len ? 1 : 0) + nlen;
			if (sub >= sizeof(h->rel))
				return enc_err_set(err, -ENAMETOOLONG, "path too long under %s",
						   h->rel);
			if (len)
				h->rel[len] = '/';
			memcpy(h->rel + sub - nlen, name, nlen + 1);

			if (type == DT_UNKNOWN) {
				struct stat st;

				if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
					type = S_ISDIR(st.st_mode) ? DT_DIR
					       : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
			}
			if (hide_match(h, name, h->rel)) {
				r = hide_entry(h, fd, name, type, h->rel, err);
			} else if (type == DT_DIR && !hide_pruned(h, name)) {
				int subfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								     O_CLOEXEC);
				/* What root inside cannot read, the workload
				 * cannot either: nothing to hide there. */
				if (subfd >= 0)
					r = hide_walk(h, subfd, sub, depth + 1, err);
				else if (errno != EACCES && errno != ENOENT)
					r = enc_err_sys(err, -errno, "cannot open %s", h->rel);
			}
			h->rel[len] = '\0';
		}
		if (r < 0)
			return r;
	}
}

static int hide_all(struct hide *h, struct enc_err *err)
{
	bool walk = false;
	int r = 0;

	for (const char *const *g = h->globs; *g; g++)
		walk |= !glob_is_literal_path(*g);
	if (walk) {
		int dfd = openat(h->proj, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = dfd < 0 ? enc_err_sys(err, -errno, "cannot read the project dir")
			    : hide_walk(h, dfd, 0, 0, err);
	}
	for (const char *const *g = h->globs; r == 0 && *g; g++) {
		if (!glob_is_literal_path(*g))
			continue;
		int fd = sys_openat2(h->proj, *g, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0)
			r = hide_fd(h, fd, *g, err);
	}
	return r;
}

static int build_project(struct build *b, uint64_t *t, struct enc_err *err)
{
	const struct enc_mount_spec *s = b->spec;
	int r = attach_at(b, &b->fds->project, project_dst(s), err);

	if (r < 0)
		return r;
	/* The project mount's root, through the path just mounted on. */
	_cleanup_close_ int root = mount_point(b, project_dst(s), err);
	if (root < 0)
		return root;
	step_done(b->rep, ENC_MSTEP_PROJECT, t);

	struct hide *h = calloc(1, sizeof(*h));
	if (!h)
		return enc_err_set(err, -ENOMEM, "out of memory");
	h->b = b;
	h->globs = s->hide ? s->hide : default_hide;
	h->prune = s->hide_prune ? s->hide_prune : default_prune;
	h->proj = root;
	r = hide_all(h, err);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(h->bufs); i++)
		free(h->bufs[i]);
	free(h);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_HIDE, t);

	for (const char *const *p = s->protect; p && *p; p++) {
		_cleanup_close_ int fd = sys_openat2(root, *p, O_PATH,
						     RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd < 0) {
			if (errno == ENOENT && s->protect_skip_missing)
				continue;
			if (errno == EXDEV)
				return enc_err_set(err, -EXDEV,
						   "protected path %s leads outside the project dir",
						   *p);
			return enc_err_sys(err, -errno, "protected path %s", *p);
		}
		_cleanup_close_ int m = sys_open_tree(fd, "", OPEN_TREE_CLONE | AT_RECURSIVE |
							      AT_EMPTY_PATH);
		if (m < 0)
			return enc_err_sys(err, -errno, "cannot clone protected path %s", *p);
		if (sys_setattr(m, "", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0, -1) < 0)
			return enc_err_sys(err, -errno, "cannot make %s read-only", *p);
		if (attach(m, fd, "") < 0)
			return enc_err_sys(err, -errno, "cannot mount %s read-only", *p);
		if (b->rep)
			b->rep->protected_paths++;
	}
	step_done(b->rep, ENC_MSTEP_PROTECT, t);
	return 0;
}

static int build_all(struct build *b, struct enc_err *err)
{
	const struct enc_mount_spec *s = b->spec;
	uint64_t t = now_ns();
	int r;

	if (b->fds->rootfs < 0)
		return enc_err_set(err, -EBADF, "no rootfs mount");
	if (!!s->src.home_src != (b->fds->home >= 0) ||
	    !!s->src.project_src != (b->fds->project >= 0))
		return enc_err_set(err, -EBADF, "mount fds do not match the spec");

	r = build_stage(b, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_STAGE, &t);
	r = build_overlay(b, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_OVERLAY, &t);
	r = build_proc(b, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_PROC, &t);
	r = build_dev(b, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_DEV, &t);
	r = build_sys(b, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_SYS, &t);
	r = build_tmpfs(b, "/tmp", "1777", ATTR_SAFE, err);
	if (r == 0)
		r = build_tmpfs(b, "/run", "0755", ATTR_SAFE, err);
	if (r < 0)
		return r;
	step_done(b->rep, ENC_MSTEP_TMPFS, &t);
	if (b->fds->home >= 0) {
		r = attach_at(b, &b->fds->home, s->home_dst, err);
		if (r < 0)
			return r;
	}
	step_done(b->rep, ENC_MSTEP_HOME, &t);
	if (b->fds->project >= 0) {
		r = build_project(b, &t, err);
		if (r < 0)
			return r;
	}

	/* pivot_root(".", "."): the old root ends up stacked on the new one
	 * and is detached at once, with every host mount under it. */
	if (fchdir(b->root) < 0)
		return enc_err_sys(err, -errno, "cannot enter the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return enc_err_sys(err, -errno, "pivot_root");
	if (syscall(SYS_umount2, ".", MNT_DETACH) < 0)
		return enc_err_sys(err, -errno, "cannot detach the old root");
	if (chdir("/") < 0)
		return enc_err_sys(err, -errno, "chdir /");
	step_done(b->rep, ENC_MSTEP_PIVOT, &t);
	return 0;
}

int enc_mounts_build_root(const struct enc_mount_spec *spec, struct enc_mount_fds *fds,
			  struct enc_mount_report *report, struct enc_err *err)
{
	struct build b = { .spec = spec, .fds = fds, .rep = report, .stage = -1, .root = -1 };
	int r = enc_mount_spec_check(spec, err);

	if (r == 0) {
		/* Modes are set exactly (1777 /tmp, the rootfs root's mode on
		 * the upper) whatever the caller's umask. */
		mode_t old = umask(0);

		r = build_all(&b, err);
		umask(old);
	}
	if (b.stage >= 0)
		close(b.stage);
	if (b.root >= 0)
		close(b.root);
	enc_mount_fds_close(fds);
	return r;
}
