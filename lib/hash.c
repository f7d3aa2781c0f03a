/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "hash.h"

struct enc_sha256 {
	EVP_MD_CTX *ctx;
};

struct enc_sha256 *enc_sha256_new(void)
{
	struct enc_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		enc_sha256_free(h);
		return NULL;
	}
	return h;
}

void enc_sha256_update(struct enc_sha256 *h, const void *data, size_t len)
{
	if (h && len)
		EVP_DigestUpdate(h->ctx, data, len);
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
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int r = 0;

	if (!h)
		return -ENOMEM;
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != ENC_SHA256_LEN)
		r = -EIO;
	else {
		for (unsigned i = 0; i < n; i++) {
			hex[2 * i] = digits[md[i] >> 4];
			hex[2 * i + 1] = digits[md[i] & 0xf];
		}
		hex[2 * n] = '\0';
	}
	enc_sha256_free(h);
	return r;
}

void enc_sha256_free(struct enc_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
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
