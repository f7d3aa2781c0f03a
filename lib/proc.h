/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.h - process references that survive pid reuse.
 *
 * A pid alone names whatever process has that number now. enclave stores a
 * pid together with its start time (field 22 of /proc/PID/stat, in clock
 * ticks since boot), and turns it back into a process only through a pidfd
 * whose start time is checked after the pidfd was opened: the pidfd pins
 * the process, so a match proves it is the same one (DESIGN §11).
 *
 * Contract: 0 / fd on success, -errno on failure; -ESRCH when the process is
 * gone or the pid now belongs to another process.
 */
#ifndef ENCLAVE_PROC_H
#define ENCLAVE_PROC_H

#include <stdint.h>
#include <sys/types.h>
#include "err.h"

struct enc_pidref {
	pid_t pid;
	uint64_t start;		/* /proc/PID/stat starttime */
};

/* Start time of pid, or -ESRCH. */
int enc_proc_starttime(pid_t pid, uint64_t *start);

/* Fill ref for a live pid. */
int enc_pidref_of(pid_t pid, struct enc_pidref *ref);

/* "PID START\n" <-> ref. Parsing is strict. */
int enc_pidref_format(const struct enc_pidref *ref, char *buf, size_t len);
int enc_pidref_parse(const char *s, struct enc_pidref *ref);

/* A pidfd (O_CLOEXEC) for ref, or -ESRCH if that process is gone. */
int enc_pidref_open(const struct enc_pidref *ref, struct enc_err *err);

/* pidfd_open / pidfd_send_signal wrappers. */
int enc_pidfd_open(pid_t pid, unsigned flags);
int enc_pidfd_send_signal(int pidfd, int sig);

#endif
