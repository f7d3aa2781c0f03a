/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-json.c - the JSON writer (escaping of every control character,
 * invalid UTF-8 to U+FFFD, nesting, pretty output, sticky misuse errors,
 * stream errors) and the strict validator that guards embedding a
 * workload-written result.json (injection of JSON structure through
 * strings; unbounded nesting as a stack-exhaustion attack).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

#define FFFD "\xef\xbf\xbd"

/* A writer over a memory stream; text() returns what was written. */
struct mem {
	FILE *f;
	char *buf;
	size_t len;
	struct enc_json j;
};

static void mem_open(struct mem *m, unsigned flags)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	enc_json_init(&m->j, m->f, flags);
}

static const char *mem_text(struct mem *m)
{
	fflush(m->f);
	return m->buf;
}

static void mem_close(struct mem *m)
{
	fclose(m->f);
	free(m->buf);
	m->buf = NULL;
}

/* Escape via enc_json_escape into a fresh buffer. */
static const char *esc(const char *s, size_t len)
{
	static char buf[1024];

	enc_json_escape(s, len, buf, sizeof(buf));
	return buf;
}

static void test_control_chars(void)
{
	static const char *const want[0x20] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
		"\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
		"\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
		"\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
		"\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
	};
	char name[64];

	for (int c = 0; c < 0x20; c++) {
		char in = (char)c;

		snprintf(name, sizeof(name), "control 0x%02x escapes to %s", c, want[c]);
		is_str(esc(&in, 1), want[c], name);
	}
	is_str(esc("\x7f", 1), "\\u007f", "DEL escapes to \\u007f");
	is_str(esc("\"", 1), "\\\"", "quote escapes to \\\"");
	is_str(esc("\\", 1), "\\\\", "backslash escapes to \\\\");
	is_str(esc("/", 1), "/", "slash passes through");
	is_str(esc(" ~", 2), " ~", "space and tilde pass through");
	is_str(esc("a\0b", 3), "a\\u0000b", "embedded NUL escaped, not a terminator");
}

static void test_utf8(void)
{
	static const struct {
		const char *in, *want, *name;
	} t[] = {
		{ "\xc3\xa9", "\xc3\xa9", "2-byte U+00E9 passes through" },
		{ "\xe2\x82\xac", "\xe2\x82\xac", "3-byte U+20AC passes through" },
		{ "\xe2\x80\xa8\xe2\x80\xa9", "\xe2\x80\xa8\xe2\x80\xa9", "U+2028/U+2029 pass through" },
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "4-byte U+1F600 passes through" },
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "U+10FFFF passes through" },
		{ "\xef\xbf\xbd", "\xef\xbf\xbd", "U+FFFD itself passes through" },
		{ "\xee\x80\x80", "\xee\x80\x80", "private use U+E000 passes through" },
		{ "\xc0\x80", FFFD FFFD, "overlong NUL C0 80: one U+FFFD per byte" },
		{ "\xc1\xbf", FFFD FFFD, "overlong C1 BF" },
		{ "\xe0\x80\xaf", FFFD FFFD FFFD, "overlong 3-byte '/'" },
		{ "\xe0\x9f\xbf", FFFD FFFD FFFD, "overlong 3-byte U+07FF" },
		{ "\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD, "overlong 4-byte '/'" },
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD, "overlong 4-byte U+FFFF" },
		{ "\xed\xa0\x80", FFFD FFFD FFFD, "surrogate U+D800 encoded" },
		{ "\xed\xbf\xbf", FFFD FFFD FFFD, "surrogate U+DFFF encoded" },
		{ "\xed\x9f\xbf", "\xed\x9f\xbf", "U+D7FF (below surrogates) passes" },
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD, "U+110000 beyond Unicode" },
		{ "\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD, "F5 lead byte" },
		{ "\xfe\xff", FFFD FFFD, "FE and FF" },
		{ "\x80", FFFD, "stray continuation byte" },
		{ "a\xe2\x82", "a" FFFD FFFD, "truncated 3-byte at end" },
		{ "\xe2\x82" "a", FFFD FFFD "a", "truncated 3-byte before ASCII" },
		{ "\xf0\x9f\x98", FFFD FFFD FFFD, "truncated 4-byte at end" },
		{ "\xc3", FFFD, "truncated 2-byte at end" },
		{ "\xff\xc3\xa9\"", FFFD "\xc3\xa9\\\"", "valid sequence after an invalid byte" },
		{ "\xc3\x22", FFFD "\\\"", "lead byte followed by a quote: the quote is still escaped" },
		{ "\xe2\x0a", FFFD "\\n", "lead byte followed by a newline: still escaped" },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(name, sizeof(name), "utf-8: %s", t[i].name);
		is_str(esc(t[i].in, strlen(t[i].in)), t[i].want, name);
	}
}

static void test_escape_buffer(void)
{
	char buf[8];
	size_t n;

	n = enc_json_escape("ab\ncd", 5, buf, sizeof(buf));
	is_int(n, 6, "escape returns the full length");
	is_str(buf, "ab\\ncd", "escape into a large enough buffer");

	n = enc_json_escape("hello world", 11, buf, 5);
	is_int(n, 11, "truncated escape still returns the full length");
	is_str(buf, "hell", "plain text truncated like snprintf");

	n = enc_json_escape("abc\n", 4, buf, 5);
	is_int(n, 5, "length with a trailing escape");
	is_str(buf, "abc", "an escape that does not fit is left out whole");

	n = enc_json_escape("ab\xe2\x82\xac", 5, buf, 5);
	is_int(n, 5, "length with a 3-byte character");
	is_str(buf, "ab", "a UTF-8 character that does not fit is left out whole");

	n = enc_json_escape("a\xff", 2, buf, 3);
	is_int(n, 4, "length with a replacement character");
	is_str(buf, "a", "a U+FFFD that does not fit is left out whole");

	memset(buf, 'x', sizeof(buf));
	n = enc_json_escape("abc", 3, buf, 0);
	is_int(n, 3, "size 0: only the length");
	ok(buf[0] == 'x', "size 0: buffer untouched");

	n = enc_json_escape("abc", 3, buf, 1);
	is_str(buf, "", "size 1: empty string");
	is_int(enc_json_escape(NULL, 0, buf, sizeof(buf)), 0, "NULL input escapes to nothing");
}

static void test_writer(void)
{
	struct mem m;
	int r;

	mem_open(&m, 0);
	enc_json_obj_begin(&m.j);
	enc_json_kv_int(&m.j, "a", 1);
	enc_json_key(&m.j, "b");
	enc_json_arr_begin(&m.j);
	enc_json_bool(&m.j, true);
	enc_json_bool(&m.j, false);
	enc_json_null(&m.j);
	enc_json_str(&m.j, "x\ty");
	enc_json_int(&m.j, INT64_MIN);
	enc_json_uint(&m.j, UINT64_MAX);
	enc_json_str(&m.j, NULL);
	enc_json_strn(&m.j, "abcdef", 3);
	enc_json_arr_end(&m.j);
	enc_json_key(&m.j, "c");
	enc_json_obj_begin(&m.j);
	enc_json_obj_end(&m.j);
	enc_json_key(&m.j, "d");
	enc_json_arr_begin(&m.j);
	enc_json_arr_end(&m.j);
	enc_json_kv_str(&m.j, "k\"ey", "v\xff");
	enc_json_kv_uint(&m.j, "u", 42);
	enc_json_kv_bool(&m.j, "t", true);
	enc_json_kv_str(&m.j, "n", NULL);
	enc_json_key(&m.j, "raw");
	enc_json_raw(&m.j, "{\"x\": [1, 2]}", 13);
	enc_json_obj_end(&m.j);
	r = enc_json_finish(&m.j);
	is_int(r, 0, "compact document finishes with 0");
	is_str(mem_text(&m),
	       "{\"a\":1,\"b\":[true,false,null,\"x\\ty\",-9223372036854775808,"
	       "18446744073709551615,null,\"abc\"],\"c\":{},\"d\":[],"
	       "\"k\\\"ey\":\"v" FFFD "\",\"u\":42,\"t\":true,\"n\":null,"
	       "\"raw\":{\"x\": [1, 2]}}\n",
	       "compact output, exact");
	is_int(enc_json_validate(m.buf, m.len - 1), 0, "compact output validates");

	/* The writer is reusable after finish: JSON lines. */
	enc_json_arr_begin(&m.j);
	enc_json_int(&m.j, 7);
	enc_json_arr_end(&m.j);
	is_int(enc_json_finish(&m.j), 0, "second document on the same stream");
	has_str(mem_text(&m), "}\n[7]\n", "second document follows on its own line");
	mem_close(&m);

	mem_open(&m, 0);
	enc_json_str(&m.j, "top");
	is_int(enc_json_finish(&m.j), 0, "a top-level scalar is a document");
	is_str(mem_text(&m), "\"top\"\n", "top-level scalar output");
	mem_close(&m);
}

static void test_pretty(void)
{
	struct mem m;

	mem_open(&m, ENC_JSON_PRETTY);
	enc_json_obj_begin(&m.j);
	enc_json_kv_str(&m.j, "name", "api");
	enc_json_key(&m.j, "ports");
	enc_json_arr_begin(&m.j);
	enc_json_int(&m.j, 3000);
	enc_json_obj_begin(&m.j);
	enc_json_kv_bool(&m.j, "udp", false);
	enc_json_obj_end(&m.j);
	enc_json_arr_end(&m.j);
	enc_json_key(&m.j, "empty_obj");
	enc_json_obj_begin(&m.j);
	enc_json_obj_end(&m.j);
	enc_json_key(&m.j, "empty_arr");
	enc_json_arr_begin(&m.j);
	enc_json_arr_end(&m.j);
	enc_json_obj_end(&m.j);
	is_int(enc_json_finish(&m.j), 0, "pretty document finishes with 0");
	is_str(mem_text(&m),
	       "{\n"
	       "  \"name\": \"api\",\n"
	       "  \"ports\": [\n"
	       "    3000,\n"
	       "    {\n"
	       "      \"udp\": false\n"
	       "    }\n"
	       "  ],\n"
	       "  \"empty_obj\": {},\n"
	       "  \"empty_arr\": []\n"
	       "}\n",
	       "pretty output, exact");
	is_int(enc_json_validate(m.buf, m.len), 0, "pretty output validates");
	mem_close(&m);

	mem_open(&m, ENC_JSON_PRETTY);
	enc_json_arr_begin(&m.j);
	enc_json_arr_end(&m.j);
	is_int(enc_json_finish(&m.j), 0, "pretty empty array");
	is_str(mem_text(&m), "[]\n", "pretty empty array output");
	mem_close(&m);
}

enum misuse {
	M_VALUE_NO_KEY,
	M_KEY_IN_ARRAY,
	M_KEY_AT_TOP,
	M_TWO_KEYS,
	M_OBJ_END_IN_ARRAY,
	M_ARR_END_IN_OBJ,
	M_END_AT_TOP,
	M_OPEN_AT_FINISH,
	M_KEY_AT_FINISH,
	M_NOTHING,
	M_TWO_TOP,
	M_TOO_DEEP,
	M_NULL_KEY,
	M_END_AFTER_KEY,
	M_RAW_EMPTY,
};

static void do_misuse(struct enc_json *j, enum misuse m)
{
	switch (m) {
	case M_VALUE_NO_KEY:
		enc_json_obj_begin(j);
		enc_json_int(j, 1);
		break;
	case M_KEY_IN_ARRAY:
		enc_json_arr_begin(j);
		enc_json_key(j, "k");
		break;
	case M_KEY_AT_TOP:
		enc_json_key(j, "k");
		break;
	case M_TWO_KEYS:
		enc_json_obj_begin(j);
		enc_json_key(j, "a");
		enc_json_key(j, "b");
		break;
	case M_OBJ_END_IN_ARRAY:
		enc_json_arr_begin(j);
		enc_json_obj_end(j);
		break;
	case M_ARR_END_IN_OBJ:
		enc_json_obj_begin(j);
		enc_json_arr_end(j);
		break;
	case M_END_AT_TOP:
		enc_json_obj_end(j);
		break;
	case M_OPEN_AT_FINISH:
		enc_json_arr_begin(j);
		enc_json_int(j, 1);
		return;
	case M_KEY_AT_FINISH:
		enc_json_obj_begin(j);
		enc_json_key(j, "k");
		return;
	case M_NOTHING:
		return;
	case M_TWO_TOP:
		enc_json_int(j, 1);
		enc_json_int(j, 2);
		return;
	case M_TOO_DEEP:
		for (int i = 0; i <= ENC_JSON_DEPTH; i++)
			enc_json_arr_begin(j);
		break;
	case M_NULL_KEY:
		enc_json_obj_begin(j);
		enc_json_key(j, NULL);
		break;
	case M_END_AFTER_KEY:
		enc_json_obj_begin(j);
		enc_json_key(j, "k");
		enc_json_obj_end(j);
		break;
	case M_RAW_EMPTY:
		enc_json_raw(j, "", 0);
		return;
	}
	/* Sticky: these would complete a document if the error were lost. */
	for (int i = 0; i <= ENC_JSON_DEPTH; i++) {
		enc_json_arr_end(j);
		enc_json_obj_end(j);
	}
}

static void test_misuse(void)
{
	static const struct {
		enum misuse m;
		const char *name;
		const char *out;	/* what was written before the error */
	} t[] = {
		{ M_VALUE_NO_KEY, "value where a key is due", "{" },
		{ M_KEY_IN_ARRAY, "key inside an array", "[" },
		{ M_KEY_AT_TOP, "key at top level", "" },
		{ M_TWO_KEYS, "two keys in a row", "{\"a\":" },
		{ M_OBJ_END_IN_ARRAY, "object end inside an array", "[" },
		{ M_ARR_END_IN_OBJ, "array end inside an object", "{" },
		{ M_END_AT_TOP, "unbalanced end", "" },
		{ M_OPEN_AT_FINISH, "finish with an open array", "[1" },
		{ M_KEY_AT_FINISH, "finish after a key", "{\"k\":" },
		{ M_NOTHING, "finish with nothing written", "" },
		{ M_TWO_TOP, "two top-level values", "1" },
		{ M_TOO_DEEP, "nesting deeper than ENC_JSON_DEPTH", NULL },
		{ M_NULL_KEY, "NULL key", "{" },
		{ M_END_AFTER_KEY, "object end after a key", "{\"k\":" },
		{ M_RAW_EMPTY, "empty raw value", "" },
	};
	char name[128], want[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mem m;

		mem_open(&m, 0);
		do_misuse(&m.j, t[i].m);
		snprintf(name, sizeof(name), "misuse: %s gives -EINVAL", t[i].name);
		is_int(enc_json_finish(&m.j), -EINVAL, name);
		snprintf(name, sizeof(name), "misuse: %s writes nothing more", t[i].name);
		if (t[i].out) {
			is_str(mem_text(&m), t[i].out, name);
		} else {
			memset(want, '[', ENC_JSON_DEPTH);
			want[ENC_JSON_DEPTH] = '\0';
			is_str(mem_text(&m), want, name);
		}
		mem_close(&m);
	}

	/* Exactly ENC_JSON_DEPTH levels are fine. */
	struct mem m;

	mem_open(&m, 0);
	for (int i = 0; i < ENC_JSON_DEPTH; i++)
		enc_json_arr_begin(&m.j);
	for (int i = 0; i < ENC_JSON_DEPTH; i++)
		enc_json_arr_end(&m.j);
	is_int(enc_json_finish(&m.j), 0, "ENC_JSON_DEPTH levels of nesting are allowed");
	is_int(enc_json_validate(m.buf, m.len), 0, "and the validator accepts them");
	mem_close(&m);

	/* An error does not survive finish: the next document is clean. */
	mem_open(&m, 0);
	enc_json_key(&m.j, "k");
	is_int(enc_json_finish(&m.j), -EINVAL, "error reported once");
	enc_json_null(&m.j);
	is_int(enc_json_finish(&m.j), 0, "next document after an error");
	mem_close(&m);
}

static void test_stream_error(void)
{
	struct enc_json j;
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		ok(0, "open /dev/full: %s", strerror(errno));
		return;
	}
	enc_json_init(&j, f, 0);
	enc_json_str(&j, "x");
	is_int(enc_json_finish(&j), -ENOSPC, "write error surfaces from finish as -ENOSPC");
	fclose(f);
}

static void test_all_bytes_valid(void)
{
	char in[256 * 3];
	struct mem m;

	/* Every byte value, alone and in pairs: whatever goes in, what comes
	 * out is valid JSON. */
	for (int i = 0; i < 256; i++) {
		in[3 * i] = (char)i;
		in[3 * i + 1] = (char)(255 - i);
		in[3 * i + 2] = (char)(i ^ 0x80);
	}
	mem_open(&m, 0);
	enc_json_arr_begin(&m.j);
	enc_json_strn(&m.j, in, sizeof(in));
	for (int i = 0; i < 256; i++)
		enc_json_strn(&m.j, in + 3 * i, 1);
	enc_json_arr_end(&m.j);
	is_int(enc_json_finish(&m.j), 0, "all byte values written");
	is_int(enc_json_validate(m.buf, m.len), 0, "output for all byte values validates");
	mem_close(&m);
}

/* A test name for a document: printable ASCII as is, the rest as \xNN, so
 * no TAP line is split by a newline or a U+2028 in the data. */
static const char *shown(const char *s)
{
	static char buf[256];
	size_t o = 0;

	for (; *s && o + 5 < sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

static char *nest(const char *open, const char *inner, const char *close, int n)
{
	size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + li + 1), *p = s;

	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, inner, li);
	p += li;
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void test_validator(void)
{
	static const char *const good[] = {
		"0", "-0", "1e5", "-0.0", "1E+2", "1e-2", "-1.5E-3", "123",
		"9999999999999999999999999999", "0.000001",
		"\"\"", "\"a\\u0041\\n\\/\\\\\\\"\\b\\f\\r\\t\"",
		"\"\\ud800\"", "\"\\uDC00\\uD800\"", "\"\\uFFFF\"",
		"true", "false", "null", " {} ", "[]", "[ ]", "{ }",
		"{\"a\":[1,2,{\"b\":null}],\"a\":0}",
		"\t\n\r [ 1 , 2 ]\n",
		"\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\"",
		"\"\x7f\"",
		"[\"\",{},[],0,true]",
		"{\"\":\"\"}",
	};
	static const char *const bad[] = {
		"", " ", "01", "-01", "00", "-", "+1", "1.", ".5", "1e", "1e+",
		"1.e5", "0x10", "1.5e", "NaN", "Infinity", "-Infinity",
		"tru", "nul", "True", "NULL", "truex", "[1,]", "[,1]", "[,]",
		"{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{a:1}", "{'a':1}",
		"{1:2}", "{\"a\" 1}", "[1 2]", "{\"a\":1 \"b\":2}",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U0041\"",
		"\"\\", "\"a\x01b\"", "\"\t\"", "\"\n\"", "\"\x1f\"",
		"1 2", "{}x", "[]]", "{}}", "[]{}", "[", "]", "{", "}", ",", ":",
		"\xef\xbb\xbf{}", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xff\"",
		"\"\xe2\x82\"", "\"\xf4\x90\x80\x80\"", "[1]\x0c", "\x0b[1]",
		"/* c */ 1", "[1] // c", "'a'", "\"a\"\"b\"",
	};
	char name[300];
	char *s;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(name, sizeof(name), "validate accepts '%s'", shown(good[i]));
		is_int(enc_json_validate(good[i], strlen(good[i])), 0, name);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "validate rejects '%s'", shown(bad[i]));
		is_int(enc_json_validate(bad[i], strlen(bad[i])), -EINVAL, name);
	}

	/* Explicit lengths: a NUL inside is not an end. */
	is_int(enc_json_validate("[1]\0", 4), -EINVAL, "validate rejects a trailing NUL byte");
	is_int(enc_json_validate("\"a\0b\"", 5), -EINVAL, "validate rejects a NUL in a string");
	is_int(enc_json_validate("[1]xyz", 3), 0, "validate stops at len");
	is_int(enc_json_validate("[1]", 2), -EINVAL, "validate: len cuts the document short");
	is_int(enc_json_validate(NULL, 0), -EINVAL, "validate rejects NULL");

	/* Depth: 32 accepted, 33 rejected, and a huge depth is rejected
	 * quickly without recursion. */
	s = nest("[", "", "]", ENC_JSON_DEPTH);
	is_int(enc_json_validate(s, strlen(s)), 0, "validate accepts arrays nested 32 deep");
	free(s);
	s = nest("[", "", "]", ENC_JSON_DEPTH + 1);
	is_int(enc_json_validate(s, strlen(s)), -EINVAL, "validate rejects arrays nested 33 deep");
	free(s);
	s = nest("{\"k\":", "1", "}", ENC_JSON_DEPTH);
	is_int(enc_json_validate(s, strlen(s)), 0, "validate accepts objects nested 32 deep");
	free(s);
	s = nest("{\"k\":", "1", "}", ENC_JSON_DEPTH + 1);
	is_int(enc_json_validate(s, strlen(s)), -EINVAL, "validate rejects objects nested 33 deep");
	free(s);
	s = nest("[{\"k\":", "1", "}]", ENC_JSON_DEPTH / 2);
	is_int(enc_json_validate(s, strlen(s)), 0, "validate accepts mixed nesting 32 deep");
	free(s);
	s = nest("[{\"k\":", "1", "}]", ENC_JSON_DEPTH / 2 + 1);
	is_int(enc_json_validate(s, strlen(s)), -EINVAL, "validate rejects mixed nesting 34 deep");
	free(s);
	s = nest("[", "", "", 1000000);
	is_int(enc_json_validate(s, strlen(s)), -EINVAL, "validate rejects a million open brackets");
	free(s);

	/* Wide is fine: depth, not size, is limited. */
	{
		size_t n = 100000;
		char *w = malloc(2 * n + 2), *p = w;

		*p++ = '[';
		for (size_t i = 0; i < n; i++) {
			*p++ = '0';
			*p++ = i + 1 < n ? ',' : ']';
		}
		*p = '\0';
		is_int(enc_json_validate(w, strlen(w)), 0, "validate accepts a 100000-element array");
		free(w);
	}
}

int main(void)
{
	test_control_chars();
	test_utf8();
	test_escape_buffer();
	test_writer();
	test_pretty();
	test_misuse();
	test_stream_error();
	test_all_bytes_valid();
	test_validator();
	return tap_done();
}
