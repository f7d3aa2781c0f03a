/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-helper - the privileged steps of an ordinary user's workspace,
 * installed setuid root. See enclave-helper(8) and proto.h.
 *
 * Shape (shadow's newuidmap, bubblewrap's privileged_op): main() clears
 * the environment and limits capabilities before it reads anything; it
 * then reads exactly one typed request from fd 3, re-validates every field
 * against the admin policy and the caller's real uid, performs that one
 * operation, answers and exits. No configuration of the caller's is read,
 * no program is run, no caller text reaches a mount option or a rule.
 * From the first capability change on, every failure exits (fail()).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "build-config.h"
#include "cgroup.h"	/* names only */
#include "exitcodes.h"
#include "fsutil.h"
#include "netlink.h"
#include "nft.h"
#include "nftwatch.h"
#include "policy.h"
#include "proto.h"
#include "syscalls.h"

#ifndef HELPER_CONF	/* build time only: never from the environment */
#define HELPER_CONF ENCLAVE_SYSCONFDIR "/enclave/helper.conf"
#endif
#define CAPBIT(c) (1ull << (c))
#define POOL_DIR ENC_NETPOOL_DIR

#define WS_IDS HREQ_WS_IDS

static uid_t ruid;
static gid_t rgid;
static char uname_[POL_NAME_MAX + 1];
static bool sock_ok;		/* fd 3 is our request socket: answer there */
static struct hreq req;
static struct policy pol;
static char reply[HREPLY_MAX] = "ok\n";
static int rfds[HREQ_FDS_MAX], nrfds;	/* received with the request */
static int ofds[HREQ_FDS_MAX], nofds;	/* sent with the reply */

static void say(int prio, const char *fmt, va_list ap) ENC_PRINTF(2, 0);
static void say(int prio, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Every operation and every refusal is logged with the caller's uid. */
	syslog(LOG_AUTHPRIV | prio, "uid=%u op=%s: %s", (unsigned)ruid, hreq_op_str(req.op), msg);
	if (prio != LOG_INFO)
		dprintf(STDERR_FILENO, "enclave-helper: %s\n", msg);
	if (sock_ok && prio != LOG_INFO) {
		char e[600];
		int n = snprintf(e, sizeof(e), "error %s\n", msg);

		/* Unread messages would make the caller's read fail with
		 * ECONNRESET and lose the answer: drop them (bounded). */
		for (int i = 0; i < 16 && recv(HREQ_FD, e, 1, MSG_DONTWAIT) >= 0; i++)
			;

		send(HREQ_FD, e, (size_t)n, MSG_NOSIGNAL);
	}
}

ENC_NORETURN ENC_PRINTF(2, 3) static void fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(LOG_WARNING, fmt, ap);
	va_end(ap);
	_exit(status);
}

ENC_PRINTF(1, 2) static void logok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(LOG_INFO, fmt, ap);
	va_end(ap);
}

static void check(int r, const struct enc_err *e, const char *what)
{
	if (r < 0)
		fail(ENC_EXIT_FAILURE, "%s: %s", what, e && e->msg[0] ? e->msg : strerror(-r));
}

static void reply_add(const char *fmt, ...) ENC_PRINTF(1, 2);
static void reply_add(const char *fmt, ...)
{
	size_t l = strlen(reply);
	va_list ap;

	va_start(ap, fmt);
	if ((size_t)vsnprintf(reply + l, sizeof(reply) - l, fmt, ap) >= sizeof(reply) - l)
		fail(ENC_EXIT_FAILURE, "reply too large");
	va_end(ap);
}

/* ---- privileges --------------------------------------------------------- */

/* Keep exactly the capabilities in mask: bounding set first (while we still
 * hold CAP_SETPCAP), then permitted = effective = mask, inheritable empty.
 * The helper never execs, so file capabilities and ambient sets never come
 * into play; euid stays 0, which only means ownership of root's files. */
/* The permitted and effective sets, and with bset the bounding set too
 * (which needs CAP_SETPCAP, still held then). */
static void caps_limit_(uint64_t mask, bool bset)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	for (int c = 0; bset && c <= 63; c++)
		if (!(mask & CAPBIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			fail(ENC_EXIT_FAILURE, "cannot drop capability %d: %m", c);
	d[0].permitted = d[0].effective = (uint32_t)mask;
	d[1].permitted = d[1].effective = (uint32_t)(mask >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		fail(ENC_EXIT_FAILURE, "cannot set capabilities: %m");
}
#define caps_limit(mask) caps_limit_(mask, true)

/* Act on the file system as the caller: permission checks, and so what the
 * caller could not reach, we do not reach either. Read back (setfsuid
 * returns the previous value) so a refusal cannot pass unnoticed. */
static void as_caller(bool on)
{
	uid_t u = on ? ruid : 0;
	gid_t g = on ? rgid : 0;

	setfsgid(g);
	setfsuid(u);
	if ((uid_t)setfsuid(u) != u || (gid_t)setfsgid(g) != g)
		fail(ENC_EXIT_FAILURE, "cannot switch file system ids");
}

/* ---- verifying what the caller hands us --------------------------------- */

static void ns_stat(int fd, int nstype, const char *what, struct stat *st)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC || fstat(fd, st) < 0 ||
	    ioctl(fd, NS_GET_NSTYPE) != nstype)
		fail(ENC_EXIT_FAILURE, "%s: not a namespace fd of the right type", what);
}

/* A user namespace owned by the caller, created directly below ours. */
static void userns_verify(int fd, const char *what)
{
	struct stat st, pst, self;
	uid_t owner = (uid_t)-1;
	_cleanup_close_ int parent = -1;

	ns_stat(fd, CLONE_NEWUSER, what, &st);
	if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 || owner != ruid)
		fail(ENC_EXIT_FAILURE, "%s: user namespace not owned by uid %u", what, (unsigned)ruid);
	parent = ioctl(fd, NS_GET_PARENT);
	if (parent < 0 || fstat(parent, &pst) < 0 || stat("/proc/self/ns/user", &self) < 0 ||
	    pst.st_ino != self.st_ino || pst.st_dev != self.st_dev)
		fail(ENC_EXIT_FAILURE, "%s: not a child of the host's user namespace", what);
}

/* The pid a pidfd refers to, from its fdinfo; <= 0 once the process has
 * been reaped (the kernel then shows -1), or when fd is no pidfd. */
static int pidfd_pid(int pidfd)
{
	char path[64], buf[512], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int pid = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	p = strstr(buf, "\nPid:\t");
	if (!p || sscanf(p, "\nPid:\t%d", &pid) != 1)
		return 0;
	return pid;
}

/* A pidfd of a live process whose ids are all the caller's; returns an
 * O_DIRECTORY fd on its /proc entry. The pidfd pins the process: reading
 * the pid, opening /proc/PID and then finding the pidfd still on that pid
 * proves the entry is that process and not a reuse of its pid (a pid is
 * reused only after the process is reaped, when the pidfd shows -1).
 * /proc entries of a dead task never come back to life for a new one. */
static int pidfd_verify(int pidfd, int *pidp)
{
	char path[64], buf[2048], *p;
	_cleanup_close_ int fd = -1, dir = -1;
	unsigned ids[8];
	ssize_t n;
	int pid = pidfd_pid(pidfd);

	if (pid <= 0)
		fail(ENC_EXIT_FAILURE, "target: not a pidfd of a live process");
	snprintf(path, sizeof(path), "/proc/%d", pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || pidfd_pid(pidfd) != pid)
		fail(ENC_EXIT_FAILURE, "target: process %d is gone", pid);
	fd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p, "\nUid:%u%u%u%u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4 ||
	    !(p = strstr(buf, "\nGid:")) ||
	    sscanf(p, "\nGid:%u%u%u%u", &ids[4], &ids[5], &ids[6], &ids[7]) != 4)
		fail(ENC_EXIT_FAILURE, "target: cannot read process %d", pid);
	for (int i = 0; i < 8; i++)
		if (ids[i] != (i < 4 ? ruid : rgid))
			fail(ENC_EXIT_FAILURE, "target: process %d does not belong to uid %u",
			     pid, (unsigned)ruid);
	if (pidp)
		*pidp = pid;
	return steal_fd(&dir);
}

/* ---- uidmap ------------------------------------------------------------- */

/* A whole file (proc files come in pieces) or fail; size bounds it. */
static void read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 1;

	while (fd >= 0 && n > 0 && len < size - 1)
		if ((n = read(fd, buf + len, size - 1 - len)) > 0)
			len += (size_t)n;
	if (fd < 0 || n < 0 || len == size - 1)
		fail(ENC_EXIT_FAILURE, "cannot read %s", path);
	buf[len] = '\0';
}

static unsigned subids(const char *file, uint32_t id, struct subid *s)
{
	static char buf[1 << 20];

	read_file(file, buf, sizeof(buf));
	return subid_parse(buf, strlen(buf), uname_, id, s);
}

static void write_map(int dir, const char *name, const struct hreq_ext *e, unsigned n)
{
	char buf[HREQ_MAP_MAX * 40] = "";
	_cleanup_close_ int fd = -1;
	size_t l = 0;

	for (unsigned i = 0; i < n; i++)
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%u %u %u\n",
				      e[i].inside, e[i].outside, e[i].count);
	/* Opened as the caller: the file is the caller's own process's. The
	 * kernel checks CAP_SETUID/SETGID (ours) against the map's ranges,
	 * which we have limited to the caller's subordinate ids. */
	as_caller(true);
	fd = openat(dir, name, O_WRONLY | O_CLOEXEC);
	as_caller(false);
	if (fd < 0 || write(fd, buf, l) != (ssize_t)l)
		fail(ENC_EXIT_FAILURE, "cannot write %s: %m", name);
}

static void op_uidmap(void)
{
	struct subid su[SUBID_MAX], sg[SUBID_MAX];
	unsigned nu = subids("/etc/subuid", ruid, su), ng = subids("/etc/subgid", rgid, sg);
	_cleanup_close_ int dir = pidfd_verify(rfds[0], NULL), ns = -1;

	/* Only ids the admin gave this user; never the caller's own uid
	 * (DESIGN §5), never anything else. The kernel refuses overlaps. */
	for (unsigned i = 0; i < req.nuid; i++)
		if (!subid_covers(su, nu, req.uid[i].outside, req.uid[i].count))
			fail(ENC_EXIT_FAILURE, "uid range %u+%u is not in /etc/subuid for %s",
			     req.uid[i].outside, req.uid[i].count, uname_);
	for (unsigned i = 0; i < req.ngid; i++)
		if (!subid_covers(sg, ng, req.gid[i].outside, req.gid[i].count))
			fail(ENC_EXIT_FAILURE, "gid range %u+%u is not in /etc/subgid for %s",
			     req.gid[i].outside, req.gid[i].count, uname_);
	ns = openat(dir, "ns/user", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		fail(ENC_EXIT_FAILURE, "target: cannot open its user namespace: %m");
	userns_verify(ns, "target");
	write_map(dir, "uid_map", req.uid, req.nuid);
	write_map(dir, "gid_map", req.gid, req.ngid);
	logok("mapped uids %u+%u.. gids %u+%u..", req.uid[0].outside, req.uid[0].count,
	      req.gid[0].outside, req.gid[0].count);
}

/* ---- mount -------------------------------------------------------------- */

/* The host id that `inside` maps to in userns (ids: "uid_map"/"gid_map").
 * A child joins the namespace and reads its own map, which the kernel
 * shows relative to the parent namespace, i.e. as host ids. */
static uint32_t ns_lookup(int userns, const char *ids, uint32_t inside)
{
	char buf[4096];
	int p[2], st;
	uint32_t in, out, cnt, res = UINT32_MAX;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		fail(ENC_EXIT_FAILURE, "cannot fork: %m");
	if (pid == 0) {
		char path[32];

		sock_ok = false;	/* the answer is the parent's */
		snprintf(path, sizeof(path), "/proc/self/%s", ids);
		if (setns(userns, CLONE_NEWUSER) < 0)
			_exit(1);
		read_file(path, buf, sizeof(buf));
		_exit(write(p[1], buf, strlen(buf)) < 0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || st != 0 || n < 0)
		fail(ENC_EXIT_FAILURE, "cannot read the target's %s", ids);
	buf[n] = '\0';
	for (char *l = buf; l && sscanf(l, "%u %u %u", &in, &out, &cnt) == 3;
	     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (inside >= in && inside - in < cnt)
			res = out + (inside - in);
	if (res == UINT32_MAX)
		fail(ENC_EXIT_FAILURE, "id %u is not mapped in the target namespace", inside);
	return res;
}

/* A throwaway user namespace for an idmapped clone, mapping count ids
 * from uin (gin), the ids on disk, to uout (gout), the ids shown. Home and
 * project: exactly caller <-> the workspace user, so files the workspace
 * user creates land on disk as the caller, and nothing else can create
 * files there (DESIGN §5, lib/mounts.h). A rootfs stored with the caller's
 * subordinate ids: those to the workspace's. */
static int carrier(uint32_t uin, uint32_t uout, uint32_t gin, uint32_t gout, uint32_t count)
{
	char path[64], bu[48], bg[48], c = 0;
	int sv[2], fd, lu, lg;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || (pid = fork()) < 0)
		fail(ENC_EXIT_FAILURE, "cannot fork: %m");
	if (pid == 0) {	/* unshare, say so, live until the parent hangs up */
		sock_ok = false;
		close(sv[0]);
		if (unshare(CLONE_NEWUSER) < 0 || write(sv[1], &c, 1) != 1)
			_exit(1);
		(void)!read(sv[1], &c, 1);
		_exit(0);
	}
	close(sv[1]);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	{
		_cleanup_close_ int dir = read(sv[0], &c, 1) == 1 ?
			open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		_cleanup_close_ int m = openat(dir, "uid_map", O_WRONLY | O_CLOEXEC);
		_cleanup_close_ int n = openat(dir, "gid_map", O_WRONLY | O_CLOEXEC);

		lu = snprintf(bu, sizeof(bu), "%u %u %u\n", uin, uout, count);
		lg = snprintf(bg, sizeof(bg), "%u %u %u\n", gin, gout, count);
		fd = openat(dir, "ns/user", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || write(m, bu, (size_t)lu) != lu || write(n, bg, (size_t)lg) != lg)
			fail(ENC_EXIT_FAILURE, "cannot make the carrier namespace: %m");
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return fd;
}

static int clone_idmapped(int dir, int userns, uint64_t attrs, const char *what)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP | attrs, .userns_fd = (uint64_t)userns };
	/* Recursive: a clone of one mount alone would show what the admin
	 * mounted over its subdirectories (the classic bind-mount reveal). The
	 * clone is detached: it is mounted nowhere until the caller attaches
	 * it inside its own mount namespace. open_tree refuses a mount of
	 * another mount namespace, so a caller's private mounts cannot be
	 * laundered through here. */
	int fd = (int)syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			      AT_EMPTY_PATH | AT_RECURSIVE);

	if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE,
			      &a, sizeof(a)) < 0)
		fail(ENC_EXIT_FAILURE, "cannot make an idmapped clone of the %s: %m", what);
	return fd;
}

static void op_mount(void)
{
	struct enc_err e = { 0 };
	_cleanup_close_ int tree = -1, base = -1, carr = -1;
	int userns = rfds[0];
	struct subid su[SUBID_MAX], sg[SUBID_MAX];
	unsigned nu, ng;
	uint32_t hu, hg;
	struct stat st;

	userns_verify(userns, "userns");
	if (req.tree == HTREE_ROOTFS || req.tree == HTREE_BUILD) {
		struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		unsigned i;

		for (i = 0; i < pol.nstores && strcmp(pol.stores[i], req.store); i++)
			;
		if (i == pol.nstores)
			fail(ENC_EXIT_FAILURE, "store %s is not allowed by %s", req.store, HELPER_CONF);
		/* The store path is the admin's, but may lie in a user's tree:
		 * no symlink anywhere in it (a user cannot point it at another
		 * user's files), and beneath it only the validated
		 * SB/gen/ID/rootfs, without symlinks, "..", or mount crossings. */
		/* Resolved as the caller: a store in the caller's own 0700
		 * tree is reachable, and nothing the caller could not reach. */
		as_caller(true);
		base = (int)syscall(SYS_openat2, AT_FDCWD, req.store, &how, sizeof(how));
		if (base < 0)
			fail(ENC_EXIT_FAILURE, "cannot open store %s: %m", req.store);
		tree = enc_openat(base, req.path, O_PATH | O_DIRECTORY, 0, &e);
		as_caller(false);
		check(tree, &e, "rootfs");
		if (fstat(tree, &st) < 0)
			fail(ENC_EXIT_FAILURE, "cannot stat the rootfs: %m");
		if (st.st_uid != 0 || st.st_gid != 0) {
			/* Stored by an ordinary user (lib/unpriv.h): its "/"
			 * is owned by the storage ids' 0. Shown only if those
			 * and the ids they become are all the caller's own
			 * subordinate ids: never root's or another user's
			 * files, never shown as anyone else's. */
			nu = subids("/etc/subuid", ruid, su);
			ng = subids("/etc/subgid", rgid, sg);
			hu = ns_lookup(userns, "uid_map", 0);
			hg = ns_lookup(userns, "gid_map", 0);
			if (!subid_covers(su, nu, st.st_uid, WS_IDS) ||
			    !subid_covers(sg, ng, st.st_gid, WS_IDS))
				fail(ENC_EXIT_FAILURE, "rootfs %s/%s is owned by %u:%u, neither root "
				     "nor %s's subordinate ids", req.store, req.path,
				     (unsigned)st.st_uid, (unsigned)st.st_gid, uname_);
			if (!subid_covers(su, nu, hu, WS_IDS) ||
			    !subid_covers(sg, ng, hg, WS_IDS))
				fail(ENC_EXIT_FAILURE, "the target maps root to ids outside %s's "
				     "subordinate ids", uname_);
			carr = carrier(st.st_uid, hu, st.st_gid, hg, WS_IDS);
		} else if (req.tree == HTREE_BUILD) {
			fail(ENC_EXIT_FAILURE, "build %s/%s is root's: never writable through the "
			     "helper", req.store, req.path);
		}
		/* Read-only: a generation is immutable (DESIGN §6). Writable
		 * only while a build sets it up, and only when all of it is
		 * the caller's own subordinate ids' (checked above): files the
		 * caller could write anyway through newuidmap. */
		ofds[nofds++] = clone_idmapped(tree, carr >= 0 ? carr : userns,
					       (req.tree == HTREE_BUILD ? 0 : MOUNT_ATTR_RDONLY) |
					       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "rootfs");
		logok("idmapped %s %s/%s%s", req.tree == HTREE_BUILD ? "build (writable)" : "rootfs",
		      req.store, req.path, carr >= 0 ? " (stored with subordinate ids)" : "");
		return;
	}
	/* home/project/persist: beneath a directory fd of the caller's own,
	 * resolved as the caller; home and project owned by the caller. */
	if (fstat(rfds[1], &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ruid)
		fail(ENC_EXIT_FAILURE, "base directory is not a directory owned by uid %u",
		     (unsigned)ruid);
	as_caller(true);
	tree = enc_openat(rfds[1], req.path, O_PATH | O_DIRECTORY, 0, &e);
	as_caller(false);
	check(tree, &e, req.tree == HTREE_HOME ? "home" : req.tree == HTREE_PERSIST ? "persist" :
	      "project");
	nu = subids("/etc/subuid", ruid, su);
	ng = subids("/etc/subgid", rgid, sg);
	if (req.tree == HTREE_PERSIST) {
		/* A persistent upper layer: owned on disk by the workspace's
		 * own root, which must be a whole block of the caller's
		 * subordinate ids. A plain clone (overlayfs takes no idmapped
		 * upper), never executable through this mount itself. */
		hu = ns_lookup(userns, "uid_map", 0);
		hg = ns_lookup(userns, "gid_map", 0);
		if (fstat(tree, &st) < 0 || st.st_uid != hu || st.st_gid != hg ||
		    !subid_covers(su, nu, hu, WS_IDS) || !subid_covers(sg, ng, hg, WS_IDS))
			fail(ENC_EXIT_FAILURE, "%s is not owned by the target's root among %s's "
			     "subordinate ids", req.path, uname_);
		ofds[nofds] = (int)syscall(SYS_open_tree, tree, "", OPEN_TREE_CLONE |
					   OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						    MOUNT_ATTR_NOEXEC };
		if (ofds[nofds] < 0 || syscall(SYS_mount_setattr, ofds[nofds], "", AT_EMPTY_PATH |
					       AT_RECURSIVE, &a, sizeof(a)) < 0)
			fail(ENC_EXIT_FAILURE, "cannot clone the persistent layer: %m");
		nofds++;
		logok("cloned persistent layer %s", req.path);
		return;
	}
	if (fstat(tree, &st) < 0 || st.st_uid != ruid)
		fail(ENC_EXIT_FAILURE, "%s is not owned by uid %u", req.path, (unsigned)ruid);
	hu = ns_lookup(userns, "uid_map", req.user);
	hg = ns_lookup(userns, "gid_map", req.group);
	/* Whoever wrote the namespace's maps (we, newuidmap, or the caller for
	 * its own ids), the ids we pair with the caller's must be the caller's
	 * subordinate ones: never another user's. */
	if (!subid_covers(su, nu, hu, 1) || !subid_covers(sg, ng, hg, 1))
		fail(ENC_EXIT_FAILURE, "the target maps user %u to ids outside %s's subordinate ids",
		     req.user, uname_);
	carr = carrier(ruid, hu, rgid, hg, 1);
	ofds[nofds++] = clone_idmapped(tree, carr, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				       req.tree == HTREE_HOME ? "home" : "project");
	logok("idmapped %s %s", req.tree == HTREE_HOME ? "home" : "project", req.path);
}

/* ---- network ------------------------------------------------------------ */

struct netctx {
	struct enc_nl *nl;
};

static void nft_remove(const char *ifname)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

	if (b && enc_nft_build_remove(b, ifname + 2, ifname, NULL) == 0)
		enc_nft_batch_send(b, NULL);
}

/* Pool predicate: other users' slots are never ours to judge. One of the
 * caller's own is gone when its veth is: the veth dies with the
 * workspace's network namespace, which no file can fake. */
static int holder_alive(const struct enc_netpool_holder *h, void *arg)
{
	struct netctx *c = arg;
	char name[ENC_VETH_NAME_SIZE];
	int idx;

	if (h->uid != ruid || enc_veth_name(h->sandbox, h->workspace, h->slot, name) < 0)
		return 1;
	if (enc_nl_link_index(c->nl, name, &idx, NULL, 0, NULL) != -ENODEV)
		return 1;
	nft_remove(name);
	return 0;
}

/* Serialises a watcher's check and reinstall with net-down. */
#define WATCH_LOCK "watch.lock"

static void leave_caller_cgroups(void);

static int pool_dir(void)
{
	int fd;

	(void)mkdir(POOL_DIR, 0755);
	fd = open(POOL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fail(ENC_EXIT_FAILURE, "cannot open %s: %m", POOL_DIR);
	return fd;
}

/* What the caller's monitor cannot do itself (reading the host's rules
 * needs CAP_NET_ADMIN over its namespace): keep this workspace's rules in
 * place while it lives, as the monitor does for root (lib/nftwatch.h). A
 * process of ours, not the caller's (real ids root, its own session, not
 * dumpable), with CAP_NET_ADMIN alone, whose only inputs are the kernel's
 * nftables events and its socket. On that socket, whose other end the
 * reply hands to the caller, it says "restored FOUND EXPECTED" after
 * putting the rules back, or "lost MESSAGE" when it could not, and then
 * deletes the veth first: the workspace is cut off, never unfiltered. It
 * ends when told "stop" or when the caller's end closes, so it neither
 * outlives the workspace's monitor nor puts back rules that net-down is
 * removing (the monitor stops it first). */
ENC_NORETURN static void watcher(int sock, const struct enc_nft_ws *ws)
{
	struct enc_err e = { 0 };
	size_t expected = 0, found = 0;
	struct enc_nl *nl = NULL;
	int ev = -1, r = 0, veth = 0, now = 0, lock = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char msg[700];

	sock_ok = false;
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    dup2(sock, HREQ_FD) < 0 || setsid() < 0)
		_exit(ENC_EXIT_FAILURE);
	close_range(HREQ_FD + 1, ~0U, 0);	/* the request's and reply's fds */
	caps_limit_(CAPBIT(CAP_NET_ADMIN), false);	/* it never executes anything */
	/* The veth it guards, by index: a later one of the same name (this
	 * slot given to someone else after net-down) is never touched. */
	r = enc_nl_open(-1, &nl, &e);
	if (r == 0)
		r = enc_nl_link_index(nl, ws->ifname, &veth, NULL, 0, &e);
	if (r == 0) {
		int dir = pool_dir();

		lock = openat(dir, WATCH_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		close(dir);
		if (lock < 0)
			r = enc_err_sys(&e, -errno, "cannot open %s/%s", POOL_DIR, WATCH_LOCK);
	}
	/* Listening first: a removal between counting and listening is seen. */
	if (r == 0)
		r = enc_nftwatch_open(&ev, &e);
	for (int tries = 0; r == 0 && (enc_nftwatch_rules(ws->id, &expected) < 0 || !expected);
	     tries++)
		r = tries == 3 ? enc_err_set(&e, -EIO, "the rules do not stay installed")
			       : enc_nftwatch_reinstall(ws, &e);
	while (r == 0) {
		struct pollfd p[2] = { { .fd = HREQ_FD, .events = POLLIN }, { .fd = ev, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			r = enc_err_sys(&e, -errno, "poll");
		if (p[0].revents && (recv(HREQ_FD, msg, sizeof(msg), MSG_DONTWAIT) <= 0 ||
				     !strncmp(msg, "stop", 4)))
			_exit(ENC_EXIT_OK);
		if (!p[1].revents || !enc_nftwatch_removal(ev))
			continue;
		/* Serialised with net-down (which holds the lock throughout):
		 * once the veth is gone, the workspace is, and so is the watch. */
		if (flock(lock, LOCK_EX) < 0 ||
		    enc_nl_link_index(nl, ws->ifname, &now, NULL, 0, NULL) < 0 || now != veth)
			_exit(ENC_EXIT_OK);
		r = enc_nftwatch_check(ws, expected, &found, &e);
		if (r == 1) {
			int n = snprintf(msg, sizeof(msg), "restored %zu %zu\n", found, expected);

			send(HREQ_FD, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
			logok("network %s: rules put back (%zu of %zu were left)", ws->ifname,
			      found, expected);
			r = 0;
		}
		flock(lock, LOCK_UN);
	}
	if (nl || enc_nl_open(-1, &nl, NULL) == 0)
		enc_veth_delete(nl, ws->ifname, NULL);
	snprintf(msg, sizeof(msg), "lost the nftables policy of %s could not be put back, its "
		 "veth is deleted: %.500s", ws->ifname, e.msg);
	send(HREQ_FD, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	syslog(LOG_AUTHPRIV | LOG_WARNING, "uid=%u op=net-up: %s", (unsigned)ruid, msg);
	_exit(ENC_EXIT_FAILURE);
}

/* The watcher, and the caller's end of its socket (or -errno). */
static int start_watcher(const struct enc_nft_ws *ws, struct enc_err *e)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return enc_err_sys(e, -errno, "cannot create the watcher's socket");
	pid = fork();
	if (pid == 0)
		watcher(sv[1], ws);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return enc_err_sys(e, -errno, "cannot start the policy watcher");
	}
	return sv[0];
}

static void op_net_up(void)
{
	struct enc_err e = { 0 };
	struct netctx c = { 0 };
	struct stat st, self;
	_cleanup_close_ int dir = pool_dir(), uns = -1;
	struct enc_netpool_req q = { .uid = ruid, .sandbox = req.sandbox,
				     .workspace = req.workspace, .quota = pol.quota.addresses,
				     .alive = holder_alive, .arg = &c };
	struct enc_veth_config vc = { .netns_fd = rfds[0] };
	struct enc_nft_base base;
	struct enc_nft_ws ws;
	char name[ENC_VETH_NAME_SIZE], a4[64], h4[64], a6[64], h6[64];
	unsigned slot;
	int r, fwd, made = 0;

	leave_caller_cgroups();
	/* The netns must be owned by a user namespace of the caller's: the
	 * host's own, or anyone else's, cannot be wired. */
	ns_stat(rfds[0], CLONE_NEWNET, "netns", &st);
	uns = ioctl(rfds[0], NS_GET_USERNS);
	if (uns < 0)
		fail(ENC_EXIT_FAILURE, "netns: cannot get its owner");
	userns_verify(uns, "netns owner");
	if (stat("/proc/self/ns/net", &self) == 0 && self.st_ino == st.st_ino)
		fail(ENC_EXIT_FAILURE, "netns: the host's own network namespace");
	if (pol.quota.addresses == 0)
		fail(ENC_EXIT_FAILURE, "%s gives %s no addresses", HELPER_CONF, uname_);
	check(enc_nl_open(-1, &c.nl, &e), &e, "netlink");
	r = enc_netpool_alloc(dir, &q, &slot, &e);
	if (r == -EDQUOT)
		fail(ENC_EXIT_FAILURE, "quota exceeded: %s may hold %u addresses (%s)",
		     uname_, pol.quota.addresses, HELPER_CONF);
	check(r, &e, "address pool");
	/* From here on a failure must give the slot back. */
	r = enc_veth_name(req.sandbox, req.workspace, slot, name);
	if (r == 0)
		r = enc_netpool_addrs(slot, &vc.addrs);
	vc.host = name;
	enc_nft_base_init(&base);
	enc_nft_ws_init(&ws);
	snprintf(ws.id, sizeof(ws.id), "%s", name + 2);
	snprintf(ws.ifname, sizeof(ws.ifname), "%s", name);
	ws.addr4 = vc.addrs.ws4;
	ws.addr6 = vc.addrs.ws6;
	ws.mode = req.mode;
	ws.allow = req.allow;
	ws.n_allow = req.nallow;
	ws.log_allowed = req.log_allowed;
	ws.log_group = enc_nflog_group(slot);
	/* Rules first (they match the name, which need not exist yet), the
	 * veth after: however the run ends, no veth is ever up without its
	 * policy (fail closed, DESIGN §15.3). The fixed template, with
	 * validated parameters only. */
	if (r == 0) {
		_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

		r = b ? enc_nft_build_add(b, &base, &ws, &e) : -ENOMEM;
		if (r == 0)
			r = enc_nft_batch_send(b, &e);
	}
	if (r == 0)
		r = made = enc_veth_setup(c.nl, &vc, &e) == 0 ? 1 : -EIO;
	/* IPv4 forwarding is host-wide; allowed and nat traffic needs it. */
	fwd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (r > 0 && (fwd < 0 || write(fwd, "1\n", 2) != 2))
		r = enc_err_set(&e, -EIO, "cannot enable IPv4 forwarding");
	if (fwd >= 0)
		close(fwd);
	if (r > 0)	/* NFLOG: binding needs CAP_NET_ADMIN, reading does not */
		r = ofds[nofds++] = enc_nflog_bind(-1, ws.log_group, &e);
	if (r >= 0)
		r = ofds[nofds++] = start_watcher(&ws, &e);
	if (r < 0) {
		nofds = 0;
		if (made > 0)	/* an existing veth of that name is not ours */
			enc_veth_delete(c.nl, name, NULL);
		nft_remove(name);
		enc_netpool_release(dir, slot, ruid, req.sandbox, req.workspace, NULL);
		check(r, &e, "network");
	}
	enc_format_ip(&vc.addrs.ws4, a4, sizeof(a4));
	enc_format_ip(&vc.addrs.host4, h4, sizeof(h4));
	enc_format_ip(&vc.addrs.ws6, a6, sizeof(a6));
	enc_format_ip(&vc.addrs.host6, h6, sizeof(h6));
	reply_add("slot=%u\nifname=%s\nid=%s\ngroup=%u\naddr4=%s\nhost4=%s\naddr6=%s\nhost6=%s\n",
		  slot, name, ws.id, ws.log_group, a4, h4, a6, h6);
	enc_nl_close(c.nl);
	logok("network %s/%s slot %u %s mode %s, %u allow rules", req.sandbox, req.workspace,
	      slot, name, req.mode == ENC_NET_NAT ? "nat" : "deny", req.nallow);
}

static void op_net_down(void)
{
	struct enc_err e = { 0 };
	_cleanup_close_ int dir = pool_dir();
	/* Held to the end: no watcher puts rules back in between (watcher()). */
	_cleanup_close_ int lock = openat(dir, WATCH_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW |
					  O_CLOEXEC, 0600);
	struct enc_nl *nl = NULL;
	char name[ENC_VETH_NAME_SIZE];
	unsigned slot;
	int r;

	leave_caller_cgroups();
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		fail(ENC_EXIT_FAILURE, "cannot lock %s/%s: %m", POOL_DIR, WATCH_LOCK);
	r = enc_netpool_find(dir, ruid, req.sandbox, req.workspace, &slot, &e);

	if (r == -ENOENT) {	/* idempotent: nothing held, nothing to do */
		logok("network %s/%s: no slot held", req.sandbox, req.workspace);
		return;
	}
	check(r, &e, "address pool");
	check(enc_veth_name(req.sandbox, req.workspace, slot, name), NULL, "veth name");
	check(enc_nl_open(-1, &nl, &e), &e, "netlink");
	check(enc_veth_delete(nl, name, &e), &e, "network");
	nft_remove(name);
	{
		_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();

		/* The shared table goes with the last workspace (-EBUSY: not yet). */
		if (b && enc_nft_build_remove_table(b, NULL) == 0)
			enc_nft_batch_send(b, NULL);
	}
	check(enc_netpool_release(dir, slot, ruid, req.sandbox, req.workspace, &e), &e,
	      "address pool");
	enc_nl_close(nl);
	logok("network %s/%s slot %u released", req.sandbox, req.workspace, slot);
}

/* ---- cgroups ------------------------------------------------------------ */

struct hier {
	int fd;		/* the hierarchy's root */
	bool v2;
	char path[256], opts[128];
};

/* Does hierarchy h carry controller c (v1: mount option; v2: listed)? */
static bool has_ctrl(const struct hier *h, const char *c)
{
	char buf[512], w[32];
	int off = 0, n;

	if (!h->v2) {
		snprintf(buf, sizeof(buf), ",%s,", h->opts);
		snprintf(w, sizeof(w), ",%s,", c);
		return strstr(buf, w);
	}
	{
		_cleanup_close_ int fd = openat(h->fd, "cgroup.controllers", O_RDONLY | O_CLOEXEC);
		ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		buf[r > 0 ? r : 0] = '\0';
	}
	while (sscanf(buf + off, "%31s%n", w, &n) == 1) {
		if (!strcmp(w, c))
			return true;
		off += n;
	}
	return false;
}

static unsigned hierarchies(struct hier *h, unsigned max)
{
	static char buf[1 << 20];
	unsigned n = 0;

	/* mountinfo of our own mount namespace: a setuid program is never
	 * run with privilege from inside a namespace the caller built. */
	read_file("/proc/self/mountinfo", buf, sizeof(buf));
	for (char *l = buf, *nl; l && n < max; l = nl) {
		char root[8], mp[256], type[16], opts[128], *sep;
		struct statfs sf;

		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		sep = strstr(l, " - ");
		if (!sep || sscanf(l, "%*u %*u %*s %7s %255s", root, mp) != 2 ||
		    sscanf(sep, " - %15s %*s %127s", type, opts) != 2 ||
		    strcmp(root, "/") || strchr(mp, '\\'))
			continue;
		h[n].v2 = !strcmp(type, "cgroup2");
		snprintf(h[n].opts, sizeof(h[n].opts), "%s", opts);
		if (!h[n].v2 && (strcmp(type, "cgroup") || !(has_ctrl(&h[n], "memory") ||
		    has_ctrl(&h[n], "pids") || has_ctrl(&h[n], "cpu") ||
		    has_ctrl(&h[n], "cpuacct") || has_ctrl(&h[n], "freezer"))))
			continue;
		h[n].fd = open(mp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (h[n].fd < 0 || fstatfs(h[n].fd, &sf) < 0 ||
		    sf.f_type != (h[n].v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC)) {
			if (h[n].fd >= 0)
				close(h[n].fd);
			continue;
		}
		snprintf(h[n].path, sizeof(h[n].path), "%s", mp);
		n++;
	}
	if (n == 0)
		fail(ENC_EXIT_FAILURE, "no cgroup hierarchy is mounted");
	return n;
}

static int put(int dir, const char *file, const char *fmt, ...) ENC_PRINTF(3, 4);

/* Out of the caller's cgroups, into each hierarchy's root: the caller
 * was delegated its subtree, and on cgroup v2 a delegate moves, freezes
 * and kills any process in it whatever its ids. Not us, while we hold the
 * address pool's lock, nor the policy watcher. */
static void leave_caller_cgroups(void)
{
	struct hier h[16];
	unsigned n = hierarchies(h, ENC_ARRAY_SIZE(h));

	for (unsigned i = 0; i < n; i++) {
		if (put(h[i].fd, "cgroup.procs", "0") < 0)
			fail(ENC_EXIT_FAILURE, "cannot leave the caller's cgroup in %s: %m",
			     h[i].path);
		close(h[i].fd);
	}
}

static int put(int dir, const char *file, const char *fmt, ...)
{
	_cleanup_close_ int fd = openat(dir, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return fd >= 0 && write(fd, buf, (size_t)n) == n ? 0 : -1;
}

static void op_cgroup(void)
{
	struct hier h[ENC_CGROUP_HIER_MAX];
	unsigned n = hierarchies(h, ENC_ARRAY_SIZE(h));
	int pid = 0;
	_cleanup_close_ int target = nrfds ? pidfd_verify(rfds[0], &pid) : -1;
	char name[32];

	snprintf(name, sizeof(name), "user-%u", (unsigned)ruid);
	for (unsigned i = 0; i < n; i++) {
		_cleanup_close_ int parent = -1, dir = -1;
		const struct pol_quota *q = &pol.quota;

		if (req.op == HOP_CGROUP_DEL) {
			parent = openat(h[i].fd, ENC_CGROUP_PARENT, O_RDONLY | O_DIRECTORY |
					O_NOFOLLOW | O_CLOEXEC);
			/* rmdir of a cgroup only succeeds when it is empty */
			if (parent >= 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				fail(ENC_EXIT_FAILURE, "cannot remove %s/%s/%s: %m", h[i].path,
				     ENC_CGROUP_PARENT, name);
			continue;
		}
		/* Only enclave's own parent and the user's directory are made;
		 * the limits and the parent stay root's, so the user cannot
		 * raise them; the user gets the files that delegate (cgroup v2
		 * delegation model, Documentation/admin-guide/cgroup-v2.rst). */
		(void)mkdirat(h[i].fd, ENC_CGROUP_PARENT, 0755);
		parent = openat(h[i].fd, ENC_CGROUP_PARENT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* The user must be able to reach its own directory; cgroupfs
		 * is world-readable anyway, so r-x on the parent shows nothing
		 * that /proc/PID/cgroup does not. */
		if (parent < 0 || fchmod(parent, 0755) < 0)
			fail(ENC_EXIT_FAILURE, "cannot open %s/%s: %m", h[i].path, ENC_CGROUP_PARENT);
		(void)mkdirat(parent, name, 0755);
		dir = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir < 0)
			fail(ENC_EXIT_FAILURE, "cannot create %s/%s/%s: %m", h[i].path,
			     ENC_CGROUP_PARENT, name);
		if (h[i].v2) {
			if (q->memory && has_ctrl(&h[i], "memory"))
				if (put(h[i].fd, "cgroup.subtree_control", "+memory") ||
				    put(parent, "cgroup.subtree_control", "+memory") ||
				    put(dir, "memory.max", "%llu", (unsigned long long)q->memory))
					fail(ENC_EXIT_FAILURE, "cannot limit memory in %s: %m", h[i].path);
			if (q->pids && has_ctrl(&h[i], "pids"))
				if (put(h[i].fd, "cgroup.subtree_control", "+pids") ||
				    put(parent, "cgroup.subtree_control", "+pids") ||
				    put(dir, "pids.max", "%u", q->pids))
					fail(ENC_EXIT_FAILURE, "cannot limit pids in %s: %m", h[i].path);
			if (q->workspaces && put(dir, "cgroup.max.descendants", "%u", q->workspaces))
				fail(ENC_EXIT_FAILURE, "cannot limit cgroups in %s: %m", h[i].path);
		} else {
			if (q->memory && has_ctrl(&h[i], "memory") &&
			    put(dir, "memory.limit_in_bytes", "%llu", (unsigned long long)q->memory))
				fail(ENC_EXIT_FAILURE, "cannot limit memory in %s: %m", h[i].path);
			if (q->pids && has_ctrl(&h[i], "pids") && put(dir, "pids.max", "%u", q->pids))
				fail(ENC_EXIT_FAILURE, "cannot limit pids in %s: %m", h[i].path);
		}
		struct stat ds;
		if (fstat(dir, &ds) < 0)
			fail(ENC_EXIT_FAILURE, "cannot stat %s: %m", name);
		/* Already delegated (nobody but us makes user-UID beneath our
		 * root-owned parent): the limits above are refreshed, the
		 * ownership stands; another workspace of the user may be
		 * running in it. */
		if (ds.st_uid != ruid) {
			static const char *const own2[] = { "cgroup.procs", "cgroup.subtree_control",
							     "cgroup.threads" };
			static const char *const own1[] = { "cgroup.procs", "tasks" };
			const char *const *own = h[i].v2 ? own2 : own1;
			unsigned no = h[i].v2 ? 3 : 2;

			for (unsigned k = 0; k < no; k++)
				if (fchownat(dir, own[k], ruid, rgid, AT_SYMLINK_NOFOLLOW) < 0)
					fail(ENC_EXIT_FAILURE, "cannot chown %s/%s: %m", name, own[k]);
			/* The directory last: once it is the user's, our euid 0
			 * without CAP_DAC_OVERRIDE is just "others" there. */
			if (fchmod(dir, 0755) < 0 || fchown(dir, ruid, rgid) < 0)
				fail(ENC_EXIT_FAILURE, "cannot chown %s: %m", name);
		}
		/* Moving in needs write access to the common ancestor on v2,
		 * which the user lacks; the pid was verified as the caller's
		 * (pid reuse in between needs the pid space to wrap). */
		if (pid > 0 && put(dir, "cgroup.procs", "%d", pid))
			fail(ENC_EXIT_FAILURE, "cannot move process %d into %s: %m", pid, name);
		reply_add("path=%s/%s/%s\n", h[i].path, ENC_CGROUP_PARENT, name);
	}
	logok("cgroup %s %s", name, req.op == HOP_CGROUP_DEL ? "removed" : "delegated");
}

/* ---- request, policy, main ---------------------------------------------- */

static void load_policy(void)
{
	static char buf[POL_MAX + 1];
	_cleanup_close_ int fd = open(HELPER_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), dir = -1;
	char dpath[sizeof(HELPER_CONF)], *slash;
	struct enc_err e = { 0 };
	struct stat st;
	ssize_t n;
	bool ok = false;

	if (fd < 0)
		fail(ENC_EXIT_USAGE, "policy %s: %m: refusing everything", HELPER_CONF);
	/* Trust it only if root alone could have written it, file and dir. */
	memcpy(dpath, HELPER_CONF, sizeof(dpath));
	slash = strrchr(dpath, '/');
	*slash = '\0';
	dir = open(dpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		fail(ENC_EXIT_USAGE, "policy %s: not a regular file owned by root: refusing", HELPER_CONF);
	if (st.st_mode & 022)
		fail(ENC_EXIT_USAGE, "policy %s: writable by group or others (mode %04o): refusing",
		     HELPER_CONF, (unsigned)st.st_mode & 07777);
	if (fstat(dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
		fail(ENC_EXIT_USAGE, "policy %s: directory %s is not root's alone: refusing",
		     HELPER_CONF, dpath);
	n = read(fd, buf, sizeof(buf));
	if (n < 0 || n > POL_MAX)
		fail(ENC_EXIT_USAGE, "policy %s: unreadable or larger than %d bytes", HELPER_CONF, POL_MAX);
	if (policy_parse(buf, (size_t)n, HELPER_CONF, uname_, &pol, &e) < 0)
		fail(ENC_EXIT_USAGE, "policy %s", e.msg);
	for (unsigned i = 0; i < pol.nusers; i++)
		ok |= !strcmp(pol.users[i], uname_);
	for (unsigned i = 0; i < pol.ngroups && !ok; i++) {
		struct group *g = getgrnam(pol.groups[i]);
		gid_t l[256];
		int k = getgroups(256, l);

		for (int j = 0; g && j < k; j++)
			ok |= l[j] == g->gr_gid;
		ok |= g && g->gr_gid == rgid;
	}
	if (!ok)
		fail(ENC_EXIT_FAILURE, "user %s is not allowed by %s", uname_, HELPER_CONF);
}

static void read_request(void)
{
	char buf[HREQ_MAX + 1], cbuf[CMSG_SPACE(sizeof(int) * HREQ_FDS_MAX)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct enc_err e = { 0 };
	int type = 0, dom = 0;
	socklen_t sl = sizeof(type), dl = sizeof(dom);
	ssize_t n;

	if (getsockopt(HREQ_FD, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(HREQ_FD, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 || dom != AF_UNIX)
		fail(ENC_EXIT_USAGE, "fd 3 is not a SOCK_SEQPACKET socket (see enclave-helper(8))");
	sock_ok = true;
	n = recvmsg(HREQ_FD, &m, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			fail(ENC_EXIT_USAGE, "request: unexpected control message");
		for (size_t i = 0; i < k; i++) {
			if (nrfds == HREQ_FDS_MAX)
				fail(ENC_EXIT_USAGE, "request: too many fds");
			memcpy(&rfds[nrfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
	}
	if (n < 0)
		fail(ENC_EXIT_USAGE, "cannot read the request: %m");
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n > HREQ_MAX)
		fail(ENC_EXIT_USAGE, "request too large (at most %d bytes, %d fds)", HREQ_MAX,
		     HREQ_FDS_MAX);
	if (hreq_decode(buf, (size_t)n, &req, &e) < 0)
		fail(ENC_EXIT_USAGE, "%s", e.msg);
	if ((unsigned)nrfds < req.nfds_min || (unsigned)nrfds > req.nfds_max)
		fail(ENC_EXIT_USAGE, "request: %s takes %u..%u fds, got %d", hreq_op_str(req.op),
		     req.nfds_min, req.nfds_max, nrfds);
	/* One request per run: a second one queued is an error, not a queue. */
	if (recv(HREQ_FD, buf, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		fail(ENC_EXIT_USAGE, "request: more than one request");
}

static void send_reply(void)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HREQ_FDS_MAX)] = { 0 };
	struct iovec iov = { reply, strlen(reply) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nofds) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nofds);
		c = CMSG_FIRSTHDR(&m);
		if (!c)
			fail(ENC_EXIT_FAILURE, "no room for the reply's fds");
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nofds);
		memcpy(CMSG_DATA(c), ofds, sizeof(int) * (size_t)nofds);
	}
	if (sendmsg(HREQ_FD, &m, MSG_NOSIGNAL) < 0)
		fail(ENC_EXIT_FAILURE, "cannot send the reply: %m");
}

int main(int argc, char **argv)
{
	static const uint64_t op_caps[] = {
		/* SYS_PTRACE: to open ns/user of the caller's verified process,
		 * which sits in a namespace our euid 0 does not own. */
		[HOP_UIDMAP] = CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SYS_ADMIN) |
			       CAPBIT(CAP_SYS_PTRACE),
		/* SYS_PTRACE: /proc of our own carrier child, whose real uid
		 * is the caller's. */
		[HOP_MOUNT] = CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SYS_ADMIN) |
			      CAPBIT(CAP_SYS_PTRACE),
		[HOP_NET_UP] = CAPBIT(CAP_NET_ADMIN) | CAPBIT(CAP_SYS_ADMIN),
		[HOP_NET_DOWN] = CAPBIT(CAP_NET_ADMIN) | CAPBIT(CAP_SYS_ADMIN),
		/* DAC_OVERRIDE: cgroup roots are r-x even for root; only the
		 * fixed names "enclave" and "user-UID" are made there. */
		[HOP_CGROUP_ADD] = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE),
		[HOP_CGROUP_DEL] = 0,
	};
	uint64_t all = 0;
	struct passwd *pw;

	/* Nothing of the caller's environment is used: not for a path, not
	 * for a locale. ld.so already ignored LD_* for a setuid program. */
	clearenv();
	umask(022);	/* what we create is root's or given away on purpose */
	/* 0-2 open (to /dev/null if the caller closed them) so no file we
	 * open later becomes "stderr" and receives messages. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(ENC_EXIT_FAILURE);
	signal(SIGPIPE, SIG_IGN);
	ruid = getuid();
	rgid = getgid();
	openlog("enclave-helper", LOG_PID, LOG_AUTHPRIV);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("enclave-helper %s\n", ENCLAVE_VERSION);
		return 0;
	}
	if (argc != 1)
		fail(ENC_EXIT_USAGE, "takes no arguments: it is run by the enclave tools, "
		     "see enclave-helper(8)");
	if (geteuid() != 0)
		fail(ENC_EXIT_FAILURE, "not installed setuid root");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(ENC_EXIT_FAILURE, "cannot harden the process: %m");
	for (unsigned i = 0; i < ENC_ARRAY_SIZE(op_caps); i++)
		all |= op_caps[i];
	caps_limit(all | CAPBIT(CAP_SETPCAP));
	/* Real and saved ids root too: the caller may signal a process whose
	 * real uid is its own, and a SIGSTOP or SIGKILL between two steps
	 * (pool lock held, veth made) is not for the caller to choose; nor
	 * is a CPU or file size limit that kills us half-way. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		fail(ENC_EXIT_FAILURE, "cannot take the process over: %m");
	for (int i = 0; i < 2; i++) {
		struct rlimit rl;
		int res = i ? RLIMIT_FSIZE : RLIMIT_CPU;

		if (getrlimit(res, &rl) < 0 || rl.rlim_max != RLIM_INFINITY)
			fail(ENC_EXIT_USAGE, "refusing to run under a CPU time or file size limit");
		rl.rlim_cur = RLIM_INFINITY;
		if (setrlimit(res, &rl) < 0)
			fail(ENC_EXIT_FAILURE, "cannot lift a resource limit: %m");
	}
	if (ruid == 0)
		fail(ENC_EXIT_USAGE, "root does not need enclave-helper");
	pw = getpwuid(ruid);
	if (!pw || strlen(pw->pw_name) > POL_NAME_MAX)
		fail(ENC_EXIT_FAILURE, "uid %u has no usable user name", (unsigned)ruid);
	memcpy(uname_, pw->pw_name, strlen(pw->pw_name) + 1);
	read_request();
	caps_limit(op_caps[req.op]);	/* now only what this operation needs */
	load_policy();
	switch (req.op) {
	case HOP_UIDMAP: op_uidmap(); break;
	case HOP_MOUNT: op_mount(); break;
	case HOP_NET_UP: op_net_up(); break;
	case HOP_NET_DOWN: op_net_down(); break;
	case HOP_CGROUP_ADD:
	case HOP_CGROUP_DEL: op_cgroup(); break;
	case HOP_NONE: fail(ENC_EXIT_USAGE, "no operation");
	}
	send_reply();
	return ENC_EXIT_OK;
}
