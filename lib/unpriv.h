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
 * set, that directory. user: the workspace user inside. */
int enc_unpriv_mounts(const struct enc_state *st, const char *rootfs, int userns,
		      int home_dir_fd, const char *project, uid_t user,
		      struct enc_mount_fds *out, struct enc_err *err);

/* The caller's delegated cgroup subtree: ask the helper for it (moving
 * the process of pidfd, -1 for none, into it) and probe with it as
 * enclave's parent (enc_cgroup_probe_user()). */
int enc_unpriv_cgroup(int pidfd, struct enc_cgroup_sys *sys, struct enc_err *err);

/* The same, moving the calling process in (the monitor; enter and
 * enclave-net publish, whose children must join a workspace cgroup). */
int enc_unpriv_cgroup_self(struct enc_cgroup_sys *sys, struct enc_err *err);

#endif
