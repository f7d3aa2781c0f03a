/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.c - streaming JSON writer and a strict validator.
 *
 * The writer's output is always valid JSON whatever bytes it is given
 * (invalid UTF-8 becomes U+FFFD), so a workspace name, a command line or a
 * log line can never break a result file or an audit record. The validator
 * checks untrusted documents (a workload's result.json) before they are
 * embedded: it never recurses and stops at ENC_JSON_DEPTH, so its stack and
 * time are bounded by the input length.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

/* --- UTF-8 ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) starting at s, or 0 when the byte at
 * s does not start one. */
static size_t utf8_valid_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, C0/C1 overlong, F5..FF */
	if (len < n)
		return 0;
	/* The second byte's range is what excludes overlong forms (E0, F0),
	 * UTF-16 surrogates (ED) and code points past U+10FFFF (F4). */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* --- escaping ----------------------------------------------------------- */

typedef void (*sink_fn)(void *ctx, const char *p, size_t n);

static const char hexdig[] = "0123456789abcdef";

static void escape_to(const char *str, size_t len, sink_fn put, void *ctx)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	/* Pass runs of plain bytes through in one piece. */
	while (i < len) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char ubuf[6];
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_valid_len(s + i, len - i);
			if (n > 0) {
				i += n;
				run += n;
				continue;
			}
		}
		if (run)
			put(ctx, (const char *)s + i - run, run);
		run = 0;
		switch (c) {
		case '"':  esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			break;
		}
		if (esc) {
			put(ctx, esc, 2);
		} else if (c < 0x80) {
			/* Other control characters and DEL. */
			ubuf[0] = '\\';
			ubuf[1] = 'u';
			ubuf[2] = '0';
			ubuf[3] = '0';
			ubuf[4] = hexdig[c >> 4];
			ubuf[5] = hexdig[c & 0xf];
			put(ctx, ubuf, 6);
		} else {
			/* One replacement character per invalid byte. */
			put(ctx, "\xef\xbf\xbd", 3);
		}
		i++;
	}
	if (run)
		put(ctx, (const char *)s + i - run, run);
}

struct membuf {
	char *buf;
	size_t size;
	size_t written;		/* bytes stored in buf */
	size_t need;		/* bytes the whole escape takes */
	bool full;
};

static void mem_put(void *ctx, const char *p, size_t n)
{
	struct membuf *m = ctx;

	m->need += n;
	if (m->full)
		return;
	if (m->written + n < m->size) {
		memcpy(m->buf + m->written, p, n);
		m->written += n;
		return;
	}
	/* Truncate like snprintf, but never inside an escape (pieces that
	 * start with a backslash are whole escapes) or a UTF-8 sequence. */
	m->full = true;
	if (m->size == 0 || p[0] == '\\')
		return;
	size_t cut = m->size - 1 - m->written;

	while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(m->buf + m->written, p, cut);
	m->written += cut;
}

size_t enc_json_escape(const char *s, size_t len, char *buf, size_t size)
{
	struct membuf m = { .buf = buf, .size = size };

	if (s)
		escape_to(s, len, mem_put, &m);
	if (size > 0)
		buf[m.written] = '\0';
	return m.need;
}

/* --- writer ------------------------------------------------------------- */

static void fail(struct enc_json *j, int code)
{
	if (!j->error)
		j->error = code;
}

static void put_raw(struct enc_json *j, const char *p, size_t n)
{
	if (j->error || n == 0)
		return;
	if (fwrite(p, 1, n, j->f) != n)
		fail(j, errno ? -errno : -EIO);
}

static void file_put(void *ctx, const char *p, size_t n)
{
	put_raw(ctx, p, n);
}

static void put_str(struct enc_json *j, const char *s)
{
	put_raw(j, s, strlen(s));
}

static void newline_indent(struct enc_json *j, int level)
{
	if (!(j->flags & ENC_JSON_PRETTY))
		return;
	put_raw(j, "\n", 1);
	for (int i = 0; i < level; i++)
		put_raw(j, "  ", 2);
}

void enc_json_init(struct enc_json *j, FILE *f, unsigned flags)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->flags = flags;
	j->first[0] = true;
}

/* Everything that starts a value comes through here: it checks that a
 * value may come now and writes the separator before it. */
static bool value_start(struct enc_json *j)
{
	if (j->error)
		return false;
	if (j->depth == 0) {
		if (!j->first[0]) {
			fail(j, -EINVAL);	/* a second top-level value */
			return false;
		}
		j->first[0] = false;
		return true;
	}
	if (j->is_obj[j->depth]) {
		if (!j->want_value) {
			fail(j, -EINVAL);	/* a value where a key is due */
			return false;
		}
		j->want_value = false;
		return true;
	}
	if (!j->first[j->depth])
		put_raw(j, ",", 1);
	j->first[j->depth] = false;
	newline_indent(j, j->depth);
	return true;
}

static void container_begin(struct enc_json *j, bool obj)
{
	if (j->error)
		return;
	if (j->depth >= ENC_JSON_DEPTH) {
		fail(j, -EINVAL);
		return;
	}
	if (!value_start(j))
		return;
	put_raw(j, obj ? "{" : "[", 1);
	j->depth++;
	j->first[j->depth] = true;
	j->is_obj[j->depth] = obj;
}

static void container_end(struct enc_json *j, bool obj)
{
	if (j->error)
		return;
	if (j->depth == 0 || j->is_obj[j->depth] != obj || j->want_value) {
		fail(j, -EINVAL);
		return;
	}
	if (!j->first[j->depth])
		newline_indent(j, j->depth - 1);
	put_raw(j, obj ? "}" : "]", 1);
	j->depth--;
}

void enc_json_obj_begin(struct enc_json *j)
{
	container_begin(j, true);
}

void enc_json_obj_end(struct enc_json *j)
{
	container_end(j, true);
}

void enc_json_arr_begin(struct enc_json *j)
{
	container_begin(j, false);
}

void enc_json_arr_end(struct enc_json *j)
{
	container_end(j, false);
}

static void put_quoted(struct enc_json *j, const char *s, size_t len)
{
	put_raw(j, "\"", 1);
	escape_to(s, len, file_put, j);
	put_raw(j, "\"", 1);
}

void enc_json_key(struct enc_json *j, const char *key)
{
	if (j->error)
		return;
	if (j->depth == 0 || !j->is_obj[j->depth] || j->want_value || !key) {
		fail(j, -EINVAL);
		return;
	}
	if (!j->first[j->depth])
		put_raw(j, ",", 1);
	j->first[j->depth] = false;
	newline_indent(j, j->depth);
	put_quoted(j, key, strlen(key));
	put_str(j, (j->flags & ENC_JSON_PRETTY) ? ": " : ":");
	j->want_value = true;
}

void enc_json_strn(struct enc_json *j, const char *s, size_t len)
{
	if (!s) {
		enc_json_null(j);
		return;
	}
	if (value_start(j))
		put_quoted(j, s, len);
}

void enc_json_str(struct enc_json *j, const char *s)
{
	enc_json_strn(j, s, s ? strlen(s) : 0);
}

void enc_json_int(struct enc_json *j, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	if (value_start(j))
		put_raw(j, buf, (size_t)n);
}

void enc_json_uint(struct enc_json *j, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	if (value_start(j))
		put_raw(j, buf, (size_t)n);
}

void enc_json_bool(struct enc_json *j, bool v)
{
	if (value_start(j))
		put_str(j, v ? "true" : "false");
}

void enc_json_null(struct enc_json *j)
{
	if (value_start(j))
		put_str(j, "null");
}

void enc_json_raw(struct enc_json *j, const char *json, size_t len)
{
	if (!json || len == 0) {
		fail(j, -EINVAL);
		return;
	}
	if (value_start(j))
		put_raw(j, json, len);
}

void enc_json_kv_str(struct enc_json *j, const char *k, const char *v)
{
	enc_json_key(j, k);
	enc_json_str(j, v);
}

void enc_json_kv_int(struct enc_json *j, const char *k, int64_t v)
{
	enc_json_key(j, k);
	enc_json_int(j, v);
}

void enc_json_kv_uint(struct enc_json *j, const char *k, uint64_t v)
{
	enc_json_key(j, k);
	enc_json_uint(j, v);
}

void enc_json_kv_bool(struct enc_json *j, const char *k, bool v)
{
	enc_json_key(j, k);
	enc_json_bool(j, v);
}

int enc_json_finish(struct enc_json *j)
{
	FILE *f = j->f;
	unsigned flags = j->flags;
	int r;

	/* Incomplete: open containers, a key without its value, or nothing. */
	if (!j->error && (j->depth != 0 || j->want_value || j->first[0]))
		fail(j, -EINVAL);
	put_raw(j, "\n", 1);
	if (fflush(f) != 0)
		fail(j, errno ? -errno : -EIO);
	if (ferror(f))
		fail(j, -EIO);
	r = j->error;
	/* Ready for the next document on the same stream (JSON lines). */
	enc_json_init(j, f, flags);
	return r;
}

/* --- validator ---------------------------------------------------------- */

struct vstate {
	const unsigned char *p, *end;
};

static void skip_ws(struct vstate *v)
{
	while (v->p < v->end &&
	       (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
		v->p++;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool v_string(struct vstate *v)
{
	if (v->p >= v->end || *v->p != '"')
		return false;
	v->p++;
	while (v->p < v->end) {
		unsigned char c = *v->p;

		if (c == '"') {
			v->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (v->end - v->p < 2)
				return false;
			switch (v->p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				v->p += 2;
				break;
			case 'u':
				/* Any four hex digits: RFC 8259 grammar allows
				 * unpaired surrogates in escapes. */
				if (v->end - v->p < 6 || !is_hex(v->p[2]) ||
				    !is_hex(v->p[3]) || !is_hex(v->p[4]) ||
				    !is_hex(v->p[5]))
					return false;
				v->p += 6;
				break;
			default:
				return false;
			}
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_valid_len(v->p, (size_t)(v->end - v->p));

			if (n == 0)
				return false;
			v->p += n;
			continue;
		}
		v->p++;
	}
	return false;
}

static bool v_digits(struct vstate *v)
{
	const unsigned char *start = v->p;

	while (v->p < v->end && is_digit(*v->p))
		v->p++;
	return v->p > start;
}

static bool v_number(struct vstate *v)
{
	if (v->p < v->end && *v->p == '-')
		v->p++;
	if (v->p >= v->end)
		return false;
	if (*v->p == '0') {
		v->p++;		/* no leading zeros: "01" stops here */
	} else if (!v_digits(v)) {
		return false;
	}
	if (v->p < v->end && *v->p == '.') {
		v->p++;
		if (!v_digits(v))
			return false;
	}
	if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
		v->p++;
		if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
			v->p++;
		if (!v_digits(v))
			return false;
	}
	return true;
}

static bool v_literal(struct vstate *v, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
		return false;
	v->p += n;
	return true;
}

/* After '{' or ',' inside an object: a key and its colon. */
static bool v_key(struct vstate *v)
{
	skip_ws(v);
	if (!v_string(v))
		return false;
	skip_ws(v);
	if (v->p >= v->end || *v->p != ':')
		return false;
	v->p++;
	return true;
}

int enc_json_validate(const char *s, size_t len)
{
	struct vstate v = { (const unsigned char *)s, (const unsigned char *)s + len };
	bool is_obj[ENC_JSON_DEPTH];	/* the open containers, innermost last */
	int depth = 0;

	if (!s)
		return -EINVAL;
	for (;;) {
		/* A value is due. */
		skip_ws(&v);
		if (v.p >= v.end)
			return -EINVAL;
		switch (*v.p) {
		case '{':
		case '[':
			if (depth == ENC_JSON_DEPTH)
				return -EINVAL;
			is_obj[depth++] = *v.p == '{';
			v.p++;
			skip_ws(&v);
			if (v.p < v.end && *v.p == (is_obj[depth - 1] ? '}' : ']')) {
				v.p++;
				depth--;
				break;		/* empty container: a value */
			}
			if (is_obj[depth - 1] && !v_key(&v))
				return -EINVAL;
			continue;		/* the first member's value */
		case '"':
			if (!v_string(&v))
				return -EINVAL;
			break;
		case 't':
			if (!v_literal(&v, "true"))
				return -EINVAL;
			break;
		case 'f':
			if (!v_literal(&v, "false"))
				return -EINVAL;
			break;
		case 'n':
			if (!v_literal(&v, "null"))
				return -EINVAL;
			break;
		default:
			if (!v_number(&v))
				return -EINVAL;
			break;
		}

		/* A value ended: close containers or move to the next member. */
		for (;;) {
			skip_ws(&v);
			if (depth == 0)
				return v.p == v.end ? 0 : -EINVAL;
			if (v.p >= v.end)
				return -EINVAL;
			if (*v.p == ',') {
				v.p++;
				if (is_obj[depth - 1] && !v_key(&v))
					return -EINVAL;
				break;
			}
			if (*v.p != (is_obj[depth - 1] ? '}' : ']'))
				return -EINVAL;
			v.p++;
			depth--;
		}
	}
}
