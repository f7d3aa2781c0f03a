/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-spawn - run workspaces: run, start, enter/exec, ps, stop, kill,
 * wait, logs, stats, rm, audit. See enclave-spawn(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "cgroup.h"
#include "config.h"
#include "doctor.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "json.h"
#include "logfile.h"
#include "names.h"
#include "parse.h"
#include "runtime.h"
#include "state.h"
#include "tool.h"
#include "util.h"
#include "workspace.h"

#define DEFAULT_STOP_SECONDS 10

static void usage(void)
{
	fputs("Usage: enclave-spawn COMMAND [OPTION...] SANDBOX WORKSPACE [-- CMD [ARG...]]\n"
	      "\n"
	      "Run isolated workspaces over a shared sandbox root filesystem.\n"
	      "\n"
	      "Commands:\n"
	      "  run SANDBOX WS [-- CMD...]     run in the foreground; exit with its status\n"
	      "  start SANDBOX WS [-- CMD...]   start detached; return once it runs\n"
	      "  enter SANDBOX WS [-- CMD...]   run a command in a running workspace\n"
	      "  exec SANDBOX WS [-- CMD...]    the same as enter\n"
	      "  ps [SANDBOX]                   list workspaces (also: list)\n"
	      "  list [SANDBOX]                 the same as ps\n"
	      "  stop SANDBOX WS                SIGTERM, grace period, then SIGKILL\n"
	      "  kill SANDBOX WS                send a signal (default SIGTERM)\n"
	      "  wait SANDBOX WS                wait for the end and print the result\n"
	      "  logs SANDBOX WS                print the workload's output\n"
	      "  stats SANDBOX WS               state, uptime, CPU, memory, pids\n"
	      "  rm SANDBOX WS                  remove a stopped workspace\n"
	      "  audit SANDBOX WS               print or verify the audit log\n"
	      "\n"
	      "Options for run and start:\n"
	      "      --dir HOST[:INSIDE]  mount a project directory (idmapped)\n"
	      "  -e, --env K=V            set an environment variable (repeatable;\n"
	      "                           also enter)\n"
	      "  -u, --user NAME|UID      the workspace user (default user, uid 1000)\n"
	      "      --hostname NAME      the workspace's hostname\n"
	      "      --memory SIZE        memory limit (e.g. 512M, 2G)\n"
	      "      --swap SIZE          swap limit beyond memory\n"
	      "      --cpus N             CPU quota (e.g. 1.5)\n"
	      "      --pids N             process limit\n"
	      "      --timeout DURATION   wall-clock limit (e.g. 90s, 1h30m)\n"
	      "      --tmp-size SIZE      size cap of the tmp overlay's upper layer\n"
	      "      --overlay MODE       tmp (default), persistent or readonly\n"
	      "      --hide GLOB          hide matching files in the project (repeatable;\n"
	      "                           default .env and .env.*; 'none' hides nothing)\n"
	      "      --protect PATH       make a project path read-only (repeatable)\n"
	      "      --auth PROVIDER      hand the workspace the provider's stored token\n"
	      "                           (repeatable; see enclave-auth(1))\n"
	      "      --env-token NAME     set variable NAME from a stored token (repeatable)\n"
	      "      --net MODE           network: deny (default), nat, none or host\n"
	      "      --allow SPEC         let deny/nat reach CIDR[:PORT[/PROTO]] (repeatable)\n"
	      "      --log-allowed        also log allowed connections (deny, nat)\n"
	      "  -p, --publish SPEC       publish a port: [ADDR:]HOSTPORT:PORT[/PROTO]\n"
	      "                           (repeatable; see enclave-net(1))\n"
	      "      --rm                 keep nothing but result.json and the audit log\n"
	      "      --result FILE        also write the result to FILE (run)\n"
	      "\n"
	      "Other options:\n"
	      "  -t, --tty                give the command a terminal (run, enter)\n"
	      "  -i, --interactive        pass standard input on (run, enter)\n"
	      "      --root               enter as uid 0 with the root capability set\n"
	      "      --json               machine-readable output (ps, stats, start,\n"
	      "                           audit --verify)\n"
	      "  -f, --follow             logs: keep printing new output\n"
	      "  -n, --tail N             logs: only the last N lines\n"
	      "  -s, --signal SIG         kill: the signal (name or number)\n"
	      "      --time SECONDS       stop: grace period (default 10)\n"
	      "      --force              rm: stop a running workspace first\n"
	      "      --verify             audit: check the hash chain\n"
	      "  -h, --help               show this help and exit\n"
	      "      --version            show the version and exit\n"
	      "\n"
	      "See enclave-spawn(1).\n",
	      stdout);
}

enum {
	OPT_DIR = 256,
	OPT_HOSTNAME,
	OPT_MEMORY,
	OPT_SWAP,
	OPT_CPUS,
	OPT_PIDS,
	OPT_TIMEOUT,
	OPT_TMP_SIZE,
	OPT_OVERLAY,
	OPT_HIDE,
	OPT_PROTECT,
	OPT_AUTH,
	OPT_ENV_TOKEN,
	OPT_NET,
	OPT_ALLOW,
	OPT_LOG_ALLOWED,
	OPT_RM,
	OPT_RESULT,
	OPT_ROOT,
	OPT_JSON,
	OPT_TIME,
	OPT_FORCE,
	OPT_VERIFY,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "env", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'u' },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "swap", required_argument, NULL, OPT_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "tmp-size", required_argument, NULL, OPT_TMP_SIZE },
	{ "overlay", required_argument, NULL, OPT_OVERLAY },
	{ "hide", required_argument, NULL, OPT_HIDE },
	{ "protect", required_argument, NULL, OPT_PROTECT },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "env-token", required_argument, NULL, OPT_ENV_TOKEN },
	{ "net", required_argument, NULL, OPT_NET },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "log-allowed", no_argument, NULL, OPT_LOG_ALLOWED },
	{ "publish", required_argument, NULL, 'p' },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "result", required_argument, NULL, OPT_RESULT },
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "root", no_argument, NULL, OPT_ROOT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "follow", no_argument, NULL, 'f' },
	{ "tail", required_argument, NULL, 'n' },
	{ "signal", required_argument, NULL, 's' },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{},
};

/* Which verbs take which options; anything else is a usage error. */
enum {
	V_RUN = 1 << 0,
	V_START = 1 << 1,
	V_ENTER = 1 << 2,
	V_PS = 1 << 3,
	V_STOP = 1 << 4,
	V_KILL = 1 << 5,
	V_WAIT = 1 << 6,
	V_LOGS = 1 << 7,
	V_STATS = 1 << 8,
	V_RM = 1 << 9,
	V_AUDIT = 1 << 10,
};

static const struct {
	const char *name;
	unsigned id;
} verbs[] = {
	{ "run", V_RUN },     { "start", V_START }, { "enter", V_ENTER }, { "exec", V_ENTER },
	{ "ps", V_PS },	      { "list", V_PS },	    { "stop", V_STOP },	  { "kill", V_KILL },
	{ "wait", V_WAIT },   { "logs", V_LOGS },   { "stats", V_STATS }, { "rm", V_RM },
	{ "audit", V_AUDIT },
};

#define V_SPAWN (V_RUN | V_START)

static unsigned opt_verbs(int opt)
{
	switch (opt) {
	case 'e':
		return V_SPAWN | V_ENTER;
	case 't':
	case 'i':
		return V_RUN | V_ENTER;
	case OPT_ROOT:
		return V_ENTER;
	case OPT_JSON:
		return V_PS | V_STATS | V_START | V_AUDIT;
	case 'f':
	case 'n':
		return V_LOGS;
	case 's':
		return V_KILL;
	case OPT_TIME:
		return V_STOP;
	case OPT_FORCE:
		return V_RM;
	case OPT_VERIFY:
		return V_AUDIT;
	case OPT_RESULT:
		return V_RUN;
	default:
		return V_SPAWN;
	}
}

struct args {
	unsigned verb;
	const char *verb_name;
	const char *sandbox;
	const char *ws;
	char **cmd;
	struct enc_workspace_conf conf;
	bool tty, interactive, rm, root, json, follow, force, verify;
	bool have_tail;
	uint64_t tail;
	int sig;
	int stop_ms;
	const char *result_file;
	struct enc_strv env;	/* enter's extra variables */
};

static int parse_signal(const char *s)
{
	uint32_t n;

	if (enc_parse_u32(s, 1, NSIG - 1, &n, NULL) == 0)
		return (int)n;
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && strcasecmp(abbrev, name) == 0)
			return i;
	}
	return -1;
}

/* Workspace options are collected in order and validated together by the
 * same code as an Enclavefile's [workspace.NAME] keys, once the workspace's
 * name is known, so `--memory 12Q` and `memory = 12Q` fail with the same
 * words. */
#define MAX_CONF_OPTS 256

static struct enc_conf_option conf_opts[MAX_CONF_OPTS];
static const char *conf_opt_names[MAX_CONF_OPTS];
static size_t nconf_opts;

static void conf_set(const char *opt, const char *key, const char *value)
{
	if (nconf_opts == MAX_CONF_OPTS)
		enc_usage_error("too many options");
	conf_opts[nconf_opts] = (struct enc_conf_option){ .key = key, .value = value };
	conf_opt_names[nconf_opts++] = opt;
}

static void conf_build(struct args *a)
{
	struct enc_err err = {};
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof(cwd)))
		die_errno("cannot get the current directory");
	if (enc_workspace_conf_from_options(a->ws, cwd, conf_opts, nconf_opts, &a->conf, &err) == 0)
		return;
	if (err.code == -ENOMEM)
		die_err(&err, ENC_EXIT_FAILURE);
	/* err reads "key: what was expected"; name the option instead. */
	for (size_t i = nconf_opts; i-- > 0;) {
		size_t kl = strlen(conf_opts[i].key);
		if (strncmp(err.msg, conf_opts[i].key, kl) == 0 && err.msg[kl] == ':')
			enc_usage_error("--%s: %s", conf_opt_names[i], err.msg + kl + 2);
	}
	enc_usage_error("%s", err.msg);
}

static void parse_args(int argc, char **argv, struct args *a)
{
	if (argc < 2)
		enc_usage_error("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage();
		exit(ENC_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0)
		enc_print_version();
	for (size_t i = 0; i < ENC_ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0) {
			a->verb = verbs[i].id;
			a->verb_name = verbs[i].name;
		}
	if (!a->verb)
		enc_usage_error("unknown command '%s'", argv[1]);

	a->stop_ms = DEFAULT_STOP_SECONDS * 1000;
	a->sig = SIGTERM;
	const char *positional[2] = { NULL, NULL };
	int npos = 0;

	/* Options may come before or between SANDBOX and WS; the command
	 * starts after "--" or at the first word after both. getopt with
	 * '+' stops at each positional; we take it and go on. */
	optind = 2;
	for (;;) {
		int c = getopt_long(argc, argv, "+e:u:tifn:s:p:h", long_opts, NULL);
		if (c == -1) {
			if (optind >= argc)
				break;
			if (strcmp(argv[optind - 1], "--") == 0 && optind > 2)
				break;	/* getopt consumed "--" */
			if (npos < 2) {
				positional[npos++] = argv[optind++];
				continue;
			}
			break;
		}
		if (c == 'h') {
			usage();
			exit(ENC_EXIT_OK);
		}
		if (c == OPT_VERSION)
			enc_print_version();
		if (c == '?')
			enc_usage_error(NULL);
		if (!(opt_verbs(c) & a->verb)) {
			const char *name = argv[optind - 1];
			enc_usage_error("%s: not an option of '%s'", name, a->verb_name);
		}
		switch (c) {
		case OPT_DIR:
			conf_set("dir", "workspace_dir", optarg);
			break;
		case 'e':
			if (a->verb == V_ENTER) {
				struct enc_err err = {};
				size_t kl = strcspn(optarg, "=");
				char name[ENC_ENVNAME_MAX + 1];
				if (!optarg[kl] || kl > ENC_ENVNAME_MAX)
					enc_usage_error("--env: expected NAME=VALUE, got '%s'", optarg);
				memcpy(name, optarg, kl);
				name[kl] = '\0';
				if (enc_envname_check(name, &err) < 0)
					enc_usage_error("--env: %s", err.msg);
				if (strncmp(name, "ENCLAVE_", 8) == 0)
					enc_usage_error("--env: %s: names starting with ENCLAVE_ are reserved",
							name);
				if (enc_strv_push(&a->env, optarg) < 0)
					die("out of memory");
			} else {
				conf_set("env", "env", optarg);
			}
			break;
		case 'u': {
			uint32_t uid;
			if (enc_parse_u32(optarg, 0, UINT32_MAX, &uid, NULL) == 0) {
				conf_set("user", "uid", optarg);
			} else {
				conf_set("user", "user", optarg);
			}
			break;
		}
		case OPT_HOSTNAME:
			conf_set("hostname", "hostname", optarg);
			break;
		case OPT_MEMORY:
			conf_set("memory", "memory", optarg);
			break;
		case OPT_SWAP:
			conf_set("swap", "swap", optarg);
			break;
		case OPT_CPUS:
			conf_set("cpus", "cpus", optarg);
			break;
		case OPT_PIDS:
			conf_set("pids", "pids", optarg);
			break;
		case OPT_TIMEOUT:
			conf_set("timeout", "timeout", optarg);
			break;
		case OPT_TMP_SIZE:
			conf_set("tmp-size", "tmp_size", optarg);
			break;
		case OPT_OVERLAY:
			conf_set("overlay", "overlay", optarg);
			break;
		case OPT_HIDE:
			conf_set("hide", "hide", optarg);
			break;
		case OPT_PROTECT:
			conf_set("protect", "protect", optarg);
			break;
		case OPT_AUTH:
			conf_set("auth", "auth", optarg);
			break;
		case OPT_ENV_TOKEN:
			conf_set("env-token", "env_tokens", optarg);
			break;
		case OPT_NET:
			conf_set("net", "network", optarg);
			break;
		case OPT_ALLOW:
			conf_set("allow", "allow", optarg);
			break;
		case OPT_LOG_ALLOWED:
			conf_set("log-allowed", "log_allowed", "yes");
			break;
		case 'p':
			conf_set("publish", "ports", optarg);
			break;
		case OPT_RM:
			a->rm = true;
			break;
		case OPT_RESULT:
			a->result_file = optarg;
			break;
		case 't':
			a->tty = true;
			break;
		case 'i':
			a->interactive = true;
			break;
		case OPT_ROOT:
			a->root = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'f':
			a->follow = true;
			break;
		case 'n': {
			struct enc_err err = {};
			if (enc_parse_u64(optarg, 0, 10000000, &a->tail, &err) < 0)
				enc_usage_error("--tail: %s", err.msg);
			a->have_tail = true;
			break;
		}
		case 's':
			a->sig = parse_signal(optarg);
			if (a->sig < 0)
				enc_usage_error("--signal: unknown signal '%s'", optarg);
			break;
		case OPT_TIME: {
			uint32_t secs;
			struct enc_err err = {};
			if (enc_parse_u32(optarg, 0, 3600, &secs, &err) < 0)
				enc_usage_error("--time: %s", err.msg);
			a->stop_ms = (int)secs * 1000;
			break;
		}
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_VERIFY:
			a->verify = true;
			break;
		default:
			enc_usage_error(NULL);
		}
	}

	a->sandbox = positional[0];
	a->ws = positional[1];
	bool takes_cmd = a->verb & (V_SPAWN | V_ENTER);
	if (optind < argc) {
		if (!takes_cmd)
			enc_usage_error("%s: unexpected argument '%s'", a->verb_name, argv[optind]);
		a->cmd = argv + optind;
	}
	if (a->verb == V_PS) {
		if (a->ws)
			enc_usage_error("%s: unexpected argument '%s'", a->verb_name, a->ws);
	} else if (!a->sandbox || !a->ws) {
		enc_usage_error("%s: expected SANDBOX and WORKSPACE", a->verb_name);
	}
	struct enc_err err = {};
	if (a->sandbox && enc_name_check(ENC_NAME_SANDBOX, a->sandbox, &err) < 0)
		enc_usage_error("%s", err.msg);
	if (a->ws && enc_name_check(ENC_NAME_WORKSPACE, a->ws, &err) < 0)
		enc_usage_error("%s", err.msg);
	if (a->tty && !isatty(STDIN_FILENO))
		enc_usage_error("--tty: standard input is not a terminal");
}

static void open_state(struct enc_state *st)
{
	struct enc_err err = {};

	if (enc_state_open(st, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
}

static void open_ws(const struct enc_state *st, const struct args *a, struct enc_ws *w)
{
	struct enc_err err = {};

	if (enc_ws_open(st, a->sandbox, a->ws, false, w, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	/* DESIGN §3: the next command that touches a crashed workspace
	 * sweeps it before doing anything else. */
	if (enc_spawn_sweep_if_crashed(st, w, &err) < 0)
		warn_err(&err);
}

/* ---- run / start ------------------------------------------------------- */

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

static void send_winsize(struct enc_spawn_handle *h)
{
	struct winsize wsz;
	char msg[64];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &wsz) == 0) {
		snprintf(msg, sizeof(msg), "W %u %u", wsz.ws_row, wsz.ws_col);
		enc_spawn_send(h, msg);
	}
}

static void copy_result(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (enc_ws_open(st, a->sandbox, a->ws, false, &w, &err) < 0 ||
	    enc_fact_read(w.dir_fd, "result.json", 16 << 20, false, &buf, &len, &err) < 0) {
		warn_err(&err);
		enc_ws_close(&w);
		return;
	}
	enc_ws_close(&w);
	_cleanup_close_ int fd = open(a->result_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		warn_errno("cannot write %s", a->result_file);
}

static int do_spawn(const struct enc_state *st, struct args *a)
{
	bool attached = a->verb == V_RUN;
	struct enc_spawn_spec spec = {
		.sandbox = a->sandbox,
		.ws = &a->conf,
		.argv = a->cmd,
		.tty = a->tty,
		.interactive = a->interactive || a->tty,
		.ephemeral = a->rm,
		.attach_in = attached ? STDIN_FILENO : -1,
		.attach_out = attached ? STDOUT_FILENO : -1,
		.attach_err = attached ? STDERR_FILENO : -1,
	};
	struct enc_spawn_handle h;
	struct enc_err err = {};

	if (attached)
		enc_tool_set_fail_status(ENC_EXIT_CANNOT_RUN);
	/* Never silently weaker: a host that cannot give a limit the
	 * workspace asks for refuses in doctor's words. (A network policy
	 * needs no probe here: its setup fails closed, in nftables' words,
	 * before the workload runs.) */
	struct enc_doctor_opts dopts = { .asked_only = true };
	unsigned needs = enc_doctor_needs_of(&a->conf) & ~(unsigned)ENC_NEED_NFTABLES;
	if (enc_doctor_require(&dopts, needs, &err) < 0) {
		warn_err(&err);
		return attached ? ENC_EXIT_CANNOT_RUN : ENC_EXIT_FAILURE;
	}
	/* Declared credentials without a stored token: the workspace starts
	 * without them (enclave-auth(1)); a refused token fails the start
	 * below, with its reason. */
	struct enc_strv warnings = {};
	if (enc_auth_check(st, &a->conf.auth, &a->conf.env_tokens, &warnings, NULL) == 0)
		for (size_t i = 0; i < warnings.n; i++)
			warnx_("warning: workspace %s/%s: %s", a->sandbox, a->ws, warnings.v[i]);
	enc_strv_free(&warnings);
	/* Raw mode before the monitor exists: setting it later would flush
	 * input the monitor may already have been told is there. */
	if (a->tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		tio_saved = true;
		atexit(restore_tty);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}
	if (enc_spawn_start(st, &spec, &h, &err) < 0) {
		restore_tty();
		warn_err(&err);
		if (!attached)
			return ENC_EXIT_FAILURE;
		/* A command that could not be executed has a result. */
		if (a->result_file && h.fail_status != ENC_EXIT_CANNOT_RUN)
			copy_result(st, a);
		return h.fail_status;
	}
	if (!attached) {
		if (a->json) {
			struct enc_json j;
			enc_json_init(&j, stdout, 0);
			enc_json_obj_begin(&j);
			enc_json_kv_str(&j, "sandbox", a->sandbox);
			enc_json_kv_str(&j, "workspace", a->ws);
			enc_json_kv_int(&j, "monitor_pid", h.monitor.pid);
			enc_json_kv_int(&j, "init_pid", h.init.pid);
			enc_json_obj_end(&j);
			enc_json_finish(&j);
		}
		enc_spawn_handle_close(&h);
		return ENC_EXIT_OK;
	}

	if (a->tty)
		send_winsize(&h);

	/* Signals to us are for the workload. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	int status = ENC_EXIT_CANNOT_RUN;
	for (;;) {
		struct pollfd p[2] = { { .fd = h.status_fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char msg[32];
				if (si.ssi_signo == SIGWINCH) {
					send_winsize(&h);
					continue;
				}
				snprintf(msg, sizeof(msg), "S %u", si.ssi_signo);
				enc_spawn_send(&h, msg);
			}
		}
		if (p[0].revents) {
			if (enc_spawn_wait(&h, &status, &err) < 0) {
				restore_tty();
				warn_err(&err);
				status = ENC_EXIT_CANNOT_RUN;
			}
			break;
		}
	}
	restore_tty();
	enc_spawn_handle_close(&h);
	if (a->result_file)
		copy_result(st, a);
	return status;
}

/* ---- enter ------------------------------------------------------------- */

static int do_enter(const struct enc_state *st, struct args *a)
{
	struct enc_enter_spec spec = {
		.argv = a->cmd,
		.root = a->root,
		.tty = a->tty,
		.interactive = a->interactive || a->tty,
		.env = a->env,
	};
	struct enc_err err = {};
	int status;

	enc_tool_set_fail_status(ENC_EXIT_CANNOT_RUN);
	if (enc_spawn_enter(st, a->sandbox, a->ws, &spec, &status, &err) < 0) {
		warn_err(&err);
		return status;
	}
	return status;
}

/* ---- ps / stats -------------------------------------------------------- */

struct ws_info {
	const char *sandbox;
	const char *name;
	bool running;
	struct enc_pidref init;
	uint64_t uptime_s;
	char generation[32];
	bool have_stats;
	struct enc_cgroup_stats cs;
	char reason[32];
	int status;
	bool have_result;
};

static void info_of(const struct enc_state *st, const char *sb, const char *name, bool stats,
		    struct ws_info *i)
{
	struct enc_ws w = ENC_WS_INIT;
	_cleanup_free_ char *gen = NULL;

	memset(i, 0, sizeof(*i));
	i->sandbox = sb;
	i->name = name;
	if (enc_ws_open(st, sb, name, false, &w, NULL) < 0)
		return;
	enc_spawn_sweep_if_crashed(st, &w, NULL);
	i->running = enc_ws_running(&w, NULL) == 1;
	if (enc_fact_read(w.dir_fd, "generation", 64, true, &gen, NULL, NULL) == 0)
		snprintf(i->generation, sizeof(i->generation), "%s", gen);
	if (i->running && enc_ws_pid_read(&w, "init", &i->init, NULL) == 0) {
		struct timespec ts;
		long hz = sysconf(_SC_CLK_TCK);
		clock_gettime(CLOCK_BOOTTIME, &ts);
		uint64_t now_ticks = (uint64_t)ts.tv_sec * (uint64_t)hz;
		if (hz > 0 && now_ticks >= i->init.start)
			i->uptime_s = (now_ticks - i->init.start) / (uint64_t)hz;
	}
	if (!i->running) {
		_cleanup_free_ char *res = NULL;
		if (enc_fact_read(w.dir_fd, "result.json", 16 << 20, false, &res, NULL, NULL) == 0) {
			/* Our own file: pull the reason and status out cheaply. */
			char *p = strstr(res, "\"reason\": \"");
			if (p) {
				p += strlen("\"reason\": \"");
				size_t n = strcspn(p, "\"");
				if (n < sizeof(i->reason)) {
					memcpy(i->reason, p, n);
					i->reason[n] = '\0';
				}
			}
			p = strstr(res, "\"status\": ");
			if (p)
				i->status = atoi(p + strlen("\"status\": "));
			i->have_result = p != NULL;
		}
	}
	if (stats && i->running) {
		struct enc_cgroup_sys sys = {};
		struct enc_cgroup cg = {};
		char cgname[ENC_WS_CGROUP_NAME_MAX];
		enc_ws_cgroup_name(&w, cgname, sizeof(cgname));
		if (enc_cgroup_probe(&sys, NULL) == 0) {
			if (enc_cgroup_open(&sys, cgname, &cg, NULL) == 0) {
				i->have_stats = enc_cgroup_stats(&cg, &i->cs, NULL) == 0;
				enc_cgroup_close(&cg);
			}
			enc_cgroup_sys_close(&sys);
		}
	}
	enc_ws_close(&w);
}

static void info_json(struct enc_json *j, const struct ws_info *i, bool stats)
{
	enc_json_obj_begin(j);
	enc_json_kv_str(j, "sandbox", i->sandbox);
	enc_json_kv_str(j, "workspace", i->name);
	enc_json_kv_str(j, "state", i->running ? "running" : "stopped");
	enc_json_key(j, "pid");
	if (i->running && i->init.pid)
		enc_json_int(j, i->init.pid);
	else
		enc_json_null(j);
	enc_json_key(j, "uptime_s");
	if (i->running)
		enc_json_uint(j, i->uptime_s);
	else
		enc_json_null(j);
	enc_json_key(j, "generation");
	enc_json_str(j, i->generation[0] ? i->generation : NULL);
	enc_json_key(j, "last_reason");
	enc_json_str(j, !i->running && i->reason[0] ? i->reason : NULL);
	enc_json_key(j, "last_status");
	if (!i->running && i->have_result)
		enc_json_int(j, i->status);
	else
		enc_json_null(j);
	if (stats) {
		enc_json_key(j, "cpu_ms");
		if (i->have_stats)
			enc_json_uint(j, i->cs.cpu_usage_usec / 1000);
		else
			enc_json_null(j);
		enc_json_key(j, "memory");
		if (i->have_stats)
			enc_json_uint(j, i->cs.memory_current);
		else
			enc_json_null(j);
		enc_json_key(j, "memory_peak");
		if (i->have_stats)
			enc_json_uint(j, i->cs.memory_peak);
		else
			enc_json_null(j);
		enc_json_key(j, "pids");
		if (i->have_stats)
			enc_json_uint(j, i->cs.pids_current);
		else
			enc_json_null(j);
	}
	enc_json_obj_end(j);
}

static int do_ps(const struct enc_state *st, const struct args *a)
{
	struct enc_ws_entry *e = NULL;
	size_t n = 0;
	struct enc_err err = {};

	if (enc_ws_list(st, a->sandbox, &e, &n, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	struct enc_json j;
	if (a->json) {
		enc_json_init(&j, stdout, 0);
		enc_json_arr_begin(&j);
	}
	for (size_t k = 0; k < n; k++) {
		struct ws_info i;
		info_of(st, e[k].sandbox, e[k].name, false, &i);
		if (a->json) {
			info_json(&j, &i, false);
			continue;
		}
		/* SANDBOX WS STATE PID UPTIME GENERATION LAST */
		printf("%s\t%s\t%s\t", i.sandbox, i.name, i.running ? "running" : "stopped");
		if (i.running && i.init.pid)
			printf("%d\t%" PRIu64 "\t", (int)i.init.pid, i.uptime_s);
		else
			printf("-\t-\t");
		printf("%s\t", i.generation[0] ? i.generation : "-");
		if (!i.running && i.reason[0])
			printf("%s:%d\n", i.reason, i.status);
		else
			printf("-\n");
	}
	if (a->json) {
		enc_json_arr_end(&j);
		if (enc_json_finish(&j) < 0)
			die("cannot write the JSON");
	}
	enc_ws_list_free(e, n);
	return fflush(stdout) == 0 ? ENC_EXIT_OK : ENC_EXIT_FAILURE;
}

static int do_stats(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct ws_info i;

	open_ws(st, a, &w);
	enc_ws_close(&w);
	info_of(st, a->sandbox, a->ws, true, &i);
	if (a->json) {
		struct enc_json j;
		enc_json_init(&j, stdout, 0);
		info_json(&j, &i, true);
		if (enc_json_finish(&j) < 0)
			die("cannot write the JSON");
		return ENC_EXIT_OK;
	}
	printf("state\t%s\n", i.running ? "running" : "stopped");
	if (i.running) {
		printf("pid\t%d\n", (int)i.init.pid);
		printf("uptime_s\t%" PRIu64 "\n", i.uptime_s);
	}
	if (i.have_stats) {
		printf("cpu_ms\t%" PRIu64 "\n", i.cs.cpu_usage_usec / 1000);
		printf("memory\t%" PRIu64 "\n", i.cs.memory_current);
		printf("memory_peak\t%" PRIu64 "\n", i.cs.memory_peak);
		printf("pids\t%" PRIu64 "\n", i.cs.pids_current);
	}
	return ENC_EXIT_OK;
}

/* ---- stop / kill / wait / logs / rm / audit ---------------------------- */

static int do_stop(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};
	bool was;

	open_ws(st, a, &w);
	int r = enc_spawn_stop(st, &w, a->stop_ms, &was, &err);
	enc_ws_close(&w);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (!was)
		warnx_("workspace %s/%s is not running", a->sandbox, a->ws);
	return ENC_EXIT_OK;
}

static int do_kill(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};

	open_ws(st, a, &w);
	int r = enc_spawn_kill(st, &w, a->sig, &err);
	enc_ws_close(&w);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	return ENC_EXIT_OK;
}

static int print_file(int dirfd, const char *name, size_t max)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct enc_err err = {};

	if (enc_fact_read(dirfd, name, max, false, &buf, &len, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
		die_errno("cannot write");
	return ENC_EXIT_OK;
}

static int do_wait(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};

	open_ws(st, a, &w);
	if (enc_ws_wait_stopped(&w, -1, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	int r = print_file(w.dir_fd, "result.json", 16 << 20);
	enc_ws_close(&w);
	return r;
}

static int do_logs(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};
	int r;

	open_ws(st, a, &w);
	size_t n = a->have_tail ? (size_t)a->tail : SIZE_MAX;
	if (a->follow) {
		/* Follow until the workspace stops: a shared lock taken in a
		 * child turns into an fd that becomes readable then. */
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			die_errno("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die_errno("fork");
		if (pid == 0) {
			close(pfd[0]);
			enc_ws_wait_stopped(&w, -1, NULL);
			_exit(0);	/* closing pfd[1] wakes the follower */
		}
		close(pfd[1]);
		r = enc_log_follow(w.dir_fd, n, STDOUT_FILENO, pfd[0], &err);
		kill(pid, SIGKILL);
		close(pfd[0]);
	} else {
		r = enc_log_tail(w.dir_fd, n, STDOUT_FILENO, &err);
	}
	enc_ws_close(&w);
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	return ENC_EXIT_OK;
}

static int do_rm(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};

	open_ws(st, a, &w);
	if (enc_ws_lock(&w, false, &err) < 0) {
		if (err.code != -EBUSY)
			die_err(&err, ENC_EXIT_FAILURE);
		if (!a->force)
			die("%s (use --force to stop it first)", err.msg);
		bool was;
		enc_err_clear(&err);
		if (enc_spawn_stop(st, &w, a->stop_ms, &was, &err) < 0 ||
		    enc_ws_lock(&w, true, &err) < 0)
			die_err(&err, ENC_EXIT_FAILURE);
	}
	if (enc_spawn_sweep(st, &w, &err) < 0 || enc_ws_remove(st, &w, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	enc_ws_close(&w);
	return ENC_EXIT_OK;
}

static int do_audit(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};

	open_ws(st, a, &w);
	if (!a->verify) {
		int r = print_file(w.dir_fd, ENC_AUDIT_FILE, 1ULL << 30);
		enc_ws_close(&w);
		return r;
	}
	struct enc_audit_verify_result res = {};
	int r = enc_audit_verify(w.dir_fd, ENC_AUDIT_FILE, &res, &err);
	enc_ws_close(&w);
	if (r == -EBADMSG) {
		fprintf(stderr, "enclave-spawn: %s/%s: audit log %s at line %" PRIu64 ": %s\n",
			a->sandbox, a->ws, enc_audit_status_str(res.status), res.line, res.reason);
		return ENC_EXIT_FAILURE;
	}
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (a->json)
		printf("{\"ok\":true,\"records\":%" PRIu64 "}\n", res.records);
	else
		printf("ok\t%" PRIu64 " records\n", res.records);
	return ENC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct args a = {};
	struct enc_state st = ENC_STATE_INIT;
	int r;

	enc_tool_init("enclave-spawn");
	parse_args(argc, argv, &a);
	/* run and enter wrap a command: enclave's own failures are 125. */
	if (a.verb & (V_RUN | V_ENTER))
		enc_tool_set_fail_status(ENC_EXIT_CANNOT_RUN);
	if (a.verb & V_SPAWN)
		conf_build(&a);

	open_state(&st);
	switch (a.verb) {
	case V_RUN:
	case V_START:
		r = do_spawn(&st, &a);
		break;
	case V_ENTER:
		r = do_enter(&st, &a);
		break;
	case V_PS:
		r = do_ps(&st, &a);
		break;
	case V_STOP:
		r = do_stop(&st, &a);
		break;
	case V_KILL:
		r = do_kill(&st, &a);
		break;
	case V_WAIT:
		r = do_wait(&st, &a);
		break;
	case V_LOGS:
		r = do_logs(&st, &a);
		break;
	case V_STATS:
		r = do_stats(&st, &a);
		break;
	case V_RM:
		r = do_rm(&st, &a);
		break;
	case V_AUDIT:
		r = do_audit(&st, &a);
		break;
	default:
		r = ENC_EXIT_USAGE;
	}
	enc_state_close(&st);
	enc_workspace_conf_free(&a.conf);
	enc_strv_free(&a.env);
	return r;
}
