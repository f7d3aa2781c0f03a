/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap.h - a tiny TAP producer for the unit tests (meson protocol 'tap').
 * Header only: each test is one program, main() calls the checks and ends
 * with `return tap_done();`.
 */
#ifndef ENCLAVE_TAP_H
#define ENCLAVE_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define is_int(got, want, name)                                                 \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (!tap_ok(g_ == w_, "%s", name))                             \
			printf("#   got %lld, want %lld (%s:%d)\n", g_, w_,     \
			       __FILE__, __LINE__);                            \
	} while (0)

#define is_u64(got, want, name)                                                 \
	do {                                                                   \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);          \
		if (!tap_ok(g_ == w_, "%s", name))                             \
			printf("#   got %" PRIu64 ", want %" PRIu64 " (%s:%d)\n", \
			       g_, w_, __FILE__, __LINE__);                    \
	} while (0)

#define is_str(got, want, name)                                                 \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		bool eq_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;        \
		if (!tap_ok(eq_, "%s", name))                                  \
			printf("#   got  '%s'\n#   want '%s' (%s:%d)\n",         \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)",          \
			       __FILE__, __LINE__);                            \
	} while (0)

/* substring check */
#define has_str(hay, needle, name)                                              \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!tap_ok(h_ && strstr(h_, n_) != NULL, "%s", name))         \
			printf("#   '%s'\n#   does not contain '%s' (%s:%d)\n",  \
			       h_ ? h_ : "(null)", n_, __FILE__, __LINE__);    \
	} while (0)

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
