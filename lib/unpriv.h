/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unpriv.h - the runtime's steps for an ordinary user (DESIGN.md §4, §5):
 * what root does directly, asked of enclave-helper instead. Glue only: the
 * helper re-checks everything on its side.
 *
 * The unprivileged path is taken when geteuid() != 0. The helper is
 * $ENCLAVE_HELPER when that is an absolute path (a build-local install, a
 * test), else ENCLAVE_HELPERDIR "/enclave-helper".
 *
 * Contract: 0 or -errno with err filled; never prints or exits; fds are
 * O_CLOEXEC.
 */
#ifndef ENCLAVE_UNPRIV_H
#define ENCLAVE_UNPRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include "cgroup.h"
#include "err.h"
#include "mounts.h"
#include "state.h"

static inline bool enc_unpriv(void)
{
	return geteuid() != 0;
}

const char *enc_helper_path(void);

/* The host ids of workspace id slot `slot`: the slot-th block of
 * ENC_IDPOOL_SIZE ids in the caller's /etc/subuid (and /etc/subgid)
 * ranges, taken in file order, so every workspace of the user has its
 * own disjoint block. Too few subordinate ids is -ERANGE with a message
 * naming the file and how many ids are needed. */
int enc_unpriv_idbase(uint32_t slot, uint32_t *uid_base, uint32_t *gid_base,
		      struct enc_err *err);

/* Map 0..ENC_IDPOOL_SIZE-1 of pidfd's user namespace onto the bases. */
int enc_unpriv_uidmap(int pidfd, uint32_t uid_base, uint32_t gid_base, struct enc_err *err);

/* The detached, idmapped trees of a workspace: the generation's rootfs
 * (rootfs: an absolute path beneath st's sandboxes directory), the home
 * (home_dir_fd's "home", created 0700 if missing) and, when project is
 * set, that directory. user: the workspace user inside. With persist, the
 * persistent upper layer too: home_dir_fd's fs/ with upper/ and work/,
 * made the workspace root's (host ids persist's bases) and cloned by the
 * helper (fds persist, persist_upper, persist_work). */
struct enc_unpriv_persist {
	uint32_t uid_base, gid_base;	/* the workspace's host ids */
};
int enc_unpriv_mounts(const struct enc_state *st, const char *rootfs, int userns,
		      int home_dir_fd, const char *project, uid_t user,
		      const struct enc_unpriv_persist *persist,
		      struct enc_mount_fds *out, struct enc_err *err);

/* The caller's delegated cgroup subtree: ask the helper for it (moving
 * the process of pidfd, -1 for none, into it) and probe with it as
 * enclave's parent (enc_cgroup_probe_user()). */
int enc_unpriv_cgroup(int pidfd, struct enc_cgroup_sys *sys, struct enc_err *err);

/* The same, moving the calling process in (the monitor; enter and
 * enclave-net publish, whose children must join a workspace cgroup). */
int enc_unpriv_cgroup_self(struct enc_cgroup_sys *sys, struct enc_err *err);

/* An ordinary user's sandboxes are stored shifted, the way mmdebstrap's
 * unshare mode leaves them: id N of the rootfs is the caller's storage id
 * base + N on disk, the base being the first block of ENC_IDPOOL_SIZE ids
 * of the caller's first /etc/subuid (and /etc/subgid) range. The helper
 * shows such a rootfs to each workspace through its own idmapped mount.
 *
 * Run fn(arg, err) in a child process that is root of a new user
 * namespace mapping 0..ENC_IDPOOL_SIZE-1 onto the storage ids, and
 * ENC_IDPOOL_SIZE onto the caller itself, so that it can fill and remove
 * trees of either in the caller's own directories. The maps are written by
 * newuidmap and newgidmap (package uidmap; the same tools mmdebstrap
 * uses), which check /etc/subuid and /etc/subgid themselves:
 * enclave-helper never maps a caller's own ids. fn's error comes back in
 * err; the result is fn's (-errno), or -errno of the setup. */
int enc_unpriv_storage_run(int (*fn)(void *arg, struct enc_err *err), void *arg,
			   struct enc_err *err);

/* enc_rm_rf_at() for a tree that may hold storage ids: as the caller
 * first, then, for what the caller may not remove, in the namespace of
 * enc_unpriv_storage_run(). As root it is enc_rm_rf_at(). */
int enc_unpriv_rm_rf_at(int dirfd, const char *path, struct enc_err *err);

/* The same for a tree of a workspace's (its persistent upper layer): with
 * the host ids of its id slot instead of the storage ids. */
int enc_unpriv_rm_rf_slot(int dirfd, const char *path, uint32_t slot, struct enc_err *err);

/* enc_unpriv_storage_run() with the given host id bases (a workspace's). */
int enc_unpriv_ids_run(uint32_t uid_base, uint32_t gid_base,
		       int (*fn)(void *arg, struct enc_err *err), void *arg, struct enc_err *err);

#endif
