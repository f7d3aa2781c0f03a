/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-auth.c - the token store and the injection plan (lib/auth.h): token
 * validation, the provider tables and the env_tokens mapping, the plan
 * built from a fake lookup, the store's refusals (mode, owner, symlink,
 * FIFO, size, content, directory) and the files installed for a workspace.
 * Runs as root and as an ordinary user; the foreign-owner cases need root.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "tap.h"

static char tmpdir[] = "/tmp/enc-test-auth.XXXXXX";

static const char *at(const char *rel)
{
	static char bufs[4][512];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, rel);
	return b;
}

/* Two passes: directories made writable top down (the install makes them
 * 0500), then everything removed bottom up. */
static int chmod_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_D)
		chmod(p, 0700);
	return 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void put(const char *rel, const char *data, size_t len, mode_t mode)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		printf("# setup: write %s: %s\n", rel, strerror(errno));
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

/* Setup steps: a failure shows as a diagnostic, and the checks after it
 * fail on their own. */
static void setup(int r, const char *what)
{
	if (r < 0)
		printf("# setup: %s: %s\n", what, strerror(errno));
}

static struct enc_strv sv(const char *const *words)
{
	struct enc_strv v = {};

	for (size_t i = 0; words[i]; i++)
		enc_strv_push(&v, words[i]);
	return v;
}

/* "a b c" of a strv, for one-line comparisons. */
static const char *joined(const struct enc_strv *v, char sep)
{
	static char buf[4096];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < v->n && off < sizeof(buf) - 1; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? (char[]){ sep, 0 } : "",
					v->v[i]);
	return buf;
}

/* ---- token check ----------------------------------------------------------- */

static void check(const char *name, const char *buf, size_t len, int want, size_t want_len,
		  const char *want_msg)
{
	struct enc_err e = {};
	size_t n = 12345;
	int r = enc_auth_token_check(buf, len, &n, &e);

	is_int(r, want, name);
	if (want == 0)
		is_int(n, want_len, "  length");
	else
		is_str(e.msg, want_msg, "  message");
}

static void test_token_check(void)
{
	static char big[ENC_AUTH_TOKEN_MAX + 3];

	check("plain token", "ghp_abc", 7, 0, 7, NULL);
	check("one trailing newline is not part of it", "ghp_abc\n", 8, 0, 7, NULL);
	check("nor a trailing CR LF", "ghp_abc\r\n", 9, 0, 7, NULL);
	check("spaces and UTF-8 are kept", "a b \xc3\xa9", 6, 0, 6, NULL);
	check("empty", "", 0, -EINVAL, 0, "the token is empty");
	check("only a newline is empty", "\n", 1, -EINVAL, 0, "the token is empty");
	check("two lines", "abc\ndef\n", 8, -EINVAL, 0,
	      "the token contains a newline (byte 4); it must be one line");
	check("two trailing newlines", "abc\n\n", 5, -EINVAL, 0,
	      "the token contains a newline (byte 4); it must be one line");
	check("NUL", "ab\0cd", 5, -EINVAL, 0, "the token contains a NUL byte (byte 3)");
	check("tab", "ab\tcd", 5, -EINVAL, 0, "the token contains a control character (0x09, byte 3)");
	check("ESC", "\x1b[31m", 5, -EINVAL, 0,
	      "the token contains a control character (0x1b, byte 1)");
	check("DEL", "ab\x7f", 3, -EINVAL, 0, "the token contains a control character (0x7f, byte 3)");
	check("a lone CR", "ab\rcd", 5, -EINVAL, 0,
	      "the token contains a control character (0x0d, byte 3)");

	memset(big, 'a', sizeof(big));
	check("16384 bytes is the limit", big, ENC_AUTH_TOKEN_MAX, 0, ENC_AUTH_TOKEN_MAX, NULL);
	big[ENC_AUTH_TOKEN_MAX] = '\n';
	check("16384 bytes and a newline", big, ENC_AUTH_TOKEN_MAX + 1, 0, ENC_AUTH_TOKEN_MAX, NULL);
	big[ENC_AUTH_TOKEN_MAX] = 'a';
	check("16385 bytes", big, ENC_AUTH_TOKEN_MAX + 1, -E2BIG, 0,
	      "the token is longer than 16384 bytes");
}

/* ---- providers and env_tokens -------------------------------------------------- */

static void env_provider(const char *name, int want, const char *want_out)
{
	struct enc_err e = {};
	char out[ENC_NAME_MAX + 1];
	int r = enc_auth_env_provider(name, out, &e);

	is_int(r, want, name);
	if (want == 0)
		is_str(out, want_out, "  provider");
	else
		is_str(e.msg, want_out, "  message");
}

static void test_providers(void)
{
	const char *const *e = enc_auth_provider_env("github");
	is_str(e[0], "GITHUB_TOKEN", "github: GITHUB_TOKEN");
	is_str(e[1], "GH_TOKEN", "github: GH_TOKEN");
	ok(e[2] == NULL, "github: two variables");
	e = enc_auth_provider_env("npm");
	ok(e[0] && strcmp(e[0], "NPM_TOKEN") == 0 && !e[1], "npm: NPM_TOKEN only");
	e = enc_auth_provider_env("enclave");
	ok(e[0] && strcmp(e[0], "ENCLAVE_TOKEN") == 0 && !e[1], "enclave: ENCLAVE_TOKEN only");
	ok(enc_auth_provider_env("GitHub")[0] == NULL, "provider names are case-sensitive");
	ok(enc_auth_provider_env("openai")[0] == NULL, "a generic provider has no variable");
	ok(enc_auth_provider_git("github"), "github configures git");
	ok(!enc_auth_provider_git("npm") && !enc_auth_provider_git("gitlab"), "others do not");

	env_provider("GITHUB_TOKEN", 0, "github");
	env_provider("GH_TOKEN", 0, "github");
	env_provider("NPM_TOKEN", 0, "npm");
	env_provider("ENCLAVE_TOKEN", 0, "enclave");
	env_provider("HF_TOKEN", 0, "hf");
	env_provider("OPENAI_API_KEY", 0, "openai_api_key");
	env_provider("My_Token", 0, "my");
	env_provider("TOKEN", 0, "token");
	env_provider("_TOKEN", -EINVAL,
		     "env token _TOKEN: its provider name '_token' is not valid: provider name "
		     "'_token' may contain only letters, digits, '_', '.' and '-' and must start "
		     "with a letter or digit");
	env_provider("PATH", -EINVAL,
		     "env token PATH: enclave sets this variable itself; choose another name");
	env_provider("ENCLAVE_WORKSPACE", -EINVAL,
		     "env token ENCLAVE_WORKSPACE: enclave sets this variable itself; choose another name");
	env_provider("GIT_CONFIG_KEY_0", -EINVAL,
		     "env token GIT_CONFIG_KEY_0: enclave sets this variable itself; choose another name");
	env_provider("GIT_TERMINAL_PROMPT", -EINVAL,
		     "env token GIT_TERMINAL_PROMPT: enclave sets this variable itself; choose another name");
}

/* ---- the plan from a fake lookup ------------------------------------------------- */

struct fake {
	int calls[8];
	int fail;	/* provider index that fails with -EPERM, or -1 */
};

static const char *const fake_names[] = { "github", "enclave", "custom", "npm", "hf", NULL };
static const char *const fake_tokens[] = { "gh-secret-1", "enc-secret-2", "cu-secret-3", NULL,
					   NULL };

static int fake_lookup(void *ctx, const char *provider, char **token, size_t *len,
		       struct enc_err *err)
{
	struct fake *f = ctx;

	for (int i = 0; fake_names[i]; i++) {
		if (strcmp(fake_names[i], provider) != 0)
			continue;
		f->calls[i]++;
		if (f->fail == i)
			return enc_err_set(err, -EPERM, "refused %s", provider);
		if (!fake_tokens[i])
			return enc_err_set(err, -ENOENT, "none for %s", provider);
		*token = strdup(fake_tokens[i]);
		*len = strlen(fake_tokens[i]);
		return 0;
	}
	return enc_err_set(err, -ENOENT, "none for %s", provider);
}

static bool plan_mentions(const struct enc_auth_plan *p, const char *secret)
{
	const struct enc_strv *lists[] = { &p->providers, &p->env_names, &p->missing,
					   &p->missing_env, &p->warnings };
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		for (size_t i = 0; i < lists[k]->n; i++)
			if (strstr(lists[k]->v[i], secret))
				return true;
	return false;
}

static void test_plan(void)
{
	const char *aw[] = { "github", "npm", "custom", NULL };
	const char *ew[] = { "ENCLAVE_TOKEN", "GH_TOKEN", "HF_TOKEN", "CUSTOM_TOKEN", NULL };
	struct enc_strv auth = sv(aw), envt = sv(ew);
	struct fake f = { .fail = -1 };
	struct enc_auth_plan p;
	struct enc_err e = {};

	is_int(enc_auth_plan_make(&auth, &envt, fake_lookup, &f, &p, &e), 0, "plan: built");
	is_str(joined(&p.env, '|'),
	       "GITHUB_TOKEN=gh-secret-1|GH_TOKEN=gh-secret-1|GIT_TERMINAL_PROMPT=0|"
	       "GIT_CONFIG_COUNT=1|GIT_CONFIG_KEY_0=credential.https://github.com.helper|"
	       "GIT_CONFIG_VALUE_0=!f() { test \"$1\" = get || return 0; printf "
	       "'username=%s\\npassword=%s\\n' x-access-token \"$(cat "
	       "/run/enclave/auth/github.token)\"; }; f|"
	       "ENCLAVE_TOKEN=enc-secret-2|CUSTOM_TOKEN=cu-secret-3",
	       "plan: env in order, no duplicate GH_TOKEN, the custom provider has none of its own");
	ok(!strstr(p.env.v[5], "gh-secret-1"), "plan: the git helper holds no token");
	is_int(p.nfiles, 5, "plan: five files");
	if (p.nfiles == 5) {
		is_str(p.files[0].path, "auth/github.token", "  auth/github.token");
		is_str(p.files[0].data, "gh-secret-1", "  its content");
		is_str(p.files[1].path, "auth/custom.token", "  auth/custom.token");
		is_str(p.files[2].path, "env/ENCLAVE_TOKEN", "  env/ENCLAVE_TOKEN");
		is_str(p.files[2].data, "enc-secret-2", "  its content");
		is_int(p.files[2].len, 12, "  its length (no newline)");
		is_str(p.files[3].path, "env/GH_TOKEN", "  env/GH_TOKEN");
		is_str(p.files[3].data, "gh-secret-1", "  github's token");
		is_str(p.files[4].path, "env/CUSTOM_TOKEN", "  env/CUSTOM_TOKEN");
	}
	is_str(joined(&p.providers, ' '), "github custom", "plan: providers injected");
	is_str(joined(&p.env_names, ' '), "ENCLAVE_TOKEN GH_TOKEN CUSTOM_TOKEN",
	       "plan: env names injected");
	is_str(joined(&p.missing, ' '), "npm", "plan: npm missing");
	is_str(joined(&p.missing_env, ' '), "HF_TOKEN", "plan: HF_TOKEN missing");
	is_int(p.warnings.n, 2, "plan: two warnings");
	is_str(p.warnings.v[0],
	       "provider 'npm' has no token (store one with 'enclave-auth login npm'); starting "
	       "without it", "plan: the npm warning");
	is_str(p.warnings.v[1],
	       "env token HF_TOKEN: provider 'hf' has no token (store one with 'enclave-auth "
	       "login hf'); starting without it", "plan: the HF_TOKEN warning");
	is_int(f.calls[0], 1, "plan: github's token is looked up once");
	ok(!plan_mentions(&p, "secret"), "plan: no name list or warning holds a token");
	ok(!enc_auth_plan_empty(&p), "plan: not empty");

	enc_auth_plan_wipe(&p);
	is_int(p.env.n + p.nfiles, 0, "wipe: values and files gone");
	is_str(joined(&p.providers, ' '), "github custom", "wipe: names kept");
	is_int(p.warnings.n, 2, "wipe: warnings kept");
	enc_auth_plan_free(&p);
	enc_strv_free(&envt);

	/* A GH_TOKEN alone, without auth = github: the variable and its file,
	 * not the provider's other variable nor git. */
	const char *gw[] = { "GH_TOKEN", NULL };
	struct enc_strv none = {};
	envt = sv(gw);
	is_int(enc_auth_plan_make(&none, &envt, fake_lookup, &f, &p, &e), 0, "env token alone");
	is_str(joined(&p.env, '|'), "GH_TOKEN=gh-secret-1", "  only GH_TOKEN");
	is_int(p.nfiles, 1, "  one file");
	enc_auth_plan_free(&p);
	enc_strv_free(&envt);

	/* Nothing declared: nothing at all. */
	is_int(enc_auth_plan_make(&none, &none, fake_lookup, &f, &p, &e), 0, "nothing declared");
	ok(enc_auth_plan_empty(&p), "  empty plan");
	enc_auth_plan_free(&p);

	/* A refused token fails the plan, which is left empty. */
	f.fail = 0;
	enc_err_clear(&e);
	is_int(enc_auth_plan_make(&auth, &none, fake_lookup, &f, &p, &e), -EPERM,
	       "a refused token fails the plan");
	is_str(e.msg, "refused github", "  with the lookup's reason");
	ok(enc_auth_plan_empty(&p) && !p.warnings.n, "  and leaves nothing");
	f.fail = -1;

	/* A reserved name fails too. */
	const char *rw[] = { "HOME", NULL };
	envt = sv(rw);
	enc_err_clear(&e);
	is_int(enc_auth_plan_make(&none, &envt, fake_lookup, &f, &p, &e), -EINVAL,
	       "a reserved env token name fails");
	is_str(e.msg, "env token HOME: enclave sets this variable itself; choose another name",
	       "  message");
	enc_strv_free(&envt);
	enc_strv_free(&auth);
}

/* ---- the store --------------------------------------------------------------------- */

static void refused(struct enc_state *st, const char *name, int want, const char *want_msg)
{
	struct enc_err e = {};
	char *tok = NULL;
	size_t len = 0;
	int r = enc_auth_load(st, "github", &tok, &len, &e);

	is_int(r, want, name);
	has_str(e.msg, want_msg, "  reason");
	ok(tok == NULL, "  no token returned");
	enc_auth_token_free(tok, len);
}

static void test_store(void)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err e = {};
	char *tok = NULL;
	size_t len = 0;
	struct stat sb;
	char want[600];

	setenv("ENCLAVE_STATE_DIR", at("state"), 1);
	setenv("ENCLAVE_RUNTIME_DIR", at("run"), 1);
	if (enc_state_open(&st, &e) < 0) {
		ok(0, "state opens: %s", e.msg);
		return;
	}
	is_int(enc_auth_load(&st, "github", &tok, &len, &e), -ENOENT, "load before any login");
	is_str(e.msg, "no token stored for provider 'github'", "  message");
	struct enc_auth_entry *v = NULL;
	size_t n = 99;
	is_int(enc_auth_list(&st, &v, &n, NULL), 0, "list of no store");
	is_int(n, 0, "  is empty");
	free(v);

	enc_err_clear(&e);
	is_int(enc_auth_store(&st, "github", "gh-1\n", 5, &e), 0, "store github");
	ok(stat(at("state/auth"), &sb) == 0 && (sb.st_mode & 07777) == 0700, "auth/ is 0700");
	ok(stat(at("state/auth/github.token"), &sb) == 0 && (sb.st_mode & 07777) == 0600 &&
		   sb.st_uid == geteuid() && sb.st_size == 4,
	   "github.token: 0600, ours, the token without its newline");
	is_int(enc_auth_load(&st, "github", &tok, &len, NULL), 0, "load github");
	is_str(tok, "gh-1", "  the token");
	is_int(len, 4, "  its length");
	enc_auth_token_free(tok, len);
	tok = NULL;

	/* A narrow umask does not give a file that later uses refuse. */
	mode_t old = umask(0277);
	is_int(enc_auth_store(&st, "npm", "np-2", 4, NULL), 0, "store npm under umask 0277");
	umask(old);
	ok(stat(at("state/auth/npm.token"), &sb) == 0 && (sb.st_mode & 07777) == 0600,
	   "  npm.token is 0600 all the same");
	is_int(enc_auth_store(&st, "github", "gh-2", 4, NULL), 0, "store replaces");
	is_int(enc_auth_load(&st, "github", &tok, &len, NULL), 0, "  load");
	is_str(tok, "gh-2", "  the new token");
	enc_auth_token_free(tok, len);
	tok = NULL;
	ok(access(at("state/auth/github.token.new"), F_OK) < 0, "  no temporary file left");

	enc_err_clear(&e);
	is_int(enc_auth_store(&st, "bad/name", "x", 1, &e), -EINVAL, "store: bad provider name");
	has_str(e.msg, "provider name 'bad/name' may contain only", "  message");
	enc_err_clear(&e);
	is_int(enc_auth_store(&st, "x", "a\nb", 3, &e), -EINVAL, "store: a two-line token");
	ok(access(at("state/auth/x.token"), F_OK) < 0, "  nothing stored");

	/* Refusals, each with its reason; nothing is repaired. */
	chmod(at("state/auth/github.token"), 0644);
	snprintf(want, sizeof(want), "%s/auth/github.token: mode 0644, expected 0600; refusing to use it",
		 at("state"));
	refused(&st, "mode 0644 is refused", -EPERM, want);
	ok(stat(at("state/auth/github.token"), &sb) == 0 && (sb.st_mode & 07777) == 0644,
	   "  and not fixed");
	chmod(at("state/auth/github.token"), 0400);
	refused(&st, "mode 0400 is refused", -EPERM, "mode 0400, expected 0600");
	chmod(at("state/auth/github.token"), 0600);

	if (geteuid() == 0) {
		setup(chown(at("state/auth/github.token"), 4321, 4321), "chown github.token");
		snprintf(want, sizeof(want),
			 "%s/auth/github.token: owned by uid 4321, expected 0 (the owner of the "
			 "store); refusing to use it", at("state"));
		refused(&st, "a foreign owner is refused", -EPERM, want);
		setup(chown(at("state/auth/github.token"), 0, 0), "chown github.token");
		setup(chown(at("state/auth"), 4321, 4321), "chown auth/");
		refused(&st, "a foreign auth/ is refused", -EPERM,
			"/auth: owned by uid 4321, expected 0 (the owner of the store)");
		setup(chown(at("state/auth"), 0, 0), "chown auth/");
	} else {
		printf("ok %d # SKIP foreign owners need root\n", ++tap_n);
	}
	chmod(at("state/auth"), 0770);
	refused(&st, "a group-writable auth/ is refused", -EPERM,
		"/auth: mode 0770 is writable by group or others; refusing to use it");
	chmod(at("state/auth"), 0700);

	rename(at("state/auth"), at("state/auth.real"));
	setup(symlink("auth.real", at("state/auth")), "symlink auth");
	refused(&st, "a symlinked auth/ is refused", -ELOOP,
		"cannot open auth: refusing a symbolic link or magic link in the path");
	unlink(at("state/auth"));
	rename(at("state/auth.real"), at("state/auth"));

	rename(at("state/auth/github.token"), at("state/real"));
	setup(symlink("../real", at("state/auth/github.token")), "symlink");
	refused(&st, "a symlinked token file is refused", -ELOOP,
		"/auth/github.token: is a symbolic link; refusing to use it");
	unlink(at("state/auth/github.token"));
	mkfifo(at("state/auth/github.token"), 0600);
	refused(&st, "a FIFO is refused", -EINVAL, "github.token: not a regular file");
	unlink(at("state/auth/github.token"));
	rename(at("state/real"), at("state/auth/github.token"));

	/* Hand-written files: content is checked like input. */
	put("state/auth/github.token", "gh-3\n", 5, 0600);
	is_int(enc_auth_load(&st, "github", &tok, &len, NULL), 0, "a hand-written line is accepted");
	is_str(tok, "gh-3", "  without its newline");
	enc_auth_token_free(tok, len);
	tok = NULL;
	put("state/auth/github.token", "gh\n3\n", 5, 0600);
	refused(&st, "a two-line file is refused", -EINVAL,
		"github.token: the token contains a newline (byte 3); it must be one line; refusing");
	put("state/auth/github.token", "", 0, 0600);
	refused(&st, "an empty file is refused", -EINVAL, "github.token: the token is empty");
	static char big[ENC_AUTH_TOKEN_MAX + 8];
	memset(big, 'a', sizeof(big));
	put("state/auth/github.token", big, sizeof(big), 0600);
	refused(&st, "an oversized file is refused", -EFBIG, "larger than 16384 bytes");
	put("state/auth/github.token", "gh-4", 4, 0600);

	/* list: sorted, checked, reasons, never values. */
	put("state/auth/zz.token", "zz", 2, 0640);
	put("state/auth/not-a-token.txt", "x", 1, 0600);
	is_int(enc_auth_list(&st, &v, &n, NULL), 0, "list");
	is_int(n, 3, "  three tokens (other files ignored)");
	if (n == 3) {
		is_str(v[0].provider, "github", "  github first");
		is_int(v[0].state, 0, "  github ok");
		is_str(v[0].reason, "", "  no reason");
		ok(v[0].stored > 1600000000, "  a stored date");
		is_str(v[1].provider, "npm", "  then npm");
		is_str(v[2].provider, "zz", "  then zz");
		is_int(v[2].state, -EPERM, "  zz refused");
		has_str(v[2].reason, "zz.token: mode 0640, expected 0600", "  with the reason");
	}
	free(v);

	/* logout */
	is_int(enc_auth_remove(&st, "zz", NULL), 0, "remove a refused token");
	ok(access(at("state/auth/zz.token"), F_OK) < 0, "  gone");
	enc_err_clear(&e);
	is_int(enc_auth_remove(&st, "zz", &e), -ENOENT, "remove it again");
	is_str(e.msg, "no token stored for provider 'zz'", "  message");

	/* enc_auth_check: warnings only. */
	const char *aw[] = { "github", "gitlab", NULL };
	struct enc_strv auth = sv(aw), none = {}, warnings = {};
	is_int(enc_auth_check(&st, &auth, &none, &warnings, NULL), 0, "check");
	is_str(joined(&warnings, '|'),
	       "provider 'gitlab' has no token (store one with 'enclave-auth login gitlab'); "
	       "starting without it", "  warns for gitlab only");
	enc_strv_free(&warnings);

	/* The plan from the store. */
	struct enc_auth_plan p;
	is_int(enc_auth_plan_build(&st, &auth, &none, &p, NULL), 0, "plan from the store");
	is_str(joined(&p.providers, ' '), "github", "  github injected");
	ok(p.env.n > 0 && strcmp(p.env.v[0], "GITHUB_TOKEN=gh-4") == 0, "  with the stored token");
	enc_auth_plan_free(&p);
	chmod(at("state/auth/github.token"), 0666);
	enc_err_clear(&e);
	is_int(enc_auth_plan_build(&st, &auth, &none, &p, &e), -EPERM, "plan: a refused token fails");
	has_str(e.msg, "github.token: mode 0666, expected 0600", "  with the reason");
	chmod(at("state/auth/github.token"), 0600);
	enc_strv_free(&auth);
	enc_state_close(&st);
}

/* ---- installing the files ---------------------------------------------------------- */

static void test_install(void)
{
	const char *aw[] = { "github", "custom", NULL };
	const char *ew[] = { "ENCLAVE_TOKEN", NULL };
	struct enc_strv auth = sv(aw), envt = sv(ew);
	struct fake f = { .fail = -1 };
	struct enc_auth_plan p;
	struct enc_err e = {};
	struct stat sb;
	uid_t uid = geteuid() == 0 ? 1234 : geteuid();
	gid_t gid = geteuid() == 0 ? 1234 : getegid();

	mkdir(at("rundir"), 0755);
	int rundir = open(at("rundir"), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	enc_auth_plan_make(&auth, &envt, fake_lookup, &f, &p, NULL);
	is_int(enc_auth_plan_install(&p, rundir, uid, gid, &e), 0, "install");
	ok(stat(at("rundir/auth"), &sb) == 0 && (sb.st_mode & 07777) == 0500 && sb.st_uid == uid &&
		   sb.st_gid == gid, "auth/: 0500, the workspace user's");
	ok(stat(at("rundir/env"), &sb) == 0 && (sb.st_mode & 07777) == 0500 && sb.st_uid == uid,
	   "env/: 0500, the workspace user's");
	ok(stat(at("rundir/auth/github.token"), &sb) == 0 && (sb.st_mode & 07777) == 0400 &&
		   sb.st_uid == uid && sb.st_gid == gid && sb.st_size == 11,
	   "auth/github.token: 0400, the workspace user's, 11 bytes");
	ok(stat(at("rundir/auth/custom.token"), &sb) == 0 && (sb.st_mode & 07777) == 0400,
	   "auth/custom.token: 0400");
	ok(stat(at("rundir/env/ENCLAVE_TOKEN"), &sb) == 0 && (sb.st_mode & 07777) == 0400 &&
		   sb.st_size == 12, "env/ENCLAVE_TOKEN: 0400, 12 bytes");
	char buf[64] = "";
	int fd = open(at("rundir/env/ENCLAVE_TOKEN"), O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[k > 0 ? k : 0] = '\0';
	is_str(buf, "enc-secret-2", "env/ENCLAVE_TOKEN holds exactly the token");
	enc_err_clear(&e);
	is_int(enc_auth_plan_install(&p, rundir, uid, gid, &e), -EEXIST,
	       "a second install refuses what is there");
	has_str(e.msg, "cannot create /run/enclave/auth", "  message");
	enc_auth_plan_free(&p);

	/* Only the directories that get a file are made. */
	struct enc_strv none = {};
	mkdir(at("rundir2"), 0755);
	int rd2 = open(at("rundir2"), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	enc_auth_plan_make(&none, &envt, fake_lookup, &f, &p, NULL);
	is_int(enc_auth_plan_install(&p, rd2, uid, gid, NULL), 0, "install env tokens only");
	ok(access(at("rundir2/auth"), F_OK) < 0 && access(at("rundir2/env"), F_OK) == 0,
	   "  env/ made, auth/ not");
	enc_auth_plan_free(&p);
	close(rd2);
	close(rundir);
	enc_strv_free(&auth);
	enc_strv_free(&envt);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(tmpdir, 0700);
	test_token_check();
	test_providers();
	test_plan();
	test_store();
	test_install();
	nftw(tmpdir, chmod_cb, 16, FTW_PHYS);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
