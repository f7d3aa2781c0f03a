/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fsutil.h - fd-relative file system access beneath a trusted directory,
 * atomic one-fact files and flock(2) locks.
 *
 * Contract:
 *  - Every path argument is relative to a directory fd and is resolved with
 *    openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 *    RESOLVE_NO_XDEV): a symlink anywhere in the path, "..", an absolute
 *    path or a mount point crossing is refused (-ELOOP, -EXDEV, ...). On a
 *    kernel without openat2 (< 5.6) the calls fail with -ENOSYS; enclave's
 *    floor is 6.1, so there is no weaker fallback.
 *  - Every fd returned is O_CLOEXEC.
 *  - Functions return an fd (>= 0) or 0 on success, -errno on failure, and
 *    fill err (if non-NULL) with what failed, naming the path.
 *
 * Part of the helper core.
 */
#ifndef ENCLAVE_FSUTIL_H
#define ENCLAVE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* openat2 beneath dirfd with the resolve flags above. flags get O_CLOEXEC
 * added; O_CREAT needs a mode. */
int enc_openat(int dirfd, const char *path, int flags, mode_t mode,
	       struct enc_err *err);

/* Open a directory beneath dirfd (O_DIRECTORY|O_RDONLY). */
int enc_opendir_at(int dirfd, const char *path, struct enc_err *err);

/* Create every missing component of path beneath dirfd with mode (an
 * existing component must be a directory, not a symlink) and return an
 * O_DIRECTORY fd to the last one. */
int enc_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct enc_err *err);

/* Atomically replace the one-fact file `name` in dirfd: write to
 * "name.new" created with O_EXCL and mode, fsync when `sync`, rename over
 * name, fsync the directory when `sync`. A stale "name.new" left by a crash
 * is removed and the write retried once: callers hold the lock of the
 * object they write, so a leftover cannot belong to a live writer. On
 * failure nothing is left behind and the old file is intact. */
int enc_fact_write(int dirfd, const char *name, const void *data, size_t len,
		   mode_t mode, bool sync, struct enc_err *err);

/* Printf into a fact file (adds nothing: include "\n" if you want one). */
int enc_fact_printf(int dirfd, const char *name, mode_t mode, bool sync,
		    struct enc_err *err, const char *fmt, ...) ENC_PRINTF(6, 7);

/* Read a whole regular file beneath dirfd of at most max bytes into a new
 * NUL-terminated buffer. Symlinks, non-regular files and files larger than
 * max are refused (-ELOOP, -EINVAL, -EFBIG). A single trailing newline is
 * stripped when strip_nl. *len (optional) receives the length. */
int enc_fact_read(int dirfd, const char *name, size_t max, bool strip_nl,
		  char **out, size_t *len, struct enc_err *err);

/* Remove a directory tree beneath dirfd without following symlinks or
 * crossing mount points (an entry on another mount is an error, -EXDEV,
 * and nothing beneath it is touched). Missing path is success. */
int enc_rm_rf_at(int dirfd, const char *path, struct enc_err *err);

/* Locks: flock(2) on a lock file beneath dirfd, created 0600 if missing.
 * Liveness contract (DESIGN.md §3): the owner of an object holds LOCK_EX
 * on its lock for its whole life; "alive" means that lock is held.
 *
 * enc_lock_open() returns the lock fd (not locked yet).
 * enc_lock_take() takes it: exclusive or shared; with wait false it
 * returns -EWOULDBLOCK when someone else holds a conflicting lock.
 * enc_lock_at() = open + take, returning the locked fd. Closing the fd
 * releases the lock (and so does the process dying, even by SIGKILL). */
enum enc_lock_mode {
	ENC_LOCK_SHARED,
	ENC_LOCK_EXCLUSIVE,
};
int enc_lock_open(int dirfd, const char *name, struct enc_err *err);
int enc_lock_take(int fd, enum enc_lock_mode mode, bool wait, struct enc_err *err);
int enc_lock_at(int dirfd, const char *name, enum enc_lock_mode mode, bool wait,
		struct enc_err *err);

/* Is the lock `name` beneath dirfd held exclusively by someone (= alive)?
 * Returns 1 alive, 0 not alive (including a missing lock file), -errno on
 * error. Probes with a non-blocking shared lock that is dropped at once. */
int enc_lock_held(int dirfd, const char *name, struct enc_err *err);

/* Close every fd >= 3 except those listed (sorted or not), for the moment
 * before exec. Uses close_range(2). */
int enc_close_fds_except(const int *keep, size_t nkeep);

/* Point standard input, output and error at /dev/null (a detached
 * process letting go of its caller's terminal and pipes). 0 or -errno. */
int enc_stdio_devnull(void);

#endif
