/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enter.c - joining a running workspace (enter/exec), signalling it,
 * stopping it, and sweeping what a crashed monitor left (DESIGN.md §3).
 *
 * enter trusts nothing the workspace can write: the target is the init
 * process recorded by the monitor in the runtime dir (which the workspace
 * cannot reach), opened as a pidfd and checked against its start time; the
 * command's user, environment and working directory come from the exec
 * record the starter wrote there, never from inside the workspace.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "caps.h"
#include "cgroup.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "names.h"
#include "parse.h"
#include "seccomp.h"
#include "runtime.h"
#include "runtime-internal.h"
#include "unpriv.h"
#include "util.h"
#include "portfwd.h"
#include "wsnet.h"

#define EXEC_RECORD "exec"
#define EXEC_RECORD_MAX (256 * 1024)

/* ---- the exec record: how to run a command in the workspace ------------ */

/* "uid\0gid\0cwd\0home\0K=V\0K=V\0..." */
int enc_exec_record_write(const struct enc_ws *w, uid_t uid, gid_t gid, const char *cwd,
			  const char *home, char *const *envp, struct enc_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return enc_err_set(err, -ENOMEM, "out of memory");
	fprintf(f, "%u%c%u%c%s%c%s%c", (unsigned)uid, 0, (unsigned)gid, 0, cwd, 0, home, 0);
	for (size_t i = 0; envp && envp[i]; i++)
		fprintf(f, "%s%c", envp[i], 0);
	fclose(f);
	int r = enc_fact_write(w->run_fd, EXEC_RECORD, buf, len, 0600, false, err);
	free(buf);
	return r;
}

struct exec_record {
	char *buf;
	uid_t uid;
	gid_t gid;
	const char *cwd;
	const char *home;
	struct enc_strv env;	/* pointers into buf: free only .v */
};

static void exec_record_free(struct exec_record *x)
{
	free(x->env.v);
	free(x->buf);
}

static int exec_record_read(const struct enc_ws *w, struct exec_record *x, struct enc_err *err)
{
	size_t len = 0;
	int r = enc_fact_read(w->run_fd, EXEC_RECORD, EXEC_RECORD_MAX, false, &x->buf, &len, err);

	if (r < 0)
		return r;
	const char *fields[4];
	size_t off = 0;
	for (int i = 0; i < 4; i++) {
		if (off >= len)
			return enc_err_set(err, -EINVAL, "%s/exec: truncated", w->run_path);
		fields[i] = x->buf + off;
		off += strlen(x->buf + off) + 1;
	}
	uint32_t uid, gid;
	if (enc_parse_u32(fields[0], 0, 65535, &uid, NULL) < 0 ||
	    enc_parse_u32(fields[1], 0, 65535, &gid, NULL) < 0)
		return enc_err_set(err, -EINVAL, "%s/exec: bad ids", w->run_path);
	x->uid = uid;
	x->gid = gid;
	x->cwd = fields[2];
	x->home = fields[3];
	size_t cap = 16;
	x->env.v = calloc(cap, sizeof(char *));
	if (!x->env.v)
		return enc_err_set(err, -ENOMEM, "out of memory");
	while (off < len) {
		if (x->env.n + 2 > cap) {
			cap *= 2;
			char **nv = realloc(x->env.v, cap * sizeof(char *));
			if (!nv)
				return enc_err_set(err, -ENOMEM, "out of memory");
			x->env.v = nv;
		}
		x->env.v[x->env.n++] = x->buf + off;
		off += strlen(x->buf + off) + 1;
	}
	x->env.v[x->env.n] = NULL;
	return 0;
}

/* ---- finding the running workspace ------------------------------------- */

static int open_init(const struct enc_ws *w, struct enc_err *err)
{
	struct enc_pidref ref;
	int running = enc_ws_running(w, err);

	if (running < 0)
		return running;
	if (!running)
		return enc_err_set(err, -ESRCH, "workspace %s/%s is not running", w->sandbox,
				   w->name);
	int r = enc_ws_pid_read(w, "init", &ref, NULL);
	if (r == -ENOENT)
		/* The monitor holds the lock but has not recorded init yet:
		 * the workspace is still starting. */
		return enc_err_set(err, -EAGAIN, "workspace %s/%s is still starting", w->sandbox,
				   w->name);
	if (r < 0)
		return enc_err_set(err, r, "workspace %s/%s: cannot read its init pid", w->sandbox,
				   w->name);
	return enc_pidref_open(&ref, err);
}

int enc_spawn_kill(const struct enc_state *st, struct enc_ws *w, int sig, struct enc_err *err)
{
	(void)st;
	_cleanup_close_ int pidfd = open_init(w, err);

	if (pidfd < 0)
		return pidfd;
	/* init forwards the signal to the workload (SIGKILL ends the whole
	 * PID namespace at once). */
	int r = enc_pidfd_send_signal(pidfd, sig);
	if (r < 0)
		return enc_err_sys(err, r, "cannot signal workspace %s/%s", w->sandbox, w->name);
	return 0;
}

static void cgroup_name(const struct enc_ws *w, char *buf, size_t len)
{
	enc_ws_cgroup_name(w, buf, len);
}

int enc_spawn_stop(const struct enc_state *st, struct enc_ws *w, int grace_ms,
		   bool *was_running, struct enc_err *err)
{
	struct enc_err local = {};
	int r;

	*was_running = false;
	_cleanup_close_ int pidfd = open_init(w, &local);
	if (pidfd == -ESRCH) {
		/* Not running, or its init is gone while the monitor still
		 * tears down: wait for the lock either way. */
		r = enc_ws_running(w, err);
		if (r <= 0)
			return r;
	} else if (pidfd < 0 && pidfd != -EAGAIN) {
		if (err && !enc_err_isset(err))
			*err = local;
		return pidfd;
	}
	*was_running = true;
	if (pidfd >= 0)
		enc_pidfd_send_signal(pidfd, SIGTERM);
	if (pidfd == -EAGAIN)
		/* Still starting: give it time to record init, then retry. */
		return enc_ws_wait_stopped(w, grace_ms, err);

	r = enc_ws_wait_stopped(w, grace_ms, NULL);
	if (r == 0)
		return 0;

	/* Grace is over: kill everything in the cgroup, then init (which
	 * takes the PID namespace with it). */
	struct enc_cgroup_sys sys = {};
	struct enc_cgroup cg = {};
	char name[ENC_WS_CGROUP_NAME_MAX];
	cgroup_name(w, name, sizeof(name));
	if (enc_cgroup_probe(&sys, NULL) == 0) {
		if (enc_cgroup_open(&sys, name, &cg, NULL) == 0) {
			enc_cgroup_kill(&cg, NULL);
			enc_cgroup_close(&cg);
		}
		enc_cgroup_sys_close(&sys);
	}
	if (pidfd >= 0)
		enc_pidfd_send_signal(pidfd, SIGKILL);
	(void)st;
	return enc_ws_wait_stopped(w, 30000, err);
}

int enc_spawn_sweep(const struct enc_state *st, struct enc_ws *w, struct enc_err *err)
{
	struct enc_pidref ref;
	bool leftovers = false;
	char name[ENC_WS_CGROUP_NAME_MAX];
	int r;

	(void)st;
	if (w->lock_fd < 0)
		return enc_err_set(err, -EINVAL, "sweeping %s/%s without its lock", w->sandbox,
				   w->name);
	/* A pid file without a lock holder means the monitor died without
	 * its teardown. Its init died with it (PR_SET_PDEATHSIG), taking the
	 * namespaces and mounts along; what can remain is the cgroup (with
	 * processes that escaped nothing, but may still be exiting) and the
	 * runtime files. */
	if (enc_ws_pid_read(w, "monitor", &ref, NULL) == 0 || enc_ws_pid_read(w, "init", &ref, NULL) == 0 ||
	    faccessat(w->run_fd, ENC_WSNET_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		leftovers = true;
	/* Without pid files there is nothing to sweep but, at most, a cgroup
	 * from a monitor that died before recording itself; creating the
	 * cgroup finds that (EEXIST) and sweeps it then. Starting a clean
	 * workspace costs no cgroup walk. */
	if (!leftovers)
		return 0;

	struct enc_cgroup_sys sys = {};
	cgroup_name(w, name, sizeof(name));
	r = enc_cgroup_probe(&sys, err);
	if (r < 0)
		return r;
	r = enc_cgroup_sweep_name(&sys, name, err);
	enc_cgroup_sys_close(&sys);
	if (r < 0)
		return r;
	/* After the cgroup: no process of the workspace is left to use the
	 * veth or the forwarders' records. */
	r = enc_wsnet_sweep(w, err);
	if (r < 0)
		return r;
	enc_ports_clear(w);
	unlinkat(w->run_fd, "init", 0);
	unlinkat(w->run_fd, "monitor", 0);
	unlinkat(w->run_fd, ENC_WS_STOPPING, 0);
	unlinkat(w->run_fd, EXEC_RECORD, 0);
	unlinkat(w->run_fd, EXEC_RECORD ".new", 0);

	if (leftovers) {
		struct enc_audit a = ENC_AUDIT_INIT;
		if (enc_audit_open(w->dir_fd, ENC_AUDIT_FILE, 0, &a, NULL) == 0) {
			struct enc_audit_field f[] = { ENC_AUDIT_STR("what", "crashed monitor") };
			enc_audit_append(&a, "swept", f, 1, NULL);
			enc_audit_close(&a);
		}
	}
	return 0;
}

int enc_spawn_sweep_if_crashed(const struct enc_state *st, struct enc_ws *w,
			       struct enc_err *err)
{
	struct enc_pidref ref;

	/* Cheap first: a live monitor holds the lock; a clean end removed
	 * the pid files. Only a dead monitor leaves them without a lock. */
	if (w->lock_fd >= 0 || enc_ws_running(w, NULL) != 0)
		return 0;
	if (enc_ws_pid_read(w, "monitor", &ref, NULL) < 0 &&
	    enc_ws_pid_read(w, "init", &ref, NULL) < 0 &&
	    faccessat(w->run_fd, ENC_WSNET_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (enc_ws_lock(w, false, NULL) < 0)
		return 0;	/* started meanwhile: its starter swept */
	int r = enc_spawn_sweep(st, w, err);
	enc_ws_unlock(w);
	return r;
}

/* ---- enter ------------------------------------------------------------- */

static struct termios saved_tio;
static int saved_tio_fd = -1;

static void restore_tty(void)
{
	if (saved_tio_fd >= 0)
		tcsetattr(saved_tio_fd, TCSAFLUSH, &saved_tio);
}

static int copy_some(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t k = write(to, buf + off, (size_t)(n - off));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += k;
	}
	return 1;
}

int enc_spawn_enter(const struct enc_state *st, const char *sandbox, const char *wsname,
		    const struct enc_enter_spec *spec, int *exit_status, struct enc_err *err)
{
	struct enc_ws w = ENC_WS_INIT;
	struct exec_record x = {};
	struct enc_seccomp_prog *prog = NULL;
	int pidfd = -1, r;
	int master = -1, slave = -1;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	char **envp = NULL;

	*exit_status = ENC_EXIT_CANNOT_RUN;
	r = enc_ws_open(st, sandbox, wsname, false, &w, err);
	if (r < 0)
		return r;
	enc_spawn_sweep_if_crashed(st, &w, NULL);
	pidfd = open_init(&w, err);
	if (pidfd < 0) {
		r = pidfd;
		goto out;
	}
	r = exec_record_read(&w, &x, err);
	if (r < 0)
		goto out;
	r = enc_seccomp_build(0, &prog, err);
	if (r < 0)
		goto out;

	/* Environment: the workload's, plus the caller's additions. */
	struct enc_strv env = {};
	for (size_t i = 0; i < x.env.n; i++)
		if (enc_strv_push(&env, x.env.v[i]) < 0)
			goto oom;
	for (size_t i = 0; i < spec->env.n; i++)
		if (enc_env_set(&env, spec->env.v[i]) < 0)
			goto oom;
	if (spec->tty && getenv("TERM")) {
		char *t;
		if (asprintf(&t, "TERM=%s", getenv("TERM")) < 0 || enc_env_set(&env, t) < 0)
			goto oom;
		free(t);
	}
	envp = env.v;

	/* Join the cgroup first: after setns(CLONE_NEWUSER) we hold no
	 * capability over the host's cgroupfs any more. */
	{
		struct enc_cgroup_sys sys = {};
		struct enc_cgroup cg = {};
		char name[ENC_WS_CGROUP_NAME_MAX];
		cgroup_name(&w, name, sizeof(name));
		if (enc_unpriv()) {
			/* An ordinary user may move a process only within its
			 * delegated subtree: the helper moves us there first
			 * (it keeps a subtree it delegated before). */
			r = enc_unpriv_cgroup_self(&sys, err);
		} else {
			r = enc_cgroup_probe(&sys, err);
		}
		if (r == 0)
			r = enc_cgroup_open(&sys, name, &cg, err);
		if (r == 0) {
			r = enc_cgroup_attach(&cg, 0, err);
			enc_cgroup_close(&cg);
		}
		enc_cgroup_sys_close(&sys);
		if (r < 0)
			goto out;
	}

	{
		struct enc_audit a = ENC_AUDIT_INIT;
		if (enc_audit_open(w.dir_fd, ENC_AUDIT_FILE, 0, &a, NULL) == 0) {
			struct enc_audit_field f[] = {
				ENC_AUDIT_STR("command", spec->argv && spec->argv[0] ? spec->argv[0] : "/bin/sh"),
				ENC_AUDIT_BOOL("root", spec->root),
				ENC_AUDIT_BOOL("tty", spec->tty),
				ENC_AUDIT_UINT("caller_uid", getuid()),
			};
			enc_audit_append(&a, "enter", f, ENC_ARRAY_SIZE(f), NULL);
			enc_audit_close(&a);
		}
	}

	/* Every namespace of the workspace at once, through the pidfd. */
	if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
				 CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP) < 0) {
		r = enc_err_sys(err, -errno, "cannot join workspace %s/%s", sandbox, wsname);
		goto out;
	}
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		r = enc_err_sys(err, -errno, "cannot become root in the workspace");
		goto out;
	}

	if (spec->tty) {
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || unlockpt(master) < 0 ||
		    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
			r = enc_err_sys(err, -errno, "cannot open a pty in the workspace");
			goto out;
		}
		struct winsize wsz;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &wsz) == 0)
			ioctl(master, TIOCSWINSZ, &wsz);
	} else if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
		   pipe2(perr, O_CLOEXEC) < 0) {
		r = enc_err_sys(err, -errno, "pipe");
		goto out;
	}

	char *shell[] = { (char *)"/bin/sh", (char *)"-l", NULL };
	char *const *argv = spec->argv && spec->argv[0] ? spec->argv : shell;
	struct enc_workload wl = {
		.argv = argv,
		.envp = envp,
		.cwd = spec->cwd ? spec->cwd : x.cwd,
		.uid = x.uid,
		.gid = x.gid,
		.root = spec->root,
		.stdin_fd = pin[0],
		.stdout_fd = pout[1],
		.stderr_fd = perr[1],
		.tty_slave = slave,
		.seccomp = prog,
	};
	int failed = 0, stage = 0, errnum = 0;
	/* Block the signals we relay before the command exists: a SIGCHLD
	 * of a quick command would otherwise be lost before the signalfd
	 * is there (the command itself restores the mask before exec). */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* The fork puts the command inside the workspace's PID namespace. */
	pid_t pid = enc_workload_fork(&wl, &failed, &stage, &errnum);
	if (pid < 0) {
		r = enc_err_sys(err, (int)pid, "cannot fork");
		goto out;
	}
	if (failed) {
		waitpid(pid, NULL, 0);
		*exit_status = failed;
		if (stage == ENC_STAGE_EXEC)
			r = enc_err_sys(err, -errnum, "cannot execute '%s'", argv[0]);
		else
			r = enc_err_sys(err, -errnum, "%s failed", enc_stage_str(stage));
		goto out;
	}
	if (slave >= 0)
		close(slave), slave = -1;
	if (pin[0] >= 0)
		close(pin[0]), pin[0] = -1;
	if (pout[1] >= 0)
		close(pout[1]), pout[1] = -1;
	if (perr[1] >= 0)
		close(perr[1]), perr[1] = -1;

	/* This process relays for the command and nothing else: it keeps no
	 * capability it could lend the workspace. */
	if (enc_caps_drop_all(NULL) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r = enc_err_set(err, -EPERM, "cannot drop the capabilities of the enter process");
		goto out;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	if (spec->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		saved_tio_fd = STDIN_FILENO;
		atexit(restore_tty);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);

	int in_src = spec->interactive ? STDIN_FILENO : -1;
	if (in_src < 0 && master < 0 && pin[1] >= 0)
		close(pin[1]), pin[1] = -1;	/* EOF at once: like /dev/null */
	int in_dst = master >= 0 ? master : pin[1];
	int out_src = master >= 0 ? master : pout[0];
	int err_src = master >= 0 ? -1 : perr[0];
	int status = 0;
	bool done = false;
	while (!done || out_src >= 0 || err_src >= 0) {
		struct pollfd p[4] = {
			{ .fd = done ? -1 : in_src, .events = POLLIN },
			{ .fd = out_src, .events = POLLIN },
			{ .fd = err_src, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(p, 4, done ? 200 : -1) <= 0) {
			if (done)
				break;	/* output quiet after the end */
			continue;
		}
		if (p[0].revents) {
			int c = copy_some(in_src, in_dst);
			if (c <= 0) {
				in_src = -1;
				if (master < 0 && pin[1] >= 0)
					close(pin[1]), pin[1] = -1;
			}
		}
		if (p[1].revents && copy_some(out_src, STDOUT_FILENO) <= 0)
			out_src = -1;
		if (p[2].revents && copy_some(err_src, STDERR_FILENO) <= 0)
			err_src = -1;
		if (p[3].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int st2;
					if (waitpid(pid, &st2, WNOHANG) == pid) {
						status = st2;
						done = true;
					}
				} else if (si.ssi_signo == SIGWINCH && master >= 0) {
					struct winsize wsz;
					if (ioctl(STDIN_FILENO, TIOCGWINSZ, &wsz) == 0)
						ioctl(master, TIOCSWINSZ, &wsz);
				} else {
					kill(pid, (int)si.ssi_signo);
				}
			}
		}
	}
	if (!done)
		waitpid(pid, &status, 0);
	restore_tty();
	saved_tio_fd = -1;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r = 0;
	goto out;
oom:
	enc_strv_free(&env);
	r = enc_err_set(err, -ENOMEM, "out of memory");
	envp = NULL;
out:
	if (envp) {
		struct enc_strv v = { .v = envp };
		while (v.v[v.n])
			v.n++;
		enc_strv_free(&v);
	}
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (pidfd >= 0)
		close(pidfd);
	enc_seccomp_prog_free(prog);
	exec_record_free(&x);
	enc_ws_close(&w);
	return r;
}
