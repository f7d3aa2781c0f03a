/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * auth.c - the token store and the injection plan. See auth.h.
 *
 * Trust: the store is the caller's own (state owner), so the checks before
 * each use are about accidents and other users, not about the workspace:
 * a token another user could have planted (owner), read (mode) or swapped
 * (a writable directory, a symlink) is refused with the reason. Nothing
 * here ever puts a token's bytes into a message.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "fsutil.h"
#include "util.h"

/* ---- pure ---------------------------------------------------------------- */

struct known_provider {
	const char *name;
	const char *env[3];
	bool git;
};

static const struct known_provider known[] = {
	{ "github", { "GITHUB_TOKEN", "GH_TOKEN", NULL }, true },
	{ "npm", { "NPM_TOKEN", NULL }, false },
	{ "enclave", { "ENCLAVE_TOKEN", NULL }, false },
};

static const char *const no_env[] = { NULL };

/* What the workload environment (spawn.c) and the git wiring below set:
 * an env token of one of these names would silently replace them. */
static const char *const reserved_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "HOSTNAME", "TERM",
	"ENCLAVE_SANDBOX", "ENCLAVE_WORKSPACE", "GIT_TERMINAL_PROMPT",
};

/* The credential helper git runs for https://github.com (git appends the
 * operation, "get", "store" or "erase"). It names the token file and holds
 * no token; only "get" answers. */
#define GIT_HELPER_KEY "credential.https://github.com.helper"
#define GIT_HELPER_VALUE                                                        \
	"!f() { test \"$1\" = get || return 0; "                               \
	"printf 'username=%s\\npassword=%s\\n' " ENC_AUTH_GIT_USERNAME " "      \
	"\"$(cat " ENC_AUTH_RUN_DIR "/auth/github.token)\"; }; f"

static const struct known_provider *find_known(const char *provider)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(known); i++)
		if (strcmp(known[i].name, provider) == 0)
			return &known[i];
	return NULL;
}

const char *const *enc_auth_provider_env(const char *provider)
{
	const struct known_provider *k = find_known(provider);

	return k ? k->env : no_env;
}

bool enc_auth_provider_git(const char *provider)
{
	const struct known_provider *k = find_known(provider);

	return k && k->git;
}

int enc_auth_token_check(const char *buf, size_t len, size_t *token_len, struct enc_err *err)
{
	size_t n = len;

	/* One line from a pipe or a terminal: its end is not the token's. */
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n > ENC_AUTH_TOKEN_MAX)
		return enc_err_set(err, -E2BIG, "the token is longer than %d bytes",
				   ENC_AUTH_TOKEN_MAX);
	if (n == 0)
		return enc_err_set(err, -EINVAL, "the token is empty");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\0')
			return enc_err_set(err, -EINVAL, "the token contains a NUL byte (byte %zu)",
					   i + 1);
		if (c == '\n')
			return enc_err_set(err, -EINVAL,
					   "the token contains a newline (byte %zu); it must be one line",
					   i + 1);
		/* A control character would end up in environment variables,
		 * files and git's line-based credential protocol. */
		if (c < 0x20 || c == 0x7f)
			return enc_err_set(err, -EINVAL,
					   "the token contains a control character (0x%02x, byte %zu)",
					   c, i + 1);
	}
	if (token_len)
		*token_len = n;
	return 0;
}

static bool env_reserved(const char *name)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(reserved_env); i++)
		if (strcmp(reserved_env[i], name) == 0)
			return true;
	return strncmp(name, "GIT_CONFIG_", 11) == 0;
}

int enc_auth_env_provider(const char *name, char out[ENC_NAME_MAX + 1], struct enc_err *err)
{
	struct enc_err sub = {};
	char low[ENC_ENVNAME_MAX + 1];
	size_t n;

	out[0] = '\0';
	if (enc_envname_check(name, &sub) < 0)
		return enc_err_set(err, -EINVAL, "env token %s: %s", name, sub.msg);
	if (env_reserved(name))
		return enc_err_set(err, -EINVAL,
				   "env token %s: enclave sets this variable itself; choose another name",
				   name);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(known); i++)
		for (size_t k = 0; known[i].env[k]; k++)
			if (strcmp(known[i].env[k], name) == 0) {
				snprintf(out, ENC_NAME_MAX + 1, "%s", known[i].name);
				return 0;
			}
	n = strlen(name);
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	if (n > 6 && strcmp(low + n - 6, "_token") == 0)
		low[n - 6] = '\0';
	if (enc_name_check(ENC_NAME_PROVIDER, low, &sub) < 0)
		return enc_err_set(err, -EINVAL,
				   "env token %s: its provider name '%s' is not valid: %s", name, low,
				   sub.msg);
	/* Valid, so at most ENC_NAME_MAX bytes. */
	memcpy(out, low, strlen(low) + 1);
	return 0;
}

/* ---- the store ------------------------------------------------------------ */

void enc_auth_token_free(char *token, size_t len)
{
	if (token) {
		explicit_bzero(token, len);
		free(token);
	}
}

/* Open auth/ and check it is ours and only ours to write. -ENOENT when it
 * does not exist and create is false. */
static int open_dir(const struct enc_state *st, bool create, struct enc_err *err)
{
	struct stat sb;
	struct enc_err local = {};
	int fd;

	if (st->data_fd < 0)
		return enc_err_set(err, -EBADF, "the state directory is not open");
	fd = enc_state_subdir(st, ENC_AUTH_DIR, create, &local);
	if (fd == -ENOENT && !create)
		return -ENOENT;
	if (fd < 0) {
		if (err && !enc_err_isset(err))
			*err = local;
		return fd;
	}
	if (fstat(fd, &sb) < 0) {
		int r = -errno;
		close(fd);
		return enc_err_sys(err, r, "cannot stat %s/" ENC_AUTH_DIR, st->data_path);
	}
	if (sb.st_uid != st->uid) {
		close(fd);
		return enc_err_set(err, -EPERM,
				   "%s/" ENC_AUTH_DIR ": owned by uid %u, expected %u (the owner of "
				   "the store); refusing to use it", st->data_path,
				   (unsigned)sb.st_uid, (unsigned)st->uid);
	}
	if (sb.st_mode & 022) {
		close(fd);
		return enc_err_set(err, -EPERM,
				   "%s/" ENC_AUTH_DIR ": mode %04o is writable by group or others; "
				   "refusing to use it (expected 0700)", st->data_path,
				   (unsigned)(sb.st_mode & 07777));
	}
	return fd;
}

static int token_name(const char *provider, char name[ENC_NAME_MAX + sizeof(ENC_AUTH_SUFFIX)],
		      struct enc_err *err)
{
	int r = enc_name_check(ENC_NAME_PROVIDER, provider, err);

	if (r < 0)
		return r;
	snprintf(name, ENC_NAME_MAX + sizeof(ENC_AUTH_SUFFIX), "%s" ENC_AUTH_SUFFIX, provider);
	return 0;
}

/* Open a token file and check it as before every use. */
static int open_token(const struct enc_state *st, int dirfd, const char *provider,
		      struct stat *sb, struct enc_err *err)
{
	char name[ENC_NAME_MAX + sizeof(ENC_AUTH_SUFFIX)];
	int r = token_name(provider, name, err);

	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO under the name cannot stall the open; it is
	 * refused below as not a regular file. */
	int fd = enc_openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, NULL);
	if (fd == -ENOENT)
		return enc_err_set(err, -ENOENT, "no token stored for provider '%s'", provider);
	if (fd == -ELOOP)
		return enc_err_set(err, -ELOOP,
				   "%s/" ENC_AUTH_DIR "/%s: is a symbolic link; refusing to use it",
				   st->data_path, name);
	if (fd < 0)
		return enc_err_sys(err, fd, "cannot open %s/" ENC_AUTH_DIR "/%s", st->data_path,
				   name);
	if (fstat(fd, sb) < 0) {
		r = -errno;
		close(fd);
		return enc_err_sys(err, r, "cannot stat %s/" ENC_AUTH_DIR "/%s", st->data_path,
				   name);
	}
	if (!S_ISREG(sb->st_mode))
		r = enc_err_set(err, -EINVAL,
				"%s/" ENC_AUTH_DIR "/%s: not a regular file; refusing to use it",
				st->data_path, name);
	else if (sb->st_uid != st->uid)
		r = enc_err_set(err, -EPERM,
				"%s/" ENC_AUTH_DIR "/%s: owned by uid %u, expected %u (the owner of "
				"the store); refusing to use it", st->data_path, name,
				(unsigned)sb->st_uid, (unsigned)st->uid);
	else if ((sb->st_mode & 07777) != 0600)
		r = enc_err_set(err, -EPERM,
				"%s/" ENC_AUTH_DIR "/%s: mode %04o, expected 0600; refusing to use it",
				st->data_path, name, (unsigned)(sb->st_mode & 07777));
	else if (sb->st_size > ENC_AUTH_TOKEN_MAX + 2)
		r = enc_err_set(err, -EFBIG,
				"%s/" ENC_AUTH_DIR "/%s: larger than %d bytes; refusing to use it",
				st->data_path, name, ENC_AUTH_TOKEN_MAX);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Read and check the content of an open token file. */
static int read_token(const struct enc_state *st, int fd, const char *provider, char **token,
		      size_t *len, struct enc_err *err)
{
	const size_t cap = ENC_AUTH_TOKEN_MAX + 3;
	char *buf = malloc(cap);
	size_t got = 0, n;
	struct enc_err sub = {};
	int r;

	if (!buf)
		return enc_err_set(err, -ENOMEM, "out of memory");
	while (got < cap) {
		ssize_t k = read(fd, buf + got, cap - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = enc_err_sys(err, -errno, "cannot read %s/" ENC_AUTH_DIR "/%s" ENC_AUTH_SUFFIX,
					st->data_path, provider);
			enc_auth_token_free(buf, cap);
			return r;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r = enc_auth_token_check(buf, got, &n, &sub);
	if (r < 0) {
		enc_auth_token_free(buf, cap);
		return enc_err_set(err, r,
				   "%s/" ENC_AUTH_DIR "/%s" ENC_AUTH_SUFFIX ": %s; refusing to use it",
				   st->data_path, provider, sub.msg);
	}
	/* Shrink to the token and its NUL, wiping the rest. */
	char *t = malloc(n + 1);
	if (!t) {
		enc_auth_token_free(buf, cap);
		return enc_err_set(err, -ENOMEM, "out of memory");
	}
	memcpy(t, buf, n);
	t[n] = '\0';
	enc_auth_token_free(buf, cap);
	*token = t;
	*len = n;
	return 0;
}

int enc_auth_load(const struct enc_state *st, const char *provider, char **token, size_t *len,
		  struct enc_err *err)
{
	struct stat sb;
	int r;

	*token = NULL;
	*len = 0;
	_cleanup_close_ int dirfd = open_dir(st, false, err);
	if (dirfd == -ENOENT)
		return enc_err_set(err, -ENOENT, "no token stored for provider '%s'", provider);
	if (dirfd < 0)
		return dirfd;
	_cleanup_close_ int fd = open_token(st, dirfd, provider, &sb, err);
	if (fd < 0)
		return fd;
	r = read_token(st, fd, provider, token, len, err);
	return r;
}

int enc_auth_store(const struct enc_state *st, const char *provider, const char *token,
		   size_t len, struct enc_err *err)
{
	char name[ENC_NAME_MAX + sizeof(ENC_AUTH_SUFFIX)];
	size_t n;
	int r;

	r = token_name(provider, name, err);
	if (r < 0)
		return r;
	r = enc_auth_token_check(token, len, &n, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dirfd = open_dir(st, true, err);
	if (dirfd < 0)
		return dirfd;
	/* enc_fact_write removes a stale name.new: only one writer at a time. */
	_cleanup_close_ int lock = enc_lock_at(dirfd, "lock", ENC_LOCK_EXCLUSIVE, true, err);
	if (lock < 0)
		return lock;
	r = enc_fact_write(dirfd, name, token, n, 0600, true, err);
	if (r < 0)
		return r;
	/* The umask may have narrowed 0600: set exactly what every later use
	 * insists on (our own new file, under our lock). */
	_cleanup_close_ int fd = enc_openat(dirfd, name, O_RDONLY | O_NOCTTY, 0, err);
	if (fd < 0)
		return fd;
	if (fchmod(fd, 0600) < 0)
		return enc_err_sys(err, -errno, "cannot chmod %s/" ENC_AUTH_DIR "/%s", st->data_path,
				   name);
	return 0;
}

int enc_auth_remove(const struct enc_state *st, const char *provider, struct enc_err *err)
{
	char name[ENC_NAME_MAX + sizeof(ENC_AUTH_SUFFIX)];
	int r = token_name(provider, name, err);

	if (r < 0)
		return r;
	_cleanup_close_ int dirfd = open_dir(st, false, err);
	if (dirfd == -ENOENT)
		return enc_err_set(err, -ENOENT, "no token stored for provider '%s'", provider);
	if (dirfd < 0)
		return dirfd;
	_cleanup_close_ int lock = enc_lock_at(dirfd, "lock", ENC_LOCK_EXCLUSIVE, true, err);
	if (lock < 0)
		return lock;
	/* unlinkat removes a symlink or a bad file itself: logout is how a
	 * refused token is got rid of. */
	if (unlinkat(dirfd, name, 0) < 0) {
		if (errno == ENOENT)
			return enc_err_set(err, -ENOENT, "no token stored for provider '%s'",
					   provider);
		return enc_err_sys(err, -errno, "cannot remove %s/" ENC_AUTH_DIR "/%s",
				   st->data_path, name);
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct enc_auth_entry *x = a, *y = b;

	return strcmp(x->provider, y->provider);
}

int enc_auth_list(const struct enc_state *st, struct enc_auth_entry **out, size_t *n,
		  struct enc_err *err)
{
	struct enc_auth_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	*out = NULL;
	*n = 0;
	_cleanup_close_ int dirfd = open_dir(st, false, err);
	if (dirfd == -ENOENT)
		return 0;
	if (dirfd < 0)
		return dirfd;
	int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return enc_err_sys(err, -errno, "cannot read %s/" ENC_AUTH_DIR, st->data_path);
	_cleanup_closedir_ DIR *d = fdopendir(dup_fd);
	if (!d) {
		r = -errno;
		close(dup_fd);
		return enc_err_sys(err, r, "cannot read %s/" ENC_AUTH_DIR, st->data_path);
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(ENC_AUTH_SUFFIX);
		char provider[ENC_NAME_MAX + 1];
		struct stat sb;

		if (len <= sl || len - sl > ENC_NAME_MAX ||
		    strcmp(de->d_name + len - sl, ENC_AUTH_SUFFIX) != 0)
			continue;
		memcpy(provider, de->d_name, len - sl);
		provider[len - sl] = '\0';
		if (!enc_name_valid(provider))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct enc_auth_entry *nv = reallocarray(v, nc, sizeof(*v));
			if (!nv) {
				free(v);
				return enc_err_set(err, -ENOMEM, "out of memory");
			}
			v = nv;
			cap = nc;
		}
		struct enc_auth_entry *e = &v[cnt++];
		memset(e, 0, sizeof(*e));
		snprintf(e->provider, sizeof(e->provider), "%s", provider);
		/* The date of the entry itself, even when it is a symlink. */
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			e->stored = (int64_t)sb.st_mtime;

		struct enc_err why = {};
		int fd = open_token(st, dirfd, provider, &sb, &why);
		if (fd >= 0) {
			char *tok = NULL;
			size_t tl = 0;
			if (read_token(st, fd, provider, &tok, &tl, &why) == 0)
				enc_auth_token_free(tok, tl);
			close(fd);
		}
		if (enc_err_isset(&why)) {
			e->state = why.code;
			snprintf(e->reason, sizeof(e->reason), "%s", why.msg);
		}
	}
	if (errno) {
		r = enc_err_sys(err, -errno, "cannot read %s/" ENC_AUTH_DIR, st->data_path);
		free(v);
		return r;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- the plan --------------------------------------------------------------- */

static bool strv_has(const struct enc_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static void strv_wipe_free(struct enc_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		explicit_bzero(sv->v[i], strlen(sv->v[i]));
	enc_strv_free(sv);
}

/* NAME=value, unless NAME is already set (then by the same provider's
 * token, so with the same value). */
static int plan_env(struct enc_auth_plan *p, const char *name, const char *value, size_t vlen)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < p->env.n; i++)
		if (strncmp(p->env.v[i], name, nl) == 0 && p->env.v[i][nl] == '=')
			return 0;
	char *kv = malloc(nl + 1 + vlen + 1);
	if (!kv)
		return -ENOMEM;
	memcpy(kv, name, nl);
	kv[nl] = '=';
	memcpy(kv + nl + 1, value, vlen);
	kv[nl + 1 + vlen] = '\0';
	int r = enc_strv_push(&p->env, kv);
	explicit_bzero(kv, nl + 1 + vlen);
	free(kv);
	return r;
}

static int plan_file(struct enc_auth_plan *p, const char *dir, const char *name,
		     const char *suffix, const char *data, size_t len)
{
	struct enc_auth_file *nf = reallocarray(p->files, p->nfiles + 1, sizeof(*nf));

	if (!nf)
		return -ENOMEM;
	p->files = nf;
	struct enc_auth_file *f = &p->files[p->nfiles];
	*f = (struct enc_auth_file){};
	if (asprintf(&f->path, "%s/%s%s", dir, name, suffix) < 0) {
		f->path = NULL;
		return -ENOMEM;
	}
	f->data = malloc(len + 1);
	if (!f->data) {
		free(f->path);
		return -ENOMEM;
	}
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	p->nfiles++;
	return 0;
}

/* Tokens looked up once per provider even when asked for twice
 * (auth = github and env_tokens = GH_TOKEN). */
struct token_cache {
	char provider[ENC_NAME_MAX + 1];
	char *token;		/* NULL: not stored */
	size_t len;
};

struct lookup {
	enc_auth_lookup_fn *fn;
	void *ctx;
	struct token_cache *c;
	size_t n;
};

static int lookup_token(struct lookup *l, const char *provider, struct token_cache **out,
			struct enc_err *err)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->c[i].provider, provider) == 0) {
			*out = &l->c[i];
			return 0;
		}
	struct token_cache *nc = reallocarray(l->c, l->n + 1, sizeof(*nc));
	if (!nc)
		return enc_err_set(err, -ENOMEM, "out of memory");
	l->c = nc;
	struct token_cache *c = &l->c[l->n];
	*c = (struct token_cache){};
	snprintf(c->provider, sizeof(c->provider), "%s", provider);
	struct enc_err sub = {};
	int r = l->fn(l->ctx, provider, &c->token, &c->len, &sub);
	if (r == -ENOENT) {
		c->token = NULL;
	} else if (r < 0) {
		if (err && !enc_err_isset(err))
			*err = sub;
		return r;
	}
	l->n++;
	*out = c;
	return 0;
}

static void lookup_free(struct lookup *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].token)
			enc_auth_token_free(l->c[i].token, l->c[i].len);
	free(l->c);
	l->c = NULL;
	l->n = 0;
}

ENC_PRINTF(2, 3)
static int plan_warn(struct enc_auth_plan *p, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	int r = enc_strv_push(&p->warnings, s);
	free(s);
	return r;
}

#define OOM(expr)                                                              \
	do {                                                                   \
		if ((expr) < 0) {                                              \
			r = enc_err_set(err, -ENOMEM, "out of memory");        \
			goto fail;                                             \
		}                                                              \
	} while (0)

int enc_auth_plan_make(const struct enc_strv *auth, const struct enc_strv *env_tokens,
		       enc_auth_lookup_fn *lookup, void *ctx, struct enc_auth_plan *plan,
		       struct enc_err *err)
{
	struct lookup l = { .fn = lookup, .ctx = ctx };
	struct token_cache *c;
	bool git = false;
	int r;

	*plan = (struct enc_auth_plan){};
	for (size_t i = 0; auth && i < auth->n; i++) {
		const char *p = auth->v[i];
		struct enc_err sub = {};

		if (enc_name_check(ENC_NAME_PROVIDER, p, &sub) < 0) {
			r = enc_err_set(err, -EINVAL, "auth: %s", sub.msg);
			goto fail;
		}
		if (strv_has(&plan->providers, p) || strv_has(&plan->missing, p))
			continue;
		r = lookup_token(&l, p, &c, err);
		if (r < 0)
			goto fail;
		if (!c->token) {
			OOM(enc_strv_push(&plan->missing, p));
			OOM(plan_warn(plan, "provider '%s' has no token (store one with 'enclave-auth "
				 "login %s'); starting without it", p, p));
			continue;
		}
		OOM(enc_strv_push(&plan->providers, p));
		OOM(plan_file(plan, "auth", p, ENC_AUTH_SUFFIX, c->token, c->len));
		for (const char *const *e = enc_auth_provider_env(p); *e; e++)
			OOM(plan_env(plan, *e, c->token, c->len));
		git = git || enc_auth_provider_git(p);
	}
	if (git) {
		/* git >= 2.31 reads configuration from the environment: the
		 * helper is scoped to https://github.com, so the token goes to
		 * no other host, and no prompt ever waits for a terminal. */
		static const char *const gitenv[][2] = {
			{ "GIT_TERMINAL_PROMPT", "0" },
			{ "GIT_CONFIG_COUNT", "1" },
			{ "GIT_CONFIG_KEY_0", GIT_HELPER_KEY },
			{ "GIT_CONFIG_VALUE_0", GIT_HELPER_VALUE },
		};
		for (size_t i = 0; i < ENC_ARRAY_SIZE(gitenv); i++)
			OOM(plan_env(plan, gitenv[i][0], gitenv[i][1], strlen(gitenv[i][1])));
	}
	for (size_t i = 0; env_tokens && i < env_tokens->n; i++) {
		const char *name = env_tokens->v[i];
		char prov[ENC_NAME_MAX + 1];

		r = enc_auth_env_provider(name, prov, err);
		if (r < 0)
			goto fail;
		if (strv_has(&plan->env_names, name) || strv_has(&plan->missing_env, name))
			continue;
		r = lookup_token(&l, prov, &c, err);
		if (r < 0)
			goto fail;
		if (!c->token) {
			OOM(enc_strv_push(&plan->missing_env, name));
			OOM(plan_warn(plan, "env token %s: provider '%s' has no token (store one "
				 "with 'enclave-auth login %s'); starting without it", name, prov,
				 prov));
			continue;
		}
		OOM(enc_strv_push(&plan->env_names, name));
		OOM(plan_env(plan, name, c->token, c->len));
		OOM(plan_file(plan, "env", name, "", c->token, c->len));
	}
	lookup_free(&l);
	return 0;
fail:
	lookup_free(&l);
	enc_auth_plan_free(plan);
	return r;
}

static int store_lookup(void *ctx, const char *provider, char **token, size_t *len,
			struct enc_err *err)
{
	return enc_auth_load(ctx, provider, token, len, err);
}

int enc_auth_plan_build(const struct enc_state *st, const struct enc_strv *auth,
			const struct enc_strv *env_tokens, struct enc_auth_plan *plan,
			struct enc_err *err)
{
	return enc_auth_plan_make(auth, env_tokens, store_lookup, (void *)st, plan, err);
}

bool enc_auth_plan_empty(const struct enc_auth_plan *p)
{
	return !p->env.n && !p->nfiles && !p->providers.n && !p->env_names.n && !p->missing.n &&
	       !p->missing_env.n;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int install_dir(const struct enc_auth_plan *plan, int rundir, const char *dir, uid_t uid,
		       gid_t gid, struct enc_err *err)
{
	size_t dl = strlen(dir);
	bool any = false;
	int r;

	for (size_t i = 0; i < plan->nfiles; i++)
		any = any || (strncmp(plan->files[i].path, dir, dl) == 0 &&
			      plan->files[i].path[dl] == '/');
	if (!any)
		return 0;
	/* /run/enclave is a fresh tmpfs directory: anything already there is
	 * wrong, and is refused rather than written through. */
	if (mkdirat(rundir, dir, 0700) < 0)
		return enc_err_sys(err, -errno, "cannot create " ENC_AUTH_RUN_DIR "/%s", dir);
	_cleanup_close_ int dfd = enc_opendir_at(rundir, dir, err);
	if (dfd < 0)
		return dfd;
	for (size_t i = 0; i < plan->nfiles; i++) {
		const struct enc_auth_file *f = &plan->files[i];
		if (strncmp(f->path, dir, dl) != 0 || f->path[dl] != '/')
			continue;
		_cleanup_close_ int fd = enc_openat(dfd, f->path + dl + 1,
						    O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0400, err);
		if (fd < 0)
			return fd;
		r = write_all(fd, f->data, f->len);
		if (r < 0)
			return enc_err_sys(err, r, "cannot write " ENC_AUTH_RUN_DIR "/%s", f->path);
		if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0400) < 0)
			return enc_err_sys(err, -errno, "cannot give " ENC_AUTH_RUN_DIR "/%s to uid %u",
					   f->path, (unsigned)uid);
	}
	/* Read and search for the workspace user only; no writes, so a
	 * token file is not replaced by accident. */
	if (fchown(dfd, uid, gid) < 0 || fchmod(dfd, 0500) < 0)
		return enc_err_sys(err, -errno, "cannot give " ENC_AUTH_RUN_DIR "/%s to uid %u", dir,
				   (unsigned)uid);
	return 0;
}

int enc_auth_plan_install(const struct enc_auth_plan *plan, int rundir, uid_t uid, gid_t gid,
			  struct enc_err *err)
{
	int r = install_dir(plan, rundir, "auth", uid, gid, err);

	if (r < 0)
		return r;
	return install_dir(plan, rundir, "env", uid, gid, err);
}

void enc_auth_plan_wipe(struct enc_auth_plan *p)
{
	strv_wipe_free(&p->env);
	for (size_t i = 0; i < p->nfiles; i++) {
		if (p->files[i].data) {
			explicit_bzero(p->files[i].data, p->files[i].len);
			free(p->files[i].data);
		}
		free(p->files[i].path);
	}
	free(p->files);
	p->files = NULL;
	p->nfiles = 0;
}

void enc_auth_plan_free(struct enc_auth_plan *p)
{
	enc_auth_plan_wipe(p);
	enc_strv_free(&p->providers);
	enc_strv_free(&p->env_names);
	enc_strv_free(&p->missing);
	enc_strv_free(&p->missing_env);
	enc_strv_free(&p->warnings);
}

int enc_auth_check(const struct enc_state *st, const struct enc_strv *auth,
		   const struct enc_strv *env_tokens, struct enc_strv *warnings,
		   struct enc_err *err)
{
	struct enc_auth_plan p;
	int r = enc_auth_plan_build(st, auth, env_tokens, &p, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p.warnings.n && r == 0; i++)
		if (enc_strv_push(warnings, p.warnings.v[i]) < 0)
			r = enc_err_set(err, -ENOMEM, "out of memory");
	enc_auth_plan_free(&p);
	return r;
}
