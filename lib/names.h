/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * names.h - validation of every name that becomes a path component, a
 * hostname or an environment variable.
 *
 * Contract: pure. Sandbox, workspace and provider names follow the allowlist
 * [A-Za-z0-9][A-Za-z0-9_.-]* with at most ENC_NAME_MAX bytes, and never end
 * in ".new" or ".tmp" or contain ".." (reserved for the state directory's
 * temporary files). Environment variable names are [A-Za-z_][A-Za-z0-9_]*,
 * at most ENC_ENVNAME_MAX bytes. On error err says which kind of name, what
 * was wrong and what is allowed.
 *
 * Part of the helper core.
 */
#ifndef ENCLAVE_NAMES_H
#define ENCLAVE_NAMES_H

#include <stdbool.h>
#include "err.h"

#define ENC_NAME_MAX 63
#define ENC_ENVNAME_MAX 128

enum enc_name_kind {
	ENC_NAME_SANDBOX,
	ENC_NAME_WORKSPACE,
	ENC_NAME_PROVIDER,
};

/* Returns 0 or -EINVAL. */
int enc_name_check(enum enc_name_kind kind, const char *name, struct enc_err *err);
bool enc_name_valid(const char *name);

/* Returns 0 or -EINVAL. */
int enc_envname_check(const char *name, struct enc_err *err);

/* "sandbox", "workspace", "provider". */
const char *enc_name_kind_str(enum enc_name_kind kind);

/* A generation id: ENC_GEN_ID_LEN lowercase hex digits. Here rather than
 * in sandbox.c so that the runtime, which checks the id it reads, does not
 * link sandbox.c and with it rootfs.c and libarchive (and libarchive's
 * libxml2, ICU, libstdc++...): about 2 ms of dynamic loading per start. */
#define ENC_GEN_ID_LEN 16
bool enc_gen_id_valid(const char *s);

#endif
