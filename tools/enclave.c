/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave - the Enclavefile front door.
 *
 *   enclave init [-f FILE] [--force]     write a commented starter Enclavefile
 *   enclave config [-f FILE] [--pretty]  print the validated model as JSON
 *   enclave create NAME [OPTION...]      = enclave-bootstrap create NAME ...
 *   enclave doctor [--json]              what this host offers and lacks
 *   enclave up/down/ps/stats/logs        the Enclavefile's workspaces
 *                                        (enclave-up.c)
 *   enclave workspace VERB ...           the seed's spellings (enclave-up.c)
 *   enclave X [ARG...]                   runs enclave-X from this install
 *
 * The sub-programs are found next to this executable (so a build tree works
 * as well as an installed one), never through $PATH: `enclave X` must run
 * this installation's enclave-X and nothing a user's PATH puts first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-config.h"
#include "config.h"
#include "doctor.h"
#include "fsutil.h"
#include "json.h"
#include "names.h"
#include "tool.h"
#include "util.h"

#define DEFAULT_FILE "Enclavefile"

/* enclave-up.c: up, down, ps, stats, logs, workspace; -1 for other words. */
int enclave_front(const char *cmd, int argc, char **argv);

/* Commands that are spelled differently at the front door (the seed's
 * spellings): enclave <alias> ... runs <program> <verb> ... */
static const struct {
	const char *alias;
	const char *program;
	const char *verb;
} aliases[] = {
	{ "create", "enclave-bootstrap", "create" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: enclave [--help] [--version] COMMAND [ARG...]\n"
		"\n"
		"Run many isolated workspaces on one shared root filesystem.\n"
		"\n"
		"Commands:\n"
		"  init [-f FILE] [--force]     write a commented starter Enclavefile\n"
		"  config [-f FILE] [--pretty]  print the validated Enclavefile as JSON\n"
		"  up [-f FILE] [WS...]         create the sandbox, start the workspaces\n"
		"  down [-f FILE] [--purge] [WS...]  stop them (--purge: and remove them)\n"
		"  ps [-f FILE] [--json]        list the sandbox's workspaces\n"
		"  stats [-f FILE] [--json] [WS...]  state, CPU, memory, pids, net, denials\n"
		"  logs [--file FILE] [-f] WS   a workspace's output (-f: follow)\n"
		"  workspace VERB ... [SB] WS   enclave-spawn VERB (port: enclave-net)\n"
		"  create NAME [OPTION...]      create a sandbox (enclave-bootstrap create)\n"
		"  doctor [--json]              check the kernel and host for what enclave needs\n"
		"  auth ...                     enclave-auth: login, logout, list\n"
		"  bootstrap ...                enclave-bootstrap: build and keep sandboxes\n"
		"  X [ARG...]                   run enclave-X from this installation\n"
		"\n"
		"Options:\n"
		"  -h, --help                   show this help and exit\n"
		"      --version                show the version and exit\n"
		"\n"
		"The Enclavefile is ./Enclavefile unless -f names another.\n"
		"See enclave(1), enclave(7) and enclavefile(5).\n");
}

/* ---- enclave init ------------------------------------------------------ */

static const char starter[] =
	"; Enclavefile - one shared root filesystem, many isolated workspaces.\n"
	"; See enclavefile(5). Lines starting with ';' or '#' are comments.\n"
	"\n"
	"[sandbox]\n"
	"name = %s\n"
	"suite = bookworm\n"
	"; bootstrap_method = debootstrap   ; or mmdebstrap, cached_rootfs, dir, tar\n"
	"; Each setup line runs as root in a new generation of the rootfs;\n"
	"; a repeated key appends.\n"
	"; setup = apt-get install -y git nodejs python3\n"
	"\n"
	"; A workspace without `run` is created ready for `enclave-spawn enter`.\n"
	"[workspace.shell]\n"
	"; workspace_dir = ./project       ; idmapped, owned by you on the host\n"
	"; network = deny                  ; none, deny (default), nat or host\n"
	"; allow = 140.82.112.0/20:443     ; egress allowlist for deny mode\n"
	"; memory = 2G\n"
	"; cpus = 1.5\n"
	"; pids = 512\n"
	"; timeout = 1h\n"
	"\n"
	"; A workspace that runs a service, published on the host's loopback:\n"
	"; [workspace.api]\n"
	"; run = node server.js\n"
	"; workspace_dir = ./project\n"
	"; ports = 127.0.0.1:3001:3000/tcp\n"
	"; auth = github npm\n";

/* The sandbox name the starter proposes: the directory's name when it is a
 * valid sandbox name, else "devbox". */
static void default_sandbox_name(const char *dir, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(buf, len, "devbox");
	if (!dir || strlen(dir) >= sizeof(tmp))
		return;
	strcpy(tmp, dir);
	const char *base = basename(tmp);
	if (enc_name_valid(base) && strlen(base) < len)
		snprintf(buf, len, "%s", base);
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *file = DEFAULT_FILE;
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			printf("Usage: enclave init [-f FILE] [--force]\n"
			       "\n"
			       "Write a commented starter Enclavefile (default ./Enclavefile).\n"
			       "\n"
			       "  -f, --file FILE   write FILE instead of ./Enclavefile\n"
			       "      --force       replace an existing file\n"
			       "  -h, --help        show this help and exit\n");
			return ENC_EXIT_OK;
		default:
			enc_usage_error(NULL);
		}
	}
	if (optind != argc)
		enc_usage_error("init: unexpected argument '%s'", argv[optind]);

	/* The name comes from the directory the file lands in. */
	char dirbuf[PATH_MAX], name[ENC_NAME_MAX + 1];
	_cleanup_free_ char *dircopy = strdup(file);
	if (!dircopy)
		die_errno("out of memory");
	const char *dir = dirname(dircopy);
	if (!realpath(dir, dirbuf))
		die_errno("cannot resolve the directory of '%s'", file);
	default_sandbox_name(dirbuf, name, sizeof(name));

	_cleanup_free_ char *text = NULL;
	if (asprintf(&text, starter, name) < 0)
		die_errno("out of memory");

	if (!force) {
		/* O_EXCL: never clobber a user's file, not even in a race. */
		_cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			if (errno == EEXIST)
				die("%s already exists (use --force to replace it)", file);
			die_errno("cannot create %s", file);
		}
		size_t len = strlen(text), off = 0;
		while (off < len) {
			ssize_t n = ENC_RETRY(write(fd, text + off, len - off));
			if (n < 0) {
				int saved = errno;
				unlink(file);
				errno = saved;
				die_errno("cannot write %s", file);
			}
			off += (size_t)n;
		}
		if (close(steal_fd(&fd)) < 0) {
			int saved = errno;
			unlink(file);
			errno = saved;
			die_errno("cannot write %s", file);
		}
	} else {
		/* Replace atomically: a crash leaves the old file or the new. */
		_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		struct enc_err err = {};
		_cleanup_free_ char *bcopy = strdup(file);
		if (!bcopy)
			die_errno("out of memory");
		if (dfd < 0)
			die_errno("cannot open directory %s", dir);
		if (enc_fact_write(dfd, basename(bcopy), text, strlen(text), 0644, true, &err) < 0)
			die_err(&err, ENC_EXIT_FAILURE);
	}
	fprintf(stderr, "enclave: wrote %s (sandbox '%s'); edit it, then run 'enclave up'\n",
		file, name);
	return ENC_EXIT_OK;
}

/* ---- enclave config ---------------------------------------------------- */

static int cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *file = DEFAULT_FILE;
	unsigned flags = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'p':
			flags |= ENC_JSON_PRETTY;
			break;
		case 'h':
			printf("Usage: enclave config [-f FILE] [--pretty]\n"
			       "\n"
			       "Parse and validate an Enclavefile and print the normalised model\n"
			       "as JSON on stdout (defaults filled in, paths absolute).\n"
			       "\n"
			       "  -f, --file FILE   read FILE instead of ./Enclavefile\n"
			       "      --pretty      indent the JSON\n"
			       "  -h, --help        show this help and exit\n");
			return ENC_EXIT_OK;
		default:
			enc_usage_error(NULL);
		}
	}
	if (optind != argc)
		enc_usage_error("config: unexpected argument '%s'", argv[optind]);

	struct enc_config cfg = {};
	struct enc_err err = {};
	int r = enc_config_load(file, &cfg, &err);
	if (r < 0)
		die_err(&err, r == -EINVAL ? ENC_EXIT_USAGE : ENC_EXIT_FAILURE);

	struct enc_json j;
	enc_json_init(&j, stdout, flags);
	enc_config_to_json(&cfg, &j);
	r = enc_json_finish(&j);
	enc_config_free(&cfg);
	if (r < 0) {
		errno = -r;
		die_errno("cannot write the JSON");
	}
	return ENC_EXIT_OK;
}

/* ---- enclave doctor ---------------------------------------------------- */

static int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct enc_doctor_opts dopts = {};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: enclave doctor [--json]\n"
			       "\n"
			       "Check every kernel feature and host condition enclave relies on and\n"
			       "say, for each, ok or what is missing and how to fix it. Changes\n"
			       "nothing. Exits 1 when something needed is missing.\n"
			       "\n"
			       "      --json        print one JSON object instead of the table\n"
			       "  -h, --help        show this help and exit\n");
			return ENC_EXIT_OK;
		default:
			enc_usage_error(NULL);
		}
	}
	if (optind != argc)
		enc_usage_error("doctor: unexpected argument '%s'", argv[optind]);

	/* A fake /proc tree for the sysctl-style checks (tests). */
	const char *proc = getenv("ENCLAVE_DOCTOR_PROC_ROOT");
	if (proc && *proc) {
		if (proc[0] != '/')
			die_status(ENC_EXIT_USAGE, "ENCLAVE_DOCTOR_PROC_ROOT must be an absolute path, not '%s'",
				   proc);
		dopts.proc_root = proc;
	}

	_cleanup_free_ struct enc_doctor_report *rep = calloc(1, sizeof(*rep));
	if (!rep)
		die_errno("out of memory");
	enc_doctor_run(&dopts, rep);

	int r;
	if (json) {
		struct enc_json j;

		enc_json_init(&j, stdout, 0);
		enc_doctor_to_json(rep, &j);
		r = enc_json_finish(&j);
	} else {
		r = enc_doctor_write_table(rep, stdout);
	}
	if (r < 0) {
		errno = -r;
		die_errno("cannot write the report");
	}
	if (enc_doctor_ok(rep))
		return ENC_EXIT_OK;

	/* The same words as the table, on stderr, for scripts that keep
	 * only errors. */
	for (size_t i = 0; i < rep->n; i++) {
		const struct enc_doctor_check *k = &rep->checks[i];

		if (k->needed && k->status == ENC_DOCTOR_MISSING)
			warnx_("needed: %s: %s", k->id, k->detail);
	}
	return ENC_EXIT_FAILURE;
}

/* ---- dispatch to enclave-X --------------------------------------------- */

/* The directory this executable lives in, so a build tree runs its own
 * sub-programs. Falls back to the configured bindir. */
static void self_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, len, "%s", dirname(exe));
		return;
	}
	snprintf(buf, len, "%s", ENCLAVE_BINDIR);
}

/* Sub-command names become file names: the same allowlist as every other
 * name, minus '.', so `enclave ../x` cannot reach outside the directory. */
static bool valid_command(const char *s)
{
	if (!*s || strlen(s) > 32 || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

ENC_NORETURN static void run_sub(const char *program, const char *verb, int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];

	self_dir(dir, sizeof(dir));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, program) >= sizeof(path))
		die("path of %s too long", program);

	/* argv[0] = program, [verb], then the remaining arguments. */
	char **nargv = calloc((size_t)argc + 3, sizeof(char *));
	if (!nargv)
		die_errno("out of memory");
	size_t k = 0;
	nargv[k++] = (char *)program;
	if (verb)
		nargv[k++] = (char *)verb;
	for (int i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;

	execv(path, nargv);
	int saved = errno;
	free(nargv);
	if (saved == ENOENT) {
		fprintf(stderr, "enclave: '%s' is not an enclave command (no %s in %s)\n"
			"Try 'enclave --help'.\n", argv[0], program, dir);
		exit(ENC_EXIT_USAGE);
	}
	errno = saved;
	die_errno("cannot run %s", path);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	enc_tool_init("enclave");
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return ENC_EXIT_OK;
		case 'V':
			enc_print_version();
		default:
			enc_usage_error(NULL);
		}
	}
	if (optind >= argc)
		enc_usage_error("no command given");

	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;

	/* Sub-commands parse their own options from their argv[1]. */
	optind = 1;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(sub_argc, sub_argv);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(sub_argc, sub_argv);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(sub_argc, sub_argv);
	int fr = enclave_front(cmd, sub_argc, sub_argv);
	if (fr >= 0)
		return fr;
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return ENC_EXIT_OK;
	}
	for (size_t i = 0; i < ENC_ARRAY_SIZE(aliases); i++)
		if (strcmp(cmd, aliases[i].alias) == 0)
			run_sub(aliases[i].program, aliases[i].verb, sub_argc, sub_argv);

	/* The setuid helper is not a user command and does not live here. */
	if (!valid_command(cmd) || strcmp(cmd, "helper") == 0) {
		fprintf(stderr, "enclave: '%s' is not an enclave command\n"
			"Try 'enclave --help'.\n", cmd);
		return ENC_EXIT_USAGE;
	}
	char program[64];
	snprintf(program, sizeof(program), "enclave-%s", cmd);
	run_sub(program, NULL, sub_argc, sub_argv);
}
