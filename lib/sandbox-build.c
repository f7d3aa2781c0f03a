/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox-build.c - creating and updating a sandbox with its setup commands
 * (sandbox.h): the base tree, copied for a changed setup list, the setup
 * commands run through the runtime's setup hook, and enc_sandbox_up() for
 * enclave up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
/* ---- create and update with setup ------------------------------------------ */

int enc_recipe_from_conf(const struct enc_sandbox_conf *c, struct enc_recipe *r,
			 struct enc_err *err)
{
	bool debian = enc_sandbox_debian_method(c->method);

	*r = (struct enc_recipe){ .method = c->method };
	/* config.c fills suite, variant, ... for every method; a recipe
	 * takes only what its method uses, as enc_recipe_finish() demands. */
	if ((c->suite && c->method != ENC_BOOTSTRAP_DIR && c->method != ENC_BOOTSTRAP_TAR &&
	     !(r->suite = strdup(c->suite))) ||
	    (debian && c->mirror && !(r->mirror = strdup(c->mirror))) ||
	    (debian && c->variant && !(r->variant = strdup(c->variant))) ||
	    (c->source && (c->method == ENC_BOOTSTRAP_DIR || c->method == ENC_BOOTSTRAP_TAR) &&
	     !(r->source = strdup(c->source))))
		goto oom;
	for (size_t i = 0; debian && i < c->include.n; i++)
		if (enc_strv_push(&r->include, c->include.v[i]) < 0)
			goto oom;
	for (size_t i = 0; debian && i < c->components.n; i++)
		if (enc_strv_push(&r->components, c->components.v[i]) < 0)
			goto oom;
	for (size_t i = 0; i < c->setup.n; i++)
		if (enc_strv_push(&r->setup, c->setup.v[i]) < 0)
			goto oom;
	return 0;
oom:
	enc_recipe_free(r);
	return enc_err_set(err, -ENOMEM, "out of memory");
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int enc_setup_lines_scan(const char *path, size_t n, unsigned *lines)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char buf[ENC_CONFIG_MAX_LINE + 2];
	bool in_sandbox = false, prev_setup = false, has_prev = false;
	unsigned lineno = 0;
	size_t found = 0;

	if (!f)
		return -errno;
	/* The shapes inih reads, in its order: ';'/'#' comments, an indented
	 * line after a key continues that key (one more value: another setup
	 * command), "[section]", "key = value" or "key: value". */
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);
		bool indented = buf[0] == ' ' || buf[0] == '\t';
		bool setup = false;
		char *l, *sep;

		lineno++;
		if (len && buf[len - 1] != '\n' && !feof(f))
			return -EINVAL;		/* longer than inih reads */
		l = trim(buf);
		if (*l == ';' || *l == '#' || !*l)
			continue;
		if (has_prev && indented) {
			setup = prev_setup;
		} else if (*l == '[') {
			char *end = strchr(l, ']');

			if (end)
				*end = '\0';
			in_sandbox = strcmp(trim(l + 1), "sandbox") == 0;
			has_prev = prev_setup = false;
			continue;
		} else if ((sep = strpbrk(l, "=:"))) {
			*sep = '\0';
			setup = in_sandbox && strcmp(trim(l), "setup") == 0;
			has_prev = true;
			prev_setup = setup;
		}
		if (!setup)
			continue;
		if (found == n)
			return -EINVAL;
		lines[found++] = lineno;
	}
	return found == n ? 0 : -EINVAL;
}

void enc_create_report_free(struct enc_create_report *rep)
{
	free(rep->tail);
	rep->tail = NULL;
}

static bool cancelled(const struct enc_create_opts *o)
{
	return o->cancel && *o->cancel;
}

/* Fingerprint r's source (it enters the generation id); for dir and
 * cached_rootfs keep the source open for the import. */
static int fingerprint_source(const struct enc_store *s, struct enc_recipe *r, int *src_fd,
			      char **src_path, struct enc_err *err)
{
	char hex[ENC_SHA256_HEX];
	int ret;

	switch (r->method) {
	case ENC_BOOTSTRAP_TAR:
		ret = enc_rootfs_fingerprint_file(r->source, hex, err);
		break;
	case ENC_BOOTSTRAP_DIR:
		*src_fd = open(r->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*src_fd < 0)
			return enc_err_sys(err, -errno, "cannot open %s", r->source);
		ret = enc_rootfs_fingerprint_dir(*src_fd, r->source, hex, err);
		break;
	case ENC_BOOTSTRAP_CACHED_ROOTFS:
		free(r->source);
		r->source = NULL;
		*src_fd = enc_rootfs_cache_open(s, r->suite, &r->source, err);
		if (*src_fd < 0)
			return *src_fd;
		if (asprintf(src_path, "%s/%s", s->path, r->source) < 0) {
			*src_path = NULL;
			return enc_err_set(err, -ENOMEM, "out of memory");
		}
		ret = enc_rootfs_fingerprint_dir(*src_fd, *src_path, hex, err);
		break;
	case ENC_BOOTSTRAP_DEBOOTSTRAP:
	case ENC_BOOTSTRAP_MMDEBSTRAP:
	default:
		return 0;
	}
	if (ret < 0)
		return ret;
	free(r->fingerprint);
	r->fingerprint = strdup(hex);
	return r->fingerprint ? 0 : enc_err_set(err, -ENOMEM, "out of memory");
}

/* Fill an empty rootfs the way r's method says. *adopt is set (and
 * *adopted true) for cached_rootfs. */
static int fill_tree(const struct enc_recipe *r, int fd, const char *path, int src_fd,
		     const char *src_path, const struct enc_rootfs_opts *ro,
		     enum enc_adopt_mode *adopt, bool *adopted, struct enc_err *err)
{
	switch (r->method) {
	case ENC_BOOTSTRAP_DEBOOTSTRAP:
	case ENC_BOOTSTRAP_MMDEBSTRAP:
		return enc_rootfs_bootstrap(r, path, ro, err);
	case ENC_BOOTSTRAP_TAR:
		return enc_rootfs_import_tar(r->source, fd, ro, err);
	case ENC_BOOTSTRAP_DIR:
		return enc_rootfs_import_dir(r->source, fd, path, ro, err);
	case ENC_BOOTSTRAP_CACHED_ROOTFS:
	default:
		*adopted = true;
		return enc_rootfs_adopt(src_fd, src_path, fd, path, ro, adopt, err);
	}
}

/* ---- an ordinary user's trees --------------------------------------------- */

/* An ordinary user's rootfs holds files of many owners, which only root
 * of the storage namespace can make and read (lib/unpriv.h): the import
 * and the measuring run there. mmdebstrap makes its own namespace with
 * the same ids. The job lives in shared memory: the child's results. */
struct tree_job {
	const struct enc_recipe *r;
	const char *src;		/* copy_in_storage: the tree to copy */
	int src_fd;			/* cached_rootfs: the cache */
	int fd;
	const char *path;
	struct enc_rootfs_opts ro;
	bool strip;
	uint64_t size;
	enum enc_adopt_mode adopt;
	bool adopted;
};

/* In the storage namespace the caller's own files are ENC_IDPOOL_SIZE's
 * (unpriv.h): in an import they become the rootfs's root's. */
static void job_init(struct tree_job *j, const struct enc_rootfs_opts *ro)
{
	if (ro)
		j->ro = *ro;
	j->ro.own_uid = ENC_IDPOOL_SIZE;
	j->ro.own_gid = ENC_IDPOOL_SIZE;
}

static int fill_in_storage(void *arg, struct enc_err *err)
{
	struct tree_job *j = arg;

	/* The directory was made by the caller: it becomes "/" of the
	 * rootfs, root's (the storage ids' 0), as debootstrap leaves it. */
	if (fchown(j->fd, 0, 0) < 0)
		return enc_err_sys(err, -errno, "cannot give the rootfs directory to the storage ids");
	return fill_tree(j->r, j->fd, j->path, j->src_fd, j->src, &j->ro, &j->adopt, &j->adopted,
			 err);
}

static int copy_in_storage(void *arg, struct enc_err *err)
{
	struct tree_job *j = arg;

	if (fchown(j->fd, 0, 0) < 0)
		return enc_err_sys(err, -errno, "cannot give the rootfs directory to the storage ids");
	return enc_rootfs_import_dir(j->src, j->fd, j->path, &j->ro, err);
}

static int measure_in_storage(void *arg, struct enc_err *err)
{
	struct tree_job *j = arg;

	return enc_rootfs_measure(j->fd, j->strip, &j->size, NULL, err);
}

static int storage_job(int (*fn)(void *, struct enc_err *), struct tree_job *tmpl,
		       uint64_t *size, struct enc_err *err)
{
	struct tree_job *j = mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (j == MAP_FAILED)
		return enc_err_sys(err, -errno, "cannot map memory");
	*j = *tmpl;
	ret = enc_unpriv_storage_run(fn, j, err);
	if (size)
		*size = j->size;
	tmpl->adopt = j->adopt;
	tmpl->adopted = j->adopted;
	munmap(j, sizeof(*j));
	return ret;
}

/* mmdebstrap for an ordinary user: its unshare mode writes a tarball into
 * the build's scratch dir (it cannot write into the user's private store
 * as the subordinate ids), imported then like any other. */
static int mmdebstrap_unpriv(const struct enc_recipe *r, struct tree_job *j,
			     const struct enc_rootfs_opts *ro, struct enc_err *err)
{
	_cleanup_free_ char *tar = NULL;
	struct enc_recipe tr = *r;
	int ret;

	if (!ro->work_path || ro->work_fd < 0)
		return enc_err_set(err, -EINVAL, "mmdebstrap needs the build's scratch directory");
	if (asprintf(&tar, "%s/mmdebstrap.tar", ro->work_path) < 0)
		return enc_err_set(err, -ENOMEM, "out of memory");
	ret = enc_rootfs_bootstrap(r, tar, ro, err);
	if (ret == 0) {
		tr.method = ENC_BOOTSTRAP_TAR;
		tr.source = tar;
		j->r = &tr;
		ret = storage_job(fill_in_storage, j, NULL, err);
	}
	unlinkat(ro->work_fd, "mmdebstrap.tar", 0);
	return ret;
}

/* fill_tree(), and for an ordinary user as root of the storage namespace
 * (debootstrap is root's). */
static int fill_tree_as_owner(const struct enc_recipe *r, int fd, const char *path, int src_fd,
			      const char *src_path, const struct enc_rootfs_opts *ro,
			      enum enc_adopt_mode *adopt, bool *adopted, struct enc_err *err)
{
	struct tree_job j = { .r = r, .fd = fd, .path = path, .src_fd = src_fd, .src = src_path };
	int ret;

	/* debootstrap refuses an ordinary user itself (never in the storage
	 * namespace, where it would think it is root). */
	if (!enc_unpriv() || r->method == ENC_BOOTSTRAP_DEBOOTSTRAP)
		return fill_tree(r, fd, path, src_fd, src_path, ro, adopt, adopted, err);
	job_init(&j, ro);
	if (r->method == ENC_BOOTSTRAP_MMDEBSTRAP)
		return mmdebstrap_unpriv(r, &j, ro, err);
	ret = storage_job(fill_in_storage, &j, NULL, err);
	*adopt = j.adopt;
	*adopted = j.adopted;
	return ret;
}

/* enc_rootfs_import_dir() of a base generation, by its owner. */
static int copy_tree_as_owner(const char *src, int fd, const char *path,
			      const struct enc_rootfs_opts *ro, struct enc_err *err)
{
	struct tree_job j = { .src = src, .fd = fd, .path = path };

	if (!enc_unpriv())
		return enc_rootfs_import_dir(src, fd, path, ro, err);
	job_init(&j, ro);
	return storage_job(copy_in_storage, &j, NULL, err);
}

int enc_sandbox_measure_tree(int fd, bool strip, uint64_t *size, struct enc_err *err)
{
	struct tree_job j = { .fd = fd, .strip = strip };

	if (!enc_unpriv())
		return enc_rootfs_measure(fd, strip, size, NULL, err);
	return storage_job(measure_in_storage, &j, size, err);
}

/* Build the base (r without setup) as gen/<base>/ of the temp dir, with
 * its recipe and info, so the commit publishes it too. */
static int build_base(const struct enc_build *b, const struct enc_recipe *r, const char *base,
		      int src_fd, const char *src_path, const struct enc_rootfs_opts *ro,
		      char **path, struct enc_err *err)
{
	struct enc_recipe br = *r;
	enum enc_adopt_mode adopt = ENC_ADOPT_COPY;
	bool adopted = false;
	_cleanup_close_ int gfd = -1;
	_cleanup_close_ int rfd = -1;
	_cleanup_free_ char *text = NULL;
	char sub[64], extra[64] = "";
	uint64_t size = 0;
	int ret;

	snprintf(sub, sizeof(sub), "gen/%s", base);
	gfd = enc_mkdir_p_at(b->tmp_fd, sub, 0700, err);
	if (gfd < 0)
		return gfd;
	if (mkdirat(gfd, "rootfs", 0755) < 0)
		return enc_err_sys(err, -errno, "cannot create the base rootfs directory");
	rfd = enc_opendir_at(gfd, "rootfs", err);
	if (rfd < 0)
		return rfd;
	if (fchmod(rfd, 0755) < 0)
		return enc_err_sys(err, -errno, "cannot set the mode of the base rootfs");
	if (asprintf(path, "%s/gen/%s/rootfs", b->tmp_path, base) < 0) {
		*path = NULL;
		return enc_err_set(err, -ENOMEM, "out of memory");
	}
	ret = fill_tree_as_owner(r, rfd, *path, src_fd, src_path, ro, &adopt, &adopted, err);
	if (ret < 0)
		return ret;
	if (ro->cancel && *ro->cancel)
		return enc_err_set(err, -ECANCELED, "interrupted");
	ret = enc_sandbox_measure_tree(rfd, enc_sandbox_debian_method(r->method), &size, err);
	if (ret < 0)
		return ret;
	if (adopted)
		snprintf(extra, sizeof(extra), "adopt=%s\n", enc_adopt_mode_str(adopt));
	br.setup = (struct enc_strv){ 0 };
	text = enc_recipe_format(&br);
	if (!text)
		return enc_err_set(err, -ENOMEM, "out of memory");
	return enc_sandbox_write_gen_files(gfd, &br, text, size, extra, false, err);
}

/* The new rootfs as a copy of the base: the sandbox's own generation of it
 * when there is one (read under the sandbox lock, shared, so prune and rm
 * wait), else one built now. Reflinks where the file system can, else a
 * full copy; never hard links, since setup writes in place. */
static int start_from_base(const struct enc_store *s, struct enc_build *b,
			   const struct enc_recipe *r, int src_fd, const char *src_path,
			   const struct enc_rootfs_opts *ro, struct enc_create_report *rep,
			   struct enc_err *err)
{
	_cleanup_free_ char *path = NULL;
	char base[ENC_GEN_ID_SIZE];
	int ret = enc_recipe_base_id(r, base);

	if (ret < 0)
		return enc_err_set(err, ret, "out of memory");
	memcpy(rep->base_gen, base, sizeof(base));
	if (!b->new_sandbox) {
		_cleanup_close_ int sfd = enc_sandbox_open_dir(s, b->name, err);
		_cleanup_close_ int slock = -1;
		char rel[64];
		struct stat st;

		if (sfd < 0)
			return sfd;
		slock = enc_lock_at(sfd, "lock", ENC_LOCK_SHARED, true, err);
		if (slock < 0)
			return slock;
		snprintf(rel, sizeof(rel), "gen/%s/rootfs", base);
		if (fstatat(sfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			if (asprintf(&path, "%s/%s/%s", s->path, b->name, rel) < 0) {
				path = NULL;
				return enc_err_set(err, -ENOMEM, "out of memory");
			}
			rep->base_reused = true;
			return copy_tree_as_owner(path, b->rootfs_fd, b->rootfs_path, ro, err);
		}
	}
	ret = build_base(b, r, base, src_fd, src_path, ro, &path, err);
	if (ret < 0)
		return ret;
	memcpy(b->base_gen, base, sizeof(base));
	if (ro->cancel && *ro->cancel)
		return enc_err_set(err, -ECANCELED, "interrupted");
	return copy_tree_as_owner(path, b->rootfs_fd, b->rootfs_path, ro, err);
}

/* The last bytes of a command's output, for the error report. */
struct tail {
	char buf[8192];
	size_t len;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (n >= sizeof(t->buf)) {
		p += n - sizeof(t->buf);
		n = sizeof(t->buf);
	}
	if (t->len + n > sizeof(t->buf)) {
		size_t drop = t->len + n - sizeof(t->buf);

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Its last ENC_SETUP_TAIL_LINES lines, control characters (but tabs)
 * shown as '?', a carriage return starting the line afresh as a terminal
 * would show it. */
static char *tail_lines(const struct tail *t)
{
	size_t end = t->len, start, lines = 0;
	char *out, *o;

	while (end && (t->buf[end - 1] == '\n' || t->buf[end - 1] == '\r'))
		end--;
	start = end;
	while (start && !(t->buf[start - 1] == '\n' && ++lines == ENC_SETUP_TAIL_LINES))
		start--;
	out = malloc(end - start + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = start; i < end; i++) {
		unsigned char c = (unsigned char)t->buf[i];

		if (c == '\r') {
			if (i + 1 < end && t->buf[i + 1] != '\n')
				while (o > out && o[-1] != '\n')
					o--;
			continue;
		}
		*o++ = c == '\n' || c == '\t' || (c >= ' ' && c != 0x7f) ? (char)c : '?';
	}
	*o = '\0';
	return out;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;		/* the caller's terminal went away: keep going */
		p += k;
		n -= (size_t)k;
	}
}

/* Run one setup command in root; *status is its exit status. Returns < 0
 * only when enclave could not run it at all. */
static int run_setup_cmd(const struct enc_state *st, const char *name, const char *root,
			 const struct enc_workspace_conf *ws, const char *cmd,
			 const struct enc_create_opts *o, struct tail *t, int *status,
			 struct enc_err *err)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	struct enc_spawn_handle h = ENC_SPAWN_HANDLE_INIT;
	_cleanup_close_ int rd = -1;
	bool killed = false;
	char buf[4096];
	int p[2], ret;

	if (pipe2(p, O_CLOEXEC) < 0)
		return enc_err_sys(err, -errno, "cannot create a pipe");
	rd = p[0];
	struct enc_spawn_spec spec = {
		.sandbox = name, .ws = ws, .argv = argv, .ephemeral = true,
		.attach_in = -1, .attach_out = p[1], .attach_err = p[1],
		.setup_root = root,
	};
	struct enc_err serr = { 0 };

	ret = enc_spawn_start(st, &spec, &h, &serr);
	close(p[1]);
	if (ret < 0) {
		/* Not runnable (no /bin/sh in the tree?) is the command's
		 * failure; anything else is enclave's. */
		if (h.fail_status == 126 || h.fail_status == 127) {
			tail_add(t, serr.msg, strlen(serr.msg));
			*status = h.fail_status;
			return 0;
		}
		if (err && !enc_err_isset(err))
			*err = serr;
		return ret;
	}
	/* Drain the output before waiting: the monitor blocks on a full
	 * pipe. Its write end closes when the monitor is done. */
	for (;;) {
		struct pollfd pf = { .fd = rd, .events = POLLIN };
		int n = poll(&pf, 1, 250);
		ssize_t k;

		if (cancelled(o) && !killed) {
			enc_spawn_send(&h, "S 9");
			killed = true;
		}
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		k = read(rd, buf, sizeof(buf));
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		tail_add(t, buf, (size_t)k);
		if (o->out_fd >= 0)
			write_all(o->out_fd, buf, (size_t)k);
	}
	ret = enc_spawn_wait(&h, status, err);
	enc_spawn_handle_close(&h);
	return ret;
}

static int run_setup(const struct enc_state *st, const struct enc_build *b,
		     const struct enc_recipe *r, const struct enc_create_opts *o,
		     struct enc_create_report *rep, struct enc_err *err)
{
	struct enc_conf_option co[] = {
		{ "network", o->setup_net ? o->setup_net : "nat" },
		/* Package scripts must not wait for answers nobody gives. */
		{ "env", "DEBIAN_FRONTEND=noninteractive" },
	};
	struct enc_workspace_conf ws;
	int ret = enc_workspace_conf_from_options("setup", "/", co, ENC_ARRAY_SIZE(co), &ws, err);

	if (ret < 0) {
		enc_err_prefix(err, "setup: ");
		return ret;
	}
	for (size_t i = 0; i < r->setup.n && ret == 0; i++) {
		const char *cmd = r->setup.v[i];
		struct tail *t = calloc(1, sizeof(*t));
		char q[ENC_QUOTE_BUF], where[PATH_MAX + 32];
		int status = 0;

		if (!t) {
			ret = enc_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		if (cancelled(o)) {
			free(t);
			ret = enc_err_set(err, -ECANCELED, "interrupted");
			break;
		}
		if (o->setup_begin)
			o->setup_begin(o->ctx, i, r->setup.n, cmd);
		ret = run_setup_cmd(st, b->name, b->rootfs_path, &ws, cmd, o, t, &status, err);
		if (ret == 0)
			rep->setup_ran++;
		if (ret == 0 && cancelled(o))
			ret = enc_err_set(err, -ECANCELED, "interrupted");
		if (ret == 0 && status != 0) {
			if (o->file && o->setup_lines)
				snprintf(where, sizeof(where), "%s:%u: setup command", o->file,
					 o->setup_lines[i]);
			else
				snprintf(where, sizeof(where), "setup command %zu", i + 1);
			rep->failed = i + 1;
			rep->failed_status = status;
			rep->tail = tail_lines(t);
			ret = enc_err_set(err, -EIO, "%s '%s' failed with exit status %d", where,
					  enc_quote(q, cmd), status);
		}
		free(t);
	}
	enc_workspace_conf_free(&ws);
	return ret;
}

/* A setup that failed in an update: the base built on the way is complete
 * and worth keeping, so the corrected list starts from it. */
static void keep_base(const struct enc_store *s, const struct enc_build *b)
{
	_cleanup_close_ int sfd = -1;
	_cleanup_close_ int slock = -1;
	_cleanup_close_ int gdir = -1;
	_cleanup_close_ int tgen = -1;

	if (b->new_sandbox || !b->base_gen[0] || b->tmp_fd < 0 || syncfs(b->tmp_fd) < 0)
		return;
	sfd = enc_sandbox_open_dir(s, b->name, NULL);
	if (sfd < 0)
		return;
	slock = enc_lock_at(sfd, "lock", ENC_LOCK_EXCLUSIVE, true, NULL);
	gdir = enc_mkdir_p_at(sfd, "gen", 0700, NULL);
	tgen = enc_opendir_at(b->tmp_fd, "gen", NULL);
	if (slock >= 0 && gdir >= 0 && tgen >= 0 &&
	    renameat2(tgen, b->base_gen, gdir, b->base_gen, RENAME_NOREPLACE) == 0)
		fsync(gdir);
}

int enc_sandbox_create(const struct enc_state *st, const struct enc_store *s,
		       const char *name, struct enc_recipe *r,
		       const struct enc_create_opts *o, struct enc_create_report *rep,
		       struct enc_err *err)
{
	struct enc_build b = ENC_BUILD_INIT;
	enum enc_create_result res = ENC_CREATE_UNCHANGED;
	enum enc_adopt_mode adopt = ENC_ADOPT_COPY;
	bool adopted = false;
	_cleanup_close_ int src_fd = -1;
	_cleanup_free_ char *src_path = NULL;
	char extra[128] = "";
	uint64_t size = 0;
	int ret;

	*rep = (struct enc_create_report){ 0 };
	ret = enc_recipe_finish(r, err);
	if (ret < 0)
		return ret;
	ret = fingerprint_source(s, r, &src_fd, &src_path, err);
	if (ret < 0)
		return ret;
	ret = enc_recipe_finish(r, err);
	if (ret < 0)
		return ret;
	ret = enc_build_begin(s, name, r, o->update, &b, &res, err);
	if (ret < 0)
		goto out;
	rep->res = res;
	rep->new_sandbox = b.new_sandbox;
	memcpy(rep->gen, b.gen, sizeof(b.gen));
	memcpy(rep->old_gen, b.old_gen, sizeof(b.old_gen));
	if (res != ENC_CREATE_BUILD)
		goto out;

	struct enc_rootfs_opts ro = {
		.line = o->line, .ctx = o->ctx, .cancel = o->cancel, .program = o->program,
		.work_fd = b.tmp_fd, .work_path = b.tmp_path,
	};
	if (r->setup.n == 0) {
		ret = fill_tree_as_owner(r, b.rootfs_fd, b.rootfs_path, src_fd, src_path, &ro,
					 &adopt, &adopted, err);
		/* A hard-link farm wrote no file data of its own. */
		b.data_on_disk = adopted && adopt == ENC_ADOPT_HARDLINK;
		if (adopted) {
			rep->adopt = enc_adopt_mode_str(adopt);
			snprintf(extra, sizeof(extra), "adopt=%s\n", rep->adopt);
		}
	} else {
		ret = start_from_base(s, &b, r, src_fd, src_path, &ro, rep, err);
		if (ret == 0 && cancelled(o))
			ret = enc_err_set(err, -ECANCELED, "interrupted");
		if (ret == 0)
			ret = run_setup(st, &b, r, o, rep, err);
		snprintf(extra, sizeof(extra), "base=%s\n", rep->base_gen);
	}
	if (ret == 0 && cancelled(o))
		ret = enc_err_set(err, -ECANCELED, "interrupted");
	/* Setup may have made device nodes too: workspaces get their own
	 * /dev, so none is kept. */
	if (ret == 0)
		ret = enc_sandbox_measure_tree(b.rootfs_fd,
					       enc_sandbox_debian_method(r->method) || r->setup.n,
					       &size, err);
	if (ret == 0 && cancelled(o))
		ret = enc_err_set(err, -ECANCELED, "interrupted");
	if (ret == 0)
		ret = enc_build_commit(s, &b, r, size, extra, err);
	if (ret < 0) {
		if (rep->failed)
			keep_base(s, &b);
		enc_build_abort(s, &b, NULL);
	} else {
		rep->size = size;
	}
out:
	enc_build_free(&b);
	return ret;
}

int enc_sandbox_up(const struct enc_state *st, const struct enc_config *c,
		   const struct enc_create_opts *opts, struct enc_create_report *rep,
		   struct enc_err *err)
{
	struct enc_store s = ENC_STORE_INIT;
	struct enc_recipe r;
	struct enc_create_opts o = *opts;
	_cleanup_free_ unsigned *lines = NULL;
	int ret;

	*rep = (struct enc_create_report){ 0 };
	if (!c->has_sandbox)
		return enc_err_set(err, -EINVAL, "%s: no [sandbox] section", c->path);
	ret = enc_recipe_from_conf(&c->sandbox, &r, err);
	if (ret < 0)
		return ret;
	o.update = true;
	o.file = c->path;
	o.setup_lines = NULL;
	if (r.setup.n) {
		lines = calloc(r.setup.n, sizeof(*lines));
		if (lines && enc_setup_lines_scan(c->path, r.setup.n, lines) == 0)
			o.setup_lines = lines;
	}
	ret = enc_store_open(&s, st, NULL, err);
	if (ret == 0) {
		ret = enc_sandbox_create(st, &s, c->sandbox.name, &r, &o, rep, err);
		if (ret < 0)
			enc_err_prefix(err, "sandbox '%s': ", c->sandbox.name);
	}
	enc_store_close(&s);
	enc_recipe_free(&r);
	return ret;
}
