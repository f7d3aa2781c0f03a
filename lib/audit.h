/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h - the per-workspace audit log: an append-only JSON-lines file
 * (audit.jsonl in the workspace's state dir, DESIGN.md §10) whose records
 * are chained by SHA-256 so that editing, removing or reordering a record
 * is detectable.
 *
 * Record format, one line each, fields in this fixed order:
 *
 *   {"seq":N,"time":"2026-11-25T21:30:00.123Z","event":"start",
 *    ...the event's fields...,"prev":"<64 hex>"}
 *
 * seq counts from 1, so in an intact file seq equals the line number. prev
 * is the lowercase hex SHA-256 of the previous line's bytes without its
 * newline, 64 zeros for the first record. Strings are escaped by json.h, so
 * a hostile value (quotes, newlines, invalid UTF-8) never splits a record.
 *
 * Secrets (DESIGN.md §15.2): records carry names, never values, of
 * credentials. As a tripwire against future misuse, a field named "token",
 * "secret", "password" or "value", or ending in "_token", "_secret",
 * "_password" or "_value", is refused with -EINVAL.
 *
 * Concurrency: the monitor and `enter` processes may append to the same
 * file. O_APPEND makes each write(2) land at the end of the file, and on
 * Linux local file systems a single write to a regular file is not
 * interleaved with another (the inode lock is held for the whole write);
 * PIPE_BUF does not apply to regular files. That alone would still let two
 * writers read the same last record and fork the chain, and a short write
 * (ENOSPC, RLIMIT_FSIZE) could leave a torn line, so every append takes an
 * exclusive flock(2) on the file itself around "recover the tail, write the
 * line". Readers (enc_audit_verify) take a shared flock so they never see
 * a record half-written. No guarantee is made on network file systems.
 *
 * Torn tail: a crash during a write can leave a last line without its
 * newline. enc_audit_verify() reports it as ENC_AUDIT_TRUNCATED, distinct
 * from tampering. The next append removes the fragment (ftruncate to the
 * last newline: it never was a complete record) and first appends an
 * "audit_torn_tail" record with the number of bytes dropped, so the repair
 * itself is in the chain.
 *
 * Limits of a hash chain without a key: whoever can write the file can
 * rewrite it from the edited record onwards, or drop records at the end.
 * Keep the head hash (enc_audit_verify_result.head, or enc_audit.prev after
 * an append) somewhere the workload cannot write to anchor the chain.
 *
 * Not part of the helper core (needs libsodium).
 */
#ifndef ENCLAVE_AUDIT_H
#define ENCLAVE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"
#include "hash.h"

#define ENC_AUDIT_FILE "audit.jsonl"
/* Longest record accepted or read back, newline included. */
#define ENC_AUDIT_LINE_MAX (256 * 1024)
/* Field and event names: [a-z0-9_]+, at most this many bytes. */
#define ENC_AUDIT_NAME_MAX 64

enum enc_audit_type {
	ENC_AUDIT_T_STR,	/* .s, NULL writes null */
	ENC_AUDIT_T_INT,	/* .i */
	ENC_AUDIT_T_UINT,	/* .u */
	ENC_AUDIT_T_BOOL,	/* .b */
	ENC_AUDIT_T_RAW,	/* .raw/.raw_len: validated with enc_json_validate */
};

struct enc_audit_field {
	const char *name;
	enum enc_audit_type type;
	union {
		const char *s;
		int64_t i;
		uint64_t u;
		bool b;
		const char *raw;
	};
	size_t raw_len;
};

#define ENC_AUDIT_STR(k, v)                                                    \
	((struct enc_audit_field){ .name = (k), .type = ENC_AUDIT_T_STR, .s = (v) })
#define ENC_AUDIT_INT(k, v)                                                    \
	((struct enc_audit_field){ .name = (k), .type = ENC_AUDIT_T_INT, .i = (v) })
#define ENC_AUDIT_UINT(k, v)                                                   \
	((struct enc_audit_field){ .name = (k), .type = ENC_AUDIT_T_UINT, .u = (v) })
#define ENC_AUDIT_BOOL(k, v)                                                   \
	((struct enc_audit_field){ .name = (k), .type = ENC_AUDIT_T_BOOL, .b = (v) })
#define ENC_AUDIT_RAW(k, v, n)                                                 \
	((struct enc_audit_field){ .name = (k), .type = ENC_AUDIT_T_RAW,      \
				   .raw = (v), .raw_len = (n) })

enum {
	ENC_AUDIT_SYNC = 1 << 0,	/* fdatasync after each append */
};

struct enc_audit {
	int fd;				/* O_RDWR|O_APPEND, -1 when closed */
	unsigned flags;
	uint64_t seq;			/* seq of the last record, 0 if none */
	off_t end;			/* file size when seq/prev were read */
	char prev[ENC_SHA256_HEX];	/* hash of the last record */
	uint64_t torn;			/* bytes dropped by the last repair */
};

#define ENC_AUDIT_INIT { .fd = -1 }

/* Open (creating 0600 if missing) the audit file `name` beneath dirfd with
 * fsutil.h's enc_openat, and recover seq and prev from its last record by
 * reading backwards from the end (at most ENC_AUDIT_LINE_MAX bytes). A
 * last record that is not in the format above fails with -EBADMSG: run
 * enc_audit_verify() to see why. A torn tail is repaired as described
 * above. */
int enc_audit_open(int dirfd, const char *name, unsigned flags,
		   struct enc_audit *a, struct enc_err *err);

/* Append one record. event and field names are [a-z0-9_]+; the names seq,
 * time, event and prev, duplicates, and the secret tripwire names are
 * refused with -EINVAL, as is a RAW field that is not valid JSON. The
 * whole line goes out in a single write(2) under the flock; a line longer
 * than ENC_AUDIT_LINE_MAX is refused with -E2BIG. On success a->seq and
 * a->prev describe the record just written. */
int enc_audit_append(struct enc_audit *a, const char *event,
		     const struct enc_audit_field *fields, size_t n,
		     struct enc_err *err);

void enc_audit_close(struct enc_audit *a);

/* Is `name` acceptable as a field name? 0 or -EINVAL (with the reason). */
int enc_audit_name_check(const char *name, struct enc_err *err);

enum enc_audit_status {
	ENC_AUDIT_OK,
	ENC_AUDIT_BAD_JSON,	/* not a JSON document, or too long */
	ENC_AUDIT_BAD_RECORD,	/* JSON, but not seq/time/event/.../prev */
	ENC_AUDIT_SEQ,		/* seq gap or reorder: record removed/moved */
	ENC_AUDIT_PREV,		/* prev != hash of the line before */
	ENC_AUDIT_TRUNCATED,	/* last line has no newline: a torn write */
};

struct enc_audit_verify_result {
	enum enc_audit_status status;
	uint64_t line;			/* first bad line (1-based), 0 if OK */
	uint64_t records;		/* good records before it */
	uint64_t last_seq;		/* seq of the last good record */
	char head[ENC_SHA256_HEX];	/* hash of the last good record */
	char reason[160];		/* "" if OK */
};

/* Re-read the whole file (streaming, under a shared flock) and check every
 * record: JSON, layout, seq == previous seq + 1 starting at 1, prev ==
 * hash of the previous line, and a final newline. Stops at the first
 * problem. Returns 0 when intact, -EBADMSG when not (res says where and
 * why, err gets "line N: reason"), other -errno when the file cannot be
 * read (res->status is then meaningless).
 *
 * An edited record k is detected at line k + 1, whose prev no longer
 * matches; an edit to the seq of record k, a removed or a swapped record
 * is detected at the first line whose seq is wrong; an edit to the last
 * record is only detectable against a kept head hash. */
int enc_audit_verify(int dirfd, const char *name,
		     struct enc_audit_verify_result *res, struct enc_err *err);

const char *enc_audit_status_str(enum enc_audit_status s);

#endif
