/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.h - a small streaming JSON writer for --json output, result.json and
 * audit records.
 *
 * Contract: writes to a FILE*. Strings are escaped per RFC 8259: '"', '\\'
 * and control characters (U+0000..U+001F, and U+007F) are escaped; valid
 * UTF-8 passes through; each byte of invalid UTF-8 is replaced by U+FFFD so
 * the output is always valid JSON. Nesting is tracked (max ENC_JSON_DEPTH);
 * misuse (a value where a key is needed, unbalanced end, too deep) sets a
 * sticky error that enc_json_finish() returns as -EINVAL. Compact output by
 * default (one line), ENC_JSON_PRETTY for two-space indentation.
 */
#ifndef ENCLAVE_JSON_H
#define ENCLAVE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define ENC_JSON_DEPTH 32

enum {
	ENC_JSON_PRETTY = 1 << 0,
};

struct enc_json {
	FILE *f;
	unsigned flags;
	int depth;
	int error;
	bool first[ENC_JSON_DEPTH + 1];	/* no element written yet at this level */
	bool is_obj[ENC_JSON_DEPTH + 1];
	bool want_value;		/* a key was written, its value is due */
};

void enc_json_init(struct enc_json *j, FILE *f, unsigned flags);

void enc_json_obj_begin(struct enc_json *j);
void enc_json_obj_end(struct enc_json *j);
void enc_json_arr_begin(struct enc_json *j);
void enc_json_arr_end(struct enc_json *j);

void enc_json_key(struct enc_json *j, const char *key);
void enc_json_str(struct enc_json *j, const char *s);	/* NULL writes null */
void enc_json_strn(struct enc_json *j, const char *s, size_t len);
void enc_json_int(struct enc_json *j, int64_t v);
void enc_json_uint(struct enc_json *j, uint64_t v);
void enc_json_bool(struct enc_json *j, bool v);
void enc_json_null(struct enc_json *j);
/* Already-serialized, trusted-valid JSON (e.g. a validated document). */
void enc_json_raw(struct enc_json *j, const char *json, size_t len);

/* key + value shorthands */
void enc_json_kv_str(struct enc_json *j, const char *k, const char *v);
void enc_json_kv_int(struct enc_json *j, const char *k, int64_t v);
void enc_json_kv_uint(struct enc_json *j, const char *k, uint64_t v);
void enc_json_kv_bool(struct enc_json *j, const char *k, bool v);

/* Ends the document (newline after the top-level value), flushes and
 * returns 0, -EINVAL on misuse, or -errno from the stream. */
int enc_json_finish(struct enc_json *j);

/* Escape into a caller buffer (for building audit lines in memory).
 * Returns the length needed excluding NUL, like snprintf. */
size_t enc_json_escape(const char *s, size_t len, char *buf, size_t size);

/* Strict RFC 8259 validation of a whole document (used before embedding a
 * workload-written result.json with enc_json_raw). Max nesting depth
 * ENC_JSON_DEPTH. Returns 0 or -EINVAL. */
int enc_json_validate(const char *s, size_t len);

#endif
