/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c - the Enclavefile parser (enclavefile(5)).
 *
 * The system inih does the INI tokenising, but four things it cannot do are
 * done here, in the reader function we hand to ini_parse_stream():
 *
 *  - line numbers: Debian's inih is built without INI_HANDLER_LINENO, so the
 *    reader counts lines itself and the handler reads the count from ctx;
 *  - long lines: inih has INI_MAX_LINE 200 and silently splits a longer
 *    line, parsing the tail as a line of its own (a truncated setup command
 *    followed by garbage); the reader refuses such lines instead;
 *  - bytes: NUL (which would cut the line short inside inih), other control
 *    characters, a CR without LF and invalid UTF-8 are refused, so every
 *    value that reaches the model is printable text;
 *  - section headers: inih tells the handler nothing about them (and cuts
 *    section names at 49 bytes), so empty, duplicate and unknown sections
 *    would go unnoticed; the reader mirrors inih's line classification and
 *    handles headers itself.
 *
 * Because the reader mirrors inih, the handler can cross-check each call
 * against what the reader expected; a disagreement is reported as an error
 * rather than silently trusting one side (the fuzzer aborts on it).
 *
 * All or nothing: everything goes into a staging struct enc_config that is
 * handed to the caller only when the whole file parsed and the cross-checks
 * passed. The first error stops everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "names.h"
#include "netaddr.h"
#include "parse.h"

#define DEFAULT_SUITE "bookworm"
#define DEFAULT_VARIANT "minbase"
#define DEFAULT_USER "user"
#define DEFAULT_UID 1000
#define DEFAULT_HOSTNAME "workspace"
#define MIN_MEMORY (4ULL << 20)
#define MAX_PIDS 4194304
#define MAX_UID 60000
#define MIN_TIMEOUT_MS 1000
/* The kernel's limit for a UTS host name (__NEW_UTS_LEN). */
#define MAX_HOSTNAME 64
#define MAX_SUITE 64
#define MAX_VARIANT 32
/* inih copies a key name into a 50-byte buffer for continuation lines. */
#define INIH_MAX_NAME 50

/* ---- keyword tables ----------------------------------------------------- */

static const char *const net_mode_names[] = {
	[ENC_NET_NONE] = "none",
	[ENC_NET_DENY] = "deny",
	[ENC_NET_NAT] = "nat",
	[ENC_NET_HOST] = "host",
};

static const char *const overlay_names[] = {
	[ENC_OVERLAY_TMP] = "tmp",
	[ENC_OVERLAY_PERSISTENT] = "persistent",
	[ENC_OVERLAY_READONLY] = "readonly",
};

static const char *const method_names[] = {
	[ENC_BOOTSTRAP_DEBOOTSTRAP] = "debootstrap",
	[ENC_BOOTSTRAP_MMDEBSTRAP] = "mmdebstrap",
	[ENC_BOOTSTRAP_CACHED_ROOTFS] = "cached_rootfs",
	[ENC_BOOTSTRAP_DIR] = "dir",
	[ENC_BOOTSTRAP_TAR] = "tar",
};

static int keyword(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(tab[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

#define KEYWORD_FUNCS(noun, type, tab)                                         \
	int enc_##noun##_parse(const char *s, type *m)                         \
	{                                                                      \
		int i = keyword(tab, ENC_ARRAY_SIZE(tab), s);                  \
		if (i < 0)                                                     \
			return i;                                              \
		*m = (type)i;                                                  \
		return 0;                                                      \
	}                                                                      \
	const char *enc_##noun##_str(type m)                                   \
	{                                                                      \
		return (unsigned)m < ENC_ARRAY_SIZE(tab) ? tab[m] : NULL;      \
	}

KEYWORD_FUNCS(net_mode, enum enc_net_mode, net_mode_names)
KEYWORD_FUNCS(overlay_mode, enum enc_overlay_mode, overlay_names)
KEYWORD_FUNCS(bootstrap_method, enum enc_bootstrap_method, method_names)

/* ---- strv ---------------------------------------------------------------- */

int enc_strv_push(struct enc_strv *sv, const char *s)
{
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[sv->n++] = copy;
	v[sv->n] = NULL;
	sv->v = v;
	return 0;
}

void enc_strv_free(struct enc_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static bool strv_contains(const struct enc_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

/* ---- keys ---------------------------------------------------------------- */

enum key_id {
	/* [sandbox] (K_NAME in both) */
	K_NAME, K_BOOTSTRAP_METHOD, K_SUITE, K_MIRROR, K_VARIANT, K_INCLUDE,
	K_COMPONENTS, K_SOURCE, K_SETUP,
	/* [workspace.NAME] */
	K_RUN, K_WORKSPACE_DIR, K_PORTS, K_AUTH, K_ENV_TOKENS, K_NETWORK, K_ALLOW,
	K_LOG_ALLOWED, K_MEMORY, K_SWAP, K_CPUS, K_PIDS, K_TIMEOUT, K_TMP_SIZE, K_ENV, K_USER,
	K_UID, K_HOSTNAME, K_OVERLAY, K_HIDE, K_PROTECT,
	K_COUNT
};

enum {
	KF_APPEND = 1 << 0,	/* may repeat, each occurrence appends */
	KF_LEAD = 1 << 1,	/* a leading '[' can only be a TOML array */
	KF_SHAPE = 1 << 2,	/* '[', '["', '[]' at the start are a TOML array */
	KF_WORDS = 1 << 3,	/* quotes, commas, lone brackets are TOML leftovers */
	KF_TEXT = 1 << 4,	/* free text: the TOML hint is about lines */
	KF_SPLIT = 1 << 5,	/* whitespace-separated words, each applied */
};

struct key_def {
	const char *name;
	enum key_id id;
	unsigned flags;
	const char *example;	/* for the TOML hint */
};

#define LIST (KF_APPEND | KF_SPLIT | KF_LEAD | KF_WORDS)

static const struct key_def sandbox_keys[] = {
	{ "name", K_NAME, 0, NULL },
	{ "bootstrap_method", K_BOOTSTRAP_METHOD, 0, NULL },
	{ "suite", K_SUITE, 0, NULL },
	{ "mirror", K_MIRROR, 0, NULL },
	{ "variant", K_VARIANT, 0, NULL },
	{ "include", K_INCLUDE, LIST, "include = git curl" },
	{ "components", K_COMPONENTS, LIST, "components = main contrib" },
	{ "source", K_SOURCE, 0, NULL },
	{ "setup", K_SETUP, KF_APPEND | KF_SHAPE | KF_TEXT,
	  "one command per setup line, not a TOML array: write setup = apt-get install -y git" },
};

static const struct key_def workspace_keys[] = {
	{ "name", K_NAME, 0, NULL },
	{ "run", K_RUN, KF_SHAPE | KF_TEXT,
	  "a command line, not a TOML array: write run = node server.js" },
	{ "workspace_dir", K_WORKSPACE_DIR, 0, NULL },
	{ "ports", K_PORTS, KF_APPEND | KF_SPLIT | KF_SHAPE | KF_WORDS,
	  "ports = 127.0.0.1:3001:3000/tcp 8080" },
	{ "auth", K_AUTH, LIST, "auth = github npm" },
	{ "env_tokens", K_ENV_TOKENS, LIST, "env_tokens = ENCLAVE_TOKEN" },
	{ "network", K_NETWORK, 0, NULL },
	{ "allow", K_ALLOW, KF_APPEND | KF_SPLIT | KF_SHAPE | KF_WORDS,
	  "allow = 140.82.112.0/20:443 10.0.0.0/8" },
	{ "log_allowed", K_LOG_ALLOWED, 0, NULL },
	{ "memory", K_MEMORY, 0, NULL },
	{ "swap", K_SWAP, 0, NULL },
	{ "cpus", K_CPUS, 0, NULL },
	{ "pids", K_PIDS, 0, NULL },
	{ "timeout", K_TIMEOUT, 0, NULL },
	{ "tmp_size", K_TMP_SIZE, 0, NULL },
	{ "env", K_ENV, KF_APPEND | KF_SPLIT | KF_LEAD, "env = LANG=C.UTF-8 TZ=UTC" },
	{ "user", K_USER, 0, NULL },
	{ "uid", K_UID, 0, NULL },
	{ "hostname", K_HOSTNAME, 0, NULL },
	{ "overlay", K_OVERLAY, 0, NULL },
	{ "hide", K_HIDE, KF_APPEND | KF_SPLIT, NULL },
	{ "protect", K_PROTECT, KF_APPEND | KF_SPLIT, NULL },
};

#undef LIST

#define REPEATABLE "only setup, include, components, ports, auth, env_tokens, " \
		   "allow, env, hide and protect may repeat"

/* ---- parser state --------------------------------------------------------- */

enum line_kind {
	L_NONE,		/* blank line or comment: inih calls nothing */
	L_SECTION,	/* handled by the reader */
	L_KEY,		/* key = value: inih calls the handler once */
	L_CONT,		/* indented continuation: handler with the previous key */
};

enum sec_kind {
	SEC_NONE,
	SEC_SANDBOX,
	SEC_WORKSPACE,
};

struct sec_state {
	unsigned key_line[K_COUNT];	/* first line of each key, 0 = not given */
};

struct ctx {
	const char *file;		/* as the caller named it, for messages */
	const char *dir;		/* absolute, normalised */
	struct enc_err *err;
	int code;			/* first error, 0 while all is well */

	const char *buf;
	size_t len, pos;
	unsigned lineno;

	/* The reader's mirror of inih's view of the current line. */
	enum line_kind kind;
	bool handled;			/* the handler ran for this line */
	bool comment_cut;		/* inih drops "x ;..." (one space) as a comment */
	bool have_prev;			/* inih's prev_name is non-empty */
	char prev_key[ENC_CONFIG_MAX_LINE + 1];	/* the key of this line or the
						 * one a continuation continues */
	char val[ENC_CONFIG_MAX_LINE + 1];

	/* Current section. */
	enum sec_kind sec;
	size_t wsi;			/* index into c.ws when SEC_WORKSPACE */
	unsigned *port_line;		/* line of each port of the current ws */

	struct sec_state sb;
	struct sec_state *ws_state;	/* parallel to c.ws */

	struct enc_config c;		/* staging */
};

/* ---- errors ---------------------------------------------------------------- */

/*
 * Record the first error: "FILE:LINE: key: message", "FILE:LINE: message"
 * without a key, "FILE: message" with line 0. Errors found after the whole
 * file was read pass the line they are about.
 */
ENC_PRINTF(5, 6)
static int failx(struct ctx *x, int code, unsigned line, const char *key, const char *fmt, ...)
{
	char msg[ENC_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->code == 0)
		x->code = code;
	if (!x->file)	/* the command line: no file, no line */
		enc_err_set(x->err, code, key ? "%s: %s" : "%s%s", key ? key : "", msg);
	else if (line && key)
		enc_err_set(x->err, code, "%s:%u: %s: %s", x->file, line, key, msg);
	else if (line)
		enc_err_set(x->err, code, "%s:%u: %s", x->file, line, msg);
	else
		enc_err_set(x->err, code, "%s: %s", x->file, msg);
	return code;
}

/* Quote untrusted text for a message (enc_quote into a temporary buffer). */
#define Q(s) enc_quote((char[ENC_QUOTE_BUF]){ 0 }, s)

#define fail(x, ...) failx(x, -EINVAL, (x)->lineno, NULL, __VA_ARGS__)
#define fail_key(x, key, ...) failx(x, -EINVAL, (x)->lineno, key, __VA_ARGS__)
#define fail_at(x, line, key, ...) failx(x, -EINVAL, line, key, __VA_ARGS__)
#define fail_file(x, code, ...) failx(x, code, 0, NULL, __VA_ARGS__)
/* A message from parse/netaddr/names, prefixed with our position. */
#define fail_sub(x, key, sub) fail_key(x, key, "%s", (sub)->msg)
#define oom(x) fail_file(x, -ENOMEM, "out of memory")
/* A bug of ours (or an inih that does not behave as mirrored): -EPROTO, so
 * that neither a caller nor the fuzzer mistakes it for a bad file. */
#define fail_internal(x, what) \
	fail_file(x, -EPROTO, "internal error at line %u: %s", (x)->lineno, what)

/* ---- small pure helpers --------------------------------------------------- */

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alnum(char c)
{
	return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z');
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	uint32_t cp, min;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* c in a bracket-expression-like class such as "a-z0-9.-" (ASCII only, never
 * ctype.h, so no locale can widen it; a '-' at the end is literal). */
static bool in_class(char c, const char *cls)
{
	for (; *cls; cls++) {
		if (cls[1] == '-' && cls[2]) {
			if (c >= cls[0] && c <= cls[2])
				return true;
			cls += 2;
		} else if (c == *cls) {
			return true;
		}
	}
	return false;
}

/* s matches [first][rest]* and has 1..max bytes. */
static bool word_ok(const char *s, size_t max, const char *first, const char *rest)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !in_class(s[0], first))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!in_class(s[i], rest))
			return false;
	return true;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-', each
 * 1..63 bytes, not starting or ending with '-'; at most MAX_HOSTNAME in all
 * because that is what sethostname() takes. */
static bool hostname_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > MAX_HOSTNAME)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		label++;
	}
	return true;
}

/* True when the '/'-separated path p has a ".." component. */
static bool has_dotdot(const char *p)
{
	size_t n = strlen(p);

	return strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 || strstr(p, "/../") ||
	       (n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

/*
 * Lexical normalisation of an absolute path: drop "." and empty
 * components, let ".." remove the previous one. Never touches the file
 * system, so the result does not depend on what exists yet. Returns NULL
 * with *above set when ".." would climb above "/", NULL on ENOMEM.
 */
static char *normalize_abs(const char *in, bool *above)
{
	size_t n = strlen(in);
	char *out = malloc(n + 2);
	size_t o = 0;
	const char *s = in;

	*above = false;
	if (!out)
		return NULL;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - s);
		if (len == 0 || (len == 1 && s[0] == '.')) {
			/* nothing */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (o == 0) {
				free(out);
				*above = true;
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--;	/* the '/' itself */
		} else {
			out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* dir + "/" + rel (or rel alone when absolute), normalised. */
static char *join_normalize(const char *dir, const char *rel, bool *above)
{
	if (rel[0] == '/')
		return normalize_abs(rel, above);
	size_t dl = strlen(dir), rl = strlen(rel);
	_cleanup_free_ char *j = malloc(dl + rl + 2);
	*above = false;
	if (!j)
		return NULL;
	memcpy(j, dir, dl);
	j[dl] = '/';
	memcpy(j + dl + 1, rel, rl + 1);
	return normalize_abs(j, above);
}

/* ---- model helpers ---------------------------------------------------------- */

static void sandbox_free(struct enc_sandbox_conf *s)
{
	free(s->name);
	free(s->suite);
	free(s->mirror);
	free(s->variant);
	enc_strv_free(&s->include);
	enc_strv_free(&s->components);
	free(s->source);
	enc_strv_free(&s->setup);
	memset(s, 0, sizeof(*s));
}

static void ws_free(struct enc_workspace_conf *w)
{
	free(w->name);
	free(w->run);
	free(w->workspace_dir);
	free(w->workspace_mount);
	free(w->ports);
	enc_strv_free(&w->auth);
	enc_strv_free(&w->env_tokens);
	free(w->allow);
	enc_strv_free(&w->env);
	free(w->user);
	free(w->hostname);
	enc_strv_free(&w->hide);
	enc_strv_free(&w->protect);
	memset(w, 0, sizeof(*w));
}

void enc_config_free(struct enc_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->dir);
	sandbox_free(&c->sandbox);
	for (size_t i = 0; i < c->nws; i++)
		ws_free(&c->ws[i]);
	free(c->ws);
	memset(c, 0, sizeof(*c));
}

const struct enc_workspace_conf *enc_config_find_ws(const struct enc_config *c,
						    const char *name)
{
	for (size_t i = 0; c && name && i < c->nws; i++)
		if (strcmp(c->ws[i].name, name) == 0)
			return &c->ws[i];
	return NULL;
}

static int set_str(struct ctx *x, char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return oom(x);
	free(*dst);
	*dst = s;
	return 0;
}

static int push(struct ctx *x, struct enc_strv *sv, const char *v)
{
	return enc_strv_push(sv, v) < 0 ? oom(x) : 0;
}

/* ---- sections ------------------------------------------------------------------ */

static int begin_workspace(struct ctx *x, const char *name)
{
	struct enc_err sub = {};
	struct enc_config *c = &x->c;

	if (enc_name_check(ENC_NAME_WORKSPACE, name, &sub) < 0)
		return fail(x, "%s", sub.msg);
	for (size_t i = 0; i < c->nws; i++)
		if (strcmp(c->ws[i].name, name) == 0)
			return fail(x, "duplicate section [workspace.%s] (first at line %u)",
				    name, c->ws[i].line);
	if (c->nws >= ENC_CONFIG_MAX_WORKSPACES)
		return fail(x, "too many workspaces (at most %d)", ENC_CONFIG_MAX_WORKSPACES);

	struct enc_workspace_conf *ws = realloc(c->ws, (c->nws + 1) * sizeof(*ws));
	if (!ws)
		return oom(x);
	c->ws = ws;
	struct sec_state *st = realloc(x->ws_state, (c->nws + 1) * sizeof(*st));
	if (!st)
		return oom(x);
	x->ws_state = st;

	ws = &c->ws[c->nws];
	memset(ws, 0, sizeof(*ws));
	memset(&st[c->nws], 0, sizeof(*st));
	ws->name = strdup(name);
	if (!ws->name)
		return oom(x);
	ws->line = x->lineno;
	ws->network = ENC_NET_DENY;
	ws->swap = UINT64_MAX;
	ws->overlay = ENC_OVERLAY_TMP;
	x->wsi = c->nws++;
	x->sec = SEC_WORKSPACE;
	free(x->port_line);
	x->port_line = NULL;
	return 0;
}

static int begin_section(struct ctx *x, const char *name)
{
	if (strcmp(name, "sandbox") == 0) {
		if (x->c.has_sandbox)
			return fail(x, "duplicate section [sandbox] (first at line %u)",
				    x->c.sandbox.line);
		x->c.has_sandbox = true;
		x->c.sandbox.line = x->lineno;
		x->sec = SEC_SANDBOX;
		return 0;
	}
	if (strncmp(name, "workspace.", 10) == 0)
		return begin_workspace(x, name + 10);

	if (strcmp(name, "workspace") == 0)
		return fail(x, "[workspace] needs a name: write [workspace.NAME]");
	return fail(x, "unknown section [%s] (expected [sandbox] or [workspace.NAME])", Q(name));
}

/* ---- the reader: inih's line classification, mirrored ------------------------- */

/* inih's find_chars_or_comment() for INI_ALLOW_INLINE_COMMENTS with ';':
 * the first char of `chars`, or a ';' preceded by whitespace, or the end. */
static char *find_chars_or_comment(char *s, const char *chars)
{
	bool was_space = false;

	while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = is_space(*s);
		s++;
	}
	return s;
}

static char *rstrip(char *s)
{
	char *p = s + strlen(s);

	while (p > s && is_space(p[-1]))
		*--p = '\0';
	return s;
}

static char *lskip(char *s)
{
	while (is_space(*s))
		s++;
	return s;
}


static int classify(struct ctx *x, const char *text)
{
	char line[ENC_CONFIG_MAX_LINE + 1];
	char *start, *end;

	snprintf(line, sizeof(line), "%s", text);
	start = line;
	/* inih skips a BOM at the start of the first line it is given, which
	 * after ours is a second one (found by the fuzzer). */
	if (x->lineno == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	start = lskip(rstrip(start));
	x->kind = L_NONE;
	x->handled = false;
	x->comment_cut = false;

	if (*start == '\0' || *start == ';' || *start == '#')
		return 0;
	if (x->have_prev && start > line) {
		/* inih r55 keeps a continuation line whole: no inline
		 * comment is stripped from it. */
		x->kind = L_CONT;
		snprintf(x->val, sizeof(x->val), "%s", start);
		return 0;
	}
	if (*start == '[') {
		end = find_chars_or_comment(start + 1, "]");
		if (*end != ']')
			return fail(x, "expected ']' at the end of the section header");
		*end = '\0';
		/* inih ignores anything after ']'; we allow only a comment. */
		char *rest = lskip(end + 1);
		if (*rest && !(*rest == ';' && rest > end + 1))
			return fail(x, "unexpected '%s' after the section header [%s]",
				    Q(rest), Q(start + 1));
		x->kind = L_SECTION;
		x->have_prev = false;
		return begin_section(x, start + 1);
	}
	end = find_chars_or_comment(start, "=:");
	if (*end == ':')
		return fail(x, "expected 'key = value', not 'key: value'");
	if (*end != '=' || end == start)
		return fail(x, "expected 'key = value', '[section]' or a comment");
	*end = '\0';
	rstrip(start);
	char *value = end + 1;
	end = find_chars_or_comment(value, NULL);
	/* Tell "cmd1 ; cmd2" from "cmd      ; comment": see handle_kv(). */
	x->comment_cut = *end && end[-1] == ' ' && !is_space(end[-2]);
	*end = '\0';
	value = rstrip(lskip(value));
	x->kind = L_KEY;
	x->have_prev = true;
	snprintf(x->prev_key, sizeof(x->prev_key), "%s", start);
	snprintf(x->val, sizeof(x->val), "%s", value);
	return 0;
}

/* A byte-level check of one line (without its LF): the first offending
 * byte is reported. */
static int check_bytes(struct ctx *x, const char *p, size_t n, bool had_lf)
{
	const unsigned char *u = (const unsigned char *)p;

	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];

		if (c == '\r') {
			if (i + 1 == n && had_lf) {
				i++;
				continue;
			}
			return fail(x, "carriage return not followed by a line feed "
				       "(only LF and CRLF line ends are accepted)");
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(x, "control character 0x%02x (binary file?)", c);
		size_t l = utf8_len(u + i, n - i);
		if (l == 0)
			return fail(x, "invalid UTF-8 (byte 0x%02x)", c);
		i += l;
	}
	return 0;
}

static bool check_handled(struct ctx *x)
{
	if ((x->kind == L_KEY || x->kind == L_CONT) && !x->handled) {
		fail_internal(x, "inih did not report this line");
		return false;
	}
	return true;
}

static char *reader(char *str, int num, void *stream)
{
	struct ctx *x = stream;

	if (x->code || !check_handled(x))
		return NULL;
	x->kind = L_NONE;
	if (x->pos >= x->len)
		return NULL;
	if (x->pos == 0 && x->len >= 3 && memcmp(x->buf, "\xef\xbb\xbf", 3) == 0)
		x->pos = 3;	/* UTF-8 BOM */

	const char *p = x->buf + x->pos;
	size_t avail = x->len - x->pos;
	const char *nl = memchr(p, '\n', avail);
	size_t n = nl ? (size_t)(nl - p) : avail;

	x->pos += nl ? n + 1 : n;
	x->lineno++;
	if (check_bytes(x, p, n, nl != NULL) < 0)
		return NULL;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > ENC_CONFIG_MAX_LINE || n + 1 > (size_t)num) {
		fail(x, "line longer than %d characters (split long setup commands "
			"into several setup lines or a script)", ENC_CONFIG_MAX_LINE);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	if (classify(x, str) < 0)
		return NULL;
	return str;
}

/* ---- values --------------------------------------------------------------- */

static const struct key_def *find_key(const struct key_def *tab, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, k) == 0)
			return &tab[i];
	return NULL;
}

static const struct key_def *section_key(struct ctx *x, const char *k)
{
	if (x->sec == SEC_SANDBOX)
		return find_key(sandbox_keys, ENC_ARRAY_SIZE(sandbox_keys), k);
	return find_key(workspace_keys, ENC_ARRAY_SIZE(workspace_keys), k);
}

static int unknown_key(struct ctx *x, const char *key)
{
	bool sb = x->sec == SEC_SANDBOX;
	const struct key_def *tab = sb ? sandbox_keys : workspace_keys;
	size_t n = sb ? ENC_ARRAY_SIZE(sandbox_keys) : ENC_ARRAY_SIZE(workspace_keys);
	char sec[ENC_NAME_MAX + 16], list[512];
	size_t o = 0;

	snprintf(sec, sizeof(sec), sb ? "[sandbox]" : "[workspace.%s]", sb ? "" : x->c.ws[x->wsi].name);
	/* A key of the other kind of section: say where it belongs. */
	if (find_key(sb ? workspace_keys : sandbox_keys,
		     sb ? ENC_ARRAY_SIZE(workspace_keys) : ENC_ARRAY_SIZE(sandbox_keys), key))
		return fail(x, "unknown key '%s' in %s (%s belongs in %s)", key, sec, key,
			    sb ? "a [workspace.NAME] section" : "the [sandbox] section");
	list[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", tab[i].name);
	return fail(x, "unknown key '%s' in %s (expected one of: %s)", Q(key), sec, list);
}

/* Remove one pair of double quotes enclosing the whole value, only when
 * there is no other '"' inside (so `"a" "b"` stays as written). */
static char *strip_quotes(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"' && !memchr(v + 1, '"', n - 2)) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* Split on spaces and tabs, in place. */
static char *next_word(char **pp)
{
	char *p = *pp + strspn(*pp, " \t");

	if (!*p)
		return NULL;
	char *w = p;
	p += strcspn(p, " \t");
	if (*p)
		*p++ = '\0';
	*pp = p;
	return w;
}

static bool is_word(const char *v, const char *word)
{
	v += strspn(v, " \t");
	size_t n = strlen(word);
	return strncmp(v, word, n) == 0 && v[n + strspn(v + n, " \t")] == '\0';
}

/* TOML leftovers, the most likely mistake of someone coming from the TOML
 * Enclavefile: `auth = ["github", "npm"]`, `setup = [`. */
static bool looks_like_toml(const struct key_def *d, const char *v)
{
	if ((d->flags & KF_LEAD) && v[0] == '[')
		return true;
	if ((d->flags & KF_SHAPE) && v[0] == '[' &&
	    (v[1] == '\0' || v[1] == '"' || v[1] == '\'' || v[1] == ']'))
		return true;
	if (!(d->flags & KF_WORDS))
		return false;
	char tmp[ENC_CONFIG_MAX_LINE + 1], *p = tmp, *w;
	snprintf(tmp, sizeof(tmp), "%s", v);
	while ((w = next_word(&p)))
		if (strpbrk(w, "\",") || strcmp(w, "[") == 0 || strcmp(w, "]") == 0)
			return true;
	return false;
}

static int path_value(struct ctx *x, const char *key, const char *v, char **out)
{
	bool above;

	if (v[0] == '~')
		return fail_key(x, key, "'~' is not expanded: expected an absolute path "
				"or one relative to the Enclavefile, got '%s'", Q(v));
	char *p = join_normalize(x->dir, v, &above);
	if (!p && above)
		return fail_key(x, key, "path '%s' leads above the root directory", Q(v));
	if (!p)
		return oom(x);
	if (strlen(p) >= PATH_MAX) {
		free(p);
		return fail_key(x, key, "path '%s' is too long", Q(v));
	}
	free(*out);
	*out = p;
	return 0;
}

/* Where workspace_dir may not be mounted inside: the root itself, the
 * kernel file systems and /run/enclave, which the runtime sets up and must
 * be able to trust. */
static bool reserved_mount(const char *p)
{
	static const char *const reserved[] = { "/proc", "/sys", "/dev", "/run/enclave" };

	if (strcmp(p, "/") == 0)
		return true;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(reserved); i++) {
		size_t n = strlen(reserved[i]);
		if (strncmp(p, reserved[i], n) == 0 && (p[n] == '\0' || p[n] == '/'))
			return true;
	}
	return false;
}

/* HOSTDIR or HOSTDIR:/INSIDE, split at the last ':'. */
static int workspace_dir_value(struct ctx *x, struct enc_workspace_conf *ws, char *v)
{
	const char *key = "workspace_dir";
	char *colon = strrchr(v, ':'), *inside = NULL;
	bool above;

	if (colon) {
		if (colon[1] != '/' || colon == v)
			return fail_key(x, key, "expected HOSTDIR or HOSTDIR:/INSIDE "
					"(INSIDE absolute), got '%s'", Q(v));
		*colon = '\0';
		inside = colon + 1;
	}
	if (path_value(x, key, v, &ws->workspace_dir) < 0)
		return x->code;
	if (!inside)
		return 0;
	char *m = normalize_abs(inside, &above);
	if (!m && above)
		return fail_key(x, key, "path '%s' leads above the root directory", Q(inside));
	if (!m)
		return oom(x);
	ws->workspace_mount = m;
	if (reserved_mount(m))
		return fail_key(x, key, "cannot mount the directory on %s "
				"(/, /proc, /sys, /dev and /run/enclave are reserved)", m);
	return 0;
}

static int port_value(struct ctx *x, struct enc_workspace_conf *ws, const char *w)
{
	struct enc_err sub = {};
	struct enc_port p;

	memset(&p, 0, sizeof(p));
	if (enc_parse_port(w, &p, &sub) < 0)
		return fail_sub(x, "ports", &sub);
	for (size_t i = 0; i < ws->nports; i++) {
		const struct enc_port *o = &ws->ports[i];
		if (o->host.family != p.host.family || o->host_port != p.host_port ||
		    o->proto != p.proto ||
		    memcmp(o->host.addr, p.host.addr, p.host.family == AF_INET ? 4 : 16))
			continue;
		char ip[64];
		enc_format_ip(&p.host, ip, sizeof(ip));
		return fail_key(x, "ports", p.host.family == AF_INET6 ?
				"[%s]:%u/%s is published twice (first at line %u)" :
				"%s:%u/%s is published twice (first at line %u)", ip,
				p.host_port, p.proto == ENC_PROTO_UDP ? "udp" : "tcp",
				x->port_line[i]);
	}
	struct enc_port *np = realloc(ws->ports, (ws->nports + 1) * sizeof(*np));
	if (!np)
		return oom(x);
	ws->ports = np;
	unsigned *nl = realloc(x->port_line, (ws->nports + 1) * sizeof(*nl));
	if (!nl)
		return oom(x);
	x->port_line = nl;
	nl[ws->nports] = x->lineno;
	np[ws->nports++] = p;
	return 0;
}

static int allow_value(struct ctx *x, struct enc_workspace_conf *ws, const char *w)
{
	struct enc_err sub = {};
	struct enc_cidr c;

	memset(&c, 0, sizeof(c));
	if (enc_parse_cidr(w, &c, &sub) < 0)
		return fail_sub(x, "allow", &sub);
	struct enc_cidr *na = realloc(ws->allow, (ws->nallow + 1) * sizeof(*na));
	if (!na)
		return oom(x);
	ws->allow = na;
	na[ws->nallow++] = c;
	return 0;
}

static int env_value(struct ctx *x, struct enc_workspace_conf *ws, const char *w)
{
	struct enc_err sub = {};
	char name[ENC_CONFIG_MAX_LINE + 1];
	const char *eq = strchr(w, '=');

	if (!eq)
		return fail_key(x, "env", "expected NAME=VALUE, got '%s'", Q(w));
	size_t n = (size_t)(eq - w);
	memcpy(name, w, n);
	name[n] = '\0';
	if (enc_envname_check(name, &sub) < 0)
		return fail_sub(x, "env", &sub);
	/* The runtime passes its own facts to the workspace as ENCLAVE_*. */
	if (strncmp(name, "ENCLAVE_", 8) == 0)
		return fail_key(x, "env", "%s: names starting with ENCLAVE_ are reserved "
				"for enclave", name);
	for (size_t i = 0; i < ws->env.n; i++)
		if (strncmp(ws->env.v[i], w, n + 1) == 0)
			return fail_key(x, "env", "%s is set twice", name);
	return push(x, &ws->env, w);
}

/* hide and protect: relative to workspace_dir and never out of it. */
static int relpath_value(struct ctx *x, const char *key, struct enc_strv *sv, const char *w)
{
	if (w[0] == '/' || has_dotdot(w))
		return fail_key(x, key, "expected a path relative to workspace_dir without "
				"'..', got '%s'", Q(w));
	return push(x, sv, w);
}

static int size_value(struct ctx *x, const char *key, const char *v, uint64_t min,
		      const char *min_str, uint64_t *out)
{
	struct enc_err sub = {};
	uint64_t b;

	if (enc_parse_size(v, &b, &sub) < 0)
		return fail_sub(x, key, &sub);
	if (b < min)
		return fail_key(x, key, "expected at least %s, got '%s'", min_str, Q(v));
	*out = b;
	return 0;
}

/* One value, or one word of a KF_SPLIT list, into the staging model. */
static int apply(struct ctx *x, const struct key_def *d, char *v)
{
	struct enc_sandbox_conf *sb = &x->c.sandbox;
	struct enc_workspace_conf *ws = x->sec == SEC_WORKSPACE ? &x->c.ws[x->wsi] : NULL;
	const char *k = d->name;
	struct enc_err sub = {};

	switch (d->id) {
	case K_NAME:
		if (!ws) {
			if (enc_name_check(ENC_NAME_SANDBOX, v, &sub) < 0)
				return fail_sub(x, k, &sub);
			return set_str(x, &sb->name, v);
		}
		if (strcmp(v, ws->name) != 0)
			return fail_key(x, k, "'%s' differs from the section name "
					"[workspace.%s] (the name comes from the section "
					"header; name = may only repeat it)", Q(v), ws->name);
		return 0;
	case K_BOOTSTRAP_METHOD:
		if (enc_bootstrap_method_parse(v, &sb->method) < 0)
			return fail_key(x, k, "expected debootstrap, mmdebstrap, "
					"cached_rootfs, dir or tar, got '%s'", Q(v));
		return 0;
	case K_SUITE:
		if (!word_ok(v, MAX_SUITE, "a-z0-9", "a-z0-9.-"))
			return fail_key(x, k, "expected a suite name such as bookworm "
					"([a-z0-9][a-z0-9.-]*), got '%s'", Q(v));
		return set_str(x, &sb->suite, v);
	case K_MIRROR: {
		const char *rest = NULL;
		if (strncmp(v, "http://", 7) == 0)
			rest = v + 7;
		else if (strncmp(v, "https://", 8) == 0)
			rest = v + 8;
		else if (strncmp(v, "file:/", 6) == 0)
			rest = "file";
		if (!rest || rest[0] == '\0' || rest[0] == '/' || strpbrk(v, " \t"))
			return fail_key(x, k, "expected an http://, https:// or file:/ "
					"URL, got '%s'", Q(v));
		return set_str(x, &sb->mirror, v);
	}
	case K_VARIANT:
		if (!word_ok(v, MAX_VARIANT, "a-z", "a-z"))
			return fail_key(x, k, "expected a variant such as minbase or "
					"buildd ([a-z]+), got '%s'", Q(v));
		return set_str(x, &sb->variant, v);
	case K_INCLUDE:
		if (!word_ok(v, ENC_CONFIG_MAX_LINE, "a-z0-9", "a-z0-9+.-"))
			return fail_key(x, k, "expected package names such as "
					"git ([a-z0-9][a-z0-9+.-]*), got '%s'", Q(v));
		return push(x, &sb->include, v);
	case K_COMPONENTS:
		if (!word_ok(v, ENC_CONFIG_MAX_LINE, "a-z0-9", "a-z0-9.-"))
			return fail_key(x, k, "expected archive components such "
					"as main contrib ([a-z0-9][a-z0-9.-]*), got '%s'", Q(v));
		return push(x, &sb->components, v);
	case K_SOURCE:
		return path_value(x, k, v, &sb->source);
	case K_SETUP:
		return push(x, &sb->setup, v);
	case K_RUN:
		return set_str(x, &ws->run, v);
	case K_WORKSPACE_DIR:
		return workspace_dir_value(x, ws, v);
	case K_PORTS:
		return port_value(x, ws, v);
	case K_AUTH:
	case K_ENV_TOKENS: {
		struct enc_strv *sv = d->id == K_AUTH ? &ws->auth : &ws->env_tokens;
		int r = d->id == K_AUTH ? enc_name_check(ENC_NAME_PROVIDER, v, &sub)
					: enc_envname_check(v, &sub);
		if (r < 0)
			return fail_sub(x, k, &sub);
		if (strv_contains(sv, v))
			return fail_key(x, k, "%s is listed twice", v);
		return push(x, sv, v);
	}
	case K_NETWORK:
		if (enc_net_mode_parse(v, &ws->network) < 0)
			return fail_key(x, k, "expected none, deny, nat or host, got '%s'", Q(v));
		return 0;
	case K_ALLOW:
		return allow_value(x, ws, v);
	case K_LOG_ALLOWED:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
			ws->log_allowed = true;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
			ws->log_allowed = false;
		else
			return fail_key(x, k, "expected yes or no, got '%s'", Q(v));
		return 0;
	case K_MEMORY:
		return size_value(x, k, v, MIN_MEMORY, "4M", &ws->memory);
	case K_SWAP:
		return size_value(x, k, v, 0, "0", &ws->swap);
	case K_TMP_SIZE:
		return size_value(x, k, v, 1, "1 byte", &ws->tmp_size);
	case K_CPUS:
		if (enc_parse_cpus(v, &ws->cpus, &sub) < 0)
			return fail_sub(x, k, &sub);
		/* The kernel's smallest CPU quota is 1 ms per 100 ms period. */
		if (ws->cpus < 10)
			return fail_key(x, k, "expected at least 0.01, got '%s'", Q(v));
		return 0;
	case K_PIDS:
		return enc_parse_u64(v, 1, MAX_PIDS, &ws->pids, &sub) < 0 ? fail_sub(x, k, &sub) : 0;
	case K_TIMEOUT: {
		uint64_t ms;
		if (enc_parse_duration(v, &ms, &sub) < 0)
			return fail_sub(x, k, &sub);
		if (ms < MIN_TIMEOUT_MS)
			return fail_key(x, k, "expected at least 1s, got '%s'", Q(v));
		ws->timeout = ms;
		return 0;
	}
	case K_ENV:
		return env_value(x, ws, v);
	case K_USER:
		if (!word_ok(v, 32, "a-z_", "a-z0-9_-"))
			return fail_key(x, k, "expected a user name "
					"([a-z_][a-z0-9_-]*, at most 32 bytes), got '%s'", Q(v));
		if (strcmp(v, "root") == 0)
			return fail_key(x, k, "'root' is uid 0 inside every workspace; "
					"choose another name");
		return set_str(x, &ws->user, v);
	case K_UID:
		return enc_parse_u32(v, 1, MAX_UID, &ws->uid, &sub) < 0 ? fail_sub(x, k, &sub) : 0;
	case K_HOSTNAME:
		if (!hostname_valid(v))
			return fail_key(x, k, "expected a host name (letters, digits and "
					"'-' in dot-separated labels, at most %d bytes), got '%s'",
					MAX_HOSTNAME, Q(v));
		return set_str(x, &ws->hostname, v);
	case K_OVERLAY:
		if (enc_overlay_mode_parse(v, &ws->overlay) < 0)
			return fail_key(x, k, "expected tmp, persistent or readonly, "
					"got '%s'", Q(v));
		return 0;
	case K_HIDE:
		if (strcmp(v, "none") == 0)
			return fail_key(x, k, "'none' must be alone on its line");
		return relpath_value(x, k, &ws->hide, v);
	case K_PROTECT:
		return relpath_value(x, k, &ws->protect, v);
	case K_COUNT:
		break;
	}
	return fail_internal(x, k);
}

/* A continuation line that reads like "key = ..." for a key of this section
 * is almost certainly an indented key, not more of the previous value. */
static const struct key_def *indented_key(struct ctx *x, const char *v)
{
	char word[INIH_MAX_NAME];
	size_t n = 0;

	while (n + 1 < sizeof(word) && (is_lower(v[n]) || v[n] == '_')) {
		word[n] = v[n];
		n++;
	}
	word[n] = '\0';
	if (n == 0 || v[n + strspn(v + n, " \t")] != '=')
		return NULL;
	return section_key(x, word);
}

static int handle_kv(struct ctx *x)
{
	const char *key = x->prev_key;

	if (x->sec == SEC_NONE)
		return fail(x, "key '%s' outside any section (put it under [sandbox] or "
			    "[workspace.NAME])", Q(key));
	const struct key_def *d = section_key(x, key);
	if (!d)
		return unknown_key(x, key);

	struct sec_state *st = x->sec == SEC_SANDBOX ? &x->sb : &x->ws_state[x->wsi];
	unsigned *first = &st->key_line[d->id];
	const struct key_def *k = x->kind == L_CONT ? indented_key(x, x->val) : NULL;
	if (k)
		return fail(x, "indented '%s = ...' continues the value of %s (line %u); "
			    "start keys at the beginning of the line", k->name, d->name, *first);
	if (*first && !(d->flags & KF_APPEND))
		return fail_key(x, d->name, "given twice (first at line %u%s); " REPEATABLE,
				*first, x->kind == L_CONT ?
				"; an indented line continues the key above" : "");
	if (!*first)
		*first = x->lineno;

	/* inih takes " ;" as the start of a comment, which would silently cut
	 * "apt-get update ; apt-get install -y git" short. A comment on a
	 * command line must be set apart by a tab or two spaces. */
	if ((d->flags & KF_TEXT) && x->comment_cut)
		return fail_key(x, d->name, "' ;' would start a comment here and cut the "
				"command short: join commands with '&&' or write another "
				"%s line (a comment needs two spaces or a tab before the ';')",
				d->name);

	char buf[ENC_CONFIG_MAX_LINE + 1];
	snprintf(buf, sizeof(buf), "%s", x->val);
	char *v = strip_quotes(buf), *p = v, *w;
	if (v[strspn(v, " \t")] == '\0')
		return fail_key(x, d->name, "expected a value");
	if (looks_like_toml(d, v)) {
		if (d->flags & KF_TEXT)
			return fail_key(x, d->name, "%s", d->example);
		return fail_key(x, d->name, "lists are whitespace-separated words, not "
				"TOML arrays: write %s", d->example);
	}
	if (!(d->flags & KF_SPLIT))
		return apply(x, d, v);
	/* "hide = none" clears the list, the default included. */
	if (d->id == K_HIDE && is_word(v, "none")) {
		enc_strv_free(&x->c.ws[x->wsi].hide);
		return 0;
	}
	while ((w = next_word(&p)))
		if (apply(x, d, w) < 0)
			return x->code;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *x = user;

	(void)section;	/* ours is authoritative: inih cuts it at 49 bytes */
	if (x->code)
		return 0;
	/* Cross-check inih against the reader's mirror of it. */
	if (x->handled || (x->kind != L_KEY && x->kind != L_CONT) ||
	    strcmp(value, x->val) != 0 ||
	    strncmp(name, x->prev_key, INIH_MAX_NAME - 1) != 0) {
		fail_internal(x, "inih read this line differently");
		return 0;
	}
	x->handled = true;
	return handle_kv(x) < 0 ? 0 : 1;
}

/* ---- after the whole file ------------------------------------------------------- */

static int finish_sandbox(struct ctx *x)
{
	struct enc_sandbox_conf *sb = &x->c.sandbox;
	const unsigned *kl = x->sb.key_line;
	bool needs_source = sb->method == ENC_BOOTSTRAP_DIR || sb->method == ENC_BOOTSTRAP_TAR;

	if (!sb->name)
		return fail_at(x, sb->line, NULL, "[sandbox] needs a name: add name = NAME");
	if (needs_source && !sb->source)
		return fail_at(x, kl[K_BOOTSTRAP_METHOD], "source",
			       "required with bootstrap_method = %s (the %s to import)",
			       enc_bootstrap_method_str(sb->method),
			       sb->method == ENC_BOOTSTRAP_DIR ? "root directory" : "tar archive");
	if (!needs_source && sb->source)
		return fail_at(x, kl[K_SOURCE], "source",
			       "only used with bootstrap_method = dir or tar, not %s",
			       enc_bootstrap_method_str(sb->method));
	if (!sb->suite && set_str(x, &sb->suite, DEFAULT_SUITE) < 0)
		return x->code;
	if (!sb->variant && set_str(x, &sb->variant, DEFAULT_VARIANT) < 0)
		return x->code;
	return 0;
}

static int finish_ws(struct ctx *x, size_t i)
{
	struct enc_workspace_conf *ws = &x->c.ws[i];
	const unsigned *kl = x->ws_state[i].key_line;

	if (ws->nallow && ws->network == ENC_NET_NONE)
		return fail_at(x, kl[K_ALLOW], "allow",
			       "not possible with network = none (line %u), which leaves "
			       "only loopback; use network = deny to allow some destinations",
			       kl[K_NETWORK]);
	if (ws->nallow && ws->network == ENC_NET_HOST)
		return fail_at(x, kl[K_ALLOW], "allow",
			       "not possible with network = host (line %u), which uses the "
			       "host's network unfiltered; use network = deny or nat",
			       kl[K_NETWORK]);
	if (ws->nports && ws->network == ENC_NET_HOST)
		return fail_at(x, kl[K_PORTS], "ports",
			       "not possible with network = host (line %u): the workspace "
			       "already listens on the host's own addresses", kl[K_NETWORK]);
	if (ws->log_allowed && ws->network != ENC_NET_DENY && ws->network != ENC_NET_NAT)
		return fail_at(x, kl[K_LOG_ALLOWED], "log_allowed",
			       "only with network = deny or nat, not %s",
			       enc_net_mode_str(ws->network));
	if (ws->workspace_dir && !ws->workspace_mount &&
	    set_str(x, &ws->workspace_mount, ws->workspace_dir) < 0)
		return x->code;
	if (!ws->user && set_str(x, &ws->user, DEFAULT_USER) < 0)
		return x->code;
	if (!kl[K_UID])
		ws->uid = DEFAULT_UID;
	if (!ws->hostname) {
		char h[ENC_NAME_MAX + 1];
		size_t n = 0;
		for (; ws->name[n] && n < ENC_NAME_MAX; n++)
			h[n] = (ws->name[n] >= 'A' && ws->name[n] <= 'Z') ?
				(char)(ws->name[n] - 'A' + 'a') : ws->name[n];
		h[n] = '\0';
		if (set_str(x, &ws->hostname, hostname_valid(h) ? h : DEFAULT_HOSTNAME) < 0)
			return x->code;
	}
	if (!kl[K_HIDE] && (push(x, &ws->hide, ".env") < 0 || push(x, &ws->hide, ".env.*") < 0))
		return x->code;
	return 0;
}

static int finish(struct ctx *x)
{
	if (!x->c.has_sandbox && x->c.nws == 0)
		return fail_file(x, -EINVAL, "no [sandbox] or [workspace.NAME] section");
	if (x->c.has_sandbox && finish_sandbox(x) < 0)
		return x->code;
	for (size_t i = 0; i < x->c.nws; i++)
		if (finish_ws(x, i) < 0)
			return x->code;
	return 0;
}

/* ---- entry points ------------------------------------------------------------------ */

static int parse(const char *name, const char *abspath, const char *dir,
		 const char *buf, size_t len, struct enc_config *out, struct enc_err *err)
{
	struct ctx x = {
		.file = name,
		.err = err,
		.buf = buf,
		.len = len,
	};

	x.c.path = strdup(abspath);
	x.c.dir = strdup(dir);
	x.dir = x.c.dir;
	if (!x.c.path || !x.c.dir) {
		oom(&x);
		goto out;
	}
	if (len > ENC_CONFIG_MAX_SIZE) {
		fail_file(&x, -EINVAL, "larger than %d bytes", ENC_CONFIG_MAX_SIZE);
		goto out;
	}

	int r = ini_parse_stream(reader, &x, handler, &x);
	/* The reader refuses every line inih would, before inih sees it. */
	if (!x.code && check_handled(&x) && r != 0) {
		x.lineno = r > 0 ? (unsigned)r : x.lineno;
		fail_internal(&x, "inih found a syntax error the reader did not");
	}
	if (!x.code)
		finish(&x);
out:
	free(x.port_line);
	free(x.ws_state);
	if (x.code) {
		enc_config_free(&x.c);
		return x.code;
	}
	*out = x.c;
	return 0;
}

int enc_config_parse_buf(const char *name, const char *buf, size_t len,
			 const char *basedir, struct enc_config *out,
			 struct enc_err *err)
{
	bool above;

	memset(out, 0, sizeof(*out));
	if (!name || !basedir || basedir[0] != '/' || (!buf && len))
		return enc_err_set(err, -EINVAL, "enc_config_parse_buf: bad arguments");
	_cleanup_free_ char *dir = normalize_abs(basedir, &above);
	if (!dir)
		return enc_err_set(err, above ? -EINVAL : -ENOMEM, "%s: %s", name,
				   above ? "base directory leads above /" : "out of memory");
	_cleanup_free_ char *path = join_normalize(dir, name, &above);
	if (!path)
		return enc_err_set(err, above ? -EINVAL : -ENOMEM, "%s: %s", name,
				   above ? "path leads above /" : "out of memory");
	return parse(name, path, dir, buf ? buf : "", len, out, err);
}

/* Read at most ENC_CONFIG_MAX_SIZE bytes; one more means the file is too
 * large (it may have grown since fstat()). */
static int read_file(int fd, const char *path, char **bufp, size_t *lenp, struct enc_err *err)
{
	_cleanup_free_ char *buf = malloc(ENC_CONFIG_MAX_SIZE + 1);
	size_t len = 0;
	ssize_t n = 1;

	if (!buf)
		return enc_err_set(err, -ENOMEM, "%s: out of memory", path);
	while (n > 0 && len <= ENC_CONFIG_MAX_SIZE) {
		n = ENC_RETRY(read(fd, buf + len, ENC_CONFIG_MAX_SIZE + 1 - len));
		if (n < 0)
			return enc_err_sys(err, -errno, "%s: cannot read", path);
		len += (size_t)n;
	}
	if (len > ENC_CONFIG_MAX_SIZE)
		return enc_err_set(err, -EINVAL, "%s: larger than %d bytes", path,
				   ENC_CONFIG_MAX_SIZE);
	*bufp = steal_pointer(&buf);
	*lenp = len;
	return 0;
}

int enc_config_load(const char *path, struct enc_config *out, struct enc_err *err)
{
	_cleanup_free_ char *buf = NULL, *abs = NULL, *cwd = NULL;
	struct stat st;
	size_t len = 0;
	bool above;
	int r;

	memset(out, 0, sizeof(*out));
	if (!path || !*path)
		return enc_err_set(err, -EINVAL, "no Enclavefile name given");
	/* Symbolic links are followed on purpose (users link their
	 * Enclavefile); O_NONBLOCK keeps a FIFO from hanging us before the
	 * regular-file check. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return enc_err_sys(err, -errno, "%s: cannot open", path);
	if (fstat(fd, &st) < 0)
		return enc_err_sys(err, -errno, "%s: cannot stat", path);
	if (!S_ISREG(st.st_mode))
		return enc_err_set(err, -EINVAL, "%s: not a regular file", path);
	if (st.st_size > ENC_CONFIG_MAX_SIZE)
		return enc_err_set(err, -EINVAL, "%s: larger than %d bytes", path,
				   ENC_CONFIG_MAX_SIZE);
	r = read_file(fd, path, &buf, &len, err);
	if (r < 0)
		return r;

	if (path[0] == '/') {
		abs = normalize_abs(path, &above);
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return enc_err_sys(err, -errno, "%s: cannot get the current directory",
					   path);
		abs = join_normalize(cwd, path, &above);
	}
	if (!abs)
		return enc_err_set(err, above ? -EINVAL : -ENOMEM, "%s: %s", path,
				   above ? "path leads above /" : "out of memory");

	/* The directory is the lexical parent of the file as named. */
	_cleanup_free_ char *dir = strdup(abs);
	if (!dir)
		return enc_err_set(err, -ENOMEM, "%s: out of memory", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return parse(path, abs, dir, buf, len, out, err);
}

/* ---- JSON -------------------------------------------------------------------------- */

static void json_strv(struct enc_json *j, const char *key, const struct enc_strv *sv)
{
	enc_json_key(j, key);
	enc_json_arr_begin(j);
	for (size_t i = 0; i < sv->n; i++)
		enc_json_str(j, sv->v[i]);
	enc_json_arr_end(j);
}

static void json_opt_uint(struct enc_json *j, const char *key, uint64_t v, uint64_t unset)
{
	enc_json_key(j, key);
	if (v == unset)
		enc_json_null(j);
	else
		enc_json_uint(j, v);
}

static void json_sandbox(struct enc_json *j, const struct enc_sandbox_conf *s)
{
	enc_json_obj_begin(j);
	enc_json_kv_str(j, "name", s->name);
	enc_json_kv_str(j, "bootstrap_method", enc_bootstrap_method_str(s->method));
	enc_json_kv_str(j, "suite", s->suite);
	enc_json_kv_str(j, "mirror", s->mirror);
	enc_json_kv_str(j, "variant", s->variant);
	json_strv(j, "include", &s->include);
	json_strv(j, "components", &s->components);
	enc_json_kv_str(j, "source", s->source);
	json_strv(j, "setup", &s->setup);
	enc_json_obj_end(j);
}

static void json_ws(struct enc_json *j, const struct enc_workspace_conf *w)
{
	char buf[128];

	enc_json_obj_begin(j);
	enc_json_kv_str(j, "name", w->name);
	enc_json_kv_str(j, "run", w->run);
	enc_json_kv_str(j, "workspace_dir", w->workspace_dir);
	enc_json_kv_str(j, "workspace_mount", w->workspace_mount);
	enc_json_key(j, "ports");
	enc_json_arr_begin(j);
	for (size_t i = 0; i < w->nports; i++) {
		enc_format_port(&w->ports[i], buf, sizeof(buf));
		enc_json_str(j, buf);
	}
	enc_json_arr_end(j);
	json_strv(j, "auth", &w->auth);
	json_strv(j, "env_tokens", &w->env_tokens);
	enc_json_kv_str(j, "network", enc_net_mode_str(w->network));
	enc_json_key(j, "allow");
	enc_json_arr_begin(j);
	for (size_t i = 0; i < w->nallow; i++) {
		enc_format_cidr(&w->allow[i], buf, sizeof(buf));
		enc_json_str(j, buf);
	}
	enc_json_arr_end(j);
	enc_json_kv_bool(j, "log_allowed", w->log_allowed);
	json_opt_uint(j, "memory", w->memory, 0);
	json_opt_uint(j, "swap", w->swap, UINT64_MAX);
	enc_json_key(j, "cpus");
	if (w->cpus) {
		enc_format_cpus(w->cpus, buf, sizeof(buf));
		enc_json_str(j, buf);
	} else {
		enc_json_null(j);
	}
	json_opt_uint(j, "pids", w->pids, 0);
	json_opt_uint(j, "timeout_ms", w->timeout, 0);
	json_opt_uint(j, "tmp_size", w->tmp_size, 0);
	json_strv(j, "env", &w->env);
	enc_json_kv_str(j, "user", w->user);
	enc_json_kv_uint(j, "uid", w->uid);
	enc_json_kv_str(j, "hostname", w->hostname);
	enc_json_kv_str(j, "overlay", enc_overlay_mode_str(w->overlay));
	json_strv(j, "hide", &w->hide);
	json_strv(j, "protect", &w->protect);
	enc_json_obj_end(j);
}

void enc_config_to_json(const struct enc_config *c, struct enc_json *j)
{
	enc_json_obj_begin(j);
	enc_json_kv_str(j, "path", c->path);
	enc_json_key(j, "sandbox");
	if (c->has_sandbox)
		json_sandbox(j, &c->sandbox);
	else
		enc_json_null(j);
	enc_json_key(j, "workspaces");
	enc_json_arr_begin(j);
	for (size_t i = 0; i < c->nws; i++)
		json_ws(j, &c->ws[i]);
	enc_json_arr_end(j);
	enc_json_obj_end(j);
}

/* ---- the command line ------------------------------------------------------ */

int enc_workspace_conf_from_options(const char *name, const char *basedir,
				    const struct enc_conf_option *opts, size_t n,
				    struct enc_workspace_conf *out, struct enc_err *err)
{
	struct ctx x = { .file = NULL, .err = err, .lineno = 1 };

	memset(out, 0, sizeof(*out));
	x.c.dir = strdup(basedir);
	x.dir = x.c.dir;
	if (!x.c.dir) {
		oom(&x);
		goto out;
	}
	if (begin_workspace(&x, name) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct key_def *d = find_key(workspace_keys, ENC_ARRAY_SIZE(workspace_keys),
						   opts[i].key);
		char buf[ENC_CONFIG_MAX_LINE + 1];

		if (!d || d->id == K_NAME) {
			fail_internal(&x, "unknown workspace key from the command line");
			goto out;
		}
		/* One option, one value: a list key takes it as one word, and
		 * a repeated single-valued option wins over the earlier one. */
		x.ws_state[0].key_line[d->id] = (unsigned)i + 1;
		if (!opts[i].value || !opts[i].value[0]) {
			fail_key(&x, d->name, "expected a value");
			goto out;
		}
		if (strlen(opts[i].value) >= sizeof(buf)) {
			fail_key(&x, d->name, "longer than %d characters", ENC_CONFIG_MAX_LINE);
			goto out;
		}
		snprintf(buf, sizeof(buf), "%s", opts[i].value);
		if (d->id == K_HIDE && strcmp(buf, "none") == 0) {
			enc_strv_free(&x.c.ws[0].hide);
			continue;
		}
		if (apply(&x, d, buf) < 0)
			goto out;
	}
	finish_ws(&x, 0);
out:
	free(x.port_line);
	free(x.ws_state);
	if (!x.code) {
		*out = x.c.ws[0];
		free(x.c.ws);
		x.c.ws = NULL;
		x.c.nws = 0;
	}
	enc_config_free(&x.c);
	return x.code;
}

void enc_workspace_conf_free(struct enc_workspace_conf *ws)
{
	ws_free(ws);
	memset(ws, 0, sizeof(*ws));
}
