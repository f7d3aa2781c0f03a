/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox-internal.h - what sandbox.c shares with sandbox-build.c only.
 */
#ifndef ENCLAVE_SANDBOX_INTERNAL_H
#define ENCLAVE_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "err.h"
#include "sandbox.h"

/* debootstrap or mmdebstrap: the methods that take suite, mirror, ... */
bool enc_sandbox_debian_method(enum enc_bootstrap_method m);

/* The O_DIRECTORY fd of sandbox name in the store, -ENOENT "no sandbox
 * named ..." when there is none. */
int enc_sandbox_open_dir(const struct enc_store *s, const char *name, struct enc_err *err);

/* gen/<id>/recipe and info of a generation directory gfd. */
int enc_sandbox_write_gen_files(int gfd, const struct enc_recipe *r, const char *text,
				uint64_t size, const char *extra_info, bool sync,
				struct enc_err *err);

/* enc_rootfs_measure() of a rootfs; an ordinary user's as root of the
 * storage namespace (lib/unpriv.h), where all of it can be read. */
int enc_sandbox_measure_tree(int fd, bool strip, uint64_t *size, struct enc_err *err);

#endif
