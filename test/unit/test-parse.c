/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-parse - the strict number, size, duration and CPU parsers: exact
 * values for good input, exact error codes and message fragments for bad
 * input, untouched outputs on error, and format/parse round trips.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "tap.h"

#define SENTINEL UINT64_C(0xdeadbeefcafe)

/* A TAP test name for an input that may hold newlines or junk. */
static const char *tname(const char *what, const char *in)
{
	static char name[ENC_QUOTE_BUF + 64];
	char q[ENC_QUOTE_BUF];

	snprintf(name, sizeof(name), "%s '%s'", what, enc_quote(q, in));
	return name;
}
#define SENTINEL32 UINT32_C(0xdeadbeef)

struct u64_case {
	const char *in;
	uint64_t min, max;
	int rc;
	uint64_t want;		/* when rc == 0 */
	const char *msg;	/* fragment, when rc != 0 */
};

static const struct u64_case u64_cases[] = {
	{ "0", 0, UINT64_MAX, 0, 0, NULL },
	{ "1", 0, UINT64_MAX, 0, 1, NULL },
	{ "42", 0, UINT64_MAX, 0, 42, NULL },
	{ "1000000", 0, UINT64_MAX, 0, 1000000, NULL },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX, NULL },
	{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0,
	  "18446744073709551616 out of range 0-18446744073709551615" },
	{ "99999999999999999999999", 0, UINT64_MAX, -ERANGE, 0, "out of range" },
	{ "1", 1, 4, 0, 1, NULL },
	{ "4", 1, 4, 0, 4, NULL },
	{ "5", 1, 4, -ERANGE, 0, "5 out of range 1-4" },
	{ "0", 1, 4, -ERANGE, 0, "0 out of range 1-4" },
	{ "65535", 1, 65535, 0, 65535, NULL },
	{ "65536", 1, 65535, -ERANGE, 0, "65536 out of range 1-65535" },
	{ "", 0, UINT64_MAX, -EINVAL, 0, "expected a decimal number, got ''" },
	{ "007", 0, UINT64_MAX, -EINVAL, 0, "expected a decimal number, got '007'" },
	{ "00", 0, UINT64_MAX, -EINVAL, 0, "got '00'" },
	{ "-1", 0, UINT64_MAX, -EINVAL, 0, "got '-1'" },
	{ "+1", 0, UINT64_MAX, -EINVAL, 0, "got '+1'" },
	{ " 1", 0, UINT64_MAX, -EINVAL, 0, "got ' 1'" },
	{ "1 ", 0, UINT64_MAX, -EINVAL, 0, "got '1 '" },
	{ "1\n", 0, UINT64_MAX, -EINVAL, 0, "got '1\\x0a'" },
	{ "0x10", 0, UINT64_MAX, -EINVAL, 0, "got '0x10'" },
	{ "1a", 0, UINT64_MAX, -EINVAL, 0, "got '1a'" },
	{ "1.0", 0, UINT64_MAX, -EINVAL, 0, "got '1.0'" },
	{ "1e3", 0, UINT64_MAX, -EINVAL, 0, "got '1e3'" },
	{ "x", 1, 10, -EINVAL, 0, "expected a number from 1 to 10, got 'x'" },
};

static void test_u64(void)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(u64_cases); i++) {
		const struct u64_case *c = &u64_cases[i];
		struct enc_err e = { 0 };
		uint64_t v = SENTINEL;
		int r = enc_parse_u64(c->in, c->min, c->max, &v, &e);

		is_int(r, c->rc, tname("u64", c->in));
		if (c->rc == 0) {
			is_u64(v, c->want, "u64 value");
		} else {
			is_u64(v, SENTINEL, "u64 untouched on error");
			is_int(e.code, c->rc, "u64 err code");
			has_str(e.msg, c->msg, "u64 message");
		}
	}

	uint64_t v = SENTINEL;
	is_int(enc_parse_u64(NULL, 0, 10, &v, NULL), -EINVAL, "u64 NULL input, NULL err");
	is_int(enc_parse_u64("7", 0, 10, &v, NULL), 0, "u64 NULL err ok");
	is_u64(v, 7, "u64 NULL err value");

	uint32_t w = SENTINEL32;
	struct enc_err e = { 0 };
	is_int(enc_parse_u32("4294967295", 0, UINT32_MAX, &w, &e), 0, "u32 max");
	is_u64(w, UINT32_MAX, "u32 max value");
	w = SENTINEL32;
	is_int(enc_parse_u32("4294967296", 0, UINT32_MAX, &w, &e), -ERANGE, "u32 2^32");
	has_str(e.msg, "4294967296 out of range 0-4294967295", "u32 2^32 message");
	is_u64(w, SENTINEL32, "u32 untouched");
	enc_err_clear(&e);
	is_int(enc_parse_u32("12", 10, 20, &w, &e), 0, "u32 in range");
	is_u64(w, 12, "u32 value");
	is_int(enc_parse_u32("9", 10, 20, &w, &e), -ERANGE, "u32 below min");
	has_str(e.msg, "9 out of range 10-20", "u32 below min message");

	/* The first error is kept. */
	enc_err_clear(&e);
	enc_parse_u64("a", 0, 5, &v, &e);
	enc_parse_u64("b", 0, 5, &v, &e);
	has_str(e.msg, "got 'a'", "first error kept");
}

struct size_case {
	const char *in;
	int rc;
	uint64_t want;
	const char *msg;
};

static const struct size_case size_cases[] = {
	{ "0", 0, 0, NULL },
	{ "1", 0, 1, NULL },
	{ "512", 0, 512, NULL },
	{ "1b", 0, 1, NULL },
	{ "1B", 0, 1, NULL },
	{ "0K", 0, 0, NULL },
	{ "1k", 0, 1024, NULL },
	{ "1K", 0, 1024, NULL },
	{ "1KB", 0, 1024, NULL },
	{ "1kb", 0, 1024, NULL },
	{ "1KiB", 0, 1024, NULL },
	{ "1kib", 0, 1024, NULL },
	{ "1KIB", 0, 1024, NULL },
	{ "512M", 0, UINT64_C(512) << 20, NULL },
	{ "512MiB", 0, UINT64_C(512) << 20, NULL },
	{ "512mb", 0, UINT64_C(512) << 20, NULL },
	{ "2G", 0, UINT64_C(2) << 30, NULL },
	{ "2GB", 0, UINT64_C(2) << 30, NULL },
	{ "2gib", 0, UINT64_C(2) << 30, NULL },
	{ "1T", 0, UINT64_C(1) << 40, NULL },
	{ "1TiB", 0, UINT64_C(1) << 40, NULL },
	{ "1tb", 0, UINT64_C(1) << 40, NULL },
	{ "1.5G", 0, UINT64_C(1610612736), NULL },
	{ "1.5K", 0, 1536, NULL },
	{ "0.5K", 0, 512, NULL },
	{ "0.1K", 0, 102, NULL },
	{ "0.001K", 0, 1, NULL },
	{ "0.0001K", 0, 0, NULL },
	{ "0.3G", 0, UINT64_C(322122547), NULL },
	{ "2.7M", 0, UINT64_C(2831155), NULL },
	{ "0.123456789T", 0, UINT64_C(135742175033), NULL },
	{ "1.999999999999999999999999K", 0, 2047, NULL },
	{ "16383.999999999999999T", 0, UINT64_C(18014398509481983), NULL },
	{ "18446744073709551615", 0, UINT64_MAX, NULL },
	{ "18446744073709551615B", 0, UINT64_MAX, NULL },
	{ "16777215T", 0, UINT64_C(18446742974197923840), NULL },
	{ "16777215.99999999999999999999T", 0, UINT64_MAX, NULL },
	{ "17179869183G", 0, UINT64_C(17179869183) << 30, NULL },
	/* overflow */
	{ "18446744073709551616", -ERANGE, 0, "size '18446744073709551616' is too large" },
	{ "16777216T", -ERANGE, 0, "size '16777216T' is too large" },
	{ "17179869184G", -ERANGE, 0, "too large" },
	{ "18014398509481984K", -ERANGE, 0, "too large" },
	{ "99999999999999999999999K", -ERANGE, 0, "too large" },
	{ "16777216.0T", -ERANGE, 0, "too large" },
	/* syntax */
	{ "12Q", -EINVAL, 0, "expected a size such as 512M or 2G, got '12Q'" },
	{ "16E", -EINVAL, 0, "got '16E'" },
	{ "1P", -EINVAL, 0, "got '1P'" },
	{ "", -EINVAL, 0, "got ''" },
	{ "1.", -EINVAL, 0, "got '1.'" },
	{ "1.G", -EINVAL, 0, "got '1.G'" },
	{ ".5G", -EINVAL, 0, "got '.5G'" },
	{ "1..5G", -EINVAL, 0, "got '1..5G'" },
	{ "1.5.G", -EINVAL, 0, "got '1.5.G'" },
	{ "-1", -EINVAL, 0, "got '-1'" },
	{ "+1", -EINVAL, 0, "got '+1'" },
	{ " 1", -EINVAL, 0, "got ' 1'" },
	{ "1 ", -EINVAL, 0, "got '1 '" },
	{ "1 G", -EINVAL, 0, "got '1 G'" },
	{ "1G ", -EINVAL, 0, "got '1G '" },
	{ "G", -EINVAL, 0, "got 'G'" },
	{ "01", -EINVAL, 0, "got '01'" },
	{ "00", -EINVAL, 0, "got '00'" },
	{ "01.5G", -EINVAL, 0, "got '01.5G'" },
	{ "1KK", -EINVAL, 0, "got '1KK'" },
	{ "1Gi", -EINVAL, 0, "got '1Gi'" },
	{ "1GBB", -EINVAL, 0, "got '1GBB'" },
	{ "1iB", -EINVAL, 0, "got '1iB'" },
	{ "0x10", -EINVAL, 0, "got '0x10'" },
	{ "1e3", -EINVAL, 0, "got '1e3'" },
	{ "1,5G", -EINVAL, 0, "got '1,5G'" },
	{ "1.5", -EINVAL, 0, "(a fraction needs a unit K, M, G or T)" },
	{ "1.5B", -EINVAL, 0, "a fraction needs a unit" },
	{ "1\x01G", -EINVAL, 0, "got '1\\x01G'" },
	{ "1G\xff", -EINVAL, 0, "got '1G\\xff'" },
};

static void test_size(void)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(size_cases); i++) {
		const struct size_case *c = &size_cases[i];
		struct enc_err e = { 0 };
		uint64_t v = SENTINEL;
		int r = enc_parse_size(c->in, &v, &e);

		is_int(r, c->rc, tname("size", c->in));
		if (c->rc == 0) {
			is_u64(v, c->want, "size value");
		} else {
			is_u64(v, SENTINEL, "size untouched on error");
			is_int(e.code, c->rc, "size err code");
			has_str(e.msg, c->msg, "size message");
		}
	}
	uint64_t v = SENTINEL;
	is_int(enc_parse_size(NULL, &v, NULL), -EINVAL, "size NULL");
	is_u64(v, SENTINEL, "size NULL untouched");
}

static const struct size_case dur_cases[] = {
	{ "90s", 0, 90000, NULL },
	{ "1h30m", 0, 5400000, NULL },
	{ "500ms", 0, 500, NULL },
	{ "2d", 0, 172800000, NULL },
	{ "1h", 0, 3600000, NULL },
	{ "45", 0, 45000, NULL },
	{ "1m30s", 0, 90000, NULL },
	{ "0", 0, 0, NULL },
	{ "0s", 0, 0, NULL },
	{ "0ms", 0, 0, NULL },
	{ "1ms", 0, 1, NULL },
	{ "1m", 0, 60000, NULL },
	{ "1s500ms", 0, 1500, NULL },
	{ "1h05m", 0, 3900000, NULL },
	{ "1d2h3m4s5ms", 0, UINT64_C(93784005), NULL },
	{ "1d1ms", 0, UINT64_C(86400001), NULL },
	{ "100h", 0, UINT64_C(360000000), NULL },
	{ "18446744073709551615ms", 0, UINT64_MAX, NULL },
	{ "18446744073709551s615ms", 0, UINT64_MAX, NULL },
	{ "213503982334d14h25m51s615ms", 0, UINT64_MAX, NULL },
	{ "213503982334d", 0, UINT64_C(213503982334) * 86400000, NULL },
	{ "18446744073709551", 0, UINT64_C(18446744073709551000), NULL },
	/* overflow */
	{ "18446744073709551616ms", -ERANGE, 0, "duration '18446744073709551616ms' is too long" },
	{ "18446744073709552", -ERANGE, 0, "too long" },
	{ "18446744073709551s616ms", -ERANGE, 0, "too long" },
	{ "213503982335d", -ERANGE, 0, "too long" },
	{ "213503982334d14h25m51s616ms", -ERANGE, 0, "too long" },
	{ "99999999999999999999999h", -ERANGE, 0, "too long" },
	/* syntax */
	{ "5x", -EINVAL, 0, "expected a duration such as 90s or 1h30m, got '5x'" },
	{ "1h1h", -EINVAL, 0, "(unit 'h' given twice)" },
	{ "1ms1ms", -EINVAL, 0, "(unit 'ms' given twice)" },
	{ "30m1h", -EINVAL, 0, "(units must come in the order d, h, m, s, ms)" },
	{ "1ms1s", -EINVAL, 0, "order d, h, m, s, ms" },
	{ "1s1m", -EINVAL, 0, "order d, h, m, s, ms" },
	{ "1h1d", -EINVAL, 0, "order d, h, m, s, ms" },
	{ "1.5h", -EINVAL, 0, "got '1.5h'" },
	{ "", -EINVAL, 0, "got ''" },
	{ "h", -EINVAL, 0, "got 'h'" },
	{ "ms", -EINVAL, 0, "got 'ms'" },
	{ "1h-", -EINVAL, 0, "got '1h-'" },
	{ "1h30", -EINVAL, 0, "got '1h30'" },
	{ "1H", -EINVAL, 0, "got '1H'" },
	{ "1S", -EINVAL, 0, "got '1S'" },
	{ " 1s", -EINVAL, 0, "got ' 1s'" },
	{ "1s ", -EINVAL, 0, "got '1s '" },
	{ "1 h", -EINVAL, 0, "got '1 h'" },
	{ "-1s", -EINVAL, 0, "got '-1s'" },
	{ "+1s", -EINVAL, 0, "got '+1s'" },
	{ "1hh", -EINVAL, 0, "got '1hh'" },
	{ "1mss", -EINVAL, 0, "got '1mss'" },
	{ "1w", -EINVAL, 0, "got '1w'" },
	{ "1y", -EINVAL, 0, "got '1y'" },
	{ "1us", -EINVAL, 0, "got '1us'" },
	{ "1h\n", -EINVAL, 0, "got '1h\\x0a'" },
};

static void test_duration(void)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(dur_cases); i++) {
		const struct size_case *c = &dur_cases[i];
		struct enc_err e = { 0 };
		uint64_t v = SENTINEL;
		int r = enc_parse_duration(c->in, &v, &e);

		is_int(r, c->rc, tname("duration", c->in));
		if (c->rc == 0) {
			is_u64(v, c->want, "duration value");
		} else {
			is_u64(v, SENTINEL, "duration untouched on error");
			is_int(e.code, c->rc, "duration err code");
			has_str(e.msg, c->msg, "duration message");
		}
	}
	uint64_t v = SENTINEL;
	is_int(enc_parse_duration(NULL, &v, NULL), -EINVAL, "duration NULL");
}

struct cpu_case {
	const char *in;
	int rc;
	uint32_t want;
	const char *msg;
};

static const struct cpu_case cpu_cases[] = {
	{ "1", 0, 1000, NULL },
	{ "1.5", 0, 1500, NULL },
	{ "0.25", 0, 250, NULL },
	{ "0.001", 0, 1, NULL },
	{ "0.5", 0, 500, NULL },
	{ "0.01", 0, 10, NULL },
	{ "1.0", 0, 1000, NULL },
	{ "1.500", 0, 1500, NULL },
	{ "2.05", 0, 2050, NULL },
	{ "10", 0, 10000, NULL },
	{ "4095.999", 0, 4095999, NULL },
	{ "4096", 0, 4096000, NULL },
	{ "4096.0", 0, 4096000, NULL },
	{ "4096.000", 0, 4096000, NULL },
	{ "0", -ERANGE, 0, "CPU quota '0' out of range (must be more than 0 and at most 4096)" },
	{ "0.0", -ERANGE, 0, "CPU quota '0.0' out of range" },
	{ "0.000", -ERANGE, 0, "out of range" },
	{ "4097", -ERANGE, 0, "CPU quota '4097' out of range" },
	{ "4096.001", -ERANGE, 0, "out of range" },
	{ "99999999999999999999999", -ERANGE, 0, "out of range" },
	{ "0.0001", -EINVAL, 0, "at most three decimals such as 1.5 or 0.25, got '0.0001'" },
	{ "1.2345", -EINVAL, 0, "at most three decimals" },
	{ "1.0000", -EINVAL, 0, "at most three decimals" },
	{ "-1", -EINVAL, 0, "expected a number of CPUs such as 1, 1.5 or 0.25, got '-1'" },
	{ "+1", -EINVAL, 0, "got '+1'" },
	{ ".5", -EINVAL, 0, "got '.5'" },
	{ "1.", -EINVAL, 0, "got '1.'" },
	{ "", -EINVAL, 0, "got ''" },
	{ "01", -EINVAL, 0, "got '01'" },
	{ "00.5", -EINVAL, 0, "got '00.5'" },
	{ "1.5.", -EINVAL, 0, "got '1.5.'" },
	{ "1,5", -EINVAL, 0, "got '1,5'" },
	{ "1e3", -EINVAL, 0, "got '1e3'" },
	{ " 1", -EINVAL, 0, "got ' 1'" },
	{ "1 ", -EINVAL, 0, "got '1 '" },
	{ "2c", -EINVAL, 0, "got '2c'" },
	{ "1..5", -EINVAL, 0, "got '1..5'" },
};

static void test_cpus(void)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(cpu_cases); i++) {
		const struct cpu_case *c = &cpu_cases[i];
		struct enc_err e = { 0 };
		uint32_t v = SENTINEL32;
		int r = enc_parse_cpus(c->in, &v, &e);

		is_int(r, c->rc, tname("cpus", c->in));
		if (c->rc == 0) {
			is_u64(v, c->want, "cpus value");
		} else {
			is_u64(v, SENTINEL32, "cpus untouched on error");
			is_int(e.code, c->rc, "cpus err code");
			has_str(e.msg, c->msg, "cpus message");
		}
	}
	uint32_t v = SENTINEL32;
	is_int(enc_parse_cpus(NULL, &v, NULL), -EINVAL, "cpus NULL");
}

/* --- formatting ---------------------------------------------------------- */

struct fmt_case {
	uint64_t v;
	const char *want;
};

static const struct fmt_case size_fmt[] = {
	{ 0, "0" },
	{ 1, "1" },
	{ 1023, "1023" },
	{ 1024, "1K" },
	{ 1025, "1025" },
	{ 1536, "1536" },
	{ 3072, "3K" },
	{ UINT64_C(1) << 20, "1M" },
	{ UINT64_C(1536) << 20, "1536M" },
	{ UINT64_C(512) << 20, "512M" },
	{ UINT64_C(2) << 30, "2G" },
	{ UINT64_C(1) << 40, "1T" },
	{ UINT64_C(1024) << 40, "1024T" },
	{ UINT64_C(16777215) << 40, "16777215T" },
	{ UINT64_MAX, "18446744073709551615" },
	{ UINT64_MAX - 1023, "18014398509481983K" },
};

static const struct fmt_case dur_fmt[] = {
	{ 0, "0s" },
	{ 1, "1ms" },
	{ 500, "500ms" },
	{ 1000, "1s" },
	{ 1500, "1s500ms" },
	{ 45000, "45s" },
	{ 60000, "1m" },
	{ 90000, "1m30s" },
	{ 3600000, "1h" },
	{ 5400000, "1h30m" },
	{ 86400000, "1d" },
	{ 172800000, "2d" },
	{ 93784005, "1d2h3m4s5ms" },
	{ 86400001, "1d1ms" },
	{ UINT64_MAX, "213503982334d14h25m51s615ms" },
};

static const struct fmt_case cpu_fmt[] = {
	{ 1, "0.001" },
	{ 10, "0.01" },
	{ 100, "0.1" },
	{ 250, "0.25" },
	{ 999, "0.999" },
	{ 1000, "1" },
	{ 1010, "1.01" },
	{ 1100, "1.1" },
	{ 1500, "1.5" },
	{ 2050, "2.05" },
	{ 4095999, "4095.999" },
	{ 4096000, "4096" },
};

static void test_format(void)
{
	char buf[64], msg[128];
	struct enc_err e = { 0 };
	uint64_t v;
	uint32_t m;

	for (size_t i = 0; i < ENC_ARRAY_SIZE(size_fmt); i++) {
		int n = enc_format_size(size_fmt[i].v, buf, sizeof(buf));
		snprintf(msg, sizeof(msg), "format size %" PRIu64, size_fmt[i].v);
		is_str(buf, size_fmt[i].want, msg);
		is_int(n, strlen(size_fmt[i].want), "format size length");
		ok(enc_parse_size(buf, &v, &e) == 0 && v == size_fmt[i].v,
		   "size round trip %s", buf);
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(dur_fmt); i++) {
		int n = enc_format_duration(dur_fmt[i].v, buf, sizeof(buf));
		snprintf(msg, sizeof(msg), "format duration %" PRIu64, dur_fmt[i].v);
		is_str(buf, dur_fmt[i].want, msg);
		is_int(n, strlen(dur_fmt[i].want), "format duration length");
		ok(enc_parse_duration(buf, &v, &e) == 0 && v == dur_fmt[i].v,
		   "duration round trip %s", buf);
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(cpu_fmt); i++) {
		int n = enc_format_cpus((uint32_t)cpu_fmt[i].v, buf, sizeof(buf));
		snprintf(msg, sizeof(msg), "format cpus %" PRIu64, cpu_fmt[i].v);
		is_str(buf, cpu_fmt[i].want, msg);
		is_int(n, strlen(cpu_fmt[i].want), "format cpus length");
		ok(enc_parse_cpus(buf, &m, &e) == 0 && m == cpu_fmt[i].v,
		   "cpus round trip %s", buf);
	}

	/* snprintf-style: the full length comes back, the output is cut. */
	is_int(enc_format_size(UINT64_C(1536) << 20, buf, 3), 5, "size short buffer length");
	is_str(buf, "15", "size short buffer truncated");
	is_int(enc_format_duration(5400000, NULL, 0), 5, "duration NULL buffer length");
	is_int(enc_format_cpus(1500, buf, 2), 3, "cpus short buffer length");
	is_str(buf, "1", "cpus short buffer truncated");

	/* For people: binary units, one decimal. */
	enc_format_size_human(512, buf, sizeof(buf));
	is_str(buf, "512 B", "human size: bytes");
	enc_format_size_human(UINT64_C(1536) << 20, buf, sizeof(buf));
	is_str(buf, "1.5 GiB", "human size: GiB with a decimal");
	enc_format_size_human(UINT64_C(3) << 50, buf, sizeof(buf));
	is_str(buf, "3.0 PiB", "human size: PiB is the largest unit");

	/* Canonical spellings come back unchanged. */
	static const char *const canon_size[] = { "0", "1", "1023", "1K", "1536M", "2G", "3T", "1025K" };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(canon_size); i++) {
		enc_parse_size(canon_size[i], &v, NULL);
		enc_format_size(v, buf, sizeof(buf));
		is_str(buf, canon_size[i], "size canonical");
	}
	static const char *const noncanon_size[][2] = {
		{ "1024", "1K" }, { "1.5G", "1536M" }, { "2048M", "2G" },
		{ "1kib", "1K" }, { "0.5K", "512" }, { "0G", "0" },
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(noncanon_size); i++) {
		enc_parse_size(noncanon_size[i][0], &v, NULL);
		enc_format_size(v, buf, sizeof(buf));
		is_str(buf, noncanon_size[i][1], noncanon_size[i][0]);
	}
	static const char *const noncanon_dur[][2] = {
		{ "90s", "1m30s" }, { "45", "45s" }, { "1h05m", "1h5m" },
		{ "90m", "1h30m" }, { "1000ms", "1s" }, { "0", "0s" }, { "48h", "2d" },
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(noncanon_dur); i++) {
		enc_parse_duration(noncanon_dur[i][0], &v, NULL);
		enc_format_duration(v, buf, sizeof(buf));
		is_str(buf, noncanon_dur[i][1], noncanon_dur[i][0]);
	}
	static const char *const noncanon_cpu[][2] = {
		{ "1.500", "1.5" }, { "1.0", "1" }, { "0.250", "0.25" }, { "4096.000", "4096" },
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(noncanon_cpu); i++) {
		enc_parse_cpus(noncanon_cpu[i][0], &m, NULL);
		enc_format_cpus(m, buf, sizeof(buf));
		is_str(buf, noncanon_cpu[i][1], noncanon_cpu[i][0]);
	}
}

/* Round trips over many values: every CPU quota, and sizes and durations
 * from every bit position plus a pseudo-random walk. One assertion each,
 * the first failure named. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	/* xorshift64: deterministic, so a failure reproduces. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_round_trips(void)
{
	char buf[64];
	uint64_t v, first_bad = 0;
	unsigned bad = 0;

	for (uint32_t mc = 1; mc <= 4096000; mc++) {
		uint32_t back = 0;

		enc_format_cpus(mc, buf, sizeof(buf));
		if (enc_parse_cpus(buf, &back, NULL) != 0 || back != mc) {
			if (!bad++)
				first_bad = mc;
		}
	}
	is_int(bad, 0, "cpus round trip 0.001..4096");
	if (bad)
		printf("# first bad: %" PRIu64 "\n", first_bad);

	uint64_t vals[4000];
	size_t nv = 0;
	for (unsigned b = 0; b < 64; b++) {
		uint64_t x = UINT64_C(1) << b;
		vals[nv++] = x;
		vals[nv++] = x - 1;
		vals[nv++] = x + 1;
		vals[nv++] = x * 3;
		vals[nv++] = UINT64_MAX - x;
	}
	while (nv < ENC_ARRAY_SIZE(vals)) {
		uint64_t x = rng();
		/* Mix in values with many trailing zero bits so every unit
		 * is exercised, not just the bare-number spelling. */
		vals[nv++] = x;
		vals[nv++] = x >> (rng() % 64);
		vals[nv++] = x << (rng() % 64);
		vals[nv++] = (x % 100000) * 1000;
	}

	bad = 0;
	for (size_t i = 0; i < nv; i++) {
		enc_format_size(vals[i], buf, sizeof(buf));
		if (enc_parse_size(buf, &v, NULL) != 0 || v != vals[i]) {
			if (!bad++)
				first_bad = vals[i];
		}
	}
	is_int(bad, 0, "size round trip over 4000 values");
	if (bad)
		printf("# first bad: %" PRIu64 "\n", first_bad);

	bad = 0;
	for (size_t i = 0; i < nv; i++) {
		enc_format_duration(vals[i], buf, sizeof(buf));
		if (enc_parse_duration(buf, &v, NULL) != 0 || v != vals[i]) {
			if (!bad++)
				first_bad = vals[i];
		}
	}
	is_int(bad, 0, "duration round trip over 4000 values");
	if (bad)
		printf("# first bad: %" PRIu64 "\n", first_bad);

	/* Decimal spellings of every value parse to themselves. */
	bad = 0;
	for (size_t i = 0; i < nv; i++) {
		snprintf(buf, sizeof(buf), "%" PRIu64, vals[i]);
		if (enc_parse_u64(buf, 0, UINT64_MAX, &v, NULL) != 0 || v != vals[i] ||
		    enc_parse_size(buf, &v, NULL) != 0 || v != vals[i]) {
			if (!bad++)
				first_bad = vals[i];
		}
	}
	is_int(bad, 0, "u64 and size decimal over 4000 values");

	/* Fractions against integer arithmetic: X.FFF<unit> is exactly
	 * floor((X * 1000 + FFF) * 2^shift / 1000), for every three-digit
	 * fraction of every unit; also with one and two digits. */
	static const struct { char unit; unsigned shift; } us[] = {
		{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
	};
	for (size_t u = 0; u < ENC_ARRAY_SIZE(us); u++) {
		bad = 0;
		for (uint64_t x = 0; x < 3; x++) {
			for (uint64_t f = 0; f < 1000; f++) {
				uint64_t want = ((x * 1000 + f) << us[u].shift) / 1000;

				snprintf(buf, sizeof(buf), "%" PRIu64 ".%03" PRIu64 "%c",
					 x, f, us[u].unit);
				if (enc_parse_size(buf, &v, NULL) != 0 || v != want) {
					if (!bad++)
						printf("# first bad: %s\n", buf);
				}
				if (f % 10 == 0) {
					want = ((x * 100 + f / 10) << us[u].shift) / 100;
					snprintf(buf, sizeof(buf), "%" PRIu64 ".%02" PRIu64 "%c",
						 x, f / 10, us[u].unit);
					if (enc_parse_size(buf, &v, NULL) != 0 || v != want) {
						if (!bad++)
							printf("# first bad: %s\n", buf);
					}
				}
			}
		}
		ok(bad == 0, "size fractions 0.000%c..2.999%c exact", us[u].unit, us[u].unit);
	}
}

static void test_quote(void)
{
	char q[ENC_QUOTE_BUF], big[300];
	struct enc_err e = { 0 };
	uint64_t v;

	is_str(enc_quote(q, "abc"), "abc", "quote plain");
	is_str(enc_quote(q, ""), "", "quote empty");
	is_str(enc_quote(q, NULL), "", "quote NULL");
	is_str(enc_quote(q, "a'b\\c"), "a\\'b\\\\c", "quote escapes quote and backslash");
	is_str(enc_quote(q, "\x01\t\x7f\xff"), "\\x01\\x09\\x7f\\xff", "quote non-printables");
	is_str(enc_quote_mem(q, "abcdef", 3), "abc", "quote_mem piece");

	memset(big, 'a', 64);
	big[64] = '\0';
	is_int(strlen(enc_quote(q, big)), 64, "quote 64 bytes: not cut");
	memset(big, 'a', 65);
	big[65] = '\0';
	enc_quote(q, big);
	is_int(strlen(q), 67, "quote 65 bytes: cut to 64 and '...'");
	ok(strcmp(q + 64, "...") == 0, "quote ends in ...");

	/* Worst case fills the buffer exactly. */
	memset(big, '\xff', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	enc_quote(q, big);
	is_int(strlen(q), ENC_QUOTE_BUF - 1, "quote worst case fits the buffer");

	/* A parser fed binary junk gives a short, printable message. */
	enc_parse_size(big, &v, &e);
	ok(strlen(e.msg) < 400, "junk size message is bounded (%zu)", strlen(e.msg));
	bool printable = true;
	for (const char *p = e.msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			printable = false;
	ok(printable, "junk size message is printable ASCII");
	has_str(e.msg, "got '\\xff\\xff", "junk is escaped");
}

int main(void)
{
	test_u64();
	test_size();
	test_duration();
	test_cpus();
	test_format();
	test_round_trips();
	test_quote();
	return tap_done();
}
