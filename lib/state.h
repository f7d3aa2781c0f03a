/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.h - where enclave keeps its state, opened once and walked
 * fd-relative (DESIGN.md §11).
 *
 * Locations:
 *   root:  data /var/lib/enclave, runtime /run/enclave
 *   user:  data ${XDG_DATA_HOME:-$HOME/.local/share}/enclave,
 *          runtime $XDG_RUNTIME_DIR/enclave, or <data>/run when
 *          XDG_RUNTIME_DIR is unset (never a guessable name in /tmp)
 * ENCLAVE_STATE_DIR and ENCLAVE_RUNTIME_DIR override either (tests,
 * packaging); they must be absolute paths.
 *
 * Contract: enc_state_open() creates what is missing (mode 0700, owned by
 * the caller's euid; parents of the data dir may be created 0700 too), then
 * opens both roots and checks that each is a real directory (not a symlink),
 * owned by the euid and not writable by group or others. Anything else is
 * refused with a message naming the path and what is wrong; nothing is
 * "fixed" silently. All later access goes through the fds with fsutil.h.
 *
 * Layout beneath the data root (created on demand by the users):
 *   sandboxes/<name>/...   workspaces/<sandbox>/<ws>/...   auth/<provider>.token
 */
#ifndef ENCLAVE_STATE_H
#define ENCLAVE_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "err.h"

struct enc_state {
	int data_fd;		/* O_DIRECTORY fd of the data root */
	int run_fd;		/* O_DIRECTORY fd of the runtime root */
	char *data_path;	/* for messages and for child programs */
	char *run_path;
	uid_t uid;		/* the owner: the caller's euid */
	gid_t gid;
	bool system;		/* root's store in /var/lib/enclave */
};

#define ENC_STATE_INIT { .data_fd = -1, .run_fd = -1 }

/* Resolve the data and runtime paths from the environment and euid without
 * touching the file system. Caller frees both. */
int enc_state_paths(char **data_path, char **run_path, struct enc_err *err);

/* Open (creating if needed) and verify. */
int enc_state_open(struct enc_state *st, struct enc_err *err);
void enc_state_close(struct enc_state *st);

/* Open or create a subdirectory beneath the data root ("sandboxes",
 * "sandboxes/devbox", ...), mode 0700. */
int enc_state_subdir(const struct enc_state *st, const char *path, bool create,
		     struct enc_err *err);

#endif
