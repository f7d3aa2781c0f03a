/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logfile.h - the workload's output log, bounded in size and kept across
 * restarts (DESIGN.md §10), and its reading side for
 * `enclave-spawn logs [-f] [--tail N]`.
 *
 * Files, in the workspace's state dir: `log` (being written) and `log.1`
 * (the previous generation). When a write would take `log` past the limit,
 * `log` is renamed over `log.1` (dropping the older generation) and a new
 * `log` is started. Each file stays within the limit, so a workspace uses
 * at most 2 x limit bytes whatever the workload prints. log.1 followed by
 * log is one stream: rotation happens between chunks, not at line ends.
 *
 * The stream is the workload's bytes, unchanged: no timestamps are added.
 * enclave inserts only two kinds of line, both on a line of their own
 * (a newline is added first when the stream is mid-line) and both starting
 * with "--- enclave: " and ending with " ---":
 *   --- enclave: started 2026-11-25T21:30:00Z ---     (enc_log_mark)
 *   --- enclave: output truncated, N bytes dropped ---
 * The second follows the first limit - ~60 bytes of a single chunk larger
 * than the limit. These lines are recognisable, not authenticated: a
 * workload can print the same text. The audit log is the record of starts.
 *
 * Writer: one per workspace, the monitor, which holds the workspace lock.
 * Readers need no lock and never block the writer.
 *
 * Every open is beneath the state dir fd with fsutil.h's enc_openat (no
 * symlinks); rename is renameat on the fixed names within that dir.
 */
#ifndef ENCLAVE_LOGFILE_H
#define ENCLAVE_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define ENC_LOG_FILE "log"
#define ENC_LOG_OLD "log.1"
#define ENC_LOG_DEFAULT_LIMIT (8ULL << 20)	/* 8 MiB */
#define ENC_LOG_MIN_LIMIT 256ULL
#define ENC_LOG_MARK_PREFIX "--- enclave: "

struct enc_log {
	int dirfd;		/* our dup of the state dir fd */
	int fd;			/* current `log`, O_WRONLY|O_APPEND; -1 after a
				 * failed reopen (retried on the next write) */
	uint64_t limit;
	uint64_t size;		/* bytes in `log` */
	bool at_bol;		/* the stream ends at the start of a line */
	uint64_t rotations;	/* since open, for tests and stats */
};

#define ENC_LOG_INIT { .dirfd = -1, .fd = -1 }

/* Open (creating 0600) `log` beneath dirfd for appending. limit 0 means
 * ENC_LOG_DEFAULT_LIMIT; below ENC_LOG_MIN_LIMIT is -EINVAL. dirfd is
 * duplicated, the caller keeps its own. An existing `log` already over the
 * limit (a smaller limit than last time) is rotated on the first write. */
int enc_log_open(int dirfd, uint64_t limit, struct enc_log *l, struct enc_err *err);

/* Append one chunk as it was read from the workload, rotating first when
 * it would not fit. A chunk larger than the limit keeps its head and ends
 * with the truncation line. On an error nothing of the chunk may have been
 * written; the caller keeps draining the workload's output anyway and may
 * retry with later chunks (the bound holds whatever happens). */
int enc_log_write(struct enc_log *l, const void *buf, size_t len, struct enc_err *err);

/* Write "--- enclave: WHAT <UTC time> ---\n". what is printable ASCII
 * without newlines, at most 64 bytes ("started", "restarted"). */
int enc_log_mark(struct enc_log *l, const char *what, struct enc_err *err);

void enc_log_close(struct enc_log *l);

/* Copy the last nlines lines of log.1 + log to outfd (a final line without
 * a newline counts as a line; nlines 0 prints nothing). Reads backwards in
 * fixed-size blocks: memory does not depend on the log or line size. A
 * missing log is empty, not an error. */
int enc_log_tail(int dirfd, size_t nlines, int outfd, struct enc_err *err);

/* Print the last nlines (like enc_log_tail; 0 for none) and then stream
 * everything appended afterwards to outfd as it arrives, without a gap or
 * a duplicate between the two. Follows rotation: when `log` is renamed to
 * `log.1` the rest of the old file is drained before the new `log` is read
 * from its start; a follower that falls a whole generation behind also
 * reads the intermediate `log.1`, and one further behind than that loses
 * what the size bound dropped. Woken by inotify on the directory (with a
 * re-check every second, so a lost event only delays). Returns 0 when
 * stop_fd (-1 for none) becomes readable or hangs up, after copying
 * everything written before that, or (within a second) when the directory
 * is removed; -errno on an error, e.g. -EPIPE when outfd's reader went
 * away (with SIGPIPE ignored; otherwise the signal ends the process). */
int enc_log_follow(int dirfd, size_t nlines, int outfd, int stop_fd,
		   struct enc_err *err);

#endif
