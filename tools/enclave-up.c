/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-up.c - the Enclavefile verbs of `enclave`: up, down, ps, stats,
 * logs, and the seed's `enclave workspace VERB ...` spellings.
 *
 * up and down call the library directly (enc_spawn_start/stop), so an `up`
 * with nothing to do costs a config parse, a few doctor probes, a hash per
 * workspace and some stat calls: well under a second. Building a sandbox
 * is lib/sandbox.h's enc_sandbox_up(), the code enclave-bootstrap create
 * --file runs: an unchanged recipe is found so without touching a tree.
 *
 * Idempotence: each workspace's state dir holds `enclavefile.hash`, the
 * SHA-256 of the workspace's normalised configuration (its part of
 * `enclave config`, with the sandbox name), written after each start by
 * up. A running workspace whose hash and sandbox generation both match is
 * left alone; otherwise it is restarted, with a notice saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "build-config.h"
#include "cgroup.h"
#include "config.h"
#include "doctor.h"
#include "fsutil.h"
#include "hash.h"
#include "json.h"
#include "names.h"
#include "runtime.h"
#include "sandbox.h"
#include "state.h"
#include "tool.h"
#include "util.h"
#include "workspace.h"

#define DEFAULT_FILE "Enclavefile"
#define HASH_FACT "enclavefile.hash"
#define STOP_GRACE_MS 10000

int enclave_front(const char *cmd, int argc, char **argv);

/* ---- running the sub-programs ------------------------------------------ */

/* This installation's enclave-X: next to this executable, never $PATH. */
static void sub_path(const char *program, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dir = ENCLAVE_BINDIR;

	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
	}
	if ((size_t)snprintf(buf, len, "%s/%s", dir, program) >= len)
		die("path of %s too long", program);
}

ENC_NORETURN static void exec_sub(char **argv)
{
	char path[PATH_MAX + 64];

	sub_path(argv[0], path, sizeof(path));
	fflush(stdout);
	execv(path, argv);
	die_errno("cannot run %s", path);
}

/* A growable argv. */
struct argv_buf {
	char **v;
	size_t n, cap;
};

static void av_push(struct argv_buf *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = realloc(a->v, a->cap * sizeof(char *));
		if (!a->v)
			die("out of memory");
	}
	a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

/* ---- the Enclavefile --------------------------------------------------- */

static void load_config(const char *file, struct enc_config *cfg, bool need_sandbox)
{
	struct enc_err err = {};
	int r = enc_config_load(file, cfg, &err);

	if (r < 0)
		die_err(&err, r == -EINVAL ? ENC_EXIT_USAGE : ENC_EXIT_FAILURE);
	if (need_sandbox && !cfg->has_sandbox)
		die_status(ENC_EXIT_USAGE, "%s: no [sandbox] section: which sandbox the workspaces use is not said",
			   cfg->path);
}

/* The workspaces named on the command line (all when none), checked
 * against the file. sel[i] true for the chosen ones. */
static void select_ws(const struct enc_config *cfg, int argc, char **argv, bool *sel)
{
	for (size_t i = 0; i < cfg->nws; i++)
		sel[i] = argc == 0;
	for (int k = 0; k < argc; k++) {
		bool found = false;

		for (size_t i = 0; i < cfg->nws; i++)
			if (strcmp(cfg->ws[i].name, argv[k]) == 0)
				sel[i] = found = true;
		if (!found)
			die_status(ENC_EXIT_USAGE, "%s: no workspace '%s' (there is no [workspace.%s])",
				   cfg->path, argv[k], argv[k]);
	}
}

static void open_state(struct enc_state *st)
{
	struct enc_err err = {};

	if (enc_state_open(st, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
}

/* The hash of a workspace's effective configuration: its normalised JSON
 * (as `enclave config` prints it, with the file's path) and the sandbox it
 * runs on. */
static void ws_hash(const struct enc_config *cfg, const struct enc_workspace_conf *ws,
		    char hex[ENC_SHA256_HEX])
{
	struct enc_config one = {
		.path = cfg->path,
		.dir = cfg->dir,
		.ws = (struct enc_workspace_conf *)ws,
		.nws = 1,
	};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct enc_json j;

	if (!f)
		die("out of memory");
	enc_json_init(&j, f, 0);
	enc_config_to_json(&one, &j);
	if (enc_json_finish(&j) < 0 || fclose(f) != 0)
		die("cannot serialise the configuration of %s", ws->name);
	struct enc_sha256 *h = enc_sha256_new();
	if (!h)
		die("out of memory");
	enc_sha256_field(h, "enclave-up/1");
	enc_sha256_field(h, cfg->sandbox.name);
	enc_sha256_field(h, buf);
	if (enc_sha256_final_hex(h, hex) < 0)
		die("out of memory");
}

/* ---- the sandbox --------------------------------------------------------- */

static volatile sig_atomic_t cancel_sig;

static void on_signal(int sig)
{
	cancel_sig = sig;
}

static void build_line(void *ctx ENC_UNUSED, const char *line)
{
	fprintf(stderr, "  %s\n", line);
}

static void setup_begin(void *ctx, size_t i, size_t n, const char *cmd)
{
	const char *sb = ctx;

	fprintf(stderr, "enclave: sandbox %s: setup %zu/%zu: %s\n", sb, i + 1, n, cmd);
}

/*
 * Make the sandbox's current generation the one the [sandbox] section
 * describes (setup commands included). An unchanged recipe costs a
 * fingerprint of the source and a look at `current`; a changed one is
 * built here, with the bootstrap's progress and the setup commands' output
 * on stderr. gen gets the current generation afterwards.
 */
static void ensure_sandbox(const struct enc_state *st, const struct enc_config *cfg,
			   char gen[ENC_GEN_ID_SIZE])
{
	const char *sb = cfg->sandbox.name;
	struct enc_create_opts o = {
		.line = build_line,
		.setup_begin = setup_begin,
		.ctx = (void *)sb,
		.out_fd = STDERR_FILENO,
		.cancel = &cancel_sig,
	};
	struct enc_create_report rep = {};
	struct enc_err err = {};
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	struct timespec t0, t1;
	const char *prog = cfg->sandbox.method == ENC_BOOTSTRAP_MMDEBSTRAP ?
			   getenv("ENCLAVE_MMDEBSTRAP") : getenv("ENCLAVE_DEBOOTSTRAP");

	if (prog && *prog)
		o.program = prog;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A build interrupted by ^C removes what it made (rootfs.h). */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	int r = enc_sandbox_up(st, cfg, &o, &rep, &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (r < 0) {
		warn_err(&err);
		if (rep.failed) {
			const char *t = rep.tail && rep.tail[0] ? rep.tail : NULL;

			warnx_("%s", t ? "last output of the failed command:"
				       : "the failed command printed nothing");
			for (const char *p = t; p && *p;) {
				size_t n = strcspn(p, "\n");

				fprintf(stderr, "  %.*s\n", (int)n, p);
				p += n + (p[n] == '\n');
			}
			if (!rep.new_sandbox && rep.old_gen[0])
				warnx_("sandbox %s: generation %s stays current", sb, rep.old_gen);
		}
		enc_create_report_free(&rep);
		if (cancel_sig)
			exit(128 + cancel_sig);
		die_status(r == -EINVAL ? ENC_EXIT_USAGE : ENC_EXIT_FAILURE,
			   "nothing was started");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	switch (rep.res) {
	case ENC_CREATE_BUILD:
		if (rep.new_sandbox)
			warnx_("sandbox %s: created (generation %s) in %.1f s", sb, rep.gen, secs);
		else
			warnx_("sandbox %s: new generation %s is current (was %s) after %.1f s", sb,
			       rep.gen, rep.old_gen, secs);
		break;
	case ENC_CREATE_SWITCHED:
		warnx_("sandbox %s: generation %s (built before) is current again", sb, rep.gen);
		break;
	case ENC_CREATE_UNCHANGED:
	default:
		break;
	}
	snprintf(gen, ENC_GEN_ID_SIZE, "%s", rep.gen);
	enc_create_report_free(&rep);
}

/* ---- up ------------------------------------------------------------------ */

static void up_usage(void)
{
	printf("Usage: enclave up [-f FILE] [WORKSPACE...]\n"
	       "\n"
	       "Create or update the Enclavefile's sandbox, then bring up every workspace\n"
	       "(or the ones named): a workspace with `run` starts it detached, one\n"
	       "without is started idle, ready for enter. Running workspaces whose\n"
	       "configuration did not change are left alone; changed ones are restarted.\n"
	       "Prints one line per workspace: created, started, unchanged or restarted.\n"
	       "\n"
	       "  -f, --file FILE   read FILE instead of ./Enclavefile\n"
	       "  -h, --help        show this help and exit\n");
}

static void down_usage(void)
{
	printf("Usage: enclave down [-f FILE] [--purge] [WORKSPACE...]\n"
	       "\n"
	       "Stop the Enclavefile's workspaces (or the ones named). With --purge, also\n"
	       "remove their state (home, persistent upper layer, logs, results), after\n"
	       "saying what will be removed. The sandbox is kept.\n"
	       "\n"
	       "  -f, --file FILE   read FILE instead of ./Enclavefile\n"
	       "      --purge       also remove the workspaces' homes and upper layers\n"
	       "  -h, --help        show this help and exit\n");
}

/* Parse [-f FILE] [--purge] [--json] [WS...]; what each verb allows is in
 * `allowed` ('p' purge, 'j' json). */
struct front_args {
	const char *file;
	bool purge, json;
	int nws;
	char **ws;
};

static void parse_front(int argc, char **argv, const char *allowed, void (*help)(void),
			struct front_args *a)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "purge", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	a->file = DEFAULT_FILE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		if (c == 'h') {
			help();
			exit(ENC_EXIT_OK);
		}
		if (c == '?')
			enc_usage_error(NULL);
		if ((c == 'p' || c == 'j') && !strchr(allowed, c))
			enc_usage_error("%s: %s is not an option of '%s'", argv[0],
					argv[optind - 1], argv[0]);
		switch (c) {
		case 'f':
			a->file = optarg;
			break;
		case 'p':
			a->purge = true;
			break;
		case 'j':
			a->json = true;
			break;
		default:
			enc_usage_error(NULL);
		}
	}
	a->nws = argc - optind;
	a->ws = argv + optind;
	struct enc_err err = {};
	for (int i = 0; i < a->nws; i++)
		if (enc_name_check(ENC_NAME_WORKSPACE, a->ws[i], &err) < 0)
			enc_usage_error("%s", err.msg);
}

static const char *doctor_proc_root(void)
{
	/* The same test hook as `enclave doctor`: a fake /proc tree can
	 * only make checks fail, never switch a probe off. */
	const char *proc = getenv("ENCLAVE_DOCTOR_PROC_ROOT");

	if (!proc || !*proc)
		return NULL;
	if (proc[0] != '/')
		die_status(ENC_EXIT_USAGE, "ENCLAVE_DOCTOR_PROC_ROOT must be an absolute path, not '%s'",
			   proc);
	return proc;
}

/* Start one workspace and record the hash of what it was started with. */
static int start_ws(const struct enc_state *st, const struct enc_config *cfg,
		    const struct enc_workspace_conf *ws, const char *hash)
{
	const char *sb = cfg->sandbox.name;
	struct enc_spawn_spec spec = {
		.sandbox = sb,
		.ws = ws,
		.argv = NULL,	/* ws->run through /bin/sh -c, or idle */
		.attach_in = -1,
		.attach_out = -1,
		.attach_err = -1,
	};
	struct enc_spawn_handle h = ENC_SPAWN_HANDLE_INIT;
	struct enc_err err = {};
	struct enc_strv warnings = {};

	/* Declared credentials without a stored token warn and never block
	 * (enclave-auth(1)). */
	if (enc_auth_check(st, &ws->auth, &ws->env_tokens, &warnings, NULL) == 0)
		for (size_t i = 0; i < warnings.n; i++)
			warnx_("warning: workspace %s/%s: %s", sb, ws->name, warnings.v[i]);
	enc_strv_free(&warnings);

	if (enc_spawn_start(st, &spec, &h, &err) < 0) {
		enc_err_prefix(&err, "cannot start %s/%s: ", sb, ws->name);
		warn_err(&err);
		return -1;
	}
	enc_spawn_handle_close(&h);

	struct enc_ws w = ENC_WS_INIT;
	enc_err_clear(&err);
	if (enc_ws_open(st, sb, ws->name, false, &w, &err) < 0 ||
	    enc_fact_write(w.dir_fd, HASH_FACT, hash, strlen(hash), 0600, false, &err) < 0) {
		/* It runs; the next up merely restarts it once more. */
		warn_err(&err);
	}
	enc_ws_close(&w);
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	struct front_args a = {};
	struct enc_config cfg = {};
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = {};
	int failed = 0;

	parse_front(argc, argv, "", up_usage, &a);
	load_config(a.file, &cfg, true);
	bool *sel = calloc(cfg.nws + 1, sizeof(bool));
	if (!sel)
		die("out of memory");
	select_ws(&cfg, a.nws, a.ws, sel);

	/* DESIGN §14: refuse before anything starts when the host cannot
	 * give what is asked, in doctor's words. */
	unsigned needs = 0;
	for (size_t i = 0; i < cfg.nws; i++)
		if (sel[i])
			needs |= enc_doctor_needs_of(&cfg.ws[i]);
	struct enc_doctor_opts dopts = { .proc_root = doctor_proc_root() };
	if (cfg.nws && enc_doctor_require(&dopts, needs, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);

	open_state(&st);
	char gen[ENC_GEN_ID_SIZE];
	ensure_sandbox(&st, &cfg, gen);

	const char *sb = cfg.sandbox.name;
	for (size_t i = 0; i < cfg.nws; i++) {
		const struct enc_workspace_conf *ws = &cfg.ws[i];
		char hash[ENC_SHA256_HEX];
		struct enc_ws w = ENC_WS_INIT;
		const char *action = "started", *why = NULL;

		if (!sel[i])
			continue;
		ws_hash(&cfg, ws, hash);
		enc_err_clear(&err);
		int r = enc_ws_open(&st, sb, ws->name, false, &w, &err);
		if (r == -ENOENT) {
			action = "created";
		} else if (r < 0) {
			warn_err(&err);
			failed++;
			continue;
		} else {
			/* DESIGN §3: sweep what a crashed monitor left first. */
			enc_spawn_sweep_if_crashed(&st, &w, NULL);
			if (enc_ws_running(&w, NULL) == 1) {
				_cleanup_free_ char *old = NULL, *wgen = NULL;

				enc_fact_read(w.dir_fd, HASH_FACT, 128, true, &old, NULL, NULL);
				enc_fact_read(w.dir_fd, "generation", 64, true, &wgen, NULL, NULL);
				if (!old || strcmp(old, hash) != 0)
					why = "configuration changed";
				else if (!wgen || strcmp(wgen, gen) != 0)
					why = "sandbox changed";
				if (!why) {
					printf("unchanged %s/%s\n", sb, ws->name);
					enc_ws_close(&w);
					continue;
				}
				warnx_("restarting %s: %s", ws->name, why);
				bool was;
				enc_err_clear(&err);
				if (enc_spawn_stop(&st, &w, STOP_GRACE_MS, &was, &err) < 0) {
					warn_err(&err);
					enc_ws_close(&w);
					failed++;
					continue;
				}
				action = "restarted";
			}
			enc_ws_close(&w);
		}
		if (start_ws(&st, &cfg, ws, hash) < 0) {
			failed++;
			continue;
		}
		if (why)
			printf("%s %s/%s (%s)\n", action, sb, ws->name, why);
		else if (ws->run)
			printf("%s %s/%s\n", action, sb, ws->name);
		else
			printf("%s %s/%s (idle, ready for enter)\n", action, sb, ws->name);
		fflush(stdout);
	}
	free(sel);
	enc_config_free(&cfg);
	enc_state_close(&st);
	return failed ? ENC_EXIT_FAILURE : ENC_EXIT_OK;
}

/* ---- down ---------------------------------------------------------------- */

static int cmd_down(int argc, char **argv)
{
	struct front_args a = {};
	struct enc_config cfg = {};
	struct enc_state st = ENC_STATE_INIT;
	int failed = 0;

	parse_front(argc, argv, "p", down_usage, &a);
	load_config(a.file, &cfg, true);
	bool *sel = calloc(cfg.nws + 1, sizeof(bool));
	struct enc_ws *ws = calloc(cfg.nws + 1, sizeof(*ws));
	if (!sel || !ws)
		die("out of memory");
	select_ws(&cfg, a.nws, a.ws, sel);
	open_state(&st);

	const char *sb = cfg.sandbox.name;
	for (size_t i = 0; i < cfg.nws; i++) {
		struct enc_err err = {};
		bool was = false;

		ws[i] = (struct enc_ws)ENC_WS_INIT;
		if (!sel[i])
			continue;
		int r = enc_ws_open(&st, sb, cfg.ws[i].name, false, &ws[i], &err);
		if (r == -ENOENT) {
			sel[i] = false;	/* never brought up: nothing to do */
			continue;
		}
		if (r < 0 || enc_spawn_stop(&st, &ws[i], STOP_GRACE_MS, &was, &err) < 0) {
			warn_err(&err);
			sel[i] = false;
			failed++;
			continue;
		}
		printf("%s %s/%s\n", was ? "stopped" : "not-running", sb, cfg.ws[i].name);
	}
	if (a.purge) {
		/* Say it all first: a purge loses the workspaces' homes. */
		for (size_t i = 0; i < cfg.nws; i++)
			if (sel[i])
				warnx_("will remove %s/%s: %s (home/, fs/ upper layer, log, result, audit)",
				       sb, cfg.ws[i].name, ws[i].dir_path);
		for (size_t i = 0; i < cfg.nws; i++) {
			struct enc_err err = {};

			if (!sel[i])
				continue;
			if (enc_ws_lock(&ws[i], false, &err) < 0 ||
			    enc_spawn_sweep(&st, &ws[i], &err) < 0 ||
			    enc_ws_remove(&st, &ws[i], &err) < 0) {
				warn_err(&err);
				failed++;
				continue;
			}
			printf("removed %s/%s\n", sb, cfg.ws[i].name);
		}
	}
	for (size_t i = 0; i < cfg.nws; i++)
		enc_ws_close(&ws[i]);
	free(ws);
	free(sel);
	enc_config_free(&cfg);
	enc_state_close(&st);
	return failed ? ENC_EXIT_FAILURE : ENC_EXIT_OK;
}

/* ---- ps ------------------------------------------------------------------ */

static void ps_usage(void)
{
	printf("Usage: enclave ps [-f FILE] [--json]\n"
	       "\n"
	       "List the workspaces of the Enclavefile's sandbox, as enclave-spawn ps\n"
	       "SANDBOX does: sandbox, workspace, state, pid, uptime, generation, last\n"
	       "result, tab-separated.\n"
	       "\n"
	       "  -f, --file FILE   read FILE instead of ./Enclavefile\n"
	       "      --json        one JSON array\n"
	       "  -h, --help        show this help and exit\n");
}

static int cmd_ps(int argc, char **argv)
{
	struct front_args a = {};
	struct enc_config cfg = {};
	struct argv_buf av = {};

	parse_front(argc, argv, "j", ps_usage, &a);
	if (a.nws)
		enc_usage_error("ps: unexpected argument '%s'", a.ws[0]);
	load_config(a.file, &cfg, true);
	av_push(&av, "enclave-spawn");
	av_push(&av, "ps");
	if (a.json)
		av_push(&av, "--json");
	av_push(&av, cfg.sandbox.name);
	exec_sub(av.v);
}

/* ---- stats --------------------------------------------------------------- */

static void stats_usage(void)
{
	printf("Usage: enclave stats [-f FILE] [--json] [WORKSPACE...]\n"
	       "\n"
	       "State and resource use of the Enclavefile's workspaces (or the ones\n"
	       "named), one tab-separated line each after a header: WORKSPACE STATE\n"
	       "PID UPTIME_S CPU_MS MEMORY MEMORY_PEAK PIDS NET ADDRESS DENIALS.\n"
	       "\n"
	       "  -f, --file FILE   read FILE instead of ./Enclavefile\n"
	       "      --json        one JSON array\n"
	       "  -h, --help        show this help and exit\n");
}

struct ws_stats {
	const char *name;
	bool exists, running;
	struct enc_pidref init;
	uint64_t uptime_s;
	bool have_cg;
	struct enc_cgroup_stats cs;
	const char *mode;		/* from the net record, else the file */
	char addr4[64], addr6[64];
	bool have_denials;
	uint64_t denials;
};

/* The `net` record (lib/wsnet.h): "mode=deny slot=3 ... addr4=A ...". */
static void read_net(const struct enc_ws *w, struct ws_stats *s)
{
	_cleanup_free_ char *rec = NULL;

	if (enc_fact_read(w->run_fd, "net", 4096, true, &rec, NULL, NULL) < 0)
		return;
	for (char *save = NULL, *t = strtok_r(rec, " \t\n", &save); t;
	     t = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(t, "mode=", 5) == 0) {
			static const char *const modes[] = { "none", "deny", "nat", "host" };
			for (size_t i = 0; i < ENC_ARRAY_SIZE(modes); i++)
				if (strcmp(t + 5, modes[i]) == 0)
					s->mode = modes[i];
		} else if (strncmp(t, "addr4=", 6) == 0) {
			snprintf(s->addr4, sizeof(s->addr4), "%s", t + 6);
		} else if (strncmp(t, "addr6=", 6) == 0) {
			snprintf(s->addr6, sizeof(s->addr6), "%s", t + 6);
		}
	}
}

/* Denied connection attempts of the current (or last) run: audit "net"
 * records with verdict deny after the last "start" record. The audit log
 * is ours (the workspace cannot write it), so a plain scan is enough. */
static void count_denials(const struct enc_ws *w, struct ws_stats *s)
{
	int fd = openat(w->dir_fd, ENC_AUDIT_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	uint64_t n = 0;
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, "\"event\":\"start\""))
			n = 0;
		else if (strstr(line, "\"event\":\"net\"") && strstr(line, "\"verdict\":\"deny\""))
			n++;
	}
	fclose(f);
	s->have_denials = true;
	s->denials = n;
}

static void gather_stats(const struct enc_state *st, const char *sb,
			 const struct enc_workspace_conf *conf, struct enc_cgroup_sys *sys,
			 bool have_sys, struct ws_stats *s)
{
	struct enc_ws w = ENC_WS_INIT;

	memset(s, 0, sizeof(*s));
	s->name = conf->name;
	s->mode = enc_net_mode_str(conf->network);
	if (enc_ws_open(st, sb, conf->name, false, &w, NULL) < 0)
		return;
	s->exists = true;
	enc_spawn_sweep_if_crashed(st, &w, NULL);
	s->running = enc_ws_running(&w, NULL) == 1;
	if (s->running && enc_ws_pid_read(&w, "init", &s->init, NULL) == 0) {
		struct timespec ts;
		long hz = sysconf(_SC_CLK_TCK);

		clock_gettime(CLOCK_BOOTTIME, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * (uint64_t)hz;
		if (hz > 0 && now >= s->init.start)
			s->uptime_s = (now - s->init.start) / (uint64_t)hz;
	}
	if (s->running && have_sys) {
		struct enc_cgroup cg = {};
		char cgname[ENC_WS_CGROUP_NAME_MAX];

		enc_ws_cgroup_name(&w, cgname, sizeof(cgname));
		if (enc_cgroup_open(sys, cgname, &cg, NULL) == 0) {
			s->have_cg = enc_cgroup_stats(&cg, &s->cs, NULL) == 0;
			enc_cgroup_close(&cg);
		}
	}
	if (s->running)
		read_net(&w, s);
	count_denials(&w, s);
	enc_ws_close(&w);
}

static const char *state_of(const struct ws_stats *s)
{
	return s->running ? "running" : s->exists ? "stopped" : "absent";
}

static void stats_json(struct enc_json *j, const char *sb, const struct ws_stats *s)
{
	enc_json_obj_begin(j);
	enc_json_kv_str(j, "sandbox", sb);
	enc_json_kv_str(j, "workspace", s->name);
	enc_json_kv_str(j, "state", state_of(s));
	enc_json_key(j, "pid");
	if (s->running && s->init.pid)
		enc_json_int(j, s->init.pid);
	else
		enc_json_null(j);
	enc_json_key(j, "uptime_s");
	if (s->running)
		enc_json_uint(j, s->uptime_s);
	else
		enc_json_null(j);
	static const char *const keys[] = { "cpu_ms", "memory", "memory_peak", "pids" };
	uint64_t vals[] = { s->cs.cpu_usage_usec / 1000, s->cs.memory_current, s->cs.memory_peak,
			    s->cs.pids_current };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(keys); i++) {
		enc_json_key(j, keys[i]);
		if (s->have_cg)
			enc_json_uint(j, vals[i]);
		else
			enc_json_null(j);
	}
	enc_json_key(j, "net");
	enc_json_obj_begin(j);
	enc_json_kv_str(j, "mode", s->mode);
	enc_json_kv_str(j, "addr4", s->addr4[0] ? s->addr4 : NULL);
	enc_json_kv_str(j, "addr6", s->addr6[0] ? s->addr6 : NULL);
	enc_json_obj_end(j);
	enc_json_key(j, "denials");
	if (s->have_denials)
		enc_json_uint(j, s->denials);
	else
		enc_json_null(j);
	enc_json_obj_end(j);
}

static void print_u64(bool have, uint64_t v, bool last)
{
	if (have)
		printf("%" PRIu64, v);
	else
		printf("-");
	putchar(last ? '\n' : '\t');
}

static int cmd_stats(int argc, char **argv)
{
	struct front_args a = {};
	struct enc_config cfg = {};
	struct enc_state st = ENC_STATE_INIT;
	struct enc_cgroup_sys sys = {};

	parse_front(argc, argv, "j", stats_usage, &a);
	load_config(a.file, &cfg, true);
	bool *sel = calloc(cfg.nws + 1, sizeof(bool));
	if (!sel)
		die("out of memory");
	select_ws(&cfg, a.nws, a.ws, sel);
	open_state(&st);
	bool have_sys = enc_cgroup_probe(&sys, NULL) == 0;

	struct enc_json j;
	if (a.json) {
		enc_json_init(&j, stdout, 0);
		enc_json_arr_begin(&j);
	} else {
		printf("WORKSPACE\tSTATE\tPID\tUPTIME_S\tCPU_MS\tMEMORY\tMEMORY_PEAK\tPIDS\tNET\tADDRESS\tDENIALS\n");
	}
	for (size_t i = 0; i < cfg.nws; i++) {
		struct ws_stats s;

		if (!sel[i])
			continue;
		gather_stats(&st, cfg.sandbox.name, &cfg.ws[i], &sys, have_sys, &s);
		if (a.json) {
			stats_json(&j, cfg.sandbox.name, &s);
			continue;
		}
		printf("%s\t%s\t", s.name, state_of(&s));
		print_u64(s.running && s.init.pid, (uint64_t)s.init.pid, false);
		print_u64(s.running, s.uptime_s, false);
		print_u64(s.have_cg, s.cs.cpu_usage_usec / 1000, false);
		print_u64(s.have_cg, s.cs.memory_current, false);
		print_u64(s.have_cg, s.cs.memory_peak, false);
		print_u64(s.have_cg, s.cs.pids_current, false);
		printf("%s\t%s\t", s.mode, s.addr4[0] ? s.addr4 : "-");
		print_u64(s.have_denials, s.denials, true);
	}
	int r = 0;
	if (a.json) {
		enc_json_arr_end(&j);
		r = enc_json_finish(&j);
	}
	if (have_sys)
		enc_cgroup_sys_close(&sys);
	free(sel);
	enc_config_free(&cfg);
	enc_state_close(&st);
	if (r < 0 || fflush(stdout) != 0)
		die("cannot write the statistics");
	return ENC_EXIT_OK;
}

/* ---- logs ---------------------------------------------------------------- */

static void logs_usage(void)
{
	printf("Usage: enclave logs [--file FILE] [-f] [-n N] WORKSPACE\n"
	       "\n"
	       "Print a workspace's output (enclave-spawn logs on the Enclavefile's\n"
	       "sandbox). Here -f means --follow; the Enclavefile is given with --file.\n"
	       "\n"
	       "      --file FILE   read FILE instead of ./Enclavefile\n"
	       "  -f, --follow      keep printing new output until the workspace stops\n"
	       "  -n, --tail N      only the last N lines\n"
	       "  -h, --help        show this help and exit\n");
}

static int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'F' },
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *file = DEFAULT_FILE, *tail = NULL;
	bool follow = false;
	int c;

	optind = 1;
	/* No '+': `enclave logs api -f` reads as naturally as the seed's
	 * `enclave workspace logs api --follow`. */
	while ((c = getopt_long(argc, argv, "fn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			file = optarg;
			break;
		case 'f':
			follow = true;
			break;
		case 'n':
			tail = optarg;
			break;
		case 'h':
			logs_usage();
			return ENC_EXIT_OK;
		default:
			enc_usage_error(NULL);
		}
	}
	if (optind != argc - 1)
		enc_usage_error("logs: expected one WORKSPACE");
	struct enc_config cfg = {};
	load_config(file, &cfg, true);
	struct argv_buf av = {};
	av_push(&av, "enclave-spawn");
	av_push(&av, "logs");
	if (follow)
		av_push(&av, "--follow");
	if (tail) {
		av_push(&av, "--tail");
		av_push(&av, tail);
	}
	av_push(&av, cfg.sandbox.name);
	av_push(&av, argv[optind]);
	exec_sub(av.v);
}

/* ---- enclave workspace VERB ... (the seed's spellings) ------------------- */

static void workspace_usage(void)
{
	printf("Usage: enclave workspace VERB [OPTION...] [SANDBOX] WORKSPACE [ARG...]\n"
	       "       enclave workspace port list|publish|unpublish [ARG...]\n"
	       "\n"
	       "The seed's spellings of enclave-spawn and enclave-net: VERB is any\n"
	       "enclave-spawn command (enter, exec, logs, stats, stop, kill, wait, rm,\n"
	       "audit, start, run, ps) and takes its options. When only WORKSPACE is\n"
	       "given, the sandbox is the one of ./Enclavefile (a command to run then\n"
	       "follows \"--\"). port list, publish and unpublish run enclave-net ports,\n"
	       "publish and unpublish.\n"
	       "\n"
	       "  -h, --help        show this help and exit\n");
}

/* enclave-spawn's options that take a separate argument (for counting the
 * positional words). An option spelled --opt=value is one word anyway. */
static bool takes_arg(const char *w)
{
	static const char *const with_arg[] = {
		"-e", "-u", "-n", "-s", "-p", "--dir", "--env", "--user", "--hostname",
		"--memory", "--swap", "--cpus", "--pids", "--timeout", "--tmp-size",
		"--overlay", "--hide", "--protect", "--auth", "--env-token", "--result",
		"--tail", "--signal", "--time", "--net", "--allow", "--publish",
	};

	for (size_t i = 0; i < ENC_ARRAY_SIZE(with_arg); i++)
		if (strcmp(w, with_arg[i]) == 0)
			return true;
	return false;
}

/* Pass argv on to program verb, adding the Enclavefile's sandbox before
 * the only name when just one (the workspace) is given. */
ENC_NORETURN static void forward(const char *program, const char *verb, int argc, char **argv,
				 int max_names)
{
	int names = 0, first = -1;

	for (int i = 0; i < argc && names < max_names; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1]) {
			if (takes_arg(argv[i]))
				i++;
			continue;
		}
		if (first < 0)
			first = i;
		names++;
	}
	struct argv_buf av = {};
	struct enc_config cfg = {};
	av_push(&av, program);
	av_push(&av, verb);
	for (int i = 0; i < argc; i++) {
		if (i == first && names == 1) {
			load_config(DEFAULT_FILE, &cfg, true);
			av_push(&av, cfg.sandbox.name);
		}
		av_push(&av, argv[i]);
	}
	exec_sub(av.v);
}

static int cmd_workspace(int argc, char **argv)
{
	static const char *const spawn_verbs[] = {
		"run", "start", "enter", "exec", "stop", "kill", "wait", "logs", "stats", "rm", "audit",
	};

	if (argc < 2)
		enc_usage_error("workspace: no verb given");
	const char *verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		workspace_usage();
		return ENC_EXIT_OK;
	}
	if (strcmp(verb, "ps") == 0 || strcmp(verb, "list") == 0)
		forward("enclave-spawn", "ps", argc - 2, argv + 2, 0);
	for (size_t i = 0; i < ENC_ARRAY_SIZE(spawn_verbs); i++)
		if (strcmp(verb, spawn_verbs[i]) == 0)
			forward("enclave-spawn", verb, argc - 2, argv + 2, 2);
	if (strcmp(verb, "port") == 0 || strcmp(verb, "ports") == 0) {
		if (argc < 3)
			enc_usage_error("workspace port: expected list, publish or unpublish");
		if (strcmp(argv[2], "list") == 0 || strcmp(argv[2], "ls") == 0)
			forward("enclave-net", "ports", argc - 3, argv + 3, 2);
		if (strcmp(argv[2], "publish") == 0 || strcmp(argv[2], "unpublish") == 0)
			forward("enclave-net", argv[2], argc - 3, argv + 3, 0);
		enc_usage_error("workspace port: unknown verb '%s' (expected list, publish or unpublish)",
				argv[2]);
	}
	enc_usage_error("workspace: unknown verb '%s'", verb);
}

/* ---- dispatch ------------------------------------------------------------ */

int enclave_front(const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "up") == 0)
		return cmd_up(argc, argv);
	if (strcmp(cmd, "down") == 0)
		return cmd_down(argc, argv);
	if (strcmp(cmd, "ps") == 0)
		return cmd_ps(argc, argv);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(argc, argv);
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(argc, argv);
	if (strcmp(cmd, "workspace") == 0)
		return cmd_workspace(argc, argv);
	return -1;
}
