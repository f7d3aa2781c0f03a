/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-hash.c - SHA-256 against the FIPS 180-2 vectors, incremental use,
 * and the length-prefixed fields that keep ("ab","c") and ("a","bc") apart
 * in generation names and the audit chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "tap.h"

static void check_hex(const char *data, size_t len, const char *want, const char *name)
{
	char hex[ENC_SHA256_HEX];
	int r;

	memset(hex, 'x', sizeof(hex));
	r = enc_sha256_hex(data, len, hex);
	is_int(r, 0, "enc_sha256_hex returns 0");
	is_str(hex, want, name);
}

/* The digest of a sequence of enc_sha256_field() calls; NULL ends. */
static void fields_hex(char hex[ENC_SHA256_HEX], int n, const char *const *f)
{
	struct enc_sha256 *h = enc_sha256_new();

	for (int i = 0; i < n; i++)
		enc_sha256_field(h, f[i]);
	if (enc_sha256_final_hex(h, hex) != 0)
		strcpy(hex, "error");
}

int main(void)
{
	char hex[ENC_SHA256_HEX], hex2[ENC_SHA256_HEX];
	struct enc_sha256 *h;
	char *million;

	/* FIPS 180-2 / NIST examples. */
	check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "sha256(\"\")");
	check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "sha256(\"abc\")");
	check_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  "sha256 of the 448-bit message");
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	check_hex(million, 1000000,
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		  "sha256 of one million 'a'");

	/* Incremental: odd-sized pieces give the same digest as one shot. */
	h = enc_sha256_new();
	ok(h != NULL, "enc_sha256_new");
	for (size_t off = 0; off < 1000000;) {
		size_t n = off % 997 + 1;

		if (off + n > 1000000)
			n = 1000000 - off;
		enc_sha256_update(h, million + off, n);
		off += n;
	}
	enc_sha256_update(h, million, 0);	/* zero-length update is a no-op */
	is_int(enc_sha256_final_hex(h, hex), 0, "final_hex returns 0");
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "incremental digest equals the one-shot digest");
	free(million);

	is_int(strlen(hex), 64, "hex digest is 64 characters");
	is_int(enc_sha256_final_hex(NULL, hex), -ENOMEM, "final_hex(NULL) is -ENOMEM");
	enc_sha256_free(NULL);
	ok(1, "enc_sha256_free(NULL) is harmless");

	/* Fields: a big-endian 64-bit length, then the bytes (reference
	 * digests computed independently). */
	fields_hex(hex, 2, (const char *const[]){ "ab", "c" });
	fields_hex(hex2, 2, (const char *const[]){ "a", "bc" });
	is_str(hex, "601d5476e2ccfe2c87a2bba7a322659734a05749d5b5aa781f513e4912db0d5f",
	       "field(\"ab\"), field(\"c\")");
	is_str(hex2, "3fafa1cf2f19a7c1129beb20cf0983f73a489a221fc0dd2f16d1be292d089205",
	       "field(\"a\"), field(\"bc\")");
	ok(strcmp(hex, hex2) != 0, "(\"ab\",\"c\") and (\"a\",\"bc\") differ");

	fields_hex(hex, 1, (const char *const[]){ "abc" });
	is_str(hex, "c3494ca1a2cf8eeb8a11ded316fb55b83c3bbbedb6313cd50415251e5d09e12f",
	       "field(\"abc\")");
	check_hex("\0\0\0\0\0\0\0\3abc", 11,
		  "c3494ca1a2cf8eeb8a11ded316fb55b83c3bbbedb6313cd50415251e5d09e12f",
		  "field(\"abc\") is sha256 of be64(3) || \"abc\"");

	fields_hex(hex, 1, (const char *const[]){ "" });
	is_str(hex, "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc",
	       "field(\"\") hashes a zero length");
	fields_hex(hex2, 1, (const char *const[]){ NULL });
	is_str(hex2, "12a3ae445661ce5dee78d0650d33362dec29c4f82af05e7e57fb595bbbacf0ca",
	       "field(NULL) hashes length 2^64-1, distinct from \"\"");

	return tap_done();
}
