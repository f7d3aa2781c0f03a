/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-bootstrap - build and keep sandboxes: shared, immutable root file
 * systems made of generations (DESIGN.md §1, §6, §11; enclave-bootstrap(1)).
 *
 *   enclave-bootstrap create NAME [--method M] [--suite S] ... [--setup CMD]...
 *                           [--update]
 *   enclave-bootstrap create [NAME] --file ENCLAVEFILE [--update]
 *   enclave-bootstrap list [--json]
 *   enclave-bootstrap show NAME [--json]
 *   enclave-bootstrap rm [--force] NAME
 *   enclave-bootstrap prune [--dry-run] [NAME]
 *
 * Parses, validates, calls lib/sandbox.h and lib/rootfs.h, reports. The
 * store is the caller's (root: /var/lib/enclave/sandboxes).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "parse.h"
#include "rootfs.h"
#include "sandbox.h"
#include "state.h"
#include "tool.h"
#include "util.h"

enum verb { V_NONE, V_CREATE, V_LIST, V_SHOW, V_RM, V_PRUNE };

enum {
	OPT_VERSION = 0x100,
	OPT_METHOD,
	OPT_SUITE,
	OPT_MIRROR,
	OPT_VARIANT,
	OPT_INCLUDE,
	OPT_COMPONENTS,
	OPT_SOURCE,
	OPT_UPDATE,
	OPT_JSON,
	OPT_SETUP,
	OPT_FILE,
};

struct opts {
	enum verb verb;
	bool quiet;
	bool json;
	bool force;
	bool dry_run;
	bool update;
	const char *method;
	const char *suite;
	const char *mirror;
	const char *variant;
	const char *include;
	const char *components;
	const char *source;
	const char *file;
	struct enc_strv setup;
	const char *name;
	char *name_owned;	/* --file without NAME: the file's */
	unsigned given;		/* bit per option seen, for applicability checks */
};

static const struct option long_opts[] = {
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "method", required_argument, NULL, OPT_METHOD },
	{ "bootstrap-method", required_argument, NULL, OPT_METHOD },
	{ "suite", required_argument, NULL, OPT_SUITE },
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "variant", required_argument, NULL, OPT_VARIANT },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "components", required_argument, NULL, OPT_COMPONENTS },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "update", no_argument, NULL, OPT_UPDATE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "setup", required_argument, NULL, OPT_SETUP },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "force", no_argument, NULL, 'f' },
	{ "dry-run", no_argument, NULL, 'n' },
	{},
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: enclave-bootstrap [OPTION...] COMMAND [ARG...]\n"
		"\n"
		"Build and keep sandboxes: shared, immutable root file systems.\n"
		"\n"
		"Commands:\n"
		"  create NAME [OPTION...]  build a sandbox, or with --update a new generation\n"
		"  create [NAME] --file FILE  the same from an Enclavefile's [sandbox] section\n"
		"  list [--json]            list the sandboxes\n"
		"  show NAME [--json]       show a sandbox's recipe and generations\n"
		"  rm [--force] NAME        remove a sandbox and all its generations\n"
		"  prune [--dry-run] [NAME] remove generations that no workspace uses\n"
		"\n"
		"Options of create:\n"
		"      --method METHOD      debootstrap (default), mmdebstrap, cached_rootfs,\n"
		"                           dir or tar\n"
		"      --bootstrap-method METHOD  the same as --method\n"
		"      --suite SUITE        Debian suite (default " ENC_DEFAULT_SUITE ")\n"
		"      --mirror URL         archive mirror (default " ENC_DEFAULT_MIRROR ")\n"
		"      --variant VARIANT    debootstrap variant (default " ENC_DEFAULT_VARIANT ")\n"
		"      --include PKG,...    extra packages to install\n"
		"      --components C,...   archive components (default " ENC_DEFAULT_COMPONENTS ")\n"
		"      --source PATH        the directory (dir) or archive (tar) to import\n"
		"      --setup CMD          run CMD as root in the new generation (repeatable,\n"
		"                           in order)\n"
		"      --file FILE          take the recipe from an Enclavefile\n"
		"      --update             build a new generation of an existing sandbox\n"
		"\n"
		"Other options:\n"
		"      --json               JSON output (list, show)\n"
		"  -f, --force              rm: remove even while stopped workspaces use it\n"
		"  -n, --dry-run            prune: only list what would be removed\n"
		"  -q, --quiet              no progress messages\n"
		"  -h, --help               show this help and exit\n"
		"      --version            show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage or configuration error.\n"
		"See enclave-bootstrap(1).\n");
}

/* ---- argument parsing -------------------------------------------------------- */

static void set_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'q': o->quiet = true; break;
	case 'h': usage(stdout); exit(ENC_EXIT_OK);
	case OPT_VERSION: enc_print_version();
	case OPT_METHOD: o->method = arg; break;
	case OPT_SUITE: o->suite = arg; break;
	case OPT_MIRROR: o->mirror = arg; break;
	case OPT_VARIANT: o->variant = arg; break;
	case OPT_INCLUDE: o->include = arg; break;
	case OPT_COMPONENTS: o->components = arg; break;
	case OPT_SOURCE: o->source = arg; break;
	case OPT_UPDATE: o->update = true; break;
	case OPT_JSON: o->json = true; break;
	case OPT_SETUP:
		if (enc_strv_push(&o->setup, arg) < 0)
			die("out of memory");
		break;
	case OPT_FILE: o->file = arg; break;
	case 'f': o->force = true; break;
	case 'n': o->dry_run = true; break;
	default: enc_usage_error(NULL);
	}
	if (c >= OPT_METHOD && c <= OPT_FILE)
		o->given |= 1u << (c - OPT_METHOD);
	else if (c == 'f')
		o->given |= 1u << 16;
	else if (c == 'n')
		o->given |= 1u << 17;
}

static const char *opt_name(unsigned bit)
{
	static const char *const names[] = {
		"--method", "--suite", "--mirror", "--variant", "--include",
		"--components", "--source", "--update", "--json", "--setup", "--file",
	};

	if (bit < ENC_ARRAY_SIZE(names))
		return names[bit];
	return bit == 16 ? "--force" : "--dry-run";
}

/* Options may come before or after the positional arguments of a verb
 * (`create NAME --suite S`, as the front door passes them); "--" ends them. */
static void parse_verb(struct opts *o, int argc, char **argv, const char **pos, int maxpos,
		       int *npos)
{
	bool dashdash = false;

	*npos = 0;
	optind = 1;
	while (optind < argc) {
		int c = -1;

		if (!dashdash) {
			int before = optind;

			c = getopt_long(argc, argv, "+qhfn", long_opts, NULL);
			if (c == -1 && optind > before && strcmp(argv[optind - 1], "--") == 0)
				dashdash = true;
		}
		if (c != -1) {
			set_opt(o, c, optarg);
			continue;
		}
		if (optind >= argc)
			break;
		if (*npos >= maxpos)
			enc_usage_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
		pos[(*npos)++] = argv[optind++];
	}
}

static void check_allowed(const struct opts *o, unsigned allowed, const char *verb)
{
	unsigned extra = o->given & ~allowed;

	for (unsigned bit = 0; extra; bit++, extra >>= 1)
		if (extra & 1)
			enc_usage_error("%s is not an option of '%s'", opt_name(bit), verb);
}

#define A(opt) (1u << ((opt) - OPT_METHOD))
#define A_FORCE (1u << 16)
#define A_DRYRUN (1u << 17)

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct { const char *name; enum verb v; } verbs[] = {
		{ "create", V_CREATE }, { "list", V_LIST }, { "show", V_SHOW },
		{ "rm", V_RM }, { "prune", V_PRUNE },
	};
	const char *pos[1];
	int c, npos;

	while ((c = getopt_long(argc, argv, "+qh", long_opts, NULL)) != -1) {
		if (c != 'q' && c != 'h' && c != OPT_VERSION)
			enc_usage_error("%s must follow a command", argv[optind - 1]);
		set_opt(o, c, optarg);
	}
	if (optind >= argc)
		enc_usage_error("no command given");
	for (size_t i = 0; i < ENC_ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			o->verb = verbs[i].v;
	if (o->verb == V_NONE)
		enc_usage_error("unknown command '%s'", argv[optind]);

	const char *verb = argv[optind];
	int vargc = argc - optind;
	char **vargv = argv + optind;

	switch (o->verb) {
	case V_CREATE:
		parse_verb(o, vargc, vargv, pos, 1, &npos);
		check_allowed(o, A(OPT_METHOD) | A(OPT_SUITE) | A(OPT_MIRROR) | A(OPT_VARIANT) |
			      A(OPT_INCLUDE) | A(OPT_COMPONENTS) | A(OPT_SOURCE) | A(OPT_UPDATE) |
			      A(OPT_SETUP) | A(OPT_FILE), verb);
		if (o->file) {
			/* One source of truth per create: the file's recipe
			 * is not mixed with options. */
			unsigned extra = o->given & ~(A(OPT_UPDATE) | A(OPT_FILE));

			for (unsigned bit = 0; extra; bit++, extra >>= 1)
				if (extra & 1)
					enc_usage_error("%s cannot be combined with --file (the "
							"Enclavefile holds the recipe)", opt_name(bit));
		} else if (npos != 1) {
			enc_usage_error("create: a sandbox name is required");
		}
		break;
	case V_LIST:
		parse_verb(o, vargc, vargv, pos, 0, &npos);
		check_allowed(o, A(OPT_JSON), verb);
		break;
	case V_SHOW:
		parse_verb(o, vargc, vargv, pos, 1, &npos);
		check_allowed(o, A(OPT_JSON), verb);
		if (npos != 1)
			enc_usage_error("show: a sandbox name is required");
		break;
	case V_RM:
		parse_verb(o, vargc, vargv, pos, 1, &npos);
		check_allowed(o, A_FORCE, verb);
		if (npos != 1)
			enc_usage_error("rm: a sandbox name is required");
		break;
	case V_PRUNE:
		parse_verb(o, vargc, vargv, pos, 1, &npos);
		check_allowed(o, A_DRYRUN, verb);
		break;
	case V_NONE:
		break;
	}
	o->name = npos ? pos[0] : NULL;
}

/* ---- helpers --------------------------------------------------------------- */

static volatile sig_atomic_t cancel_sig;

static void on_signal(int sig)
{
	cancel_sig = sig;
}

/* SIGINT/SIGTERM/SIGHUP during a create: stop, clean up, exit 128+N. No
 * SA_RESTART, so blocking calls return EINTR and the flag is seen. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void open_store(struct enc_state *st, struct enc_store *s, bool quiet)
{
	struct enc_err err = {}, serr = {};

	if (enc_state_open(st, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (enc_store_open(s, st, &serr, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (enc_err_isset(&serr) && !quiet)
		warnx_("cannot sweep stale temporary files: %s", serr.msg);
}

/* ---- progress ------------------------------------------------------------- */

struct progress {
	bool quiet;
	bool tty;
	bool dirty;		/* a status line is on screen */
	unsigned cols;
};

static void progress_line(void *ctx, const char *line)
{
	struct progress *p = ctx;

	if (p->quiet)
		return;
	if (!p->tty) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	/* On a terminal: one status line redrawn in place; warnings and
	 * errors stay on screen. */
	bool keep = strncmp(line, "E: ", 3) == 0 || strncmp(line, "W: ", 3) == 0;
	int width = (int)(p->cols > 10 ? p->cols - 1 : 79);

	if (keep) {
		fprintf(stderr, "\r\033[K%s\n", line);
		p->dirty = false;
	} else {
		fprintf(stderr, "\r\033[K%.*s", width, line);
		p->dirty = true;
	}
	fflush(stderr);
}

static void progress_done(struct progress *p)
{
	if (p->dirty)
		fputs("\r\033[K", stderr);
	p->dirty = false;
}

/* ---- create ---------------------------------------------------------------- */

static void build_recipe(const struct opts *o, struct enc_recipe *r)
{
	struct enc_err err = {};

	r->method = ENC_BOOTSTRAP_DEBOOTSTRAP;
	if (o->method && enc_bootstrap_method_parse(o->method, &r->method) < 0)
		enc_usage_error("unknown method '%s' (expected debootstrap, mmdebstrap, "
				"cached_rootfs, dir or tar)", o->method);
	bool debian = r->method == ENC_BOOTSTRAP_DEBOOTSTRAP ||
		      r->method == ENC_BOOTSTRAP_MMDEBSTRAP;
	const char *m = enc_bootstrap_method_str(r->method);

	if (!debian) {
		if (o->mirror || o->variant || o->include || o->components)
			enc_usage_error("--%s is used only by the debootstrap and mmdebstrap methods",
					o->mirror ? "mirror" : o->variant ? "variant" :
					o->include ? "include" : "components");
	}
	if ((r->method == ENC_BOOTSTRAP_DIR || r->method == ENC_BOOTSTRAP_TAR) && !o->source)
		enc_usage_error("the %s method needs --source %s", m,
				r->method == ENC_BOOTSTRAP_TAR ? "FILE" : "DIRECTORY");
	if (o->source && r->method != ENC_BOOTSTRAP_DIR && r->method != ENC_BOOTSTRAP_TAR)
		enc_usage_error("--source is used only by the dir and tar methods");

	if ((o->suite && !(r->suite = strdup(o->suite))) ||
	    (o->mirror && !(r->mirror = strdup(o->mirror))) ||
	    (o->variant && !(r->variant = strdup(o->variant))))
		die("out of memory");
	if (o->include && enc_recipe_split_list(o->include, "package", &r->include, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	if (o->components &&
	    enc_recipe_split_list(o->components, "component", &r->components, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	if (o->source) {
		char real[PATH_MAX];
		struct stat st;

		if (!realpath(o->source, real) || stat(real, &st) < 0)
			die_errno("source %s", o->source);
		if (r->method == ENC_BOOTSTRAP_TAR && !S_ISREG(st.st_mode))
			die("source %s is not a regular file", o->source);
		if (r->method == ENC_BOOTSTRAP_DIR && !S_ISDIR(st.st_mode))
			die("source %s is not a directory", o->source);
		r->source = strdup(real);
		if (!r->source)
			die("out of memory");
	}
	/* Fills the defaults and checks what the options could not. */
	if (enc_recipe_finish(r, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
}

/* An ordinary user's rootfs is stored with their subordinate ids
 * (lib/unpriv.h): mmdebstrap's unshare mode, tar and dir imports and a
 * cache stored the same way can make one; debootstrap cannot. */
static void need_root(const struct enc_recipe *r)
{
	if (geteuid() == 0 || r->method != ENC_BOOTSTRAP_DEBOOTSTRAP)
		return;
	die("debootstrap needs root (it creates device nodes and runs chroot); run as "
	    "root, or use --method mmdebstrap (its unshare mode works as an ordinary "
	    "user), tar, dir or cached_rootfs");
}

static void setup_begin(void *ctx, size_t i, size_t n, const char *cmd)
{
	struct progress *p = ctx;

	(void)i;
	(void)n;
	if (p->quiet)
		return;
	progress_done(p);
	fprintf(stderr, "+ %s\n", cmd);
	fflush(stderr);
}

/* The recipe of an Enclavefile's [sandbox] section, and where each setup
 * command was written. */
static void file_recipe(struct opts *o, struct enc_recipe *r, char **path, unsigned **lines)
{
	struct enc_config c = {};
	struct enc_err err = {};

	if (enc_config_load(o->file, &c, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	if (!c.has_sandbox)
		die_status(ENC_EXIT_USAGE, "%s: no [sandbox] section", c.path);
	if (!o->name) {
		o->name = o->name_owned = strdup(c.sandbox.name);
		if (!o->name)
			die("out of memory");
	}
	if (enc_recipe_from_conf(&c.sandbox, r, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	*path = strdup(c.path);
	*lines = calloc(r->setup.n + 1, sizeof(**lines));
	if (!*path || !*lines)
		die("out of memory");
	if (r->setup.n && enc_setup_lines_scan(c.path, r->setup.n, *lines) < 0) {
		free(*lines);
		*lines = NULL;
	}
	enc_config_free(&c);
	if (enc_recipe_finish(r, &err) < 0) {
		enc_err_prefix(&err, "%s: [sandbox]: ", *path);
		die_err(&err, ENC_EXIT_USAGE);
	}
}

static void report_failure(const struct opts *o, const struct enc_create_report *rep,
			   struct enc_err *err, bool new_sandbox)
{
	enc_err_prefix(err, "cannot %s sandbox '%s': ", new_sandbox ? "create" : "update",
		       o->name);
	warn_err(err);
	if (rep->failed) {
		const char *t = rep->tail && rep->tail[0] ? rep->tail : NULL;

		warnx_("%s", t ? "last output of the failed command:" :
			     "the failed command printed nothing");
		for (const char *p = t; p && *p;) {
			size_t n = strcspn(p, "\n");

			fprintf(stderr, "  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		if (!new_sandbox)
			warnx_("sandbox '%s': generation %s stays current", o->name, rep->old_gen);
	}
	exit(ENC_EXIT_FAILURE);
}

static int cmd_create(struct opts *o)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_recipe r = {};
	struct enc_create_report rep = {};
	struct enc_err err = {};
	_cleanup_free_ char *file = NULL;
	_cleanup_free_ unsigned *lines = NULL;
	char hs[32];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o->file) {
		file_recipe(o, &r, &file, &lines);
	} else {
		build_recipe(o, &r);
		for (size_t i = 0; i < o->setup.n; i++)
			if (enc_strv_push(&r.setup, o->setup.v[i]) < 0)
				die("out of memory");
		if (enc_recipe_finish(&r, &err) < 0)
			die_err(&err, ENC_EXIT_USAGE);
	}
	if (enc_sandbox_name_check(o->name, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	need_root(&r);
	catch_signals();
	open_store(&st, &s, o->quiet);

	struct progress pr = { .quiet = o->quiet, .tty = isatty(STDERR_FILENO) == 1 };
	struct winsize ws;
	if (pr.tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
		pr.cols = ws.ws_col;
	const char *env = r.method == ENC_BOOTSTRAP_MMDEBSTRAP ? getenv("ENCLAVE_MMDEBSTRAP") :
			  getenv("ENCLAVE_DEBOOTSTRAP");
	const char *net = getenv("ENCLAVE_SETUP_NETWORK");
	struct enc_create_opts co = {
		.update = o->update, .line = progress_line, .setup_begin = setup_begin,
		.ctx = &pr, .out_fd = o->quiet ? -1 : STDERR_FILENO, .cancel = &cancel_sig,
		.program = env && *env ? env : NULL, .setup_net = net && *net ? net : NULL,
		.file = file, .setup_lines = lines,
	};

	if (!o->quiet)
		warnx_("%s sandbox '%s' with %s%s%s%s%s%s", o->update ? "checking" : "creating",
		       o->name, enc_bootstrap_method_str(r.method), r.suite ? ", suite " : "",
		       r.suite ? r.suite : "", r.mirror || r.source ? " from " : "",
		       r.mirror ? r.mirror : r.source ? r.source : "",
		       r.setup.n ? ", then setup" : "");
	int ret = enc_sandbox_create(&st, &s, o->name, &r, &co, &rep, &err);
	progress_done(&pr);
	if (ret < 0) {
		if (cancel_sig) {
			warnx_("interrupted; sandbox '%s' was not %s", o->name,
			       rep.new_sandbox || !rep.old_gen[0] ? "created" : "changed");
			exit(ENC_EXIT_SIGNAL_BASE + cancel_sig);
		}
		report_failure(o, &rep, &err, !rep.old_gen[0]);
	}
	if (o->quiet)
		goto done;
	enc_format_size_human(rep.size, hs, sizeof(hs));
	switch (rep.res) {
	case ENC_CREATE_UNCHANGED:
		warnx_("sandbox '%s' already exists with this recipe (generation %s); "
		       "nothing to do", o->name, rep.gen);
		break;
	case ENC_CREATE_SWITCHED:
		warnx_("sandbox '%s': generation %s (built before) is current again; "
		       "generation %s is kept until 'enclave-bootstrap prune'",
		       o->name, rep.gen, rep.old_gen);
		break;
	case ENC_CREATE_BUILD:
	default:
		if (rep.base_gen[0])
			warnx_("ran %zu setup command%s on %s base generation %s", rep.setup_ran,
			       rep.setup_ran == 1 ? "" : "s", rep.base_reused ? "the existing" :
			       "the new", rep.base_gen);
		if (rep.new_sandbox)
			warnx_("created sandbox '%s' (generation %s, %s%s%s) in %.2f s", o->name,
			       rep.gen, hs, rep.adopt ? ", " : "", rep.adopt ? rep.adopt : "",
			       elapsed(&t0));
		else
			warnx_("sandbox '%s': new generation %s (%s) is current; generation %s is "
			       "kept %s (%.2f s)", o->name, rep.gen, hs, rep.old_gen,
			       strcmp(rep.old_gen, rep.base_gen) == 0 ? "as its base" :
			       "until 'enclave-bootstrap prune'", elapsed(&t0));
		break;
	}
done:
	free(o->name_owned);
	o->name = o->name_owned = NULL;
	enc_strv_free(&o->setup);
	enc_create_report_free(&rep);
	enc_recipe_free(&r);
	enc_store_close(&s);
	enc_state_close(&st);
	return ENC_EXIT_OK;
}

/* ---- list and show ------------------------------------------------------------- */

static size_t users_of(const struct enc_sandbox *sb)
{
	size_t n = 0;

	for (size_t i = 0; i < sb->ngens; i++)
		n += sb->gens[i].used_by.n;
	return n;
}

static const struct enc_gen *current_gen(const struct enc_sandbox *sb)
{
	for (size_t i = 0; i < sb->ngens; i++)
		if (sb->gens[i].current)
			return &sb->gens[i];
	return NULL;
}

static void json_strv(struct enc_json *j, const char *key, const struct enc_strv *sv)
{
	enc_json_key(j, key);
	enc_json_arr_begin(j);
	for (size_t i = 0; i < sv->n; i++)
		enc_json_str(j, sv->v[i]);
	enc_json_arr_end(j);
}

static void finish_json(struct enc_json *j)
{
	int r = enc_json_finish(j);

	if (r < 0) {
		errno = -r;
		die_errno("cannot write the JSON");
	}
}

static int cmd_list(const struct opts *o)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_strv names = {};
	struct enc_err err = {};
	struct enc_json j;
	int status = ENC_EXIT_OK;

	open_store(&st, &s, o->quiet);
	if (enc_store_names(&s, &names, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (o->json) {
		enc_json_init(&j, stdout, 0);
		enc_json_arr_begin(&j);
	} else if (isatty(STDOUT_FILENO) == 1) {
		printf("NAME\tMETHOD\tSUITE\tGENERATION\tSIZE\tCREATED\tWORKSPACES\n");
	}
	for (size_t i = 0; i < names.n; i++) {
		struct enc_sandbox sb = {};
		const struct enc_gen *g;

		enc_err_clear(&err);
		if (enc_sandbox_load(&s, names.v[i], &sb, &err) < 0) {
			if (err.code != -ENOENT) {	/* removed meanwhile: not an error */
				warn_err(&err);
				status = ENC_EXIT_FAILURE;
			}
			continue;
		}
		g = current_gen(&sb);
		if (o->json) {
			enc_json_obj_begin(&j);
			enc_json_kv_str(&j, "name", sb.name);
			enc_json_kv_str(&j, "method", enc_bootstrap_method_str(sb.recipe.method));
			enc_json_kv_str(&j, "suite", sb.recipe.suite);
			enc_json_kv_str(&j, "generation", sb.current);
			enc_json_kv_uint(&j, "size", g ? g->size : 0);
			enc_json_kv_str(&j, "created", g && g->created[0] ? g->created : NULL);
			enc_json_key(&j, "workspaces");
			enc_json_arr_begin(&j);
			for (size_t k = 0; k < sb.ngens; k++)
				for (size_t u = 0; u < sb.gens[k].used_by.n; u++)
					enc_json_str(&j, sb.gens[k].used_by.v[u]);
			enc_json_arr_end(&j);
			enc_json_obj_end(&j);
		} else {
			printf("%s\t%s\t%s\t%s\t%" PRIu64 "\t%s\t%zu\n", sb.name,
			       enc_bootstrap_method_str(sb.recipe.method),
			       sb.recipe.suite ? sb.recipe.suite : "-", sb.current,
			       g ? g->size : 0, g && g->created[0] ? g->created : "-", users_of(&sb));
		}
		enc_sandbox_free(&sb);
	}
	if (o->json) {
		enc_json_arr_end(&j);
		finish_json(&j);
	} else if (fflush(stdout) != 0 || ferror(stdout)) {
		die_errno("cannot write the list");
	}
	enc_strv_free(&names);
	enc_store_close(&s);
	enc_state_close(&st);
	return status;
}

static void print_list_line(const char *key, const struct enc_strv *sv)
{
	if (!sv->n)
		return;
	printf("%s\t", key);
	for (size_t i = 0; i < sv->n; i++)
		printf("%s%s", i ? "," : "", sv->v[i]);
	putchar('\n');
}

static void show_json(const struct enc_sandbox *sb)
{
	const struct enc_recipe *r = &sb->recipe;
	struct enc_json j;

	enc_json_init(&j, stdout, ENC_JSON_PRETTY);
	enc_json_obj_begin(&j);
	enc_json_kv_str(&j, "name", sb->name);
	enc_json_kv_str(&j, "method", enc_bootstrap_method_str(r->method));
	enc_json_kv_str(&j, "suite", r->suite);
	enc_json_kv_str(&j, "mirror", r->mirror);
	enc_json_kv_str(&j, "variant", r->variant);
	json_strv(&j, "include", &r->include);
	json_strv(&j, "components", &r->components);
	enc_json_kv_str(&j, "source", r->source);
	enc_json_kv_str(&j, "fingerprint", r->fingerprint);
	json_strv(&j, "setup", &r->setup);
	enc_json_kv_str(&j, "current", sb->current);
	enc_json_kv_str(&j, "rootfs", sb->rootfs);
	enc_json_key(&j, "generations");
	enc_json_arr_begin(&j);
	for (size_t i = 0; i < sb->ngens; i++) {
		const struct enc_gen *g = &sb->gens[i];

		enc_json_obj_begin(&j);
		enc_json_kv_str(&j, "id", g->id);
		enc_json_kv_bool(&j, "current", g->current);
		enc_json_kv_uint(&j, "size", g->size);
		enc_json_kv_str(&j, "created", g->created[0] ? g->created : NULL);
		enc_json_kv_str(&j, "method", g->method);
		if (g->adopt)
			enc_json_kv_str(&j, "adopt", g->adopt);
		json_strv(&j, "used_by", &g->used_by);
		enc_json_obj_end(&j);
	}
	enc_json_arr_end(&j);
	enc_json_key(&j, "workspaces");
	enc_json_arr_begin(&j);
	for (size_t i = 0; i < sb->nusers; i++) {
		enc_json_obj_begin(&j);
		enc_json_kv_str(&j, "name", sb->users[i].ws);
		enc_json_kv_str(&j, "generation", sb->users[i].gen[0] ? sb->users[i].gen : NULL);
		enc_json_kv_bool(&j, "running", sb->users[i].running);
		enc_json_obj_end(&j);
	}
	enc_json_arr_end(&j);
	enc_json_obj_end(&j);
	finish_json(&j);
}

static int cmd_show(const struct opts *o)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_sandbox sb = {};
	struct enc_err err = {};

	if (enc_sandbox_name_check(o->name, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	open_store(&st, &s, o->quiet);
	if (enc_sandbox_load(&s, o->name, &sb, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (o->json) {
		show_json(&sb);
	} else {
		const struct enc_recipe *r = &sb.recipe;

		printf("name\t%s\n", sb.name);
		printf("method\t%s\n", enc_bootstrap_method_str(r->method));
		if (r->suite)
			printf("suite\t%s\n", r->suite);
		if (r->mirror)
			printf("mirror\t%s\n", r->mirror);
		if (r->variant)
			printf("variant\t%s\n", r->variant);
		print_list_line("include", &r->include);
		print_list_line("components", &r->components);
		if (r->source)
			printf("source\t%s\n", r->source);
		if (r->fingerprint)
			printf("fingerprint\t%s\n", r->fingerprint);
		for (size_t i = 0; i < r->setup.n; i++)
			printf("setup\t%s\n", r->setup.v[i]);
		printf("current\t%s\n", sb.current);
		printf("rootfs\t%s\n", sb.rootfs);
		for (size_t i = 0; i < sb.ngens; i++) {
			const struct enc_gen *g = &sb.gens[i];

			printf("generation\t%s\t%s\t%" PRIu64 "\t%s\t", g->id,
			       g->current ? "current" : "old", g->size,
			       g->created[0] ? g->created : "-");
			for (size_t k = 0; k < g->used_by.n; k++)
				printf("%s%s", k ? "," : "", g->used_by.v[k]);
			printf("%s\n", g->used_by.n ? "" : "-");
		}
		if (fflush(stdout) != 0)
			die_errno("cannot write");
	}
	enc_sandbox_free(&sb);
	enc_store_close(&s);
	enc_state_close(&st);
	return ENC_EXIT_OK;
}

/* ---- rm and prune --------------------------------------------------------------- */

static int cmd_rm(const struct opts *o)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct enc_err err = {};

	if (enc_sandbox_name_check(o->name, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	open_store(&st, &s, o->quiet);
	if (enc_sandbox_remove(&s, o->name, o->force, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	if (!o->quiet)
		warnx_("removed sandbox '%s'", o->name);
	enc_store_close(&s);
	enc_state_close(&st);
	return ENC_EXIT_OK;
}

struct prune_ctx {
	unsigned n;
	uint64_t bytes;
};

static void on_prune(void *ctx, const char *sandbox, const struct enc_gen *g)
{
	struct prune_ctx *p = ctx;

	printf("%s\t%s\t%" PRIu64 "\n", sandbox, g->id, g->size);
	p->n++;
	p->bytes += g->size;
}

static int cmd_prune(const struct opts *o)
{
	struct enc_state st = ENC_STATE_INIT;
	struct enc_store s = ENC_STORE_INIT;
	struct prune_ctx p = {};
	struct enc_err err = {};
	char hs[32];
	int r;

	if (o->name && enc_sandbox_name_check(o->name, &err) < 0)
		die_err(&err, ENC_EXIT_USAGE);
	open_store(&st, &s, o->quiet);
	r = enc_sandbox_prune(&s, o->name, o->dry_run, on_prune, &p, &err);
	if (fflush(stdout) != 0)
		die_errno("cannot write");
	if (!o->quiet) {
		enc_format_size_human(p.bytes, hs, sizeof(hs));
		warnx_("%s %u generation%s (%s)", o->dry_run ? "would prune" : "pruned", p.n,
		       p.n == 1 ? "" : "s", hs);
	}
	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	enc_store_close(&s);
	enc_state_close(&st);
	return ENC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = {};

	enc_tool_init("enclave-bootstrap");
	parse_args(&o, argc, argv);
	switch (o.verb) {
	case V_CREATE:
		return cmd_create(&o);
	case V_LIST:
		return cmd_list(&o);
	case V_SHOW:
		return cmd_show(&o);
	case V_RM:
		return cmd_rm(&o);
	case V_PRUNE:
		return cmd_prune(&o);
	case V_NONE:
		break;
	}
	enc_usage_error(NULL);
}
