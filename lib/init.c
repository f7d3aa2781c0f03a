/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * init.c - the workspace's PID 1 (step 4 of spawn.c): in the namespaces the
 * monitor made, it takes the mount trees the monitor prepared, builds the
 * root, brings up loopback, installs /run/enclave and the credentials,
 * forks the workload and then only reaps and forwards signals.
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

/* ---- the workspace's PID 1 (step 4) ------------------------------------ */

/* Bring up lo in the workspace's own network namespace (we are root in the
 * user namespace that owns it). */
static int loopback_up(struct enc_err *err)
{
	struct ifreq ifr = {};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return enc_err_sys(err, -errno, "cannot bring up lo: socket");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return enc_err_sys(err, -errno, "cannot bring up lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return enc_err_sys(err, -errno, "cannot bring up lo");
	return 0;
}

/* Tell the monitor why we could not start, then exit. */
ENC_NORETURN static void child_fail(int sock, int code, const struct enc_err *e, const char *what)
{
	char buf[ENC_MSG_SIZE];

	snprintf(buf, sizeof(buf), "E %d %d %.900s", code, e && e->code ? -e->code : 0,
		 e && e->msg[0] ? e->msg : what);
	enc_msg_send(sock, buf, NULL, 0);
	_exit(ENC_EXIT_CANNOT_RUN);
}

/* PID 1: reap everything, forward signals to the workload, exit with its
 * status. Signals from inside the namespace reach PID 1 only where it has a
 * handler, and it has none: all are blocked and read from a signalfd. */
ENC_NORETURN static void init_loop(int sock, pid_t wl, int sfd)
{
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			_exit(ENC_EXIT_CANNOT_RUN);
		}
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t p;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
				if (p != wl)
					continue;
				char buf[64];
				snprintf(buf, sizeof(buf), "X %d", st);
				enc_msg_send(sock, buf, NULL, 0);
				/* The kernel kills the rest of the namespace
				 * when PID 1 exits. */
				if (WIFEXITED(st))
					_exit(WEXITSTATUS(st));
				_exit(128 + WTERMSIG(st));
			}
			continue;
		}
		if (wl <= 0) {
			/* Idle: a stop ends it cleanly. */
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
			    si.ssi_signo == SIGHUP)
				_exit(0);
			continue;
		}
		kill(wl, (int)si.ssi_signo);
	}
}

/* PID 1 itself only reaps and forwards signals once the workload exists:
 * keep CAP_KILL (to signal the workload's user), nothing else, and the same
 * no_new_privs and seccomp filter as the workload. */
static void reduce_self(const struct monitor *m, int sock, pid_t wl)
{
	struct enc_err e = {};
	/* CAP_KILL, to signal the workload. And CAP_AUDIT_READ, which grants
	 * nothing in a user namespace: with it, no process of root inside
	 * (ENC_CAPS_ROOT_MASK, without it) holds a superset of our
	 * capabilities, so none may ptrace us or read our memory, which
	 * holds the caller's environment (cap_ptrace_access_check(); an
	 * ordinary user's PID 1 is dumpable, for enter). Bounding set: KILL. */
	uint64_t keep = ENC_CAP_BIT(CAP_KILL) | ENC_CAP_BIT(CAP_AUDIT_READ);

	if (enc_caps_keep_bounded(keep, ENC_CAP_BIT(CAP_KILL), &e) < 0 ||
	    enc_seccomp_load(m->seccomp, &e) < 0) {
		if (wl > 0)
			kill(wl, SIGKILL);
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}
}

ENC_NORETURN void enc_init_main(struct monitor *m)
{
	int sock = m->sync[1];
	struct enc_err e = {};
	char buf[ENC_MSG_SIZE];
	int fds[ENC_MSG_MAX_FDS];
	size_t nfds = ENC_MSG_MAX_FDS;

	/* Die with the monitor: a workspace without its monitor would run
	 * unsupervised. If the monitor is already gone, the sync socket is
	 * closed and the recv below returns 0. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	/* Into the workspace's v1 cgroups before anything else (cgroup2: we
	 * were born there by clone3). Moving ourselves through the "tasks"
	 * fds the monitor opened costs no RCU grace period, which the
	 * monitor's cgroup.procs write for us did (~10-16 ms per isolated
	 * start on a hybrid host); the fds are closed just below. */
	if (m->njoin > 0) {
		int bad = 0;
		int r = enc_cgroup_join(m->join_fd, m->njoin, &bad);
		if (r < 0) {
			enc_err_sys(&e, r, "cannot join the workspace's v1 cgroups (%d of %d)",
				    bad + 1, m->njoin);
			child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
		}
	}

	/* Keep only what PID 1 needs; in particular not the workspace lock,
	 * so that "running" stays "the monitor is alive". */
	int keep[] = { sock, m->out[1], m->err[1], m->in[0] };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(keep); i++)
		if (keep[i] < 0)
			keep[i] = sock;
	if (enc_close_fds_except(keep, ENC_ARRAY_SIZE(keep)) < 0)
		_exit(ENC_EXIT_CANNOT_RUN);

	/* While the monitor writes our id maps and prepares the mounts, we
	 * would only wait: trim the bounding set now to the root set, which
	 * holds what PID 1 keeps (CAP_KILL) and the most a workload may
	 * have. The bounding set limits only what an exec grants, and PID 1
	 * never execs, so nothing below loses a capability it uses; the
	 * workload, whose drops the start waits for, then has 11 left to
	 * drop instead of 41 (each one a credential commit). */
	uint64_t known = 0;
	if (enc_caps_all(&known, &e) < 0)
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	for (int c = 0; c < 64; c++) {
		if (!(known & ~ENC_CAPS_ROOT_MASK & ENC_CAP_BIT(c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0L, 0L, 0L) < 0) {
			enc_err_sys(&e, -errno, "cannot trim the capability bounding set");
			child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
		}
	}

	ssize_t n = enc_msg_recv(sock, buf, sizeof(buf), fds, &nfds);
	if (n <= 0 || strncmp(buf, "go ", 3) != 0)
		_exit(ENC_EXIT_CANNOT_RUN);
	unsigned mask = (unsigned)strtoul(buf + 3, NULL, 16);
	struct enc_mount_fds mfds = ENC_MOUNT_FDS_INIT;
	int *slots[] = { &mfds.rootfs, &mfds.persist, &mfds.persist_upper,
			 &mfds.persist_work, &mfds.home, &mfds.project };
	size_t k = 0;
	for (size_t i = 0; i < ENC_ARRAY_SIZE(slots); i++)
		if (mask & (1u << i))
			*slots[i] = k < nfds ? fds[k++] : -1;

	/* We are the creator of the user namespace and hold every capability
	 * in it; become uid/gid 0 there (host: the range's base) without any
	 * supplementary group of the host. */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		enc_err_sys(&e, -errno, "cannot become root in the workspace's user namespace");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}
	/* A credential change clears the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* ...and makes us non-dumpable, with our mm still the host's: then
	 * only CAP_SYS_PTRACE on the host could open our namespaces, which
	 * an ordinary user's enter needs (it holds every capability in the
	 * workspace's user namespace, which it owns, and none on the host).
	 * Dumpable again, we are reachable by the namespace's owner and by
	 * root inside; never by the workload's user, which is another uid
	 * and holds no capability. */
	if (m->unpriv)
		prctl(PR_SET_DUMPABLE, 1);
	/* The cgroup namespace is made now, after the monitor placed us in
	 * the workspace's cgroup, so it is rooted there. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		enc_err_sys(&e, -errno, "cannot create the cgroup namespace");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}

	const struct enc_workspace_conf *ws = m->ws;
	struct enc_mount_spec ms = {
		.src = m->src,
		.home_dst = m->setup ? NULL : m->home,
		.project_dst = ws->workspace_dir && !m->setup ? (ws->workspace_mount ? ws->workspace_mount
									: ws->workspace_dir)
						 : NULL,
		.hide = (const char *const *)ws->hide.v,
		.protect = (const char *const *)ws->protect.v,
		.upper_size = ws->tmp_size,
	};
	const char *empty[] = { NULL };
	if (!ms.hide)
		ms.hide = empty;
	if (!ms.protect)
		ms.protect = empty;

	if (enc_mounts_build_root(&ms, &mfds, NULL, &e) < 0)
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);

	/* Loopback of our own namespace (the monitor wired any veth before
	 * "go"); with network = host it is the host's and not ours. */
	if (ws->network != ENC_NET_HOST && loopback_up(&e) < 0)
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);

	const char *host = ws->hostname ? ws->hostname : "workspace";
	if (sethostname(host, strlen(host)) < 0 || setdomainname("", 0) < 0) {
		enc_err_sys(&e, -errno, "cannot set the hostname");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}

	/* /run/enclave: the workload's result.json goes here; the directory
	 * belongs to the workspace user. */
	if (mkdir("/run/enclave", 0755) < 0 && errno != EEXIST) {
		enc_err_sys(&e, -errno, "cannot create /run/enclave");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}
	if (chown("/run/enclave", m->uid, m->uid) < 0) {
		enc_err_sys(&e, -errno, "cannot chown /run/enclave");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}
	int rundir = open("/run/enclave", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* 0711 whatever the monitor's umask: an ordinary user's monitor has
	 * no capability over the workspace user's files, and must still
	 * open result.json by name (the token files stay 0600). */
	if (rundir < 0 || fchmod(rundir, 0711) < 0) {
		enc_err_sys(&e, -errno, "cannot open /run/enclave");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}
	/* auth (issue 7): the token files, from the plan this process
	 * inherited, before anything of the workload runs. */
	if (enc_auth_plan_install(&m->auth, rundir, m->uid, m->uid, &e) < 0)
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);

	/* Block every signal before the workload exists, so no SIGCHLD is
	 * lost; the workload restores the mask before exec. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		enc_err_sys(&e, -errno, "signalfd");
		child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
	}

	int master = -1, slave = -1;
	if (m->spec->tty) {
		/* A pty of the workspace's own devpts instance: the workload
		 * never holds the caller's terminal (TIOCSTI and friends). */
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || unlockpt(master) < 0) {
			enc_err_sys(&e, -errno, "cannot open a pty in the workspace");
			child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
		}
		slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0) {
			enc_err_sys(&e, -errno, "cannot open the pty's terminal");
			child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
		}
	}

	pid_t wl = 0;
	if (m->argv) {
		int devnull = -1;
		if (m->in[0] < 0) {
			devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (devnull < 0) {
				enc_err_sys(&e, -errno, "cannot open /dev/null");
				child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
			}
		}
		struct enc_workload wlspec = {
			.argv = m->argv,
			.envp = m->envp,
			.cwd = m->cwd,
			.uid = m->uid,
			.gid = m->uid,
			.root = m->setup,
			.stdin_fd = m->in[0] >= 0 ? m->in[0] : devnull,
			.stdout_fd = m->out[1],
			.stderr_fd = m->err[1],
			.tty_slave = slave,
			.seccomp = m->seccomp,
		};
		int exec_rd = -1;
		wl = enc_workload_start(&wlspec, &exec_rd);
		if (wl < 0) {
			enc_err_sys(&e, (int)wl, "cannot fork the workload");
			child_fail(sock, ENC_EXIT_CANNOT_RUN, &e, NULL);
		}
		/* The workload's uid change made our memory, which it shared
		 * until its exec, non-dumpable again (spawn.c): see above. */
		if (m->unpriv)
			prctl(PR_SET_DUMPABLE, 1);
		/* PID 1 gives up its privileges before it learns how the
		 * exec went: alongside the workload's first steps rather
		 * than in the way of the monitor's "ok". */
		reduce_self(m, sock, wl);
		int failed = 0, stage = 0, errnum = 0;
		enc_workload_started(exec_rd, &failed, &stage, &errnum);
		if (failed) {
			/* The workload reported why; it has exited with the
			 * wrapper status. Reap it so the status is exact. */
			int st;
			waitpid(wl, &st, 0);
			snprintf(buf, sizeof(buf), "F %d %d %d", failed, stage, errnum);
			enc_msg_send(sock, buf, NULL, 0);
			_exit(failed);
		}
		if (devnull >= 0)
			close(devnull);
	} else {
		reduce_self(m, sock, 0);
	}
	if (slave >= 0)
		close(slave);
	mclose(&m->out[1]);
	mclose(&m->err[1]);
	mclose(&m->in[0]);
	/* auth (issue 7): the workload has its copy; init keeps no token. */
	enc_auth_plan_wipe(&m->auth);
	wipe_envp(m->envp);

	prctl(PR_SET_PDEATHSIG, SIGKILL);

	int sendfds[2] = { rundir, master };
	snprintf(buf, sizeof(buf), "ok %d", (int)wl);
	if (enc_msg_send(sock, buf, sendfds, master >= 0 ? 2 : 1) < 0)
		_exit(ENC_EXIT_CANNOT_RUN);
	close(rundir);
	if (master >= 0)
		close(master);
	init_loop(sock, wl, sfd);
}
