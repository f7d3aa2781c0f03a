/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * names.c - allowlist validation of names that become path components,
 * host names and environment variables.
 *
 * An allowlist, not a denylist: a name that passes cannot be "", ".", "..",
 * contain '/', start with '-' (option injection in any tool it reaches) or
 * collide with the state directory's "X.new"/"X.tmp" temporaries. Plain
 * ASCII comparisons, never ctype.h, so the locale cannot widen the set.
 */
#include <errno.h>
#include <string.h>

#include "names.h"
#include "parse.h"

static inline bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

bool enc_gen_id_valid(const char *s)
{
	if (!s || strlen(s) != ENC_GEN_ID_LEN)
		return false;
	for (size_t i = 0; i < ENC_GEN_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

const char *enc_name_kind_str(enum enc_name_kind kind)
{
	switch (kind) {
	case ENC_NAME_SANDBOX:
		return "sandbox";
	case ENC_NAME_WORKSPACE:
		return "workspace";
	case ENC_NAME_PROVIDER:
		return "provider";
	}
	return "unknown";
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The checks, in the order a user would want to hear about them. With
 * kind < 0 nothing is reported (enc_name_valid). */
static int name_check(int kind, const char *name, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	const char *what = kind < 0 ? "name" : enc_name_kind_str((enum enc_name_kind)kind);
	size_t n;

	if (kind < 0)
		err = NULL;
	if (!name || name[0] == '\0')
		return enc_err_set(err, -EINVAL, "%s name must not be empty", what);
	n = strnlen(name, ENC_NAME_MAX + 1);
	if (n > ENC_NAME_MAX)
		return enc_err_set(err, -EINVAL,
				   "%s name '%s' is too long (at most %d bytes)",
				   what, enc_quote(q, name), ENC_NAME_MAX);
	bool good = is_alnum(name[0]);
	for (size_t i = 1; good && i < n; i++)
		good = is_alnum(name[i]) || name[i] == '_' || name[i] == '.' ||
		       name[i] == '-';
	if (!good)
		return enc_err_set(err, -EINVAL,
				   "%s name '%s' may contain only letters, digits, '_', "
				   "'.' and '-' and must start with a letter or digit",
				   what, enc_quote(q, name));
	if (strstr(name, ".."))
		return enc_err_set(err, -EINVAL, "%s name '%s' must not contain '..'",
				   what, enc_quote(q, name));
	if (ends_with(name, n, ".new") || ends_with(name, n, ".tmp"))
		return enc_err_set(err, -EINVAL,
				   "%s name '%s' must not end in '.new' or '.tmp' "
				   "(reserved for temporary files)",
				   what, enc_quote(q, name));
	return 0;
}

int enc_name_check(enum enc_name_kind kind, const char *name, struct enc_err *err)
{
	return name_check((int)kind, name, err);
}

bool enc_name_valid(const char *name)
{
	return name_check(-1, name, NULL) == 0;
}

int enc_envname_check(const char *name, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	size_t n;

	if (!name || name[0] == '\0')
		return enc_err_set(err, -EINVAL,
				   "environment variable name must not be empty");
	n = strnlen(name, ENC_ENVNAME_MAX + 1);
	if (n > ENC_ENVNAME_MAX)
		return enc_err_set(err, -EINVAL,
				   "environment variable name '%s' is too long "
				   "(at most %d bytes)",
				   enc_quote(q, name), ENC_ENVNAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (i > 0 && c >= '0' && c <= '9'))
			continue;
		return enc_err_set(err, -EINVAL,
				   "environment variable name '%s' may contain only "
				   "letters, digits and '_' and must not start with a digit",
				   enc_quote(q, name));
	}
	return 0;
}
