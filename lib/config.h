/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - the Enclavefile (DESIGN.md §12, enclavefile(5)) parsed with the
 * system inih into a validated model.
 *
 * Contract:
 *  - All or nothing: enc_config_load() fills *out only when the whole file
 *    parsed and validated; on the first error it returns -EINVAL (or -errno
 *    for I/O), leaves *out zeroed, and err->msg reads
 *    "FILE:LINE: key: what was expected" (or "FILE:LINE: message" for syntax
 *    errors, "FILE: message" for file-level ones). Nothing else is printed.
 *  - Sections: [sandbox] (at most once) and [workspace.NAME] (each NAME once).
 *    Unknown sections and keys are errors. Keys listed as "append" below may
 *    repeat and each occurrence appends; any other key given twice in one
 *    section is an error.
 *  - Values: surrounding double quotes are removed ("devbox" == devbox); lists
 *    are whitespace-separated words; relative paths are resolved against the
 *    Enclavefile's directory (the result is absolute and normalised, but not
 *    required to exist at parse time).
 *  - Defaults are filled in, so consumers never guess: see enc_config_defaults
 *    in config.c and enclavefile(5).
 */
#ifndef ENCLAVE_CONFIG_H
#define ENCLAVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "netaddr.h"
#include "json.h"

/* Line length limit of the system inih (INI_MAX_LINE - 1). */
#define ENC_CONFIG_MAX_LINE 199
#define ENC_CONFIG_MAX_SIZE (1024 * 1024)
#define ENC_CONFIG_MAX_WORKSPACES 256

enum enc_bootstrap_method {
	ENC_BOOTSTRAP_DEBOOTSTRAP,
	ENC_BOOTSTRAP_MMDEBSTRAP,
	ENC_BOOTSTRAP_CACHED_ROOTFS,
	ENC_BOOTSTRAP_DIR,
	ENC_BOOTSTRAP_TAR,
};

enum enc_net_mode {
	ENC_NET_NONE,
	ENC_NET_DENY,
	ENC_NET_NAT,
	ENC_NET_HOST,
};

enum enc_overlay_mode {
	ENC_OVERLAY_TMP,
	ENC_OVERLAY_PERSISTENT,
	ENC_OVERLAY_READONLY,
};

/* A NULL-terminated, owned string vector. */
struct enc_strv {
	char **v;
	size_t n;
};

struct enc_sandbox_conf {
	char *name;			/* required */
	enum enc_bootstrap_method method; /* bootstrap_method, default debootstrap */
	char *suite;			/* default "bookworm" */
	char *mirror;			/* NULL: the method's default */
	char *variant;			/* default "minbase" */
	struct enc_strv include;	/* include = pkg pkg ... (append) */
	struct enc_strv components;	/* components = main contrib (append) */
	char *source;			/* dir/tar methods: absolute path */
	struct enc_strv setup;		/* setup = CMD (append), in order */
	unsigned line;			/* line of the section header */
};

struct enc_workspace_conf {
	char *name;			/* from [workspace.NAME] */
	char *run;			/* NULL: created ready for enter */
	char *workspace_dir;		/* absolute host path, or NULL */
	char *workspace_mount;		/* path inside; default same as host */
	struct enc_port *ports;		/* ports = SPEC ... (append) */
	size_t nports;
	struct enc_strv auth;		/* providers (append) */
	struct enc_strv env_tokens;	/* token names (append) */
	enum enc_net_mode network;	/* default deny */
	struct enc_cidr *allow;		/* allow = CIDR ... (append) */
	size_t nallow;
	bool log_allowed;		/* log allowed connections too */
	uint64_t memory;		/* bytes, 0 = no limit */
	uint64_t swap;			/* bytes, UINT64_MAX = not set */
	uint32_t cpus;			/* thousandths of a CPU, 0 = no limit */
	uint64_t pids;			/* 0 = no limit */
	uint64_t timeout;		/* ms, 0 = none */
	uint64_t tmp_size;		/* bytes cap on tmp/upper, 0 = none */
	struct enc_strv env;		/* env = K=V (append), validated names */
	char *user;			/* workspace user name, default "user" */
	uint32_t uid;			/* workspace user uid, default 1000 */
	char *hostname;			/* default: the workspace name */
	enum enc_overlay_mode overlay;	/* default tmp */
	struct enc_strv hide;		/* globs, default ".env" ".env.*" */
	struct enc_strv protect;	/* paths, relative to workspace_dir */
	unsigned line;
};

struct enc_config {
	char *path;			/* absolute path of the file */
	char *dir;			/* its directory */
	bool has_sandbox;
	struct enc_sandbox_conf sandbox;
	struct enc_workspace_conf *ws;	/* in file order */
	size_t nws;
};

int enc_config_load(const char *path, struct enc_config *out, struct enc_err *err);

/* Parse from memory; `name` is used in messages and `basedir` (absolute)
 * resolves relative paths. For tests and the fuzzer. */
int enc_config_parse_buf(const char *name, const char *buf, size_t len,
			 const char *basedir, struct enc_config *out,
			 struct enc_err *err);

void enc_config_free(struct enc_config *c);

const struct enc_workspace_conf *enc_config_find_ws(const struct enc_config *c,
						    const char *name);

/* The normalised model (enclave config). */
void enc_config_to_json(const struct enc_config *c, struct enc_json *j);

/* Keyword tables shared with the command line parsers. Return -EINVAL for
 * an unknown word. */
int enc_net_mode_parse(const char *s, enum enc_net_mode *m);
const char *enc_net_mode_str(enum enc_net_mode m);
int enc_overlay_mode_parse(const char *s, enum enc_overlay_mode *m);
const char *enc_overlay_mode_str(enum enc_overlay_mode m);
int enc_bootstrap_method_parse(const char *s, enum enc_bootstrap_method *m);
const char *enc_bootstrap_method_str(enum enc_bootstrap_method m);

/* The command line's counterpart of a [workspace.NAME] section: each
 * option is one (key, value) with the key spelled as in the Enclavefile.
 * The same validators run; a list key takes its value as one item (no
 * splitting on spaces: `--env 'A=b c'`), a single-valued key given twice
 * keeps the last, `hide` "none" clears the list. Defaults are filled as
 * for a file. Messages read "KEY: what was expected" (no file, no line).
 * basedir (absolute) resolves relative paths. *out is zeroed on error. */
struct enc_conf_option {
	const char *key;
	const char *value;
};
int enc_workspace_conf_from_options(const char *name, const char *basedir,
				    const struct enc_conf_option *opts, size_t n,
				    struct enc_workspace_conf *out, struct enc_err *err);
void enc_workspace_conf_free(struct enc_workspace_conf *ws);

/* strv helpers */
int enc_strv_push(struct enc_strv *sv, const char *s);	/* copies s */
void enc_strv_free(struct enc_strv *sv);

#endif
