/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * doctor-probe.c - `enclave doctor`, the system half: enc_doctor_run()
 * reads /proc (or the test's fake tree), stats files and asks the kernel,
 * then hands the answers to the classifiers in doctor.c.
 *
 * Every question that needs a namespace, a mount or a seccomp filter is
 * asked in a forked child, so the doctor process and the host are left
 * exactly as they were: the child's namespaces and detached mounts die
 * with it, and nothing is ever mounted in the host's mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/openat2.h>
#include <libmnl/libmnl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "doctor.h"
#include "mounts.h"
#include "seccomp.h"
#include "state.h"
#include "util.h"
#include "workspace.h"

#include "syscalls.h"

/* A probe that has not answered by then is stuck (e.g. a hung netlink
 * reply); SIGALRM ends it and the check says so. */
#define PROBE_TIMEOUT_S 20

/* A small file's content without trailing whitespace; NULL when it cannot
 * be read (then *err is -errno). */
static char *read_small(const char *dir, const char *rel, size_t max, int *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	*err = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	buf = malloc(max + 1);
	if (fd < 0 || !buf) {
		*err = fd < 0 ? -errno : -ENOMEM;
		return NULL;
	}
	while (n < max) {
		ssize_t r = ENC_RETRY(read(fd, buf + n, max - n));

		if (r < 0) {
			*err = -errno;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return steal_pointer(&buf);
}

static char *read_proc(const char *proc, const char *rel)
{
	int err;

	return read_small(proc, rel, 4096, &err);
}

/* The deepest existing directory on the way to path (path itself when it
 * exists). Nothing is created. */
static int nearest_existing(const char *path, char *out, size_t len)
{
	struct stat st;

	if ((size_t)snprintf(out, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	for (;;) {
		if (stat(out, &st) == 0)
			return 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
		char *slash = strrchr(out, '/');
		if (!slash)
			return -ENOENT;
		if (slash == out) {
			out[1] = '\0';
			if (stat(out, &st) == 0)
				return 0;
			return -errno;
		}
		*slash = '\0';
	}
}

/* The file system's name for messages; buf holds the type number when
 * the name is not known here. */
static const char *fs_name(long type, char *buf, size_t len)
{
	switch ((unsigned long)type) {
	case EXT4_SUPER_MAGIC: return "ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case TMPFS_MAGIC: return "tmpfs";
	case RAMFS_MAGIC: return "ramfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
	case F2FS_SUPER_MAGIC: return "f2fs";
	case NFS_SUPER_MAGIC: return "nfs";
	case SQUASHFS_MAGIC: return "squashfs";
	case MSDOS_SUPER_MAGIC: return "vfat";
	case SYSFS_MAGIC: return "sysfs";
	case PROC_SUPER_MAGIC: return "proc";
	case CGROUP2_SUPER_MAGIC: return "cgroup2";
	case 0x2fc12fc1: return "zfs";
	case 0x65735546: return "fuse";
	case 0xca451a4e: return "bcachefs";
	}
	snprintf(buf, len, "file system type 0x%lx", (unsigned long)type);
	return buf;
}

/* fs_name() of the file system holding path; "?" when statfs fails. */
static const char *fs_name_of(const char *path, char *buf, size_t len)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return "?";
	return fs_name(sfs.f_type, buf, len);
}

/* ---- forked probes ---- */

struct probe_result {
	int code;
	char msg[ENC_DOCTOR_TEXT_MAX];
	char info[256];
};

typedef int (*probe_fn)(const void *arg, char *info, size_t ilen, struct enc_err *err);

/*
 * Run fn in a forked child and bring back its result. The child's
 * namespaces, mounts and filters die with it; it never returns into the
 * caller's code (_exit, so no stdio buffer is flushed twice).
 */
static int run_probe(probe_fn fn, const void *arg, char *info, size_t ilen, char *msg, size_t mlen)
{
	struct probe_result res = { 0 };
	int p[2], status = 0;

	if (info && ilen)
		info[0] = '\0';
	msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0) {
		int r = -errno;
		snprintf(msg, mlen, "cannot create a pipe: %s", strerror(-r));
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		snprintf(msg, mlen, "cannot fork: %s", strerror(-r));
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		struct enc_err e = { 0 };

		close(p[0]);
		alarm(PROBE_TIMEOUT_S);
		res.code = fn(arg, res.info, sizeof(res.info), &e);
		if (res.code > 0)
			res.code = 0;
		if (res.code < 0)
			snprintf(res.msg, sizeof(res.msg), "%.*s", (int)sizeof(res.msg) - 1,
				 e.msg[0] ? e.msg : strerror(-res.code));
		/* Less than PIPE_BUF: one atomic write. */
		ssize_t w = write(p[1], &res, sizeof(res));
		_exit(w == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	ssize_t n = ENC_RETRY(read(p[0], &res, sizeof(res)));
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res)) {
		if (WIFSIGNALED(status))
			snprintf(msg, mlen, "the probe died of signal %d (%s)", WTERMSIG(status),
				 WTERMSIG(status) == SIGALRM ? "no answer in time" : strsignal(WTERMSIG(status)));
		else
			snprintf(msg, mlen, "the probe ended without an answer");
		return -ECHILD;
	}
	res.msg[sizeof(res.msg) - 1] = '\0';
	res.info[sizeof(res.info) - 1] = '\0';
	if (info && ilen)
		snprintf(info, ilen, "%s", res.info);
	snprintf(msg, mlen, "%s", res.msg);
	return res.code < 0 ? res.code : 0;
}

static int write_self(const char *file, const char *text)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = ENC_RETRY(write(fd, text, len));
	if (w < 0)
		return -errno;
	return w == (ssize_t)len ? 0 : -EIO;
}

/* Unshare a user namespace (plus extra) as the caller and map the caller's
 * own ids to 0, as an ordinary user's tools do before the helper is
 * involved. */
static int own_userns(int extra, struct enc_err *err)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int r;

	if (unshare(CLONE_NEWUSER | extra) < 0)
		return enc_err_sys(err, -errno, "unshare(CLONE_NEWUSER) fails");
	r = write_self("setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		return enc_err_sys(err, r, "cannot write setgroups in the new user namespace");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if ((r = write_self("uid_map", map)) < 0)
		return enc_err_sys(err, r, "cannot write the uid map of the new user namespace");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	if ((r = write_self("gid_map", map)) < 0)
		return enc_err_sys(err, r, "cannot write the gid map of the new user namespace");
	return 0;
}

static int probe_userns(const void *arg ENC_UNUSED, char *info ENC_UNUSED, size_t ilen ENC_UNUSED,
			struct enc_err *err)
{
	int r = own_userns(0, err);

	if (r < 0)
		return r;
	/* Under AppArmor's restriction the namespace is created but holds no
	 * capabilities: a mount namespace inside it is what tells. */
	if (unshare(CLONE_NEWNS) < 0)
		return enc_err_sys(err, -errno, "unshare(CLONE_NEWNS) inside a new user namespace fails");
	return 0;
}

static int setattr(int dfd, const char *path, unsigned flags, uint64_t set, uint64_t prop,
		   int userns)
{
	struct mount_attr a = { .attr_set = set, .propagation = prop,
				.userns_fd = userns >= 0 ? (uint64_t)userns : 0 };

	if (!*path)
		flags |= AT_EMPTY_PATH;
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof(a));
}

/* An idmapped, read-only, detached clone of path for a throwaway user
 * namespace mapping 0..65535 onto the first slot of root's id pool, as a
 * root-run workspace's rootfs. *userns receives the namespace. */
static int idmapped_clone(const char *path, int *userns, struct enc_err *err)
{
	struct enc_idrange r = { 0, ENC_IDPOOL_BASE, ENC_IDPOOL_SIZE };
	char fsbuf[48];

	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path,
						OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return enc_err_sys(err, -errno, "cannot clone the mount at %s (open_tree)", path);
	*userns = enc_userns_new(&r, 1, &r, 1, err);
	if (*userns < 0)
		return *userns;
	if (setattr(tree, "", 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, 0, *userns) < 0) {
		int e = -errno;
		const char *fs = fs_name_of(path, fsbuf, sizeof(fsbuf));

		if (e == -EINVAL)
			return enc_err_set(err, e, "%s at %s does not support idmapped mounts",
					   fs, path);
		return enc_err_sys(err, e, "cannot idmap a clone of %s (%s)", path, fs);
	}
	return steal_fd(&tree);
}

static int probe_idmap(const void *arg, char *info, size_t ilen, struct enc_err *err)
{
	const char *path = arg;
	_cleanup_close_ int ns = -1;
	char fsbuf[48];

	snprintf(info, ilen, "%s", fs_name_of(path, fsbuf, sizeof(fsbuf)));
	_cleanup_close_ int tree = idmapped_clone(path, &ns, err);
	return tree < 0 ? tree : 0;
}

static int new_fs(const char *type, const char *const *kv, size_t n, struct enc_err *err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);

	if (fs < 0)
		return enc_err_sys(err, -errno, "cannot open a %s context (fsopen)", type);
	for (size_t i = 0; i < n; i += 2) {
		long r = kv[i + 1] ? syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, kv[i], kv[i + 1], 0)
				   : syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, kv[i], NULL, 0);
		if (r < 0)
			return enc_err_sys(err, -errno, "%s: option %s refused", type, kv[i]);
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = -errno;
		char log[200] = "";
		ssize_t l = read(fs, log, sizeof(log) - 1);

		log[l > 0 ? l : 0] = '\0';
		log[strcspn(log, "\n")] = '\0';
		return enc_err_set(err, e, "cannot create a %s mount: %s%s%s", type, strerror(-e),
				   log[0] ? " -- kernel says: " : "", log);
	}
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (m < 0)
		return enc_err_sys(err, -errno, "cannot mount %s (fsmount)", type);
	return m;
}

/*
 * Overlay as a workspace root is built (mounts.h): root makes an idmapped,
 * read-only clone of a directory on the state file system for a fresh user
 * namespace, the child enters that namespace, unshares a mount namespace,
 * and mounts overlay (userxattr) with the clone as lower and a tmpfs upper,
 * then writes a file through it. An ordinary user cannot make the idmapped
 * clone (enclave-helper will), so for them the lower is a plain tmpfs
 * directory in their own user namespace. Everything is in the child's own
 * mount namespace or detached.
 */
static int probe_overlay(const void *arg, char *info ENC_UNUSED, size_t ilen ENC_UNUSED,
			 struct enc_err *err)
{
	const char *path = arg;
	_cleanup_close_ int ns = -1, lower = -1, stage = -1, ovl = -1;
	int r;

	if (geteuid() == 0) {
		lower = idmapped_clone(path, &ns, err);
		if (lower < 0) {
			enc_err_prefix(err, "cannot make the idmapped lower: ");
			return lower;
		}
		r = enc_userns_enter(ns, err);
		if (r < 0)
			return r;
		if (unshare(CLONE_NEWNS) < 0)
			return enc_err_sys(err, -errno, "unshare(CLONE_NEWNS) in the user namespace fails");
	} else {
		r = own_userns(CLONE_NEWNS, err);
		if (r < 0)
			return r;
	}
	/* Nothing may propagate out of this namespace (it cannot anyway: a
	 * namespace owned by a less privileged user namespace only receives). */
	if (setattr(AT_FDCWD, "/", AT_RECURSIVE, 0, MS_PRIVATE, -1) < 0)
		return enc_err_sys(err, -errno, "cannot make the probe's mount tree private");
	const char *tmpfs_opts[] = { "mode", "0755" };
	stage = new_fs("tmpfs", tmpfs_opts, 2, err);
	if (stage < 0)
		return stage;
	if (mkdirat(stage, "lower", 0755) < 0 || mkdirat(stage, "upper", 0755) < 0 ||
	    mkdirat(stage, "work", 0700) < 0)
		return enc_err_sys(err, -errno, "cannot populate the probe's tmpfs");
	if (lower >= 0 && syscall(SYS_move_mount, lower, "", stage, "lower",
				  MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return enc_err_sys(err, -errno, "cannot attach the idmapped lower in the user namespace");
	/* overlayfs resolves its layers by path in this namespace. /tmp is
	 * covered only here. */
	if (syscall(SYS_move_mount, stage, "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return enc_err_sys(err, -errno, "cannot attach the probe's tmpfs");
	const char *ovl_opts[] = { "userxattr", NULL, "lowerdir", "/tmp/lower",
				   "upperdir", "/tmp/upper", "workdir", "/tmp/work" };
	ovl = new_fs("overlay", ovl_opts, ENC_ARRAY_SIZE(ovl_opts), err);
	if (ovl < 0)
		return ovl;
	_cleanup_close_ int f = openat(ovl, "enclave-doctor", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f < 0)
		return enc_err_sys(err, -errno, "cannot write through the overlay");
	return 0;
}

static int nft_count_cb(const struct nlmsghdr *nlh, void *data)
{
	unsigned *n = data;

	if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWTABLE)
		(*n)++;
	return MNL_CB_OK;
}

/* List nf_tables tables: read only. Ordinary users ask in their own
 * user + network namespace (they have CAP_NET_ADMIN only there), which
 * still tells whether the kernel answers. */
static int probe_nft(const void *arg ENC_UNUSED, char *info, size_t ilen, struct enc_err *err)
{
	char buf[8192];	/* MNL_SOCKET_BUFFER_SIZE, as a constant */
	unsigned tables = 0;
	bool own = geteuid() != 0;

	if (own && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return enc_err_sys(err, -errno, "cannot create a user and network namespace to ask in");
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return enc_err_sys(err, -errno, "cannot open a netfilter netlink socket");
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;
		mnl_socket_close(nl);
		return enc_err_sys(err, e, "cannot bind a netfilter netlink socket");
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	int r = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = enc_err_sys(err, -errno, "cannot send the nf_tables query");
	} else {
		for (;;) {
			ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

			if (n < 0) {
				r = enc_err_sys(err, -errno, "no nf_tables answer");
				break;
			}
			int cb = mnl_cb_run(buf, (size_t)n, seq, portid, nft_count_cb, &tables);
			if (cb < 0) {
				r = enc_err_sys(err, -errno, "nf_tables refuses to list tables");
				break;
			}
			if (cb == MNL_CB_STOP)
				break;
		}
	}
	mnl_socket_close(nl);
	if (r == 0)
		snprintf(info, ilen, "%u table%s%s", tables, tables == 1 ? "" : "s",
			 own ? " in a new network namespace" : "");
	return r;
}

static int probe_seccomp(const void *arg, char *info ENC_UNUSED, size_t ilen ENC_UNUSED,
			 struct enc_err *err)
{
	return enc_seccomp_load(arg, err);
}

/* Each system call with arguments that do nothing, so only ENOSYS (or a
 * sandbox's EPERM) tells it is missing. */
static size_t probe_syscalls(struct enc_doctor_syscall *sc, size_t max)
{
	size_t n = 0;
	long r;

#define RECORD(nm, must, ok_cond)                                                      \
	do {                                                                           \
		if (n < max)                                                           \
			sc[n++] = (struct enc_doctor_syscall){ nm, (ok_cond) ? 0 : errno, must }; \
	} while (0)

	errno = 0;
	r = syscall(SYS_pidfd_open, getpid(), 0);
	RECORD("pidfd_open", true, r >= 0);
	if (r >= 0)
		close((int)r);
	/* size 0 is below CLONE_ARGS_SIZE_VER0: a kernel with clone3 says
	 * EINVAL before doing anything. */
	errno = 0;
	r = syscall(SYS_clone3, NULL, 0);
	RECORD("clone3", true, r < 0 && errno == EINVAL);
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	errno = 0;
	r = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	RECORD("openat2", true, r >= 0);
	if (r >= 0)
		close((int)r);
	/* An empty range beyond any fd: closes nothing. */
	errno = 0;
	r = syscall(SYS_close_range, ~0u, ~0u, 0);
	RECORD("close_range", true, r == 0);
	errno = 0;
	r = syscall(SYS_open_tree, -1, "", 0);
	RECORD("open_tree", false, r >= 0);
	errno = 0;
	r = syscall(SYS_move_mount, -1, "", -1, "", 0);
	RECORD("move_mount", false, r >= 0);
	/* Bad flags, no name: refused before any file system type is looked
	 * up (an unknown name would make the kernel run modprobe). */
	errno = 0;
	r = syscall(SYS_fsopen, NULL, ~0u);
	RECORD("fsopen", false, r >= 0);
	if (r >= 0)
		close((int)r);
	errno = 0;
	r = syscall(SYS_fsmount, -1, 0, 0);
	RECORD("fsmount", false, r >= 0);
	errno = 0;
	r = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0);
	RECORD("mount_setattr", false, r >= 0);
#undef RECORD
	return n;
}

/* The first executable `name` in PATH or the usual system directories
 * (an ordinary user's PATH often lacks /usr/sbin, where debootstrap is). */
static char *find_program(const char *name)
{
	const char *env = getenv("PATH");
	char *dirs = NULL;

	if (asprintf(&dirs, "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		     env ? env : "") < 0)
		return NULL;
	_cleanup_free_ char *list = dirs;
	for (char *save = NULL, *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char path[PATH_MAX];
		struct stat st;

		if (d[0] != '/')
			continue;	/* relative PATH entries: not for a doctor */
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", d, name) >= sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return strdup(path);
	}
	return NULL;
}

static void gather_dir(struct enc_doctor_dir *d, const char *what, const char *path,
		       char *anc, size_t alen)
{
	*d = (struct enc_doctor_dir){ .what = what, .path = path };
	if (lstat(path, &d->st) < 0) {
		d->err = -errno;
		if (d->err == -ENOENT && nearest_existing(path, anc, alen) == 0) {
			d->ancestor = anc;
			d->ancestor_writable = faccessat(AT_FDCWD, anc, W_OK | X_OK, AT_EACCESS) == 0;
		}
	}
}

/* Whether a check is to run: every check when no list is given. */
static bool want(const struct enc_doctor_opts *opts, const char *id)
{
	if (!opts || !opts->only)
		return true;
	for (const char *const *p = opts->only; *p; p++)
		if (strcmp(*p, id) == 0)
			return true;
	return false;
}

static bool want_cgroups(const struct enc_doctor_opts *opts)
{
	static const char *const ids[] = { "cgroup", "cgroup-memory", "cgroup-swap", "cgroup-pids",
					   "cgroup-cpu" };

	for (size_t i = 0; i < ENC_ARRAY_SIZE(ids); i++)
		if (want(opts, ids[i]))
			return true;
	return false;
}

static void run_cgroups(struct enc_doctor_report *rep, bool root, uid_t euid, bool groups,
			bool delegation)
{
	struct enc_cgroup_sys sys;
	struct enc_err e = { 0 };
	unsigned ro = 0;
	int r = enc_cgroup_probe(&sys, &e);

	if (r == 0) {
		for (int i = 0; i < sys.nhier && i < 32; i++) {
			struct statvfs sv;

			if (fstatvfs(sys.hier[i].mnt_fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
				ro |= 1u << i;
		}
	}
	if (groups)
		enc_doctor_check_cgroups(rep, &sys, r, e.msg, ro, root);

	struct enc_doctor_check *c = delegation ?
		enc_doctor_add(rep, "cgroup-delegation", "cgroup delegation") : NULL;
	if (!c) {
		enc_cgroup_sys_close(&sys);
		return;
	}
	char path[512] = "", *ctrls = NULL;
	struct stat st = { 0 };
	int err = -ENOENT;
	if (!root && r == 0 && sys.v2 >= 0) {
		snprintf(path, sizeof(path), "%s/user.slice/user-%u.slice/user@%u.service",
			 sys.hier[sys.v2].mount, (unsigned)euid, (unsigned)euid);
		err = stat(path, &st) < 0 ? -errno : 0;
		if (err == 0) {
			int rerr;
			ctrls = read_small(path, "cgroup.controllers", 1024, &rerr);
		}
	}
	enc_doctor_check_delegation(c, root, r == 0 ? sys.mode : ENC_CGROUP_MODE_NONE,
				    path[0] ? path : NULL, err, st.st_uid, euid, ctrls);
	free(ctrls);
	if (r == 0)
		enc_cgroup_sys_close(&sys);
}

void enc_doctor_run(const struct enc_doctor_opts *opts, struct enc_doctor_report *rep)
{
	const char *proc = opts && opts->proc_root ? opts->proc_root : "/proc";
	const char *env_helper = getenv("ENCLAVE_HELPER");
	const char *helper = opts && opts->helper_path ? opts->helper_path
			     : env_helper && env_helper[0] == '/' ? env_helper
								   : ENCLAVE_HELPERDIR "/enclave-helper";
	uid_t euid = geteuid();
	bool root = euid == 0;
	struct enc_doctor_check *c;
	char info[256], msg[ENC_DOCTOR_TEXT_MAX];
	int code;

	memset(rep, 0, sizeof(*rep));

	/* kernel: osrelease is uname's release; reading it through proc_root
	 * lets a test pretend to be an old kernel. */
	if (want(opts, "kernel") && (c = enc_doctor_add(rep, "kernel", "Linux kernel version"))) {
		_cleanup_free_ char *rel = read_proc(proc, "sys/kernel/osrelease");
		struct utsname u;

		if (!rel && uname(&u) == 0)
			rel = strdup(u.release);
		enc_doctor_check_kernel(c, rel);
	}

	if (want(opts, "userns") && (c = enc_doctor_add(rep, "userns", "user namespaces"))) {
		_cleanup_free_ char *max = read_proc(proc, "sys/user/max_user_namespaces");

		code = run_probe(probe_userns, NULL, NULL, 0, msg, sizeof(msg));
		enc_doctor_check_userns(c, max, code, msg);
	}
	if (want(opts, "apparmor-userns") && (c = enc_doctor_add(rep, "apparmor-userns", "AppArmor user-namespace restriction"))) {
		_cleanup_free_ char *v = read_proc(proc, "sys/kernel/apparmor_restrict_unprivileged_userns");
		_cleanup_free_ char *label = read_proc(proc, "self/attr/apparmor/current");

		if (!label)
			label = read_proc(proc, "self/attr/current");
		enc_doctor_check_apparmor(c, v, label, root);
	}
	if (want(opts, "userns-clone") && (c = enc_doctor_add(rep, "userns-clone", "kernel.unprivileged_userns_clone"))) {
		_cleanup_free_ char *v = read_proc(proc, "sys/kernel/unprivileged_userns_clone");

		enc_doctor_check_userns_clone(c, v, root);
	}
	if (want(opts, "syscalls") && (c = enc_doctor_add(rep, "syscalls", "pidfd, clone3, openat2 and the mount API"))) {
		struct enc_doctor_syscall sc[16];
		size_t n = probe_syscalls(sc, ENC_ARRAY_SIZE(sc));

		enc_doctor_check_syscalls(c, sc, n);
	}

	/* The state paths, without creating anything: a missing data dir is
	 * probed through its nearest existing ancestor. */
	_cleanup_free_ char *data = NULL, *run = NULL;
	struct enc_err perr = { 0 };
	char probe_dir[PATH_MAX] = "/";
	int pr = enc_state_paths(&data, &run, &perr);
	if (pr == 0 && nearest_existing(data, probe_dir, sizeof(probe_dir)) < 0)
		snprintf(probe_dir, sizeof(probe_dir), "/");

	if (want(opts, "idmap") && (c = enc_doctor_add(rep, "idmap", "idmapped mounts on the state file system"))) {
		char fsbuf[48];
		const char *fs = fs_name_of(probe_dir, fsbuf, sizeof(fsbuf));

		if (!root) {
			enc_doctor_set(c, ENC_DOCTOR_SKIP, false,
				"not probed as an ordinary user (enclave-helper makes the idmapped mounts); %s at %s",
				fs, probe_dir);
		} else {
			code = run_probe(probe_idmap, probe_dir, info, sizeof(info), msg, sizeof(msg));
			if (code == 0) {
				enc_doctor_set(c, ENC_DOCTOR_OK, true, "%s at %s%s%s%s",
					       info[0] ? info : fs, probe_dir,
					       data && strcmp(data, probe_dir) ? " (" : "",
					       data && strcmp(data, probe_dir) ? data : "",
					       data && strcmp(data, probe_dir) ? " does not exist yet)" : "");
			} else {
				enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s", msg);
				enc_doctor_fix(c, "keep the state on ext4, xfs, btrfs or (Linux 6.3+) tmpfs: set ENCLAVE_STATE_DIR");
			}
		}
	}
	if (want(opts, "overlay") && (c = enc_doctor_add(rep, "overlay", "overlayfs in a user namespace over an idmapped lower"))) {
		code = run_probe(probe_overlay, probe_dir, NULL, 0, msg, sizeof(msg));
		if (code == 0 && root) {
			enc_doctor_set(c, ENC_DOCTOR_OK, true,
				"overlay (userxattr) mounted in a user namespace over an idmapped lower from %s",
				probe_dir);
		} else if (code == 0) {
			enc_doctor_set(c, ENC_DOCTOR_OK, true,
				"overlay (userxattr) mounted in your own user namespace (the idmapped lower comes from enclave-helper)");
		} else {
			enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s", msg);
			enc_doctor_fix(c, "see the idmap and userns checks; overlayfs needs Linux %d.%d or later with CONFIG_OVERLAY_FS",
				       ENC_DOCTOR_KERNEL_MAJOR, ENC_DOCTOR_KERNEL_MINOR);
		}
	}

	if (want_cgroups(opts) || want(opts, "cgroup-delegation"))
		run_cgroups(rep, root, euid, want_cgroups(opts), want(opts, "cgroup-delegation"));

	if (want(opts, "nftables") && (c = enc_doctor_add(rep, "nftables", "nftables (nf_tables netlink)"))) {
		code = run_probe(probe_nft, NULL, info, sizeof(info), msg, sizeof(msg));
		if (code == 0) {
			enc_doctor_set(c, ENC_DOCTOR_OK, true, "nf_tables answers (%s)", info);
		} else {
			/* Egress policy (DESIGN §7) is nftables: deny is the
			 * default network mode. */
			enc_doctor_set(c, ENC_DOCTOR_MISSING, true, "%s", msg);
			enc_doctor_fix(c, "modprobe nf_tables (a kernel with CONFIG_NF_TABLES, CONFIG_NFT_NAT, CONFIG_NFT_MASQ)");
		}
	}
	if (want(opts, "ipv4-forward") && (c = enc_doctor_add(rep, "ipv4-forward", "IPv4 forwarding"))) {
		_cleanup_free_ char *v = read_proc(proc, "sys/net/ipv4/ip_forward");

		enc_doctor_check_forward(c, AF_INET, v);
	}
	if (want(opts, "ipv6-forward") && (c = enc_doctor_add(rep, "ipv6-forward", "IPv6 forwarding"))) {
		_cleanup_free_ char *v = read_proc(proc, "sys/net/ipv6/conf/all/forwarding");

		enc_doctor_check_forward(c, AF_INET6, v);
	}

	if (want(opts, "seccomp") && (c = enc_doctor_add(rep, "seccomp", "seccomp filter"))) {
		_cleanup_free_ char *actions = read_proc(proc, "sys/kernel/seccomp/actions_avail");
		struct enc_seccomp_prog *prog = NULL;
		struct enc_err e = { 0 };
		int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
		size_t ninsns = 0;

		if (mode < 0)
			mode = -errno;
		code = enc_seccomp_build(0, &prog, &e);
		snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(msg) - 1, e.msg);
		if (code == 0) {
			ninsns = enc_seccomp_prog_insns(prog, NULL);
			code = run_probe(probe_seccomp, prog, NULL, 0, msg, sizeof(msg));
			enc_seccomp_prog_free(prog);
		}
		enc_doctor_check_seccomp(c, mode, actions, ninsns, code, msg);
	}
	if (want(opts, "landlock") && (c = enc_doctor_add(rep, "landlock", "Landlock ABI"))) {
		long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
				   LANDLOCK_CREATE_RULESET_VERSION);

		enc_doctor_check_landlock(c, abi < 0 ? -errno : (int)abi);
	}

	if (want(opts, "helper") && (c = enc_doctor_add(rep, "helper", "enclave-helper install"))) {
		struct stat st, dst;
		_cleanup_free_ char *dir = strdup(helper);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		bool have_dir = false;

		if (slash) {
			*slash = '\0';
			have_dir = stat(*dir ? dir : "/", &dst) == 0;
		}
		if (lstat(helper, &st) < 0)
			enc_doctor_check_helper(c, helper, NULL, -errno, NULL, root);
		else
			enc_doctor_check_helper(c, helper, &st, 0, have_dir ? &dst : NULL, root);
	}
	if (want(opts, "subid") && (c = enc_doctor_add(rep, "subid", "subordinate ids"))) {
		struct enc_subid u = { 0 }, g = { 0 };
		int uerr = 0, gerr = 0;
		struct passwd *pw = root ? NULL : getpwuid(euid);
		const char *name = pw ? pw->pw_name : NULL;

		if (!root) {
			_cleanup_free_ char *su = read_small("/etc", "subuid", 1u << 20, &uerr);
			_cleanup_free_ char *sg = read_small("/etc", "subgid", 1u << 20, &gerr);

			if (su)
				enc_doctor_subid_parse(su, name, euid, &u);
			if (sg)
				enc_doctor_subid_parse(sg, name, euid, &g);
		}
		enc_doctor_check_subid(c, root, name, &u, uerr, &g, gerr);
	}
	if (want(opts, "bootstrap-tools") && (c = enc_doctor_add(rep, "bootstrap-tools", "debootstrap / mmdebstrap"))) {
		_cleanup_free_ char *d = find_program("debootstrap");
		_cleanup_free_ char *m = find_program("mmdebstrap");

		enc_doctor_check_bootstrap(c, d, m, root);
	}
	if (want(opts, "free-space") && (c = enc_doctor_add(rep, "free-space", "free space for the state"))) {
		struct statvfs sv;
		char fsbuf[48];

		if (statvfs(probe_dir, &sv) < 0)
			enc_doctor_check_space(c, probe_dir, "?", 0, -errno);
		else
			enc_doctor_check_space(c, probe_dir, fs_name_of(probe_dir, fsbuf, sizeof(fsbuf)),
					       (uint64_t)sv.f_bavail * sv.f_frsize, 0);
	}
	if (want(opts, "state-dir") && (c = enc_doctor_add(rep, "state-dir", "state directories"))) {
		struct enc_doctor_dir dd, rd;
		char danc[PATH_MAX], ranc[PATH_MAX];

		if (pr < 0) {
			enc_doctor_check_state(c, perr.msg, NULL, NULL, euid);
		} else {
			gather_dir(&dd, "data", data, danc, sizeof(danc));
			gather_dir(&rd, "runtime", run, ranc, sizeof(ranc));
			enc_doctor_check_state(c, NULL, &dd, &rd, euid);
		}
	}
}

int enc_doctor_require(const struct enc_doctor_opts *opts, unsigned needs, struct enc_err *err)
{
	const char *ids[ENC_DOCTOR_MAX_CHECKS + 1];
	struct enc_doctor_opts o = { 0 };

	if (opts)
		o = *opts;
	if (o.asked_only) {
		if (!needs)
			return 0;
		enc_doctor_asked_ids(needs, ids);
	} else {
		enc_doctor_needed_ids(needs, ids);
	}
	o.only = ids;
	_cleanup_free_ struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return enc_err_set(err, -ENOMEM, "out of memory");
	enc_doctor_run(&o, rep);
	return enc_doctor_refusal(rep, needs, err);
}
