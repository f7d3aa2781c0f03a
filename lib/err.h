/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * err.h - error context for library functions.
 *
 * Contract: library functions never print and never exit. They return 0 on
 * success or a negative errno value on failure, and when the caller passes a
 * non-NULL struct enc_err they also leave a one-line, human-readable message
 * there (without the program-name prefix; tools add that). A NULL err is
 * always allowed. Only the first error is kept: a function that calls another
 * which already filled err must not overwrite it (use enc_err_isset()).
 *
 * Part of the helper core.
 */
#ifndef ENCLAVE_ERR_H
#define ENCLAVE_ERR_H

#include <stdbool.h>
#include "util.h"

#define ENC_ERR_MSG_MAX 1024

struct enc_err {
	int code;			/* negative errno, 0 when unset */
	char msg[ENC_ERR_MSG_MAX];	/* complete message, '\0' when unset */
};

/* Set err (if not NULL and not already set) to @code (a negative errno) and
 * the formatted message. Returns @code so callers can `return enc_err_set(...)`.
 * errno is preserved. */
int enc_err_set(struct enc_err *e, int code, const char *fmt, ...) ENC_PRINTF(3, 4);

/* Like enc_err_set(), appending ": strerror(-code)" to the message. */
int enc_err_sys(struct enc_err *e, int code, const char *fmt, ...) ENC_PRINTF(3, 4);

/* Prefix an already-set message with more context ("reading X: " + old). */
void enc_err_prefix(struct enc_err *e, const char *fmt, ...) ENC_PRINTF(2, 3);

static inline bool enc_err_isset(const struct enc_err *e)
{
	return e && e->code != 0;
}

static inline void enc_err_clear(struct enc_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

#endif
