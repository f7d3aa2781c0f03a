/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.c - locating, creating and verifying enclave's state roots.
 *
 * The two roots are the only directories reached by path; everything else is
 * reached through their fds. So this is where the trust decision is made:
 * a root must be a real directory (not a symlink someone planted in a shared
 * parent), owned by us and writable by nobody else. A root that fails is
 * refused with the reason; changing its owner or mode here would paper over
 * something the user must look at.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "state.h"
#include "util.h"

#define ROOT_DATA_DIR "/var/lib/enclave"
#define ROOT_RUN_DIR "/run/enclave"

/* An environment variable, with "" treated as unset (as the XDG spec
 * does, and as `VAR= cmd` in a script intends). */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Copy path without trailing slashes (but keep "/"). */
static char *path_dup(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return strndup(path, n);
}

static int home_dir(char **out, struct enc_err *err)
{
	const char *home = env("HOME");
	struct passwd *pw;

	/* HOME first, like every other program the user runs; the passwd
	 * entry only when it is missing or not absolute. */
	if (!home || home[0] != '/') {
		pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/')
		return enc_err_set(err, -ENOENT,
				   "cannot find the home directory of uid %u: HOME is not set to an absolute path and the passwd entry has none",
				   (unsigned)geteuid());
	*out = path_dup(home);
	return *out ? 0 : enc_err_sys(err, -ENOMEM, "home directory");
}

int enc_state_paths(char **data_path, char **run_path, struct enc_err *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_free_ char *run = NULL;
	const char *state_env = env("ENCLAVE_STATE_DIR");
	const char *run_env = env("ENCLAVE_RUNTIME_DIR");
	const char *v;
	bool root = geteuid() == 0;
	int r;

	*data_path = NULL;
	*run_path = NULL;
	if (state_env && state_env[0] != '/')
		return enc_err_set(err, -EINVAL, "ENCLAVE_STATE_DIR must be an absolute path, not '%s'",
				   state_env);
	if (run_env && run_env[0] != '/')
		return enc_err_set(err, -EINVAL, "ENCLAVE_RUNTIME_DIR must be an absolute path, not '%s'",
				   run_env);

	if (state_env) {
		data = path_dup(state_env);
	} else if (root) {
		data = strdup(ROOT_DATA_DIR);
	} else if ((v = env("XDG_DATA_HOME")) && v[0] == '/') {
		/* The XDG spec: a relative value is invalid and ignored. */
		_cleanup_free_ char *base = path_dup(v);

		if (base && asprintf(&data, "%s/enclave", strcmp(base, "/") ? base : "") < 0)
			data = NULL;
	} else {
		_cleanup_free_ char *home = NULL;

		r = home_dir(&home, err);
		if (r < 0)
			return r;
		if (asprintf(&data, "%s/.local/share/enclave", strcmp(home, "/") ? home : "") < 0)
			data = NULL;
	}
	if (!data)
		return enc_err_sys(err, -ENOMEM, "state directory");

	if (run_env) {
		run = path_dup(run_env);
	} else if (state_env) {
		/* One variable is enough to move all state somewhere private
		 * (tests, packaging): the runtime root follows the data root
		 * rather than landing in the shared default. */
		if (asprintf(&run, "%s/run", strcmp(data, "/") ? data : "") < 0)
			run = NULL;
	} else if (root) {
		run = strdup(ROOT_RUN_DIR);
	} else if ((v = env("XDG_RUNTIME_DIR")) && v[0] == '/') {
		_cleanup_free_ char *base = path_dup(v);

		if (base && asprintf(&run, "%s/enclave", strcmp(base, "/") ? base : "") < 0)
			run = NULL;
	} else {
		/* Never a guessable name in /tmp, where another user could
		 * create it first. */
		if (asprintf(&run, "%s/run", data) < 0)
			run = NULL;
	}
	if (!run)
		return enc_err_sys(err, -ENOMEM, "runtime directory");

	*data_path = steal_pointer(&data);
	*run_path = steal_pointer(&run);
	return 0;
}

/*
 * Create (if needed) and open the root at the absolute path `path`. The
 * parents are the user's or the system's own (they may legitimately be
 * symlinks, e.g. a home on another disk), so they are followed; only the
 * last component, the root itself, is opened without following anything.
 */
static int open_root(const char *path, const char *what, uid_t uid, int *out,
		     struct enc_err *err)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int cur = -1;
	_cleanup_close_ int fd = -1;
	struct enc_err lerr = { 0 };
	struct stat st;
	char *p, *comp, *base;

	*out = -1;
	if (!copy)
		return enc_err_sys(err, -ENOMEM, "%s", path);
	base = strrchr(copy, '/');
	if (!base || !base[1] || strcmp(base + 1, ".") == 0 || strcmp(base + 1, "..") == 0)
		return enc_err_set(err, -EINVAL, "%s directory %s: the path must end in a name",
				   what, path);
	*base++ = '\0';

	cur = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cur < 0)
		return enc_err_sys(err, -errno, "cannot open /");
	for (p = copy; *p;) {
		int next, shown;

		comp = p;
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
		if (!*comp)
			continue;
		/* For messages: the path up to and including comp. */
		shown = (int)((size_t)(comp - copy) + strlen(comp));
		if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST)
			return enc_err_sys(err, -errno, "cannot create %s directory %s: cannot create %.*s",
					   what, path, shown, path);
		next = openat(cur, comp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (next < 0)
			return enc_err_sys(err, -errno, "cannot open %s directory %s: cannot open %.*s",
					   what, path, shown, path);
		close(cur);
		cur = next;
	}

	if (mkdirat(cur, base, 0700) < 0 && errno != EEXIST)
		return enc_err_sys(err, -errno, "cannot create %s directory %s", what, path);
	fd = enc_opendir_at(cur, base, &lerr);
	switch (fd) {
	case -ELOOP:
		return enc_err_set(err, fd, "%s directory %s is a symbolic link; refusing to use it",
				   what, path);
	case -ENOTDIR:
		return enc_err_set(err, fd, "%s directory %s is not a directory", what, path);
	case -EXDEV:
		/* Only "." or ".." could get here; kept for completeness. */
		return enc_err_set(err, fd, "%s directory %s: bad path", what, path);
	default:
		if (fd < 0)
			return enc_err_sys(err, fd, "cannot open %s directory %s", what, path);
	}
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s directory %s", what, path);
	if (!S_ISDIR(st.st_mode))
		return enc_err_set(err, -ENOTDIR, "%s directory %s is not a directory", what, path);
	if (st.st_uid != uid)
		return enc_err_set(err, -EPERM,
				   "%s directory %s is owned by uid %u, not by uid %u; refusing to use it",
				   what, path, (unsigned)st.st_uid, (unsigned)uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return enc_err_set(err, -EPERM,
				   "%s directory %s is writable by group or others (mode %04o); refusing to use it",
				   what, path, (unsigned)(st.st_mode & 07777));
	*out = steal_fd(&fd);
	return 0;
}

int enc_state_open(struct enc_state *st, struct enc_err *err)
{
	struct enc_state s = ENC_STATE_INIT;
	int r;

	*st = s;
	s.uid = geteuid();
	s.gid = getegid();
	s.system = s.uid == 0;
	r = enc_state_paths(&s.data_path, &s.run_path, err);
	if (r < 0)
		return r;
	r = open_root(s.data_path, "state", s.uid, &s.data_fd, err);
	if (r < 0)
		goto fail;
	r = open_root(s.run_path, "runtime", s.uid, &s.run_fd, err);
	if (r < 0)
		goto fail;
	*st = s;
	return 0;
fail:
	enc_state_close(&s);
	return r;
}

void enc_state_close(struct enc_state *st)
{
	if (!st)
		return;
	if (st->data_fd >= 0)
		close(st->data_fd);
	if (st->run_fd >= 0)
		close(st->run_fd);
	free(st->data_path);
	free(st->run_path);
	*st = (struct enc_state)ENC_STATE_INIT;
}

int enc_state_subdir(const struct enc_state *st, const char *path, bool create,
		     struct enc_err *err)
{
	if (st->data_fd < 0)
		return enc_err_set(err, -EBADF, "the state directory is not open");
	if (create)
		return enc_mkdir_p_at(st->data_fd, path, 0700, err);
	return enc_opendir_at(st->data_fd, path, err);
}
