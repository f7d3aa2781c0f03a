/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.c - recipes, generation ids and the sandbox store (sandbox.h).
 *
 * The first half is pure (recipes, names, ids) and unit-tested without
 * privileges; the second half is the store, walked fd-relative beneath the
 * state root with fsutil.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hash.h"
#include "names.h"
#include "parse.h"
#include "rootfs.h"
#include "runtime.h"
#include "sandbox.h"
#include "sandbox-internal.h"
#include "unpriv.h"

/* ---- recipes (pure) ------------------------------------------------------ */

void enc_recipe_free(struct enc_recipe *r)
{
	if (!r)
		return;
	free(r->suite);
	free(r->mirror);
	free(r->variant);
	enc_strv_free(&r->include);
	enc_strv_free(&r->components);
	free(r->source);
	free(r->fingerprint);
	enc_strv_free(&r->setup);
	*r = (struct enc_recipe){ 0 };
}

static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c)
{
	return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z');
}

/* first: [a-z0-9]; rest: [a-z0-9] or one of `extra`; 1..max bytes. Plain
 * ASCII comparisons so the locale cannot widen the set. */
static bool word_ok(const char *s, const char *extra, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (n == 0 || n > max || !(is_lower(s[0]) || is_digit(s[0])))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

static bool suite_ok(const char *s) { return word_ok(s, "._-", 64); }
static bool component_ok(const char *s) { return word_ok(s, "-", 64); }
static bool package_ok(const char *s) { return word_ok(s, "+.:-", 128); }

static bool variant_ok(const char *s)
{
	size_t n = s ? strnlen(s, 33) : 0;

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* No control characters, no spaces: the value becomes one argv word and
 * one line of a file. */
static bool printable_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static bool mirror_ok(const char *s)
{
	size_t n = strnlen(s, 1025);

	if (n > 1024 || !printable_word(s))
		return false;
	if (strncmp(s, "http://", 7) == 0)
		return n > 7 && s[7] != '/';
	if (strncmp(s, "https://", 8) == 0)
		return n > 8 && s[8] != '/';
	if (strncmp(s, "file:///", 8) == 0)
		return true;
	return false;
}

static bool hex_ok(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static bool line_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' || s[i] == '\r')
			return false;
	return true;
}

int enc_sandbox_name_check(const char *name, struct enc_err *err)
{
	int r = enc_name_check(ENC_NAME_SANDBOX, name, err);

	if (r < 0)
		return r;
	if (strcmp(name, ENC_SANDBOX_CACHE_DIR) == 0)
		return enc_err_set(err, -EINVAL,
				   "sandbox name '%s' is reserved (it holds the cached root file systems)",
				   name);
	return 0;
}

int enc_recipe_split_list(const char *s, const char *kind, struct enc_strv *out,
			  struct enc_err *err)
{
	bool pkg = strcmp(kind, "package") == 0;
	char q[ENC_QUOTE_BUF];
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ", \t");
		char word[160];

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(word))
			return enc_err_set(err, -EINVAL, "%s name '%s' is too long", kind,
					   enc_quote_mem(q, p, n));
		memcpy(word, p, n);
		word[n] = '\0';
		if (pkg ? !package_ok(word) : !component_ok(word))
			return enc_err_set(err, -EINVAL, "bad %s name '%s' (expected %s)", kind,
					   enc_quote(q, word),
					   pkg ? "[a-z0-9][a-z0-9+.:-]*" : "[a-z0-9][a-z0-9-]*");
		if (enc_strv_push(out, word) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
		p += n;
	}
	return 0;
}

static int set_default(char **field, const char *value)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

bool enc_sandbox_debian_method(enum enc_bootstrap_method m)
{
	return m == ENC_BOOTSTRAP_DEBOOTSTRAP || m == ENC_BOOTSTRAP_MMDEBSTRAP;
}

int enc_recipe_finish(struct enc_recipe *r, struct enc_err *err)
{
	const char *m = enc_bootstrap_method_str(r->method);
	char q[ENC_QUOTE_BUF];

	if (!m)
		return enc_err_set(err, -EINVAL, "unknown bootstrap method %d", (int)r->method);

	if (enc_sandbox_debian_method(r->method)) {
		if (r->source)
			return enc_err_set(err, -EINVAL, "the %s method takes no source", m);
		if (r->fingerprint)
			return enc_err_set(err, -EINVAL, "the %s method takes no fingerprint", m);
		if (set_default(&r->suite, ENC_DEFAULT_SUITE) < 0 ||
		    set_default(&r->mirror, ENC_DEFAULT_MIRROR) < 0 ||
		    set_default(&r->variant, ENC_DEFAULT_VARIANT) < 0 ||
		    (r->components.n == 0 &&
		     enc_strv_push(&r->components, ENC_DEFAULT_COMPONENTS) < 0))
			return enc_err_set(err, -ENOMEM, "out of memory");
	} else {
		const char *which = r->mirror ? "mirror" : r->variant ? "variant" :
				    r->include.n ? "include" : r->components.n ? "components" : NULL;

		if (which)
			return enc_err_set(err, -EINVAL,
					   "%s is used only by the debootstrap and mmdebstrap methods, not by %s",
					   which, m);
	}
	if (r->method == ENC_BOOTSTRAP_CACHED_ROOTFS) {
		if (set_default(&r->suite, ENC_DEFAULT_SUITE) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
		if (r->source && strncmp(r->source, ENC_SANDBOX_CACHE_DIR "/",
					 sizeof(ENC_SANDBOX_CACHE_DIR)) != 0)
			return enc_err_set(err, -EINVAL, "the cached_rootfs method takes no source "
					   "(it reads %s/<suite> or %s/base)",
					   ENC_SANDBOX_CACHE_DIR, ENC_SANDBOX_CACHE_DIR);
	}
	if (r->method == ENC_BOOTSTRAP_DIR || r->method == ENC_BOOTSTRAP_TAR) {
		if (!r->source)
			return enc_err_set(err, -EINVAL, "the %s method needs a source %s", m,
					   r->method == ENC_BOOTSTRAP_TAR ? "file" : "directory");
		if (r->source[0] != '/')
			return enc_err_set(err, -EINVAL, "source '%s' is not an absolute path",
					   enc_quote(q, r->source));
	}

	if (r->suite && !suite_ok(r->suite))
		return enc_err_set(err, -EINVAL, "bad suite '%s' (expected [a-z0-9][a-z0-9._-]*)",
				   enc_quote(q, r->suite));
	if (r->mirror && !mirror_ok(r->mirror))
		return enc_err_set(err, -EINVAL,
				   "bad mirror '%s' (expected an http://, https:// or file:/// URL)",
				   enc_quote(q, r->mirror));
	if (r->variant && !variant_ok(r->variant))
		return enc_err_set(err, -EINVAL, "bad variant '%s' (expected [a-z-]+)",
				   enc_quote(q, r->variant));
	for (size_t i = 0; i < r->include.n; i++)
		if (!package_ok(r->include.v[i]))
			return enc_err_set(err, -EINVAL, "bad package name '%s'",
					   enc_quote(q, r->include.v[i]));
	for (size_t i = 0; i < r->components.n; i++)
		if (!component_ok(r->components.v[i]))
			return enc_err_set(err, -EINVAL, "bad component name '%s'",
					   enc_quote(q, r->components.v[i]));
	if (r->source && (!line_ok(r->source, 4096) || !printable_word(r->source)))
		return enc_err_set(err, -EINVAL,
				   "source '%s' must not contain spaces or control characters",
				   enc_quote(q, r->source));
	if (r->fingerprint && !hex_ok(r->fingerprint, 2 * ENC_SHA256_LEN))
		return enc_err_set(err, -EINVAL, "bad fingerprint '%s'", enc_quote(q, r->fingerprint));
	for (size_t i = 0; i < r->setup.n; i++)
		if (!line_ok(r->setup.v[i], 4096))
			return enc_err_set(err, -EINVAL,
					   "setup command %zu is empty, too long or spans lines", i + 1);
	return 0;
}

static void hash_strv(struct enc_sha256 *h, const struct enc_strv *sv)
{
	char n[24];

	snprintf(n, sizeof(n), "%zu", sv->n);
	enc_sha256_field(h, n);
	for (size_t i = 0; i < sv->n; i++)
		enc_sha256_field(h, sv->v[i]);
}

int enc_recipe_gen_id(const struct enc_recipe *r, char id[ENC_GEN_ID_SIZE])
{
	struct enc_sha256 *h = enc_sha256_new();
	char hex[ENC_SHA256_HEX];

	if (!h)
		return -ENOMEM;
	/* Bump the tag if the meaning of a field ever changes, so an old
	 * generation is never mistaken for a new recipe's. */
	enc_sha256_field(h, "enclave-sandbox-recipe/1");
	enc_sha256_field(h, enc_bootstrap_method_str(r->method));
	enc_sha256_field(h, r->suite);
	enc_sha256_field(h, r->mirror);
	enc_sha256_field(h, r->variant);
	hash_strv(h, &r->include);
	hash_strv(h, &r->components);
	enc_sha256_field(h, r->source);
	enc_sha256_field(h, r->fingerprint);
	hash_strv(h, &r->setup);
	if (enc_sha256_final_hex(h, hex) < 0)
		return -ENOMEM;
	memcpy(id, hex, ENC_GEN_ID_LEN);
	id[ENC_GEN_ID_LEN] = '\0';
	return 0;
}

int enc_recipe_base_id(const struct enc_recipe *r, char id[ENC_GEN_ID_SIZE])
{
	struct enc_recipe base = *r;

	base.setup = (struct enc_strv){ 0 };
	return enc_recipe_gen_id(&base, id);
}

static void put_list(FILE *f, const char *key, const struct enc_strv *sv)
{
	if (!sv->n)
		return;
	fprintf(f, "%s=", key);
	for (size_t i = 0; i < sv->n; i++)
		fprintf(f, "%s%s", i ? "," : "", sv->v[i]);
	fputc('\n', f);
}

char *enc_recipe_format(const struct enc_recipe *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# enclave-bootstrap recipe: written by enclave-bootstrap, see enclave-bootstrap(1)\n");
	fprintf(f, "method=%s\n", enc_bootstrap_method_str(r->method));
	if (r->suite)
		fprintf(f, "suite=%s\n", r->suite);
	if (r->mirror)
		fprintf(f, "mirror=%s\n", r->mirror);
	if (r->variant)
		fprintf(f, "variant=%s\n", r->variant);
	put_list(f, "include", &r->include);
	put_list(f, "components", &r->components);
	if (r->source)
		fprintf(f, "source=%s\n", r->source);
	if (r->fingerprint)
		fprintf(f, "fingerprint=%s\n", r->fingerprint);
	for (size_t i = 0; i < r->setup.n; i++)
		fprintf(f, "setup=%s\n", r->setup.v[i]);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int parse_line(struct enc_recipe *r, const char *key, const char *val,
		      unsigned *seen, const char *what, unsigned line, struct enc_err *err)
{
	static const char *const keys[] = {
		"method", "suite", "mirror", "variant", "include",
		"components", "source", "fingerprint", "setup",
	};
	char q[ENC_QUOTE_BUF];
	size_t k;

	for (k = 0; k < ENC_ARRAY_SIZE(keys); k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == ENC_ARRAY_SIZE(keys))
		return enc_err_set(err, -EINVAL, "%s:%u: unknown key '%s'", what, line,
				   enc_quote(q, key));
	if (k != 8) {	/* setup repeats, the others do not */
		if (*seen & (1u << k))
			return enc_err_set(err, -EINVAL, "%s:%u: '%s' given twice", what, line, key);
		*seen |= 1u << k;
	}

	char **field = NULL;
	switch (k) {
	case 0:
		if (enc_bootstrap_method_parse(val, &r->method) < 0)
			return enc_err_set(err, -EINVAL, "%s:%u: unknown method '%s'", what, line,
					   enc_quote(q, val));
		return 0;
	case 1: field = &r->suite; break;
	case 2: field = &r->mirror; break;
	case 3: field = &r->variant; break;
	case 6: field = &r->source; break;
	case 7: field = &r->fingerprint; break;
	case 4:
	case 5: {
		struct enc_err lerr = { 0 };

		if (enc_recipe_split_list(val, k == 4 ? "package" : "component",
					  k == 4 ? &r->include : &r->components, &lerr) < 0)
			return enc_err_set(err, -EINVAL, "%s:%u: %s", what, line, lerr.msg);
		return 0;
	}
	default:
		if (enc_strv_push(&r->setup, val) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
		return 0;
	}
	*field = strdup(val);
	return *field ? 0 : enc_err_set(err, -ENOMEM, "out of memory");
}

int enc_recipe_parse(const char *text, const char *what, struct enc_recipe *out,
		     struct enc_err *err)
{
	struct enc_recipe r = { 0 };
	unsigned seen = 0, line = 0;
	const char *p = text;
	int ret;

	while (*p) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *l = strndup(p, n);
		char *eq;

		line++;
		p += n;
		if (*p == '\n')
			p++;
		if (!l) {
			ret = enc_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		if (l[0] == '\0' || l[0] == '#')
			continue;
		eq = strchr(l, '=');
		if (!eq || eq == l) {
			ret = enc_err_set(err, -EINVAL, "%s:%u: expected key=value", what, line);
			goto fail;
		}
		*eq = '\0';
		ret = parse_line(&r, l, eq + 1, &seen, what, line, err);
		if (ret < 0)
			goto fail;
	}
	if (!(seen & 1)) {
		ret = enc_err_set(err, -EINVAL, "%s: no method", what);
		goto fail;
	}
	ret = enc_recipe_finish(&r, err);
	if (ret < 0) {
		enc_err_prefix(err, "%s: ", what);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	enc_recipe_free(&r);
	return ret;
}

int enc_tmp_entry_owner(const char *entry, char *name, size_t size)
{
	size_t n = strlen(entry);

	if (n < 8 || entry[n - 7] != '.')
		return -EINVAL;
	for (size_t i = n - 6; i < n; i++)
		if (!is_alnum(entry[i]))
			return -EINVAL;
	if (n - 7 >= size)
		return -EINVAL;
	memcpy(name, entry, n - 7);
	name[n - 7] = '\0';
	return enc_name_valid(name) ? 0 : -EINVAL;
}

void enc_time_iso(time_t t, char buf[ENC_TIME_ISO_SIZE])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, ENC_TIME_ISO_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

/* readdir over a dup of fd: a dup shares the file offset with fd, which an
 * earlier walk may have left at the end, so rewind. */
static DIR *dir_dup(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *dir;

	if (d < 0)
		return NULL;
	dir = fdopendir(d);
	if (!dir) {
		int e = errno;

		close(d);
		errno = e;
		return NULL;
	}
	rewinddir(dir);
	return dir;
}

/* ---- the store ------------------------------------------------------------ */

static int store_lock(const struct enc_store *s, struct enc_err *err)
{
	return enc_lock_at(s->fd, ".lock", ENC_LOCK_EXCLUSIVE, true, err);
}

static void random_suffix(char out[7])
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* Uniqueness, not secrecy: mkdirat's EEXIST retries cover
		 * collisions, so a weak fallback is harmless. */
		uint64_t x = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL);

		for (size_t i = 0; i < sizeof(rnd); i++, x >>= 8)
			rnd[i] = (unsigned char)x;
	}
	for (int i = 0; i < 6; i++)
		out[i] = set[rnd[i] % (sizeof(set) - 1)];
	out[6] = '\0';
}

/* Make .tmp/<prefix>.XXXXXX with its lock held. Caller holds the store
 * lock, so a sweeper never sees the directory before its lock is held. */
static int make_tmp(const struct enc_store *s, const char *prefix, char *name, size_t size,
		    int *dir_fd, int *lock_fd, struct enc_err *err)
{
	for (int tries = 0; tries < 100; tries++) {
		char sfx[7];

		random_suffix(sfx);
		if ((size_t)snprintf(name, size, "%s.%s", prefix, sfx) >= size)
			return enc_err_set(err, -ENAMETOOLONG, "temporary name too long");
		if (mkdirat(s->tmp_fd, name, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return enc_err_sys(err, -errno, "cannot create %s/.tmp/%s", s->path, name);
		}
		_cleanup_close_ int fd = enc_opendir_at(s->tmp_fd, name, err);
		if (fd < 0)
			return fd;
		int lfd = enc_lock_at(fd, "lock", ENC_LOCK_EXCLUSIVE, false, err);
		if (lfd < 0) {
			enc_rm_rf_at(s->tmp_fd, name, NULL);
			return lfd;
		}
		*dir_fd = steal_fd(&fd);
		*lock_fd = lfd;
		return 0;
	}
	return enc_err_set(err, -EEXIST, "cannot find a free temporary name in %s/.tmp", s->path);
}

/* Move dirfd/entry out of the way into a fresh .tmp/.rm.XXXXXX (held), so
 * it vanishes from its place in one rename. Caller holds the store lock. */
static int claim_for_removal(const struct enc_store *s, int dirfd, const char *entry,
			     char *rmname, size_t size, int *lock_fd, struct enc_err *err)
{
	_cleanup_close_ int rfd = -1;
	int lfd = -1, r;

	r = make_tmp(s, ".rm", rmname, size, &rfd, &lfd, err);
	if (r < 0)
		return r;
	if (renameat(dirfd, entry, rfd, "victim") < 0) {
		r = enc_err_sys(err, -errno, "cannot move %s out of the way", entry);
		enc_rm_rf_at(s->tmp_fd, rmname, NULL);
		close(lfd);
		return r;
	}
	*lock_fd = lfd;
	return 0;
}

struct claim {
	char name[ENC_NAME_MAX + 16];
	int lock_fd;
};

struct claims {
	struct claim *v;
	size_t n, cap;
};

static int claims_add(struct claims *c, const char *name, int lock_fd)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct claim *p = reallocarray(c->v, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->v = p;
		c->cap = cap;
	}
	snprintf(c->v[c->n].name, sizeof(c->v[c->n].name), "%s", name);
	c->v[c->n].lock_fd = lock_fd;
	c->n++;
	return 0;
}

/* Delete what was claimed (outside the store lock) and release it. */
static int claims_finish(const struct enc_store *s, struct claims *c, struct enc_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < c->n; i++) {
		int r = enc_unpriv_rm_rf_at(s->tmp_fd, c->v[i].name, enc_err_isset(err) ? NULL : err);

		if (r < 0 && !ret)
			ret = r;
		close(c->v[i].lock_fd);
	}
	free(c->v);
	*c = (struct claims){ 0 };
	return ret;
}

/* Sweep temp dirs whose owner is gone: claim them under the store lock
 * (take their lock; rename a dead build out of its <name>.XXXXXX so it no
 * longer reads as a build of <name>), delete them after releasing it. */
static int sweep(const struct enc_store *s, struct enc_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_closedir_ DIR *d = NULL;
	struct claims c = { 0 };
	struct dirent *de;
	int ret = 0;

	lock = store_lock(s, err);
	if (lock < 0)
		return lock;
	d = dir_dup(s->tmp_fd);
	if (!d)
		return enc_err_sys(err, -errno, "cannot read %s/.tmp", s->path);
	while ((de = readdir(d))) {
		char lockpath[ENC_NAME_MAX + 32], owner[ENC_NAME_MAX + 1];
		struct stat st;
		int lfd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strlen(de->d_name) > ENC_NAME_MAX + 10)
			continue;
		if (fstatat(s->tmp_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			unlinkat(s->tmp_fd, de->d_name, 0);
			continue;
		}
		snprintf(lockpath, sizeof(lockpath), "%s/lock", de->d_name);
		lfd = enc_lock_open(s->tmp_fd, lockpath, NULL);
		if (lfd < 0)
			continue;
		if (enc_lock_take(lfd, ENC_LOCK_EXCLUSIVE, false, NULL) < 0) {
			close(lfd);	/* alive (or unlockable): not ours */
			continue;
		}
		if (enc_tmp_entry_owner(de->d_name, owner, sizeof(owner)) == 0) {
			char rmname[ENC_NAME_MAX + 16];
			int rlock = -1;

			if (claim_for_removal(s, s->tmp_fd, de->d_name, rmname, sizeof(rmname),
					      &rlock, ret ? NULL : err) < 0) {
				close(lfd);
				ret = ret ? ret : -EIO;
				continue;
			}
			close(lfd);
			if (claims_add(&c, rmname, rlock) < 0)
				close(rlock);
		} else if (claims_add(&c, de->d_name, lfd) < 0) {
			close(lfd);
		}
	}
	close(steal_fd(&lock));
	int r = claims_finish(s, &c, ret ? NULL : err);
	return ret ? ret : r;
}

int enc_store_open(struct enc_store *s, const struct enc_state *st,
		   struct enc_err *sweep_err, struct enc_err *err)
{
	int r;

	*s = (struct enc_store)ENC_STORE_INIT;
	s->data_fd = st->data_fd;
	s->fd = enc_state_subdir(st, "sandboxes", true, err);
	if (s->fd < 0)
		return s->fd;
	if (asprintf(&s->path, "%s/sandboxes", st->data_path) < 0) {
		s->path = NULL;
		enc_store_close(s);
		return enc_err_set(err, -ENOMEM, "out of memory");
	}
	s->tmp_fd = enc_mkdir_p_at(s->fd, ".tmp", 0700, err);
	if (s->tmp_fd < 0) {
		r = s->tmp_fd;
		enc_store_close(s);
		return r;
	}
	sweep(s, sweep_err);
	return 0;
}

void enc_store_close(struct enc_store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	free(s->path);
	*s = (struct enc_store)ENC_STORE_INIT;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_current(int sfd, char id[ENC_GEN_ID_SIZE], struct enc_err *err)
{
	_cleanup_free_ char *buf = NULL;
	int r = enc_fact_read(sfd, "current", 64, true, &buf, NULL, err);

	if (r < 0)
		return r;
	if (!enc_gen_id_valid(buf))
		return enc_err_set(err, -EINVAL, "bad generation id in 'current'");
	memcpy(id, buf, ENC_GEN_ID_SIZE);
	return 0;
}

int enc_store_names(const struct enc_store *s, struct enc_strv *out, struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	d = dir_dup(s->fd);
	if (!d)
		return enc_err_sys(err, -errno, "cannot read %s", s->path);
	while ((de = readdir(d))) {
		struct stat st;

		if (!enc_name_valid(de->d_name) || strcmp(de->d_name, ENC_SANDBOX_CACHE_DIR) == 0)
			continue;
		_cleanup_close_ int sfd = enc_opendir_at(s->fd, de->d_name, NULL);
		if (sfd < 0 || fstatat(sfd, "current", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (enc_strv_push(out, de->d_name) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(char *), cmp_str);
	return 0;
}

void enc_ws_uses_free(struct enc_ws_use *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(u[i].ws);
	free(u);
}

static int cmp_use(const void *a, const void *b)
{
	return strcmp(((const struct enc_ws_use *)a)->ws, ((const struct enc_ws_use *)b)->ws);
}

int enc_sandbox_users(const struct enc_store *s, const char *name,
		      struct enc_ws_use **out, size_t *n, struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct enc_ws_use *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	char path[ENC_NAME_MAX + 16];
	int fd;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "workspaces/%s", name);
	fd = enc_opendir_at(s->data_fd, path, NULL);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return enc_err_sys(err, fd, "cannot read the workspaces of sandbox '%s'", name);
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;

		close(fd);
		return enc_err_sys(err, r, "cannot read the workspaces of sandbox '%s'", name);
	}
	while ((de = readdir(d))) {
		char p[ENC_NAME_MAX + 16];
		_cleanup_free_ char *gen = NULL;

		if (strlen(de->d_name) > ENC_NAME_MAX)
			continue;
		struct stat st;

		if (!enc_name_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct enc_ws_use *nv = reallocarray(v, ncap, sizeof(*nv));

			if (!nv) {
				enc_ws_uses_free(v, cnt);
				return enc_err_set(err, -ENOMEM, "out of memory");
			}
			v = nv;
			cap = ncap;
		}
		struct enc_ws_use *u = &v[cnt];
		*u = (struct enc_ws_use){ .ws = strdup(de->d_name) };
		if (!u->ws) {
			enc_ws_uses_free(v, cnt);
			return enc_err_set(err, -ENOMEM, "out of memory");
		}
		cnt++;
		snprintf(p, sizeof(p), "%s/generation", de->d_name);
		if (enc_fact_read(dirfd(d), p, 64, true, &gen, NULL, NULL) == 0 &&
		    enc_gen_id_valid(gen))
			memcpy(u->gen, gen, ENC_GEN_ID_SIZE);
		snprintf(p, sizeof(p), "%s/lock", de->d_name);
		u->running = enc_lock_held(dirfd(d), p, NULL) == 1;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_use);
	*out = v;
	*n = cnt;
	return 0;
}

/* The generation ids present in <sandbox>/gen. */
static int list_gens(int sfd, struct enc_strv *out, struct enc_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = enc_opendir_at(sfd, "gen", NULL);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		int r = fd < 0 ? fd : -errno;

		if (fd >= 0)
			close(fd);
		return enc_err_sys(err, r, "cannot read the generations");
	}
	while ((de = readdir(d)))
		if (enc_gen_id_valid(de->d_name) && enc_strv_push(out, de->d_name) < 0)
			return enc_err_set(err, -ENOMEM, "out of memory");
	if (out->n)
		qsort(out->v, out->n, sizeof(char *), cmp_str);
	return 0;
}

static void gen_read_info(int sfd, struct enc_gen *g)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];

	snprintf(path, sizeof(path), "gen/%s/info", g->id);
	if (enc_fact_read(sfd, path, 4096, false, &buf, NULL, NULL) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		if (strcmp(l, "created") == 0 && strlen(eq) < ENC_TIME_ISO_SIZE)
			strcpy(g->created, eq);
		else if (strcmp(l, "method") == 0 && !g->method)
			g->method = strdup(eq);
		else if (strcmp(l, "adopt") == 0 && !g->adopt)
			g->adopt = strdup(eq);
		else if (strcmp(l, "size") == 0)
			enc_parse_u64(eq, 0, UINT64_MAX, &g->size, NULL);
	}
}

static int cmp_gen(const void *a, const void *b)
{
	const struct enc_gen *x = a, *y = b;
	int c;

	if (x->current != y->current)
		return x->current ? -1 : 1;
	c = strcmp(y->created, x->created);	/* newest first */
	return c ? c : strcmp(x->id, y->id);
}

void enc_sandbox_free(struct enc_sandbox *sb)
{
	free(sb->name);
	enc_recipe_free(&sb->recipe);
	for (size_t i = 0; i < sb->ngens; i++) {
		free(sb->gens[i].method);
		free(sb->gens[i].adopt);
		enc_strv_free(&sb->gens[i].used_by);
	}
	free(sb->gens);
	enc_ws_uses_free(sb->users, sb->nusers);
	free(sb->rootfs);
	*sb = (struct enc_sandbox){ 0 };
}

static int read_recipe(int sfd, const char *path, struct enc_recipe *r, struct enc_err *err)
{
	_cleanup_free_ char *buf = NULL;
	int ret = enc_fact_read(sfd, path, ENC_RECIPE_MAX, false, &buf, NULL, err);

	if (ret < 0)
		return ret;
	return enc_recipe_parse(buf, path, r, err);
}

int enc_sandbox_open_dir(const struct enc_store *s, const char *name, struct enc_err *err)
{
	int r = enc_sandbox_name_check(name, err);

	if (r < 0)
		return r;
	r = enc_opendir_at(s->fd, name, NULL);
	if (r == -ENOENT)
		return enc_err_set(err, -ENOENT, "no sandbox named '%s'", name);
	if (r < 0)
		return enc_err_sys(err, r, "cannot open sandbox '%s'", name);
	return r;
}

int enc_sandbox_load(const struct enc_store *s, const char *name,
		     struct enc_sandbox *out, struct enc_err *err)
{
	struct enc_sandbox sb = { 0 };
	struct enc_strv ids = { 0 };
	_cleanup_close_ int sfd = -1;
	char path[64];
	int r;

	sfd = enc_sandbox_open_dir(s, name, err);
	if (sfd < 0)
		return sfd;
	sb.name = strdup(name);
	if (!sb.name) {
		r = enc_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = read_current(sfd, sb.current, NULL);
	if (r < 0) {
		r = enc_err_set(err, -ENOENT, "sandbox '%s' has no current generation "
				"(an interrupted operation? 'rm --force' removes it)", name);
		goto fail;
	}
	snprintf(path, sizeof(path), "gen/%s/recipe", sb.current);
	r = read_recipe(sfd, path, &sb.recipe, NULL);
	if (r < 0)
		r = read_recipe(sfd, "sandbox.conf", &sb.recipe, err);
	if (r < 0) {
		enc_err_prefix(err, "sandbox '%s': ", name);
		goto fail;
	}
	r = list_gens(sfd, &ids, err);
	if (r < 0)
		goto fail;
	r = enc_sandbox_users(s, name, &sb.users, &sb.nusers, err);
	if (r < 0)
		goto fail;
	sb.gens = calloc(ids.n ? ids.n : 1, sizeof(*sb.gens));
	if (!sb.gens) {
		r = enc_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ids.n; i++) {
		struct enc_gen *g = &sb.gens[sb.ngens++];

		memcpy(g->id, ids.v[i], ENC_GEN_ID_SIZE);
		g->current = strcmp(g->id, sb.current) == 0;
		gen_read_info(sfd, g);
		for (size_t k = 0; k < sb.nusers; k++)
			if (strcmp(sb.users[k].gen, g->id) == 0 &&
			    enc_strv_push(&g->used_by, sb.users[k].ws) < 0) {
				r = enc_err_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
	}
	if (sb.ngens)
		qsort(sb.gens, sb.ngens, sizeof(*sb.gens), cmp_gen);
	if (asprintf(&sb.rootfs, "%s/%s/gen/%s/rootfs", s->path, name, sb.current) < 0) {
		sb.rootfs = NULL;
		r = enc_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	enc_strv_free(&ids);
	*out = sb;
	return 0;
fail:
	enc_strv_free(&ids);
	enc_sandbox_free(&sb);
	return r;
}

/* ---- create ---------------------------------------------------------------- */

/* Is a build of `name` in progress (a live .tmp/<name>.XXXXXX)? Caller
 * holds the store lock. */
static bool build_in_progress(const struct enc_store *s, const char *name)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	d = dir_dup(s->tmp_fd);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		char owner[ENC_NAME_MAX + 1], lockpath[ENC_NAME_MAX + 32];

		if (strlen(de->d_name) > ENC_NAME_MAX + 10)
			continue;
		if (enc_tmp_entry_owner(de->d_name, owner, sizeof(owner)) < 0 ||
		    strcmp(owner, name) != 0)
			continue;
		snprintf(lockpath, sizeof(lockpath), "%s/lock", de->d_name);
		if (enc_lock_held(s->tmp_fd, lockpath, NULL) == 1)
			return true;
	}
	return false;
}

/* Write sandbox.conf and then current: current is the commit point. */
static int publish_current(int sfd, const struct enc_recipe *r, const char *gen,
			   struct enc_err *err)
{
	_cleanup_free_ char *text = enc_recipe_format(r);
	int ret;

	if (!text)
		return enc_err_set(err, -ENOMEM, "out of memory");
	ret = enc_fact_write(sfd, "sandbox.conf", text, strlen(text), 0600, true, err);
	if (ret < 0)
		return ret;
	return enc_fact_printf(sfd, "current", 0600, true, err, "%s\n", gen);
}

static int prepare_tmp_dirs(const struct enc_store *s, struct enc_build *b, struct enc_err *err)
{
	_cleanup_close_ int gfd = -1;
	char sub[64];
	int r;

	r = make_tmp(s, b->name, b->tmpname, sizeof(b->tmpname), &b->tmp_fd, &b->lock_fd, err);
	if (r < 0)
		return r;
	snprintf(sub, sizeof(sub), "gen/%s", b->gen);
	gfd = enc_mkdir_p_at(b->tmp_fd, sub, 0700, err);
	if (gfd < 0)
		return gfd;
	/* The rootfs itself is 0755 and root's, as debootstrap leaves it:
	 * it becomes "/" of every workspace. */
	if (mkdirat(gfd, "rootfs", 0755) < 0)
		return enc_err_sys(err, -errno, "cannot create the rootfs directory");
	b->rootfs_fd = enc_opendir_at(gfd, "rootfs", err);
	if (b->rootfs_fd < 0)
		return b->rootfs_fd;
	if (fchmod(b->rootfs_fd, 0755) < 0)
		return enc_err_sys(err, -errno, "cannot set the mode of the rootfs directory");
	if (asprintf(&b->tmp_path, "%s/.tmp/%s", s->path, b->tmpname) < 0 ||
	    asprintf(&b->rootfs_path, "%s/gen/%s/rootfs", b->tmp_path, b->gen) < 0)
		return enc_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* The temp dir of a build; on failure nothing of it is left. */
static int prepare_tmp(const struct enc_store *s, struct enc_build *b, struct enc_err *err)
{
	int r = prepare_tmp_dirs(s, b, err);

	if (r < 0)
		enc_build_abort(s, b, NULL);
	return r;
}

int enc_build_begin(const struct enc_store *s, const char *name,
		    const struct enc_recipe *r, bool update, struct enc_build *b,
		    enum enc_create_result *res, struct enc_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int sfd = -1;
	struct stat st;
	int ret;

	*b = (struct enc_build)ENC_BUILD_INIT;
	ret = enc_sandbox_name_check(name, err);
	if (ret < 0)
		return ret;
	if ((r->method == ENC_BOOTSTRAP_DIR || r->method == ENC_BOOTSTRAP_TAR ||
	     r->method == ENC_BOOTSTRAP_CACHED_ROOTFS) && (!r->fingerprint || !r->source))
		return enc_err_set(err, -EINVAL, "the recipe lacks the source's fingerprint");
	b->name = strdup(name);
	if (!b->name)
		return enc_err_set(err, -ENOMEM, "out of memory");
	ret = enc_recipe_gen_id(r, b->gen);
	if (ret < 0)
		return enc_err_set(err, ret, "out of memory");

	lock = store_lock(s, err);
	if (lock < 0)
		return lock;

	if (fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return enc_err_sys(err, -errno, "cannot look up sandbox '%s'", name);
		if (build_in_progress(s, name))
			return enc_err_set(err, -EBUSY,
					   "sandbox '%s' is being created by another process", name);
		b->new_sandbox = true;
		*res = ENC_CREATE_BUILD;
		return prepare_tmp(s, b, err);
	}

	sfd = enc_opendir_at(s->fd, name, err);
	if (sfd < 0)
		return sfd;
	if (read_current(sfd, b->old_gen, NULL) < 0)
		return enc_err_set(err, -EEXIST,
				   "sandbox '%s' exists but has no current generation "
				   "(an interrupted operation? 'rm --force %s' removes it)", name, name);
	if (strcmp(b->old_gen, b->gen) == 0) {
		*res = ENC_CREATE_UNCHANGED;
		return 0;
	}
	if (!update)
		return enc_err_set(err, -EEXIST,
				   "sandbox '%s' already exists with a different recipe "
				   "(generation %s, this one would be %s); use --update to build "
				   "a new generation", name, b->old_gen, b->gen);
	if (build_in_progress(s, name))
		return enc_err_set(err, -EBUSY, "sandbox '%s' is being updated by another process",
				   name);

	char genpath[64];
	snprintf(genpath, sizeof(genpath), "gen/%s", b->gen);
	if (fstatat(sfd, genpath, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		/* Built before (an older recipe again): just switch. */
		_cleanup_close_ int slock = enc_lock_at(sfd, "lock", ENC_LOCK_EXCLUSIVE, true, err);

		if (slock < 0)
			return slock;
		ret = publish_current(sfd, r, b->gen, err);
		if (ret < 0)
			return ret;
		*res = ENC_CREATE_SWITCHED;
		return 0;
	}
	*res = ENC_CREATE_BUILD;
	return prepare_tmp(s, b, err);
}

/* A generation's recipe and info files. */
int enc_sandbox_write_gen_files(int gfd, const struct enc_recipe *r, const char *text,
			   uint64_t size, const char *extra_info, bool sync, struct enc_err *err)
{
	char created[ENC_TIME_ISO_SIZE];
	int ret;

	enc_time_iso(time(NULL), created);
	ret = enc_fact_write(gfd, "recipe", text, strlen(text), 0600, sync, err);
	if (ret < 0)
		return ret;
	return enc_fact_printf(gfd, "info", 0600, sync, err,
			       "created=%s\nmethod=%s\nsize=%" PRIu64 "\n%s", created,
			       enc_bootstrap_method_str(r->method), size,
			       extra_info ? extra_info : "");
}

int enc_build_commit(const struct enc_store *s, struct enc_build *b,
		     const struct enc_recipe *r, uint64_t size, const char *extra_info,
		     struct enc_err *err)
{
	_cleanup_free_ char *text = enc_recipe_format(r);
	_cleanup_close_ int gfd = -1;
	char sub[64];
	int ret;

	if (!text)
		return enc_err_set(err, -ENOMEM, "out of memory");
	snprintf(sub, sizeof(sub), "gen/%s", b->gen);
	gfd = enc_opendir_at(b->tmp_fd, sub, err);
	if (gfd < 0)
		return gfd;
	bool fsync_each = b->data_on_disk;

	ret = enc_sandbox_write_gen_files(gfd, r, text, size, extra_info, fsync_each, err);
	if (ret < 0)
		return ret;
	if (b->new_sandbox) {
		ret = enc_fact_write(b->tmp_fd, "sandbox.conf", text, strlen(text), 0600,
				     fsync_each, err);
		if (ret < 0)
			return ret;
		ret = enc_fact_printf(b->tmp_fd, "current", 0600, fsync_each, err, "%s\n", b->gen);
		if (ret < 0)
			return ret;
	}
	/* Everything of the generation on disk before anything points to
	 * it, so a power cut cannot publish a half-written rootfs. */
	if (!b->data_on_disk && syncfs(b->tmp_fd) < 0)
		return enc_err_sys(err, -errno, "cannot write the new generation to disk");

	if (b->new_sandbox) {
		_cleanup_close_ int lock = store_lock(s, err);

		if (lock < 0)
			return lock;
		if (renameat2(s->tmp_fd, b->tmpname, s->fd, b->name, RENAME_NOREPLACE) < 0) {
			if (errno == EEXIST || errno == ENOTEMPTY)
				return enc_err_set(err, -EEXIST, "sandbox '%s' already exists", b->name);
			return enc_err_sys(err, -errno, "cannot publish sandbox '%s'", b->name);
		}
		b->tmpname[0] = '\0';	/* it is the sandbox now */
		fsync(s->fd);
	} else {
		_cleanup_close_ int sfd = enc_sandbox_open_dir(s, b->name, err);
		_cleanup_close_ int slock = -1;
		_cleanup_close_ int gdir = -1;

		if (sfd < 0)
			return sfd;
		slock = enc_lock_at(sfd, "lock", ENC_LOCK_EXCLUSIVE, true, err);
		if (slock < 0)
			return slock;
		gdir = enc_mkdir_p_at(sfd, "gen", 0700, err);
		if (gdir < 0)
			return gdir;
		_cleanup_close_ int tgen = enc_opendir_at(b->tmp_fd, "gen", err);
		if (tgen < 0)
			return tgen;
		/* The base first: it is complete, and useful on its own. */
		if (b->base_gen[0] &&
		    renameat2(tgen, b->base_gen, gdir, b->base_gen, RENAME_NOREPLACE) < 0 &&
		    errno != EEXIST && errno != ENOTEMPTY && errno != ENOENT)
			return enc_err_sys(err, -errno, "cannot move generation %s into sandbox '%s'",
					   b->base_gen, b->name);
		if (renameat2(tgen, b->gen, gdir, b->gen, RENAME_NOREPLACE) < 0)
			return enc_err_sys(err, -errno, "cannot move generation %s into sandbox '%s'",
					   b->gen, b->name);
		fsync(gdir);
		ret = publish_current(sfd, r, b->gen, err);
		if (ret < 0)
			return ret;
		/* What is left of the temp dir (its lock, the wgetrc) goes
		 * now, while its lock is still held; a failure here is left
		 * to the next sweep. */
		if (b->tmp_fd >= 0)
			close(steal_fd(&b->tmp_fd));
		enc_unpriv_rm_rf_at(s->tmp_fd, b->tmpname, NULL);
		b->tmpname[0] = '\0';
	}
	if (b->rootfs_fd >= 0)
		close(steal_fd(&b->rootfs_fd));
	return 0;
}

int enc_build_abort(const struct enc_store *s, struct enc_build *b, struct enc_err *err)
{
	int r = 0;

	if (b->rootfs_fd >= 0)
		close(steal_fd(&b->rootfs_fd));
	if (b->tmp_fd >= 0)
		close(steal_fd(&b->tmp_fd));
	/* Removed while its lock is still held, so no sweeper races us; if
	 * this fails, the next sweep finishes the job. */
	if (b->tmpname[0] && b->lock_fd >= 0)
		r = enc_unpriv_rm_rf_at(s->tmp_fd, b->tmpname, err);
	b->tmpname[0] = '\0';
	if (b->lock_fd >= 0)
		close(steal_fd(&b->lock_fd));
	return r;
}

void enc_build_free(struct enc_build *b)
{
	if (b->rootfs_fd >= 0)
		close(b->rootfs_fd);
	if (b->tmp_fd >= 0)
		close(b->tmp_fd);
	if (b->lock_fd >= 0)
		close(b->lock_fd);
	free(b->name);
	free(b->tmp_path);
	free(b->rootfs_path);
	*b = (struct enc_build)ENC_BUILD_INIT;
}

/* ---- rm and prune ------------------------------------------------------------ */

/* "a, b, c" of the workspaces matching (running or using). */
static void join_ws(char *buf, size_t size, const struct enc_ws_use *u, size_t n,
		    bool running)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		if (running ? !u[i].running : !u[i].gen[0])
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "", u[i].ws);
	}
}

int enc_sandbox_remove(const struct enc_store *s, const char *name, bool force,
		       struct enc_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int sfd = -1;
	_cleanup_close_ int slock = -1;
	struct enc_ws_use *users = NULL;
	struct enc_strv ids = { 0 };
	struct claims c = { 0 };
	size_t nusers = 0, nrun = 0, nuse = 0;
	char rmname[ENC_NAME_MAX + 16], list[512];
	int r, rlock = -1;

	r = enc_sandbox_name_check(name, err);
	if (r < 0)
		return r;
	lock = store_lock(s, err);
	if (lock < 0)
		return lock;
	if (build_in_progress(s, name))
		return enc_err_set(err, -EBUSY,
				   "sandbox '%s' is being created or updated by another process", name);
	sfd = enc_sandbox_open_dir(s, name, err);
	if (sfd < 0)
		return sfd;
	slock = enc_lock_at(sfd, "lock", ENC_LOCK_EXCLUSIVE, false, NULL);
	if (slock == -EWOULDBLOCK)
		return enc_err_set(err, -EBUSY, "sandbox '%s' is locked by another process "
				   "(a workspace starting, a prune or an update)", name);
	if (slock < 0)
		return enc_err_sys(err, slock, "cannot lock sandbox '%s'", name);

	r = enc_sandbox_users(s, name, &users, &nusers, err);
	if (r < 0)
		return r;
	r = list_gens(sfd, &ids, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nusers; i++) {
		bool ours = false;

		for (size_t k = 0; k < ids.n && users[i].gen[0]; k++)
			ours = ours || strcmp(ids.v[k], users[i].gen) == 0;
		if (!ours)
			users[i].gen[0] = '\0';	/* names none of ours: not a user */
		nrun += users[i].running;
		nuse += !!users[i].gen[0];
	}
	if (nrun) {
		join_ws(list, sizeof(list), users, nusers, true);
		r = enc_err_set(err, -EBUSY, "sandbox '%s' is used by running workspace%s %s; "
				"stop %s first (--force does not remove a running workspace's root)",
				name, nrun > 1 ? "s" : "", list, nrun > 1 ? "them" : "it");
		goto out;
	}
	if (nuse && !force) {
		join_ws(list, sizeof(list), users, nusers, false);
		r = enc_err_set(err, -EBUSY, "sandbox '%s' is used by workspace%s %s "
				"(use --force to remove it anyway)", name, nuse > 1 ? "s" : "", list);
		goto out;
	}
	r = claim_for_removal(s, s->fd, name, rmname, sizeof(rmname), &rlock, err);
	if (r < 0)
		goto out;
	fsync(s->fd);
	close(steal_fd(&lock));
	if (claims_add(&c, rmname, rlock) < 0)
		close(rlock);
	r = claims_finish(s, &c, err);
	if (r < 0)
		enc_err_prefix(err, "sandbox '%s' was removed, but its files were not all deleted "
			       "(the next command retries): ", name);
out:
	enc_strv_free(&ids);
	enc_ws_uses_free(users, nusers);
	return r;
}

static int prune_one(const struct enc_store *s, const char *name, bool dry_run,
		     enc_prune_fn fn, void *ctx, struct enc_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int slock = -1;
	struct enc_sandbox sb = { 0 };
	struct claims c = { 0 };
	int r;

	lock = store_lock(s, err);
	if (lock < 0)
		return lock;
	_cleanup_close_ int sfd = enc_sandbox_open_dir(s, name, err);
	if (sfd < 0)
		return sfd;
	slock = enc_lock_at(sfd, "lock", ENC_LOCK_EXCLUSIVE, false, NULL);
	if (slock == -EWOULDBLOCK)
		return enc_err_set(err, -EBUSY, "sandbox '%s' is locked by another process; "
				   "not pruned", name);
	if (slock < 0)
		return enc_err_sys(err, slock, "cannot lock sandbox '%s'", name);
	r = enc_sandbox_load(s, name, &sb, err);
	if (r < 0)
		return r;
	/* The current generation's base is what a changed setup list starts
	 * from: keeping it saves a bootstrap. */
	char base[ENC_GEN_ID_SIZE] = "";
	if (sb.recipe.setup.n && enc_recipe_base_id(&sb.recipe, base) < 0)
		base[0] = '\0';
	_cleanup_close_ int gdir = enc_opendir_at(sfd, "gen", NULL);
	for (size_t i = 0; i < sb.ngens; i++) {
		const struct enc_gen *g = &sb.gens[i];
		char rmname[ENC_NAME_MAX + 16];
		int rlock;

		if (g->current || g->used_by.n || strcmp(g->id, base) == 0)
			continue;
		if (!dry_run) {
			if (gdir < 0)
				break;
			r = claim_for_removal(s, gdir, g->id, rmname, sizeof(rmname), &rlock, err);
			if (r < 0)
				break;
			if (claims_add(&c, rmname, rlock) < 0)
				close(rlock);
		}
		if (fn)
			fn(ctx, name, g);
	}
	if (gdir >= 0)
		fsync(gdir);
	close(steal_fd(&slock));
	close(steal_fd(&lock));
	int r2 = claims_finish(s, &c, r < 0 ? NULL : err);
	enc_sandbox_free(&sb);
	return r < 0 ? r : r2;
}

int enc_sandbox_prune(const struct enc_store *s, const char *name, bool dry_run,
		      enc_prune_fn fn, void *ctx, struct enc_err *err)
{
	struct enc_strv names = { 0 };
	int ret = 0, r;

	if (name) {
		r = enc_sandbox_name_check(name, err);
		if (r < 0)
			return r;
		return prune_one(s, name, dry_run, fn, ctx, err);
	}
	r = enc_store_names(s, &names, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < names.n; i++) {
		r = prune_one(s, names.v[i], dry_run, fn, ctx, ret ? NULL : err);
		if (r < 0 && !ret)
			ret = r;
	}
	enc_strv_free(&names);
	return ret;
}

