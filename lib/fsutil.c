/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fsutil.c - fd-relative file access beneath a trusted directory.
 *
 * Everything here resolves paths with openat2(2) so that a symlink, a ".."
 * or a mount point planted anywhere in a path (by a workspace that can write
 * part of the state tree, or by another user sharing a parent directory)
 * cannot redirect a privileged open, write or removal somewhere else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "fsutil.h"
#include "util.h"

#define ENC_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
		     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* openat2 returns EAGAIN when it cannot prove a lookup stayed beneath the
 * directory because of a concurrent rename; a few retries settle that. */
#define OPENAT2_RETRIES 8

/* Refuse absolute paths and any ".." component ourselves. The kernel
 * already refuses a ".." that would leave dirfd, but one that stays
 * beneath ("a/../b") is still a way to reach a name the caller did not
 * spell, and no enclave caller needs it. */
static bool path_escapes(const char *path)
{
	const char *p = path;

	if (*p == '/')
		return true;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}

/* Pass on an error gathered locally, keeping the first error rule. */
static int err_copy(struct enc_err *err, const struct enc_err *local)
{
	if (err && !enc_err_isset(err))
		*err = *local;
	return local->code;
}

static int openat2_raw(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | __O_TMPFILE)) ? (mode & 07777) : 0,
		.resolve = ENC_RESOLVE,
	};
	long fd;

	for (int i = 0; i < OPENAT2_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EINTR && errno != EAGAIN)
			break;
	}
	return -errno;
}

static int open_error(struct enc_err *err, int r, const char *path)
{
	switch (r) {
	case -ELOOP:
		return enc_err_set(err, r, "cannot open %s: refusing a symbolic link or magic link in the path",
				   path);
	case -EXDEV:
		return enc_err_set(err, r, "cannot open %s: the path leaves its directory or crosses a mount point",
				   path);
	default:
		return enc_err_sys(err, r, "cannot open %s", path);
	}
}

int enc_openat(int dirfd, const char *path, int flags, mode_t mode,
	       struct enc_err *err)
{
	int fd;

	if (!path)
		return enc_err_set(err, -EINVAL, "cannot open: no path given");
	if (path_escapes(path))
		return open_error(err, -EXDEV, path);
	fd = openat2_raw(dirfd, path, flags, mode);
	if (fd < 0)
		return open_error(err, fd, path);
	return fd;
}

int enc_opendir_at(int dirfd, const char *path, struct enc_err *err)
{
	return enc_openat(dirfd, path, O_DIRECTORY | O_RDONLY, 0, err);
}

int enc_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct enc_err *err)
{
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int cur = -1;
	char *p, *comp;

	if (!path)
		return enc_err_set(err, -EINVAL, "cannot create directory: no path given");
	if (path_escapes(path))
		return open_error(err, -EXDEV, path);
	copy = strdup(path);
	if (!copy)
		return enc_err_sys(err, -ENOMEM, "cannot create %s", path);

	cur = enc_opendir_at(dirfd, ".", err);
	if (cur < 0)
		return cur;

	/* One component at a time, each opened beneath the previous one, so a
	 * symlink or mount point swapped in for any component is refused
	 * rather than followed. */
	for (p = copy; *p;) {
		int next, shown;

		comp = p;
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
		while (*p == '/')
			p++;
		if (!*comp || strcmp(comp, ".") == 0)
			continue;

		/* Messages name the path up to and including comp. */
		shown = (int)((size_t)(comp - copy) + strlen(comp));
		if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
			return enc_err_sys(err, -errno, "cannot create directory %.*s",
					   shown, path);
		next = openat2_raw(cur, comp, O_DIRECTORY | O_RDONLY, 0);
		if (next < 0) {
			char part[PATH_MAX];

			snprintf(part, sizeof(part), "%.*s", shown, path);
			return open_error(err, next, part);
		}
		close(cur);
		cur = next;
	}
	return steal_fd(&cur);
}

/* Split path into the directory it lives in (opened beneath dirfd; -1 when
 * it is dirfd itself) and its last component, which must be a plain name. */
static int open_parent(int dirfd, const char *path, int *pfd, char **base,
		       struct enc_err *err)
{
	const char *slash;
	_cleanup_free_ char *dir = NULL;

	*pfd = -1;
	*base = NULL;
	if (!path || !*path)
		return enc_err_set(err, -EINVAL, "empty path");
	if (path_escapes(path))
		return open_error(err, -EXDEV, path);
	slash = strrchr(path, '/');
	*base = strdup(slash ? slash + 1 : path);
	if (!*base)
		return enc_err_sys(err, -ENOMEM, "%s", path);
	if (!**base || strcmp(*base, ".") == 0) {
		free(*base);
		*base = NULL;
		return enc_err_set(err, -EINVAL, "%s: the last component must be a name", path);
	}
	if (!slash)
		return 0;
	dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return enc_err_sys(err, -ENOMEM, "%s", path);
	*pfd = enc_opendir_at(dirfd, dir, err);
	if (*pfd < 0) {
		int r = *pfd;

		*pfd = -1;
		free(*base);
		*base = NULL;
		return r;
	}
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int enc_fact_write(int dirfd, const char *name, const void *data, size_t len,
		   mode_t mode, bool sync, struct enc_err *err)
{
	_cleanup_close_ int pfd = -1;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *base = NULL;
	_cleanup_free_ char *tmp = NULL;
	int dfd, r;

	r = open_parent(dirfd, name, &pfd, &base, err);
	if (r < 0)
		return r;
	dfd = pfd >= 0 ? pfd : dirfd;
	if (asprintf(&tmp, "%s.new", base) < 0) {
		tmp = NULL;
		return enc_err_sys(err, -ENOMEM, "cannot write %s", name);
	}

	/* O_EXCL: never write through something that is already there, be it
	 * a symlink planted under the temporary name or a half-written file. */
	fd = openat2_raw(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, mode);
	if (fd == -EEXIST) {
		/* A leftover of a writer that crashed: our caller holds the
		 * object's lock, so it cannot be a live writer's. unlinkat
		 * removes a symlink itself, never its target. */
		if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
			return enc_err_sys(err, -errno, "cannot remove stale %s", tmp);
		fd = openat2_raw(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, mode);
	}
	if (fd < 0)
		return enc_err_sys(err, fd, "cannot create %s", tmp);

	r = write_all(fd, data, len);
	if (r < 0) {
		enc_err_sys(err, r, "cannot write %s", tmp);
		goto fail;
	}
	if (sync && fsync(fd) < 0) {
		r = enc_err_sys(err, -errno, "cannot sync %s", tmp);
		goto fail;
	}
	/* close() can report a delayed write error (NFS, quota). */
	r = close(steal_fd(&fd));
	if (r < 0 && errno != EINTR) {
		r = enc_err_sys(err, -errno, "cannot write %s", tmp);
		goto fail;
	}
	/* Replacing a file without sync: swap the two names (RENAME_EXCHANGE,
	 * as atomic for readers as a rename) and drop the old content, now
	 * under the temporary name. A rename over an existing file makes
	 * ext4 (auto_da_alloc, on by default) allocate and submit the new
	 * data inside the rename, ~100 us paid on every start by the facts
	 * each start rewrites (generation, exec, result.json). The trade-off:
	 * after a crash within the writeback interval such a fact may be
	 * empty, as a newly created one may be today, rather than old or
	 * new; its readers already treat a malformed fact as missing, and
	 * what must survive a crash is written with sync, whose fsync makes
	 * the plain rename below cheap anyway. ENOENT: nothing to replace.
	 * If the name held something unlink cannot remove (a directory),
	 * swap back and fail as the rename would. */
	if (!sync && renameat2(dfd, tmp, dfd, base, RENAME_EXCHANGE) == 0) {
		if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
			r = -errno;
			if (renameat2(dfd, tmp, dfd, base, RENAME_EXCHANGE) < 0)
				/* The new file stays at the name, the old thing
				 * at tmp: say so rather than remove either. */
				return enc_err_sys(err, r, "cannot remove the old %s (now %s)",
						   base, tmp);
			enc_err_sys(err, r, "cannot rename %s to %s", tmp, base);
			goto fail;
		}
	} else if (renameat(dfd, tmp, dfd, base) < 0) {
		r = enc_err_sys(err, -errno, "cannot rename %s to %s", tmp, base);
		goto fail;
	}
	if (sync && fsync(dfd) < 0)
		/* The new content is in place; only its durability is in
		 * doubt, so report it but leave the file. */
		return enc_err_sys(err, -errno, "cannot sync the directory of %s", name);
	return 0;

fail:
	unlinkat(dfd, tmp, 0);
	return r;
}

int enc_fact_printf(int dirfd, const char *name, mode_t mode, bool sync,
		    struct enc_err *err, const char *fmt, ...)
{
	_cleanup_free_ char *buf = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf = NULL;
		return enc_err_sys(err, -ENOMEM, "cannot format %s", name);
	}
	return enc_fact_write(dirfd, name, buf, (size_t)n, mode, sync, err);
}

int enc_fact_read(int dirfd, const char *name, size_t max, bool strip_nl,
		  char **out, size_t *len, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0, cap;

	*out = NULL;
	if (len)
		*len = 0;
	if (max >= SIZE_MAX - 1)
		return enc_err_set(err, -EINVAL, "cannot read %s: bad size limit", name);

	/* O_NONBLOCK so that a FIFO planted under the name cannot block the
	 * open; it is then refused as not a regular file. */
	fd = enc_openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat %s", name);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "cannot read %s: not a regular file", name);
	if ((uintmax_t)st.st_size > max)
		return enc_err_set(err, -EFBIG, "cannot read %s: larger than %zu bytes", name, max);

	/* Start from the size fstat saw and grow up to max + 1 bytes: the
	 * file may change under us, and max + 1 is how growth past the limit
	 * is noticed. A small fact costs a small buffer whatever max is. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		return enc_err_sys(err, -ENOMEM, "cannot read %s", name);
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t ncap = cap > (max + 1) / 2 ? max + 1 : 2 * cap;
			char *nbuf;

			if (cap == max + 1)
				break;
			nbuf = realloc(buf, ncap);
			if (!nbuf)
				return enc_err_sys(err, -ENOMEM, "cannot read %s", name);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return enc_err_sys(err, -errno, "cannot read %s", name);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max)
		return enc_err_set(err, -EFBIG, "cannot read %s: larger than %zu bytes", name, max);
	if (strip_nl && got > 0 && buf[got - 1] == '\n')
		got--;
	buf[got] = '\0';	/* got < cap: the loop grows before it fills */
	if (len)
		*len = got;
	*out = steal_pointer(&buf);
	return 0;
}

/*
 * Removal. The walk keeps one directory fd open at a time and goes back up
 * through ".." checking the device and inode it arrives at against the ones
 * it recorded on the way down (as fts(3) does), so neither the depth of a
 * tree (written by an untrusted workload) nor the fd limit can stop a
 * teardown, and a directory moved during the walk aborts it rather than
 * making it continue somewhere else.
 */
struct rm_level {
	char **names;		/* subdirectories still to remove */
	size_t n, i, cap;
	dev_t dev;
	ino_t ino;
};

static void rm_level_free(struct rm_level *l)
{
	for (size_t k = 0; k < l->n; k++)
		free(l->names[k]);
	free(l->names);
	l->names = NULL;
	l->n = l->i = l->cap = 0;
}

static int rm_level_add(struct rm_level *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char **p = reallocarray(l->names, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->names = p;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

/* Unlink everything but directories in fd and remember the directories. */
static int rm_scan(int fd, struct rm_level *l, const char *path, struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct stat st;
	struct dirent *de;
	int dup_fd;

	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat a directory beneath %s", path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;

	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return enc_err_sys(err, -errno, "cannot remove %s", path);
	d = fdopendir(dup_fd);
	if (!d) {
		int r = -errno;

		close(dup_fd);
		return enc_err_sys(err, r, "cannot list a directory beneath %s", path);
	}
	for (;;) {
		bool is_dir;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return enc_err_sys(err, -errno, "cannot list a directory beneath %s", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;
				return enc_err_sys(err, -errno, "cannot stat %s beneath %s",
						   de->d_name, path);
			}
			is_dir = S_ISDIR(st.st_mode);
		} else {
			is_dir = de->d_type == DT_DIR;
		}
		if (is_dir) {
			if (rm_level_add(l, de->d_name) < 0)
				return enc_err_sys(err, -ENOMEM, "cannot remove %s", path);
			continue;
		}
		if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
			/* EBUSY: a file bind-mounted over this entry. */
			if (errno == EBUSY)
				return enc_err_set(err, -EXDEV, "cannot remove %s beneath %s: it is a mount point",
						   de->d_name, path);
			return enc_err_sys(err, -errno, "cannot remove %s beneath %s", de->d_name, path);
		}
	}
	return 0;
}

static int rm_tree(int topfd, const char *path, struct enc_err *err)
{
	struct rm_level *stack = NULL;
	size_t depth = 0, cap = 0;
	int cur = -1, r;

	cur = fcntl(topfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return enc_err_sys(err, -errno, "cannot remove %s", path);

	for (;;) {
		struct rm_level *l;

		if (depth == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct rm_level *p = reallocarray(stack, ncap, sizeof(*p));

			if (!p) {
				r = enc_err_sys(err, -ENOMEM, "cannot remove %s", path);
				goto out;
			}
			stack = p;
			cap = ncap;
		}
		l = &stack[depth++];
		*l = (struct rm_level){ 0 };
		r = rm_scan(cur, l, path, err);
		if (r < 0)
			goto out;

		/* Descend into the next subdirectory; when none is left,
		 * climb back up, removing emptied directories. */
		for (;;) {
			int next;

			l = &stack[depth - 1];
			if (l->i < l->n) {
				const char *name = l->names[l->i];

				next = openat2_raw(cur, name, O_DIRECTORY | O_RDONLY, 0);
				if (next == -ENOENT) {
					l->i++;
					continue;
				}
				if (next == -ELOOP || next == -ENOTDIR) {
					/* Replaced by a symlink or a file since the
					 * scan: remove the entry itself, which never
					 * follows it. */
					if (unlinkat(cur, name, 0) < 0 && errno != ENOENT) {
						r = enc_err_sys(err, -errno, "cannot remove %s beneath %s",
								name, path);
						goto out;
					}
					l->i++;
					continue;
				}
				if (next < 0) {
					if (next == -EXDEV)
						r = enc_err_set(err, next, "cannot remove %s: %s beneath it is a mount point",
								path, name);
					else
						r = enc_err_sys(err, next, "cannot remove %s: cannot open %s beneath it",
								path, name);
					goto out;
				}
				close(cur);
				cur = next;
				break;
			}
			if (depth == 1) {
				r = 0;
				goto out;
			}

			struct rm_level *up = &stack[depth - 2];
			struct stat st;

			next = openat(cur, "..", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (next < 0) {
				r = enc_err_sys(err, -errno, "cannot remove %s", path);
				goto out;
			}
			if (fstat(next, &st) < 0 || st.st_dev != up->dev || st.st_ino != up->ino) {
				close(next);
				r = enc_err_set(err, -ESTALE, "cannot remove %s: a directory was moved during removal",
						path);
				goto out;
			}
			close(cur);
			cur = next;
			rm_level_free(l);
			depth--;
			if (unlinkat(cur, up->names[up->i], AT_REMOVEDIR) < 0 && errno != ENOENT) {
				r = enc_err_sys(err, -errno, "cannot remove %s beneath %s",
						up->names[up->i], path);
				goto out;
			}
			up->i++;
		}
	}
out:
	for (size_t k = 0; k < depth; k++)
		rm_level_free(&stack[k]);
	free(stack);
	if (cur >= 0)
		close(cur);
	return r;
}

int enc_rm_rf_at(int dirfd, const char *path, struct enc_err *err)
{
	_cleanup_close_ int pfd = -1;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *base = NULL;
	struct stat st;
	int dfd, r;

	struct enc_err perr = { 0 };

	r = open_parent(dirfd, path, &pfd, &base, &perr);
	if (r == -ENOENT)
		return 0;	/* a missing parent means a missing path */
	if (r < 0)
		return err_copy(err, &perr);
	dfd = pfd >= 0 ? pfd : dirfd;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return enc_err_sys(err, -errno, "cannot stat %s", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		/* Files, symlinks (the link, never its target), FIFOs, ... */
		if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT) {
			if (errno == EBUSY)
				return enc_err_set(err, -EXDEV, "cannot remove %s: it is a mount point", path);
			return enc_err_sys(err, -errno, "cannot remove %s", path);
		}
		return 0;
	}
	/* An empty directory (a workspace's home after most runs) goes in
	 * one call; rmdir removes nothing else, and a mount point in our
	 * namespace is EBUSY, which the walk below reports as such. */
	if (unlinkat(dfd, base, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	fd = openat2_raw(dfd, base, O_DIRECTORY | O_RDONLY, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd == -EXDEV)
		return enc_err_set(err, -EXDEV, "cannot remove %s: it is a mount point", path);
	if (fd < 0)
		return open_error(err, fd, path);
	r = rm_tree(fd, path, err);
	if (r < 0)
		return r;
	if (unlinkat(dfd, base, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return enc_err_sys(err, -errno, "cannot remove %s", path);
	return 0;
}

/* Open a lock file; create decides whether a missing one is made. */
static int lock_open(int dirfd, const char *name, bool create, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;

	/* O_NONBLOCK: a FIFO planted as the lock must not block the open.
	 * It does not affect flock(), which takes LOCK_NB explicitly. */
	if (create)
		flags |= O_CREAT;
	fd = enc_openat(dirfd, name, flags, 0600, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "cannot stat lock %s", name);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "lock %s is not a regular file", name);
	return steal_fd(&fd);
}

int enc_lock_open(int dirfd, const char *name, struct enc_err *err)
{
	return lock_open(dirfd, name, true, err);
}

int enc_lock_take(int fd, enum enc_lock_mode mode, bool wait, struct enc_err *err)
{
	int op;

	switch (mode) {
	case ENC_LOCK_SHARED:
		op = LOCK_SH;
		break;
	case ENC_LOCK_EXCLUSIVE:
		op = LOCK_EX;
		break;
	default:
		return enc_err_set(err, -EINVAL, "bad lock mode %d", (int)mode);
	}
	if (!wait)
		op |= LOCK_NB;
	if (ENC_RETRY(flock(fd, op)) < 0) {
		int r = -errno;

		if (r == -EWOULDBLOCK)
			return enc_err_set(err, r, "the lock is held by another process");
		return enc_err_sys(err, r, "cannot take lock");
	}
	return 0;
}

int enc_lock_at(int dirfd, const char *name, enum enc_lock_mode mode, bool wait,
		struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = enc_lock_open(dirfd, name, err);
	if (fd < 0)
		return fd;
	r = enc_lock_take(fd, mode, wait, NULL);
	if (r == -EWOULDBLOCK)
		return enc_err_set(err, r, "%s is locked by another process", name);
	if (r < 0)
		return enc_err_sys(err, r, "cannot lock %s", name);
	return steal_fd(&fd);
}

int enc_lock_held(int dirfd, const char *name, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;

	struct enc_err lerr = { 0 };

	fd = lock_open(dirfd, name, false, &lerr);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return err_copy(err, &lerr);
	/* A shared probe conflicts only with an exclusive holder, which is
	 * what an owner holds; the probe is dropped when fd closes. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return 1;
		return enc_err_sys(err, -errno, "cannot probe lock %s", name);
	}
	return 0;
}

int enc_stdio_devnull(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int i = 0; i <= 2; i++)
		if (dup2(fd, i) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
	if (fd > 2)
		close(fd);
	return 0;
}

int enc_close_fds_except(const int *keep, size_t nkeep)
{
	unsigned int lo = 3;

	/* No allocation and no sorting: this runs between fork and exec, and
	 * keep lists are a handful of fds, so finding the next kept fd by a
	 * scan is cheap. */
	for (;;) {
		unsigned int next = UINT_MAX;
		bool found = false;

		for (size_t i = 0; i < nkeep; i++) {
			if (keep[i] >= 0 && (unsigned int)keep[i] >= lo &&
			    (unsigned int)keep[i] <= next) {
				next = (unsigned int)keep[i];
				found = true;
			}
		}
		if (!found) {
			if (close_range(lo, UINT_MAX, 0) < 0)
				return -errno;
			return 0;
		}
		if (next > lo && close_range(lo, next - 1, 0) < 0)
			return -errno;
		if (next == UINT_MAX)
			return 0;
		lo = next + 1;
	}
}
