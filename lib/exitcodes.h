/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exitcodes.h - the exit statuses of every enclave program (DESIGN.md §13).
 * Each man page's EXIT STATUS section lists these; keep them in step.
 */
#ifndef ENCLAVE_EXITCODES_H
#define ENCLAVE_EXITCODES_H

enum {
	ENC_EXIT_OK = 0,	/* success */
	ENC_EXIT_FAILURE = 1,	/* the operation failed */
	ENC_EXIT_USAGE = 2,	/* usage or configuration error */

	/* Command wrappers (enclave-spawn run/exec), as env(1)/chroot(1). */
	ENC_EXIT_CANNOT_RUN = 125,	/* enclave failed before the command ran */
	ENC_EXIT_NOT_EXECUTABLE = 126,	/* command found but not executable */
	ENC_EXIT_NOT_FOUND = 127,	/* command not found */
	ENC_EXIT_SIGNAL_BASE = 128,	/* 128+N: the command died of signal N */
};

#endif
