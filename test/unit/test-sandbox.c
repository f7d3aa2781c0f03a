/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-sandbox.c - recipes, generation ids, names, sandbox.conf parsing, and
 * the store's bookkeeping in a private state directory (no root needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "sandbox.h"
#include "state.h"
#include "tap.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void push(struct enc_strv *sv, const char *s)
{
	if (enc_strv_push(sv, s) < 0)
		abort();
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

static void gen_id(struct enc_recipe *r, char id[ENC_GEN_ID_SIZE])
{
	struct enc_err err = {};

	if (enc_recipe_finish(r, &err) < 0) {
		printf("# finish: %s\n", err.msg);
		abort();
	}
	if (enc_recipe_gen_id(r, id) < 0)
		abort();
}

/* A tar recipe with every field a tar recipe can have. */
static void tar_recipe(struct enc_recipe *r)
{
	*r = (struct enc_recipe){ .method = ENC_BOOTSTRAP_TAR };
	r->source = xstrdup("/srv/rootfs.tar");
	r->fingerprint = xstrdup(FP);
	r->suite = xstrdup("bookworm");
}

static void test_defaults(void)
{
	struct enc_recipe r = { .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	struct enc_err err = {};

	is_int(enc_recipe_finish(&r, &err), 0, "debootstrap recipe finishes");
	is_str(r.suite, "bookworm", "default suite");
	is_str(r.mirror, "http://deb.debian.org/debian", "default mirror");
	is_str(r.variant, "minbase", "default variant");
	is_int(r.components.n, 1, "one default component");
	is_str(r.components.v[0], "main", "default component main");
	is_int(r.include.n, 0, "no default includes");
	is_int(enc_recipe_finish(&r, &err), 0, "finish is idempotent");
	is_int(r.components.n, 1, "finish twice adds nothing");
	enc_recipe_free(&r);

	r = (struct enc_recipe){ .method = ENC_BOOTSTRAP_CACHED_ROOTFS };
	is_int(enc_recipe_finish(&r, &err), 0, "cached_rootfs recipe finishes");
	is_str(r.suite, "bookworm", "cached_rootfs default suite");
	ok(r.mirror == NULL && r.variant == NULL, "cached_rootfs has no mirror or variant");
	enc_recipe_free(&r);

	r = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DIR, .source = xstrdup("/srv/root") };
	is_int(enc_recipe_finish(&r, &err), 0, "dir recipe finishes");
	ok(r.suite == NULL, "dir has no default suite");
	enc_recipe_free(&r);
}

static void test_finish_errors(void)
{
	struct enc_recipe r;
	struct enc_err err;

#define BAD(setup, want, name)                                         \
	do {                                                           \
		r = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP }; \
		setup;                                                 \
		err = (struct enc_err){};                              \
		is_int(enc_recipe_finish(&r, &err), -EINVAL, name);    \
		has_str(err.msg, want, name " (message)");             \
		enc_recipe_free(&r);                                   \
	} while (0)

	BAD(r.suite = xstrdup("Bookworm"), "bad suite 'Bookworm'", "uppercase suite");
	BAD(r.suite = xstrdup("-x"), "bad suite", "option-looking suite");
	BAD(r.mirror = xstrdup("ftp://x/"), "bad mirror 'ftp://x/'", "ftp mirror");
	BAD(r.mirror = xstrdup("http://a b/"), "bad mirror", "mirror with a space");
	BAD(r.mirror = xstrdup("http:///x"), "bad mirror", "mirror without a host");
	BAD(r.variant = xstrdup("min base"), "bad variant", "variant with a space");
	BAD(push(&r.include, "-evil"), "bad package name '-evil'", "option-looking package");
	BAD(push(&r.components, "Main"), "bad component name 'Main'", "uppercase component");
	BAD(r.source = xstrdup("/x"), "the debootstrap method takes no source", "source with debootstrap");
	BAD((r.method = ENC_BOOTSTRAP_TAR, r.source = xstrdup("/x"), r.mirror = xstrdup("http://m/")),
	    "mirror is used only by the debootstrap and mmdebstrap methods, not by tar",
	    "mirror with tar");
	BAD((r.method = ENC_BOOTSTRAP_DIR, push(&r.include, "git"), r.source = xstrdup("/x")),
	    "include is used only by", "include with dir");
	BAD(r.method = ENC_BOOTSTRAP_TAR, "the tar method needs a source file", "tar without source");
	BAD((r.method = ENC_BOOTSTRAP_DIR, r.source = xstrdup("rel/path")),
	    "source 'rel/path' is not an absolute path", "relative source");
	BAD((r.method = ENC_BOOTSTRAP_CACHED_ROOTFS, r.source = xstrdup("/etc")),
	    "the cached_rootfs method takes no source", "cached_rootfs with a source");
	BAD((r.method = ENC_BOOTSTRAP_TAR, r.source = xstrdup("/x"), r.fingerprint = xstrdup("abc")),
	    "bad fingerprint 'abc'", "short fingerprint");
	BAD(push(&r.setup, "apt-get install\nevil"), "setup command 1", "setup spanning lines");
#undef BAD
}

static void test_gen_id(void)
{
	struct enc_recipe a, b;
	char ia[ENC_GEN_ID_SIZE], ib[ENC_GEN_ID_SIZE];

	a = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	gen_id(&a, ia);
	is_int(strlen(ia), 16, "generation id is 16 chars");
	ok(enc_gen_id_valid(ia), "generation id is lowercase hex");
	/* Pinned: a change of the hashing scheme must be deliberate (old
	 * generations would no longer be recognised). */
	is_str(ia, "eb33576072f79caf", "default debootstrap recipe id is stable");

	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	b.suite = xstrdup("bookworm");
	b.mirror = xstrdup("http://deb.debian.org/debian");
	b.variant = xstrdup("minbase");
	push(&b.components, "main");
	gen_id(&b, ib);
	is_str(ib, ia, "explicit defaults give the same id");
	enc_recipe_free(&b);

	/* Every field matters. */
#define DIFFERS(change, name)                                           \
	do {                                                            \
		b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP }; \
		change;                                                 \
		gen_id(&b, ib);                                         \
		ok(strcmp(ia, ib) != 0, "id depends on %s", name);      \
		enc_recipe_free(&b);                                    \
	} while (0)
	DIFFERS(b.method = ENC_BOOTSTRAP_MMDEBSTRAP, "the method");
	DIFFERS(b.suite = xstrdup("trixie"), "the suite");
	DIFFERS(b.mirror = xstrdup("http://ftp.de.debian.org/debian"), "the mirror");
	DIFFERS(b.variant = xstrdup("buildd"), "the variant");
	DIFFERS(push(&b.include, "git"), "the includes");
	DIFFERS((push(&b.components, "main"), push(&b.components, "contrib")), "the components");
	DIFFERS(push(&b.setup, "apt-get install -y git"), "the setup commands");
#undef DIFFERS

	/* Lists: order-sensitive and length-prefixed. */
	char s1[ENC_GEN_ID_SIZE], s2[ENC_GEN_ID_SIZE], s3[ENC_GEN_ID_SIZE];
	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	push(&b.setup, "a");
	push(&b.setup, "b");
	gen_id(&b, s1);
	enc_recipe_free(&b);
	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	push(&b.setup, "b");
	push(&b.setup, "a");
	gen_id(&b, s2);
	enc_recipe_free(&b);
	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	push(&b.setup, "ab");
	gen_id(&b, s3);
	enc_recipe_free(&b);
	ok(strcmp(s1, s2) != 0, "setup order matters");
	ok(strcmp(s1, s3) != 0, "setup [a,b] differs from [ab]");
	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	push(&b.setup, "a");
	push(&b.setup, "b");
	gen_id(&b, s3);
	enc_recipe_free(&b);
	is_str(s3, s1, "the same setup list gives the same id");
	b = (struct enc_recipe){ .method = ENC_BOOTSTRAP_DEBOOTSTRAP };
	push(&b.include, "a");
	push(&b.setup, "b");
	gen_id(&b, s3);
	enc_recipe_free(&b);
	ok(strcmp(s1, s3) != 0, "an include is not a setup command");
	enc_recipe_free(&a);

	/* Source-based recipes: source, fingerprint and suite label matter. */
	tar_recipe(&a);
	gen_id(&a, ia);
#define TDIFFERS(change, name)                                           \
	do {                                                            \
		tar_recipe(&b);                                         \
		change;                                                 \
		gen_id(&b, ib);                                         \
		ok(strcmp(ia, ib) != 0, "tar id depends on %s", name);  \
		enc_recipe_free(&b);                                    \
	} while (0)
	TDIFFERS((free(b.source), b.source = xstrdup("/srv/other.tar")), "the source path");
	TDIFFERS(b.fingerprint[0] = '1', "the fingerprint");
	TDIFFERS((free(b.suite), b.suite = NULL), "the suite label");
	TDIFFERS(b.method = ENC_BOOTSTRAP_DIR, "the method");
#undef TDIFFERS
	enc_recipe_free(&a);
}

static void test_format_parse(void)
{
	struct enc_recipe a = { .method = ENC_BOOTSTRAP_MMDEBSTRAP }, b = {};
	char ia[ENC_GEN_ID_SIZE], ib[ENC_GEN_ID_SIZE];
	struct enc_err err = {};

	push(&a.include, "git");
	push(&a.include, "curl");
	push(&a.components, "main");
	push(&a.components, "non-free-firmware");
	push(&a.setup, "apt-get install -y nodejs python3");
	push(&a.setup, "echo 'a = b' > /etc/x");
	gen_id(&a, ia);
	char *text = enc_recipe_format(&a);
	ok(text != NULL, "recipe formats");
	has_str(text, "\nmethod=mmdebstrap\nsuite=bookworm\nmirror=http://deb.debian.org/debian\n"
		"variant=minbase\ninclude=git,curl\ncomponents=main,non-free-firmware\n"
		"setup=apt-get install -y nodejs python3\nsetup=echo 'a = b' > /etc/x\n",
		"format: key=value lines in a fixed order");
	is_int(enc_recipe_parse(text, "sandbox.conf", &b, &err), 0, "formatted recipe parses back");
	if (err.msg[0])
		printf("# %s\n", err.msg);
	if (enc_recipe_gen_id(&b, ib) < 0)
		abort();
	is_str(ib, ia, "round trip keeps the generation id");
	is_int(b.setup.n, 2, "round trip keeps both setup commands");
	is_str(b.setup.v[1], "echo 'a = b' > /etc/x", "a value may contain '='");
	free(text);
	enc_recipe_free(&a);
	enc_recipe_free(&b);

	tar_recipe(&a);
	gen_id(&a, ia);
	text = enc_recipe_format(&a);
	is_int(enc_recipe_parse(text, "x", &b, &err), 0, "tar recipe round trip");
	if (enc_recipe_gen_id(&b, ib) < 0)
		abort();
	is_str(ib, ia, "tar round trip keeps the id");
	ok(b.mirror == NULL, "no mirror appears for tar");
	free(text);
	enc_recipe_free(&a);
	enc_recipe_free(&b);

#define PBAD(txt, want, name)                                              \
	do {                                                               \
		err = (struct enc_err){};                                  \
		b = (struct enc_recipe){};                                 \
		is_int(enc_recipe_parse(txt, "sb.conf", &b, &err), -EINVAL, name); \
		is_str(err.msg, want, name " (message)");                  \
	} while (0)
	PBAD("method=tar\nsource=/x\n# c\nfoo=bar\n", "sb.conf:4: unknown key 'foo'", "unknown key");
	PBAD("method=debootstrap\nsuite=a\nsuite=b\n", "sb.conf:3: 'suite' given twice", "repeated key");
	PBAD("method=debootstrap\nsuite\n", "sb.conf:2: expected key=value", "line without =");
	PBAD("=x\n", "sb.conf:1: expected key=value", "empty key");
	PBAD("suite=bookworm\n", "sb.conf: no method", "no method");
	PBAD("method=rsync\n", "sb.conf:1: unknown method 'rsync'", "unknown method");
	PBAD("method=debootstrap\ninclude=git,Bad\n",
	     "sb.conf:2: bad package name 'Bad' (expected [a-z0-9][a-z0-9+.:-]*)", "bad include");
	PBAD("method=tar\n", "sb.conf: the tar method needs a source file", "validation runs after parsing");
#undef PBAD
	err = (struct enc_err){};
	is_int(enc_recipe_parse("\n# only comments\n\nmethod=dir\nsource=/srv/x\n", "c", &b, &err), 0,
	       "comments and empty lines are skipped");
	is_int(b.method, ENC_BOOTSTRAP_DIR, "the method was read");
	enc_recipe_free(&b);
}

static void test_lists_and_names(void)
{
	struct enc_strv sv = {};
	struct enc_err err = {};

	is_int(enc_recipe_split_list("git,curl python3", "package", &sv, &err), 0, "split a list");
	is_int(sv.n, 3, "commas and spaces separate");
	is_str(sv.v[2], "python3", "third item");
	is_int(enc_recipe_split_list(",,libc6:amd64,", "package", &sv, &err), 0, "empty items skipped");
	is_str(sv.v[3], "libc6:amd64", "arch-qualified package");
	is_int(enc_recipe_split_list("g++", "package", &sv, &err), 0, "package with +");
	enc_strv_free(&sv);
	is_int(enc_recipe_split_list("main,non_free", "component", &sv, &err), -EINVAL, "bad component");
	has_str(err.msg, "bad component name 'non_free'", "bad component is named");
	enc_strv_free(&sv);

	err = (struct enc_err){};
	is_int(enc_sandbox_name_check("devbox", &err), 0, "valid sandbox name");
	is_int(enc_sandbox_name_check("rootfs-cache", &err), -EINVAL, "rootfs-cache is reserved");
	has_str(err.msg, "reserved", "reserved name says so");
	err = (struct enc_err){};
	is_int(enc_sandbox_name_check(".tmp", &err), -EINVAL, ".tmp is not a sandbox name");
	is_int(enc_sandbox_name_check("a/b", NULL), -EINVAL, "slash is refused");
	is_int(enc_sandbox_name_check("-x", NULL), -EINVAL, "leading dash is refused");

	ok(enc_gen_id_valid("0123456789abcdef"), "valid generation id");
	ok(!enc_gen_id_valid("0123456789ABCDEF"), "uppercase id is invalid");
	ok(!enc_gen_id_valid("0123456789abcde"), "short id is invalid");
	ok(!enc_gen_id_valid("0123456789abcdef0"), "long id is invalid");
	ok(!enc_gen_id_valid(NULL), "NULL id is invalid");

	char name[ENC_NAME_MAX + 1];
	is_int(enc_tmp_entry_owner("devbox.AbC123", name, sizeof(name)), 0, "temp entry decodes");
	is_str(name, "devbox", "temp entry owner");
	is_int(enc_tmp_entry_owner("a.b.XyZ789", name, sizeof(name)), 0, "dotted name decodes");
	is_str(name, "a.b", "dotted owner");
	is_int(enc_tmp_entry_owner(".rm.AbC123", name, sizeof(name)), -EINVAL, "removal temp has no owner");
	is_int(enc_tmp_entry_owner("devbox.abc", name, sizeof(name)), -EINVAL, "short suffix refused");
	is_int(enc_tmp_entry_owner("devbox.AbC12!", name, sizeof(name)), -EINVAL, "bad suffix refused");
	is_int(enc_tmp_entry_owner("devboxAbC1234", name, sizeof(name)), -EINVAL, "no dot refused");

	char t[ENC_TIME_ISO_SIZE];
	enc_time_iso(0, t);
	is_str(t, "1970-01-01T00:00:00Z", "ISO time of the epoch");
	enc_time_iso(1704067200, t);
	is_str(t, "2024-01-01T00:00:00Z", "ISO time in UTC");
}

/* ---- the store, in a private state directory ----------------------------- */

static int count_entries(int dirfd, const char *path)
{
	int fd = enc_opendir_at(dirfd, path, NULL), n = 0;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void build_one(struct enc_store *s, const char *name, const char *fp, bool update,
		      enum enc_create_result want, const char *what)
{
	struct enc_recipe r;
	struct enc_build b = ENC_BUILD_INIT;
	enum enc_create_result res = 99;
	struct enc_err err = {};
	int ret;

	tar_recipe(&r);
	memcpy(r.fingerprint, fp, 64);
	if (enc_recipe_finish(&r, NULL) < 0)
		abort();
	ret = enc_build_begin(s, name, &r, update, &b, &res, &err);
	is_int(ret, 0, what);
	if (ret < 0)
		printf("# %s\n", err.msg);
	char n[128];
	snprintf(n, sizeof(n), "%s: result", what);
	is_int(res, want, n);
	if (ret == 0 && res == ENC_CREATE_BUILD) {
		int fd = openat(b.rootfs_fd, "hello", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		ok(fd >= 0 && write(fd, "hi\n", 3) == 3, "%s: fill the rootfs", what);
		close(fd);
		ret = enc_build_commit(s, &b, &r, 4096, "adopt=copy\n", &err);
		snprintf(n, sizeof(n), "%s: commit", what);
		is_int(ret, 0, n);
		if (ret < 0)
			printf("# %s\n", err.msg);
	}
	enc_build_abort(s, &b, NULL);
	enc_build_free(&b);
	enc_recipe_free(&r);
}

static void test_store(void)
{
	char tmpl[] = "/tmp/enclave-test-sandbox.XXXXXX", path[256];
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_strv names = {};
	struct enc_sandbox sb = {};
	struct enc_err err = {}, serr = {};
	char fp2[65];

	if (!mkdtemp(tmpl))
		abort();
	snprintf(path, sizeof(path), "%s/data", tmpl);
	setenv("ENCLAVE_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/run", tmpl);
	setenv("ENCLAVE_RUNTIME_DIR", path, 1);
	if (enc_state_open(&st, &err) < 0) {
		printf("# state: %s\n", err.msg);
		abort();
	}
	is_int(enc_store_open(&s, &st, &serr, &err), 0, "store opens");
	is_int(enc_store_names(&s, &names, &err), 0, "names of an empty store");
	is_int(names.n, 0, "empty store");

	build_one(&s, "one", FP, false, ENC_CREATE_BUILD, "create one");
	build_one(&s, "one", FP, false, ENC_CREATE_UNCHANGED, "same recipe again");
	is_int(count_entries(s.fd, "one/gen"), 1, "one generation");
	is_int(count_entries(s.fd, ".tmp"), 0, "nothing left in .tmp");

	/* A different recipe needs update. */
	struct enc_recipe r;
	struct enc_build b = ENC_BUILD_INIT;
	enum enc_create_result res;
	memcpy(fp2, FP, sizeof(fp2));
	fp2[0] = 'f';
	tar_recipe(&r);
	memcpy(r.fingerprint, fp2, 64);
	err = (struct enc_err){};
	is_int(enc_build_begin(&s, "one", &r, false, &b, &res, &err), -EEXIST, "different recipe refused");
	has_str(err.msg, "already exists with a different recipe", "different recipe: message");
	enc_build_free(&b);
	enc_recipe_free(&r);
	build_one(&s, "one", fp2, true, ENC_CREATE_BUILD, "update builds");
	is_int(count_entries(s.fd, "one/gen"), 2, "two generations after update");
	build_one(&s, "one", FP, true, ENC_CREATE_SWITCHED, "update back switches");

	is_int(enc_sandbox_load(&s, "one", &sb, &err), 0, "load");
	is_int(sb.ngens, 2, "load sees two generations");
	ok(sb.gens[0].current, "current generation first");
	is_u64(sb.gens[0].size, 4096, "size from info");
	is_str(sb.gens[0].adopt, "copy", "extra info is read");
	is_str(sb.gens[0].method, "tar", "method from info");
	char old[ENC_GEN_ID_SIZE];
	memcpy(old, sb.gens[1].id, sizeof(old));
	enc_sandbox_free(&sb);

	/* A workspace using the old generation keeps it from prune. */
	snprintf(path, sizeof(path), "workspaces/one/ws1");
	int wfd = enc_mkdir_p_at(st.data_fd, path, 0700, NULL);
	ok(wfd >= 0, "fake workspace dir");
	is_int(enc_fact_printf(wfd, "generation", 0600, false, NULL, "%s\n", old), 0, "fake workspace generation");
	is_int(enc_sandbox_prune(&s, NULL, false, NULL, NULL, &err), 0, "prune with a user");
	is_int(count_entries(s.fd, "one/gen"), 2, "a used generation is kept");
	err = (struct enc_err){};
	is_int(enc_sandbox_remove(&s, "one", false, &err), -EBUSY, "rm refused while used");
	is_str(err.msg, "sandbox 'one' is used by workspace ws1 (use --force to remove it anyway)",
	       "rm refusal message");
	/* Running: its lock held (here by this process, another open file). */
	int lfd = openat(wfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ok(lfd >= 0 && flock(lfd, LOCK_EX) == 0, "hold the workspace lock");
	err = (struct enc_err){};
	is_int(enc_sandbox_remove(&s, "one", true, &err), -EBUSY, "rm --force refused while running");
	has_str(err.msg, "used by running workspace ws1; stop it first", "running refusal message");
	close(lfd);
	unlinkat(wfd, "generation", 0);
	is_int(enc_sandbox_prune(&s, "one", false, NULL, NULL, &err), 0, "prune without users");
	is_int(count_entries(s.fd, "one/gen"), 1, "the unused generation is pruned");

	/* A live build of a name is seen; a dead one is swept. */
	int tfd = enc_mkdir_p_at(s.tmp_fd, "two.AbCdEf", 0700, NULL);
	int hold = enc_lock_at(tfd, "lock", ENC_LOCK_EXCLUSIVE, false, NULL);
	ok(hold >= 0, "a fake live build");
	tar_recipe(&r);
	err = (struct enc_err){};
	is_int(enc_build_begin(&s, "two", &r, false, &b, &res, &err), -EBUSY, "create during a live build");
	is_str(err.msg, "sandbox 'two' is being created by another process", "live build message");
	enc_build_free(&b);
	enc_recipe_free(&r);
	close(hold);	/* the builder "dies" */
	close(tfd);
	enc_store_close(&s);
	is_int(enc_store_open(&s, &st, &serr, &err), 0, "reopen sweeps");
	is_int(count_entries(s.fd, ".tmp"), 0, "the dead build was swept");
	ok(!enc_err_isset(&serr), "sweep without errors");

	is_int(enc_sandbox_remove(&s, "one", true, &err), 0, "rm --force of a stopped user");
	is_int(enc_store_names(&s, &names, &err), 0, "names after rm");
	is_int(names.n, 0, "store empty again");
	err = (struct enc_err){};
	is_int(enc_sandbox_load(&s, "one", &sb, &err), -ENOENT, "load of a removed sandbox");
	is_str(err.msg, "no sandbox named 'one'", "missing sandbox message");

	close(wfd);
	enc_strv_free(&names);
	enc_store_close(&s);
	enc_state_close(&st);
	/* enc_rm_rf_at() works beneath a directory fd: the temp dir's parent. */
	int parent = open("/tmp", O_DIRECTORY | O_CLOEXEC);
	ok(parent >= 0 && enc_rm_rf_at(parent, tmpl + 5, NULL) == 0, "temp state removed");
	close(parent);
}

/* Setup lists: the base id, the Enclavefile's recipe, the setup lines. */
static void test_setup(void)
{
	struct enc_recipe a = { .method = ENC_BOOTSTRAP_DEBOOTSTRAP }, b;
	char ia[ENC_GEN_ID_SIZE], ib[ENC_GEN_ID_SIZE], base[ENC_GEN_ID_SIZE];
	struct enc_err err = {};

	gen_id(&a, ia);
	is_int(enc_recipe_base_id(&a, base), 0, "base id of a recipe without setup");
	is_str(base, ia, "... is its own id");
	push(&a.setup, "apt-get install -y git");
	gen_id(&a, ib);
	is_int(enc_recipe_base_id(&a, base), 0, "base id of a recipe with setup");
	is_str(base, ia, "... is the id without the setup list");
	ok(strcmp(ia, ib) != 0, "the setup list changes the id");
	push(&a.setup, "true");
	gen_id(&a, ia);
	ok(strcmp(ia, ib) != 0, "one more setup command changes the id");
	is_int(a.setup.n, 2, "the base id leaves the setup list alone");
	enc_recipe_free(&a);

	/* The recipe of an Enclavefile. */
	static const char file[] =
		"[sandbox]\n"
		"name = devbox\n"
		"setup = apt-get install -y nodejs\n"
		"; a comment: setup = not this\n"
		"setup = echo \"a=b\" > /etc/x\n"
		"[workspace.api]\n"
		"run = node server.js\n";
	struct enc_config c = {};
	is_int(enc_config_parse_buf("Enclavefile", file, strlen(file), "/srv", &c, &err), 0,
	       "parse an Enclavefile with setup");
	is_int(enc_recipe_from_conf(&c.sandbox, &b, &err), 0, "recipe from the [sandbox] section");
	is_int(b.setup.n, 2, "two setup commands");
	is_str(b.setup.v[1], "echo \"a=b\" > /etc/x", "setup command kept as written");
	gen_id(&b, ib);
	is_int(enc_recipe_base_id(&b, base), 0, "base id of the file's recipe");
	is_str(base, "eb33576072f79caf", "the file's defaults are debootstrap's defaults");
	enc_recipe_free(&b);
	enc_config_free(&c);

	static const char tarfile[] =
		"[sandbox]\n"
		"name = bb\n"
		"bootstrap_method = tar\n"
		"source = ./rootfs.tar\n"
		"setup = true\n";
	is_int(enc_config_parse_buf("Enclavefile", tarfile, strlen(tarfile), "/srv", &c, &err), 0,
	       "parse a tar Enclavefile");
	is_int(enc_recipe_from_conf(&c.sandbox, &b, &err), 0, "tar recipe from the file");
	is_str(b.source, "/srv/rootfs.tar", "source resolved against the file");
	ok(!b.variant && !b.mirror && !b.include.n && !b.components.n && !b.suite,
	   "no debootstrap-only keys and no suite label in a tar recipe");
	b.fingerprint = xstrdup(FP);
	err = (struct enc_err){};
	is_int(enc_recipe_finish(&b, &err), 0, "the tar recipe finishes");
	enc_recipe_free(&b);
	enc_config_free(&c);

	/* Line numbers of the setup keys. */
	char path[] = "/tmp/enclave-test-setup.XXXXXX";
	int fd = mkstemp(path);
	static const char lines[] =
		"# top\n"
		"[workspace.a]\n"
		"run = setup\n"
		"\n"
		"[ sandbox ]\n"
		"name = x\n"
		"setup = one\n"
		"; setup = no\n"
		"setup: two\n"
		"\tthree, a continuation line\n"
		"suite = bookworm\n"
		"  not setup, a continuation of suite\n"
		"[workspace.b]\n"
		"setup = not counted\n";
	ok(fd >= 0 && write(fd, lines, strlen(lines)) == (ssize_t)strlen(lines), "write a file");
	close(fd);
	unsigned ln[4] = { 0 };
	is_int(enc_setup_lines_scan(path, 3, ln), 0, "scan the setup lines");
	is_int(ln[0], 7, "first setup line");
	is_int(ln[1], 9, "second setup line");
	is_int(ln[2], 10, "a continuation line is the third");
	is_int(enc_setup_lines_scan(path, 4, ln), -EINVAL, "fewer setup lines than commands");
	is_int(enc_setup_lines_scan(path, 2, ln), -EINVAL, "more setup lines than commands");
	is_int(enc_setup_lines_scan("/nonexistent/x", 1, ln), -ENOENT, "missing file");
	unlink(path);
}

/* Build a tar recipe with the given setup commands (NULL-terminated). */
static void build_setup(struct enc_store *s, const char *const *setup, const char *what)
{
	struct enc_recipe r;
	struct enc_build b = ENC_BUILD_INIT;
	enum enc_create_result res = 99;
	struct enc_err err = {};

	tar_recipe(&r);
	for (; *setup; setup++)
		push(&r.setup, *setup);
	if (enc_recipe_finish(&r, NULL) < 0)
		abort();
	ok(enc_build_begin(s, "sb", &r, true, &b, &res, &err) == 0, "%s: begin", what);
	if (res == ENC_CREATE_BUILD)
		ok(enc_build_commit(s, &b, &r, 0, NULL, &err) == 0, "%s: commit", what);
	enc_build_abort(s, &b, NULL);
	enc_build_free(&b);
	enc_recipe_free(&r);
}

static void test_prune_keeps_base(void)
{
	char tmpl[] = "/tmp/enclave-test-sandbox.XXXXXX", path[256];
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_sandbox sb = {};
	struct enc_recipe r;
	char base[ENC_GEN_ID_SIZE];
	static const char *const none[] = { NULL };
	static const char *const one[] = { "echo one", NULL };
	static const char *const two[] = { "echo two", NULL };

	if (!mkdtemp(tmpl))
		abort();
	snprintf(path, sizeof(path), "%s/data", tmpl);
	setenv("ENCLAVE_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/run", tmpl);
	setenv("ENCLAVE_RUNTIME_DIR", path, 1);
	if (enc_state_open(&st, NULL) < 0 || enc_store_open(&s, &st, NULL, NULL) < 0)
		abort();
	build_setup(&s, none, "the base");
	build_setup(&s, one, "setup one");
	build_setup(&s, two, "setup two");
	is_int(count_entries(s.fd, "sb/gen"), 3, "three generations");
	is_int(enc_sandbox_prune(&s, "sb", false, NULL, NULL, NULL), 0, "prune");
	is_int(count_entries(s.fd, "sb/gen"), 2, "prune keeps the current one and its base");
	tar_recipe(&r);
	gen_id(&r, base);
	enc_recipe_free(&r);
	snprintf(path, sizeof(path), "sb/gen/%s", base);
	ok(faccessat(s.fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0, "the base generation is kept");
	is_int(enc_sandbox_load(&s, "sb", &sb, NULL), 0, "load");
	is_int(sb.recipe.setup.n, 1, "the current recipe has its setup list");
	is_str(sb.recipe.setup.v[0], "echo two", "the current setup list is the last one");
	enc_sandbox_free(&sb);
	is_int(enc_sandbox_remove(&s, "sb", true, NULL), 0, "rm");
	enc_store_close(&s);
	enc_state_close(&st);
	int parent = open("/tmp", O_DIRECTORY | O_CLOEXEC);
	ok(parent >= 0 && enc_rm_rf_at(parent, tmpl + 5, NULL) == 0, "temp state removed");
	close(parent);
}

int main(void)
{
	test_defaults();
	test_finish_errors();
	test_gen_id();
	test_format_parse();
	test_lists_and_names();
	test_store();
	test_setup();
	test_prune_keeps_base();
	return tap_done();
}
