/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enclave-net - a running workspace's network: show the effective policy
 * and counters, publish and unpublish ports, list them, read the egress
 * log. See enclave-net(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cgroup.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "json.h"
#include "names.h"
#include "netaddr.h"
#include "nft.h"
#include "parse.h"
#include "portfwd.h"
#include "proc.h"
#include "runtime.h"
#include "state.h"
#include "tool.h"
#include "unpriv.h"
#include "util.h"
#include "workspace.h"
#include "wsnet.h"

static void usage(void)
{
	fputs("Usage: enclave-net COMMAND [OPTION...] SANDBOX WORKSPACE [SPEC...]\n"
	      "\n"
	      "Inspect a workspace's network; publish its ports on the host.\n"
	      "\n"
	      "Commands:\n"
	      "  show SANDBOX WS              mode, addresses, rules and counters, ports\n"
	      "  publish SANDBOX WS SPEC...   publish ports of a running workspace\n"
	      "  unpublish SANDBOX WS SPEC... stop publishing ports\n"
	      "  ports SANDBOX WS             list the published ports\n"
	      "  log SANDBOX WS               print the network records of the audit log\n"
	      "\n"
	      "SPEC is [HOSTADDR:]HOSTPORT:WSPORT[/tcp|/udp] or WSPORT[/PROTO], e.g.\n"
	      "127.0.0.1:3001:3000/tcp or [::1]:8443:443; the default host address\n"
	      "is 127.0.0.1.\n"
	      "\n"
	      "Options:\n"
	      "      --json        machine-readable output (show, ports, log)\n"
	      "  -f, --follow      log: keep printing new records\n"
	      "  -n, --tail N      log: only the last N records\n"
	      "  -h, --help        show this help and exit\n"
	      "      --version     show the version and exit\n"
	      "\n"
	      "See enclave-net(1).\n",
	      stdout);
}

enum {
	V_SHOW = 1 << 0,
	V_PUBLISH = 1 << 1,
	V_UNPUBLISH = 1 << 2,
	V_PORTS = 1 << 3,
	V_LOG = 1 << 4,
};

static const struct verb {
	const char *name;
	unsigned id;
	const char *synopsis;
	const char *what;
	const char *opts;
} verbs[] = {
	{ "show", V_SHOW, "[--json] SANDBOX WORKSPACE",
	  "Print the workspace's network mode, addresses, host end, NFLOG group,\n"
	  "the rules of its policy with their counters, its published ports and\n"
	  "the number of network records in its audit log.\n",
	  "      --json        one JSON object\n" },
	{ "publish", V_PUBLISH, "SANDBOX WORKSPACE SPEC...",
	  "Make ports of a running workspace reachable from the host at exactly\n"
	  "the given host address. SPEC is [HOSTADDR:]HOSTPORT:WSPORT[/tcp|/udp].\n",
	  "" },
	{ "unpublish", V_UNPUBLISH, "SANDBOX WORKSPACE SPEC...",
	  "Stop publishing ports. SPEC is written as for publish; only its host\n"
	  "address, host port and protocol are compared.\n",
	  "" },
	{ "ports", V_PORTS, "[--json] SANDBOX WORKSPACE",
	  "List the published ports: SPEC and the forwarder's pid ('-' when it\n"
	  "is gone), one per line.\n",
	  "      --json        one JSON array\n" },
	{ "log", V_LOG, "[--json] [-f] [-n N] SANDBOX WORKSPACE",
	  "Print the network records of the workspace's audit log: time, verdict,\n"
	  "reason, protocol, destination, destination port, source; tab-separated.\n",
	  "      --json        one JSON object per line\n"
	  "  -f, --follow      keep printing new records until interrupted\n"
	  "  -n, --tail N      only the last N records\n" },
};

static void verb_usage(const struct verb *v)
{
	printf("Usage: enclave-net %s %s\n\n%s\nOptions:\n%s"
	       "  -h, --help        show this help and exit\n\nSee enclave-net(1).\n",
	       v->name, v->synopsis, v->what, v->opts);
}

enum {
	OPT_JSON = 256,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "follow", no_argument, NULL, 'f' },
	{ "tail", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{},
};

static unsigned opt_verbs(int opt)
{
	switch (opt) {
	case OPT_JSON:
		return V_SHOW | V_PORTS | V_LOG;
	case 'f':
	case 'n':
		return V_LOG;
	default:
		return 0;
	}
}

struct args {
	const struct verb *verb;
	const char *sandbox;
	const char *ws;
	struct enc_port *specs;
	size_t nspecs;
	bool json, follow, have_tail;
	uint64_t tail;
};

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
		if (strcmp(argv[1], verbs[i].name) == 0)
			a->verb = &verbs[i];
	if (!a->verb)
		enc_usage_error("unknown command '%s'", argv[1]);

	char **pos = calloc((size_t)argc, sizeof(*pos));
	size_t npos = 0;
	if (!pos)
		die("out of memory");
	optind = 2;
	for (;;) {
		int c = getopt_long(argc, argv, "+fn:h", long_opts, NULL);
		if (c == -1) {
			if (optind >= argc)
				break;
			if (strcmp(argv[optind - 1], "--") == 0 && optind > 2) {
				while (optind < argc)
					pos[npos++] = argv[optind++];
				break;
			}
			pos[npos++] = argv[optind++];
			continue;
		}
		if (c == 'h') {
			verb_usage(a->verb);
			exit(ENC_EXIT_OK);
		}
		if (c == OPT_VERSION)
			enc_print_version();
		if (c == '?')
			enc_usage_error(NULL);
		if (!(opt_verbs(c) & a->verb->id))
			enc_usage_error("%s: not an option of '%s'", argv[optind - 1], a->verb->name);
		switch (c) {
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
		default:
			enc_usage_error(NULL);
		}
	}
	if (npos < 2)
		enc_usage_error("%s: expected SANDBOX and WORKSPACE", a->verb->name);
	a->sandbox = pos[0];
	a->ws = pos[1];
	struct enc_err err = {};
	if (enc_name_check(ENC_NAME_SANDBOX, a->sandbox, &err) < 0 ||
	    enc_name_check(ENC_NAME_WORKSPACE, a->ws, &err) < 0)
		enc_usage_error("%s", err.msg);
	bool takes_specs = a->verb->id & (V_PUBLISH | V_UNPUBLISH);
	if (!takes_specs && npos > 2)
		enc_usage_error("%s: unexpected argument '%s'", a->verb->name, pos[2]);
	if (takes_specs && npos == 2)
		enc_usage_error("%s: expected at least one SPEC", a->verb->name);
	if (takes_specs) {
		a->nspecs = npos - 2;
		a->specs = calloc(a->nspecs, sizeof(*a->specs));
		if (!a->specs)
			die("out of memory");
		for (size_t i = 0; i < a->nspecs; i++) {
			enc_err_clear(&err);
			if (enc_parse_port(pos[2 + i], &a->specs[i], &err) < 0)
				enc_usage_error("%s: %s", pos[2 + i], err.msg);
		}
	}
	free(pos);
}

static void open_ws(const struct enc_state *st, const struct args *a, struct enc_ws *w)
{
	struct enc_err err = {};

	if (enc_ws_open(st, a->sandbox, a->ws, false, w, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	/* DESIGN §3: a crashed workspace is swept by the next command. */
	if (enc_spawn_sweep_if_crashed(st, w, &err) < 0)
		warn_err(&err);
}

static bool is_running(const struct enc_ws *w)
{
	struct enc_err err = {};
	int r = enc_ws_running(w, &err);

	if (r < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	return r == 1;
}

static const char *fmt_ip(const struct enc_ip *ip, char *buf, size_t len)
{
	if (!ip->family || enc_format_ip(ip, buf, len) < 0)
		return NULL;
	return buf;
}

/* ---- the audit log's "net" records ------------------------------------ */

/* The raw (still escaped) value of top-level key k in one audit record.
 * Records are written by json.h: inside a string every '"' is escaped, so
 * `,"k":` can only be the record's own structure. */
static bool rec_field(const char *line, const char *k, const char **v, size_t *vl, bool *str)
{
	char pat[40];

	snprintf(pat, sizeof(pat), ",\"%s\":", k);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == '"') {
		const char *e = ++p;
		while (*e && *e != '"')
			e += (*e == '\\' && e[1]) ? 2 : 1;
		*v = p;
		*vl = (size_t)(e - p);
		*str = true;
		return true;
	}
	*v = p;
	*vl = strcspn(p, ",}");
	*str = false;
	return true;
}

enum { NET_NONE, NET_REC, NET_SUPPRESSED };

static int net_kind(const char *line)
{
	if (strstr(line, ",\"event\":\"net\","))
		return NET_REC;
	if (strstr(line, ",\"event\":\"net_suppressed\","))
		return NET_SUPPRESSED;
	return NET_NONE;
}

static void json_field(struct enc_json *j, const char *line, const char *k)
{
	const char *v;
	size_t vl;
	bool str;

	if (!rec_field(line, k, &v, &vl, &str))
		return;
	enc_json_key(j, k);
	if (!str) {
		enc_json_raw(j, v, vl);
		return;
	}
	/* Already escaped by the writer: put the quotes back. */
	_cleanup_free_ char *q = malloc(vl + 3);
	if (!q)
		die("out of memory");
	q[0] = '"';
	memcpy(q + 1, v, vl);
	q[vl + 1] = '"';
	q[vl + 2] = '\0';
	enc_json_raw(j, q, vl + 2);
}

static void print_net(const char *line, bool json)
{
	static const char *const tsv[] = { "time", "verdict", "reason", "proto", "dst", "dport", "src" };
	static const char *const jkeys[] = { "time", "verdict", "reason", "proto",
					     "src", "sport", "dst", "dport" };
	int kind = net_kind(line);
	const char *v;
	size_t vl;
	bool str;

	if (kind == NET_NONE)
		return;
	if (json) {
		struct enc_json j;
		enc_json_init(&j, stdout, 0);
		enc_json_obj_begin(&j);
		if (kind == NET_SUPPRESSED) {
			json_field(&j, line, "time");
			enc_json_kv_str(&j, "verdict", "suppressed");
			json_field(&j, line, "limit");
		} else {
			for (size_t i = 0; i < ENC_ARRAY_SIZE(jkeys); i++)
				json_field(&j, line, jkeys[i]);
		}
		enc_json_obj_end(&j);
		enc_json_finish(&j);
		return;
	}
	/* Values are JSON-escaped: a tab or newline cannot appear raw. */
	for (size_t i = 0; i < ENC_ARRAY_SIZE(tsv); i++) {
		if (i)
			putchar('\t');
		if (kind == NET_SUPPRESSED && i == 1)
			fputs("suppressed", stdout);
		else if (kind == NET_SUPPRESSED && i == 2)
			fputs("limit", stdout);
		else if (rec_field(line, tsv[i], &v, &vl, &str))
			fwrite(v, 1, vl, stdout);
		else
			putchar('-');
	}
	putchar('\n');
}

struct net_counts {
	uint64_t deny, allow, suppressed;
};

static int open_audit(const struct enc_ws *w)
{
	struct enc_err err = {};
	int fd = enc_openat(w->dir_fd, ENC_AUDIT_FILE, O_RDONLY, 0, &err);

	if (fd == -ENOENT)
		return -1;
	if (fd < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	return fd;
}

static void count_net(const struct enc_ws *w, struct net_counts *c)
{
	int fd = open_audit(w);

	memset(c, 0, sizeof(*c));
	if (fd < 0)
		return;
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		int k = net_kind(line);
		if (k == NET_SUPPRESSED)
			c->suppressed++;
		else if (k == NET_REC && strstr(line, ",\"verdict\":\"allow\","))
			c->allow++;
		else if (k == NET_REC)
			c->deny++;
	}
}

/* ---- show -------------------------------------------------------------- */

static int do_show(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_wsnet_info ni;
	struct enc_err err = {};
	struct enc_nft_counter *ctr = NULL;
	size_t nctr = 0;
	struct enc_port_rec *pr = NULL;
	size_t npr = 0;
	struct net_counts nc;
	char b1[64], b2[64];

	open_ws(st, a, &w);
	bool running = is_running(&w);
	int nr = running ? enc_wsnet_read(&w, &ni, &err) : -ENOENT;
	if (nr < 0 && nr != -ENOENT)
		die_err(&err, ENC_EXIT_FAILURE);
	enc_err_clear(&err);
	if (nr == 0 && enc_nft_counters(ni.id, &ctr, &nctr, &err) < 0 && err.code != -ENOENT)
		warn_err(&err);
	enc_err_clear(&err);
	if (enc_ports_list(&w, &pr, &npr, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	count_net(&w, &nc);

	if (a->json) {
		struct enc_json j;
		enc_json_init(&j, stdout, 0);
		enc_json_obj_begin(&j);
		enc_json_kv_str(&j, "sandbox", a->sandbox);
		enc_json_kv_str(&j, "workspace", a->ws);
		enc_json_kv_str(&j, "state", running ? "running" : "stopped");
		enc_json_kv_str(&j, "mode", nr == 0 ? enc_net_mode_str(ni.mode) : NULL);
		enc_json_kv_str(&j, "address", nr == 0 ? fmt_ip(&ni.addr4, b1, sizeof(b1)) : NULL);
		enc_json_kv_str(&j, "gateway", nr == 0 ? fmt_ip(&ni.host4, b2, sizeof(b2)) : NULL);
		enc_json_kv_str(&j, "address6", nr == 0 ? fmt_ip(&ni.addr6, b1, sizeof(b1)) : NULL);
		enc_json_kv_str(&j, "gateway6", nr == 0 ? fmt_ip(&ni.host6, b2, sizeof(b2)) : NULL);
		enc_json_kv_str(&j, "host_end", nr == 0 ? ni.ifname : NULL);
		enc_json_key(&j, "nflog_group");
		if (nr == 0)
			enc_json_uint(&j, ni.group);
		else
			enc_json_null(&j);
		enc_json_key(&j, "log_allowed");
		if (nr == 0)
			enc_json_bool(&j, ni.log_allowed);
		else
			enc_json_null(&j);
		enc_json_key(&j, "rules");
		enc_json_arr_begin(&j);
		for (size_t i = 0; i < nctr; i++) {
			enc_json_obj_begin(&j);
			enc_json_kv_str(&j, "chain", ctr[i].chain);
			enc_json_kv_str(&j, "rule", ctr[i].what);
			enc_json_kv_uint(&j, "packets", ctr[i].packets);
			enc_json_kv_uint(&j, "bytes", ctr[i].bytes);
			enc_json_obj_end(&j);
		}
		enc_json_arr_end(&j);
		enc_json_key(&j, "ports");
		enc_json_arr_begin(&j);
		for (size_t i = 0; i < npr; i++) {
			char spec[ENC_PORT_SPEC_MAX];
			enc_format_port(&pr[i].port, spec, sizeof(spec));
			enc_json_str(&j, spec);
		}
		enc_json_arr_end(&j);
		enc_json_kv_uint(&j, "denied", nc.deny);
		enc_json_kv_uint(&j, "allowed", nc.allow);
		enc_json_kv_uint(&j, "suppressed", nc.suppressed);
		enc_json_obj_end(&j);
		if (enc_json_finish(&j) < 0)
			die("cannot write the JSON");
	} else {
		printf("state\t%s\n", running ? "running" : "stopped");
		if (nr == 0) {
			const char *s;
			printf("mode\t%s\n", enc_net_mode_str(ni.mode));
			if ((s = fmt_ip(&ni.addr4, b1, sizeof(b1))))
				printf("address\t%s\n", s);
			if ((s = fmt_ip(&ni.host4, b1, sizeof(b1))))
				printf("gateway\t%s\n", s);
			if ((s = fmt_ip(&ni.addr6, b1, sizeof(b1))))
				printf("address6\t%s\n", s);
			if ((s = fmt_ip(&ni.host6, b1, sizeof(b1))))
				printf("gateway6\t%s\n", s);
			printf("host_end\t%s\n", ni.ifname);
			printf("nflog_group\t%u\n", ni.group);
			printf("log_allowed\t%s\n", ni.log_allowed ? "yes" : "no");
			for (size_t i = 0; i < nctr; i++)
				printf("rule\t%s\t%s\t%" PRIu64 " packets\t%" PRIu64 " bytes\n",
				       ctr[i].chain, ctr[i].what, ctr[i].packets, ctr[i].bytes);
		} else if (running) {
			printf("mode\t-\tno network record: not running, or network none/host\n");
		}
		for (size_t i = 0; i < npr; i++) {
			char spec[ENC_PORT_SPEC_MAX];
			enc_format_port(&pr[i].port, spec, sizeof(spec));
			printf("port\t%s\n", spec);
		}
		printf("denied\t%" PRIu64 "\n", nc.deny);
		printf("allowed\t%" PRIu64 "\n", nc.allow);
		if (nc.suppressed)
			printf("suppressed\t%" PRIu64 "\n", nc.suppressed);
	}
	free(ctr);
	free(pr);
	enc_ws_close(&w);
	return fflush(stdout) == 0 ? ENC_EXIT_OK : ENC_EXIT_FAILURE;
}

/* ---- publish / unpublish / ports -------------------------------------- */

/* The running workspace's network namespace, through its init's pidref:
 * the pidfd pins the process, and it is still alive after /proc/PID/ns/net
 * was opened, so that file is its namespace and not a newcomer's.
 * -1 when the workspace shares the host's (network = host). */
static int open_netns(const struct enc_ws *w)
{
	struct enc_pidref ref;
	struct enc_err err = {};
	char path[64];
	struct stat a, b;

	if (enc_ws_pid_read(w, "init", &ref, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	_cleanup_close_ int pidfd = enc_pidref_open(&ref, &err);
	if (pidfd < 0)
		die("workspace %s/%s: %s", w->sandbox, w->name, err.msg);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)ref.pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("cannot open %s", path);
	if (enc_pidfd_send_signal(pidfd, 0) < 0) {
		close(fd);
		die("workspace %s/%s stopped", w->sandbox, w->name);
	}
	if (fstat(fd, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		close(fd);
		return -1;
	}
	return fd;
}

static int do_publish(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};
	struct enc_cgroup_sys sys = {};
	struct enc_cgroup cg = {};
	char cgname[ENC_WS_CGROUP_NAME_MAX];

	open_ws(st, a, &w);
	if (!is_running(&w))
		die("workspace %s/%s is not running", a->sandbox, a->ws);
	_cleanup_close_ int nsfd = open_netns(&w);
	enc_ws_cgroup_name(&w, cgname, sizeof(cgname));
	int r;
	if (enc_unpriv()) {
		/* The forwarder must join the workspace's cgroup, which an
		 * ordinary user may only move a process into from within its
		 * delegated subtree: the helper moves us there first. */
		r = enc_unpriv_cgroup_self(&sys, &err);
	} else {
		r = enc_cgroup_probe(&sys, &err);
	}
	if (r < 0 || enc_cgroup_open(&sys, cgname, &cg, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	int status = ENC_EXIT_OK;
	for (size_t i = 0; i < a->nspecs; i++) {
		enc_err_clear(&err);
		if (enc_ports_publish(&w, nsfd, &cg, &a->specs[i], &err) < 0) {
			warn_err(&err);
			status = ENC_EXIT_FAILURE;
			break;
		}
	}
	enc_cgroup_close(&cg);
	enc_cgroup_sys_close(&sys);
	enc_ws_close(&w);
	return status;
}

static int do_unpublish(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	int status = ENC_EXIT_OK;

	open_ws(st, a, &w);
	for (size_t i = 0; i < a->nspecs; i++) {
		struct enc_err err = {};
		if (enc_ports_unpublish(&w, &a->specs[i], &err) < 0) {
			warn_err(&err);
			status = ENC_EXIT_FAILURE;
		}
	}
	enc_ws_close(&w);
	return status;
}

static int do_ports(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_err err = {};
	struct enc_port_rec *pr = NULL;
	size_t n = 0;

	open_ws(st, a, &w);
	if (enc_ports_list(&w, &pr, &n, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	struct enc_json j;
	if (a->json) {
		enc_json_init(&j, stdout, 0);
		enc_json_arr_begin(&j);
	}
	for (size_t i = 0; i < n; i++) {
		char spec[ENC_PORT_SPEC_MAX], addr[64];
		bool alive = enc_ports_alive(&pr[i]) == 1;
		enc_format_port(&pr[i].port, spec, sizeof(spec));
		if (!a->json) {
			if (alive)
				printf("%s\t%d\n", spec, (int)pr[i].fwd.pid);
			else
				printf("%s\t-\n", spec);
			continue;
		}
		enc_format_ip(&pr[i].port.host, addr, sizeof(addr));
		enc_json_obj_begin(&j);
		enc_json_kv_str(&j, "spec", spec);
		enc_json_kv_str(&j, "host_address", addr);
		enc_json_kv_uint(&j, "host_port", pr[i].port.host_port);
		enc_json_kv_uint(&j, "workspace_port", pr[i].port.ws_port);
		enc_json_kv_str(&j, "proto", pr[i].port.proto == ENC_PROTO_UDP ? "udp" : "tcp");
		enc_json_key(&j, "pid");
		if (alive)
			enc_json_int(&j, pr[i].fwd.pid);
		else
			enc_json_null(&j);
		enc_json_obj_end(&j);
	}
	if (a->json) {
		enc_json_arr_end(&j);
		if (enc_json_finish(&j) < 0)
			die("cannot write the JSON");
	}
	free(pr);
	enc_ws_close(&w);
	return fflush(stdout) == 0 ? ENC_EXIT_OK : ENC_EXIT_FAILURE;
}

/* ---- log --------------------------------------------------------------- */

struct tail_ring {
	char **v;
	size_t cap, n, head;
};

static void ring_push(struct tail_ring *r, const char *line)
{
	char *copy = strdup(line);

	if (!copy)
		die("out of memory");
	if (r->n < r->cap) {
		r->v[(r->head + r->n++) % r->cap] = copy;
		return;
	}
	free(r->v[r->head]);
	r->v[r->head] = copy;
	r->head = (r->head + 1) % r->cap;
}

/* Print complete lines of buf[0..*len) and keep the incomplete rest. */
static void emit_lines(char *buf, size_t *len, bool json)
{
	size_t start = 0;

	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		print_net(buf + start, json);
		start = i + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	fflush(stdout);
}

static int do_log(const struct enc_state *st, const struct args *a)
{
	struct enc_ws w = ENC_WS_INIT;

	open_ws(st, a, &w);
	int fd = open_audit(&w);
	if (fd < 0 && !a->follow) {
		enc_ws_close(&w);
		return ENC_EXIT_OK;	/* no audit log yet: no records */
	}
	if (fd < 0) {
		struct enc_err err = {};
		fd = enc_openat(w.dir_fd, ENC_AUDIT_FILE, O_RDONLY | O_CREAT, 0600, &err);
		if (fd < 0)
			die_err(&err, ENC_EXIT_FAILURE);
	}
	/* Up to the current end: all records, or the last N. */
	int dfd = dup(fd);
	FILE *f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
	if (!f)
		die_errno("cannot read the audit log");
	struct tail_ring ring = { .cap = a->have_tail ? (size_t)a->tail : 0 };
	if (ring.cap && !(ring.v = calloc(ring.cap, sizeof(*ring.v))))
		die("out of memory");
	char *line = NULL;
	size_t cap = 0;
	ssize_t ll;
	off_t pos = 0;
	while ((ll = getline(&line, &cap, f)) > 0) {
		if (line[ll - 1] != '\n')
			break;	/* a record still being written */
		pos += ll;
		line[ll - 1] = '\0';
		if (net_kind(line) == NET_NONE)
			continue;
		if (!a->have_tail)
			print_net(line, a->json);
		else if (ring.cap)
			ring_push(&ring, line);
	}
	free(line);
	fclose(f);
	for (size_t i = 0; i < ring.n; i++) {
		char *s = ring.v[(ring.head + i) % ring.cap];
		print_net(s, a->json);
		free(s);
	}
	free(ring.v);
	if (fflush(stdout) != 0)
		die_errno("cannot write");
	if (!a->follow) {
		close(fd);
		enc_ws_close(&w);
		return ENC_EXIT_OK;
	}

	/* Follow: inotify on the file (through our fd, so a rename of the
	 * path cannot redirect us), a slow timer as a safety net, and
	 * SIGINT/SIGTERM end it cleanly. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ino >= 0 && inotify_add_watch(ino, path, IN_MODIFY) < 0) {
		close(ino);
		ino = -1;
	}
	if (lseek(fd, pos, SEEK_SET) < 0)
		die_errno("cannot seek in the audit log");
	static char buf[ENC_AUDIT_LINE_MAX + 1];
	size_t len = 0;
	for (;;) {
		ssize_t n;
		while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
			len += (size_t)n;
			emit_lines(buf, &len, a->json);
			if (len == sizeof(buf) - 1)
				len = 0;	/* not a record: drop it */
		}
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = ino, .events = POLLIN } };
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			die_errno("poll");
		if (p[0].revents)
			break;
		if (p[1].revents) {
			char ev[4096];
			while (read(ino, ev, sizeof(ev)) > 0)
				;
		}
	}
	close(fd);
	enc_ws_close(&w);
	return ENC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct args a = {};
	struct enc_state st = ENC_STATE_INIT;
	struct enc_err err = {};
	int r;

	enc_tool_init("enclave-net");
	parse_args(argc, argv, &a);
	if (enc_state_open(&st, &err) < 0)
		die_err(&err, ENC_EXIT_FAILURE);
	switch (a.verb->id) {
	case V_SHOW:
		r = do_show(&st, &a);
		break;
	case V_PUBLISH:
		r = do_publish(&st, &a);
		break;
	case V_UNPUBLISH:
		r = do_unpublish(&st, &a);
		break;
	case V_PORTS:
		r = do_ports(&st, &a);
		break;
	case V_LOG:
		r = do_log(&st, &a);
		break;
	default:
		r = ENC_EXIT_USAGE;
	}
	enc_state_close(&st);
	free(a.specs);
	return r;
}
