/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor.c - enc_spawn_start(): the caller's side (step 1) and the monitor
 * (steps 2, 3, 6, 7); the workspace's PID 1 (step 4) is init.c. See spawn.c
 * for the numbered sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>
#include <net/if.h>

#include "audit.h"
#include "auth.h"
#include "caps.h"
#include "cgroup.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "json.h"
#include "logfile.h"
#include "mounts.h"
#include "parse.h"
#include "sandbox.h"
#include "seccomp.h"
#include "runtime.h"
#include "runtime-internal.h"
#include "unpriv.h"
#include "util.h"
#include "portfwd.h"
#include "wsnet.h"

#include "monitor.h"


static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mark(struct monitor *m, const char *name)
{
	if (m->timing && m->nmarks < 32) {
		m->mark_name[m->nmarks] = name;
		m->mark_ns[m->nmarks++] = mono_ns();
	}
}

static void print_marks(const struct monitor *m)
{
	if (!m->timing || m->attach_err < 0 || m->nmarks < 2)
		return;
	char line[2048];
	size_t off = (size_t)snprintf(line, sizeof(line), "enclave-spawn: timing:");
	for (int i = 1; i < m->nmarks && off < sizeof(line) - 64; i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%" PRIu64,
					m->mark_name[i],
					(m->mark_ns[i] - m->mark_ns[i - 1]) / 1000);
	snprintf(line + off, sizeof(line) - off, " total=%" PRIu64 "us\n",
		 (m->mark_ns[m->nmarks - 1] - m->mark_ns[0]) / 1000);
	if (write(m->attach_err, line, strlen(line)) < 0) {
		/* best effort */
	}
}


/* ---- audit helpers ----------------------------------------------------- */

static void audit_event(struct monitor *m, const char *event,
			const struct enc_audit_field *f, size_t n)
{
	if (m->audit.fd >= 0)
		enc_audit_append(&m->audit, event, f, n, NULL);
}

/* ---- auth (issue 7) ----------------------------------------------------- */


/* A JSON array of names for an audit record. */
static char *names_json(const struct enc_strv *sv, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct enc_json j;

	if (!f)
		return NULL;
	enc_json_init(&j, f, 0);
	enc_json_arr_begin(&j);
	for (size_t i = 0; i < sv->n; i++)
		enc_json_str(&j, sv->v[i]);
	enc_json_arr_end(&j);
	int r = enc_json_finish(&j);
	fclose(f);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	/* enc_json_finish ends the document with a newline. */
	while (*len && buf[*len - 1] == '\n')
		buf[--*len] = '\0';
	return buf;
}

/* Names only (DESIGN §15.2): which providers and env tokens the workspace
 * got, and which it declared without a stored token. */
static void audit_auth(struct monitor *m)
{
	const struct enc_auth_plan *p = &m->auth;

	for (size_t i = 0; i < p->missing.n; i++) {
		struct enc_audit_field f[] = { ENC_AUDIT_STR("provider", p->missing.v[i]) };
		audit_event(m, "auth_missing", f, ENC_ARRAY_SIZE(f));
	}
	for (size_t i = 0; i < p->missing_env.n; i++) {
		char prov[ENC_NAME_MAX + 1];
		if (enc_auth_env_provider(p->missing_env.v[i], prov, NULL) < 0)
			prov[0] = '\0';
		struct enc_audit_field f[] = {
			ENC_AUDIT_STR("env_name", p->missing_env.v[i]),
			ENC_AUDIT_STR("provider", prov),
		};
		audit_event(m, "auth_missing", f, ENC_ARRAY_SIZE(f));
	}
	if (!p->providers.n && !p->env_names.n)
		return;
	size_t pl = 0, el = 0;
	char *pj = names_json(&p->providers, &pl);
	char *ej = names_json(&p->env_names, &el);
	if (pj && ej) {
		struct enc_audit_field f[] = {
			ENC_AUDIT_RAW("providers", pj, pl),
			ENC_AUDIT_RAW("env_names", ej, el),
		};
		audit_event(m, "auth_injected", f, ENC_ARRAY_SIZE(f));
	}
	free(pj);
	free(ej);
}

/* ---- the monitor (steps 2, 3, 6, 7) ------------------------------------ */

static int write_map(pid_t pid, const char *file, uint32_t base, struct enc_err *err)
{
	char path[64], line[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int len = snprintf(line, sizeof(line), "0 %" PRIu32 " %u\n", base, ENC_IDPOOL_SIZE);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		return enc_err_sys(err, -errno, "cannot write %s", path);
	return 0;
}

static pid_t clone_child(struct monitor *m, int *pidfd, struct enc_err *err)
{
	uint64_t flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
			 CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD;

	/* network = host: the explicit opt-out, no network isolation. */
	if (m->ws->network == ENC_NET_HOST)
		flags &= ~(uint64_t)CLONE_NEWNET;
	struct clone_args args = {
		.flags = flags,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	int cgfd = m->have_cg ? enc_cgroup_fd(&m->cg) : -1;

	if (cgfd >= 0) {
		/* Born in the workspace's cgroup (v2): no window in which it
		 * runs uncounted. */
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return enc_err_sys(err, -errno, "cannot create the workspace's namespaces (clone3)");
	if (pid == 0)
		enc_init_main(m);
	return (pid_t)pid;
}

/* Reply to the caller: "R init_pid init_start monitor_pid monitor_start"
 * or "E status errno message". */
static void reply(struct monitor *m, const char *text)
{
	if (m->status_sock < 0)
		return;
	/* Read what the caller sent and we never looked at (a late window
	 * size): closing a unix socket with unread data makes the caller's
	 * next recv fail with ECONNRESET instead of returning our reply. */
	char junk[ENC_MSG_SIZE];
	while (recv(m->status_sock, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	enc_msg_send(m->status_sock, text, NULL, 0);
}

static int prepare_sources(struct monitor *m, struct enc_mount_sources *src,
			   char *persist, size_t plen, char *home, size_t hlen)
{
	const struct enc_workspace_conf *ws = m->ws;

	*src = (struct enc_mount_sources){
		.ns_uid_base = m->base,
		.ns_gid_base = m->gbase,
		.user_uid = m->uid,
		.user_gid = m->uid,
		.rootfs = m->rootfs,
		.rootfs_writable = m->setup,
		.overlay = (enum enc_overlay_mode)ws->overlay,
		/* The home lives in the state dir, owned on disk by the
		 * workspace user's own host id: a plain clone, no carrier. */
		.home_owner_uid = m->base + ws->uid,
		.home_owner_gid = m->gbase + ws->uid,
		.project_src = ws->workspace_dir,
		/* Files the workspace creates in the project belong to the
		 * invoking user (DESIGN §5). */
		.project_owner_uid = getuid(),
		.project_owner_gid = getgid(),
	};
	if (m->setup) {
		/* The generation being built, nothing else. */
		src->project_src = NULL;
		return 0;
	}
	snprintf(home, hlen, "%s/home", m->w->dir_path);
	src->home_src = home;
	if (ws->overlay == ENC_OVERLAY_PERSISTENT) {
		snprintf(persist, plen, "%s/fs", m->w->dir_path);
		src->persist_dir = persist;
	}
	return 0;
}

static void workload_result(struct monitor *m, char **json, size_t *len)
{
	*json = NULL;
	*len = 0;
	if (m->rundir < 0)
		return;
	/* Untrusted input written by the workload: read beneath the fd with
	 * no symlinks, non-blocking open (a FIFO cannot stall us), bounded,
	 * and embedded only if it is valid JSON. */
	char *s = NULL;
	size_t n = 0;
	if (enc_fact_read(m->rundir, "result.json", WL_RESULT_MAX, false, &s, &n, NULL) < 0)
		return;
	if (enc_json_validate(s, n) < 0) {
		free(s);
		return;
	}
	*json = s;
	*len = n;
}

static const char *signame(int sig)
{
	static char buf[16];
	const char *s = sigabbrev_np(sig);

	if (!s) {
		snprintf(buf, sizeof(buf), "%d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", s);
	return buf;
}

static int write_result(struct monitor *m, enum enc_reason reason, int exit_code, int sig,
			const char *error, int *status_out)
{
	struct enc_cgroup_stats cs = {};
	uint64_t ended = enc_now_ms();
	char t0[64], t1[64];
	char *wl = NULL;
	size_t wllen = 0;
	char *buf = NULL;
	size_t blen = 0;

	if (m->have_cg)
		enc_cgroup_stats(&m->cg, &cs, NULL);
	workload_result(m, &wl, &wllen);
	enc_iso_ms(m->started_ms, t0);
	enc_iso_ms(ended, t1);

	FILE *f = open_memstream(&buf, &blen);
	if (!f) {
		free(wl);
		return -ENOMEM;
	}
	struct enc_json j;
	enc_json_init(&j, f, ENC_JSON_PRETTY);
	enc_json_obj_begin(&j);
	enc_json_kv_str(&j, "sandbox", m->spec->sandbox);
	enc_json_kv_str(&j, "workspace", m->ws->name);
	enc_json_kv_str(&j, "generation", m->gen);
	enc_json_key(&j, "command");
	if (m->argv) {
		enc_json_arr_begin(&j);
		for (size_t i = 0; m->argv[i]; i++)
			enc_json_str(&j, m->argv[i]);
		enc_json_arr_end(&j);
	} else {
		enc_json_null(&j);
	}
	enc_json_kv_str(&j, "reason", enc_reason_str(reason));
	enc_json_key(&j, "exit_code");
	if (sig)
		enc_json_null(&j);
	else
		enc_json_int(&j, exit_code);
	enc_json_key(&j, "signal");
	if (sig)
		enc_json_str(&j, signame(sig));
	else
		enc_json_null(&j);
	enc_json_kv_int(&j, "status", sig ? 128 + sig : exit_code);
	enc_json_kv_str(&j, "started", t0);
	enc_json_kv_str(&j, "ended", t1);
	enc_json_kv_uint(&j, "wall_ms", enc_mono_ms() - m->start_mono);
	enc_json_kv_uint(&j, "cpu_ms", cs.cpu_usage_usec / 1000);
	enc_json_kv_uint(&j, "memory_peak", cs.memory_peak);
	enc_json_key(&j, "error");
	enc_json_str(&j, error);
	enc_json_key(&j, "result");
	if (wl)
		enc_json_raw(&j, wl, wllen);
	else
		enc_json_null(&j);
	enc_json_obj_end(&j);
	enc_json_finish(&j);
	fclose(f);

	/* Atomic by rename; not fsync'ed: it is rewritten on every run and
	 * the audit record below carries the outcome too. */
	int r = enc_fact_write(m->w->dir_fd, "result.json", buf, blen, 0600, false, NULL);

	struct enc_audit_field fields[] = {
		ENC_AUDIT_STR("reason", enc_reason_str(reason)),
		ENC_AUDIT_INT("status", sig ? 128 + sig : exit_code),
		ENC_AUDIT_UINT("wall_ms", enc_mono_ms() - m->start_mono),
		ENC_AUDIT_UINT("cpu_ms", cs.cpu_usage_usec / 1000),
		ENC_AUDIT_UINT("memory_peak", cs.memory_peak),
	};
	audit_event(m, "result", fields, ENC_ARRAY_SIZE(fields));
	if (reason == ENC_REASON_OOM || reason == ENC_REASON_PIDS || reason == ENC_REASON_TIMEOUT) {
		struct enc_audit_field kf[] = { ENC_AUDIT_STR("reason", enc_reason_str(reason)) };
		audit_event(m, "quota_kill", kf, 1);
	}
	*status_out = sig ? 128 + sig : exit_code;
	free(buf);
	free(wl);
	return r;
}

/* Copy what the workload printed to the log and to the attached caller. */
static bool relay(struct monitor *m, int fd, int to)
{
	/* Static, not on the stack: a 64 KiB frame is probed page by page
	 * (-fstack-clash-protection), 16 fresh stack pages faulted in for
	 * every workspace even when the workload prints nothing. The monitor
	 * is single-threaded and relay() is not reentrant. */
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (m->log.dirfd >= 0)	/* not with --rm */
		enc_log_write(&m->log, buf, (size_t)n, NULL);
	if (to >= 0) {
		const char *p = buf;
		size_t left = (size_t)n;
		while (left) {
			ssize_t k = write(to, p, left);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				/* The caller went away: keep logging. */
				if (to == m->attach_out)
					m->attach_out = -1;
				if (to == m->attach_err)
					m->attach_err = -1;
				break;
			}
			p += k;
			left -= (size_t)k;
		}
	}
	return true;
}

static void check_cgroup(struct monitor *m)
{
	struct enc_cgroup_events ev = {};

	if (!m->have_cg || enc_cgroup_events(&m->cg, &ev, NULL) < 0)
		return;
	if ((ev.valid & ENC_CGROUP_EV_OOM) && ev.oom_kill > 0 && !m->oom) {
		/* cgroup v1 kills one task: finish the job (DESIGN §8). */
		m->oom = true;
		enc_cgroup_kill(&m->cg, NULL);
	}
	if ((ev.valid & ENC_CGROUP_EV_PIDS) && ev.pids_max > 0 && !m->pids_hit) {
		/* A workload that hits pids.max is over budget: kill it with
		 * the precise reason rather than letting a fork bomb spin. */
		m->pids_hit = true;
		enc_cgroup_kill(&m->cg, NULL);
	}
}

/* The runtime files go at every end; with --rm everything but the result
 * and the audit trail goes too. */
static void end_files(struct monitor *m)
{
	enc_ports_clear(m->w);
	/* With the ".new" a crash during a replacement leaves behind (it
	 * holds the old content: the exec record holds the environment). */
	static const char *const run_files[] = {
		"init", "init.new", "monitor", "monitor.new", "exec", "exec.new",
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(run_files); i++)
		unlinkat(m->w->run_fd, run_files[i], 0);
	if (!m->ephemeral)
		return;
	enc_rm_rf_at(m->w->dir_fd, "home", NULL);
	enc_rm_rf_at(m->w->dir_fd, "fs", NULL);
	unlinkat(m->w->dir_fd, ENC_LOG_FILE, 0);
	unlinkat(m->w->dir_fd, ENC_LOG_OLD, 0);
	unlinkat(m->w->dir_fd, "generation", 0);
}

ENC_NORETURN static void monitor_fail(struct monitor *m, int status, const struct enc_err *e)
{
	char buf[ENC_MSG_SIZE];

	snprintf(buf, sizeof(buf), "E %d %d %.900s", status, e ? -e->code : 0,
		 e && e->msg[0] ? e->msg : "cannot start the workspace");
	struct enc_audit_field f[] = { ENC_AUDIT_STR("error", e ? e->msg : NULL) };
	audit_event(m, "start_failed", f, 1);
	if (m->init_pidfd >= 0)
		enc_pidfd_send_signal(m->init_pidfd, SIGKILL);
	if (m->init_pid > 0)
		waitpid(m->init_pid, NULL, 0);
	if (m->have_cg)
		enc_cgroup_kill(&m->cg, NULL);
	enc_wsnet_teardown(&m->net, NULL);
	if (m->have_cg)
		enc_cgroup_destroy(&m->cg, NULL);
	enc_log_close(&m->log);
	end_files(m);
	/* Everything is undone: free the workspace before the answer, so the
	 * caller's next command finds it stopped, not still "running" while
	 * we exit. */
	enc_ws_unlock(m->w);
	reply(m, buf);
	_exit(status);
}

ENC_NORETURN static void monitor_main(struct monitor *m)
{
	struct enc_err e = {};
	const struct enc_workspace_conf *ws = m->ws;
	char buf[ENC_MSG_SIZE];

	m->self = getpid();
	prctl(PR_SET_NAME, "enclave-mon");
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	mark(m, "fork");
	/* --rm keeps no log: the output goes to the caller only. */
	if ((!m->ephemeral &&
	     enc_log_open(m->w->dir_fd, m->spec->log_limit, &m->log, &e) < 0) ||
	    enc_audit_open(m->w->dir_fd, ENC_AUDIT_FILE, 0, &m->audit, &e) < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);

	/* Resources: every workspace gets a cgroup, limits or not, for its
	 * stats and for a kill that reaches every process. */
	struct enc_cgroup_limits lim = {
		.memory_max = ws->memory,
		.limit_swap = ws->swap != UINT64_MAX,
		.swap_max = ws->swap == UINT64_MAX ? 0 : ws->swap,
		.cpu_quota_us = ws->cpus ? ws->cpus * 100 : 0,
		.cpu_period_us = ws->cpus ? 100000 : 0,
		.pids_max = ws->pids,
	};
	char cgname[ENC_WS_CGROUP_NAME_MAX];
	enc_ws_cgroup_name(m->w, cgname, sizeof(cgname));
	mark(m, "log+audit");
	if (m->unpriv) {
		/* The user's delegated subtree, with the monitor moved into it:
		 * clone3(CLONE_INTO_CGROUP) and the v1 joins need the monitor
		 * beneath the subtree the user may write. */
		if (enc_unpriv_cgroup_self(&m->cgsys, &e) < 0)
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	} else if (enc_cgroup_probe(&m->cgsys, &e) < 0) {
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	/* A memory limit without a swap limit would let the workload swap
	 * past it: where the host accounts swap, no swap unless asked. */
	if (ws->memory && ws->swap == UINT64_MAX && (m->cgsys.features & ENC_CGROUP_F_MEMORY_SWAP)) {
		lim.limit_swap = true;
		lim.swap_max = 0;
	}
	int cr = enc_cgroup_create(&m->cgsys, cgname, &lim, &m->cg, &e);
	if (cr == -EEXIST) {
		/* Left by a monitor that died before it recorded itself (we
		 * hold the workspace lock: nobody else owns it). */
		enc_err_clear(&e);
		if (enc_cgroup_sweep_name(&m->cgsys, cgname, &e) == 0)
			cr = enc_cgroup_create(&m->cgsys, cgname, &lim, &m->cg, &e);
	}
	if (cr < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	m->have_cg = true;
	mark(m, "cgroup");

	/* Output: pipes (the pty is made inside the workspace). */
	m->out[0] = m->out[1] = m->err[0] = m->err[1] = m->in[0] = m->in[1] = -1;
	if (!m->spec->tty && m->argv) {
		if (pipe2(m->out, O_CLOEXEC) < 0 || pipe2(m->err, O_CLOEXEC) < 0) {
			enc_err_sys(&e, -errno, "pipe");
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
		}
	}
	if (m->spec->interactive && !m->spec->tty && m->argv && m->attach_in >= 0) {
		if (pipe2(m->in, O_CLOEXEC) < 0) {
			enc_err_sys(&e, -errno, "pipe");
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, m->sync) < 0) {
		enc_err_sys(&e, -errno, "socketpair");
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}

	prepare_sources(m, &m->src, m->persist_path, sizeof(m->persist_path), m->home_path,
			sizeof(m->home_path));

	m->njoin = enc_cgroup_join_open(&m->cg, m->join_fd, &e);
	if (m->njoin < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);

	m->started_ms = enc_now_ms();
	m->start_mono = enc_mono_ms();
	m->init_pid = clone_child(m, &m->init_pidfd, &e);
	enc_cgroup_join_close(m->join_fd, m->njoin);
	if (m->init_pid < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	mark(m, "clone");
	/* auth (issue 7): init has its copy; the monitor keeps names only. */
	enc_auth_plan_wipe(&m->auth);
	wipe_envp(m->envp);
	mclose(&m->sync[1]);
	mclose(&m->out[1]);
	mclose(&m->err[1]);
	mclose(&m->in[0]);

	/* Step 3, privileged: cgroup placement on v1 (unless the child
	 * joined by itself), id maps, mount trees. The child is blocked in
	 * recv and runs nothing of the workload's until "go". */
	if (m->njoin == 0 && enc_cgroup_needs_attach(&m->cg) &&
	    enc_cgroup_attach(&m->cg, m->init_pid, &e) < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	if (m->unpriv) {
		if (enc_unpriv_uidmap(m->init_pidfd, m->base, m->gbase, &e) < 0)
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	} else if (write_map(m->init_pid, "uid_map", m->base, &e) < 0 ||
		   write_map(m->init_pid, "gid_map", m->gbase, &e) < 0) {
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}

	mark(m, "idmaps");
	char nspath[64];
	if (ws->network != ENC_NET_HOST) {
		snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)m->init_pid);
		m->netns = open(nspath, O_RDONLY | O_CLOEXEC);
		if (m->netns < 0) {
			enc_err_sys(&e, -errno, "cannot open %s", nspath);
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
		}
	}
	/* Step 4: the network, in the host's namespace, before the child
	 * runs anything: the policy is in place at the workload's first
	 * instruction, or the workspace does not start. */
	if (ws->network == ENC_NET_DENY || ws->network == ENC_NET_NAT) {
		struct enc_wsnet_spec ns = {
			.mode = ws->network,
			.allow = ws->allow,
			.n_allow = ws->nallow,
			.log_allowed = ws->log_allowed,
			.uid = getuid(),
			.netns_fd = m->netns,
		};
		if (enc_wsnet_setup(&m->net, m->w, &ns, &e) < 0)
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
		mark(m, "network");
	}
	/* Published ports: bound on the host now, so a port taken there
	 * fails the start with its name; each forwarder joins the cgroup
	 * and dies with the workspace. */
	for (size_t i = 0; i < ws->nports; i++) {
		if (enc_ports_publish(m->w, m->netns, &m->cg, &ws->ports[i], &e) < 0)
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	if (ws->nports)
		mark(m, "ports");

	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/user", (int)m->init_pid);
	_cleanup_close_ int userns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (userns < 0) {
		enc_err_sys(&e, -errno, "cannot open %s", nspath);
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	struct enc_mount_fds mfds = ENC_MOUNT_FDS_INIT;
	if (m->unpriv) {
		struct enc_unpriv_persist up = { m->base, m->gbase };

		if (enc_unpriv_mounts(m->st, m->rootfs, userns, m->setup ? -1 : m->w->dir_fd,
				      m->setup ? NULL : ws->workspace_dir, m->uid,
				      m->src.persist_dir ? &up : NULL, &mfds, &e) < 0)
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	} else if (enc_mounts_prepare_idmapped(&m->src, userns, &mfds, NULL, &e) < 0) {
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	int all[] = { mfds.rootfs, mfds.persist, mfds.persist_upper, mfds.persist_work,
		      mfds.home, mfds.project };
	int send[ENC_MSG_MAX_FDS];
	size_t nsend = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(all); i++) {
		if (all[i] >= 0) {
			bits |= 1u << i;
			send[nsend++] = all[i];
		}
	}
	mark(m, "mounts");
	snprintf(buf, sizeof(buf), "go %x", bits);
	int r = enc_msg_send(m->sync[0], buf, send, nsend);
	enc_mount_fds_close(&mfds);
	if (r < 0) {
		enc_err_sys(&e, r, "cannot hand the mounts to the workspace");
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}

	/* Our own and init's start times, for the pid files written below:
	 * read now, while init builds the workspace's root. */
	struct enc_pidref iref, mref;
	if (enc_pidref_of(m->init_pid, &iref) < 0 || enc_pidref_of(m->self, &mref) < 0) {
		enc_err_set(&e, -ESRCH, "cannot read the start times of the monitor and init");
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}

	/* Step 6: wait for init's verdict. */
	int fds[2] = { -1, -1 };
	size_t nfds = 2;
	struct pollfd pw = { .fd = m->sync[0], .events = POLLIN };
	if (ENC_RETRY(poll(&pw, 1, START_TIMEOUT_MS)) <= 0) {
		enc_err_set(&e, -ETIMEDOUT, "the workspace did not come up within %d s",
			    START_TIMEOUT_MS / 1000);
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	ssize_t n = enc_msg_recv(m->sync[0], buf, sizeof(buf), fds, &nfds);
	if (n <= 0) {
		enc_err_set(&e, -EIO, "the workspace's init died while starting");
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
	}
	if (buf[0] == 'E') {
		/* "E status errno message" from the child */
		char *p = buf + 2;
		int st = (int)strtol(p, &p, 10);
		int en = (int)strtol(p, &p, 10);
		enc_err_set(&e, -(en ? en : EIO), "%s", *p ? p + 1 : "cannot start");
		monitor_fail(m, st ? st : ENC_EXIT_CANNOT_RUN, &e);
	}
	if (buf[0] == 'F') {
		/* The command could not be executed: 125/126/127. */
		int st = 0, stage = 0, en = 0;
		sscanf(buf + 2, "%d %d %d", &st, &stage, &en);
		if (stage == ENC_STAGE_EXEC)
			enc_err_sys(&e, -en, "cannot execute '%s'", m->argv[0]);
		else
			enc_err_sys(&e, -en, "%s failed", enc_stage_str(stage));
		int status = 0;
		write_result(m, ENC_REASON_FAILED, st, 0, e.msg, &status);
		monitor_fail(m, st, &e);
	}
	mark(m, "init+exec");
	m->rundir = nfds > 0 ? fds[0] : -1;
	m->master = nfds > 1 ? fds[1] : -1;
	m->wl_pid = (pid_t)strtol(buf + 3, NULL, 10);

	if (enc_ws_pid_write(m->w, "init", &iref, &e) < 0 ||
	    enc_ws_pid_write(m->w, "monitor", &mref, &e) < 0)
		monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);

	{
		char cmd[512] = "", addr4[64] = "";
		size_t off = 0;
		if (m->net.info.addr4.family)
			enc_format_ip(&m->net.info.addr4, addr4, sizeof(addr4));
		for (size_t i = 0; m->argv && m->argv[i] && off < sizeof(cmd) - 1; i++)
			off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%s",
						i ? " " : "", m->argv[i]);
		struct enc_audit_field f[] = {
			ENC_AUDIT_STR("sandbox", m->spec->sandbox),
			ENC_AUDIT_STR("generation", m->gen),
			ENC_AUDIT_STR("command", m->argv ? cmd : NULL),
			ENC_AUDIT_UINT("uid", m->uid),
			ENC_AUDIT_STR("overlay", enc_overlay_mode_str(ws->overlay)),
			ENC_AUDIT_INT("init_pid", m->init_pid),
			ENC_AUDIT_STR("network", enc_net_mode_str(ws->network)),
			ENC_AUDIT_STR("address", m->net.info.addr4.family ? addr4 : NULL),
		};
		audit_event(m, "start", f, ENC_ARRAY_SIZE(f));
	}
	audit_auth(m);	/* auth (issue 7) */
	if (m->log.dirfd >= 0)
		enc_log_mark(&m->log, "started", NULL);

	snprintf(buf, sizeof(buf), "R %d %" PRIu64 " %d %" PRIu64, (int)iref.pid, iref.start,
		 (int)mref.pid, mref.start);
	reply(m, buf);
	mark(m, "running");
	if (!m->spec->interactive || m->attach_in < 0)
		m->attach_in = -1;

	/* Step 7: supervise. */
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	int tfd = -1, pfd = -1;
	if (ws->timeout) {
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ws->timeout / 1000),
							.tv_nsec = (long)(ws->timeout % 1000) * 1000000 } };
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
			enc_err_sys(&e, -errno, "cannot arm the timeout");
			monitor_fail(m, ENC_EXIT_CANNOT_RUN, &e);
		}
	}
	if (ws->pids && m->cgsys.hier[m->cg.ctrl_hier[ENC_CG_PIDS] >= 0 ? m->cg.ctrl_hier[ENC_CG_PIDS] : 0].version == 1) {
		pfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		struct itimerspec its = { .it_interval = { .tv_nsec = PIDS_POLL_MS * 1000000L },
					  .it_value = { .tv_nsec = PIDS_POLL_MS * 1000000L } };
		if (pfd >= 0)
			timerfd_settime(pfd, 0, &its, NULL);
	}
	int evfd = enc_cgroup_event_fd(&m->cg, NULL);

	int out_fd = m->master >= 0 ? m->master : m->out[0];
	int err_fd = m->master >= 0 ? -1 : m->err[0];
	bool init_done = false;
	uint64_t drain_until = 0;

	enum { P_OUT, P_ERR, P_IN, P_INIT, P_SYNC, P_TIMER, P_PIDS, P_EV, P_SIG, P_CALLER, P_NET,
	       P_WATCH, P_N };
	for (;;) {
		struct pollfd p[P_N] = {
			[P_OUT] = { .fd = out_fd, .events = POLLIN },
			[P_ERR] = { .fd = err_fd, .events = POLLIN },
			[P_IN] = { .fd = m->attach_in, .events = POLLIN },
			[P_INIT] = { .fd = init_done ? -1 : m->init_pidfd, .events = POLLIN },
			[P_SYNC] = { .fd = m->sync[0], .events = POLLIN },
			[P_TIMER] = { .fd = tfd, .events = POLLIN },
			[P_PIDS] = { .fd = pfd, .events = POLLIN },
			[P_EV] = { .fd = evfd, .events = POLLIN },
			[P_SIG] = { .fd = sfd, .events = POLLIN },
			[P_CALLER] = { .fd = m->status_sock, .events = POLLIN },
			[P_NET] = { .fd = enc_wsnet_log_fd(&m->net), .events = POLLIN },
			[P_WATCH] = { .fd = enc_wsnet_watch_fd(&m->net), .events = POLLIN },
		};
		int timeout = -1;
		if (init_done) {
			if (out_fd < 0 && err_fd < 0)
				break;
			uint64_t now = enc_mono_ms();
			if (now >= drain_until)
				break;
			timeout = (int)(drain_until - now);
			p[P_IN].fd = p[P_TIMER].fd = p[P_PIDS].fd = p[P_EV].fd = -1;
			p[P_WATCH].fd = -1;
		}
		int pr = poll(p, P_N, timeout);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;

		if (p[P_OUT].revents) {
			if (!relay(m, out_fd, m->attach_out)) {
				if (out_fd == m->master)
					m->master = -1;
				close(out_fd);
				out_fd = -1;
				m->out[0] = -1;
			}
		}
		if (p[P_ERR].revents) {
			if (!relay(m, err_fd, m->attach_err)) {
				close(err_fd);
				err_fd = -1;
				m->err[0] = -1;
			}
		}
		if (p[P_IN].revents) {
			char ib[4096];
			ssize_t k;
			int avail = 0;
			/* The caller's fd is shared with the caller (and maybe its
			 * shell): never block on it, never make it non-blocking.
			 * Read only what is there; no bytes plus a hangup is EOF. */
			if (ioctl(m->attach_in, FIONREAD, &avail) == 0 && avail == 0)
				k = (p[P_IN].revents & (POLLHUP | POLLERR | POLLNVAL)) ? 0 : -2;
			else
				k = read(m->attach_in, ib, avail > 0 && (size_t)avail < sizeof(ib)
								 ? (size_t)avail : sizeof(ib));
			if (k == -2)
				goto in_done;
			int to = m->master >= 0 ? m->master : m->in[1];
			if (k <= 0) {
				m->attach_in = -1;
				if (to == m->in[1])
					mclose(&m->in[1]);
				else if (to >= 0) {
					/* EOF on a terminal: send ^D. */
					if (write(to, "\004", 1) < 0) {
					}
				}
			} else if (to >= 0 && write(to, ib, (size_t)k) < 0) {
				m->attach_in = -1;
			}
		}
in_done:
		if (p[P_SYNC].revents) {
			ssize_t k = enc_msg_recv(m->sync[0], buf, sizeof(buf), NULL, NULL);
			if (k > 2 && buf[0] == 'X') {
				m->have_wl_status = true;
				m->wl_status = atoi(buf + 2);
			} else if (k <= 0) {
				mclose(&m->sync[0]);
			}
		}
		if (p[P_TIMER].revents) {
			uint64_t x;
			if (read(tfd, &x, sizeof(x)) > 0 && !m->timed_out) {
				m->timed_out = true;
				enc_cgroup_kill(&m->cg, NULL);
			}
		}
		if (p[P_PIDS].revents) {
			uint64_t x;
			if (read(pfd, &x, sizeof(x)) > 0)
				check_cgroup(m);
		}
		if (p[P_EV].revents)
			check_cgroup(m);
		if (p[P_NET].revents)
			enc_wsnet_log_drain(&m->net, &m->audit);
		if (p[P_WATCH].revents && !m->net_lost) {
			struct enc_err we = {};
			if (enc_wsnet_watch_check(&m->net, &m->audit, &we) < 0) {
				/* Unfiltered is not an option: end it. */
				struct enc_audit_field f[] = { ENC_AUDIT_STR("error", we.msg) };
				audit_event(m, "net_policy_lost", f, 1);
				m->net_lost = true;
				enc_cgroup_kill(&m->cg, NULL);
			}
		}
		if (p[P_SIG].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
				    si.ssi_signo == SIGHUP)
					enc_pidfd_send_signal(m->init_pidfd, SIGTERM);
			}
		}
		if (p[P_CALLER].revents) {
			ssize_t k = enc_msg_recv(m->status_sock, buf, sizeof(buf), NULL, NULL);
			if (k <= 0) {
				/* The caller is gone: detach. */
				mclose(&m->status_sock);
				m->attach_in = m->attach_out = m->attach_err = -1;
			} else if (buf[0] == 'W' && m->master >= 0) {
				struct winsize wsz = {};
				unsigned rows = 0, cols = 0;
				if (sscanf(buf + 2, "%u %u", &rows, &cols) == 2) {
					wsz.ws_row = (unsigned short)rows;
					wsz.ws_col = (unsigned short)cols;
					ioctl(m->master, TIOCSWINSZ, &wsz);
				}
			} else if (buf[0] == 'S') {
				int sig = atoi(buf + 2);
				if (sig > 0 && sig < NSIG)
					enc_pidfd_send_signal(m->init_pidfd, sig);
			}
		}
		if (p[P_INIT].revents && !init_done) {
			init_done = true;
			drain_until = enc_mono_ms() + DRAIN_MS;
		}
	}

	mark(m, "workload");
	/* Step 7, the end. */
	siginfo_t si = {};
	waitid(P_PIDFD, (id_t)m->init_pidfd, &si, WEXITED);
	/* Collect a final "X" that raced with the pidfd. */
	while (m->sync[0] >= 0 && !m->have_wl_status) {
		struct pollfd ps = { .fd = m->sync[0], .events = POLLIN };
		if (poll(&ps, 1, 0) <= 0)
			break;
		ssize_t k = enc_msg_recv(m->sync[0], buf, sizeof(buf), NULL, NULL);
		if (k > 2 && buf[0] == 'X') {
			m->have_wl_status = true;
			m->wl_status = atoi(buf + 2);
		} else {
			break;
		}
	}
	check_cgroup(m);

	enum enc_reason reason;
	int code = 0, sig = 0;
	if (m->have_wl_status) {
		if (WIFEXITED(m->wl_status))
			code = WEXITSTATUS(m->wl_status);
		else
			sig = WTERMSIG(m->wl_status);
	} else if (si.si_code == CLD_EXITED) {
		code = si.si_status;
	} else {
		sig = si.si_status;
	}
	if (m->net_lost)
		reason = ENC_REASON_NET_POLICY;
	else if (m->timed_out)
		reason = ENC_REASON_TIMEOUT;
	else if (m->oom)
		reason = ENC_REASON_OOM;
	else if (m->pids_hit)
		reason = ENC_REASON_PIDS;
	else if (sig == SIGXCPU)
		reason = ENC_REASON_CPU;
	else if (sig)
		reason = ENC_REASON_SIGNALED;
	else
		reason = ENC_REASON_EXITED;
	/* A quota kill kills init too: report the workload as killed. */
	if ((m->timed_out || m->oom || m->pids_hit || m->net_lost) && !sig &&
	    !m->have_wl_status)
		sig = SIGKILL;

	int status = 0;
	write_result(m, reason, code, sig, NULL, &status);
	mark(m, "result");

	/* Teardown: the mount namespace and the network namespace went with
	 * the last process; the cgroup is ours to remove. */
	struct enc_err te = {};
	enc_cgroup_kill(&m->cg, &te);
	mclose(&m->netns);
	enc_wsnet_log_drain(&m->net, &m->audit);
	uint64_t net_suppressed = m->net.suppressed;
	/* The network's removal waits in the kernel for the veth to go
	 * (tens of ms of RCU grace periods): done after the caller has its
	 * answer, with the lock still held and ENC_WS_STOPPING saying so,
	 * so `run` returns at once and the next start waits for it. No
	 * process of the workspace is left to use it. */
	bool net_later = m->net.info.ifname[0] != '\0';
	int tr = enc_cgroup_destroy(&m->cg, &te);
	m->have_cg = tr < 0;
	mark(m, "cgroup-rm");
	mclose(&m->rundir);
	if (!m->ephemeral)
		enc_log_mark(&m->log, "ended", NULL);
	enc_log_close(&m->log);
	end_files(m);
	struct enc_audit_field tf[] = {
		ENC_AUDIT_BOOL("complete", tr == 0),
		ENC_AUDIT_STR("error", tr < 0 ? te.msg : NULL),
		ENC_AUDIT_UINT("net_suppressed", net_suppressed),
	};
	audit_event(m, "teardown", tf, ENC_ARRAY_SIZE(tf));
	enc_audit_close(&m->audit);
	mark(m, "teardown");
	print_marks(m);

	if (net_later &&
	    enc_fact_write(m->w->run_fd, ENC_WS_STOPPING, "", 0, 0600, false, NULL) < 0)
		net_later = false;
	if (!net_later) {
		enc_wsnet_teardown(&m->net, NULL);
		/* Nothing of the workspace is left to undo: let go of the
		 * lock before the answer, so the caller's next command finds
		 * it free instead of racing our exit ("is running"). */
		enc_ws_unlock(m->w);
	}
	snprintf(buf, sizeof(buf), "X %d", status);
	reply(m, buf);
	mclose(&m->status_sock);
	if (net_later) {
		/* Nothing more for the caller: let go of its terminal and
		 * pipes, so a reader of our output sees its end now. */
		enc_stdio_devnull();
		if (m->attach_in > 2)
			close(m->attach_in);
		if (m->attach_out > 2)
			close(m->attach_out);
		if (m->attach_err > 2)
			close(m->attach_err);
		struct enc_err ne = {};
		if (enc_wsnet_teardown(&m->net, &ne) < 0) {
			/* The sweep of the next command retries from the net
			 * record, which stays. */
			struct enc_audit_field nf[] = { ENC_AUDIT_STR("error", ne.msg) };
			if (enc_audit_open(m->w->dir_fd, ENC_AUDIT_FILE, 0, &m->audit, NULL) == 0) {
				audit_event(m, "net_teardown_failed", nf, 1);
				enc_audit_close(&m->audit);
			}
		}
		/* ENC_WS_STOPPING stays: the next holder of the lock removes
		 * it, once our exit has released the lock. */
	}
	_exit(0);
}

/* ---- the caller (step 1) ----------------------------------------------- */

/* The sandbox's current generation, read directly: a start must not cost
 * a walk of the whole store (enc_sandbox_load() lists every workspace). */
static int read_current(const struct enc_state *st, const char *sandbox, int *sbfd,
			char gen[ENC_GEN_ID_SIZE], struct enc_err *err)
{
	char rel[ENC_NAME_MAX + 16];
	_cleanup_free_ char *cur = NULL;

	snprintf(rel, sizeof(rel), "sandboxes/%s", sandbox);
	int fd = enc_opendir_at(st->data_fd, rel, NULL);
	if (fd < 0)
		return enc_err_set(err, -ENOENT, "no sandbox named '%s'", sandbox);
	if (enc_fact_read(fd, "current", 64, true, &cur, NULL, NULL) < 0 || !enc_gen_id_valid(cur)) {
		close(fd);
		return enc_err_set(err, -ENOENT, "no sandbox named '%s' (not completely created)",
				   sandbox);
	}
	snprintf(gen, ENC_GEN_ID_SIZE, "%s", cur);
	*sbfd = fd;
	return 0;
}

static int sandbox_exists(const struct enc_state *st, const char *sandbox, struct enc_err *err)
{
	char gen[ENC_GEN_ID_SIZE];
	int fd = -1, r = read_current(st, sandbox, &fd, gen, err);

	if (r == 0)
		close(fd);
	return r;
}

static int pick_generation(const struct enc_state *st, const char *sandbox, struct enc_ws *w,
			   bool persistent, char gen[ENC_GEN_ID_SIZE], char **rootfs,
			   struct enc_err *err)
{
	_cleanup_close_ int sbfd = -1;
	_cleanup_free_ char *old = NULL;
	char rel[64], sbrel[ENC_NAME_MAX + 16];

	snprintf(sbrel, sizeof(sbrel), "sandboxes/%s", sandbox);
	sbfd = enc_opendir_at(st->data_fd, sbrel, NULL);
	if (sbfd < 0)
		return enc_err_set(err, -ENOENT, "no sandbox named '%s'", sandbox);
	/* Shared sandbox lock while we read `current` and record our
	 * generation: prune cannot remove it in between (sandbox.h). It is
	 * read once, under the lock. */
	_cleanup_close_ int lock = enc_lock_at(sbfd, "lock", ENC_LOCK_SHARED, true, err);
	if (lock < 0)
		return lock;
	_cleanup_free_ char *cur = NULL;
	if (enc_fact_read(sbfd, "current", 64, true, &cur, NULL, NULL) < 0 || !enc_gen_id_valid(cur))
		return enc_err_set(err, -ENOENT, "no sandbox named '%s' (not completely created)",
				   sandbox);
	snprintf(gen, ENC_GEN_ID_SIZE, "%s", cur);

	if (persistent &&
	    enc_fact_read(w->dir_fd, "generation", 64, true, &old, NULL, NULL) == 0 &&
	    enc_gen_id_valid(old)) {
		/* A persistent upper is bound to the generation it was made
		 * over (DESIGN §6); it moves on only through rm. */
		snprintf(rel, sizeof(rel), "gen/%s/rootfs", old);
		int fd = enc_opendir_at(sbfd, rel, NULL);
		if (fd >= 0) {
			close(fd);
			snprintf(gen, ENC_GEN_ID_SIZE, "%s", old);
		}
	}
	snprintf(rel, sizeof(rel), "gen/%s/rootfs", gen);
	int fd = enc_opendir_at(sbfd, rel, err);
	if (fd < 0)
		return fd;
	close(fd);
	if (asprintf(rootfs, "%s/sandboxes/%s/%s", st->data_path, sandbox, rel) < 0)
		return enc_err_set(err, -ENOMEM, "out of memory");
	/* Written only when it changes, and with sync for a persistent
	 * workspace: its upper layer is bound to this generation (DESIGN §6),
	 * and a crash must not leave it empty (it would move on to current). */
	if (old && !strcmp(old, gen))
		return 0;
	char line[ENC_GEN_ID_SIZE + 1];
	snprintf(line, sizeof(line), "%s\n", gen);
	return enc_fact_write(w->dir_fd, "generation", line, strlen(line), 0600, persistent, err);
}

/* What the ordinary user's path (through enclave-helper) does not do yet:
 * said before anything starts, rather than half-done. */
static int unpriv_supported(const struct monitor *m, struct enc_err *err)
{
	const struct enc_workspace_conf *ws = m->ws;

	if (ws->network == ENC_NET_HOST)
		return enc_err_set(err, -EOPNOTSUPP,
				   "network mode host is not supported for ordinary users; use --net none");
	return 0;
}

int enc_spawn_start(const struct enc_state *st, const struct enc_spawn_spec *spec,
		    struct enc_spawn_handle *h, struct enc_err *err)
{
	const struct enc_workspace_conf *ws = spec->ws;
	struct enc_ws w = ENC_WS_INIT;
	struct monitor m = {
		.st = st,
		.spec = spec,
		.ws = ws,
		.w = &w,
		.status_sock = -1,
		.init_pidfd = -1,
		.netns = -1,
		.rundir = -1,
		.master = -1,
		.sync = { -1, -1 },
		.out = { -1, -1 },
		.err = { -1, -1 },
		.in = { -1, -1 },
		.attach_in = spec->attach_in,
		.attach_out = spec->attach_out,
		.attach_err = spec->attach_err,
		.log = ENC_LOG_INIT,
		.audit = ENC_AUDIT_INIT,
		.net = { .watch = -1 },
	};
	struct enc_seccomp_prog *prog = NULL;
	char **envp = NULL;
	int sp[2] = { -1, -1 };
	uint32_t slot;
	int r;

	*h = (struct enc_spawn_handle)ENC_SPAWN_HANDLE_INIT;
	m.timing = getenv("ENCLAVE_TIMING") && spec->attach_err >= 0;
	mark(&m, "start");
	/* A workspace that does not exist yet is made only for a sandbox
	 * that does, and removed again if this start fails: a failed create
	 * leaves nothing behind. */
	m.setup = spec->setup_root != NULL;
	m.ephemeral = spec->ephemeral || m.setup;
	m.uid = m.setup ? 0 : ws->uid;
	bool existed = (m.setup ? enc_ws_open_setup(st, spec->sandbox, false, &w, NULL)
				: enc_ws_open(st, spec->sandbox, ws->name, false, &w, NULL)) == 0;
	if (!existed) {
		/* A setup runs for a sandbox still being built (its build
		 * lock guards it); a workspace needs one that exists. */
		r = m.setup ? 0 : sandbox_exists(st, spec->sandbox, err);
		if (r < 0)
			return r;
		r = m.setup ? enc_ws_open_setup(st, spec->sandbox, true, &w, err)
			    : enc_ws_open(st, spec->sandbox, ws->name, true, &w, err);
		if (r < 0)
			return r;
	}
	r = enc_ws_lock(&w, false, err);
	if (r < 0)
		goto out;
	r = enc_spawn_sweep(st, &w, err);
	if (r < 0)
		goto out;
	if (m.setup) {
		if (ws->overlay != ENC_OVERLAY_TMP || ws->workspace_dir) {
			r = enc_err_set(err, -EINVAL, "setup runs on the rootfs itself: no overlay "
					"mode, no project dir");
			goto out;
		}
		snprintf(m.gen, sizeof(m.gen), "setup");
		m.rootfs = strdup(spec->setup_root);
		r = m.rootfs ? 0 : enc_err_set(err, -ENOMEM, "out of memory");
	} else {
		r = pick_generation(st, spec->sandbox, &w, ws->overlay == ENC_OVERLAY_PERSISTENT,
				    m.gen, &m.rootfs, err);
	}
	if (r < 0)
		goto out;
	r = enc_ws_idslot(st, &w, &slot, err);
	if (r < 0)
		goto out;
	mark(&m, "prepare");
	m.unpriv = enc_unpriv();
	if (m.unpriv) {
		uint32_t ub = 0, gb = 0;
		r = unpriv_supported(&m, err);
		if (r == 0)
			r = enc_unpriv_idbase(slot, &ub, &gb, err);
		if (r < 0)
			goto out;
		m.base = ub;
		m.gbase = gb;
	} else {
		m.base = ENC_IDPOOL_BASE + slot * ENC_IDPOOL_SIZE;
		m.gbase = m.base;
	}

	/* The home directory on disk belongs to the workspace user's host id
	 * (see mounts.h); it is created here so a failed start leaves no
	 * half-made one behind... and an existing one is kept. */
	if (m.setup)
		snprintf(m.home, sizeof(m.home), "/root");
	else
		snprintf(m.home, sizeof(m.home), "/home/%s", ws->user ? ws->user : "user");
	m.cwd = m.setup ? "/" : ws->workspace_dir ? (ws->workspace_mount ? ws->workspace_mount : ws->workspace_dir)
				  : m.home;

	/* Build the filter once here: the child loads the prepared program. */
	r = enc_seccomp_build(0, &prog, err);
	if (r < 0)
		goto out;
	m.seccomp = prog;

	/* auth (issue 7): the declared credentials, read from the store now;
	 * the monitor and PID 1 get them as memory, never as a path. A
	 * refused token fails the start, a missing one is only noted. */
	r = enc_auth_plan_build(st, &ws->auth, &ws->env_tokens, &m.auth, err);
	if (r < 0)
		goto out;

	struct enc_spawn_env env = {
		.home = m.home,
		.user = m.setup ? "root" : ws->user ? ws->user : "user",
		.hostname = ws->hostname ? ws->hostname : "workspace",
		.sandbox = spec->sandbox,
		.workspace = ws->name,
		.term = spec->tty ? getenv("TERM") : NULL,
		.extra = &ws->env,
		.auth = &m.auth.env,
	};
	envp = enc_workload_env(&env);
	if (!envp) {
		r = enc_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	m.envp = envp;
	/* What enter needs to run commands like the workload's. */
	r = enc_exec_record_write(&w, m.uid, m.uid, m.cwd, m.home, envp, err);
	if (r < 0)
		goto out;
	if (spec->argv && spec->argv[0]) {
		m.argv = spec->argv;
	} else if (ws->run) {
		m.sh_argv[0] = (char *)"/bin/sh";
		m.sh_argv[1] = (char *)"-c";
		m.sh_argv[2] = ws->run;
		m.sh_argv[3] = NULL;
		m.argv = m.sh_argv;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		r = enc_err_sys(err, -errno, "socketpair");
		goto out;
	}
	mark(&m, "seccomp+env");

	bool detached = spec->attach_out < 0;
	pid_t pid = fork();
	if (pid < 0) {
		r = enc_err_sys(err, -errno, "cannot fork the monitor");
		goto out;
	}
	if (pid == 0) {
		close(sp[0]);
		m.status_sock = sp[1];
		if (setsid() < 0)
			_exit(ENC_EXIT_CANNOT_RUN);
		if (detached) {
			/* Double fork: the monitor of a detached workspace is
			 * nobody's child to reap. */
			pid_t p2 = fork();
			if (p2 < 0)
				_exit(ENC_EXIT_CANNOT_RUN);
			if (p2 > 0)
				_exit(0);
			enc_stdio_devnull();
		}
		monitor_main(&m);
	}
	close(sp[1]);
	sp[1] = -1;
	if (detached)
		waitpid(pid, NULL, 0);

	char buf[ENC_MSG_SIZE];
	struct pollfd pw = { .fd = sp[0], .events = POLLIN };
	if (ENC_RETRY(poll(&pw, 1, START_TIMEOUT_MS + 5000)) <= 0) {
		r = enc_err_set(err, -ETIMEDOUT, "the workspace did not start in time");
		goto out;
	}
	ssize_t n = enc_msg_recv(sp[0], buf, sizeof(buf), NULL, NULL);
	if (n <= 0) {
		r = enc_err_set(err, -EIO, "the workspace's monitor died while starting");
		goto out;
	}
	if (buf[0] == 'E') {
		char *p = buf + 2;
		int status = (int)strtol(p, &p, 10);
		int en = (int)strtol(p, &p, 10);
		r = enc_err_set(err, -(en ? en : EIO), "%s", *p ? p + 1 : "cannot start");
		/* 126/127: the command itself; the caller exits with it, and
		 * its result stays. */
		h->fail_status = status;
		if (!detached)
			waitpid(pid, NULL, 0);
		if (status == ENC_EXIT_CANNOT_RUN)
			goto out;
		existed = true;
		goto out;
	}
	int ip = 0, mp = 0;
	uint64_t is = 0, ms = 0;
	if (sscanf(buf, "R %d %" SCNu64 " %d %" SCNu64, &ip, &is, &mp, &ms) != 4) {
		r = enc_err_set(err, -EPROTO, "unexpected reply from the monitor");
		goto out;
	}
	h->init = (struct enc_pidref){ .pid = ip, .start = is };
	h->monitor = (struct enc_pidref){ .pid = mp, .start = ms };
	h->status_fd = sp[0];
	h->monitor_child = detached ? 0 : pid;
	sp[0] = -1;
	r = 0;
out:
	if (r < 0 && !existed && w.dir_fd >= 0) {
		/* The monitor (if any) is gone and released its lock copy;
		 * ours is still held, so nobody else can be using it. */
		enc_ws_lock(&w, true, NULL);
		enc_ws_remove(st, &w, NULL);
	}
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (envp) {
		struct enc_strv v = { .v = envp };
		wipe_envp(envp);	/* auth (issue 7) */
		while (v.v[v.n])
			v.n++;
		enc_strv_free(&v);
	}
	enc_auth_plan_free(&m.auth);	/* auth (issue 7) */
	enc_seccomp_prog_free(prog);
	free(m.rootfs);
	enc_ws_close(&w);
	return r;
}

int enc_spawn_wait(struct enc_spawn_handle *h, int *exit_status, struct enc_err *err)
{
	char buf[ENC_MSG_SIZE];

	*exit_status = ENC_EXIT_CANNOT_RUN;
	for (;;) {
		ssize_t n = enc_msg_recv(h->status_fd, buf, sizeof(buf), NULL, NULL);
		if (n < 0 && n != -EINTR)
			return enc_err_sys(err, (int)n, "lost the monitor");
		if (n == 0)
			return enc_err_set(err, -EIO, "the monitor ended without a result");
		if (n > 2 && buf[0] == 'X') {
			*exit_status = atoi(buf + 2);
			break;
		}
	}
	/* The monitor may still be undoing the network (ENC_WS_STOPPING):
	 * reap it if it is done, else leave it (the workspace lock, which it
	 * still holds, is what the next command waits for). */
	if (h->monitor_child > 0)
		waitpid(h->monitor_child, NULL, WNOHANG);
	h->monitor_child = 0;
	return 0;
}

int enc_spawn_send(struct enc_spawn_handle *h, const char *msg)
{
	if (h->status_fd < 0)
		return -EBADF;
	return enc_msg_send(h->status_fd, msg, NULL, 0);
}

void enc_spawn_handle_close(struct enc_spawn_handle *h)
{
	if (h->status_fd >= 0)
		close(h->status_fd);
	h->status_fd = -1;
}
