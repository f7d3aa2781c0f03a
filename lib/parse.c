/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parse.c - strict numbers, sizes, durations and CPU quotas.
 *
 * Everything here is a hand-written digit loop over ASCII: strtoull and
 * friends accept leading blanks, signs and locale-specific digits, and
 * strtod's decimal point depends on LC_NUMERIC, none of which an Enclavefile
 * value or a privileged request may depend on. ctype.h is avoided for the
 * same reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

const char *enc_quote_mem(char buf[static ENC_QUOTE_BUF], const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	bool cut = false;

	if (!s)
		n = 0;
	if (n > ENC_QUOTE_INPUT_MAX) {
		n = ENC_QUOTE_INPUT_MAX;
		cut = true;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '\'') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else {
			buf[o++] = (char)c;
		}
	}
	if (cut) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

const char *enc_quote(char buf[static ENC_QUOTE_BUF], const char *s)
{
	/* strnlen: never read further than needed into an unterminated or
	 * enormous input. One byte past the limit tells us to add "...". */
	return enc_quote_mem(buf, s, s ? strnlen(s, ENC_QUOTE_INPUT_MAX + 1) : 0);
}

/*
 * Scan decimal digits at *pp, advancing it. Returns the number of digits;
 * *v gets the value and *ovf is set when it does not fit in 64 bits (the
 * scan still consumes every digit so the caller can report the whole
 * number).
 */
static size_t scan_digits(const char **pp, uint64_t *v, bool *ovf)
{
	const char *p = *pp;
	uint64_t acc = 0;
	bool over = false;

	while (is_digit(*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (acc > (UINT64_MAX - d) / 10)
			over = true;
		else
			acc = acc * 10 + d;
		p++;
	}
	*v = acc;
	*ovf = over;
	size_t n = (size_t)(p - *pp);
	*pp = p;
	return n;
}

int enc_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	const char *p = s ? s : "";
	uint64_t v;
	bool ovf;
	size_t n = scan_digits(&p, &v, &ovf);

	if (n == 0 || *p != '\0' || (n > 1 && s[0] == '0')) {
		if (min == 0 && max == UINT64_MAX)
			return enc_err_set(err, -EINVAL,
					   "expected a decimal number, got '%s'",
					   enc_quote(q, s));
		return enc_err_set(err, -EINVAL,
				   "expected a number from %" PRIu64 " to %" PRIu64
				   ", got '%s'", min, max, enc_quote(q, s));
	}
	if (ovf || v < min || v > max)
		return enc_err_set(err, -ERANGE,
				   "%s out of range %" PRIu64 "-%" PRIu64,
				   enc_quote(q, s), min, max);
	*out = v;
	return 0;
}

int enc_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
		  struct enc_err *err)
{
	uint64_t v;
	int r = enc_parse_u64(s, min, max, &v, err);

	if (r < 0)
		return r;
	*out = (uint32_t)v;
	return 0;
}

/* --- sizes --------------------------------------------------------------- */

static const struct {
	const char *name;	/* lower case */
	unsigned shift;
} size_units[] = {
	{ "", 0 },
	{ "b", 0 },
	{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
	{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
	{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
	{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
};

static bool ascii_caseeq(const char *a, const char *lower)
{
	for (; *a && *lower; a++, lower++)
		if (ascii_lower(*a) != *lower)
			return false;
	return *a == '\0' && *lower == '\0';
}

static int size_syntax(struct enc_err *err, const char *s)
{
	char q[ENC_QUOTE_BUF];

	return enc_err_set(err, -EINVAL,
			   "expected a size such as 512M or 2G, got '%s'",
			   enc_quote(q, s));
}

int enc_parse_size(const char *s, uint64_t *bytes, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	const char *p = s ? s : "";
	const char *frac = NULL;
	size_t nfrac = 0;
	uint64_t ip;
	bool ovf, found = false;
	unsigned shift = 0;

	size_t n = scan_digits(&p, &ip, &ovf);
	if (n == 0 || (n > 1 && s[0] == '0'))
		return size_syntax(err, s);
	if (*p == '.') {
		frac = ++p;
		while (is_digit(*p))
			p++;
		nfrac = (size_t)(p - frac);
		if (nfrac == 0)
			return size_syntax(err, s);
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(size_units); i++) {
		if (ascii_caseeq(p, size_units[i].name)) {
			shift = size_units[i].shift;
			found = true;
			break;
		}
	}
	if (!found)
		return size_syntax(err, s);
	if (frac && shift == 0)
		/* A fraction of a byte means nothing; and "1.5" without a
		 * unit is more likely a typo than a request for one byte. */
		return enc_err_set(err, -EINVAL,
				   "expected a size such as 512M or 2G, got '%s' "
				   "(a fraction needs a unit K, M, G or T)",
				   enc_quote(q, s));

	if (ovf || ip > (UINT64_MAX >> shift))
		goto range;
	uint64_t v = ip << shift;

	/*
	 * floor(0.d1d2...dn * 2^shift), exactly, for any number of digits:
	 * from the last digit to the first, r = (d * 2^shift + r) / 10.
	 * Flooring at every step is exact because floor((a + x) / 10) ==
	 * floor((a + floor(x)) / 10) for integer a. r < 2^shift <= 2^40, so
	 * nothing here can overflow.
	 */
	if (frac) {
		uint64_t r = 0;

		for (size_t i = nfrac; i-- > 0;)
			r = (((uint64_t)(frac[i] - '0') << shift) + r) / 10;
		if (v > UINT64_MAX - r)
			goto range;
		v += r;
	}
	*bytes = v;
	return 0;
range:
	return enc_err_set(err, -ERANGE,
			   "size '%s' is too large (at most 16E - 1 bytes)",
			   enc_quote(q, s));
}

int enc_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	/* The largest unit that divides exactly, so the spelling parses back
	 * to the same number of bytes. */
	if (bytes != 0)
		while (u < 3 && (bytes & ((UINT64_C(1) << (10 * (u + 2))) - 1)) == 0)
			u++;
	if (u < 0)
		return snprintf(buf, len, "%" PRIu64, bytes);
	return snprintf(buf, len, "%" PRIu64 "%c", bytes >> (10 * (u + 1)), units[u]);
}

int enc_format_size_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		return snprintf(buf, len, "%" PRIu64 " B", bytes);
	return snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* --- durations ----------------------------------------------------------- */

/* In the only order they may appear. */
static const struct {
	const char *name;
	uint64_t msec;
} dur_units[] = {
	{ "d", UINT64_C(86400000) },
	{ "h", UINT64_C(3600000) },
	{ "m", UINT64_C(60000) },
	{ "s", UINT64_C(1000) },
	{ "ms", UINT64_C(1) },
};

int enc_parse_duration(const char *s, uint64_t *msec, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	const char *p = s ? s : "";
	uint64_t total = 0;
	int last = -1;

	do {
		uint64_t v;
		bool ovf;
		int u;

		/* Leading zeros are allowed here ("1h05m"): with a unit after
		 * every term there is no octal reading to guard against. */
		if (scan_digits(&p, &v, &ovf) == 0)
			goto syntax;
		if (*p == '\0' && last < 0) {
			u = 3;		/* a bare number is seconds */
		} else if (p[0] == 'm' && p[1] == 's') {
			u = 4;
			p += 2;
		} else if (*p == 'm') {
			u = 2;
			p++;
		} else if (*p == 'd') {
			u = 0;
			p++;
		} else if (*p == 'h') {
			u = 1;
			p++;
		} else if (*p == 's') {
			u = 3;
			p++;
		} else {
			goto syntax;
		}
		if (u == last)
			return enc_err_set(err, -EINVAL,
					   "expected a duration such as 90s or 1h30m, got '%s' "
					   "(unit '%s' given twice)",
					   enc_quote(q, s), dur_units[u].name);
		if (u < last)
			return enc_err_set(err, -EINVAL,
					   "expected a duration such as 90s or 1h30m, got '%s' "
					   "(units must come in the order d, h, m, s, ms)",
					   enc_quote(q, s));
		last = u;
		if (ovf || v > UINT64_MAX / dur_units[u].msec)
			goto range;
		v *= dur_units[u].msec;
		if (total > UINT64_MAX - v)
			goto range;
		total += v;
	} while (*p != '\0');

	*msec = total;
	return 0;
syntax:
	return enc_err_set(err, -EINVAL,
			   "expected a duration such as 90s or 1h30m, got '%s'",
			   enc_quote(q, s));
range:
	return enc_err_set(err, -ERANGE,
			   "duration '%s' is too long (it must fit in 64 bits of milliseconds)",
			   enc_quote(q, s));
}

int enc_format_duration(uint64_t msec, char *buf, size_t len)
{
	/* "213503982334d23h59m59s999ms" is the longest possible. */
	char tmp[48];
	size_t o = 0;

	if (msec == 0)
		return snprintf(buf, len, "0s");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(dur_units); i++) {
		uint64_t n = msec / dur_units[i].msec;

		if (n == 0)
			continue;
		msec -= n * dur_units[i].msec;
		int w = snprintf(tmp + o, sizeof(tmp) - o, "%" PRIu64 "%s", n,
				 dur_units[i].name);
		if (w < 0 || (size_t)w >= sizeof(tmp) - o)
			return -EOVERFLOW;	/* cannot happen; see above */
		o += (size_t)w;
	}
	return snprintf(buf, len, "%s", tmp);
}

/* --- CPUs ---------------------------------------------------------------- */

#define CPUS_MAX 4096

int enc_parse_cpus(const char *s, uint32_t *millicpus, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	const char *p = s ? s : "";
	uint64_t ip, milli = 0;
	bool ovf;

	size_t n = scan_digits(&p, &ip, &ovf);
	if (n == 0 || (n > 1 && s[0] == '0'))
		goto syntax;
	if (*p == '.') {
		unsigned nfrac = 0;

		p++;
		while (is_digit(*p)) {
			if (++nfrac > 3)
				return enc_err_set(err, -EINVAL,
						   "expected a number of CPUs with at most three "
						   "decimals such as 1.5 or 0.25, got '%s'",
						   enc_quote(q, s));
			milli = milli * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (nfrac == 0)
			goto syntax;
		while (nfrac++ < 3)
			milli *= 10;
	}
	if (*p != '\0')
		goto syntax;
	if (ovf || ip > CPUS_MAX || ip * 1000 + milli > CPUS_MAX * 1000 ||
	    ip * 1000 + milli == 0)
		return enc_err_set(err, -ERANGE,
				   "CPU quota '%s' out of range (must be more than 0 and at most %d)",
				   enc_quote(q, s), CPUS_MAX);
	*millicpus = (uint32_t)(ip * 1000 + milli);
	return 0;
syntax:
	return enc_err_set(err, -EINVAL,
			   "expected a number of CPUs such as 1, 1.5 or 0.25, got '%s'",
			   enc_quote(q, s));
}

int enc_format_cpus(uint32_t millicpus, char *buf, size_t len)
{
	uint32_t ip = millicpus / 1000, f = millicpus % 1000;

	if (f == 0)
		return snprintf(buf, len, "%" PRIu32, ip);
	if (f % 100 == 0)
		return snprintf(buf, len, "%" PRIu32 ".%" PRIu32, ip, f / 100);
	if (f % 10 == 0)
		return snprintf(buf, len, "%" PRIu32 ".%02" PRIu32, ip, f / 10);
	return snprintf(buf, len, "%" PRIu32 ".%03" PRIu32, ip, f);
}
