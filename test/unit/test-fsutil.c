/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-fsutil.c - fd-relative access beneath a directory (symlink, "..",
 * absolute-path, magic-link and mount-crossing escapes), mkdir -p, atomic
 * fact files, bounded fact reads, rm -rf that neither follows symlinks nor
 * crosses mounts, flock liveness, and closing fds before exec.
 *
 * Runs as root (CI) and as an ordinary user: cases that need another uid
 * fork a child that drops to nobody when root and otherwise rely on the
 * permission bits; cases that need mounts run in a private mount namespace
 * in a child and are skipped without root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"

#define NOBODY 65534

static char tmpdir[] = "/tmp/enc-test-fsutil.XXXXXX";
static int top = -1;		/* fd of tmpdir */

/* A TAP skip. `feature` marks a skip for something the host lacks, which
 * ENCLAVE_MUST_WORK=1 (CI) turns into a failure; a case that only applies
 * to another mode (root vs user) is always just skipped. */
__attribute__((format(printf, 2, 3), unused))
static void skip(bool feature, const char *fmt, ...)
{
	const char *must = getenv("ENCLAVE_MUST_WORK");
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (feature && must && strcmp(must, "1") == 0) {
		ok(0, "%s (skipped, but ENCLAVE_MUST_WORK=1)", why);
		return;
	}
	tap_n++;
	printf("ok %d # SKIP %s\n", tap_n, why);
	fflush(stdout);
}

static void mkfile(int dfd, const char *name, const char *content, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		printf("# setup: cannot write %s: %s\n", name, strerror(errno));
		exit(99);
	}
	close(fd);
}

static void mkdir_or_die(int dfd, const char *name, mode_t mode)
{
	if (mkdirat(dfd, name, mode) < 0) {
		printf("# setup: cannot mkdir %s: %s\n", name, strerror(errno));
		exit(99);
	}
}

static void symlink_or_die(const char *target, int dfd, const char *name)
{
	if (symlinkat(target, dfd, name) < 0) {
		printf("# setup: cannot symlink %s: %s\n", name, strerror(errno));
		exit(99);
	}
}

static bool exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Contents of a file, or "(missing)". */
static const char *slurp(int dfd, const char *name)
{
	static char buf[4096];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return "(missing)";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static mode_t mode_of(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

static bool cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl >= 0 && (fl & FD_CLOEXEC);
}

/* Run fn in a child, which reports up to n ints through a pipe. Returns
 * how many ints arrived, or -1 when the child failed. */
static int in_child(void (*fn)(int *res, void *arg), void *arg, int *res, int n)
{
	int p[2], status, got = 0;
	pid_t pid;

	for (int i = 0; i < n; i++)
		res[i] = 0x7fffffff;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int out[64] = { 0 };

		close(p[0]);
		fn(out, arg);
		if (write(p[1], out, sizeof(int) * (size_t)n) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], (char *)res + got, sizeof(int) * (size_t)n - (size_t)got);

		if (r <= 0)
			break;
		got += (int)r;
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return got / (int)sizeof(int);
}

/* Become an unprivileged user: nobody when root, else stay who we are
 * (the permission bits then already bind us). */
static int drop_privileges(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return -errno;
	return 0;
}

/* --- openat ------------------------------------------------------------- */

static void test_openat(void)
{
	struct enc_err err = { 0 };
	int d, fd, pfd;
	char num[16];

	mkdir_or_die(top, "o", 0755);
	d = openat(top, "o", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	mkdir_or_die(d, "a", 0755);
	mkfile(d, "a/f", "data", 0644);
	mkdir_or_die(top, "victim", 0755);
	mkfile(top, "victim/secret", "secret", 0644);
	symlink_or_die("a", d, "lnk");
	symlink_or_die("f", d, "a/flink");
	symlink_or_die(tmpdir, d, "abslnk");

	fd = enc_openat(d, "a/f", O_RDONLY, 0, &err);
	ok(fd >= 0, "openat a/f");
	ok(cloexec(fd), "openat fd is O_CLOEXEC");
	is_str(slurp(d, "a/f"), "data", "a/f readable");
	close(fd);

	fd = enc_openat(d, "./a/./f", O_RDONLY, 0, NULL);
	ok(fd >= 0, "openat ./a/./f (\".\" is harmless)");
	if (fd >= 0)
		close(fd);

	enc_err_clear(&err);
	is_int(enc_openat(d, "lnk/f", O_RDONLY, 0, &err), -ELOOP,
	       "symlink in the middle of a path: -ELOOP");
	is_str(err.msg, "cannot open lnk/f: refusing a symbolic link or magic link in the path",
	       "symlink refusal message names the path");
	is_int(enc_openat(d, "a/flink", O_RDONLY, 0, NULL), -ELOOP,
	       "symlink as the last component: -ELOOP");
	is_int(enc_openat(d, "abslnk/victim/secret", O_RDONLY, 0, NULL), -ELOOP,
	       "absolute symlink to outside: -ELOOP");

	enc_err_clear(&err);
	is_int(enc_openat(d, "/etc/passwd", O_RDONLY, 0, &err), -EXDEV,
	       "absolute path: -EXDEV");
	is_str(err.msg, "cannot open /etc/passwd: the path leaves its directory or crosses a mount point",
	       "absolute path message");
	is_int(enc_openat(d, "../victim/secret", O_RDONLY, 0, NULL), -EXDEV,
	       "\"..\" leaving the directory: -EXDEV");
	is_int(enc_openat(d, "a/../a/f", O_RDONLY, 0, NULL), -EXDEV,
	       "\"..\" staying beneath is refused too");
	is_int(enc_openat(d, "a/..", O_RDONLY, 0, NULL), -EXDEV, "trailing \"..\": -EXDEV");
	is_int(enc_openat(d, "a/nope", O_RDONLY, 0, NULL), -ENOENT, "missing file: -ENOENT");

	fd = enc_openat(d, "a/new", O_WRONLY | O_CREAT | O_EXCL, 0600, NULL);
	ok(fd >= 0, "O_CREAT beneath");
	is_int(mode_of(d, "a/new"), S_IFREG | 0600, "O_CREAT uses the mode");
	if (fd >= 0)
		close(fd);
	is_int(enc_openat(d, "lnk/new2", O_WRONLY | O_CREAT, 0600, NULL), -ELOOP,
	       "O_CREAT through a symlinked directory: -ELOOP");
	ok(!exists(d, "a/new2"), "nothing created through the symlink");

	fd = enc_opendir_at(d, "a", NULL);
	ok(fd >= 0 && cloexec(fd), "opendir_at a, O_CLOEXEC");
	if (fd >= 0)
		close(fd);
	is_int(enc_opendir_at(d, "a/f", NULL), -ENOTDIR, "opendir_at on a file: -ENOTDIR");
	is_int(enc_opendir_at(d, "lnk", NULL), -ELOOP, "opendir_at on a symlink: -ELOOP");

	/* Magic links: /proc/PID/fd/N and /proc/PID/root are the classic
	 * ways out of a directory (CVE-2019-5736 style). */
	fd = openat(d, "a/f", O_RDONLY | O_CLOEXEC);
	snprintf(num, sizeof(num), "%d", fd);
	pfd = open("/proc/self/fd", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	is_int(enc_openat(pfd, num, O_RDONLY, 0, NULL), -ELOOP, "magic link /proc/self/fd/N: -ELOOP");
	close(pfd);
	pfd = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	is_int(enc_openat(pfd, "root/etc/passwd", O_RDONLY, 0, NULL), -ELOOP,
	       "magic link /proc/self/root: -ELOOP");
	is_int(enc_openat(pfd, "cwd", O_RDONLY | O_DIRECTORY, 0, NULL), -ELOOP,
	       "magic link /proc/self/cwd: -ELOOP");
	close(pfd);
	close(fd);
	close(d);
}

/* --- mkdir -p ----------------------------------------------------------- */

static void test_mkdir_p(void)
{
	struct enc_err err = { 0 };
	struct stat a, b;
	int d, fd, fd2;

	mkdir_or_die(top, "m", 0755);
	d = openat(top, "m", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	symlink_or_die(tmpdir, d, "lnk");	/* to outside */
	mkfile(d, "file", "x", 0644);

	fd = enc_mkdir_p_at(d, "x/y/z", 0700, &err);
	ok(fd >= 0, "mkdir_p x/y/z");
	ok(cloexec(fd), "mkdir_p fd is O_CLOEXEC");
	is_int(mode_of(d, "x"), S_IFDIR | 0700, "x created 0700");
	is_int(mode_of(d, "x/y"), S_IFDIR | 0700, "x/y created 0700");
	is_int(mode_of(d, "x/y/z"), S_IFDIR | 0700, "x/y/z created 0700");
	fstat(fd, &a);
	fstatat(d, "x/y/z", &b, 0);
	ok(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "mkdir_p returns the last directory");

	fd2 = enc_mkdir_p_at(d, "x//y/./z/", 0700, NULL);
	ok(fd2 >= 0, "mkdir_p on existing dirs, with // . and a trailing slash");
	fstat(fd2, &b);
	ok(a.st_ino == b.st_ino, "same directory returned");
	close(fd);
	close(fd2);

	fd = enc_mkdir_p_at(d, "x/w", 0750, NULL);
	is_int(mode_of(d, "x/w"), S_IFDIR | 0750, "mode passed through (umask 022)");
	close(fd);

	enc_err_clear(&err);
	is_int(enc_mkdir_p_at(d, "lnk/evil", 0700, &err), -ELOOP,
	       "mkdir_p refuses a symlinked first component");
	is_str(err.msg, "cannot open lnk: refusing a symbolic link or magic link in the path",
	       "message names the symlinked component");
	ok(!exists(top, "evil"), "nothing created through the symlink");

	symlink_or_die(tmpdir, d, "x/lnk2");
	is_int(enc_mkdir_p_at(d, "x/lnk2/evil/deeper", 0700, NULL), -ELOOP,
	       "mkdir_p refuses a symlinked middle component");
	ok(!exists(top, "evil"), "still nothing created outside");

	is_int(enc_mkdir_p_at(d, "file/sub", 0700, NULL), -ENOTDIR,
	       "mkdir_p through a regular file: -ENOTDIR");
	is_int(enc_mkdir_p_at(d, "/tmp/evil", 0700, NULL), -EXDEV, "mkdir_p absolute: -EXDEV");
	is_int(enc_mkdir_p_at(d, "x/../evil", 0700, NULL), -EXDEV, "mkdir_p with \"..\": -EXDEV");
	ok(!exists(d, "evil"), "nothing created for \"..\"");
	close(d);
}

/* --- fact files ----------------------------------------------------------- */

struct fact_ro_arg {
	int dirfd;
	struct enc_err err;
};

static void fact_ro_child(int *res, void *arg)
{
	struct fact_ro_arg *a = arg;
	struct enc_err err = { 0 };

	res[0] = drop_privileges();
	res[1] = enc_fact_write(a->dirfd, "fact", "new", 3, 0644, false, &err);
	/* Report the message through the exit: compare a fixed fragment. */
	res[2] = strstr(err.msg, "cannot create fact.new: Permission denied") != NULL;
	res[3] = enc_mkdir_p_at(a->dirfd, "sub/dir", 0700, NULL);
}

static void test_fact_write(void)
{
	struct enc_err err = { 0 };
	struct stat a, b;
	int d, old, r, res[4];
	struct fact_ro_arg arg;

	mkdir_or_die(top, "f", 0755);
	d = openat(top, "f", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	r = enc_fact_write(d, "fact", "hello\n", 6, 0640, false, &err);
	is_int(r, 0, "fact_write");
	is_str(slurp(d, "fact"), "hello\n", "fact content");
	is_int(mode_of(d, "fact"), S_IFREG | 0640, "fact mode");
	ok(!exists(d, "fact.new"), "no fact.new after success");

	/* Atomic replace: a reader holding the old file keeps the old
	 * content; the name points to a new inode. */
	old = openat(d, "fact", O_RDONLY | O_CLOEXEC);
	fstat(old, &a);
	r = enc_fact_write(d, "fact", "two", 3, 0640, true, NULL);
	is_int(r, 0, "fact_write replaces (with sync)");
	is_str(slurp(d, "fact"), "two", "new content in place");
	fstatat(d, "fact", &b, 0);
	ok(a.st_ino != b.st_ino, "replaced by rename, not rewritten in place");
	{
		char buf[16] = { 0 };

		ok(pread(old, buf, sizeof(buf) - 1, 0) == 6 && strcmp(buf, "hello\n") == 0,
		   "an open reader still sees the old content");
	}
	close(old);
	ok(!exists(d, "fact.new"), "no fact.new after replace");

	/* Without sync the names are swapped (RENAME_EXCHANGE) and the old
	 * file is unlinked: the same for readers, and no temporary left. */
	old = openat(d, "fact", O_RDONLY | O_CLOEXEC);
	fstat(old, &a);
	r = enc_fact_write(d, "fact", "two-b", 5, 0640, false, NULL);
	is_int(r, 0, "fact_write replaces (without sync)");
	is_str(slurp(d, "fact"), "two-b", "without sync: new content in place");
	is_int(mode_of(d, "fact"), S_IFREG | 0640, "without sync: mode");
	fstatat(d, "fact", &b, 0);
	ok(a.st_ino != b.st_ino, "without sync: a new inode, not rewritten in place");
	{
		char buf[16] = { 0 };

		ok(pread(old, buf, sizeof(buf) - 1, 0) == 3 && strcmp(buf, "two") == 0,
		   "without sync: an open reader still sees the old content");
	}
	fstat(old, &a);
	is_int((int)a.st_nlink, 0, "without sync: the old file is unlinked");
	close(old);
	ok(!exists(d, "fact.new"), "no fact.new after replace without sync");

	/* A stale temporary from a crashed writer is removed, once. */
	mkfile(d, "fact.new", "junk", 0600);
	r = enc_fact_write(d, "fact", "three", 5, 0640, false, NULL);
	is_int(r, 0, "fact_write with a stale fact.new");
	is_str(slurp(d, "fact"), "three", "content after removing the stale temp");
	ok(!exists(d, "fact.new"), "stale fact.new gone");

	/* A planted symlink as the temporary name is unlinked, never
	 * written through. */
	mkfile(top, "victim2", "precious", 0644);
	{
		char target[sizeof(tmpdir) + 16];

		snprintf(target, sizeof(target), "%s/victim2", tmpdir);
		symlink_or_die(target, d, "fact.new");
	}
	r = enc_fact_write(d, "fact", "four", 4, 0640, false, NULL);
	is_int(r, 0, "fact_write with a planted fact.new symlink");
	is_str(slurp(top, "victim2"), "precious", "symlink target not written");
	is_str(slurp(d, "fact"), "four", "fact written");
	ok(!exists(d, "fact.new"), "planted symlink removed");

	/* Subdirectory paths resolve beneath, symlinks refused. */
	mkdir_or_die(d, "sub", 0755);
	is_int(enc_fact_write(d, "sub/g", "g", 1, 0644, false, NULL), 0, "fact_write sub/g");
	is_str(slurp(d, "sub/g"), "g", "sub/g content");
	symlink_or_die("sub", d, "sublnk");
	enc_err_clear(&err);
	is_int(enc_fact_write(d, "sublnk/h", "h", 1, 0644, false, &err), -ELOOP,
	       "fact_write through a symlinked directory: -ELOOP");
	ok(!exists(d, "sub/h") && !exists(d, "sub/h.new"), "nothing written through the symlink");
	is_int(enc_fact_write(d, "../x", "h", 1, 0644, false, NULL), -EXDEV, "fact_write \"..\": -EXDEV");
	is_int(enc_fact_write(d, "", "h", 1, 0644, false, NULL), -EINVAL, "fact_write empty name: -EINVAL");
	is_int(enc_fact_write(d, "sub/", "h", 1, 0644, false, NULL), -EINVAL,
	       "fact_write trailing slash: -EINVAL");

	/* Target is a directory: the rename fails and the temp is gone. */
	mkdir_or_die(d, "adir", 0755);
	enc_err_clear(&err);
	r = enc_fact_write(d, "adir", "x", 1, 0644, false, &err);
	is_int(r, -EISDIR, "fact_write over a directory: -EISDIR");
	has_str(err.msg, "cannot rename adir.new to adir", "rename failure message");
	ok(!exists(d, "adir.new"), "no adir.new left after a failed rename");
	is_int(mode_of(d, "adir"), S_IFDIR | 0755, "the directory is left in place");

	r = enc_fact_printf(d, "pid", 0644, false, NULL, "%d %llu\n", 42, 123456789ULL);
	is_int(r, 0, "fact_printf");
	is_str(slurp(d, "pid"), "42 123456789\n", "fact_printf content");

	/* Not writable: as nobody when root, by the mode bits otherwise. */
	mkdir_or_die(d, "ro", 0755);
	mkfile(d, "ro/fact", "old", 0644);
	arg.dirfd = openat(d, "ro", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	fchmod(arg.dirfd, 0555);
	r = in_child(fact_ro_child, &arg, res, 4);
	is_int(r, 4, "unprivileged child ran");
	is_int(res[0], 0, "child dropped privileges");
	is_int(res[1], -EACCES, "fact_write in a read-only directory: -EACCES");
	is_int(res[2], 1, "message: cannot create fact.new: Permission denied");
	is_int(res[3], -EACCES, "mkdir_p in a read-only directory: -EACCES");
	is_str(slurp(d, "ro/fact"), "old", "old fact intact");
	ok(!exists(d, "ro/fact.new"), "no fact.new left behind");
	fchmod(arg.dirfd, 0755);
	close(arg.dirfd);
	close(d);
}

static void test_fact_read(void)
{
	struct enc_err err = { 0 };
	char *s = (char *)"untouched";
	size_t len = 99;
	int d, r;

	mkdir_or_die(top, "r", 0755);
	d = openat(top, "r", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	mkfile(d, "f", "value\n", 0644);
	mkfile(d, "two", "a\n\n", 0644);
	mkfile(d, "ten", "0123456789", 0644);
	mkfile(d, "empty", "", 0644);
	symlink_or_die("f", d, "flink");
	mkdir_or_die(d, "dir", 0755);
	symlink_or_die("dir", d, "dirlnk");
	mkfile(d, "dir/inner", "in", 0644);
	if (mkfifoat(d, "fifo", 0644) < 0)
		printf("# mkfifo: %s\n", strerror(errno));

	r = enc_fact_read(d, "f", 100, true, &s, &len, &err);
	is_int(r, 0, "fact_read");
	is_str(s, "value", "trailing newline stripped");
	is_int(len, 5, "length without the newline");
	free(s);
	r = enc_fact_read(d, "f", 100, false, &s, &len, NULL);
	is_str(s, "value\n", "newline kept without strip_nl");
	is_int(len, 6, "length with the newline");
	free(s);
	r = enc_fact_read(d, "two", 100, true, &s, NULL, NULL);
	is_str(s, "a\n", "only one newline stripped");
	free(s);
	r = enc_fact_read(d, "ten", 10, false, &s, &len, NULL);
	is_int(r, 0, "file of exactly max bytes");
	is_str(s, "0123456789", "its content");
	free(s);
	r = enc_fact_read(d, "empty", 0, true, &s, &len, NULL);
	is_int(r, 0, "empty file with max 0");
	is_str(s, "", "empty content");
	is_int(len, 0, "empty length");
	free(s);

	s = (char *)"untouched";
	enc_err_clear(&err);
	r = enc_fact_read(d, "ten", 9, false, &s, &len, &err);
	is_int(r, -EFBIG, "file over max: -EFBIG");
	is_str(err.msg, "cannot read ten: larger than 9 bytes", "over-max message");
	ok(s == NULL, "out is NULL on failure");

	is_int(enc_fact_read(d, "flink", 100, true, &s, NULL, NULL), -ELOOP, "symlink: -ELOOP");
	is_int(enc_fact_read(d, "dirlnk/inner", 100, true, &s, NULL, NULL), -ELOOP,
	       "symlinked directory: -ELOOP");
	alarm(10);	/* a FIFO must not block; fail loudly if it does */
	enc_err_clear(&err);
	is_int(enc_fact_read(d, "fifo", 100, true, &s, NULL, &err), -EINVAL, "fifo: -EINVAL, no hang");
	is_str(err.msg, "cannot read fifo: not a regular file", "fifo message");
	alarm(0);
	is_int(enc_fact_read(d, "dir", 100, true, &s, NULL, NULL), -EINVAL, "directory: -EINVAL");
	is_int(enc_fact_read(d, "missing", 100, true, &s, NULL, NULL), -ENOENT, "missing: -ENOENT");
	is_int(enc_fact_read(d, "/etc/hostname", 100, true, &s, NULL, NULL), -EXDEV, "absolute: -EXDEV");
	close(d);

	/* procfs files claim size 0: the limit must hold while reading, not
	 * only against what fstat said. */
	d = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	is_int(enc_fact_read(d, "status", 64, false, &s, &len, NULL), -EFBIG,
	       "size-0 procfs file longer than max: -EFBIG");
	r = enc_fact_read(d, "status", 1 << 20, false, &s, &len, NULL);
	is_int(r, 0, "size-0 procfs file read in full");
	ok(r == 0 && strncmp(s, "Name:", 5) == 0 && len > 64 && strlen(s) == len,
	   "its content, grown past the initial buffer");
	if (r == 0)
		free(s);
	close(d);
}

/* --- rm -rf --------------------------------------------------------------- */

static void deep_child(int *res, void *arg)
{
	struct rlimit rl = { 32, 32 };
	int d = *(int *)arg;

	/* Far fewer fds than the tree is deep. */
	res[0] = setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
	res[1] = enc_rm_rf_at(d, "deep", NULL);
}

static void test_rm_rf(void)
{
	struct enc_err err = { 0 };
	char target[sizeof(tmpdir) + 32];
	int d, cur, res[2], n, r;

	mkdir_or_die(top, "rm", 0755);
	d = openat(top, "rm", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	mkdir_or_die(top, "outside", 0755);
	mkfile(top, "outside/keep", "keep", 0644);

	mkdir_or_die(d, "t", 0755);
	mkfile(d, "t/f1", "1", 0644);
	mkdir_or_die(d, "t/d1", 0755);
	mkfile(d, "t/d1/f2", "2", 0644);
	mkdir_or_die(d, "t/d1/d2", 0700);
	mkfile(d, "t/d1/d2/f3", "3", 0600);
	mkdir_or_die(d, "t/d1/d2/empty", 0755);
	mkdir_or_die(d, "t/d3", 0755);
	snprintf(target, sizeof(target), "%s/outside", tmpdir);
	symlink_or_die(target, d, "t/link_dir");
	symlink_or_die(target, d, "t/d1/d2/link_dir2");
	snprintf(target, sizeof(target), "%s/outside/keep", tmpdir);
	symlink_or_die(target, d, "t/link_file");
	symlink_or_die("../../nowhere", d, "t/d1/dangling");
	mkfifoat(d, "t/d1/fifo", 0644);

	r = enc_rm_rf_at(d, "t", &err);
	is_int(r, 0, "rm_rf a tree with files, dirs, symlinks and a fifo");
	ok(!exists(d, "t"), "tree gone");
	ok(exists(top, "outside"), "symlinked directory outside survives");
	is_str(slurp(top, "outside/keep"), "keep", "file in it survives");

	is_int(enc_rm_rf_at(d, "t", NULL), 0, "rm_rf a missing path: 0");
	is_int(enc_rm_rf_at(d, "nope/deeper/still", NULL), 0, "rm_rf with a missing parent: 0");

	snprintf(target, sizeof(target), "%s/outside", tmpdir);
	symlink_or_die(target, d, "toplink");
	is_int(enc_rm_rf_at(d, "toplink", NULL), 0, "rm_rf on a symlink to a directory");
	ok(!exists(d, "toplink"), "the symlink is removed");
	is_str(slurp(top, "outside/keep"), "keep", "its target survives");

	symlink_or_die(target, d, "viaLink");
	enc_err_clear(&err);
	is_int(enc_rm_rf_at(d, "viaLink/keep", &err), -ELOOP, "rm_rf through a symlink: -ELOOP");
	is_str(err.msg, "cannot open viaLink: refusing a symbolic link or magic link in the path",
	       "message names the symlink");
	is_str(slurp(top, "outside/keep"), "keep", "target beneath the symlink survives");

	mkfile(d, "plain", "p", 0644);
	is_int(enc_rm_rf_at(d, "plain", NULL), 0, "rm_rf on a regular file");
	ok(!exists(d, "plain"), "file removed");

	mkdir_or_die(d, "empty", 0700);
	is_int(enc_rm_rf_at(d, "empty", NULL), 0, "rm_rf an empty directory");
	ok(!exists(d, "empty"), "empty directory removed");

	is_int(enc_rm_rf_at(d, "../outside", NULL), -EXDEV, "rm_rf \"..\": -EXDEV");
	is_int(enc_rm_rf_at(d, "/tmp", NULL), -EXDEV, "rm_rf absolute: -EXDEV");
	is_int(enc_rm_rf_at(d, ".", NULL), -EINVAL, "rm_rf \".\": -EINVAL");
	is_int(enc_rm_rf_at(d, "", NULL), -EINVAL, "rm_rf empty path: -EINVAL");
	ok(exists(top, "outside/keep"), "outside still intact");

	/* A tree deeper than the fd limit (and PATH_MAX): the walk must not
	 * hold one fd per level. */
	mkdir_or_die(d, "deep", 0755);
	cur = openat(d, "deep", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	for (n = 0; n < 1500; n++) {
		int next;

		mkdir_or_die(cur, "dd", 0755);
		mkfile(cur, "f", "x", 0644);
		next = openat(cur, "dd", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		close(cur);
		cur = next;
	}
	close(cur);
	r = in_child(deep_child, &d, res, 2);
	is_int(r, 2, "deep-tree child ran");
	is_int(res[0], 0, "RLIMIT_NOFILE lowered to 32");
	is_int(res[1], 0, "rm_rf a tree 1500 levels deep (longer than PATH_MAX) with 32 fds");
	ok(!exists(d, "deep"), "deep tree gone");

	/* Wide: many subdirectories in one directory. */
	mkdir_or_die(d, "wide", 0755);
	cur = openat(d, "wide", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	for (n = 0; n < 1000; n++) {
		char name[32];

		snprintf(name, sizeof(name), "d%d", n);
		mkdir_or_die(cur, name, 0755);
		snprintf(name, sizeof(name), "d%d/f", n);
		mkfile(cur, name, "", 0644);
	}
	close(cur);
	is_int(enc_rm_rf_at(d, "wide", NULL), 0, "rm_rf 1000 sibling directories");
	ok(!exists(d, "wide"), "wide tree gone");
	close(d);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* As an ordinary user: a user namespace mapping only ourselves, which
 * owns a new mount namespace (fails where user namespaces are off). */
static int userns_self(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	if (write_file("/proc/self/setgroups", "deny") < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

/* Mount crossing, in a private mount namespace so nothing is ever
 * mounted in the host's. */
static void mount_child(int *res, void *arg)
{
	const char *base = arg;
	char path[512], path2[512];
	int d;

	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS) < 0) {
			res[0] = -errno;
			return;
		}
	} else if (userns_self() < 0) {
		res[0] = -errno;
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		res[0] = -errno;
		return;
	}
	snprintf(path, sizeof(path), "%s/mnt/top/sub/mp", base);
	if (mount("tmpfs", path, "tmpfs", 0, "size=1m,mode=0755") < 0) {
		res[0] = -errno;
		return;
	}
	snprintf(path2, sizeof(path2), "%s/mnt/fb/file", base);
	snprintf(path, sizeof(path), "%s/mnt/src", base);
	if (mount(path, path2, NULL, MS_BIND, NULL) < 0) {
		res[0] = -errno;
		return;
	}
	/* Reopen by path: an fd from before unshare() would see the
	 * namespace the mounts are not in. */
	snprintf(path, sizeof(path), "%s/mnt", base);
	d = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	{
		int fd = openat(d, "top/sub/mp/keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		res[1] = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	res[2] = enc_openat(d, "top/sub/mp/keep", O_RDONLY, 0, NULL);
	res[3] = enc_opendir_at(d, "top/sub/mp", NULL);
	res[4] = enc_mkdir_p_at(d, "top/sub/mp/new", 0700, NULL);
	res[5] = enc_rm_rf_at(d, "top", NULL);
	res[6] = exists(d, "top/sub/mp/keep");
	res[7] = enc_rm_rf_at(d, "top/sub/mp", NULL);
	res[8] = exists(d, "top/sub/mp/keep");
	res[9] = enc_rm_rf_at(d, "fb", NULL);
	res[10] = exists(d, "fb/file");
	res[11] = enc_fact_write(d, "top/sub/mp/fact", "x", 1, 0644, false, NULL);
	res[12] = enc_lock_held(d, "top/sub/mp/keep", NULL);
	close(d);
	umount2(path2, MNT_DETACH);
	snprintf(path, sizeof(path), "%s/mnt/top/sub/mp", base);
	umount2(path, MNT_DETACH);
}

static void test_mounts(void)
{
	int d, res[13], r;

	mkdir_or_die(top, "mnt", 0755);
	d = openat(top, "mnt", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	mkdir_or_die(d, "top", 0755);
	mkdir_or_die(d, "top/sub", 0755);
	mkdir_or_die(d, "top/sub/mp", 0755);
	mkfile(d, "top/sub/sibling", "s", 0644);
	mkdir_or_die(d, "fb", 0755);
	mkfile(d, "fb/file", "under", 0644);
	mkfile(d, "src", "bound", 0644);

	r = in_child(mount_child, tmpdir, res, 13);
	if (r != 13 || res[0] != 0) {
		/* Root can always make a private mount namespace; an ordinary
		 * user needs user namespaces, which hosts may restrict. */
		skip(geteuid() == 0, "mount crossing: cannot mount in a private namespace (%s)",
		     r == 13 ? strerror(-res[0]) : "child failed");
		close(d);
		return;
	}
	is_int(res[1], 1, "file created on the tmpfs");
	is_int(res[2], -EXDEV, "openat across a mount point: -EXDEV");
	is_int(res[3], -EXDEV, "opendir_at of a mount point: -EXDEV");
	is_int(res[4], -EXDEV, "mkdir_p across a mount point: -EXDEV");
	is_int(res[5], -EXDEV, "rm_rf of a tree containing a mount point: -EXDEV");
	is_int(res[6], 1, "nothing beneath the mount point was touched");
	is_int(res[7], -EXDEV, "rm_rf of the mount point itself: -EXDEV");
	is_int(res[8], 1, "its content survives");
	is_int(res[9], -EXDEV, "rm_rf of a tree with a bind-mounted file: -EXDEV");
	is_int(res[10], 1, "the bind-mounted file survives");
	is_int(res[11], -EXDEV, "fact_write across a mount point: -EXDEV");
	is_int(res[12], -EXDEV, "lock_held across a mount point: -EXDEV");
	ok(exists(d, "top/sub/mp") && !exists(d, "top/sub/mp/keep"),
	   "host namespace never saw the mount");
	close(d);
}

/* --- locks ---------------------------------------------------------------- */

/* Fork a child that takes the lock and waits to be killed. */
static pid_t hold_lock(int d, enum enc_lock_mode mode, int exit_after_ms)
{
	int p[2];
	pid_t pid;
	char c = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = enc_lock_at(d, "lock", mode, true, NULL);

		c = fd >= 0 ? 'L' : 'E';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		if (exit_after_ms > 0) {
			usleep((useconds_t)exit_after_ms * 1000);
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'L') {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

static void test_locks(void)
{
	struct enc_err err = { 0 };
	int d, fd, status;
	pid_t pid;

	mkdir_or_die(top, "l", 0755);
	d = openat(top, "l", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	is_int(enc_lock_held(d, "lock", NULL), 0, "missing lock file: not held");
	ok(!exists(d, "lock"), "lock_held does not create the file");

	fd = enc_lock_open(d, "lock", NULL);
	ok(fd >= 0 && cloexec(fd), "lock_open creates the lock, O_CLOEXEC");
	is_int(mode_of(d, "lock"), S_IFREG | 0600, "lock file mode 0600");
	is_int(enc_lock_held(d, "lock", NULL), 0, "unlocked file: not held");
	close(fd);

	pid = hold_lock(d, ENC_LOCK_EXCLUSIVE, 0);
	ok(pid > 0, "child holds LOCK_EX");
	is_int(enc_lock_held(d, "lock", NULL), 1, "lock_held sees the child's lock");
	enc_err_clear(&err);
	is_int(enc_lock_at(d, "lock", ENC_LOCK_EXCLUSIVE, false, &err), -EWOULDBLOCK,
	       "lock_at exclusive, no wait: -EWOULDBLOCK");
	is_str(err.msg, "lock is locked by another process", "busy lock message");
	is_int(enc_lock_at(d, "lock", ENC_LOCK_SHARED, false, NULL), -EWOULDBLOCK,
	       "lock_at shared, no wait: -EWOULDBLOCK");
	fd = enc_lock_open(d, "lock", NULL);
	is_int(enc_lock_take(fd, ENC_LOCK_EXCLUSIVE, false, NULL), -EWOULDBLOCK,
	       "lock_take no wait: -EWOULDBLOCK");
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "holder SIGKILLed");
	is_int(enc_lock_held(d, "lock", NULL), 0, "lock free after the holder died");

	fd = enc_lock_at(d, "lock", ENC_LOCK_EXCLUSIVE, false, NULL);
	ok(fd >= 0, "lock_at exclusive after the holder died");
	is_int(enc_lock_held(d, "lock", NULL), 1, "our own lock counts as held");
	close(fd);
	is_int(enc_lock_held(d, "lock", NULL), 0, "closing the fd releases it");

	/* Shared holders are not "alive" owners but block an exclusive. */
	pid = hold_lock(d, ENC_LOCK_SHARED, 0);
	ok(pid > 0, "child holds LOCK_SH");
	is_int(enc_lock_held(d, "lock", NULL), 0, "a shared holder is not an owner");
	is_int(enc_lock_at(d, "lock", ENC_LOCK_EXCLUSIVE, false, NULL), -EWOULDBLOCK,
	       "exclusive blocked by a shared holder");
	fd = enc_lock_at(d, "lock", ENC_LOCK_SHARED, false, NULL);
	ok(fd >= 0, "shared with a shared holder");
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	/* Waiting: returns once the holder exits. */
	pid = hold_lock(d, ENC_LOCK_EXCLUSIVE, 300);
	ok(pid > 0, "child holds LOCK_EX for 300ms");
	{
		struct timespec t0, t1;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = enc_lock_at(d, "lock", ENC_LOCK_EXCLUSIVE, true, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ok(fd >= 0, "lock_at with wait gets the lock");
		ok(ms >= 100, "only after waiting for the holder (%ld ms)", ms);
	}
	waitpid(pid, &status, 0);
	close(fd);

	fd = openat(d, "lock", O_RDONLY | O_CLOEXEC);
	is_int(enc_lock_take(fd, (enum enc_lock_mode)7, false, NULL), -EINVAL, "bad lock mode: -EINVAL");
	close(fd);

	symlink_or_die("lock", d, "lnk");
	is_int(enc_lock_at(d, "lnk", ENC_LOCK_EXCLUSIVE, false, NULL), -ELOOP, "lock via symlink: -ELOOP");
	is_int(enc_lock_held(d, "lnk", NULL), -ELOOP, "lock_held via symlink: -ELOOP");
	mkfifoat(d, "fifo", 0600);
	alarm(10);
	enc_err_clear(&err);
	is_int(enc_lock_held(d, "fifo", &err), -EINVAL, "lock_held on a fifo: -EINVAL, no hang");
	is_str(err.msg, "lock fifo is not a regular file", "fifo lock message");
	is_int(enc_lock_at(d, "fifo", ENC_LOCK_EXCLUSIVE, false, NULL), -EINVAL, "lock_at on a fifo: -EINVAL");
	alarm(0);
	close(d);
}

/* --- close_fds_except ----------------------------------------------------- */

static void fds_child(int *res, void *arg)
{
	int wfd = *(int *)arg;
	int keep[] = { 100, 21, -1, 21, wfd, 2 };
	int nul = open("/dev/null", O_RDONLY);	/* not O_CLOEXEC on purpose */
	DIR *dir;
	struct dirent *de;
	int n = 0;

	fcntl(nul, F_DUPFD, 20);
	fcntl(nul, F_DUPFD, 21);
	fcntl(nul, F_DUPFD, 50);
	fcntl(nul, F_DUPFD, 100);
	fcntl(nul, F_DUPFD, 101);
	res[0] = enc_close_fds_except(keep, sizeof(keep) / sizeof(keep[0]));
	dir = opendir("/proc/self/fd");
	while (dir && (de = readdir(dir)) && n < 8) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd < 3 || fd == dirfd(dir))
			continue;
		res[1 + n++] = fd;
	}
	if (dir)
		closedir(dir);
	res[9] = n;
}

static void test_close_fds(void)
{
	int p[2], res[10], r, pfd;
	pid_t pid;
	int status;

	/* The fds the child reports through are its own pipe, created here
	 * so its number is known. */
	if (pipe2(p, O_CLOEXEC) < 0) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fds_child(res, &p[1]);
		_exit(write(p[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	pfd = p[1];
	r = (int)read(p[0], res, sizeof(res));
	close(p[0]);
	waitpid(pid, &status, 0);
	is_int(r, (int)sizeof(res), "child reported its fds");
	is_int(res[0], 0, "close_fds_except returns 0");
	is_int(res[9], 3, "exactly three fds >= 3 remain");
	{
		bool seen21 = false, seen100 = false, seenw = false;

		for (int i = 0; i < res[9] && i < 8; i++) {
			seen21 |= res[1 + i] == 21;
			seen100 |= res[1 + i] == 100;
			seenw |= res[1 + i] == pfd;
		}
		ok(seen21 && seen100 && seenw, "kept 21, 100 and the pipe; closed 20, 50, 101 and the rest");
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
}

/* Whatever happens (a setup failure, a timeout), leave nothing behind:
 * plain nftw, independent of the code under test. */
static pid_t main_pid;

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void last_resort_cleanup(void)
{
	if (getpid() != main_pid || access(tmpdir, F_OK) < 0)
		return;
	chmod(tmpdir, 0700);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		printf("Bail out! timed out (a FIFO or lock blocked?)\n");
	else
		printf("Bail out! signal %d\n", sig);
	exit(1);	/* runs last_resort_cleanup() */
}

static int cleanup_tree(void)
{
	int tmp = open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int r = enc_rm_rf_at(tmp, tmpdir + strlen("/tmp/"), NULL);

	close(tmp);
	return r;
}

int main(void)
{
	umask(022);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	main_pid = getpid();
	atexit(last_resort_cleanup);
	signal(SIGALRM, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	top = open(tmpdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	test_openat();
	test_mkdir_p();
	test_fact_write();
	test_fact_read();
	test_rm_rf();
	test_mounts();
	test_locks();
	test_close_fds();

	close(top);
	is_int(cleanup_tree(), 0, "rm_rf removes the test directory");
	ok(access(tmpdir, F_OK) < 0 && errno == ENOENT, "test directory gone");
	return tap_done();
}
