/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-mounts.c - the workspace root filesystem (lib/mounts.c).
 *
 * Without privileges: the spec checker and argument checks. As root: real
 * workspaces. The test builds a tiny rootfs, a project dir and state dirs
 * in a temp dir, creates a user namespace mapping 0..65535 onto BASE.., and
 * for each run forks a child that joins it, unshares mount, PID, UTS, IPC
 * (and network) namespaces and forks again; the grandchild is PID 1, builds
 * the root, checks from inside and reports each result over a pipe. The
 * parent then checks the host side: ownership of created files, the rootfs
 * untouched, no mount left in its own namespace.
 *
 * Not root: the root part is skipped, or fails with ENCLAVE_MUST_WORK=1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "tap.h"

#define BASE 3000000000u	/* host ids of the test's namespace */
#define OWNER_UID 4242u		/* "invoking user" owning the project */
#define OWNER_GID 4343u

static char T[64];		/* the temp dir */
static bool host_kcore, host_sysrq;	/* what the host kernel has */

/* ------------------------------------------------------------------ */
/* small helpers */

static void mkfile(const char *path, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("# cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
	if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
		exit(1);
}

static void mkdir_own(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if ((mkdir(path, mode) < 0 && errno != EEXIST) || chown(path, uid, gid) < 0 ||
	    chmod(path, mode) < 0) {
		printf("# cannot mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tpath(const char *fmt, ...)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	int n = snprintf(b, 512, "%s/", T);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, 512 - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

/* Strings the specs keep, freed at exit. */
static char *pool[128];
static size_t npool;

static const char *keep(const char *str)
{
	if (npool == ENC_ARRAY_SIZE(pool))
		exit(1);
	return pool[npool++] = strdup(str);
}

static void pool_free(void)
{
	while (npool)
		free(pool[--npool]);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, off = 0;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - (size_t)off)) > 0)
		off += n;
	close(fd);
	buf[off] = '\0';
	return buf;
}

/* A listing of a tree (path, type, mode, owner, size, mtime) to compare
 * before and after. */
static void snapshot(const char *dir, const char *rel, char **out, size_t *len)
{
	char path[2200];
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		char sub[1024], line[2400];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, sub);
		if (lstat(path, &st) < 0)
			continue;
		int n = snprintf(line, sizeof(line), "%s %o %u:%u %lld %lld.%09ld\n", sub,
				 st.st_mode, st.st_uid, st.st_gid, (long long)st.st_size,
				 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		*out = realloc(*out, *len + (size_t)n + 1);
		memcpy(*out + *len, line, (size_t)n + 1);
		*len += (size_t)n;
		if (S_ISDIR(st.st_mode))
			snapshot(dir, sub, out, len);
	}
	closedir(d);
}

static char *tree_listing(const char *dir)
{
	char *out = calloc(1, 1);
	size_t len = 0;

	snapshot(dir, "", &out, &len);
	return out;
}

static char *host_mountinfo(void)
{
	return strdup(slurp("/proc/self/mountinfo"));
}

/* ------------------------------------------------------------------ */
/* inside the workspace: results go to the parent over a pipe */

static int rep_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(rep_fd, line, (size_t)n) < 0)
		_exit(3);
}

/* "R <pass> <name>\t<diagnostic>" */
#define CHECK(cond, name, ...)                                                  \
	do {                                                                   \
		char d_[512];                                                  \
		snprintf(d_, sizeof(d_), __VA_ARGS__);                         \
		say("R %d %s\t%s", (cond) ? 1 : 0, name, d_);                  \
	} while (0)
#define CHECK_INT(got, want, name)                                             \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		CHECK(g_ == w_, name, "got %lld, want %lld", g_, w_);          \
	} while (0)
#define CHECK_STR(got, want, name)                                             \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		CHECK(g_ && strcmp(g_, w_) == 0, name, "got '%s', want '%s'", \
		      g_ ? g_ : "(null)", w_);                                 \
	} while (0)

/* 0 or the errno of open(path, flags). */
static int open_err(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* 0 or errno of creating path and writing to it. */
static int create_err(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	int r = write(fd, "x", 1) == 1 ? 0 : errno;
	close(fd);
	return r;
}

/* 0 or errno of creating path as the workspace user (uid/gid 1000). */
static int create_as_user(const char *path)
{
	setfsgid(1000);
	setfsuid(1000);
	int r = create_err(path);
	setfsuid(0);
	setfsgid(0);
	return r;
}

static long long size_read(const char *path)
{
	char buf[4096];
	long long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -errno : total;
}

static long long uid_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -errno : (long long)st.st_uid;
}

static long long gid_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -errno : (long long)st.st_gid;
}

static long long mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -errno : (long long)(st.st_mode & 07777);
}

/* Sorted, space-separated names in a directory (digits only if pids). */
static char *list_dir(const char *path, bool pids)
{
	static char out[4096];
	char *names[256];
	size_t n = 0;
	DIR *d = opendir(path);

	out[0] = '\0';
	if (!d)
		return strerror(errno);
	for (struct dirent *e; (e = readdir(d)) && n < 256;) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (pids && strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *x = names[i];
				names[i] = names[j];
				names[j] = x;
			}
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

/* Every mount point inside is one enclave made: "/", under /proc, /dev or
 * /sys, /tmp, /run, the home and the project (and what is under it). */
static void check_mountinfo(const char *home, const char *proj)
{
	char *mi = slurp("/proc/self/mountinfo");
	int count = 0, bad = 0;
	char first_bad[256] = "";

	for (char *line = mi, *next; line && *line; line = next) {
		char mp[512];
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1)
			continue;
		count++;
		bool okp = !strcmp(mp, "/") || !strncmp(mp, "/proc/", 6) || !strcmp(mp, "/proc") ||
			   !strncmp(mp, "/dev/", 5) || !strcmp(mp, "/dev") ||
			   !strncmp(mp, "/sys/", 5) || !strcmp(mp, "/sys") ||
			   !strcmp(mp, "/tmp") || !strcmp(mp, "/run") ||
			   (home && !strcmp(mp, home)) ||
			   (proj && !strncmp(mp, proj, strlen(proj)));
		if (!okp && !bad++)
			snprintf(first_bad, sizeof(first_bad), "%s", line);
	}
	CHECK(bad == 0 && count > 0, "mountinfo inside lists only enclave's own mounts",
	      "%d of %d foreign, first: %s", bad, count, first_bad);
}

/* Checks common to every mode. */
static void check_common(void)
{
	CHECK_INT(getpid(), 1, "the workspace's first process is PID 1");
	CHECK_INT(uid_of("/etc/passwd"), 0, "rootfs file owned by root on disk is uid 0 inside");
	CHECK_INT(gid_of("/etc/passwd"), 0, "... and gid 0");
	CHECK_INT(uid_of("/srv/owned"), 1000, "rootfs file owned by 1000 on disk is 1000 inside");
	CHECK_INT(mode_of("/"), 0755, "/ keeps the rootfs root's mode");
	CHECK_INT(uid_of("/"), 0, "/ is owned by root inside");
	CHECK_STR(list_dir("/proc", true), "1", "/proc shows only the workspace's own PIDs");
	CHECK_STR(list_dir("/dev", false),
		  "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero",
		  "/dev has exactly the expected entries");
	CHECK_INT(open_err("/dev/vda", O_RDONLY), ENOENT, "host block device /dev/vda absent");
	CHECK_INT(open_err("/dev/sda", O_RDONLY), ENOENT, "host block device /dev/sda absent");
	CHECK_INT(open_err("/srv/blk", O_RDONLY), EACCES,
		  "a block device node planted in the rootfs cannot be opened (nodev)");
	CHECK_INT(open_err("/dev/null", O_WRONLY), 0, "/dev/null is writable");
	int ptmx = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(ptmx >= 0, "/dev/ptmx opens a pty of the new devpts", "%s", strerror(errno));
	CHECK_STR(list_dir("/dev/pts", false), "0 ptmx", "devpts is a new instance (only our pty)");
	if (ptmx >= 0)
		close(ptmx);
	CHECK_INT(mode_of("/dev/shm"), 01777, "/dev/shm is 1777");
	CHECK_INT(create_as_user("/dev/shm/u"), 0, "/dev/shm is writable by the workspace user");
	CHECK_INT(mode_of("/tmp"), 01777, "/tmp is a 1777 tmpfs");
	CHECK_INT(create_as_user("/tmp/u"), 0, "/tmp is writable by the workspace user");
	/* Kernels without CONFIG_PROC_KCORE / CONFIG_MAGIC_SYSRQ (this
	 * test's Firecracker VM) have no such files: absent is fine, present
	 * must be masked. The host's /proc decides which to expect. */
	if (host_kcore) {
		CHECK_INT(size_read("/proc/kcore"), 0,
			  "/proc/kcore is masked: reads 0 bytes as root inside");
		CHECK_INT(open_err("/proc/kcore", O_WRONLY), EROFS, "/proc/kcore mask is read-only");
	} else {
		CHECK_INT(size_read("/proc/kcore"), -ENOENT,
			  "/proc/kcore absent inside as on the host (no CONFIG_PROC_KCORE)");
	}
	CHECK_INT(size_read("/proc/kallsyms"), 0, "/proc/kallsyms is masked (no symbol list)");
	CHECK_INT(size_read("/proc/keys"), 0, "/proc/keys is masked");
	CHECK_INT(size_read("/proc/timer_list"), 0, "/proc/timer_list is masked");
	CHECK_INT(open_err("/proc/sysrq-trigger", O_WRONLY), host_sysrq ? EROFS : ENOENT,
		  "/proc/sysrq-trigger cannot be written");
	CHECK_STR(list_dir("/proc/acpi", false), "", "/proc/acpi is masked by an empty dir");
	CHECK_INT(open_err("/proc/sys/net/ipv4/ip_forward", O_WRONLY), EROFS,
		  "/proc/sys is read-only even for the netns root's own sysctls");
	CHECK_INT(mkdir("/sys/enclave-test", 0755) < 0 ? errno : 0, EROFS,
		  "/sys is read-only (mkdir)");
	CHECK_STR(list_dir("/sys/firmware", false), "", "/sys/firmware is masked");
	CHECK_INT(access(T, F_OK) < 0 ? errno : 0, ENOENT,
		  "the old root is gone: the host temp dir is unreachable");
	CHECK_INT(access("/mnt/sandboxing", F_OK) < 0 ? errno : 0, ENOENT,
		  "the old root is gone: a host-only mount point is unreachable");
}

static void check_project(void)
{
	CHECK_INT(uid_of("/work/proj/src/main.c"), 1000,
		  "project file owned by the invoking user is the workspace user's inside");
	CHECK_INT(uid_of("/work/proj/rootowned"), 65534,
		  "project file owned by host root shows as the overflow uid");
	CHECK_INT(create_as_user("/work/proj/src/new.c"), 0,
		  "the workspace user can create in the project dir");
	CHECK_INT(create_err("/work/proj/src/by-root"), EOVERFLOW,
		  "root inside cannot create files in the project dir (no host id)");
	CHECK_INT(size_read("/work/proj/.env"), 0, ".env is hidden (reads 0 bytes)");
	CHECK_INT(size_read("/work/proj/.env.local"), 0, ".env.local is hidden");
	CHECK_INT(size_read("/work/proj/sub/.env"), 0, "sub/.env is hidden (every level)");
	CHECK_INT(size_read("/work/proj/sub/deeper/.env.production"), 0,
		  "sub/deeper/.env.production is hidden");
	CHECK_INT(size_read("/work/proj/data/real"), 0,
		  "the target of a hidden symlink (.env.ln -> data/real) is hidden");
	CHECK_STR(slurp("/work/proj/config.env"), "ok=1\n", "config.env is untouched");
	CHECK_STR(slurp("/work/proj/node_modules/pkg/.env"), "PKG=1\n",
		  "node_modules is pruned from the walk by default (documented)");
	CHECK_INT(open_err("/work/proj/.env", O_WRONLY), EROFS, "a hidden file cannot be written");
	CHECK_INT(create_as_user("/work/proj/.git/hooks/post-checkout"), EROFS,
		  "protected .git/hooks is read-only (hook planting)");
	CHECK_INT(open_err("/work/proj/.git/config", O_WRONLY), EROFS,
		  "protected .git/config is read-only");
	CHECK_STR(slurp("/work/proj/.git/config"), "[core]\n", "protected file still readable");
	check_mountinfo("/home/dev", "/work/proj");
}

/* hidepid=invisible: a process of the workspace user lists only itself,
 * not root's PID 1. */
static void check_hidepid(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		char want[16];

		if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 ||
		    setresuid(1000, 1000, 1000) < 0)
			_exit(1);
		snprintf(want, sizeof(want), "%d", (int)getpid());
		CHECK_STR(list_dir("/proc", true), want,
			  "hidepid: the workspace user sees only its own process, not root's");
		CHECK_INT(access("/proc/1/cmdline", F_OK) < 0 ? errno : 0, ENOENT,
			  "hidepid: /proc/1 is invisible to the workspace user");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* The mount table inside, for the log. */
static void dump_mounts(void)
{
	char *mi = slurp("/proc/self/mountinfo");

	for (char *line = mi, *next; line && *line; line = next) {
		char mp[256], opts[256], type[64], src[128];
		char *dash;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s %255s", mp, opts) != 2 ||
		    sscanf(dash + 3, "%63s %127s", type, src) != 2)
			continue;
		say("D   %-32s %-9s %s", mp, type, opts);
	}
}

static void inside_tmp(void)
{
	dump_mounts();
	check_common();
	check_hidepid();
	CHECK_INT(create_err("/etc/newfile"), 0, "tmp: / is writable");
	CHECK_INT(create_as_user("/home/dev/hfile"), 0, "the workspace user writes its home");
	CHECK_INT(mode_of("/run"), 0755, "/run is a 0755 tmpfs");
	check_project();
}

static void inside_readonly(void)
{
	CHECK_INT(getpid(), 1, "readonly: PID 1");
	CHECK_INT(uid_of("/etc/passwd"), 0, "readonly: rootfs ownership as root");
	CHECK_INT(create_err("/etc/newfile"), EROFS, "readonly: writing /etc fails with EROFS");
	CHECK_INT(mkdir("/newdir", 0755) < 0 ? errno : 0, EROFS, "readonly: mkdir / fails with EROFS");
	CHECK_INT(mode_of("/"), 0755, "readonly: / keeps the rootfs root's mode");
	CHECK_INT(mode_of("/home"), 0711, "readonly: scaffolded /home keeps the rootfs's mode");
	CHECK_INT(create_as_user("/home/dev/hfile"), 0, "readonly: the home is still writable");
	CHECK_STR(slurp("/work/proj/config.env"), "ok=1\n",
		  "readonly: the project is mounted at a path the rootfs lacks");
	CHECK_INT(mkdir("/sys/enclave-test", 0755) < 0 ? errno : 0, EROFS,
		  "host-network fallback: /sys (the host's) is read-only");
	CHECK_STR(list_dir("/sys/firmware", false), "", "fallback /sys still has firmware masked");
	CHECK_STR(list_dir("/proc", true), "1", "readonly: /proc shows only PID 1");
}

static void inside_persist1(void)
{
	CHECK_INT(create_err("/etc/persisted"), 0, "persistent: write /etc/persisted");
	CHECK_INT(create_as_user("/home/dev/hfile"), 0,
		  "persistent: the user writes the carrier-idmapped home");
	CHECK_INT(uid_of("/home/dev"), 1000, "idmapped home root is the user's inside");
}

static void inside_persist2(void)
{
	CHECK_INT(size_read("/home/dev/proj/node_modules/pkg/.env"), 0,
		  "a literal path glob is hidden even inside a pruned dir");
	CHECK_INT(size_read("/home/dev/proj/sub/deeper/.env.production"), 0,
		  "a path glob with a wildcard matches during the walk");
	CHECK_STR(slurp("/home/dev/proj/.env"), "SECRET=1\n",
		  "globs replace the defaults: .env is visible when not listed");
	CHECK_INT(uid_of("/home/dev/proj/src/main.c"), 1000,
		  "project mounted inside the idmapped home");
	CHECK_STR(slurp("/etc/persisted"), "x", "persistent: the upper survived a restart");
	CHECK_INT(uid_of("/etc/persisted"), 0, "persistent: root's file is root's again");
}

/* ------------------------------------------------------------------ */
/* runs */

struct run {
	const char *label;
	struct enc_mount_spec spec;
	bool netns;
	void (*inside)(void);
	bool quiet;		/* timing run: no per-check TAP lines */
	int want_err;		/* build expected to fail with this */
	const char *want_msg;
	/* filled */
	struct enc_mount_report rep;
	int build_err;
	char build_msg[ENC_ERR_MSG_MAX];
};

static void grandchild(struct run *r, struct enc_mount_fds *fds)
{
	struct enc_err err = { 0 };
	struct enc_mount_report rep = { 0 };

	int rc = enc_mounts_build_root(&r->spec, fds, &rep, &err);
	for (int i = ENC_MSTEP_STAGE; i < ENC_MSTEP__COUNT; i++)
		say("T %d %llu", i, (unsigned long long)rep.ns[i]);
	say("H %u %u %d", rep.hidden, rep.protected_paths, rep.sys_from_host);
	if (rc < 0) {
		say("E %d %s", rc, err.msg);
		_exit(0);
	}
	r->inside();
	_exit(0);
}

static void child(struct run *r, int userns, struct enc_mount_fds *fds)
{
	struct enc_err err = { 0 };
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

	if (enc_userns_enter(userns, &err) < 0) {
		say("E %d %s", err.code, err.msg);
		_exit(0);
	}
	if (r->netns)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0) {
		say("E %d unshare: %s", -errno, strerror(errno));
		_exit(0);
	}
	pid_t pid = fork();
	if (pid == 0)
		grandchild(r, fds);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void do_run(struct run *r, int userns)
{
	struct enc_mount_fds fds = ENC_MOUNT_FDS_INIT;
	struct enc_err err = { 0 };
	int p[2];

	memset(&r->rep, 0, sizeof(r->rep));
	r->build_err = 0;
	r->build_msg[0] = '\0';
	int rc = enc_mounts_prepare_idmapped(&r->spec.src, userns, &fds, &r->rep, &err);
	if (rc < 0 || !r->quiet) {
		if (!ok(rc == 0, "%s: privileged side prepares the mount fds", r->label)) {
			printf("#   %s\n", err.msg);
			return;
		}
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		exit(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		rep_fd = p[1];
		child(r, userns, &fds);
	}
	close(p[1]);
	enc_mount_fds_close(&fds);

	FILE *f = fdopen(p[0], "r");
	char line[2048];
	int results = 0;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == 'R') {
			char *name = line + 4, *diag = strchr(name, '\t');
			if (diag)
				*diag++ = '\0';
			if (!ok(line[2] == '1', "%s: %s", r->label, name))
				printf("#   %s\n", diag ? diag : "");
			results++;
		} else if (line[0] == 'T') {
			int i;
			unsigned long long ns;
			if (sscanf(line, "T %d %llu", &i, &ns) == 2 && i >= 0 && i < ENC_MSTEP__COUNT)
				r->rep.ns[i] = ns;
		} else if (line[0] == 'H') {
			int sys;
			sscanf(line, "H %u %u %d", &r->rep.hidden, &r->rep.protected_paths, &sys);
			r->rep.sys_from_host = sys;
		} else if (line[0] == 'D') {
			printf("# %s: %s\n", r->label, line + 2);
		} else if (line[0] == 'E') {
			sscanf(line, "E %d", &r->build_err);
			char *m = strchr(line + 2, ' ');
			snprintf(r->build_msg, sizeof(r->build_msg), "%s", m ? m + 1 : "");
		}
	}
	if (f)
		fclose(f);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r->quiet) {
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || r->build_err)
			ok(false, "%s: timing run failed: %s", r->label, r->build_msg);
		return;
	}
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: workspace processes exited cleanly",
	   r->label);
	if (r->want_err) {
		is_int(r->build_err, r->want_err, "expected build failure");
		has_str(r->build_msg, r->want_msg, "build failure names the cause");
		return;
	}
	if (!ok(r->build_err == 0, "%s: root built and pivoted", r->label))
		printf("#   %s\n", r->build_msg);
	ok(results > 0, "%s: checks ran inside", r->label);

	uint64_t total = 0;
	for (int i = 0; i < ENC_MSTEP__COUNT; i++) {
		printf("# %s: %-14s %7.1f us\n", r->label, enc_mount_step_name(i),
		       (double)r->rep.ns[i] / 1000.0);
		total += r->rep.ns[i];
	}
	printf("# %s: %-14s %7.1f us\n", r->label, "total", (double)total / 1000.0);
}

/* ------------------------------------------------------------------ */

static void build_fixture(void)
{
	struct stat root;

	mkdir_own(tpath("rootfs"), 0755, 0, 0);
	mkdir_own(tpath("rootfs/etc"), 0755, 0, 0);
	mkfile(tpath("rootfs/etc/passwd"), "root:x:0:0::/root:/bin/sh\n", 0644, 0, 0);
	mkdir_own(tpath("rootfs/srv"), 0755, 0, 0);
	mkfile(tpath("rootfs/srv/owned"), "mine\n", 0644, 1000, 1000);
	/* A node for the host's own root disk, planted in the rootfs. */
	if (stat("/", &root) == 0 &&
	    mknod(tpath("rootfs/srv/blk"), S_IFBLK | 0600, makedev(major(root.st_dev),
								    minor(root.st_dev))) < 0)
		exit(1);
	for (const char *d = "proc\0dev\0sys\0run\0usr\0"; *d; d += strlen(d) + 1)
		mkdir_own(tpath("rootfs/%s", d), 0755, 0, 0);
	mkdir_own(tpath("rootfs/tmp"), 01777, 0, 0);
	mkdir_own(tpath("rootfs/home"), 0711, 0, 0);

	mkdir_own(tpath("project"), 0755, OWNER_UID, OWNER_GID);
	const char *dirs[] = { "sub", "sub/deeper", "src", "data", ".git", ".git/hooks",
			       "node_modules", "node_modules/pkg" };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(dirs); i++)
		mkdir_own(tpath("project/%s", dirs[i]), 0755, OWNER_UID, OWNER_GID);
	const char *files[][2] = {
		{ ".env", "SECRET=1\n" },
		{ ".env.local", "SECRET=2\n" },
		{ "config.env", "ok=1\n" },
		{ "sub/.env", "SECRET=3\n" },
		{ "sub/deeper/.env.production", "SECRET=4\n" },
		{ "data/real", "TOPSECRET\n" },
		{ "src/main.c", "int main(void){return 0;}\n" },
		{ ".git/config", "[core]\n" },
		{ ".git/hooks/pre-commit", "#!/bin/sh\n" },
		{ "node_modules/pkg/.env", "PKG=1\n" },
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(files); i++)
		mkfile(tpath("project/%s", files[i][0]), files[i][1], 0644, OWNER_UID, OWNER_GID);
	mkfile(tpath("project/rootowned"), "r\n", 0644, 0, 0);
	if (symlink("data/real", tpath("project/.env.ln")) < 0 ||
	    symlink("/etc", tpath("project/escape")) < 0)
		exit(1);

	mkdir_own(tpath("state"), 0700, 0, 0);
	mkdir_own(tpath("state/ws"), 0700, 0, 0);

	/* A rootfs whose /tmp is a symlink out of it. */
	mkdir_own(tpath("badroot"), 0755, 0, 0);
	for (const char *d = "proc\0dev\0sys\0run\0"; *d; d += strlen(d) + 1)
		mkdir_own(tpath("badroot/%s", d), 0755, 0, 0);
	if (symlink("/etc", tpath("badroot/tmp")) < 0)
		exit(1);
}

static const char *const protect[] = { ".git/hooks", ".git/config", NULL };
static const char *const protect_escape[] = { "escape", NULL };
static const char *const literal_hide[] = { "node_modules/pkg/.env", "sub/*/.env.production",
					    NULL };

static void spec_base(struct enc_mount_spec *s, enum enc_overlay_mode mode)
{
	memset(s, 0, sizeof(*s));
	s->src.ns_uid_base = BASE;
	s->src.ns_gid_base = BASE;
	s->src.user_uid = 1000;
	s->src.user_gid = 1000;
	s->src.rootfs = keep(tpath("rootfs"));
	s->src.overlay = mode;
	s->src.project_src = keep(tpath("project"));
	s->src.project_owner_uid = OWNER_UID;
	s->src.project_owner_gid = OWNER_GID;
	s->project_dst = "/work/proj";
	s->protect = protect;
}

static void inside_nothing(void)
{
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median per step over repeated tmp-mode builds with home and project:
 * the figures for the benchmark notes. */
static void timing_runs(int userns)
{
	enum { N = 21 };
	static struct run r = { .label = "timing", .netns = true, .quiet = true,
				.inside = inside_nothing };
	static uint64_t ns[ENC_MSTEP__COUNT + 1][N];

	spec_base(&r.spec, ENC_OVERLAY_TMP);
	r.spec.home_dst = "/home/dev";
	r.spec.src.home_src = keep(tpath("state/home"));
	r.spec.src.home_owner_uid = BASE + 1000;
	r.spec.src.home_owner_gid = BASE + 1000;
	int done = 0;
	for (int i = 0; i < N; i++) {
		do_run(&r, userns);
		if (r.build_err)
			break;
		uint64_t total = 0;
		for (int s = 0; s < ENC_MSTEP__COUNT; s++) {
			ns[s][i] = r.rep.ns[s];
			total += r.rep.ns[s];
		}
		ns[ENC_MSTEP__COUNT][i] = total;
		done++;
	}
	ok(done == N, "timing: %d tmp-mode builds with home and project", N);
	for (int s = 0; s <= ENC_MSTEP__COUNT && done == N; s++) {
		qsort(ns[s], N, sizeof(ns[s][0]), cmp_u64);
		printf("# median %-14s %7.1f us\n",
		       s < ENC_MSTEP__COUNT ? enc_mount_step_name(s) : "total",
		       (double)ns[s][N / 2] / 1000.0);
	}
}

static void root_tests(void)
{
	struct enc_err err = { 0 };
	struct stat st;

	snprintf(T, sizeof(T), "/tmp/enc-mounts.XXXXXX");
	if (!mkdtemp(T))
		exit(1);
	build_fixture();
	host_kcore = access("/proc/kcore", F_OK) == 0;
	host_sysrq = access("/proc/sysrq-trigger", F_OK) == 0;
	printf("# host has /proc/kcore: %s, /proc/sysrq-trigger: %s\n", host_kcore ? "yes" : "no",
	       host_sysrq ? "yes" : "no");
	char *rootfs_before = tree_listing(tpath("rootfs"));
	char *mi_before = host_mountinfo();

	struct enc_idrange r = { 0, BASE, 65536 };
	int userns = enc_userns_new(&r, 1, &r, 1, &err);
	if (!ok(userns >= 0, "workspace user namespace created")) {
		printf("#   %s\n", err.msg);
		return;
	}

	/* 1. tmp overlay, root-run home (owned by the mapped 1000). */
	static struct run tmp = { .label = "tmp", .netns = true, .inside = inside_tmp };
	spec_base(&tmp.spec, ENC_OVERLAY_TMP);
	tmp.spec.home_dst = "/home/dev";
	tmp.spec.src.home_src = keep(tpath("state/home"));
	tmp.spec.src.home_owner_uid = BASE + 1000;
	tmp.spec.src.home_owner_gid = BASE + 1000;
	do_run(&tmp, userns);
	is_int(tmp.rep.hidden, 5, "tmp: five entries hidden");
	is_int(tmp.rep.protected_paths, 2, "tmp: two paths protected");
	ok(!tmp.rep.sys_from_host, "tmp: /sys is a new sysfs of the workspace's netns");
	is_int(access(tpath("rootfs/etc/newfile"), F_OK) < 0 ? errno : 0, ENOENT,
	       "tmp: the write to /etc did not reach the host rootfs");
	is_int(stat(tpath("project/src/new.c"), &st) < 0 ? -errno : (long long)st.st_uid,
	       OWNER_UID, "file the workspace user created in the project is the invoking user's");
	is_int(st.st_gid, OWNER_GID, "... and the invoking user's group");
	is_int(stat(tpath("state/home/hfile"), &st) < 0 ? -errno : (long long)st.st_uid,
	       BASE + 1000, "root-run home: the user's file is owned by the mapped 1000");
	is_str(slurp(tpath("project/.env")), "SECRET=1\n", "the hidden .env is intact on the host");
	is_int(access(tpath("project/src/by-root"), F_OK) < 0 ? errno : 0, ENOENT,
	       "root inside left nothing in the project");

	/* 2. readonly, no network namespace (host /sys fallback). */
	static struct run ro = { .label = "readonly", .netns = false, .inside = inside_readonly };
	spec_base(&ro.spec, ENC_OVERLAY_READONLY);
	ro.spec.home_dst = "/home/dev";
	ro.spec.src.home_src = keep(tpath("state/home"));
	ro.spec.src.home_owner_uid = BASE + 1000;
	ro.spec.src.home_owner_gid = BASE + 1000;
	ro.spec.hide = (const char *const[]){ NULL };
	ro.spec.protect = NULL;
	do_run(&ro, userns);
	ok(ro.rep.sys_from_host, "readonly/host-net: /sys bound from the host");
	is_int(ro.rep.hidden, 0, "an empty hide list hides nothing");

	/* 3. persistent, home idmapped through a carrier (owner 4242). */
	static struct run p1 = { .label = "persist1", .netns = true, .inside = inside_persist1 };
	spec_base(&p1.spec, ENC_OVERLAY_PERSISTENT);
	p1.spec.src.persist_dir = keep(tpath("state/ws"));
	p1.spec.home_dst = "/home/dev";
	p1.spec.src.home_src = keep(tpath("state/home2"));
	p1.spec.src.home_owner_uid = OWNER_UID;
	p1.spec.src.home_owner_gid = OWNER_GID;
	p1.spec.project_dst = "/home/dev/proj";
	do_run(&p1, userns);
	is_int(stat(tpath("state/ws/upper/etc/persisted"), &st) < 0 ? -errno : (long long)st.st_uid,
	       BASE, "persistent: the upper kept the file, owned by the mapped root");
	is_int(stat(tpath("state/ws/upper"), &st) < 0 ? -errno : (long long)(st.st_mode & 07777),
	       0755, "persistent: upper root took the rootfs root's mode");
	is_int(stat(tpath("state/home2/hfile"), &st) < 0 ? -errno : (long long)st.st_uid,
	       OWNER_UID, "carrier-idmapped home: the user's file is the owner's on the host");
	is_int(stat(tpath("state/home2/proj"), &st) < 0 ? -errno : (long long)st.st_uid,
	       OWNER_UID, "mount point made in the idmapped home is the user's (not root's)");
	static struct run p2 = { .label = "persist2", .netns = true, .inside = inside_persist2 };
	p2.spec = p1.spec;
	p2.spec.hide = literal_hide;
	do_run(&p2, userns);
	is_int(p2.rep.hidden, 2, "persist2: two entries hidden by path globs");

	/* 4. failures that must stop the start. */
	static struct run esc = { .label = "escape", .netns = true, .inside = inside_tmp,
				  .want_err = -EXDEV,
				  .want_msg = "protected path escape leads outside the project dir" };
	spec_base(&esc.spec, ENC_OVERLAY_TMP);
	esc.spec.protect = protect_escape;
	do_run(&esc, userns);

	static struct run bad = { .label = "symlinked-mountpoint", .netns = true,
				  .inside = inside_tmp, .want_err = -ELOOP,
				  .want_msg = "mount point /tmp: a component is a symlink" };
	spec_base(&bad.spec, ENC_OVERLAY_TMP);
	bad.spec.src.rootfs = keep(tpath("badroot"));
	bad.spec.src.project_src = NULL;
	bad.spec.project_dst = NULL;
	bad.spec.protect = NULL;
	do_run(&bad, userns);

	timing_runs(userns);
	close(userns);

	char *rootfs_after = tree_listing(tpath("rootfs"));
	is_str(rootfs_after, rootfs_before, "the host rootfs dir is unchanged");
	char *mi_after = host_mountinfo();
	is_str(mi_after, mi_before, "nothing is left mounted in the host's namespace");

	/* Cleanup: state/ws/upper holds files of mapped ids; all ours. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", T);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", T);
	free(rootfs_before);
	free(rootfs_after);
	free(mi_before);
	free(mi_after);
}

static void spec_tests(void)
{
	static const char *const dotdot[] = { "../x", NULL };
	static const char *const absolute[] = { "/etc", NULL };
	static const char *const empty_glob[] = { "", NULL };
	static const char *const slash_prune[] = { "a/b", NULL };
	struct enc_mount_spec s;
	struct enc_err err = { 0 };

	snprintf(T, sizeof(T), "/nonexistent");
	spec_base(&s, ENC_OVERLAY_TMP);
	s.src.home_src = "/var/lib/enclave/ws/home";
	s.home_dst = "/home/dev";
	is_int(enc_mount_spec_check(&s, &err), 0, "a good spec passes");

#define BAD(field_stmt, code, want_msg, name)                                   \
	do {                                                                   \
		spec_base(&s, ENC_OVERLAY_TMP);                                \
		s.src.home_src = "/var/lib/enclave/ws/home";                   \
		s.home_dst = "/home/dev";                                      \
		field_stmt;                                                    \
		enc_err_clear(&err);                                           \
		is_int(enc_mount_spec_check(&s, &err), code, name);            \
		has_str(err.msg, want_msg, name " (message)");                 \
	} while (0)

	BAD(s.src.rootfs = "rootfs", -EINVAL, "rootfs: not a normalised absolute path",
	    "relative rootfs refused");
	BAD(s.src.rootfs = "/a/../b", -EINVAL, "rootfs: not a normalised", "'..' in rootfs refused");
	BAD(s.src.rootfs = "/a//b", -EINVAL, "rootfs: not a normalised", "'//' refused");
	BAD(s.home_dst = "/proc/x", -EINVAL, "home: /proc/x is under /proc", "home under /proc refused");
	BAD(s.project_dst = "/", -EINVAL, "project: cannot be /", "project at / refused");
	BAD(s.project_dst = "/dev", -EINVAL, "project: /dev is under /dev", "project at /dev refused");
	BAD(s.project_dst = "/home", -EINVAL, "home /home/dev is inside the project dir /home",
	    "home inside the project refused");
	BAD(s.protect = dotdot, -EINVAL,
	    "protected path '../x' must be relative", "protect with .. refused");
	BAD(s.protect = absolute, -EINVAL,
	    "protected path '/etc' must be relative", "absolute protect refused");
	BAD(s.hide = empty_glob, -EINVAL, "bad hide glob ''",
	    "empty glob refused");
	BAD(s.hide_prune = slash_prune, -EINVAL, "bad prune name 'a/b'", "prune with '/' refused");
	BAD(s.src.overlay = ENC_OVERLAY_PERSISTENT, -EINVAL,
	    "persistent overlay needs an absolute persist dir", "persistent without dir refused");
	BAD(s.src.persist_dir = "/x", -EINVAL, "only for the persistent overlay",
	    "persist dir in tmp mode refused");
	BAD(s.src.ns_uid_base = 0, -EINVAL, "id base 0", "identity mapping refused");
	BAD(s.src.user_uid = 70000, -ERANGE, "workspace user 70000:1000 outside",
	    "workspace user outside the range refused");
	BAD((s.src.project_src = NULL, s.project_dst = NULL), -EINVAL,
	    "protected paths need a project dir", "protect without project refused");
	BAD(s.home_dst = NULL, -EINVAL, "home needs both", "home source without destination");

	struct enc_idrange z = { 0, 1, 0 };
	enc_err_clear(&err);
	is_int(enc_userns_new(&z, 1, &z, 1, &err), -ERANGE, "empty id range refused");
	is_int(enc_userns_new(&z, 0, &z, 1, NULL), -EINVAL, "no id range refused");
	is_str(enc_mount_step_name(ENC_MSTEP_PIVOT), "pivot", "step names");
}

int main(void)
{
	spec_tests();

	const char *must = getenv("ENCLAVE_MUST_WORK");
	bool must_work = must && strcmp(must, "1") == 0;
	if (geteuid() != 0) {
		if (must_work)
			ok(false, "workspace mounts need root (ENCLAVE_MUST_WORK=1)");
		else
			ok(true, "# SKIP workspace mounts need root");
		pool_free();
		return tap_done();
	}
	root_tests();
	pool_free();
	return tap_done();
}
