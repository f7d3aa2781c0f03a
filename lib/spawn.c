/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spawn.c - start a workspace: the monitor, the workspace's PID 1 and the
 * workload (DESIGN.md §3). See runtime.h for the process model.
 *
 * Sequence (the numbers are referred to below):
 *  1. caller: lock the workspace, sweep a crashed run, pick the generation
 *     and the host id range, fork the monitor (setsid).
 *  2. monitor: cgroup with limits, log, audit, pipes (or a pty later), then
 *     clone3(CLONE_NEWUSER|NEWNS|NEWPID|NEWNET|NEWUTS|NEWIPC) straight into
 *     the cgroup where cgroup2 allows it. The child waits.
 *  3. monitor (privileged): v1 cgroup attach, uid/gid maps, idmapped mount
 *     trees for the child's user namespace; sends them with "go".
 *  4. child = PID 1: cgroup namespace, root filesystem, hostname,
 *     /run/enclave; forks the workload and becomes init.
 *  5. workload: session, stdio, ids, capabilities, no_new_privs, seccomp,
 *     fds closed, exec. A failure before exec reaches init over a
 *     close-on-exec pipe, so exec success is known without guessing.
 *  6. init reports "ok" (or why not) to the monitor, which reports to the
 *     caller; start returns, run waits.
 *  7. monitor: relays output to the log (and the caller), enforces the
 *     wall-clock limit, watches the cgroup's kill counters; when init exits
 *     it classifies the end, writes result.json, tears down, audits.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "audit.h"
#include "caps.h"
#include "cgroup.h"
#include "exitcodes.h"
#include "fsutil.h"
#include "json.h"
#include "logfile.h"
#include "mounts.h"
#include "names.h"
#include "parse.h"
#include "sandbox.h"
#include "seccomp.h"
#include "runtime.h"
#include "runtime-internal.h"
#include "util.h"
#include "monitor.h"

const char *enc_reason_str(enum enc_reason r)
{
	switch (r) {
	case ENC_REASON_EXITED:
		return "exited";
	case ENC_REASON_SIGNALED:
		return "signaled";
	case ENC_REASON_OOM:
		return "oom";
	case ENC_REASON_PIDS:
		return "pids_exceeded";
	case ENC_REASON_TIMEOUT:
		return "timeout";
	case ENC_REASON_CPU:
		return "cpu";
	case ENC_REASON_FAILED:
		return "failed";
	case ENC_REASON_NET_POLICY:
		return "net_policy_lost";
	}
	return "unknown";
}

/* ---- messages over SOCK_SEQPACKET, with fds ---------------------------- */

int enc_msg_send(int sock, const char *text, const int *fds, size_t nfds)
{
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	union {
		char buf[CMSG_SPACE(sizeof(int) * ENC_MSG_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > ENC_MSG_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (ENC_RETRY(sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0)
		return -errno;
	return 0;
}

ssize_t enc_msg_recv(int sock, char *buf, size_t size, int *fds, size_t *nfds)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	union {
		char cbuf[CMSG_SPACE(sizeof(int) * ENC_MSG_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.cbuf,
		.msg_controllen = sizeof(u.cbuf),
	};
	size_t got = 0;

	ssize_t n = ENC_RETRY(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC));
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[ENC_MSG_MAX_FDS];
		if (k > ENC_MSG_MAX_FDS)
			k = ENC_MSG_MAX_FDS;
		memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if (fds && nfds && got < *nfds)
				fds[got++] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	if (nfds)
		*nfds = got;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	buf[n] = '\0';
	return n;
}

/* ---- small helpers ----------------------------------------------------- */

uint64_t enc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t enc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void enc_iso_ms(uint64_t ms, char buf[64])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ms % 1000));
}

int enc_env_set(struct enc_strv *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t k = 0; k < env->n; k++) {
		if (strncmp(env->v[k], kv, klen) == 0 && env->v[k][klen] == '=') {
			free(env->v[k]);
			memmove(&env->v[k], &env->v[k + 1], (env->n - k) * sizeof(char *));
			env->n--;
			break;
		}
	}
	return enc_strv_push(env, kv);
}

/* The clean, documented environment of a workload (enclave-spawn(1),
 * ENVIRONMENT): nothing of the caller's leaks in. */
char **enc_workload_env(const struct enc_spawn_env *e)
{
	struct enc_strv v = {};
	char *s;

#define PUSHF(...)                                                             \
	do {                                                                   \
		if (asprintf(&s, __VA_ARGS__) < 0)                             \
			goto oom;                                              \
		if (enc_strv_push(&v, s) < 0) {                                \
			free(s);                                               \
			goto oom;                                              \
		}                                                              \
		free(s);                                                       \
	} while (0)

	PUSHF("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	PUSHF("HOME=%s", e->home);
	PUSHF("USER=%s", e->user);
	PUSHF("LOGNAME=%s", e->user);
	PUSHF("SHELL=/bin/sh");
	PUSHF("LANG=C.UTF-8");
	PUSHF("HOSTNAME=%s", e->hostname);
	PUSHF("ENCLAVE_SANDBOX=%s", e->sandbox);
	PUSHF("ENCLAVE_WORKSPACE=%s", e->workspace);
	if (e->term)
		PUSHF("TERM=%s", e->term);
	/* auth (issue 7): the credential variables come last. */
	const struct enc_strv *lists[] = { e->extra, e->auth };
	for (size_t li = 0; li < ENC_ARRAY_SIZE(lists); li++)
		for (size_t i = 0; lists[li] && i < lists[li]->n; i++)
			if (enc_env_set(&v, lists[li]->v[i]) < 0)
				goto oom;
#undef PUSHF
	return v.v;
oom:
	enc_strv_free(&v);
	return NULL;
}

/* ---- the workload (step 5) --------------------------------------------- */

/* Report errno to init over the exec pipe and exit with the wrapper
 * status: 127 not found, 126 not executable, 125 enclave's own failure. */
ENC_NORETURN static void workload_fail(int pipefd, int stage, int errnum)
{
	int msg[2] = { stage, errnum };
	int status = ENC_EXIT_CANNOT_RUN;

	if (stage == ENC_STAGE_EXEC)
		status = errnum == ENOENT ? ENC_EXIT_NOT_FOUND : ENC_EXIT_NOT_EXECUTABLE;
	if (write(pipefd, msg, sizeof(msg)) < 0) {
		/* init reads the status either way */
	}
	_exit(status);
}

ENC_NORETURN void enc_workload_exec(const struct enc_workload *wl)
{
	int p = wl->exec_pipe;
	int keep[1] = { p };

	/* Start the command with default signal handling and nothing
	 * blocked: init blocks everything and the monitor ignores SIGPIPE,
	 * and both would be inherited across exec. */
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setsid() < 0)
		workload_fail(p, ENC_STAGE_SETUP, errno);
	if (wl->tty_slave >= 0) {
		if (ioctl(wl->tty_slave, TIOCSCTTY, 0) < 0)
			workload_fail(p, ENC_STAGE_SETUP, errno);
		for (int i = 0; i < 3; i++)
			if (dup2(wl->tty_slave, i) < 0)
				workload_fail(p, ENC_STAGE_SETUP, errno);
	} else {
		int fds[3] = { wl->stdin_fd, wl->stdout_fd, wl->stderr_fd };
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				workload_fail(p, ENC_STAGE_SETUP, errno);
	}

	/* Everything but stdio and the exec pipe goes before the command can
	 * see it (STYLE: close_range with a keep-list). */
	if (enc_close_fds_except(keep, 1) < 0)
		workload_fail(p, ENC_STAGE_SETUP, errno);

	/* The monitor works with umask 077; the command gets the usual one. */
	umask(022);
	if (chdir(wl->cwd) < 0 && chdir("/") < 0)
		workload_fail(p, ENC_STAGE_SETUP, errno);

	struct enc_err err = {};
	if (wl->root) {
		if (enc_caps_reduce_root(&err) < 0)
			workload_fail(p, ENC_STAGE_CAPS, -err.code);
	} else if (enc_caps_become_user(wl->uid, wl->gid, &err) < 0) {
		workload_fail(p, ENC_STAGE_CAPS, -err.code);
	}
	if (enc_caps_no_new_privs(&err) < 0)
		workload_fail(p, ENC_STAGE_CAPS, -err.code);
	/* The filter goes last: it denies what the steps above needed. */
	if (enc_seccomp_load(wl->seccomp, &err) < 0)
		workload_fail(p, ENC_STAGE_SECCOMP, -err.code);

	environ = wl->envp;
	execvpe(wl->argv[0], wl->argv, wl->envp);
	workload_fail(p, ENC_STAGE_EXEC, errno);
}

const char *enc_stage_str(int stage)
{
	switch (stage) {
	case ENC_STAGE_SETUP:
		return "setting up the workload";
	case ENC_STAGE_CAPS:
		return "dropping privileges";
	case ENC_STAGE_SECCOMP:
		return "loading the seccomp filter";
	case ENC_STAGE_EXEC:
		return "executing the command";
	default:
		return "starting";
	}
}

/*
 * The workload is started the way posix_spawn(3) starts a program: with
 * clone(CLONE_VM | CLONE_VFORK), running in our memory on a stack of its
 * own until its execve(2), while we are suspended. fork() would copy our
 * page tables (every library of the runtime is mapped) only for the exec
 * to throw the copy away: ~150-250 us of every start.
 *
 * Why sharing the memory is safe here: we are single-threaded and
 * suspended until the child has exec'd or exited, so nothing of ours runs
 * at the same time or holds a lock. Everything the child changes before
 * the exec is its own: without CLONE_SIGHAND, CLONE_FILES and CLONE_FS it
 * has its own copies of the signal dispositions, the fd table, the cwd
 * and umask; the mask, credentials, no_new_privs and the seccomp filter
 * are per task, the session per process. In memory it writes its stack
 * (below), errno, the capability-number cache of caps.c (the same value
 * we would compute) and `environ`, which we restore. Every signal is
 * blocked across the clone, as posix_spawn does, so no handler of ours
 * can run in the child, in our memory, before it has reset them all. One
 * effect reaches us: the kernel marks an mm non-dumpable when a task
 * using it changes its uids, so PID 1 makes itself dumpable again where
 * it wants to be (init.c). The stack is mapped per start, sized for the
 * argument vector (glibc's execvpe() copies argv onto it to run a script
 * without "#!" through /bin/sh), with a guard page below it: an overflow
 * faults instead of writing into our memory.
 *
 * Under AddressSanitizer the child would run instrumented code on a stack
 * the runtime does not know about (and poison it for the next use), so
 * sanitizer builds use fork().
 */
#if defined(__SANITIZE_ADDRESS__)
#define WORKLOAD_SHARE_VM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WORKLOAD_SHARE_VM 0
#endif
#endif
#ifndef WORKLOAD_SHARE_VM
#define WORKLOAD_SHARE_VM 1
#endif

#if WORKLOAD_SHARE_VM
static int workload_child(void *arg)
{
	enc_workload_exec(arg);
}
#endif

pid_t enc_workload_start(struct enc_workload *wl, int *exec_rd)
{
	int pfd[2], e;
	pid_t pid;

	*exec_rd = -1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	/* The child's copy of pfd[0] is close-on-exec and goes with the
	 * other fds before the exec (enc_workload_exec()). */
	wl->exec_pipe = pfd[1];
#if WORKLOAD_SHARE_VM
	size_t argc = 0, page = (size_t)sysconf(_SC_PAGESIZE), size;
	char **env = environ;
	sigset_t all, old;
	char *map;

	while (wl->argv[argc])
		argc++;
	size = (256 * 1024 + (argc + 2) * sizeof(char *) + page - 1) / page * page;
	map = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE) < 0) {
		e = errno;
		if (map != MAP_FAILED)
			munmap(map, size + page);
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* Returns once the child has exec'd or exited (CLONE_VFORK): the
	 * stack is free again. */
	pid = clone(workload_child, map + page + size, CLONE_VM | CLONE_VFORK | SIGCHLD, wl);
	e = errno;
	environ = env;
	sigprocmask(SIG_SETMASK, &old, NULL);
	munmap(map, size + page);
#else
	pid = fork();
	if (pid == 0)
		enc_workload_exec(wl);
	e = errno;
#endif
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -e;
	}
	*exec_rd = pfd[0];
	return pid;
}

/* The pipe is close-on-exec, so EOF without data means the exec worked. */
void enc_workload_started(int exec_rd, int *failed, int *stage, int *errnum)
{
	int msg[2];
	ssize_t n = ENC_RETRY(read(exec_rd, msg, sizeof(msg)));

	*failed = 0;
	close(exec_rd);
	if (n == (ssize_t)sizeof(msg)) {
		*stage = msg[0];
		*errnum = msg[1];
		if (msg[0] == ENC_STAGE_EXEC)
			*failed = msg[1] == ENOENT ? ENC_EXIT_NOT_FOUND : ENC_EXIT_NOT_EXECUTABLE;
		else
			*failed = ENC_EXIT_CANNOT_RUN;
	}
}

/* Fork the workload and learn whether its exec succeeded. *failed gets
 * the wrapper status (125-127) or 0. */
pid_t enc_workload_fork(struct enc_workload *wl, int *failed, int *stage, int *errnum)
{
	int rd;
	pid_t pid = enc_workload_start(wl, &rd);

	*failed = 0;
	if (pid < 0)
		return pid;
	enc_workload_started(rd, failed, stage, errnum);
	return pid;
}
