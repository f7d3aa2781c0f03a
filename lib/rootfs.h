/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rootfs.h - filling a new, empty root file system directory: running
 * debootstrap or mmdebstrap, importing a tar archive (libarchive) or a
 * directory, adopting a cached rootfs, and measuring the result.
 *
 * Contract:
 *  - The target is an empty directory the caller owns (a generation being
 *    built in the store's temp area). On failure the target holds partial
 *    content; the caller removes it. Nothing outside the target is written.
 *  - The library never prints: output lines of the bootstrap programs are
 *    handed to opts->line; errors land in err.
 *  - Cancellation: when *opts->cancel becomes non-zero (a signal handler
 *    sets it), the operation stops at the next entry or poll tick, kills
 *    its child processes and returns -ECANCELED.
 *  - Import security (tar, dir, cached rootfs): character and block device
 *    nodes are refused, as are entry paths that are absolute or contain
 *    "..", hard links whose target is absolute, contains ".." or is reached
 *    through a symlink, and any entry whose parent path goes through a
 *    symlink (no writing through symlinks, whatever they point at); the
 *    directory walks create every entry with O_EXCL/O_NOFOLLOW beneath
 *    directories they made themselves, so they cannot either. Owners,
 *    modes, times, ACLs, xattrs (security.capability included) and hard
 *    links are kept; owners stay numeric (the host's user database is never
 *    consulted). enc_rootfs_import_tar() changes the working directory
 *    during the call and restores it: not thread-safe.
 *  - Needs root (owners are preserved); callers say so for other users.
 */
#ifndef ENCLAVE_ROOTFS_H
#define ENCLAVE_ROOTFS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "err.h"
#include "hash.h"
#include "sandbox.h"

struct enc_rootfs_opts {
	/* Each output line of a bootstrap program (without the newline). */
	void (*line)(void *ctx, const char *line);
	void *ctx;
	volatile sig_atomic_t *cancel;	/* may be NULL */
	/* Program to run instead of "debootstrap"/"mmdebstrap" (looked up in
	 * PATH=/usr/sbin:/usr/bin:/sbin:/bin when it has no '/'). */
	const char *program;
	/* Seconds without any output from the bootstrap program before it is
	 * killed (0: 300). */
	unsigned stall_timeout;
	/* A scratch directory of the build (for wgetrc), path and fd. */
	const char *work_path;
	int work_fd;
	/* Directory and cached-tree imports: files owned by this uid (gid)
	 * become root's (0) in the copy; 0 for none. An ordinary user's own
	 * files, seen from the storage namespace (lib/unpriv.h). */
	uid_t own_uid;
	gid_t own_gid;
};

/* Run debootstrap or mmdebstrap (r->method) into target (an absolute path
 * of an empty directory). As root the program runs in its own mount and PID
 * namespaces, so whatever it mounts disappears with it, and it dies with
 * the caller (PR_SET_PDEATHSIG), even on SIGKILL. debootstrap needs root:
 * -EPERM with a message saying so otherwise; mmdebstrap runs in its
 * unshare mode for other users, and then target may also be a file name
 * ending in ".tar": a tarball without /dev (its unshare mode cannot write
 * a directory the user's subordinate ids cannot reach). An http(s) mirror
 * is probed first (enc_rootfs_probe_mirror) so a dead one fails in
 * seconds. */
int enc_rootfs_bootstrap(const struct enc_recipe *r, const char *target,
			 const struct enc_rootfs_opts *o, struct enc_err *err);

/* Can the mirror be reached? http(s): a TCP connect to its host and port
 * within timeout_ms (skipped, returning 0, when a proxy variable applies);
 * file://: the directory exists. Other schemes: 0. */
int enc_rootfs_probe_mirror(const char *mirror, unsigned timeout_ms, struct enc_err *err);

/* Extract a tar archive (plain, gzip, xz, zstd, bzip2, ... detected by
 * libarchive) into target_fd. */
int enc_rootfs_import_tar(const char *file, int target_fd,
			  const struct enc_rootfs_opts *o, struct enc_err *err);

/* Copy the tree at src (an absolute path) into target_fd (whose path is
 * target_path), fd-relative on both sides: reflinked (FICLONE) where the
 * file system can, else copied. A mount point beneath src is recreated as
 * an empty directory and not entered. */
int enc_rootfs_import_dir(const char *src, int target_fd, const char *target_path,
			  const struct enc_rootfs_opts *o, struct enc_err *err);

/* Locate the cache for cached_rootfs: <store>/rootfs-cache/<suite>/ or
 * else <store>/rootfs-cache/base/. Returns an O_DIRECTORY fd and its path
 * relative to the store ("rootfs-cache/bookworm"); -ENOENT with both
 * absolute paths named when neither exists. */
int enc_rootfs_cache_open(const struct enc_store *s, const char *suite,
			  char **relpath, struct enc_err *err);

enum enc_adopt_mode {
	ENC_ADOPT_REFLINK,	/* FICLONE: own inodes sharing data blocks */
	ENC_ADOPT_HARDLINK,	/* every regular file hard-linked */
	ENC_ADOPT_COPY,		/* a different file system: a full copy */
};
const char *enc_adopt_mode_str(enum enc_adopt_mode m);

/* Adopt the tree at src_fd (path src_path, used for the xattrs of
 * symlinks) into target_fd (path target_path): a reflink clone where the
 * file system supports it, else a hard-link farm (directories, symlinks
 * and FIFOs recreated with owner, mode, times and xattrs), or a copy when
 * source and target are on different file systems. Mount points as in
 * enc_rootfs_import_dir(). */
int enc_rootfs_adopt(int src_fd, const char *src_path, int target_fd,
		     const char *target_path, const struct enc_rootfs_opts *o,
		     enum enc_adopt_mode *mode, struct enc_err *err);

/* Fingerprints that enter the generation id. A file: SHA-256 of its
 * content. A directory: a cheap one, SHA-256 over the device, inode, mtime
 * and ctime of the directory and the sorted names and mtimes of its
 * top-level entries; a change deep inside that touches none of these goes
 * unnoticed (documented in enclave-bootstrap(1)). */
int enc_rootfs_fingerprint_file(const char *path, char hex[ENC_SHA256_HEX],
				struct enc_err *err);
int enc_rootfs_fingerprint_dir(int dirfd, const char *what, char hex[ENC_SHA256_HEX],
			       struct enc_err *err);

/* Bytes allocated by the tree (st_blocks * 512, each inode once, not
 * crossing mount points). With strip_devices, character and block device
 * nodes are removed on the way (bootstrap programs create some in /dev;
 * workspaces get their own /dev) and counted in *stripped. */
int enc_rootfs_measure(int dirfd, bool strip_devices, uint64_t *bytes,
		       unsigned *stripped, struct enc_err *err);

#endif
