/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parse.h - the one strict parser for numbers, sizes, durations and CPU
 * quotas. Every option and every Enclavefile value goes through these.
 *
 * Contract: pure functions, no allocation, no locale. The whole string must
 * be consumed; leading/trailing whitespace, signs, empty strings, overflow
 * and out-of-range values are errors (-EINVAL or -ERANGE). On error, err (if
 * non-NULL) says what was expected, e.g. "expected a size such as 512M or
 * 2G, got '12Q'". On error *out is left untouched.
 *
 * Part of the helper core.
 */
#ifndef ENCLAVE_PARSE_H
#define ENCLAVE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* Decimal unsigned integer in [min, max]. No sign, no leading '+', no hex,
 * no leading zeros except "0" itself. */
int enc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  struct enc_err *err);

/* Same, for 32-bit consumers. */
int enc_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
		  struct enc_err *err);

/* Size in bytes: a decimal number with an optional binary suffix, case
 * insensitive: B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB (all powers of
 * 1024). A fraction is allowed with a suffix ("1.5G"), rounded down to a
 * byte. "0" is allowed; callers decide whether zero makes sense. */
int enc_parse_size(const char *s, uint64_t *bytes, struct enc_err *err);

/* Duration in milliseconds: one or more <number><unit> terms in decreasing
 * unit order, units ms, s, m, h, d (e.g. "90s", "1h30m", "500ms", "2d").
 * A bare number means seconds. Each unit at most once. Must fit in 64 bits
 * of milliseconds. */
int enc_parse_duration(const char *s, uint64_t *msec, struct enc_err *err);

/* CPU quota as a decimal number of CPUs with at most three decimals
 * ("1", "1.5", "0.25"); stored in thousandths. Must be > 0 and <= 4096. */
int enc_parse_cpus(const char *s, uint32_t *millicpus, struct enc_err *err);

/* Formatting back, for JSON/listing output: shortest exact spelling
 * ("2G", "1536M", "1h30m", "1.5"). Return snprintf-style length. */
int enc_format_size(uint64_t bytes, char *buf, size_t len);
int enc_format_duration(uint64_t msec, char *buf, size_t len);
int enc_format_cpus(uint32_t millicpus, char *buf, size_t len);

/* For people, not for parsing back: "512 B", "1.5 GiB" (one decimal,
 * binary units up to PiB). */
int enc_format_size_human(uint64_t bytes, char *buf, size_t len);

/*
 * Quoting untrusted input inside error messages ("got '%s'"). Copies at most
 * ENC_QUOTE_INPUT_MAX bytes of the input, escapes backslash, single quote
 * and every byte outside printable ASCII (\xNN), and appends "..." when the
 * input was cut, so a message stays one short line whatever a fuzzer or a
 * hostile file feeds in. The surrounding quotes are the caller's. Returns buf.
 * A NULL s quotes as the empty string.
 */
#define ENC_QUOTE_INPUT_MAX 64
#define ENC_QUOTE_BUF (ENC_QUOTE_INPUT_MAX * 4 + 4)
const char *enc_quote(char buf[static ENC_QUOTE_BUF], const char *s);
/* Same for the first n bytes of s (a piece of a larger spec). */
const char *enc_quote_mem(char buf[static ENC_QUOTE_BUF], const char *s, size_t n);

#endif
