/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tool.h - what the programs in tools/ share: the program name, die/warn
 * reporting, --help/--version plumbing. Library code never includes this.
 *
 * Messages go to stderr as "enclave-X: message" (DESIGN.md §13), never to
 * stdout. errno is saved before formatting.
 */
#ifndef ENCLAVE_TOOL_H
#define ENCLAVE_TOOL_H

#include "err.h"
#include "exitcodes.h"

/* Set once at the top of main(): "enclave-spawn". */
void enc_tool_init(const char *name);
const char *enc_tool_name(void);

/* The exit status used by die*() (default ENC_EXIT_FAILURE); enclave-spawn
 * run/exec sets it to ENC_EXIT_CANNOT_RUN. */
void enc_tool_set_fail_status(int status);

void warnx_(const char *fmt, ...) ENC_PRINTF(1, 2);
void warn_errno(const char *fmt, ...) ENC_PRINTF(1, 2);
void die(const char *fmt, ...) ENC_PRINTF(1, 2) ENC_NORETURN;
void die_errno(const char *fmt, ...) ENC_PRINTF(1, 2) ENC_NORETURN;
/* Exit with `status` after printing the message. */
void die_status(int status, const char *fmt, ...) ENC_PRINTF(2, 3) ENC_NORETURN;
/* Print err->msg; exit status ENC_EXIT_USAGE when the error is -EINVAL
 * from configuration (pass it explicitly), else the fail status. */
void die_err(const struct enc_err *e, int status) ENC_NORETURN;
void warn_err(const struct enc_err *e);

/* "Try 'enclave-X --help'." on stderr, exit 2. */
void enc_usage_error(const char *fmt, ...) ENC_PRINTF(1, 2) ENC_NORETURN;

/* "enclave-X VERSION" on stdout, exit 0. */
void enc_print_version(void) ENC_NORETURN;

#endif
