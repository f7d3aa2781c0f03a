/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-auth - provider tokens for workspaces: login, logout, list.
 * See enclave-auth(1) and lib/auth.h.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "exitcodes.h"
#include "json.h"
#include "names.h"
#include "state.h"
#include "tool.h"
#include "util.h"

/* A canonical-mode terminal line holds at most this many bytes before its
 * newline (N_TTY); a longer paste would be cut silently, so it is refused
 * and must be piped. */
#define TTY_LINE_MAX 4095

static void usage(void)
{
	fputs("Usage: enclave-auth COMMAND [OPTION...] [PROVIDER]\n"
	      "\n"
	      "Keep provider tokens for the workspaces that declare them (auth = ...,\n"
	      "env_tokens = ...). Values are never printed.\n"
	      "\n"
	      "Commands:\n"
	      "  login PROVIDER     store a token, read hidden from the terminal, or\n"
	      "                     from standard input when it is not a terminal\n"
	      "  logout PROVIDER    remove a provider's token\n"
	      "  list               provider, date stored and state of each token\n"
	      "\n"
	      "Options:\n"
	      "      --json         list: JSON output\n"
	      "  -h, --help         show this help and exit\n"
	      "      --version      show the version and exit\n"
	      "\n"
	      "Providers: github (GITHUB_TOKEN, GH_TOKEN, git over HTTPS), npm (NPM_TOKEN),\n"
	      "enclave (ENCLAVE_TOKEN), or any other name (a file in the workspace).\n"
	      "\n"
	      "See enclave-auth(1).\n",
	      stdout);
}

enum {
	OPT_JSON = 256,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{},
};

enum verb {
	V_NONE,
	V_LOGIN,
	V_LOGOUT,
	V_LIST,
};

struct args {
	enum verb verb;
	const char *verb_name;
	const char *provider;
	bool json;
};

static void parse_args(int argc, char **argv, struct args *a)
{
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			exit(ENC_EXIT_OK);
		case OPT_VERSION:
			enc_print_version();
		case OPT_JSON:
			a->json = true;
			break;
		default:
			enc_usage_error(NULL);
		}
	}
	for (; optind < argc; optind++) {
		if (npos == 3)
			enc_usage_error("unexpected argument '%s'", argv[optind]);
		pos[npos++] = argv[optind];
	}
	if (!pos[0])
		enc_usage_error("no command given");
	a->verb_name = pos[0];
	if (strcmp(pos[0], "login") == 0)
		a->verb = V_LOGIN;
	else if (strcmp(pos[0], "logout") == 0)
		a->verb = V_LOGOUT;
	else if (strcmp(pos[0], "list") == 0)
		a->verb = V_LIST;
	else
		enc_usage_error("unknown command '%s'", pos[0]);

	if (a->verb == V_LIST) {
		if (pos[1])
			enc_usage_error("list: unexpected argument '%s'", pos[1]);
		return;
	}
	if (a->json)
		enc_usage_error("--json: not an option of '%s'", a->verb_name);
	if (!pos[1])
		enc_usage_error("%s: expected PROVIDER", a->verb_name);
	if (pos[2])
		enc_usage_error("%s: unexpected argument '%s'", a->verb_name, pos[2]);
	struct enc_err err = {};
	if (enc_name_check(ENC_NAME_PROVIDER, pos[1], &err) < 0)
		enc_usage_error("%s", err.msg);
	a->provider = pos[1];
}

/* ---- reading the token ------------------------------------------------- */

/* The terminal state to restore, for the signal path too. */
static struct termios tio_saved;
static volatile sig_atomic_t got_signal;

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGPIPE,
			      SIGTSTP, SIGTTIN, SIGTTOU };

static void on_signal(int sig)
{
	/* Only note it: read(2) returns EINTR (no SA_RESTART) and the main
	 * line restores the terminal before acting on it. */
	got_signal = sig;
}

static void handlers(bool install, struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(caught); i++) {
		if (install)
			sigaction(caught[i], &sa, &old[i]);
		else
			sigaction(caught[i], &old[i], NULL);
	}
}

static void say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0) {
		/* nowhere to report it */
	}
}

/* One line from the terminal on stdin with echo off. A signal restores the
 * terminal first, then takes its default effect: Ctrl-C and SIGTERM end
 * the program with the terminal as it was; Ctrl-Z stops it and the prompt
 * starts again on fg. Returns the bytes read (with the newline, if any). */
static size_t read_hidden(const char *provider, char *buf, size_t cap)
{
	struct sigaction old[ENC_ARRAY_SIZE(caught)];
	size_t got;

	if (tcgetattr(STDIN_FILENO, &tio_saved) < 0)
		die_errno("cannot read the terminal settings");
again:
	got = 0;
	got_signal = 0;
	handlers(true, old);
	struct termios noecho = tio_saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	noecho.c_lflag |= ICANON;
	/* From a background job this raises SIGTTOU: handled below like a
	 * Ctrl-Z, so the prompt comes back on fg. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0 && !(errno == EINTR && got_signal)) {
		int e = errno;
		handlers(false, old);
		errno = e;
		die_errno("cannot turn off echo on the terminal");
	}
	char prompt[ENC_NAME_MAX + 64];
	snprintf(prompt, sizeof(prompt), "Token for %s (input is hidden): ", provider);
	say(prompt);
	while (!got_signal && got < cap) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (buf[got - 1] == '\n')
			break;
	}
	int e = errno;
	tcsetattr(STDIN_FILENO, TCSANOW, &tio_saved);
	say("\n");
	handlers(false, old);
	if (got_signal) {
		int sig = got_signal;
		explicit_bzero(buf, got);
		raise(sig);	/* the default action, now the terminal is back */
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			goto again;	/* continued after a stop */
		exit(ENC_EXIT_SIGNAL_BASE + sig);
	}
	errno = e;
	return got;
}

/* Everything standard input holds, up to cap bytes. */
static size_t read_all(char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("cannot read the token from standard input");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void open_state(struct enc_state *st)
{
	struct enc_err err = {};

	if (enc_state_open(st, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
}

static int cmd_login(const struct args *a)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = {};
	/* Room for the largest token, "\r\n", and one byte more to notice a
	 * longer input without reading it all. */
	const size_t cap = ENC_AUTH_TOKEN_MAX + 3;
	char *buf = malloc(cap);
	size_t got, len = 0;
	bool tty = isatty(STDIN_FILENO);

	if (!buf)
		die("out of memory");
	/* A broken store is reported before anyone types a token. */
	open_state(&st);
	if (tty) {
		got = read_hidden(a->provider, buf, TTY_LINE_MAX + 1);
		size_t line = got && buf[got - 1] == '\n' ? got - 1 : got;
		if (line >= TTY_LINE_MAX) {
			explicit_bzero(buf, cap);
			die("the token is too long for a terminal line (at most %d bytes); "
			    "pipe it instead: ... | enclave-auth login %s", TTY_LINE_MAX - 1,
			    a->provider);
		}
	} else {
		got = read_all(buf, cap);
	}
	int r = enc_auth_token_check(buf, got, &len, &err);
	if (r == 0)
		r = enc_auth_store(&st, a->provider, buf, len, &err);
	explicit_bzero(buf, cap);
	free(buf);
	enc_state_close(&st);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (tty) {
		fprintf(stderr, "%s: stored the token for provider '%s'\n", enc_tool_name(),
			a->provider);
	}
	return ENC_EXIT_OK;
}

static int cmd_logout(const struct args *a)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = {};

	open_state(&st);
	int r = enc_auth_remove(&st, a->provider, &err);
	enc_state_close(&st);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	return ENC_EXIT_OK;
}

static void iso_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		snprintf(buf, 32, "-");
		return;
	}
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_list(const struct args *a)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = {};
	struct enc_auth_entry *v = NULL;
	size_t n = 0;
	char when[32];

	open_state(&st);
	int r = enc_auth_list(&st, &v, &n, &err);
	enc_state_close(&st);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (a->json) {
		struct enc_json j;
		enc_json_init(&j, stdout, ENC_JSON_PRETTY);
		enc_json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			iso_time(v[i].stored, when);
			enc_json_obj_begin(&j);
			enc_json_kv_str(&j, "provider", v[i].provider);
			enc_json_kv_str(&j, "stored", v[i].stored > 0 ? when : NULL);
			enc_json_kv_str(&j, "state", v[i].state ? "refused" : "ok");
			enc_json_kv_str(&j, "reason", v[i].state ? v[i].reason : NULL);
			enc_json_key(&j, "env");
			enc_json_arr_begin(&j);
			for (const char *const *e = enc_auth_provider_env(v[i].provider); *e; e++)
				enc_json_str(&j, *e);
			enc_json_arr_end(&j);
			enc_json_kv_bool(&j, "git", enc_auth_provider_git(v[i].provider));
			enc_json_obj_end(&j);
		}
		enc_json_arr_end(&j);
		if (enc_json_finish(&j) < 0)
			die_errno("cannot write the list");
	} else {
		if (isatty(STDOUT_FILENO))
			printf("PROVIDER\tSTORED\tSTATE\n");
		for (size_t i = 0; i < n; i++) {
			iso_time(v[i].stored, when);
			printf("%s\t%s\t%s\n", v[i].provider, when, v[i].state ? v[i].reason : "ok");
		}
	}
	free(v);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_errno("cannot write the list");
	return ENC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct args a = {};

	enc_tool_init("enclave-auth");
	/* Files made here are the caller's alone (the store checks 0600). */
	umask(077);
	parse_args(argc, argv, &a);
	switch (a.verb) {
	case V_LOGIN:
		return cmd_login(&a);
	case V_LOGOUT:
		return cmd_logout(&a);
	case V_LIST:
		return cmd_list(&a);
	case V_NONE:
		break;
	}
	enc_usage_error(NULL);
}
