/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static int vset(struct enc_err *e, int code, bool sys, const char *fmt, va_list ap)
{
	int saved = errno;

	/* A failure reported with code 0 would read as success to a caller
	 * doing `return enc_err_set(...)`; make it a failure everywhere. */
	if (code == 0)
		code = -EIO;
	if (!e || e->code != 0) {
		errno = saved;
		return code;
	}
	e->code = code;
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (sys && n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s",
			 strerror(code < 0 ? -code : code));
	errno = saved;
	return code;
}

int enc_err_set(struct enc_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vset(e, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int enc_err_sys(struct enc_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vset(e, code, true, fmt, ap);
	va_end(ap);
	return code;
}

void enc_err_prefix(struct enc_err *e, const char *fmt, ...)
{
	char head[ENC_ERR_MSG_MAX];
	va_list ap;
	int saved = errno;

	if (!e || e->code == 0) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	int n = vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	if (n > 0) {
		/* Shift the old message right and put the prefix in front,
		 * truncating the tail if the whole does not fit. */
		size_t hl = strnlen(head, sizeof(head) - 1);
		size_t ol = strnlen(e->msg, sizeof(e->msg) - 1);
		if (hl > sizeof(e->msg) - 1)
			hl = sizeof(e->msg) - 1;
		if (hl + ol > sizeof(e->msg) - 1)
			ol = sizeof(e->msg) - 1 - hl;
		memmove(e->msg + hl, e->msg, ol);
		memcpy(e->msg, head, hl);
		e->msg[hl + ol] = '\0';
	}
	errno = saved;
}
