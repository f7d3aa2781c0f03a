/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * auth.h - provider tokens: the store, and what a workspace that declares
 * them gets (DESIGN.md §9, §15.2; enclave-auth(1)).
 *
 * Store: <data>/auth/<provider>.token, exactly the token's bytes, mode
 * 0600, owned by the state's owner (st->uid), in a directory auth/ of mode
 * 0700 owned by the same user. Written atomically (enc_fact_write) under
 * the flock auth/lock. Before every use the directory and the file are
 * checked: a symlink anywhere (openat2), a file that is not regular, a
 * foreign owner, a mode other than 0600, a group- or world-writable
 * directory, a file larger than ENC_AUTH_TOKEN_MAX or content that is not a
 * valid token is refused with the reason, and never fixed silently. Host
 * credential sources (~/.ssh, ~/.gitconfig, ~/.aws, the environment) are
 * never read.
 *
 * Tokens: 1 to ENC_AUTH_TOKEN_MAX bytes, no NUL, no newline, no other
 * control character (bytes below 0x20 and 0x7f). Input may end in one "\n"
 * or "\r\n" (a line from a pipe or a terminal), which is not part of the
 * token. Bytes >= 0x80 and spaces are kept as they are.
 *
 * Providers (names: ENC_NAME_PROVIDER rules, case-sensitive):
 *   github   GITHUB_TOKEN, GH_TOKEN, and git's HTTPS credentials for
 *            https://github.com (below)
 *   npm      NPM_TOKEN
 *   enclave  ENCLAVE_TOKEN
 *   other    generic: only the file /run/enclave/auth/<provider>.token; an
 *            environment variable only when named in env_tokens
 *
 * env_tokens NAME takes the token of one provider: the one that injects
 * NAME (GITHUB_TOKEN and GH_TOKEN: github, NPM_TOKEN: npm, ENCLAVE_TOKEN:
 * enclave), otherwise the provider named NAME in lowercase without a
 * trailing "_token" (HF_TOKEN: hf, OPENAI_API_KEY: openai_api_key). So
 * `enclave-auth login enclave` serves env_tokens = ENCLAVE_TOKEN. Names
 * enclave sets itself (PATH, HOME, USER, LOGNAME, SHELL, LANG, HOSTNAME,
 * TERM, ENCLAVE_SANDBOX, ENCLAVE_WORKSPACE, GIT_TERMINAL_PROMPT,
 * GIT_CONFIG_*) are refused.
 *
 * Injection plan: for the providers a workspace declares (auth) and its
 * env_tokens, with the tokens found:
 *   env    NAME=token for each variable above; for github also
 *          GIT_TERMINAL_PROMPT=0 and GIT_CONFIG_COUNT/KEY_0/VALUE_0 setting
 *          credential.https://github.com.helper to a shell helper that
 *          prints the token file's content as the password (the value names
 *          the file, it holds no token);
 *   files  auth/<provider>.token and env/<NAME> beneath /run/enclave, the
 *          token's bytes, 0400, owned by the workspace user, in directories
 *          of mode 0500 owned by the workspace user;
 *   names  the providers and env token names injected (for the audit log)
 *          and those declared without a token (warnings, audit).
 * A declared provider or env token with no stored token is not an error: it
 * is listed in missing/missing_env and warnings, and nothing is injected
 * for it. A refused token (bad owner, mode, ...) is an error.
 *
 * Contract: 0 or -errno with err filled; never prints. Messages never
 * contain a token's bytes. Buffers that held a token are wiped
 * (explicit_bzero) before they are freed.
 */
#ifndef ENCLAVE_AUTH_H
#define ENCLAVE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "err.h"
#include "names.h"
#include "state.h"

#define ENC_AUTH_TOKEN_MAX (16 * 1024)
#define ENC_AUTH_DIR "auth"		/* beneath the data root */
#define ENC_AUTH_SUFFIX ".token"
/* Where the files go inside a workspace; plan paths are relative to it. */
#define ENC_AUTH_RUN_DIR "/run/enclave"
/* Used by the git credential helper for github. */
#define ENC_AUTH_GIT_USERNAME "x-access-token"

/* ---- pure ---------------------------------------------------------------- */

/* Check bytes read from a terminal, a pipe or the store. On success
 * *token_len is the token's length (input minus one trailing "\n" or
 * "\r\n"). -EINVAL: "the token is empty", "... contains a NUL byte",
 * "... contains a newline ...", "... contains a control character (0xNN)
 * ..."; -E2BIG: longer than ENC_AUTH_TOKEN_MAX. */
int enc_auth_token_check(const char *buf, size_t len, size_t *token_len, struct enc_err *err);

/* The environment variables of a provider: a NULL-terminated list, empty
 * for a generic provider. */
const char *const *enc_auth_provider_env(const char *provider);

/* Does this provider configure git (github)? */
bool enc_auth_provider_git(const char *provider);

/* The provider whose token env token `name` takes (see above), into out.
 * -EINVAL when name is reserved or no valid provider name derives from
 * it. */
int enc_auth_env_provider(const char *name, char out[ENC_NAME_MAX + 1], struct enc_err *err);

/* ---- the store ------------------------------------------------------------ */

/* Store a token (already checked with enc_auth_token_check; checked again)
 * for provider, replacing any old one. Creates auth/ 0700 if missing. */
int enc_auth_store(const struct enc_state *st, const char *provider, const char *token,
		   size_t len, struct enc_err *err);

/* Remove a provider's token. -ENOENT "no token stored for provider 'X'". */
int enc_auth_remove(const struct enc_state *st, const char *provider, struct enc_err *err);

/* Read a provider's token after the checks above. -ENOENT when there is
 * none (err names it); other errors are refusals or I/O errors. *token is
 * NUL-terminated; free it with enc_auth_token_free(). */
int enc_auth_load(const struct enc_state *st, const char *provider, char **token, size_t *len,
		  struct enc_err *err);
void enc_auth_token_free(char *token, size_t len);

struct enc_auth_entry {
	char provider[ENC_NAME_MAX + 1];
	int64_t stored;			/* mtime, seconds since the epoch */
	int state;			/* 0: ok, else the -errno of the refusal */
	char reason[ENC_ERR_MSG_MAX];	/* "" when ok */
};

/* Every <provider>.token in the store, sorted by provider, each checked as
 * before a use (values are not kept). A missing auth/ is an empty list.
 * Free *out with free(). */
int enc_auth_list(const struct enc_state *st, struct enc_auth_entry **out, size_t *n,
		  struct enc_err *err);

/* ---- injection ------------------------------------------------------------ */

struct enc_auth_file {
	char *path;		/* relative to ENC_AUTH_RUN_DIR: "auth/github.token" */
	char *data;		/* the token (secret) */
	size_t len;
};

struct enc_auth_plan {
	struct enc_strv env;		/* NAME=value (secret), in order, no duplicates */
	struct enc_auth_file *files;
	size_t nfiles;
	struct enc_strv providers;	/* declared providers injected */
	struct enc_strv env_names;	/* env token names injected */
	struct enc_strv missing;	/* declared providers without a token */
	struct enc_strv missing_env;	/* env token names without a token */
	struct enc_strv warnings;	/* one message per missing item, names only */
};

/* Look a provider's token up: 0 and a malloc'ed *token, -ENOENT for none,
 * another -errno to fail the plan. */
typedef int enc_auth_lookup_fn(void *ctx, const char *provider, char **token, size_t *len,
			       struct enc_err *err);

/* Build the plan from a lookup (pure given the lookup: unit tests pass
 * their own). On error *plan is empty. */
int enc_auth_plan_make(const struct enc_strv *auth, const struct enc_strv *env_tokens,
		       enc_auth_lookup_fn *lookup, void *ctx, struct enc_auth_plan *plan,
		       struct enc_err *err);

/* The same with the store of st (enc_auth_load). */
int enc_auth_plan_build(const struct enc_state *st, const struct enc_strv *auth,
			const struct enc_strv *env_tokens, struct enc_auth_plan *plan,
			struct enc_err *err);

/* Nothing to inject and nothing missing. */
bool enc_auth_plan_empty(const struct enc_auth_plan *plan);

/* Create the plan's files beneath rundir (an O_DIRECTORY fd of the
 * workspace's fresh /run/enclave; the caller is root of the workspace's
 * user namespace and nothing of the workload runs yet): directories auth/
 * and env/ (only when they get a file) 0500, files 0400, all owned by
 * uid:gid. Refuses anything already there (O_EXCL, no symlinks). */
int enc_auth_plan_install(const struct enc_auth_plan *plan, int rundir, uid_t uid, gid_t gid,
			  struct enc_err *err);

/* Wipe and drop every secret (env values, file data), keeping the names
 * lists and warnings: what a process keeps once the files exist. */
void enc_auth_plan_wipe(struct enc_auth_plan *plan);
void enc_auth_plan_free(struct enc_auth_plan *plan);

/* For tools: the warnings a start of a workspace with these declarations
 * would give (appended to *warnings), or the refusal that would fail it. */
int enc_auth_check(const struct enc_state *st, const struct enc_strv *auth,
		   const struct enc_strv *env_tokens, struct enc_strv *warnings,
		   struct enc_err *err);

#endif
