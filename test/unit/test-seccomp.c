/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-seccomp - the workspace seccomp deny list against the real kernel.
 *
 * Every system call is made in a forked child three ways: without the
 * filter as real root (the control: it must NOT already give the documented
 * errno, or the test would pass with a broken filter), with the filter as
 * real root, and with the filter as root inside a fresh user namespace (the
 * workspace's situation). The arguments are chosen to be harmless even if
 * the filter let the call through (bad magic for reboot, a monotonic clock
 * for clock_settime, paths that do not exist, ...), and every child first
 * moves to private mount and UTS namespaces.
 *
 * A small classic-BPF interpreter then runs the exported program on
 * synthetic seccomp_data to check what cannot be provoked safely or at all
 * here: i386/x32 numbers for denied calls, syscalls this kernel has already
 * removed (where the kernel's own ENOSYS hides the filter's), personality
 * values bit by bit.
 *
 * Needs root; without it the whole test is skipped, unless
 * ENCLAVE_MUST_WORK=1 turns the skip into a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>

#include "tap.h"
#include "seccomp.h"

#define HOST_ID_BASE 3000000000u	/* unused host ids for the user namespace */
#define HOST_ID_COUNT 65536u

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

#define ARG_PTY 0x7e7e7e01L		/* replaced by a pty slave fd */
#define HI ((long)(1UL << 32))		/* garbage in an argument's upper half */

#define ALLOW_OK 0			/* allowed, must succeed */
#define ALLOW_SAME (-1)			/* allowed, answer must equal the control's */

static bool must_work(void)
{
	const char *m = getenv("ENCLAVE_MUST_WORK");

	return m && strcmp(m, "1") == 0;
}

static const char nopath[] = "/nonexistent-enclave-test";
static const char nopath2[] = "/nonexistent-enclave-test-2";
static const struct timespec ts_zero;
static const struct timeval tv_bad = { 0, 2000000 };	/* usec out of range */
static char pty_byte = 'x';
static struct timex tx_read;	/* modes 0: a read-only query */

struct probe {
	const char *name;
	int want;			/* errno, ALLOW_OK or ALLOW_SAME */
	long nr;			/* -1: use fn */
	long a[6];
	long (*fn)(void);		/* returns result or -errno */
};

/* ---- special probes ---------------------------------------------------- */

static long p_fork(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* glibc tries clone3 first and falls back to clone on ENOSYS. */
static long p_pthread(void)
{
	pthread_t t;
	void *ret = NULL;
	int r = pthread_create(&t, NULL, thread_fn, &pty_byte);

	if (r)
		return -r;
	pthread_join(t, &ret);
	return ret == &pty_byte ? 0 : -EIO;
}

/* system() is glibc's posix_spawn underneath (clone3, then clone); called
 * this way because lib/spawn.h shadows <spawn.h> on the include path. */
static long p_system(void)
{
	int st = system("exit 0");

	if (st < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static const struct probe probes[] = {
	/* mount family */
	{ "mount", EPERM, SYS_mount, { (long)"none", (long)nopath, (long)"tmpfs" } },
	{ "umount2", EPERM, SYS_umount2, { (long)nopath } },
	{ "pivot_root", EPERM, SYS_pivot_root, { (long)nopath, (long)nopath2 } },
	{ "move_mount", EPERM, SYS_move_mount, { -1, (long)"", -1, (long)"", 0xffffffffL } },
	{ "open_tree", EPERM, SYS_open_tree, { AT_FDCWD, (long)nopath } },
	{ "open_tree_attr", EPERM, SYS_open_tree_attr, { AT_FDCWD, (long)nopath } },
	{ "fsopen", EPERM, SYS_fsopen, { (long)"enclave-nonexistent-fs" } },
	{ "fsmount", EPERM, SYS_fsmount, { -1 } },
	{ "fsconfig", EPERM, SYS_fsconfig, { -1, FSCONFIG_CMD_CREATE } },
	{ "fspick", EPERM, SYS_fspick, { -1, (long)"", 0xffffffffL } },
	{ "mount_setattr", EPERM, SYS_mount_setattr, { -1, (long)"" } },
	/* namespaces */
	{ "setns", EPERM, SYS_setns, { -1 } },
	{ "unshare(CLONE_NEWUSER) new user namespace", EPERM, SYS_unshare, { CLONE_NEWUSER } },
	{ "unshare(CLONE_NEWUSER|CLONE_NEWNS)", EPERM, SYS_unshare, { CLONE_NEWUSER | CLONE_NEWNS } },
	{ "unshare(CLONE_NEWUSER, upper bits set)", EPERM, SYS_unshare, { CLONE_NEWUSER | HI } },
	{ "clone(CLONE_NEWUSER) new user namespace", EPERM, SYS_clone, { CLONE_NEWUSER | SIGCHLD } },
	{ "clone3 (CLONE_NEWUSER hidden in a struct)", ENOSYS, SYS_clone3, { 0, 0 } },
	/* kernel replacement */
	{ "kexec_load", EPERM, SYS_kexec_load, { 0, 1000 } },
	{ "kexec_file_load", EPERM, SYS_kexec_file_load, { -1, -1, 0, 0, -1 } },
	{ "init_module", EPERM, SYS_init_module, { 0, 0, (long)"" } },
	{ "finit_module", EPERM, SYS_finit_module, { -1, (long)"" } },
	{ "delete_module", EPERM, SYS_delete_module, { (long)"enclave_nonexistent", O_NONBLOCK } },
	/* attack surface */
	{ "bpf", EPERM, SYS_bpf, { 0xfff } },
	{ "perf_event_open", EPERM, SYS_perf_event_open, { 0, 0, -1, -1 } },
	{ "userfaultfd", EPERM, SYS_userfaultfd, { 0xffffffffL } },
	{ "keyctl", EPERM, SYS_keyctl, { 0xffff } },
	{ "add_key", EPERM, SYS_add_key, { 0 } },
	{ "request_key", EPERM, SYS_request_key, { 0 } },
	{ "open_by_handle_at (shocker escape)", EPERM, SYS_open_by_handle_at, { -1, 0, 0 } },
	{ "name_to_handle_at", EOPNOTSUPP, SYS_name_to_handle_at, { AT_FDCWD, (long)nopath } },
	{ "io_uring_setup", ENOSYS, SYS_io_uring_setup, { 1, 0 } },
	{ "io_uring_enter", ENOSYS, SYS_io_uring_enter, { -1 } },
	{ "io_uring_register", ENOSYS, SYS_io_uring_register, { -1 } },
	/* terminals (CVE-2017-5226 class) */
	{ "ioctl(TIOCSTI) terminal injection (CVE-2017-5226)", EPERM, SYS_ioctl, { ARG_PTY, TIOCSTI, (long)&pty_byte } },
	{ "ioctl(TIOCSTI | 1<<32) terminal injection, upper bits set", EPERM, SYS_ioctl, { ARG_PTY, TIOCSTI | HI, (long)&pty_byte } },
	{ "ioctl(TIOCLINUX)", EPERM, SYS_ioctl, { ARG_PTY, TIOCLINUX, (long)"\0" } },
	{ "ioctl(TIOCLINUX | 1<<32)", EPERM, SYS_ioctl, { ARG_PTY, TIOCLINUX | HI, (long)"\0" } },
	/* time */
	{ "clock_settime", EPERM, SYS_clock_settime, { CLOCK_MONOTONIC, (long)&ts_zero } },
	{ "clock_adjtime", EPERM, SYS_clock_adjtime, { 0x7fffffffL, 0 } },
	{ "settimeofday", EPERM, SYS_settimeofday, { (long)&tv_bad, 0 } },
	{ "adjtimex (read-only query)", EPERM, SYS_adjtimex, { (long)&tx_read } },
	/* host administration */
	{ "swapon", EPERM, SYS_swapon, { (long)nopath } },
	{ "swapoff", EPERM, SYS_swapoff, { (long)nopath } },
	{ "reboot", EPERM, SYS_reboot, { 0, 0, 0, 0 } },
	{ "acct", EPERM, SYS_acct, { (long)"/nonexistent-enclave-test/acct" } },
	{ "quotactl", EPERM, SYS_quotactl, { QCMD(Q_GETINFO, USRQUOTA), (long)nopath } },
	{ "quotactl_fd", EPERM, SYS_quotactl_fd, { -1, QCMD(Q_GETINFO, USRQUOTA) } },
	{ "syslog", EPERM, SYS_syslog, { 10 /* SIZE_BUFFER */ } },
	{ "iopl", EPERM, SYS_iopl, { 4 } },
	{ "ioperm", EPERM, SYS_ioperm, { 0x10000, 1, 0 } },
	/* obsolete */
	{ "uselib", ENOSYS, SYS_uselib, { (long)nopath } },
	{ "lookup_dcookie", ENOSYS, SYS_lookup_dcookie, { 0 } },
	{ "nfsservctl", ENOSYS, SYS_nfsservctl, { 0 } },
	{ "_sysctl", ENOSYS, SYS__sysctl, { 0 } },
	/* personality: only harmless values */
	{ "personality(ADDR_NO_RANDOMIZE)", EPERM, SYS_personality, { ADDR_NO_RANDOMIZE } },
	{ "personality(ADDR_NO_RANDOMIZE, upper bits set)", EPERM, SYS_personality, { ADDR_NO_RANDOMIZE | HI } },
	{ "personality(READ_IMPLIES_EXEC)", EPERM, SYS_personality, { READ_IMPLIES_EXEC } },
	{ "personality(MMAP_PAGE_ZERO)", EPERM, SYS_personality, { MMAP_PAGE_ZERO } },
	{ "personality(PER_BSD)", EPERM, SYS_personality, { PER_BSD } },
	{ "personality(0xfffffffe)", EPERM, SYS_personality, { 0xfffffffeL } },
	/* still allowed */
	{ "getpid", ALLOW_OK, SYS_getpid, { 0 } },
	{ "openat(/dev/null)", ALLOW_OK, SYS_openat, { AT_FDCWD, (long)"/dev/null", O_RDONLY | O_CLOEXEC } },
	{ "fork() (clone without CLONE_NEWUSER)", ALLOW_OK, -1, { 0 }, p_fork },
	{ "pthread_create (clone3 ENOSYS falls back)", ALLOW_OK, -1, { 0 }, p_pthread },
	{ "system(\"exit 0\") (posix_spawn: clone3 ENOSYS falls back)", ALLOW_OK, -1, { 0 }, p_system },
	{ "clone(SIGCHLD)", ALLOW_OK, SYS_clone, { SIGCHLD } },
	{ "unshare(CLONE_NEWUTS)", ALLOW_OK, SYS_unshare, { CLONE_NEWUTS } },
	{ "ioctl(TIOCGWINSZ)", ALLOW_OK, SYS_ioctl, { ARG_PTY, TIOCGWINSZ, (long)&(struct winsize){ 0 } } },
	{ "personality(0xffffffff) query", ALLOW_OK, SYS_personality, { 0xffffffffL } },
	{ "personality(0xffffffff | 1<<32) query", ALLOW_OK, SYS_personality, { 0xffffffffL | HI } },
	{ "personality(PER_LINUX)", ALLOW_OK, SYS_personality, { PER_LINUX } },
	{ "personality(PER_LINUX32)", ALLOW_OK, SYS_personality, { PER_LINUX32 } },
	{ "personality(UNAME26)", ALLOW_OK, SYS_personality, { UNAME26 } },
	{ "ioctl(TIOCSTI << 32) is not TIOCSTI", ALLOW_SAME, SYS_ioctl, { ARG_PTY, (long)((unsigned long)TIOCSTI << 32), (long)&pty_byte } },
};

/* ---- running a probe ---------------------------------------------------- */

enum ctx { CTX_ROOT, CTX_USERNS };

struct result {
	long ret;	/* >= 0 result, < 0 -errno */
	int ok;		/* child got as far as writing it */
};

static int open_pty_slave(void)
{
	char name[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, name, sizeof(name)) != 0)
		return -1;
	/* the master stays open (leaked on purpose: the child exits) */
	return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static long do_probe(const struct probe *p, int pty)
{
	long a[6];
	long r;

	if (p->fn)
		return p->fn();
	for (int i = 0; i < 6; i++)
		a[i] = p->a[i] == ARG_PTY ? pty : p->a[i];
	if (p->nr == SYS_clone && a[1] == 0) {
		/* raw fork-like clone: the child leaves at once */
		r = syscall(SYS_clone, a[0], 0L, 0L, 0L, 0L);
		if (r == 0)
			_exit(0);
		if (r < 0)
			return -errno;
		waitpid((pid_t)r, NULL, 0);
		return 0;
	}
	r = syscall(p->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	return r < 0 ? -errno : r;
}

static int write_map(pid_t pid, const char *file)
{
	char path[64], line[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(line, sizeof(line), "0 %u %u\n", HOST_ID_BASE, HOST_ID_COUNT);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Fork a child in the given context and run fn(arg) there; fn's long is
 * sent back through a pipe. Returns the child's wait status in *status.
 * In CTX_USERNS the child becomes root of a new user namespace mapped to
 * HOST_ID_BASE, written by the parent as the real runtime would.
 */
static struct result in_child(enum ctx ctx, long (*fn)(const void *), const void *arg,
			      int *status)
{
	struct result res = { 0, 0 };
	int rp[2], sp[2];
	pid_t pid;
	char c = 0;

	*status = -1;
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(sp, O_CLOEXEC) < 0)
		return res;
	pid = fork();
	if (pid < 0)
		return res;
	if (pid == 0) {
		close(rp[0]);
		close(sp[1]);
		if (ctx == CTX_USERNS) {
			if (unshare(CLONE_NEWUSER) < 0)
				_exit(120);
			if (write(rp[1], &c, 1) != 1 || read(sp[0], &c, 1) != 1)
				_exit(121);
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
				_exit(122);
		}
		/* A filter that failed to deny must still not touch the
		 * host's mounts or host name. */
		if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(123);
		long r = fn(arg);
		if (write(rp[1], &r, sizeof(r)) != sizeof(r))
			_exit(124);
		_exit(0);
	}
	close(rp[1]);
	close(sp[0]);
	if (ctx == CTX_USERNS) {
		if (read(rp[0], &c, 1) != 1 || write_map(pid, "uid_map") < 0 ||
		    write_map(pid, "gid_map") < 0) {
			kill(pid, SIGKILL);
		} else if (write(sp[1], &c, 1) != 1) {
			kill(pid, SIGKILL);
		}
	}
	close(sp[1]);
	if (read(rp[0], &res.ret, sizeof(res.ret)) == sizeof(res.ret))
		res.ok = 1;
	close(rp[0]);
	waitpid(pid, status, 0);
	return res;
}

struct probe_arg {
	const struct probe *p;
	const struct enc_seccomp_prog *prog;	/* NULL: control */
};

static long probe_child(const void *v)
{
	const struct probe_arg *pa = v;
	int pty = -1;

	for (int i = 0; i < 6; i++)
		if (pa->p->a[i] == ARG_PTY && (pty = open_pty_slave()) < 0)
			return -10000 - errno;
	if (pa->prog && enc_seccomp_load(pa->prog, NULL) < 0)
		return -20000 - errno;
	return do_probe(pa->p, pty);
}

static const char *outcome(long r, char *buf, size_t len)
{
	if (r >= 0)
		snprintf(buf, len, "success (%ld)", r);
	else if (r > -4096)
		snprintf(buf, len, "%s", strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "?");
	else
		snprintf(buf, len, "setup failed (%ld)", r);
	return buf;
}

static void check_probes(const struct enc_seccomp_prog *prog)
{
	for (size_t i = 0; i < ENC_ARRAY_SIZE(probes); i++) {
		const struct probe *p = &probes[i];
		struct probe_arg ctl = { p, NULL }, flt = { p, prog };
		char b1[64], b2[64];
		int st;

		struct result c = in_child(CTX_ROOT, probe_child, &ctl, &st);
		struct result f = in_child(CTX_ROOT, probe_child, &flt, &st);
		struct result u = in_child(CTX_USERNS, probe_child, &flt, &st);

		if (!c.ok || !f.ok || !u.ok) {
			ok(0, "%s: children ran (control %d, root %d, userns %d)",
			   p->name, c.ok, f.ok, u.ok);
			continue;
		}
		if (p->want > 0) {
			if (!ok(f.ret == -p->want && u.ret == -p->want,
				"%s: %s with the filter, as root and as root in a user namespace",
				p->name, strerrorname_np(p->want)))
				printf("#   root: %s, userns: %s\n",
				       outcome(f.ret, b1, sizeof(b1)),
				       outcome(u.ret, b2, sizeof(b2)));
			if (c.ret == -p->want)
				ok(1, "%s: control # SKIP this kernel already answers %s without the filter (rule checked by simulation)",
				   p->name, strerrorname_np(p->want));
			else
				ok(c.ret != -p->want, "%s: control without the filter answers otherwise (%s)",
				   p->name, outcome(c.ret, b1, sizeof(b1)));
		} else if (p->want == ALLOW_OK) {
			if (!ok(c.ret >= 0 && f.ret >= 0 && u.ret >= 0,
				"%s: still works with the filter", p->name))
				printf("#   control: %s, root: %s, userns: %s\n",
				       outcome(c.ret, b1, sizeof(b1)),
				       outcome(f.ret, b2, sizeof(b2)),
				       outcome(u.ret, (char[64]){ 0 }, 64));
		} else {
			if (!ok((c.ret >= 0) == (f.ret >= 0) &&
				(c.ret >= 0 || c.ret == f.ret),
				"%s: same answer with and without the filter (%s)",
				p->name, outcome(c.ret, b1, sizeof(b1))))
				printf("#   with the filter: %s\n", outcome(f.ret, b2, sizeof(b2)));
		}
	}
}

/* ---- foreign ABIs ------------------------------------------------------- */

#if defined(__x86_64__)
static long x32_getpid(const void *v)
{
	const struct enc_seccomp_prog *prog = v;

	if (prog && enc_seccomp_load(prog, NULL) < 0)
		return -20000 - errno;
	long r = syscall(0x40000000L | SYS_getpid);
	return r < 0 ? -errno : r;
}

static long i386_getpid(const void *v)
{
	const struct enc_seccomp_prog *prog = v;
	long ret;

	if (prog && enc_seccomp_load(prog, NULL) < 0)
		return -20000 - errno;
	/* int $0x80 from 64-bit code enters the i386 ABI: __NR_getpid is
	 * 20 there. r8-r11 are not preserved by that entry on all kernels. */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(20L)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static void check_foreign_abis(const struct enc_seccomp_prog *prog)
{
	const struct {
		const char *name;
		long (*fn)(const void *);
	} abis[] = {
		{ "filter bypass by x32 ABI: getpid (nr | 0x40000000)", x32_getpid },
		{ "filter bypass by i386 ABI: getpid (int $0x80)", i386_getpid },
	};
	char b[64];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(abis); i++) {
		int cst, fst, ust;
		struct result c = in_child(CTX_ROOT, abis[i].fn, NULL, &cst);
		struct result f = in_child(CTX_ROOT, abis[i].fn, prog, &fst);
		struct result u = in_child(CTX_USERNS, abis[i].fn, prog, &ust);

		if (!c.ok && WIFSIGNALED(cst) && WTERMSIG(cst) != SIGSYS && !must_work()) {
			/* e.g. ia32_emulation=0: the instruction faults before
			 * any system call, so there is no filter to test. */
			ok(1, "%s: # SKIP this kernel does not run it at all (signal %d)",
			   abis[i].name, WTERMSIG(cst));
			continue;
		}
		ok(c.ok && WIFEXITED(cst) && WEXITSTATUS(cst) == 0,
		   "%s: control without the filter returns (%s)", abis[i].name,
		   outcome(c.ret, b, sizeof(b)));
		if (!ok(!f.ok && WIFSIGNALED(fst) && WTERMSIG(fst) == SIGSYS,
			"%s: process killed by SIGSYS with the filter", abis[i].name))
			printf("#   status %#x, result %s\n", fst, outcome(f.ret, b, sizeof(b)));
		if (!ok(!u.ok && WIFSIGNALED(ust) && WTERMSIG(ust) == SIGSYS,
			"%s: killed by SIGSYS in a user namespace too", abis[i].name))
			printf("#   status %#x, result %s\n", ust, outcome(u.ret, b, sizeof(b)));
	}
}
#endif

/* ---- BPF simulation ----------------------------------------------------- */

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_ARCH
/* Classic BPF as the kernel runs it for seccomp. Returns the action, or
 * sets *bad on an instruction the interpreter (or seccomp) does not know. */
static uint32_t bpf_run(const struct sock_filter *f, size_t n,
			const struct seccomp_data *d, int *bad)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	size_t pc = 0;

	*bad = 0;
	while (pc < n) {
		const struct sock_filter *i = &f[pc++];
		uint32_t k = i->k;

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k % 4 || k + 4 > sizeof(*d))
				goto fail;
			memcpy(&A, (const char *)d + k, 4);
			break;
		case BPF_LD | BPF_W | BPF_LEN: A = sizeof(*d); break;
		case BPF_LDX | BPF_W | BPF_LEN: X = sizeof(*d); break;
		case BPF_LD | BPF_IMM: A = k; break;
		case BPF_LDX | BPF_IMM: X = k; break;
		case BPF_LD | BPF_MEM: if (k >= BPF_MEMWORDS) goto fail; A = M[k]; break;
		case BPF_LDX | BPF_MEM: if (k >= BPF_MEMWORDS) goto fail; X = M[k]; break;
		case BPF_ST: if (k >= BPF_MEMWORDS) goto fail; M[k] = A; break;
		case BPF_STX: if (k >= BPF_MEMWORDS) goto fail; M[k] = X; break;
		case BPF_MISC | BPF_TAX: X = A; break;
		case BPF_MISC | BPF_TXA: A = X; break;
		case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
		case BPF_ALU | BPF_AND | BPF_X: A &= X; break;
		case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
		case BPF_ALU | BPF_ADD | BPF_K: A += k; break;
		case BPF_ALU | BPF_SUB | BPF_K: A -= k; break;
		case BPF_ALU | BPF_RSH | BPF_K: A >>= (k & 31); break;
		case BPF_ALU | BPF_LSH | BPF_K: A <<= (k & 31); break;
		case BPF_JMP | BPF_JA: pc += k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += A == k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += A > k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += A >= k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (A & k) ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JEQ | BPF_X: pc += A == X ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGT | BPF_X: pc += A > X ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGE | BPF_X: pc += A >= X ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JSET | BPF_X: pc += (A & X) ? i->jt : i->jf; break;
		case BPF_RET | BPF_K: return k;
		case BPF_RET | BPF_A: return A;
		default:
			goto fail;
		}
	}
fail:
	*bad = 1;
	return 0;
}

static uint32_t sim(const struct enc_seccomp_prog *prog, uint32_t arch, long nr,
		    const long a[6])
{
	const struct sock_filter *f;
	size_t n = enc_seccomp_prog_insns(prog, &f);
	struct seccomp_data d = { .nr = (int)nr, .arch = arch };
	int bad;

	for (int i = 0; i < 6; i++)
		d.args[i] = (uint64_t)a[i];
	uint32_t act = bpf_run(f, n, &d, &bad);
	return bad ? 0xdeadbeef : act;
}

static void is_action(uint32_t got, uint32_t want, const char *name)
{
	if (!ok(got == want, "simulated: %s", name))
		printf("#   got action %#x, want %#x\n", got, want);
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t)(e))

static void check_simulation(const struct enc_seccomp_prog *prog)
{
	const long zero[6] = { 0 };
	char name[160];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(probes); i++) {
		const struct probe *p = &probes[i];
		long a[6];

		if (p->nr < 0 || p->want == ALLOW_SAME)
			continue;
		for (int j = 0; j < 6; j++)
			a[j] = p->a[j] == ARG_PTY ? 3 : p->a[j];
		snprintf(name, sizeof(name), "%s", p->name);
		is_action(sim(prog, NATIVE_ARCH, p->nr, a),
			  p->want > 0 ? RET_ERRNO(p->want) : SECCOMP_RET_ALLOW, name);
	}
	/* Argument handling of the conditional rules. */
	is_action(sim(prog, NATIVE_ARCH, SYS_ioctl,
		      (long[6]){ 0, TIOCSTI | (long)0xffffffff00000000UL }),
		  RET_ERRNO(EPERM), "ioctl(TIOCSTI) with all upper bits set");
	is_action(sim(prog, NATIVE_ARCH, SYS_ioctl, (long[6]){ 0, FIONREAD }),
		  SECCOMP_RET_ALLOW, "ioctl(FIONREAD)");
	is_action(sim(prog, NATIVE_ARCH, SYS_clone,
		      (long[6]){ CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD }),
		  RET_ERRNO(EPERM), "clone(CLONE_NEWUSER among other flags)");
	is_action(sim(prog, NATIVE_ARCH, SYS_clone,
		      (long[6]){ CLONE_NEWNS | CLONE_NEWPID | SIGCHLD }),
		  SECCOMP_RET_ALLOW, "clone(other namespaces) left to capabilities");
	is_action(sim(prog, NATIVE_ARCH, SYS_unshare, (long[6]){ CLONE_NEWNET }),
		  SECCOMP_RET_ALLOW, "unshare(CLONE_NEWNET) left to capabilities");
	is_action(sim(prog, NATIVE_ARCH, 1000, zero), SECCOMP_RET_ALLOW,
		  "an unknown system call number is allowed (deny list)");

	/* personality: every single bit alone; allowed only the two
	 * harmless ones (PER_LINUX32, UNAME26). */
	int wrong = 0;
	for (int b = 0; b < 32; b++) {
		uint32_t want = (b == 3 || b == 17) ? SECCOMP_RET_ALLOW : RET_ERRNO(EPERM);
		long v = (long)(1UL << b);

		if (sim(prog, NATIVE_ARCH, SYS_personality, (long[6]){ v }) != want ||
		    sim(prog, NATIVE_ARCH, SYS_personality, (long[6]){ v | HI }) != want) {
			printf("#   personality bit %d wrong\n", b);
			wrong++;
		}
	}
	ok(wrong == 0, "simulated: personality, each of the 32 bits alone and with upper bits");

#if defined(__x86_64__)
	/* i386: the filter never reaches a rule, whatever the number. */
	const long i386_nrs[] = { 20 /* getpid */, 21 /* mount */, 26 /* ptrace */, 0 };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(i386_nrs); i++) {
		snprintf(name, sizeof(name), "i386 system call %ld kills the process", i386_nrs[i]);
		is_action(sim(prog, AUDIT_ARCH_I386, i386_nrs[i], zero),
			  SECCOMP_RET_KILL_PROCESS, name);
	}
	const long x32_nrs[] = { SYS_getpid, SYS_mount, SYS_unshare, SYS_ioctl, SYS_personality };
	for (size_t i = 0; i < ENC_ARRAY_SIZE(x32_nrs); i++) {
		snprintf(name, sizeof(name), "x32 system call %ld | 0x40000000 kills the process",
			 x32_nrs[i]);
		is_action(sim(prog, AUDIT_ARCH_X86_64, 0x40000000L | x32_nrs[i],
			      (long[6]){ CLONE_NEWUSER, TIOCSTI }),
			  SECCOMP_RET_KILL_PROCESS, name);
	}
#endif
}
#endif /* NATIVE_ARCH */

/* ---- API behaviour ------------------------------------------------------ */

static long status_field(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Child: load twice and report NoNewPrivs*100 + Seccomp*10 + filters. */
static long load_twice(const void *v)
{
	const struct enc_seccomp_prog *prog = v;

	if (enc_seccomp_load(prog, NULL) < 0)
		return -20000 - errno;
	long one = status_field("Seccomp_filters");
	if (enc_seccomp_load(prog, NULL) < 0)
		return -20000 - errno;
	return status_field("NoNewPrivs") * 1000 + status_field("Seccomp") * 100 +
	       one * 10 + status_field("Seccomp_filters");
}

/* Child: enc_seccomp_install() then mount. */
static long install_then_mount(const void *v)
{
	struct enc_err e = { 0 };
	(void)v;

	if (enc_seccomp_install(0, &e) < 0)
		return -20000;
	return mount("none", nopath, "tmpfs", 0, NULL) < 0 ? -errno : 0;
}

/* Child: a program the kernel refuses; report the error code and check
 * the message in the child (it cannot be sent back cheaply). */
static long load_invalid(const void *v)
{
	const struct enc_seccomp_prog *bogus = v;
	struct enc_err e = { 0 };
	int r = enc_seccomp_load(bogus, &e);

	if (r < 0 && strstr(e.msg, "seccomp: cannot load the filter: Invalid argument") == NULL)
		return -30000;
	return r;
}

/* Child: time one load, in nanoseconds. */
static long time_load(const void *v)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (enc_seccomp_load(v, NULL) < 0)
		return -20000 - errno;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void check_api(const struct enc_seccomp_prog *prog)
{
	struct enc_seccomp_prog *p2 = NULL, *imp = NULL;
	const struct sock_filter *i1, *i2;
	struct enc_err e = { 0 };
	int st;

	/* Flags: none defined, unknown ones refused. */
	struct enc_seccomp_prog *none = (void *)&e;	/* any non-NULL value */
	is_int(enc_seccomp_build(1, &none, &e), -EINVAL, "build: unknown flag refused");
	is_str(e.msg, "seccomp: unknown flags 0x1", "build: unknown flag message");
	ok(none == NULL, "build: *out is NULL on failure");
	enc_err_clear(&e);
	is_int(enc_seccomp_install(0x80, &e), -EINVAL, "install: unknown flag refused");
	enc_err_clear(&e);

	/* Deterministic. */
	is_int(enc_seccomp_build(0, &p2, &e), 0, "build: second build");
	size_t n1 = enc_seccomp_prog_insns(prog, &i1), n2 = enc_seccomp_prog_insns(p2, &i2);
	ok(n1 == n2 && memcmp(i1, i2, n1 * sizeof(*i1)) == 0,
	   "build: two builds give the same program (%zu instructions)", n1);
	ok(n1 > 60 && n1 < 200, "build: program length plausible (%zu)", n1);
	enc_seccomp_prog_free(p2);

	/* Export / import round trip through a memfd. */
	int fd = memfd_create("test", MFD_CLOEXEC);
	is_int(enc_seccomp_export(prog, fd, &e), 0, "export to a memfd");
	lseek(fd, 0, SEEK_SET);
	is_int(enc_seccomp_import(fd, &imp, &e), 0, "import from the memfd");
	if (imp) {
		size_t n3 = enc_seccomp_prog_insns(imp, &i2);
		ok(n3 == n1 && memcmp(i1, i2, n1 * sizeof(*i1)) == 0,
		   "import: same program back");
	} else {
		ok(0, "import: same program back");
	}
	/* The imported program is loadable and works. */
	if (imp) {
		struct probe_arg pa = { &probes[0], imp };	/* mount */
		struct result r = in_child(CTX_ROOT, probe_child, &pa, &st);
		is_int(r.ret, -EPERM, "imported program denies mount with EPERM");
		enc_seccomp_prog_free(imp);
		imp = NULL;
	}
	/* Truncated: not a whole number of instructions. */
	if (ftruncate(fd, (off_t)(n1 * sizeof(*i1) - 3)) == 0) {
		lseek(fd, 0, SEEK_SET);
		is_int(enc_seccomp_import(fd, &imp, &e), -EINVAL, "import: truncated program refused");
		has_str(e.msg, "not a whole number of 1 to 4096 BPF instructions",
			"import: truncated program message");
		ok(imp == NULL, "import: *out is NULL on failure");
		enc_err_clear(&e);
	}
	if (ftruncate(fd, 0) == 0) {
		lseek(fd, 0, SEEK_SET);
		is_int(enc_seccomp_import(fd, &imp, &e), -EINVAL, "import: empty input refused");
		enc_err_clear(&e);
	}
	/* A program the kernel rejects (one "A = 0", no return) is an error
	 * from load, never a silent no-op. */
	struct sock_filter ld0 = BPF_STMT(BPF_LD | BPF_IMM, 0);
	lseek(fd, 0, SEEK_SET);
	if (write(fd, &ld0, sizeof(ld0)) == sizeof(ld0)) {
		lseek(fd, 0, SEEK_SET);
		is_int(enc_seccomp_import(fd, &imp, &e), 0, "import: one instruction accepted (shape only)");
		if (imp) {
			struct result r = in_child(CTX_ROOT, load_invalid, imp, &st);
			is_int(r.ret, -EINVAL, "load: kernel-rejected program is -EINVAL with message");
			enc_seccomp_prog_free(imp);
		}
	}
	close(fd);

	/* Load sets no_new_privs; filters stack. */
	struct result r = in_child(CTX_ROOT, load_twice, prog, &st);
	is_int(r.ret, 1 * 1000 + 2 * 100 + 1 * 10 + 2,
	       "load: NoNewPrivs 1, Seccomp 2 (filter), 1 then 2 filters");
	r = in_child(CTX_ROOT, install_then_mount, NULL, &st);
	is_int(r.ret, -EPERM, "install: build+load in one call denies mount");
}

/*
 * The program compiled in at build time (seccomp-gen.c) must be, byte for
 * byte, what libseccomp builds now from the rules in seccomp-build.c: a
 * change to the rules, to libseccomp or to the generator that the build
 * did not pick up fails here. Everything above ran on the compiled-in
 * program, which enc_seccomp_build() hands out.
 */
static void check_precompiled(const struct enc_seccomp_prog *prog)
{
	const struct sock_filter *pre = NULL, *dyn = NULL, *built = NULL;
	struct enc_seccomp_prog *d = NULL;
	struct enc_err e = { 0 };
	size_t npre = enc_seccomp_precompiled(&pre);

	if (npre == 0) {
		if (must_work())
			ok(0, "a program is compiled in (ENCLAVE_MUST_WORK=1 forbids a build without one)");
		else
			ok(1, "precompiled: # SKIP no program compiled in (the generator could not run)");
		return;
	}
	ok(pre != NULL, "precompiled: instructions returned");
	is_int(enc_seccomp_build_dynamic(0, &d, &e), 0, "build_dynamic: libseccomp builds the list");
	if (!d)
		return;
	size_t nd = enc_seccomp_prog_insns(d, &dyn);
	is_u64(npre, nd, "precompiled: as many instructions as libseccomp builds now");
	size_t diff = 0;
	while (diff < npre && diff < nd && memcmp(&pre[diff], &dyn[diff], sizeof(*pre)) == 0)
		diff++;
	if (!ok(npre == nd && diff == npre,
		"precompiled: identical, byte for byte, to the program libseccomp builds now"))
		printf("#   first difference at instruction %zu of %zu/%zu\n", diff, npre, nd);
	size_t nb = enc_seccomp_prog_insns(prog, &built);
	ok(nb == npre && memcmp(built, pre, nb * sizeof(*pre)) == 0,
	   "build: hands out the precompiled program");
	enc_seccomp_prog_free(d);

	d = (void *)&e;	/* any non-NULL value */
	is_int(enc_seccomp_build_dynamic(2, &d, &e), -EINVAL, "build_dynamic: unknown flag refused");
	ok(d == NULL, "build_dynamic: *out is NULL on failure");
	enc_err_clear(&e);
	is_int(enc_seccomp_prog_new(pre, 0, &d), -EINVAL, "prog_new: empty program refused");
	is_int(enc_seccomp_prog_new(pre, BPF_MAXINSNS + 1, &d), -EINVAL,
	       "prog_new: more than BPF_MAXINSNS refused");
}

static void report_timing(const struct enc_seccomp_prog *prog)
{
	enum { N = 101 };
	long build[N], load[31];
	struct timespec a, b;
	int st, nl = 0;

	for (int i = 0; i < N; i++) {
		struct enc_seccomp_prog *p = NULL;

		clock_gettime(CLOCK_MONOTONIC, &a);
		int r = enc_seccomp_build(0, &p, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		build[i] = r < 0 ? 0 : (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		enc_seccomp_prog_free(p);
	}
	for (int i = 0; i < 31; i++) {
		struct result r = in_child(CTX_ROOT, time_load, prog, &st);
		if (r.ok && r.ret >= 0)
			load[nl++] = r.ret;
	}
	qsort(build, N, sizeof(long), cmp_long);
	qsort(load, (size_t)nl, sizeof(long), cmp_long);
	printf("# timing: build (the compiled-in program, or libseccomp without one) min %.1f us, median %.1f us, max %.1f us over %d\n",
	       build[0] / 1000.0, build[N / 2] / 1000.0, build[N - 1] / 1000.0, N);
	if (nl)
		printf("# timing: load (no_new_privs + seccomp(2)) median %.1f us, min %.1f us over %d children\n",
		       load[nl / 2] / 1000.0, load[0] / 1000.0, nl);
	ok(nl == 31, "timing measured (diagnostic only)");
}

int main(void)
{
	struct enc_seccomp_prog *prog = NULL;
	struct enc_err e = { 0 };

	if (geteuid() != 0) {
		if (must_work()) {
			ok(0, "seccomp tests need root (ENCLAVE_MUST_WORK=1 forbids skipping)");
			return tap_done();
		}
		printf("1..0 # SKIP needs root (forks children into namespaces)\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = enc_seccomp_build(0, &prog, &e);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!ok(r == 0 && prog, "build the filter"))
		printf("#   %d %s\n", r, e.msg);
	if (!prog)
		return tap_done();
	printf("# timing: first build in this process %.1f us\n",
	       ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec)) / 1000.0);

	check_probes(prog);
#if defined(__x86_64__)
	check_foreign_abis(prog);
#endif
#ifdef NATIVE_ARCH
	check_simulation(prog);
#endif
	check_api(prog);
	check_precompiled(prog);
	report_timing(prog);
	enc_seccomp_prog_free(prog);
	return tap_done();
}
