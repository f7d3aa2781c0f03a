/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.h - the sandbox store: recipes, immutable generations, the
 * current pointer, locks, listing, removal and pruning (DESIGN.md §6, §11;
 * enclave-bootstrap(1)).
 *
 * Layout beneath <data>/sandboxes/ (every directory 0700):
 *
 *   .lock                     store lock (see "Locks")
 *   .tmp/<name>.XXXXXX/       a create or update of <name> in progress; it
 *                             is laid out like a sandbox directory and, for
 *                             a new sandbox, renamed to <name> as a whole
 *   .tmp/<name>.XXXXXX/lock   held LOCK_EX by the builder for its whole life
 *   .tmp/.rm.XXXXXX/          a removal in progress (same lock rule)
 *   <name>/sandbox.conf       the recipe of the last create/update (key=value)
 *   <name>/current            one fact: the current generation id
 *   <name>/lock               sandbox lock (see "Locks")
 *   <name>/gen/<id>/rootfs/   the root file system, 0755 root; never
 *                             modified once renamed into gen/
 *   <name>/gen/<id>/recipe    the recipe that made it (sandbox.conf format)
 *   <name>/gen/<id>/info      created=ISO-8601, method=, size=, adopt=
 *   rootfs-cache/<suite>/     input of the cached_rootfs method, falling
 *   rootfs-cache/base/        back to base/ ("rootfs-cache" is reserved)
 *
 * Workspaces (enclave-spawn) record the generation they use in
 * workspaces/<sandbox>/<ws>/generation and hold workspaces/<sandbox>/<ws>/lock
 * while running; a generation named by any such file is "used" and is never
 * pruned.
 *
 * Locks (always taken in this order, store before sandbox):
 *  - store lock: LOCK_EX, held briefly while a temp dir is made, while
 *    stale temp dirs are claimed, and while a sandbox directory appears or
 *    disappears. A temp dir whose own lock is not held belongs to a dead
 *    process and is swept (claimed under the store lock, then removed after
 *    it is released) by the next enc_store_open().
 *  - sandbox lock: LOCK_EX while `current` is switched, generations are
 *    pruned or the sandbox is removed. A workspace starter takes it
 *    LOCK_SH while it reads `current` and writes its `generation` file, so
 *    prune never removes a generation being adopted.
 *  - building is not under the sandbox lock: "a build of <name> is in
 *    progress" means a live .tmp/<name>.XXXXXX, so readers never wait for
 *    a debootstrap run.
 *
 * The recipe functions are pure (no file system) and unit-tested; the
 * store functions return 0 or -errno and fill err, never print.
 */
#ifndef ENCLAVE_SANDBOX_H
#define ENCLAVE_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "config.h"
#include "err.h"
#include "names.h"
#include "state.h"

#define ENC_GEN_ID_SIZE (ENC_GEN_ID_LEN + 1)
#define ENC_TIME_ISO_SIZE 21		/* "2025-01-31T23:59:59Z" + NUL */
#define ENC_RECIPE_MAX (256 * 1024)	/* bytes of a recipe file */
#define ENC_SANDBOX_CACHE_DIR "rootfs-cache"

#define ENC_DEFAULT_SUITE "bookworm"
#define ENC_DEFAULT_MIRROR "http://deb.debian.org/debian"
#define ENC_DEFAULT_VARIANT "minbase"
#define ENC_DEFAULT_COMPONENTS "main"

/* How a generation was made. Every field enters the generation id. */
struct enc_recipe {
	enum enc_bootstrap_method method;
	char *suite;		/* NULL for dir/tar without a suite label */
	char *mirror;		/* debootstrap/mmdebstrap only */
	char *variant;		/* debootstrap/mmdebstrap only */
	struct enc_strv include;	/* packages, in the order given */
	struct enc_strv components;
	char *source;		/* dir/tar: absolute path; cached_rootfs:
				 * "rootfs-cache/<suite|base>" (resolved) */
	char *fingerprint;	/* dir/tar/cached_rootfs: 64 hex chars */
	struct enc_strv setup;	/* ordered setup commands, run as root in the
				 * new generation (see enc_sandbox_create) */
};

void enc_recipe_free(struct enc_recipe *r);

/* Fill the method's defaults and validate every field: suite
 * [a-z0-9][a-z0-9._-]*, mirror http(s):// or file:///, variant [a-z-]+,
 * package and component names, absolute source, hex fingerprint, setup
 * commands without newlines. mirror/variant/include/components are refused
 * for methods that do not use them; dir/tar need a source, the others
 * refuse one (cached_rootfs's source is filled in by the store, so it is
 * accepted when it starts with "rootfs-cache/"). Idempotent. */
int enc_recipe_finish(struct enc_recipe *r, struct enc_err *err);

/* The generation id: the first 16 hex chars of SHA-256 over a version tag
 * and every field, length-prefixed (enc_sha256_field), lists as a count
 * then their items in order. Returns 0 or -ENOMEM. */
int enc_recipe_gen_id(const struct enc_recipe *r, char id[ENC_GEN_ID_SIZE]);

/* Serialise as key=value lines (sandbox.conf); NULL on ENOMEM. */
char *enc_recipe_format(const struct enc_recipe *r);

/* Parse sandbox.conf text: '#' comments and empty lines skipped, unknown
 * or repeated keys (except setup) are errors "WHAT:LINE: ...". The result
 * is passed through enc_recipe_finish(). */
int enc_recipe_parse(const char *text, const char *what, struct enc_recipe *out,
		     struct enc_err *err);

/* Split a comma (or whitespace) separated list of package (kind "package")
 * or component ("component") names into out, validating each. Appends. */
int enc_recipe_split_list(const char *s, const char *kind, struct enc_strv *out,
			  struct enc_err *err);

/* enc_name_check(ENC_NAME_SANDBOX) plus the reserved "rootfs-cache". */
int enc_sandbox_name_check(const char *name, struct enc_err *err);

/* Which sandbox a .tmp entry is building: "<name>.XXXXXX" (6 chars from
 * [A-Za-z0-9]) gives <name>. Returns 0, or -EINVAL for anything else
 * (including ".rm.XXXXXX"). */
int enc_tmp_entry_owner(const char *entry, char *name, size_t size);

/* "2025-01-31T23:59:59Z". */
void enc_time_iso(time_t t, char buf[ENC_TIME_ISO_SIZE]);

/* ---- the store ----------------------------------------------------------- */

struct enc_store {
	int fd;			/* <data>/sandboxes */
	int tmp_fd;		/* <data>/sandboxes/.tmp */
	int data_fd;		/* borrowed from the state: workspaces/ lives there */
	char *path;		/* <data>/sandboxes, for child programs and messages */
};

#define ENC_STORE_INIT { .fd = -1, .tmp_fd = -1, .data_fd = -1 }

/* Open (creating) <data>/sandboxes and .tmp and sweep stale temp dirs.
 * A sweep that cannot finish (e.g. a mount point left beneath a temp dir)
 * does not fail the open: *sweep_err (optional) gets the first such error. */
int enc_store_open(struct enc_store *s, const struct enc_state *st,
		   struct enc_err *sweep_err, struct enc_err *err);
void enc_store_close(struct enc_store *s);

/* Names of the complete sandboxes (those with a `current`), sorted. */
int enc_store_names(const struct enc_store *s, struct enc_strv *out, struct enc_err *err);

/* A workspace that records a generation of a sandbox. */
struct enc_ws_use {
	char *ws;
	char gen[ENC_GEN_ID_SIZE];	/* "" when unreadable */
	bool running;			/* its lock is held */
};

/* Every workspace dir under workspaces/<name>/ (sorted by name). A missing
 * workspaces directory is an empty list. */
int enc_sandbox_users(const struct enc_store *s, const char *name,
		      struct enc_ws_use **out, size_t *n, struct enc_err *err);
void enc_ws_uses_free(struct enc_ws_use *u, size_t n);

struct enc_gen {
	char id[ENC_GEN_ID_SIZE];
	bool current;
	char created[ENC_TIME_ISO_SIZE];	/* "" when unknown */
	char *method;			/* from info, may be NULL */
	char *adopt;			/* cached_rootfs: reflink/hardlink/copy */
	uint64_t size;			/* bytes allocated, see enclave-bootstrap(1) */
	struct enc_strv used_by;	/* workspaces naming this generation */
};

struct enc_sandbox {
	char *name;
	char current[ENC_GEN_ID_SIZE];
	struct enc_recipe recipe;	/* of the current generation */
	struct enc_gen *gens;		/* current first, then newest first */
	size_t ngens;
	struct enc_ws_use *users;	/* all workspace dirs of the sandbox */
	size_t nusers;
	char *rootfs;			/* path of the current rootfs */
};

/* Load a complete sandbox: -ENOENT "no sandbox named 'x'". */
int enc_sandbox_load(const struct enc_store *s, const char *name,
		     struct enc_sandbox *out, struct enc_err *err);
void enc_sandbox_free(struct enc_sandbox *sb);

/* ---- create -------------------------------------------------------------- */

enum enc_create_result {
	ENC_CREATE_BUILD,	/* a temp dir is ready: fill rootfs_fd, then
				 * enc_build_commit() or enc_build_abort() */
	ENC_CREATE_UNCHANGED,	/* the sandbox exists with this very recipe */
	ENC_CREATE_SWITCHED,	/* --update to a generation already built:
				 * current now points to it */
};

struct enc_build {
	char *name;
	char gen[ENC_GEN_ID_SIZE];
	char old_gen[ENC_GEN_ID_SIZE];	/* "" for a new sandbox */
	char tmpname[ENC_NAME_MAX + 16];	/* entry in .tmp */
	/* The pre-setup base generation built alongside (gen/<base>/ in the
	 * temp dir), or "": commit publishes it too, not as current. */
	char base_gen[ENC_GEN_ID_SIZE];
	bool new_sandbox;
	/* Set by the caller when the rootfs wrote no new file data (a
	 * hard-link adoption: the data is the cache's, already on disk, and
	 * journaled metadata is ordered before the publishing rename), so
	 * commit fsyncs its own small files instead of syncing the whole
	 * file system. */
	bool data_on_disk;
	int tmp_fd;		/* .tmp/<name>.XXXXXX */
	int lock_fd;		/* its lock, held LOCK_EX */
	int rootfs_fd;		/* gen/<id>/rootfs: empty, 0755, owned by root */
	char *tmp_path;		/* absolute path of tmp_fd */
	char *rootfs_path;	/* absolute path of rootfs_fd */
};

#define ENC_BUILD_INIT { .tmp_fd = -1, .lock_fd = -1, .rootfs_fd = -1 }

/* Decide what a create of `name` with the finished recipe r means:
 *  - new name: a temp build (-EBUSY "sandbox 'x' is being created by
 *    another process" when a live build of the name exists);
 *  - existing, same generation id: ENC_CREATE_UNCHANGED;
 *  - existing, different: -EEXIST "... already exists with a different
 *    recipe ..." unless update, then a switch (generation already built)
 *    or a temp build (-EBUSY "... is being updated by another process").
 * On ENC_CREATE_UNCHANGED and ENC_CREATE_SWITCHED, b->gen/old_gen are set
 * and nothing else needs releasing (enc_build_abort() is still safe). */
int enc_build_begin(const struct enc_store *s, const char *name,
		    const struct enc_recipe *r, bool update, struct enc_build *b,
		    enum enc_create_result *res, struct enc_err *err);

/* Record the generation (recipe, info with `size` and the optional extra
 * "key=value\n" lines), make it durable (syncfs, unless data_on_disk) and
 * publish it: a new
 * sandbox appears by one rename of the temp dir; an update renames the
 * generation into gen/ and switches `current` under the sandbox lock.
 * On failure nothing is published and the temp dir is left for
 * enc_build_abort(). */
int enc_build_commit(const struct enc_store *s, struct enc_build *b,
		     const struct enc_recipe *r, uint64_t size, const char *extra_info,
		     struct enc_err *err);

/* Remove the temp dir (if any) and release its lock. Idempotent. A
 * failure (reported in err) leaves the rest to the next sweep. */
int enc_build_abort(const struct enc_store *s, struct enc_build *b, struct enc_err *err);
void enc_build_free(struct enc_build *b);

/* ---- rm and prune -------------------------------------------------------- */

/* Remove a sandbox with all its generations. Refused (-EBUSY) while a
 * build of it is in progress, while its lock is held, while a workspace
 * uses it (unless force) and, even with force, while a workspace of it is
 * running. The directory leaves the store by one rename; the tree is then
 * deleted (a crash in between is swept later). */
int enc_sandbox_remove(const struct enc_store *s, const char *name, bool force,
		       struct enc_err *err);

/* Called for each generation pruned (or, with dry_run, that would be). */
typedef void (*enc_prune_fn)(void *ctx, const char *sandbox, const struct enc_gen *g);

/* Remove every generation that is neither current nor used by a workspace
 * nor the base (the tree before setup) of the current one,
 * in sandbox `name` or (NULL) in all sandboxes. A sandbox whose lock is
 * held is skipped with -EBUSY reported at the end (the others proceed). */
int enc_sandbox_prune(const struct enc_store *s, const char *name, bool dry_run,
		      enc_prune_fn fn, void *ctx, struct enc_err *err);

/* ---- create and update with setup (enclave-bootstrap create, enclave up) -- */

/* The recipe without its setup list: the id of the tree the setup commands
 * start from. */
int enc_recipe_base_id(const struct enc_recipe *r, char id[ENC_GEN_ID_SIZE]);

/* The recipe of an Enclavefile's [sandbox] section (not yet finished: the
 * store fills the source fingerprint). Keys a method does not use (the
 * defaults config.c fills for every method) are left out. */
int enc_recipe_from_conf(const struct enc_sandbox_conf *c, struct enc_recipe *r,
			 struct enc_err *err);

/* The line numbers of the `setup` keys of the [sandbox] section of the
 * Enclavefile at path, in order, into lines[0..n-1]. The config model keeps
 * only section lines; this rescans the file. -EINVAL when the count found
 * is not n (the file changed, or continuation lines): callers then name
 * the command by its number only. */
int enc_setup_lines_scan(const char *path, size_t n, unsigned *lines);

#define ENC_SETUP_TAIL_LINES 10

struct enc_create_opts {
	bool update;		/* an existing sandbox may get a new generation */
	/* Output lines of the bootstrap programs (enc_rootfs_opts.line). */
	void (*line)(void *ctx, const char *line);
	/* Called before setup command i (0-based) of n runs. */
	void (*setup_begin)(void *ctx, size_t i, size_t n, const char *cmd);
	void *ctx;
	/* The setup commands' stdout and stderr, merged, are copied here as
	 * they come (-1: not shown; the last lines are kept either way). */
	int out_fd;
	volatile sig_atomic_t *cancel;	/* as in enc_rootfs_opts */
	const char *program;		/* debootstrap/mmdebstrap to run instead */
	/* Network mode of the setup commands (enclave-spawn --net): NULL is
	 * "nat" (outbound only; metadata and host blocked). */
	const char *setup_net;
	/* Where the setup commands came from, for messages: "FILE:LINE"
	 * when both are set, else "setup command N". */
	const char *file;
	const unsigned *setup_lines;
};

struct enc_create_report {
	enum enc_create_result res;
	char gen[ENC_GEN_ID_SIZE];
	char old_gen[ENC_GEN_ID_SIZE];	/* "" for a new sandbox */
	bool new_sandbox;
	uint64_t size;			/* of the new generation (built) */
	const char *adopt;		/* cached_rootfs: reflink/hardlink/copy */
	char base_gen[ENC_GEN_ID_SIZE];	/* setup: the tree it started from */
	bool base_reused;		/* ... copied from an existing generation */
	size_t setup_ran;		/* setup commands that ran */
	/* A failed setup command: its 1-based number, exit status (as
	 * enclave-spawn run's: 126/127 not runnable, 128+N signal) and its
	 * last output lines (at most ENC_SETUP_TAIL_LINES, owned). */
	size_t failed;
	int failed_status;
	char *tail;
};

void enc_create_report_free(struct enc_create_report *rep);

/* Create `name` from recipe r, or (opts->update) bring an existing sandbox
 * to r. Fingerprints r's source (dir, tar, cached_rootfs), finishes r and
 * decides with enc_build_begin(): an unchanged recipe (setup list
 * included) returns ENC_CREATE_UNCHANGED without touching any tree.
 *
 * A build fills the new generation's rootfs (bootstrap, import or adopt);
 * with setup commands it first makes the base tree (r without setup) in its
 * own generation, or reuses the sandbox's existing generation of that base,
 * copies it (reflink where the file system can, else a full copy: setup
 * writes in place, so hard links to an immutable generation are never
 * used), then runs each command with /bin/sh -c as root in that rootfs
 * (enc_spawn_spec.setup_root, network opts->setup_net), streaming output to
 * opts->out_fd. The first failing command stops the build: nothing of the
 * new generation stays, the current generation stays current, the report
 * says which command and how, and err reads "FILE:LINE: setup command
 * 'CMD' failed with exit status N" (-EIO). A base generation built on the
 * way is kept for an existing sandbox (so the corrected list starts from
 * it) and dropped with everything else for a new one.
 *
 * Needs root for the methods rootfs.h says so; setup needs what
 * enclave-spawn needs. Interrupted (*cancel): -ECANCELED, nothing left. */
int enc_sandbox_create(const struct enc_state *st, const struct enc_store *s,
		       const char *name, struct enc_recipe *r,
		       const struct enc_create_opts *opts, struct enc_create_report *rep,
		       struct enc_err *err);

/* The front door (`enclave up`): create or update the sandbox of an
 * Enclavefile's [sandbox] section, setup included; update is implied and
 * opts->file/setup_lines are filled from c. Opens the store itself. */
int enc_sandbox_up(const struct enc_state *st, const struct enc_config *c,
		   const struct enc_create_opts *opts, struct enc_create_report *rep,
		   struct enc_err *err);

#endif
