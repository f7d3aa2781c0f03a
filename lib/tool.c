/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "tool.h"

static const char *tool_name = "enclave";
static int fail_status = ENC_EXIT_FAILURE;

void enc_tool_init(const char *name)
{
	tool_name = name;
}

const char *enc_tool_name(void)
{
	return tool_name;
}

void enc_tool_set_fail_status(int status)
{
	fail_status = status;
}

static void vreport(int errnum, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void warn_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vreport(saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
	exit(fail_status);
}

void die_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vreport(saved, fmt, ap);
	va_end(ap);
	exit(fail_status);
}

void die_status(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
	exit(status);
}

void warn_err(const struct enc_err *e)
{
	fprintf(stderr, "%s: %s\n", tool_name,
		e && e->msg[0] ? e->msg : "unknown error");
}

void die_err(const struct enc_err *e, int status)
{
	warn_err(e);
	exit(status ? status : fail_status);
}

void enc_usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vreport(0, fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "Try '%s --help'.\n", tool_name);
	exit(ENC_EXIT_USAGE);
}

void enc_print_version(void)
{
	printf("%s %s\n", tool_name, ENCLAVE_VERSION);
	exit(ENC_EXIT_OK);
}
