/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash.h - SHA-256 through libsodium, for sandbox generation names
 * and the audit log's hash chain. Not part of the helper core.
 */
#ifndef ENCLAVE_HASH_H
#define ENCLAVE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define ENC_SHA256_LEN 32
#define ENC_SHA256_HEX (2 * ENC_SHA256_LEN + 1)

struct enc_sha256;	/* opaque */

struct enc_sha256 *enc_sha256_new(void);
void enc_sha256_update(struct enc_sha256 *h, const void *data, size_t len);
/* Feed a length-prefixed field, so ("ab","c") and ("a","bc") differ. */
void enc_sha256_field(struct enc_sha256 *h, const char *s);
/* Finish into lowercase hex (ENC_SHA256_HEX bytes with NUL) and free h. */
int enc_sha256_final_hex(struct enc_sha256 *h, char hex[ENC_SHA256_HEX]);
void enc_sha256_free(struct enc_sha256 *h);

int enc_sha256_hex(const void *data, size_t len, char hex[ENC_SHA256_HEX]);

#endif
