/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-names - the name allowlists: every rule of names.h at its boundary,
 * the kind named in each message, and path-traversal and option-injection
 * shapes that must never pass.
 */
#include <errno.h>
#include <string.h>

#include "names.h"
#include "parse.h"
#include "tap.h"

static const char *tname(const char *what, const char *in)
{
	static char name[ENC_QUOTE_BUF + 64];
	char q[ENC_QUOTE_BUF];

	snprintf(name, sizeof(name), "%s '%s'", what, enc_quote(q, in));
	return name;
}

struct name_case {
	const char *in;
	const char *msg;	/* NULL: valid; else a fragment after "<kind> name " */
};

#define BAD_CHARS "may contain only letters, digits, '_', '.' and '-' and must start with a letter or digit"
#define RESERVED "must not end in '.new' or '.tmp' (reserved for temporary files)"

static const struct name_case name_cases[] = {
	{ "a", NULL },
	{ "Z", NULL },
	{ "0", NULL },
	{ "devbox", NULL },
	{ "api", NULL },
	{ "my-sandbox_2.1", NULL },
	{ "A.b-C_d", NULL },
	{ "1st", NULL },
	{ "a.", NULL },
	{ "a-", NULL },
	{ "a_", NULL },
	{ "a.b.c", NULL },
	{ "x.news", NULL },
	{ "x.NEW", NULL },
	{ "new", NULL },
	{ "tmp", NULL },
	{ "x-new", NULL },
	{ "x.tm", NULL },
	{ "github", NULL },
	{ "", "must not be empty" },
	{ ".", "'.' " BAD_CHARS },
	{ "..", "'..' " BAD_CHARS },
	{ ".hidden", "'.hidden' " BAD_CHARS },
	{ "-rf", "'-rf' " BAD_CHARS },
	{ "_x", "'_x' " BAD_CHARS },
	{ "a/b", "'a/b' " BAD_CHARS },
	{ "../etc", BAD_CHARS },
	{ "a/../b", BAD_CHARS },
	{ "/abs", BAD_CHARS },
	{ "a b", BAD_CHARS },
	{ "a\tb", "'a\\x09b' " BAD_CHARS },
	{ "a\nb", "'a\\x0ab' " BAD_CHARS },
	{ "caf\xc3\xa9", "'caf\\xc3\\xa9' " BAD_CHARS },
	{ "a:b", BAD_CHARS },
	{ "a*", BAD_CHARS },
	{ "a$b", BAD_CHARS },
	{ "a'b", "'a\\'b' " BAD_CHARS },
	{ "a\\b", "'a\\\\b' " BAD_CHARS },
	{ "a+b", BAD_CHARS },
	{ "a@b", BAD_CHARS },
	{ "a..b", "'a..b' must not contain '..'" },
	{ "a..", "must not contain '..'" },
	{ "a...b", "must not contain '..'" },
	{ "x.new", "'x.new' " RESERVED },
	{ "x.tmp", "'x.tmp' " RESERVED },
	{ "a.b.new", RESERVED },
	{ "0.tmp", RESERVED },
};

static void check_kind(enum enc_name_kind kind, const char *kstr)
{
	char prefix[64], want[512];

	snprintf(prefix, sizeof(prefix), "%s name ", kstr);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(name_cases); i++) {
		const struct name_case *c = &name_cases[i];
		struct enc_err e = { 0 };
		int r = enc_name_check(kind, c->in, &e);

		is_int(r, c->msg ? -EINVAL : 0, tname(prefix, c->in));
		if (c->msg) {
			is_int(e.code, -EINVAL, "err code");
			snprintf(want, sizeof(want), "%s%s", prefix, c->msg);
			/* Fragments that start with the quoted name include the
			 * kind; the others only need to appear. */
			has_str(e.msg, c->msg[0] == '\'' || strcmp(c->msg, "must not be empty") == 0
					       ? want : c->msg,
				"message");
			ok(strncmp(e.msg, prefix, strlen(prefix)) == 0,
			   "message starts with '%s'", prefix);
		} else {
			is_int(e.code, 0, "err untouched when valid");
		}
		is_int(enc_name_valid(c->in), c->msg == NULL, "enc_name_valid agrees");
	}
}

static void test_lengths(void)
{
	char name[200];
	struct enc_err e = { 0 };

	memset(name, 'a', sizeof(name));
	name[ENC_NAME_MAX] = '\0';
	is_int(strlen(name), 63, "ENC_NAME_MAX is 63");
	is_int(enc_name_check(ENC_NAME_SANDBOX, name, &e), 0, "63-byte name is valid");
	ok(enc_name_valid(name), "63-byte name: enc_name_valid");

	name[ENC_NAME_MAX] = 'a';
	name[ENC_NAME_MAX + 1] = '\0';
	is_int(enc_name_check(ENC_NAME_SANDBOX, name, &e), -EINVAL, "64-byte name is too long");
	has_str(e.msg, "sandbox name 'aaaa", "too long: kind and name");
	has_str(e.msg, "is too long (at most 63 bytes)", "too long: limit");
	ok(!enc_name_valid(name), "64-byte name: not valid");

	/* A very long name is quoted cut short. */
	name[sizeof(name) - 1] = '\0';
	memset(name, 'b', sizeof(name) - 1);
	enc_err_clear(&e);
	enc_name_check(ENC_NAME_PROVIDER, name, &e);
	ok(strlen(e.msg) < 200, "long name message is bounded (%zu)", strlen(e.msg));
	has_str(e.msg, "bbb...' is too long", "long name quoted with '...'");

	/* A 63-byte name that ends in .new is still reserved. */
	memset(name, 'c', 59);
	memcpy(name + 59, ".new", 5);
	is_int(strlen(name), 63, "63-byte .new name length");
	is_int(enc_name_check(ENC_NAME_WORKSPACE, name, NULL), -EINVAL, "63-byte .new name refused");

	/* Environment names. */
	memset(name, 'E', sizeof(name));
	name[ENC_ENVNAME_MAX] = '\0';
	is_int(enc_envname_check(name, NULL), 0, "128-byte env name is valid");
	name[ENC_ENVNAME_MAX] = 'E';
	name[ENC_ENVNAME_MAX + 1] = '\0';
	enc_err_clear(&e);
	is_int(enc_envname_check(name, &e), -EINVAL, "129-byte env name is too long");
	has_str(e.msg, "environment variable name 'EEEE", "env too long: kind");
	has_str(e.msg, "is too long (at most 128 bytes)", "env too long: limit");
}

static const struct name_case env_cases[] = {
	{ "A", NULL },
	{ "_", NULL },
	{ "a", NULL },
	{ "PATH", NULL },
	{ "GITHUB_TOKEN", NULL },
	{ "ENCLAVE_TOKEN", NULL },
	{ "_x1", NULL },
	{ "x1_2", NULL },
	{ "lower_case", NULL },
	{ "", "environment variable name must not be empty" },
	{ "1X", "environment variable name '1X' may contain only letters, digits and '_' and must not start with a digit" },
	{ "9", "'9' may contain only" },
	{ "A-B", "'A-B' may contain only" },
	{ "A.B", "'A.B' may contain only" },
	{ "A=B", "'A=B' may contain only" },
	{ "A B", "'A B' may contain only" },
	{ "A\nB", "'A\\x0aB' may contain only" },
	{ "\xc3\x84", "'\\xc3\\x84' may contain only" },
	{ "$A", "'$A' may contain only" },
};

static void test_envnames(void)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(env_cases); i++) {
		const struct name_case *c = &env_cases[i];
		struct enc_err e = { 0 };
		int r = enc_envname_check(c->in, &e);

		is_int(r, c->msg ? -EINVAL : 0, tname("env", c->in));
		if (c->msg) {
			is_int(e.code, -EINVAL, "env err code");
			has_str(e.msg, c->msg, "env message");
			ok(strncmp(e.msg, "environment variable name", 25) == 0,
			   "env message names the kind");
		}
	}
	is_int(enc_envname_check(NULL, NULL), -EINVAL, "env NULL");
}

static void test_misc(void)
{
	struct enc_err e = { 0 };

	is_str(enc_name_kind_str(ENC_NAME_SANDBOX), "sandbox", "kind str sandbox");
	is_str(enc_name_kind_str(ENC_NAME_WORKSPACE), "workspace", "kind str workspace");
	is_str(enc_name_kind_str(ENC_NAME_PROVIDER), "provider", "kind str provider");

	is_int(enc_name_check(ENC_NAME_SANDBOX, NULL, &e), -EINVAL, "NULL name");
	has_str(e.msg, "sandbox name must not be empty", "NULL name message");
	ok(!enc_name_valid(NULL), "NULL name not valid");
	ok(!enc_name_valid(""), "empty name not valid");
	is_int(enc_name_check(ENC_NAME_WORKSPACE, "ok", NULL), 0, "NULL err allowed");
	is_int(enc_name_check(ENC_NAME_WORKSPACE, "a/b", NULL), -EINVAL, "NULL err on error");

	/* First error kept. */
	enc_err_clear(&e);
	enc_name_check(ENC_NAME_SANDBOX, "a/b", &e);
	enc_name_check(ENC_NAME_WORKSPACE, "c/d", &e);
	has_str(e.msg, "sandbox name 'a/b'", "first error kept");

	/* Exhaustive single-byte check against the allowlist. */
	unsigned bad = 0;
	for (int c = 1; c < 256; c++) {
		char n1[2] = { (char)c, 0 }, n2[3] = { 'a', (char)c, 0 };
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		bool mid = alnum || c == '_' || c == '.' || c == '-';
		bool envfirst = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		bool envmid = envfirst || (c >= '0' && c <= '9');

		if (enc_name_valid(n1) != alnum || enc_name_valid(n2) != mid ||
		    (enc_envname_check(n1, NULL) == 0) != envfirst ||
		    (enc_envname_check(n2, NULL) == 0) != envmid)
			bad++;
	}
	is_int(bad, 0, "every byte 1-255 as first and second character");
}

int main(void)
{
	check_kind(ENC_NAME_SANDBOX, "sandbox");
	check_kind(ENC_NAME_WORKSPACE, "workspace");
	check_kind(ENC_NAME_PROVIDER, "provider");
	test_lengths();
	test_envnames();
	test_misc();
	return tap_done();
}
