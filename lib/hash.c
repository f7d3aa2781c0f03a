/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash.c - SHA-256 through libsodium. libsodium rather than OpenSSL's
 * libcrypto: the same well-kept primitive, but no configuration file or
 * provider set-up on first use and a tenth of the size to load, which
 * matters on a workspace's start path (the audit chain hashes there).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "hash.h"

struct enc_sha256 {
	crypto_hash_sha256_state st;
};

struct enc_sha256 *enc_sha256_new(void)
{
	/* sodium_init() is idempotent and thread-safe; < 0 means the
	 * library could not initialise at all. */
	if (sodium_init() < 0)
		return NULL;
	struct enc_sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	crypto_hash_sha256_init(&h->st);
	return h;
}

void enc_sha256_update(struct enc_sha256 *h, const void *data, size_t len)
{
	if (h && len)
		crypto_hash_sha256_update(&h->st, data, len);
}

void enc_sha256_field(struct enc_sha256 *h, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;
	unsigned char be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)(n >> (56 - 8 * i));
	enc_sha256_update(h, be, sizeof(be));
	if (s)
		enc_sha256_update(h, s, strlen(s));
}

int enc_sha256_final_hex(struct enc_sha256 *h, char hex[ENC_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[crypto_hash_sha256_BYTES];

	if (!h)
		return -ENOMEM;
	crypto_hash_sha256_final(&h->st, md);
	for (unsigned i = 0; i < ENC_SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * ENC_SHA256_LEN] = '\0';
	enc_sha256_free(h);
	return 0;
}

void enc_sha256_free(struct enc_sha256 *h)
{
	if (!h)
		return;
	sodium_memzero(h, sizeof(*h));
	free(h);
}

int enc_sha256_hex(const void *data, size_t len, char hex[ENC_SHA256_HEX])
{
	struct enc_sha256 *h = enc_sha256_new();

	if (!h)
		return -ENOMEM;
	enc_sha256_update(h, data, len);
	return enc_sha256_final_hex(h, hex);
}
