/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-state.c - where state lives (root and user defaults, XDG rules,
 * ENCLAVE_STATE_DIR / ENCLAVE_RUNTIME_DIR overrides) and the trust checks
 * on the roots: a planted symlink, a foreign owner or a group/other
 * writable root is refused with a message naming the path, never fixed.
 *
 * Runs as root and as an ordinary user; user-location cases run in a child
 * that becomes nobody when the test runs as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"

#define NOBODY 65534

static char tmpdir[] = "/tmp/enc-test-state.XXXXXX";
static pid_t main_pid;

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

/* tmpdir + "/" + rel, in one of a few rotating static buffers. */
static const char *at(const char *rel)
{
	static char bufs[4][512];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, rel);
	return b;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

static void symlink_ok(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		printf("# setup: symlink %s: %s\n", path, strerror(errno));
}

static void overrides(const char *data_rel, const char *run_rel)
{
	if (data_rel)
		setenv("ENCLAVE_STATE_DIR", at(data_rel), 1);
	else
		unsetenv("ENCLAVE_STATE_DIR");
	if (run_rel)
		setenv("ENCLAVE_RUNTIME_DIR", at(run_rel), 1);
	else
		unsetenv("ENCLAVE_RUNTIME_DIR");
}

/* "data|run" or "error N: message" for the current environment. */
static const char *paths_now(void)
{
	static char out[2048];
	struct enc_err err = { 0 };
	char *data = NULL, *run = NULL;
	int r = enc_state_paths(&data, &run, &err);

	if (r < 0)
		snprintf(out, sizeof(out), "error %d: %s", r, err.msg);
	else
		snprintf(out, sizeof(out), "%s|%s", data, run);
	free(data);
	free(run);
	return out;
}

static void clear_env(void)
{
	unsetenv("ENCLAVE_STATE_DIR");
	unsetenv("ENCLAVE_RUNTIME_DIR");
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_override_paths(void)
{
	char want[1024];

	clear_env();
	overrides("data", "run");
	snprintf(want, sizeof(want), "%s|%s", at("data"), at("run"));
	is_str(paths_now(), want, "both overrides used as given");

	setenv("ENCLAVE_STATE_DIR", at("data//"), 1);
	is_str(paths_now(), want, "trailing slashes dropped");

	overrides("data", NULL);
	snprintf(want, sizeof(want), "%s|%s/run", at("data"), at("data"));
	is_str(paths_now(), want, "ENCLAVE_STATE_DIR alone: runtime root beneath it");

	overrides(NULL, "run");
	setenv("ENCLAVE_STATE_DIR", "rel/x", 1);
	is_str(paths_now(), "error -22: ENCLAVE_STATE_DIR must be an absolute path, not 'rel/x'",
	       "relative ENCLAVE_STATE_DIR refused");
	overrides("data", NULL);
	setenv("ENCLAVE_RUNTIME_DIR", "./run", 1);
	is_str(paths_now(), "error -22: ENCLAVE_RUNTIME_DIR must be an absolute path, not './run'",
	       "relative ENCLAVE_RUNTIME_DIR refused");
	clear_env();
}

static void test_root_paths(void)
{
	if (geteuid() != 0) {
		skip(false, "root's default locations need euid 0");
		skip(false, "root's default locations need euid 0");
		return;
	}
	clear_env();
	is_str(paths_now(), "/var/lib/enclave|/run/enclave", "root defaults");
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	setenv("XDG_RUNTIME_DIR", "/xdg/run", 1);
	setenv("ENCLAVE_STATE_DIR", "", 1);
	is_str(paths_now(), "/var/lib/enclave|/run/enclave",
	       "root ignores XDG variables; empty ENCLAVE_STATE_DIR is unset");
	clear_env();
}

/* The user cases, computed in a child running as an ordinary user. */
static const struct {
	const char *home, *xdg_data, *xdg_run, *state, *name;
	const char *want;	/* "@" stands for the passwd home */
} user_cases[] = {
	{ "/home/h", "/xdg/data", "/xdg/run", NULL,
	  "XDG_DATA_HOME and XDG_RUNTIME_DIR",
	  "/xdg/data/enclave|/xdg/run/enclave" },
	{ "/home/h", "/xdg/data/", "/xdg/run//", NULL,
	  "XDG paths with trailing slashes",
	  "/xdg/data/enclave|/xdg/run/enclave" },
	{ "/home/h", NULL, "/xdg/run", NULL,
	  "no XDG_DATA_HOME: ~/.local/share",
	  "/home/h/.local/share/enclave|/xdg/run/enclave" },
	{ "/home/h", "rel/data", "/xdg/run", NULL,
	  "relative XDG_DATA_HOME is ignored",
	  "/home/h/.local/share/enclave|/xdg/run/enclave" },
	{ "/home/h", "", "/xdg/run", NULL,
	  "empty XDG_DATA_HOME is ignored",
	  "/home/h/.local/share/enclave|/xdg/run/enclave" },
	{ "/home/h", "/xdg/data", NULL, NULL,
	  "no XDG_RUNTIME_DIR: <data>/run, never /tmp",
	  "/xdg/data/enclave|/xdg/data/enclave/run" },
	{ "/home/h", "/xdg/data", "run", NULL,
	  "relative XDG_RUNTIME_DIR is ignored",
	  "/xdg/data/enclave|/xdg/data/enclave/run" },
	{ "/home/h/", NULL, NULL, NULL,
	  "HOME with a trailing slash",
	  "/home/h/.local/share/enclave|/home/h/.local/share/enclave/run" },
	{ NULL, NULL, NULL, NULL,
	  "no HOME: the passwd entry",
	  "@/.local/share/enclave|@/.local/share/enclave/run" },
	{ "relative", NULL, NULL, NULL,
	  "relative HOME: the passwd entry",
	  "@/.local/share/enclave|@/.local/share/enclave/run" },
	{ "/home/h", "/xdg/data", "/xdg/run", "/st",
	  "ENCLAVE_STATE_DIR wins over XDG for a user",
	  "/st|/st/run" },
	{ "/home/h", "/xdg/data", "/xdg/run", "",
	  "empty ENCLAVE_STATE_DIR is unset for a user",
	  "/xdg/data/enclave|/xdg/run/enclave" },
};

static void set_or_unset(const char *name, const char *v)
{
	if (v)
		setenv(name, v, 1);
	else
		unsetenv(name);
}

static void test_user_paths(void)
{
	size_t n = sizeof(user_cases) / sizeof(user_cases[0]);
	uid_t uid = geteuid() == 0 ? NOBODY : geteuid();
	struct passwd *pw = getpwuid(uid);
	char pwhome[256], buf[8192], want[1024];
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	snprintf(pwhome, sizeof(pwhome), "%s", pw && pw->pw_dir ? pw->pw_dir : "(none)");
	if (strcmp(pwhome, "/") == 0)
		pwhome[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		     setresuid(NOBODY, NOBODY, NOBODY) < 0))
			_exit(1);
		for (size_t i = 0; i < n; i++) {
			char line[2100];
			int len;

			clear_env();
			set_or_unset("HOME", user_cases[i].home);
			set_or_unset("XDG_DATA_HOME", user_cases[i].xdg_data);
			set_or_unset("XDG_RUNTIME_DIR", user_cases[i].xdg_run);
			set_or_unset("ENCLAVE_STATE_DIR", user_cases[i].state);
			len = snprintf(line, sizeof(line), "%s\n", paths_now());
			if (write(p[1], line, (size_t)len) != len)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], buf + got, sizeof(buf) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "user-paths child ran as uid %u",
	   (unsigned)uid);

	char *line = buf, *nl;

	for (size_t i = 0; i < n; i++) {
		const char *w = user_cases[i].want;
		size_t o = 0;
		char name[160];

		for (; *w && o < sizeof(want) - 256; w++) {
			if (*w == '@')
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", pwhome);
			else
				want[o++] = *w;
		}
		want[o] = '\0';
		nl = line ? strchr(line, '\n') : NULL;
		if (nl)
			*nl = '\0';
		snprintf(name, sizeof(name), "user: %s", user_cases[i].name);
		is_str(line, want, name);
		line = nl ? nl + 1 : NULL;
	}
}

/* --- opening and verifying ------------------------------------------------ */

static int open_state(struct enc_state *st, struct enc_err *err)
{
	enc_err_clear(err);
	return enc_state_open(st, err);
}

static void test_open(void)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = { 0 };
	struct stat a, b;
	char want[1024];
	int r, fd;

	clear_env();
	overrides("p/q/data", "p/q/run");
	r = open_state(&st, &err);
	is_int(r, 0, "state_open creates missing roots and parents");
	if (r < 0)
		printf("# %s\n", err.msg);
	is_str(st.data_path, at("p/q/data"), "data_path");
	is_str(st.run_path, at("p/q/run"), "run_path");
	is_int(mode_of(at("p/q/data")), S_IFDIR | 0700, "data root created 0700");
	is_int(mode_of(at("p/q/run")), S_IFDIR | 0700, "runtime root created 0700");
	is_int(mode_of(at("p")), S_IFDIR | 0700, "missing parent created 0700");
	is_int(st.uid, geteuid(), "uid is the euid");
	is_int(st.gid, getegid(), "gid is the egid");
	ok(st.system == (geteuid() == 0), "system set exactly when root");
	lstat(at("p/q/data"), &a);
	ok(fstat(st.data_fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
	   "data_fd is the data root");
	ok(a.st_uid == geteuid(), "data root owned by the euid");
	lstat(at("p/q/run"), &a);
	ok(fstat(st.run_fd, &b) == 0 && a.st_ino == b.st_ino, "run_fd is the runtime root");
	ok((fcntl(st.data_fd, F_GETFD) & FD_CLOEXEC) && (fcntl(st.run_fd, F_GETFD) & FD_CLOEXEC),
	   "root fds are O_CLOEXEC");

	fd = enc_state_subdir(&st, "sandboxes/devbox", true, NULL);
	ok(fd >= 0, "state_subdir creates sandboxes/devbox");
	is_int(mode_of(at("p/q/data/sandboxes/devbox")), S_IFDIR | 0700, "subdir created 0700");
	if (fd >= 0)
		close(fd);
	fd = enc_state_subdir(&st, "sandboxes", false, NULL);
	ok(fd >= 0, "state_subdir opens an existing subdir");
	if (fd >= 0)
		close(fd);
	is_int(enc_state_subdir(&st, "workspaces", false, NULL), -ENOENT,
	       "state_subdir without create: -ENOENT");
	is_int(enc_state_subdir(&st, "../escape", true, NULL), -EXDEV, "state_subdir \"..\": -EXDEV");
	ok(mode_of(at("p/q/escape")) == (mode_t)-1, "nothing created outside");
	enc_state_close(&st);
	ok(st.data_fd == -1 && st.run_fd == -1 && !st.data_path && !st.run_path,
	   "state_close resets the struct");
	enc_state_close(&st);
	ok(1, "state_close twice is harmless");
	is_int(enc_state_subdir(&st, "x", true, NULL), -EBADF, "state_subdir on a closed state: -EBADF");

	r = open_state(&st, &err);
	is_int(r, 0, "state_open on existing roots");
	enc_state_close(&st);

	/* Symlinked parents are fine: only the roots themselves are checked. */
	mkdir(at("preal"), 0700);
	symlink_ok(at("preal"), at("plink"));
	overrides("plink/data", "plink/run");
	r = open_state(&st, &err);
	is_int(r, 0, "a symlink among the parents is followed");
	ok(mode_of(at("preal/data")) == (S_IFDIR | 0700), "root created through the parent symlink");
	enc_state_close(&st);

	/* Group/other writable: refused, and not fixed. */
	overrides("p/q/data", "p/q/run");
	chmod(at("p/q/data"), 0770);
	r = open_state(&st, &err);
	is_int(r, -EPERM, "group-writable data root refused: -EPERM");
	snprintf(want, sizeof(want),
		 "state directory %s is writable by group or others (mode 0770); refusing to use it",
		 at("p/q/data"));
	is_str(err.msg, want, "group-writable message names the path and mode");
	is_int(mode_of(at("p/q/data")), S_IFDIR | 0770, "mode left as it was");
	ok(st.data_fd == -1 && st.run_fd == -1 && !st.data_path, "failed open leaves a closed state");
	chmod(at("p/q/data"), 0700);

	chmod(at("p/q/run"), 0703);
	r = open_state(&st, &err);
	is_int(r, -EPERM, "other-writable runtime root refused");
	snprintf(want, sizeof(want),
		 "runtime directory %s is writable by group or others (mode 0703); refusing to use it",
		 at("p/q/run"));
	is_str(err.msg, want, "other-writable message");
	chmod(at("p/q/run"), 0700);

	chmod(at("p/q/data"), 0750);
	r = open_state(&st, &err);
	is_int(r, 0, "group-readable (not writable) root accepted");
	enc_state_close(&st);
	chmod(at("p/q/data"), 0700);

	/* A symlink as the root: refused even though its target is fine. */
	mkdir(at("real"), 0700);
	symlink_ok(at("real"), at("p/q/sym"));
	overrides("p/q/sym", "p/q/run");
	r = open_state(&st, &err);
	is_int(r, -ELOOP, "symlinked data root refused: -ELOOP");
	snprintf(want, sizeof(want), "state directory %s is a symbolic link; refusing to use it",
		 at("p/q/sym"));
	is_str(err.msg, want, "symlink message");
	ok(mode_of(at("p/q/sym")) == (S_IFLNK | 0777), "symlink left in place");

	overrides("p/q/data", "p/q/sym");
	r = open_state(&st, &err);
	is_int(r, -ELOOP, "symlinked runtime root refused: -ELOOP");
	has_str(err.msg, "runtime directory", "runtime symlink message");

	/* A dangling symlink must not make us create its target. */
	symlink_ok(at("ghost"), at("p/q/dangling"));
	overrides("p/q/dangling", "p/q/run");
	r = open_state(&st, &err);
	is_int(r, -ELOOP, "dangling symlink root refused: -ELOOP");
	ok(mode_of(at("ghost")) == (mode_t)-1, "its target was not created");

	/* Not a directory. */
	close(open(at("p/q/file"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	overrides("p/q/file", "p/q/run");
	r = open_state(&st, &err);
	is_int(r, -ENOTDIR, "regular file as the root: -ENOTDIR");
	snprintf(want, sizeof(want), "state directory %s is not a directory", at("p/q/file"));
	is_str(err.msg, want, "not-a-directory message");

	/* Relative override through state_open. */
	setenv("ENCLAVE_STATE_DIR", "relative", 1);
	r = open_state(&st, &err);
	is_int(r, -EINVAL, "state_open with a relative override: -EINVAL");
	has_str(err.msg, "must be an absolute path", "relative override message");
	clear_env();
}

static void test_owner(void)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = { 0 };
	char want[1024];
	int r;

	if (geteuid() == 0) {
		mkdir(at("own"), 0700);
		mkdir(at("own/data"), 0700);
		if (chown(at("own/data"), NOBODY, NOBODY) < 0) {
			skip(true, "chown: %s", strerror(errno));
			return;
		}
		overrides("own/data", "own/run");
		r = open_state(&st, &err);
		is_int(r, -EPERM, "root refuses a data root owned by another uid");
		snprintf(want, sizeof(want),
			 "state directory %s is owned by uid %u, not by uid 0; refusing to use it",
			 at("own/data"), NOBODY);
		is_str(err.msg, want, "wrong-owner message names the path and both uids");
		struct stat s;

		ok(stat(at("own/data"), &s) == 0 && s.st_uid == NOBODY, "owner left as it was");
		clear_env();
		return;
	}
	/* An ordinary user cannot chown, but a root-owned system
	 * directory is just as foreign; nothing is created or changed. */
	setenv("ENCLAVE_STATE_DIR", "/usr", 1);
	setenv("ENCLAVE_RUNTIME_DIR", at("own-run"), 1);
	r = open_state(&st, &err);
	is_int(r, -EPERM, "a user refuses a data root owned by root");
	snprintf(want, sizeof(want),
		 "state directory /usr is owned by uid 0, not by uid %u; refusing to use it",
		 (unsigned)geteuid());
	is_str(err.msg, want, "wrong-owner message names the path and both uids");
	ok(1, "owner left as it was");
	clear_env();
}

/* Creating in a directory we may not write: a clean error. */
static void test_unwritable(void)
{
	int p[2], status, res[2] = { 0, 0 };
	pid_t pid;

	mkdir(at("ro"), 0755);
	chmod(at("ro"), 0555);
	chmod(tmpdir, 0755);	/* let nobody reach it when we are root */
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct enc_state st = ENC_STATE_INIT;
		struct enc_err err = { 0 };
		char want[1024];

		close(p[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		     setresuid(NOBODY, NOBODY, NOBODY) < 0))
			_exit(1);
		overrides("ro/data", "ro/run");
		res[0] = enc_state_open(&st, &err);
		snprintf(want, sizeof(want),
			 "cannot create state directory %s: Permission denied", at("ro/data"));
		res[1] = strcmp(err.msg, want) == 0;
		if (!res[1])
			printf("# got '%s'\n", err.msg);
		_exit(write(p[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], res, sizeof(res)) != sizeof(res))
		res[0] = 1;
	close(p[0]);
	waitpid(pid, &status, 0);
	chmod(tmpdir, 0700);
	is_int(res[0], -EACCES, "state_open in an unwritable parent: -EACCES");
	is_int(res[1], 1, "message: cannot create state directory ...: Permission denied");
	ok(mode_of(at("ro/data")) == (mode_t)-1, "nothing created");
	chmod(at("ro"), 0755);
}

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

static void cleanup(void)
{
	if (getpid() != main_pid || access(tmpdir, F_OK) < 0)
		return;
	chmod(at("ro"), 0755);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void on_signal(int sig)
{
	printf("Bail out! signal %d\n", sig);
	exit(1);	/* runs cleanup() */
}

int main(void)
{
	umask(022);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	main_pid = getpid();
	atexit(cleanup);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	test_override_paths();
	test_root_paths();
	test_user_paths();
	test_open();
	test_owner();
	test_unwritable();

	cleanup();
	ok(access(tmpdir, F_OK) < 0, "test directory removed");
	return tap_done();
}
