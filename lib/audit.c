/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c - the hash-chained, append-only audit log (see audit.h).
 *
 * The writer and the verifier agree on one byte layout: the record starts
 * with {"seq":N,"time":"<24 bytes>","event":"<name>", and ends with
 * ,"prev":"<64 hex>"}. Reading a record back means checking it is valid
 * JSON and then reading those fixed places; there is no general parser to
 * disagree with the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "fsutil.h"
#include "json.h"
#include "util.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define TIME_LEN 24			/* 2026-11-25T21:30:00.123Z */
#define PREV_TAIL_LEN (9 + 64 + 2)	/* ,"prev":" + hex + "} */
#define READ_CHUNK 65536

static const char *const reserved_names[] = { "seq", "time", "event", "prev" };
static const char *const secret_words[] = { "token", "secret", "password", "value" };

static bool name_chars_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return n > 0 && n <= ENC_AUDIT_NAME_MAX;
}

int enc_audit_name_check(const char *name, struct enc_err *err)
{
	if (!name || !name_chars_ok(name))
		return enc_err_set(err, -EINVAL, "audit field name '%s' is not [a-z0-9_]{1,%d}",
				   name ? name : "(null)", ENC_AUDIT_NAME_MAX);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(reserved_names); i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return enc_err_set(err, -EINVAL, "audit field name '%s' is reserved",
					   name);
	/* Tripwire for DESIGN.md §15.2: a field with one of these names
	 * almost certainly carries a credential's value, which must never
	 * reach the audit log. Refuse rather than trust every caller. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(secret_words); i++) {
		const char *w = secret_words[i];
		size_t nl = strlen(name), wl = strlen(w);

		if (strcmp(name, w) == 0 ||
		    (nl > wl && name[nl - wl - 1] == '_' && strcmp(name + nl - wl, w) == 0))
			return enc_err_set(err, -EINVAL,
					   "audit field name '%s' looks like a secret value: the audit log records names, never values",
					   name);
	}
	return 0;
}

static void format_time(char buf[TIME_LEN + 1])
{
	struct timespec ts;
	struct tm tm;
	char tmp[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
	memcpy(buf, tmp, TIME_LEN);
	buf[TIME_LEN] = '\0';
}

/* Check the line's layout and extract seq and prev. line excludes the
 * newline. Returns a status and fills reason when not OK. */
static enum enc_audit_status parse_record(const char *line, size_t len, uint64_t *seq,
					  char prev[ENC_SHA256_HEX], char *reason,
					  size_t rsize)
{
	static const char pre_seq[] = "{\"seq\":";
	static const char pre_time[] = ",\"time\":\"";
	static const char pre_event[] = "\",\"event\":\"";
	const char *p = line, *end = line + len, *tail;
	uint64_t v = 0;
	size_t nd = 0;

	if (enc_json_validate(line, len) < 0) {
		snprintf(reason, rsize, "not valid JSON");
		return ENC_AUDIT_BAD_JSON;
	}
	if (len < sizeof(pre_seq) - 1 + PREV_TAIL_LEN ||
	    memcmp(p, pre_seq, sizeof(pre_seq) - 1) != 0)
		goto bad;
	p += sizeof(pre_seq) - 1;
	for (; p < end && *p >= '0' && *p <= '9' && nd < 20; p++, nd++) {
		if (v > (UINT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (nd == 0 || v == 0 || (nd > 1 && line[sizeof(pre_seq) - 1] == '0'))
		goto bad;
	if ((size_t)(end - p) < sizeof(pre_time) - 1 + TIME_LEN + sizeof(pre_event) - 1 ||
	    memcmp(p, pre_time, sizeof(pre_time) - 1) != 0)
		goto bad;
	p += sizeof(pre_time) - 1;
	for (size_t i = 0; i < TIME_LEN; i++) {
		char c = p[i], want = "0000-00-00T00:00:00.000Z"[i];

		if (want == '0' ? (c < '0' || c > '9') : c != want)
			goto bad;
	}
	p += TIME_LEN;
	if (memcmp(p, pre_event, sizeof(pre_event) - 1) != 0)
		goto bad;
	p += sizeof(pre_event) - 1;
	for (nd = 0; p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				 *p == '_'); p++)
		nd++;
	if (nd == 0 || p >= end || *p != '"')
		goto bad;
	/* The tail: the JSON is valid and ends with '"}' right after 64 hex
	 * digits that follow ,"prev":" so "prev" is the top-level object's
	 * last member (it cannot sit inside a string or a nested object). */
	tail = end - PREV_TAIL_LEN;
	if (tail <= p || memcmp(tail, ",\"prev\":\"", 9) != 0 ||
	    memcmp(end - 2, "\"}", 2) != 0)
		goto bad;
	for (size_t i = 0; i < 64; i++) {
		char c = tail[9 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto bad;
		prev[i] = c;
	}
	prev[64] = '\0';
	*seq = v;
	return ENC_AUDIT_OK;
bad:
	snprintf(reason, rsize, "not an audit record (expected {\"seq\":N,\"time\":...,\"event\":...,\"prev\":HASH})");
	return ENC_AUDIT_BAD_RECORD;
}

/* Find the last '\n' before offset `from`, reading backwards at most
 * ENC_AUDIT_LINE_MAX bytes: *pos, or -1 when the file starts before it. */
static int find_prev_nl(int fd, off_t from, off_t *pos, struct enc_err *err)
{
	char buf[4096];
	off_t lo = from > ENC_AUDIT_LINE_MAX ? from - ENC_AUDIT_LINE_MAX : 0;

	while (from > lo) {
		size_t want = (size_t)(from - lo < (off_t)sizeof(buf) ? from - lo : (off_t)sizeof(buf));

		/* A short read means it shrank under a lock we hold. */
		if (ENC_RETRY(pread(fd, buf, want, from - (off_t)want)) != (ssize_t)want)
			return enc_err_sys(err, errno ? -errno : -EIO, "audit: cannot read the last record");
		from -= (off_t)want;
		for (size_t i = want; i-- > 0;) {
			if (buf[i] == '\n') {
				*pos = from + (off_t)i;
				return 0;
			}
		}
	}
	if (lo > 0)
		return enc_err_set(err, -EBADMSG, "audit: last record longer than %d bytes",
				   ENC_AUDIT_LINE_MAX);
	*pos = -1;
	return 0;
}

static int build_line(const struct enc_audit *a, const char *event,
		      const struct enc_audit_field *fields, size_t n,
		      char **out, size_t *outlen, struct enc_err *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	char tbuf[TIME_LEN + 1];
	struct enc_json j;
	char *buf = NULL;
	size_t len = 0;
	int r;

	f = open_memstream(&buf, &len);
	if (!f)
		return enc_err_sys(err, -errno, "audit: cannot build record");
	format_time(tbuf);
	enc_json_init(&j, f, 0);
	enc_json_obj_begin(&j);
	enc_json_kv_uint(&j, "seq", a->seq + 1);
	enc_json_kv_str(&j, "time", tbuf);
	enc_json_kv_str(&j, "event", event);
	for (size_t i = 0; i < n; i++) {
		const struct enc_audit_field *fl = &fields[i];

		switch (fl->type) {
		case ENC_AUDIT_T_STR:
			enc_json_kv_str(&j, fl->name, fl->s);
			break;
		case ENC_AUDIT_T_INT:
			enc_json_kv_int(&j, fl->name, fl->i);
			break;
		case ENC_AUDIT_T_UINT:
			enc_json_kv_uint(&j, fl->name, fl->u);
			break;
		case ENC_AUDIT_T_BOOL:
			enc_json_kv_bool(&j, fl->name, fl->b);
			break;
		case ENC_AUDIT_T_RAW: {
			_cleanup_free_ char *flat = malloc(fl->raw_len ? fl->raw_len : 1);

			if (!flat) {
				r = -ENOMEM;
				goto out;
			}
			/* Validated JSON holds newlines only as whitespace
			 * (strings cannot contain raw control characters), so
			 * flattening them keeps the document and the record
			 * on one line. */
			for (size_t k = 0; k < fl->raw_len; k++)
				flat[k] = (fl->raw[k] == '\n' || fl->raw[k] == '\r') ? ' ' : fl->raw[k];
			enc_json_key(&j, fl->name);
			enc_json_raw(&j, flat, fl->raw_len);
			break;
		}
		}
	}
	enc_json_kv_str(&j, "prev", a->prev);
	enc_json_obj_end(&j);
	r = enc_json_finish(&j);
out:
	if (fclose(steal_pointer(&f)) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		free(buf);
		return enc_err_sys(err, r, "audit: cannot build record");
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Write one record at the end; the caller holds the exclusive flock and
 * has recovered a->seq, a->prev and a->end. */
static int write_record(struct enc_audit *a, const char *event,
			const struct enc_audit_field *fields, size_t n,
			struct enc_err *err)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	ssize_t w;
	int r;

	r = build_line(a, event, fields, n, &line, &len, err);
	if (r < 0)
		return r;
	if (len > ENC_AUDIT_LINE_MAX)
		return enc_err_set(err, -E2BIG, "audit: %s record of %zu bytes exceeds %d",
				   event, len, ENC_AUDIT_LINE_MAX);
	/* One write(2) for the whole line: see audit.h for what O_APPEND
	 * and the flock guarantee. */
	w = ENC_RETRY(write(a->fd, line, len));
	if (w < 0 || (size_t)w != len) {
		r = w < 0 ? -errno : -ENOSPC;
		/* A short write left a torn line; we still hold the lock, so
		 * take it back now rather than leave it for the next writer. */
		if (w > 0 && ftruncate(a->fd, a->end) < 0)
			a->end = -1;
		return enc_err_sys(err, r, "audit: cannot append %s record", event);
	}
	if ((a->flags & ENC_AUDIT_SYNC) && fdatasync(a->fd) < 0)
		return enc_err_sys(err, -errno, "audit: cannot sync");
	r = enc_sha256_hex(line, len - 1, a->prev);
	if (r < 0)
		return enc_err_sys(err, r, "audit: cannot hash record");
	a->seq++;
	a->end += (off_t)len;
	return 0;
}

/* Bring a->seq/prev/end up to date with the file; the caller holds the
 * exclusive flock. Cheap when nobody else appended since our last look. */
static int recover(struct enc_audit *a, struct enc_err *err)
{
	_cleanup_free_ char *line = NULL;
	char reason[128], prev[ENC_SHA256_HEX], last;
	struct stat st;
	off_t size, nl, start;
	size_t len;
	int r;

	if (fstat(a->fd, &st) < 0)
		return enc_err_sys(err, -errno, "audit: cannot stat");
	size = st.st_size;
	if (a->end >= 0 && size == a->end)
		return 0;
	a->torn = 0;
	if (size > 0) {
		if (ENC_RETRY(pread(a->fd, &last, 1, size - 1)) != 1)
			return enc_err_sys(err, errno ? -errno : -EIO, "audit: cannot read");
		if (last != '\n') {
			/* A torn write: the fragment after the last newline
			 * never was a whole record (each goes out in one write
			 * with its newline). */
			r = find_prev_nl(a->fd, size, &nl, err);
			if (r < 0)
				return r;
			if (ftruncate(a->fd, nl + 1) < 0)
				return enc_err_sys(err, -errno, "audit: cannot remove a torn record");
			a->torn = (uint64_t)(size - (nl + 1));
			size = nl + 1;
		}
	}
	a->seq = 0;
	memcpy(a->prev, ZERO_HASH, sizeof(ZERO_HASH));
	if (size > 0) {
		r = find_prev_nl(a->fd, size - 1, &nl, err);
		if (r < 0)
			return r;
		start = nl + 1;
		len = (size_t)(size - 1 - start);
		line = malloc(len + 1);
		if (!line)
			return enc_err_sys(err, -ENOMEM, "audit: cannot read");
		if (ENC_RETRY(pread(a->fd, line, len, start)) != (ssize_t)len)
			return enc_err_sys(err, errno ? -errno : -EIO, "audit: cannot read the last record");
		if (parse_record(line, len, &a->seq, prev, reason, sizeof(reason)) != ENC_AUDIT_OK)
			return enc_err_set(err, -EBADMSG, "audit: last record: %s", reason);
		r = enc_sha256_hex(line, len, a->prev);
		if (r < 0)
			return enc_err_sys(err, r, "audit: cannot hash record");
	}
	a->end = size;
	if (a->torn) {
		struct enc_audit_field f = ENC_AUDIT_UINT("bytes", a->torn);

		r = write_record(a, "audit_torn_tail", &f, 1, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int enc_audit_open(int dirfd, const char *name, unsigned flags,
		   struct enc_audit *a, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	a->fd = -1;
	/* O_RDWR, not O_WRONLY: recovery reads the last record back. */
	fd = enc_openat(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOCTTY, 0600, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "audit: cannot stat %s", name);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "audit: %s is not a regular file", name);
	a->fd = steal_fd(&fd);
	a->flags = flags;
	a->end = -1;
	a->seq = 0;
	a->torn = 0;
	if (ENC_RETRY(flock(a->fd, LOCK_EX)) < 0)
		r = enc_err_sys(err, -errno, "audit: cannot lock");
	else
		r = recover(a, err);
	flock(a->fd, LOCK_UN);
	if (r < 0) {
		enc_err_prefix(err, "%s: ", name);
		enc_audit_close(a);
	}
	return r;
}

int enc_audit_append(struct enc_audit *a, const char *event,
		     const struct enc_audit_field *fields, size_t n,
		     struct enc_err *err)
{
	int r;

	if (!a || a->fd < 0)
		return enc_err_set(err, -EBADF, "audit: log not open");
	if (!event || !name_chars_ok(event))
		return enc_err_set(err, -EINVAL, "audit event name '%s' is not [a-z0-9_]{1,%d}",
				   event ? event : "(null)", ENC_AUDIT_NAME_MAX);
	if (n > 0 && !fields)
		return enc_err_set(err, -EINVAL, "audit: no fields given");
	for (size_t i = 0; i < n; i++) {
		const struct enc_audit_field *f = &fields[i];

		r = enc_audit_name_check(f->name, err);
		if (r < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (strcmp(fields[k].name, f->name) == 0)
				return enc_err_set(err, -EINVAL, "audit field '%s' given twice",
						   f->name);
		if (f->type == ENC_AUDIT_T_RAW &&
		    (!f->raw || enc_json_validate(f->raw, f->raw_len) < 0))
			return enc_err_set(err, -EINVAL, "audit field '%s' is not valid JSON",
					   f->name);
		if ((unsigned)f->type > ENC_AUDIT_T_RAW)
			return enc_err_set(err, -EINVAL, "audit field '%s' has a bad type",
					   f->name);
	}
	if (ENC_RETRY(flock(a->fd, LOCK_EX)) < 0)
		return enc_err_sys(err, -errno, "audit: cannot lock");
	r = recover(a, err);
	if (r >= 0)
		r = write_record(a, event, fields, n, err);
	flock(a->fd, LOCK_UN);
	return r;
}

void enc_audit_close(struct enc_audit *a)
{
	if (a && a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
}

const char *enc_audit_status_str(enum enc_audit_status s)
{
	static const char *const names[] = {
		[ENC_AUDIT_OK] = "ok", [ENC_AUDIT_BAD_JSON] = "bad-json",
		[ENC_AUDIT_BAD_RECORD] = "bad-record", [ENC_AUDIT_SEQ] = "seq",
		[ENC_AUDIT_PREV] = "prev", [ENC_AUDIT_TRUNCATED] = "truncated",
	};

	return (unsigned)s < ENC_ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* Check one complete line (without newline) against the chain so far. */
static enum enc_audit_status verify_line(const char *line, size_t len,
					 struct enc_audit_verify_result *res)
{
	enum enc_audit_status st;
	char prev[ENC_SHA256_HEX];
	uint64_t seq;

	st = parse_record(line, len, &seq, prev, res->reason, sizeof(res->reason));
	if (st != ENC_AUDIT_OK)
		return st;
	if (seq != res->last_seq + 1) {
		snprintf(res->reason, sizeof(res->reason),
			 "seq %" PRIu64 " where %" PRIu64 " was expected: a record was removed, reordered or inserted",
			 seq, res->last_seq + 1);
		return ENC_AUDIT_SEQ;
	}
	if (strcmp(prev, res->head) != 0) {
		snprintf(res->reason, sizeof(res->reason),
			 "prev does not match the hash of the record before: that record was edited, or records were removed or reordered");
		return ENC_AUDIT_PREV;
	}
	if (enc_sha256_hex(line, len, res->head) < 0) {
		snprintf(res->reason, sizeof(res->reason), "cannot hash");
		return ENC_AUDIT_BAD_JSON;
	}
	res->last_seq = seq;
	res->records++;
	return ENC_AUDIT_OK;
}

int enc_audit_verify(int dirfd, const char *name,
		     struct enc_audit_verify_result *res, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	enum enc_audit_status st = ENC_AUDIT_OK;
	size_t cap = ENC_AUDIT_LINE_MAX + READ_CHUNK, have = 0, off = 0;
	struct stat sb;
	bool eof = false;

	memset(res, 0, sizeof(*res));
	memcpy(res->head, ZERO_HASH, sizeof(ZERO_HASH));
	fd = enc_openat(dirfd, name, O_RDONLY | O_NOCTTY, 0, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0)
		return enc_err_sys(err, -errno, "audit: cannot stat %s", name);
	if (!S_ISREG(sb.st_mode))
		return enc_err_set(err, -EINVAL, "audit: %s is not a regular file", name);
	/* Shared lock: appends hold it exclusively, so no half-written record
	 * is mistaken for a torn one. */
	if (ENC_RETRY(flock(fd, LOCK_SH)) < 0)
		return enc_err_sys(err, -errno, "audit: cannot lock %s", name);
	buf = malloc(cap);
	if (!buf)
		return enc_err_sys(err, -ENOMEM, "audit: cannot read %s", name);

	while (st == ENC_AUDIT_OK) {
		char *nlp = memchr(buf + off, '\n', have - off);

		if (nlp) {
			size_t len = (size_t)(nlp - (buf + off));

			res->line++;
			st = verify_line(buf + off, len, res);
			off += len + 1;
			continue;
		}
		if (have - off >= ENC_AUDIT_LINE_MAX) {
			res->line++;
			st = ENC_AUDIT_BAD_JSON;
			snprintf(res->reason, sizeof(res->reason),
				 "longer than %d bytes", ENC_AUDIT_LINE_MAX);
			break;
		}
		if (eof) {
			if (have > off) {
				res->line++;
				st = ENC_AUDIT_TRUNCATED;
				snprintf(res->reason, sizeof(res->reason),
					 "truncated: the last record has no newline (a write torn by a crash)");
			}
			break;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		off = 0;
		ssize_t r = ENC_RETRY(read(fd, buf + have, cap - have));

		if (r < 0)
			return enc_err_sys(err, -errno, "audit: cannot read %s", name);
		if (r == 0)
			eof = true;
		have += (size_t)r;
	}
	res->status = st;
	if (st == ENC_AUDIT_OK) {
		res->line = 0;
		return 0;
	}
	return enc_err_set(err, -EBADMSG, "%s: line %" PRIu64 ": %s", name, res->line,
			   res->reason);
}
