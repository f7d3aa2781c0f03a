/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-cgroup - lib/cgroup.c against the real kernel. Needs root; without
 * it the whole test is skipped, unless ENCLAVE_MUST_WORK=1 makes the skip
 * a failure. Every cgroup is named test-<pid>-<n> under enclave/ and is
 * removed at exit, as is the enclave/ parent when this test created it.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "tap.h"
#include "cgroup.h"

static struct enc_cgroup_sys sys;
static bool had_parent[ENC_CGROUP_HIER_MAX];
static char names[64][48];
static int nnames;

static bool must_work(void)
{
	const char *mw = getenv("ENCLAVE_MUST_WORK");

	return mw && strcmp(mw, "1") == 0;
}

static const char *new_name(void)
{
	snprintf(names[nnames], sizeof(names[0]), "test-%d-%d", (int)getpid(), nnames);
	return names[nnames++];
}

static const char *cgpath(int h, const char *name, const char *file);
static bool procs_empty(const char *name);

/* Independent of the library under test, so that a broken library cannot
 * leave frozen or live processes behind: thaw, SIGKILL what is listed,
 * then sweep, then rmdir by path. */
static void cleanup(void)
{
	static bool done;

	if (done || sys.nhier == 0)
		return;
	done = true;
	for (int i = 0; i < nnames; i++) {
		for (int h = 0; h < sys.nhier; h++) {
			char buf[4096];
			int fd = open(cgpath(h, names[i], "freezer.state"), O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (write(fd, "THAWED", 6) < 0)
					printf("# thaw %s: %s\n", names[i], strerror(errno));
				close(fd);
			}
			fd = open(cgpath(h, names[i], "cgroup.procs"), O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			if (fd >= 0)
				close(fd);
			buf[n > 0 ? n : 0] = '\0';
			for (char *s = buf, *end; *s; s = end) {
				long pid = strtol(s, &end, 10);
				if (end == s)
					break;
				if (pid > 0)
					kill((pid_t)pid, SIGKILL);
				while (*end == '\n')
					end++;
			}
		}
		/* SIGKILLed tasks take a moment to leave. */
		struct timespec ts = { 0, 1000 * 1000 };
		for (int t = 0; t < 2000 && !procs_empty(names[i]); t++)
			nanosleep(&ts, NULL);
		struct enc_err e = { 0 };
		if (enc_cgroup_sweep_name(&sys, names[i], &e) < 0)
			printf("# cleanup of %s: %s\n", names[i], e.msg);
		for (int h = 0; h < sys.nhier; h++)
			rmdir(cgpath(h, names[i], NULL));
	}
	/* The parent only if this test made it and it is empty (EBUSY:
	 * somebody else's workspace lives there; leave it). */
	for (int i = 0; i < sys.nhier; i++)
		if (!had_parent[i])
			unlinkat(sys.hier[i].mnt_fd, ENC_CGROUP_PARENT, AT_REMOVEDIR);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	enc_cgroup_sys_close(&sys);
}

/* meson's timeout (SIGTERM) or our own alarm: clean up, then fail. */
static void on_fatal(int sig)
{
	printf("not ok %d - killed by signal %d, cleaning up\n", ++tap_n, sig);
	cleanup();
	_exit(1);
}

static char pathbuf[4][512];

/* "<mount>/enclave/<name>/<file>" in hierarchy h (file may be NULL). */
static const char *cgpath(int h, const char *name, const char *file)
{
	static int slot;
	char *p = pathbuf[slot++ % 4];

	snprintf(p, sizeof(pathbuf[0]), "%.255s/%s/%.64s%s%.64s", sys.hier[h].mount, ENC_CGROUP_PARENT,
		 name, file ? "/" : "", file ? file : "");
	return p;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return n < 0 ? NULL : buf;
}

static long long read_ll(const char *path)
{
	const char *s = slurp(path);

	return s ? atoll(s) : -1;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Are all of the cgroup's hierarchies' cgroup.procs empty? */
static bool procs_empty(const char *name)
{
	for (int i = 0; i < sys.nhier; i++) {
		const char *s = slurp(cgpath(i, name, "cgroup.procs"));
		if (s && *s)
			return false;
	}
	return true;
}

static int ctrl_version(enum enc_cgroup_ctrl c)
{
	return sys.ctrl_hier[c] >= 0 ? sys.hier[sys.ctrl_hier[c]].version : 0;
}

/* Which hierarchies a workspace cgroup must be created in (cgroup.h):
 * cgroup2, memory's and pids', cpu's only for a quota, cpuacct's only
 * without cgroup2 (cgroup2's core cpu.stat gives the usage), the v1
 * freezer only without cgroup.kill. On this project's hybrid CI host
 * (v1 cpu, cpuacct, memory, freezer, pids + cgroup2 without controllers)
 * that is 3 of the 6 hierarchies, 4 with a CPU quota: each one left out
 * is a mkdir, a cgroup.procs write, a kill-time read and an rmdir fewer
 * per workspace start. Written from the hierarchies' own controller
 * lists, not from sys.ctrl_hier, so it checks the library's mapping. */
static unsigned expect_used(bool quota, unsigned features)
{
	unsigned m = 0;

	for (int i = 0; i < sys.nhier; i++) {
		unsigned c = sys.hier[i].ctrls;
		bool use = sys.hier[i].version == 2 ||
			   (c & ((1u << ENC_CG_MEMORY) | (1u << ENC_CG_PIDS))) ||
			   (quota && (c & (1u << ENC_CG_CPU))) ||
			   (sys.v2 < 0 && (c & (1u << ENC_CG_CPUACCT))) ||
			   (!(features & ENC_CGROUP_F_KILL) && (c & (1u << ENC_CG_FREEZER)));
		if (use)
			m |= 1u << i;
	}
	return m;
}

static int popcount(unsigned m)
{
	return __builtin_popcount(m);
}

/* A forked child that waits for a byte on a pipe, then runs fn(arg) and
 * _exits with its result. */
struct kid {
	pid_t pid;
	int go;
};

static struct kid spawn(int (*fn)(long), long arg)
{
	int p[2];
	struct kid k = { -1, -1 };

	if (pipe2(p, O_CLOEXEC) < 0)
		return k;
	fflush(stdout);
	k.pid = fork();
	if (k.pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		_exit(fn(arg));
	}
	close(p[0]);
	k.go = p[1];
	return k;
}

static void release(struct kid *k)
{
	if (write(k->go, "g", 1) != 1)
		kill(k->pid, SIGKILL);
	close(k->go);
	k->go = -1;
}

/* waitpid with a 10 s bound, so a broken kill path fails instead of
 * hanging; -1 on timeout. */
static int wait_status(pid_t pid)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int st = -1;

	for (int i = 0; i < 10000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&ts, NULL);
	}
	printf("# pid %d did not exit within 10 s\n", (int)pid);
	return -1;
}

/* Reap every dead child (orphans reparented to us included). */
static void reap_all(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	for (int idle = 0; idle < 10;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0)
			return;
		if (p == 0) {
			idle++;
			nanosleep(&ts, NULL);
		}
	}
}

static int fn_sleep(long arg)
{
	(void)arg;
	pause();
	return 0;
}

/* Burn about arg ms of CPU and touch 8 MiB. */
static int fn_busy(long arg)
{
	struct timespec a, b;
	size_t len = 8u << 20;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile unsigned long x = 0;

	if (m == MAP_FAILED)
		return 2;
	memset(m, 1, len);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < arg);
	return 0;
}

/* Fork until refused; children sleep. Reports "forks errno" on fd arg. */
static int fn_forkloop(long fd)
{
	int n = 0, e = 0;
	char msg[32];

	for (int i = 0; i < 32; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			e = errno;
			break;
		}
		n++;
	}
	int len = snprintf(msg, sizeof(msg), "%d %d", n, e);
	if (write((int)fd, msg, (size_t)len) != len)
		return 3;
	pause();
	return 0;
}

/* Touch memory 1 MiB at a time until killed. */
static int fn_balloon(long mib)
{
	for (long i = 0; i < mib; i++) {
		char *m = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 2;
		memset(m, 0x5a, 1u << 20);
	}
	return 0;
}

/* ---- tests */

static void test_probe(void)
{
	struct enc_err e = { 0 };
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *me;
	char v2mnt[256] = "", memmnt[256] = "", pidsmnt[256] = "", cpumnt[256] = "";
	char acctmnt[256] = "";
	bool v1 = false;

	/* The expectation comes from a different parser (getmntent). */
	while (f && (me = getmntent(f))) {
		if (strcmp(me->mnt_type, "cgroup2") == 0 && !*v2mnt)
			snprintf(v2mnt, sizeof(v2mnt), "%s", me->mnt_dir);
		if (strcmp(me->mnt_type, "cgroup") != 0)
			continue;
		if (hasmntopt(me, "memory") && !*memmnt)
			snprintf(memmnt, sizeof(memmnt), "%s", me->mnt_dir), v1 = true;
		if (hasmntopt(me, "pids") && !*pidsmnt)
			snprintf(pidsmnt, sizeof(pidsmnt), "%s", me->mnt_dir), v1 = true;
		if (hasmntopt(me, "cpu") && !*cpumnt)
			snprintf(cpumnt, sizeof(cpumnt), "%s", me->mnt_dir), v1 = true;
		if (hasmntopt(me, "cpuacct") && !*acctmnt)
			snprintf(acctmnt, sizeof(acctmnt), "%s", me->mnt_dir), v1 = true;
	}
	if (f)
		endmntent(f);

	int r = enc_cgroup_probe(&sys, &e);
	is_int(r, 0, "probe succeeds");
	if (r < 0) {
		printf("# %s\n", e.msg);
		return;
	}
	for (int i = 0; i < sys.nhier; i++)
		had_parent[i] = faccessat(sys.hier[i].mnt_fd, ENC_CGROUP_PARENT, F_OK, 0) == 0;

	enum enc_cgroup_mode want = *v2mnt ? (v1 ? ENC_CGROUP_MODE_HYBRID : ENC_CGROUP_MODE_UNIFIED)
					   : ENC_CGROUP_MODE_LEGACY;
	is_str(enc_cgroup_mode_str(sys.mode), enc_cgroup_mode_str(want), "probe reports the mode the mount table shows");
	printf("# mode %s, %d hierarchies, features 0x%x\n", enc_cgroup_mode_str(sys.mode),
	       sys.nhier, sys.features);
	for (int i = 0; i < sys.nhier; i++)
		printf("#   v%d %s ctrls 0x%x\n", sys.hier[i].version, sys.hier[i].mount,
		       sys.hier[i].ctrls);
	if (*v2mnt)
		is_str(sys.v2 >= 0 ? sys.hier[sys.v2].mount : "", v2mnt, "cgroup2 mount point");
	else
		is_int(sys.v2, -1, "no cgroup2 hierarchy");
	ok(sys.features & ENC_CGROUP_F_CLONE_INTO ? sys.v2 >= 0 : sys.v2 < 0,
	   "CLONE_INTO_CGROUP is offered exactly when there is cgroup2");

	if (sys.mode == ENC_CGROUP_MODE_HYBRID || sys.mode == ENC_CGROUP_MODE_LEGACY) {
		is_int(ctrl_version(ENC_CG_MEMORY), 1, "memory is a v1 hierarchy");
		is_str(sys.hier[sys.ctrl_hier[ENC_CG_MEMORY]].mount, memmnt, "v1 memory mount point");
		is_int(ctrl_version(ENC_CG_PIDS), 1, "pids is a v1 hierarchy");
		is_str(sys.hier[sys.ctrl_hier[ENC_CG_PIDS]].mount, pidsmnt, "v1 pids mount point");
		is_int(ctrl_version(ENC_CG_CPU), 1, "cpu is a v1 hierarchy");
		is_str(sys.hier[sys.ctrl_hier[ENC_CG_CPU]].mount, cpumnt, "v1 cpu mount point");
		if (*v2mnt)
			is_str(sys.hier[sys.ctrl_hier[ENC_CG_CPUACCT]].mount, v2mnt,
			       "CPU usage from cgroup2's cpu.stat, not the v1 cpuacct hierarchy");
		else
			is_str(sys.hier[sys.ctrl_hier[ENC_CG_CPUACCT]].mount, acctmnt, "v1 cpuacct mount point");
		ok(sys.features & ENC_CGROUP_F_FREEZER, "v1 freezer found");
		is_int(!!(sys.features & ENC_CGROUP_F_MEMORY_SWAP),
		       faccessat(sys.hier[sys.ctrl_hier[ENC_CG_MEMORY]].mnt_fd,
				 "memory.memsw.limit_in_bytes", F_OK, 0) == 0,
		       "swap limit offered exactly when memsw exists");
	} else {
		is_int(ctrl_version(ENC_CG_MEMORY), 2, "memory is cgroup2");
		is_int(ctrl_version(ENC_CG_PIDS), 2, "pids is cgroup2");
	}
	ok((sys.features & (ENC_CGROUP_F_MEMORY | ENC_CGROUP_F_PIDS | ENC_CGROUP_F_CPU |
			    ENC_CGROUP_F_CPU_STAT | ENC_CGROUP_F_MEMORY_PEAK)) ==
		   (ENC_CGROUP_F_MEMORY | ENC_CGROUP_F_PIDS | ENC_CGROUP_F_CPU |
		    ENC_CGROUP_F_CPU_STAT | ENC_CGROUP_F_MEMORY_PEAK),
	   "memory, peak, pids, cpu quota and cpu usage are all available");
	ok(sys.features & (ENC_CGROUP_F_KILL | ENC_CGROUP_F_FREEZER), "a kill mechanism exists");
	if (sys.mode == ENC_CGROUP_MODE_HYBRID && (sys.features & ENC_CGROUP_F_KILL) &&
	    sys.ctrl_hier[ENC_CG_MEMORY] != sys.ctrl_hier[ENC_CG_PIDS]) {
		/* memory and pids in separate v1 hierarchies, as on the CI host */
		is_int(popcount(expect_used(false, sys.features)), 3,
		       "hybrid: a workspace uses 3 hierarchies (cgroup2, memory, pids)");
		is_int(popcount(expect_used(true, sys.features)),
		       3 + (sys.ctrl_hier[ENC_CG_CPU] != sys.ctrl_hier[ENC_CG_MEMORY] &&
			    sys.ctrl_hier[ENC_CG_CPU] != sys.ctrl_hier[ENC_CG_PIDS]),
		       "hybrid: and the cpu one for a quota");
	}
	for (int i = 0; i < sys.nhier; i++)
		ok(sys.hier[i].mnt_fd >= 0 && (fcntl(sys.hier[i].mnt_fd, F_GETFD) & FD_CLOEXEC),
		   "hierarchy %d fd is close-on-exec", i);
}

static void test_names_and_errors(void)
{
	struct enc_cgroup cg;
	struct enc_err e = { 0 };
	const char *bad[] = { "a/b", "..", ".", "", "../x" };
	struct enc_cgroup_limits lim = { 0 };

	for (size_t i = 0; i < ENC_ARRAY_SIZE(bad); i++) {
		enc_err_clear(&e);
		is_int(enc_cgroup_create(&sys, bad[i], NULL, &cg, &e), -EINVAL, "bad name refused");
		has_str(e.msg, "invalid cgroup name", "bad name message");
	}
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(enc_cgroup_create(&sys, longname, NULL, &cg, NULL), -EINVAL, "over-long name refused");

	const char *n = new_name();
	lim.cpu_quota_us = 500;
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&sys, n, &lim, &cg, &e), -EINVAL, "quota below 1 ms refused");
	has_str(e.msg, "below the kernel's minimum of 1000", "quota message");
	lim.cpu_quota_us = 50000;
	lim.cpu_period_us = 2000000;
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&sys, n, &lim, &cg, &e), -EINVAL, "period above 1 s refused");
	has_str(e.msg, "outside 1000..1000000", "period message");

	/* A limit the host cannot enforce is an error naming it. */
	struct enc_cgroup_sys weak = sys;
	memset(&lim, 0, sizeof(lim));
	lim.memory_max = 32 << 20;
	weak.features &= ~ENC_CGROUP_F_MEMORY;
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&weak, n, &lim, &cg, &e), -EOPNOTSUPP, "memory limit without memory controller");
	has_str(e.msg, "no memory controller is available", "memory message");
	weak = sys;
	weak.features &= ~ENC_CGROUP_F_MEMORY_SWAP;
	lim.limit_swap = true;
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&weak, n, &lim, &cg, &e), -EOPNOTSUPP, "swap limit without swap accounting");
	has_str(e.msg, ctrl_version(ENC_CG_MEMORY) == 1 ? "memory.memsw.limit_in_bytes is missing"
							: "memory.swap.max is missing",
		"swap message names the missing file");
	weak = sys;
	weak.features &= ~ENC_CGROUP_F_PIDS;
	memset(&lim, 0, sizeof(lim));
	lim.pids_max = 10;
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&weak, n, &lim, &cg, &e), -EOPNOTSUPP, "pids limit without pids controller");
	has_str(e.msg, "no pids controller", "pids message");
	if (ctrl_version(ENC_CG_MEMORY) == 1) {
		memset(&lim, 0, sizeof(lim));
		lim.limit_swap = true;
		enc_err_clear(&e);
		is_int(enc_cgroup_create(&sys, n, &lim, &cg, &e), -EINVAL, "v1 swap limit needs a memory limit");
		has_str(e.msg, "needs a memory limit on cgroup v1", "memsw message");
	}
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "nothing left in hierarchy %d after refused creates", i);
}

static void test_create_limits(void)
{
	struct enc_cgroup cg, cg2;
	struct enc_err e = { 0 };
	const char *n = new_name();
	struct enc_cgroup_limits lim = {
		.memory_max = 64 << 20,
		.limit_swap = (sys.features & ENC_CGROUP_F_MEMORY_SWAP) != 0,
		.swap_max = 16 << 20,
		.cpu_quota_us = 50000,
		.cpu_period_us = 100000,
		.pids_max = 100,
	};
	int m = sys.ctrl_hier[ENC_CG_MEMORY], p = sys.ctrl_hier[ENC_CG_PIDS];
	int c = sys.ctrl_hier[ENC_CG_CPU];

	int r = enc_cgroup_create(&sys, n, &lim, &cg, &e);
	is_int(r, 0, "create with limits");
	if (r < 0) {
		printf("# %s\n", e.msg);
		return;
	}
	unsigned used = expect_used(true, sys.features);
	for (int i = 0; i < sys.nhier; i++) {
		if (!(used & (1u << i))) {
			ok(!exists(cgpath(i, n, NULL)), "not created in %s (not needed)", sys.hier[i].mount);
			ok(cg.dir_fd[i] == -1, "no dir fd for unused %s", sys.hier[i].mount);
			continue;
		}
		ok(exists(cgpath(i, n, "cgroup.procs")), "created in %s", sys.hier[i].mount);
		ok(fcntl(cg.dir_fd[i], F_GETFD) & FD_CLOEXEC, "dir fd %d is close-on-exec", i);
	}
	if (ctrl_version(ENC_CG_MEMORY) == 1) {
		is_int(read_ll(cgpath(m, n, "memory.limit_in_bytes")), 64 << 20, "memory.limit_in_bytes");
		if (lim.limit_swap)
			is_int(read_ll(cgpath(m, n, "memory.memsw.limit_in_bytes")), 80 << 20,
			       "memory.memsw.limit_in_bytes = memory + swap");
		is_int(read_ll(cgpath(c, n, "cpu.cfs_quota_us")), 50000, "cpu.cfs_quota_us");
		is_int(read_ll(cgpath(c, n, "cpu.cfs_period_us")), 100000, "cpu.cfs_period_us");
	} else {
		is_int(read_ll(cgpath(m, n, "memory.max")), 64 << 20, "memory.max");
		if (lim.limit_swap)
			is_int(read_ll(cgpath(m, n, "memory.swap.max")), 16 << 20, "memory.swap.max");
		is_str(slurp(cgpath(m, n, "memory.oom.group")), "1", "memory.oom.group");
		is_str(slurp(cgpath(c, n, "cpu.max")), "50000 100000", "cpu.max");
	}
	is_int(read_ll(cgpath(p, n, "pids.max")), 100, "pids.max");

	enc_err_clear(&e);
	is_int(enc_cgroup_create(&sys, n, &lim, &cg2, &e), -EEXIST, "second create of the same name");
	has_str(e.msg, "already exists", "EEXIST message");
	ok(exists(cgpath(sys.ctrl_hier[ENC_CG_MEMORY], n, NULL)),
	   "failed second create left the first alone");

	/* Open by name from "another process" and read stats. */
	struct enc_cgroup_stats st;
	is_int(enc_cgroup_open(&sys, n, &cg2, NULL), 0, "open existing by name");
	is_int(enc_cgroup_stats(&cg2, &st, NULL), 0, "stats of an empty cgroup");
	is_u64(st.pids_current, 0, "no pids in a new cgroup");
	enc_cgroup_close(&cg2);

	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy");
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "removed from %s", sys.hier[i].mount);
	is_int(enc_cgroup_destroy(&cg, NULL), 0, "destroy again is a no-op");
	is_int(enc_cgroup_open(&sys, n, &cg2, NULL), -ENOENT, "open of a removed cgroup");
	is_int(enc_cgroup_sweep_name(&sys, n, NULL), 0, "sweep of a missing cgroup");
}

static void test_attach_stats(void)
{
	struct enc_cgroup cg;
	struct enc_cgroup_stats st;
	struct enc_err e = { 0 };
	const char *n = new_name();
	char want[128], path[64];

	if (enc_cgroup_create(&sys, n, NULL, &cg, &e) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	is_int(enc_cgroup_needs_attach(&cg), sys.mode != ENC_CGROUP_MODE_UNIFIED,
	       "needs_attach exactly when v1 hierarchies are used");
	struct kid k = spawn(fn_busy, 150);
	is_int(enc_cgroup_attach(&cg, k.pid, &e), 0, "attach a forked child");
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)k.pid);
	const char *pc = slurp(path);
	snprintf(want, sizeof(want), ":/%s/%s", ENC_CGROUP_PARENT, n);
	int hits = 0;
	for (const char *s = pc; s && (s = strstr(s, want)); s += strlen(want))
		hits++;
	is_int(hits, popcount(expect_used(false, sys.features)),
	       "/proc/PID/cgroup shows the cgroup in every hierarchy used");
	if (sys.mode == ENC_CGROUP_MODE_HYBRID && (sys.features & ENC_CGROUP_F_KILL)) {
		snprintf(want, sizeof(want), ":freezer:/%s/%s", ENC_CGROUP_PARENT, n);
		ok(!strstr(pc, want), "no v1 freezer cgroup where cgroup.kill exists");
		snprintf(want, sizeof(want), ":cpuacct:/%s/%s", ENC_CGROUP_PARENT, n);
		ok(!strstr(pc, want), "no v1 cpuacct cgroup where cgroup2 has cpu.stat");
	}
	if (sys.mode == ENC_CGROUP_MODE_HYBRID) {
		snprintf(want, sizeof(want), ":memory:/%s/%s", ENC_CGROUP_PARENT, n);
		has_str(pc, want, "v1 memory membership");
		snprintf(want, sizeof(want), ":pids:/%s/%s", ENC_CGROUP_PARENT, n);
		has_str(pc, want, "v1 pids membership");
		snprintf(want, sizeof(want), "0::/%s/%s", ENC_CGROUP_PARENT, n);
		has_str(pc, want, "cgroup2 membership");
	}
	is_int(enc_cgroup_stats(&cg, &st, NULL), 0, "stats while running");
	is_u64(st.pids_current, 1, "pids.current is 1");
	release(&k);
	int ws = wait_status(k.pid);
	ok(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "busy child exited 0");
	is_int(enc_cgroup_stats(&cg, &st, &e), 0, "stats after the busy loop");
	is_int(st.valid, ENC_CGROUP_ST_MEMORY | ENC_CGROUP_ST_MEMORY_PEAK | ENC_CGROUP_ST_CPU |
			 ENC_CGROUP_ST_PIDS, "every stat is valid");
	ok(st.memory_peak >= (4u << 20), "memory peak %" PRIu64 " >= 4 MiB after touching 8 MiB",
	   st.memory_peak);
	ok(st.cpu_usage_usec >= 100000, "cpu usage %" PRIu64 " us >= 100 ms after 150 ms busy",
	   st.cpu_usage_usec);
	is_u64(st.pids_current, 0, "pids.current back to 0");
	is_int(enc_cgroup_kill(&cg, NULL), 0, "kill of an empty cgroup");
	is_int(enc_cgroup_destroy(&cg, NULL), 0, "destroy");
}

/* Self-placement through the v1 "tasks" files (enc_cgroup_join): the
 * child joins from a user namespace of its own (the kernel checks the
 * opener's credentials), ends up in exactly the hierarchies used, and,
 * unlike a cgroup.procs write for it, takes no global lock: the times of
 * both after an idle gap are printed (an RCU grace period, ~10 ms, is what
 * the cgroup.procs write waits for then). */
static int join_fds[ENC_CGROUP_HIER_MAX];
static int njoin;

static int fn_join(long arg)
{
	int rep = (int)arg, bad = -1;
	char c = 'j';

	if (unshare(CLONE_NEWUSER) < 0)
		c = 'u';	/* joined without the user namespace */
	int r = enc_cgroup_join(join_fds, njoin, &bad);
	if (r < 0)
		c = (char)('0' + (bad >= 0 && bad < 9 ? bad : 9));
	if (write(rep, &c, 1) != 1)
		return 1;
	pause();
	return 0;
}

static long us_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000000 + (b.tv_nsec - a->tv_nsec) / 1000;
}

static void test_join(void)
{
	struct enc_cgroup cg;
	struct enc_err e = { 0 };
	const char *n = new_name();
	struct timespec gap = { 0, 60 * 1000 * 1000 }, t;
	int rep[2];
	char c = 0, want[128], path[64];

	if (enc_cgroup_create(&sys, n, NULL, &cg, &e) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	int v1 = 0;
	for (int i = 0; i < sys.nhier; i++)
		v1 += cg.dir_fd[i] >= 0 && cg.version[i] == 1;
	njoin = enc_cgroup_join_open(&cg, join_fds, &e);
	is_int(njoin, v1, "join_open: one tasks fd per v1 hierarchy used");
	for (int i = 0; i < njoin; i++)
		ok(fcntl(join_fds[i], F_GETFD) & FD_CLOEXEC, "tasks fd %d is close-on-exec", i);
	struct kid k = spawn(fn_join, rep[1]);
	close(rep[1]);
	nanosleep(&gap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t);
	release(&k);
	ok(read(rep[0], &c, 1) == 1, "child reported");
	long join_us = us_since(&t);
	close(rep[0]);
	ok(c == 'j' || c == 'u', "child joined (%c: j = from its own user namespace)", c);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)k.pid);
	const char *pc = slurp(path);
	snprintf(want, sizeof(want), ":/%s/%s", ENC_CGROUP_PARENT, n);
	int hits = 0;
	for (const char *s2 = pc; s2 && (s2 = strstr(s2, want)); s2 += strlen(want))
		hits++;
	is_int(hits, v1, "the child is in every v1 hierarchy used (not yet in cgroup2: clone3 does that)");
	enc_cgroup_join_close(join_fds, njoin);
	for (int i = 0; i < njoin; i++)
		is_int(join_fds[i], -1, "join_close resets the fd");
	kill(k.pid, SIGKILL);
	wait_status(k.pid);

	/* The same placement by cgroup.procs, after the same idle gap. */
	struct kid k2 = spawn(fn_sleep, 0);
	nanosleep(&gap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t);
	is_int(enc_cgroup_attach(&cg, k2.pid, &e), 0, "attach by cgroup.procs");
	long attach_us = us_since(&t);
	printf("# placement after a 60 ms idle gap: join (self, tasks) %ld us incl. wakeup; attach (cgroup.procs) %ld us\n",
	       join_us, attach_us);
	release(&k2);
	kill(k2.pid, SIGKILL);
	wait_status(k2.pid);
	is_int(enc_cgroup_kill(&cg, NULL), 0, "kill");
	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy");
	ok(!exists(cgpath(sys.ctrl_hier[ENC_CG_MEMORY], n, NULL)), "gone");
}

static void test_pids(void)
{
	struct enc_cgroup cg;
	struct enc_cgroup_events ev;
	struct enc_err e = { 0 };
	struct enc_cgroup_limits lim = { .pids_max = 8 };
	const char *n = new_name();
	int rep[2];
	char buf[32] = "";

	if (enc_cgroup_create(&sys, n, &lim, &cg, &e) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	int efd = enc_cgroup_event_fd(&cg, &e);
	ok(efd >= 0, "event fd (%s)", e.msg);
	struct kid k = spawn(fn_forkloop, rep[1]);
	close(rep[1]);
	is_int(enc_cgroup_attach(&cg, k.pid, &e), 0, "attach fork loop");
	/* Reading the events re-arms the watches: nothing pending after. */
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events before the fork loop");
	is_u64(ev.pids_max, 0, "no pids.max hit yet");
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	is_int(poll(&pfd, 1, 0), 0, "event fd quiet after reading the events");
	release(&k);
	ssize_t got = read(rep[0], buf, sizeof(buf) - 1);
	close(rep[0]);
	buf[got > 0 ? got : 0] = '\0';
	char want[32];
	snprintf(want, sizeof(want), "7 %d", EAGAIN);
	is_str(buf, want, "7 forks succeed beside the child, the 8th fails with EAGAIN");
	if (ctrl_version(ENC_CG_PIDS) == 2) {
		/* Only pids.events changed since the drain. */
		is_int(poll(&pfd, 1, 1000), 1, "event fd became readable on the pids.max hit");
		struct pollfd pp = { .fd = cg.ev_fd[2], .events = POLLPRI };
		ok(poll(&pp, 1, 0) == 1 && (pp.revents & POLLPRI), "pids.events signalled POLLPRI");
	} else {
		is_int(cg.ev_fd[2], -1, "v1 pids.events (never notified by the kernel) not watched");
	}
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events");
	ok(ev.valid & ENC_CGROUP_EV_PIDS, "pids events valid");
	is_u64(ev.pids_max, 1, "pids.events max counts the refused fork");
	is_u64(ev.oom_kill, 0, "no oom kill");

	is_int(enc_cgroup_kill(&cg, &e), 0, "kill the fork loop (zombies unreaped)");
	ok(procs_empty(n), "cgroup.procs empty in every hierarchy after kill");
	int ws = wait_status(k.pid);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "fork loop died of SIGKILL");
	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy after kill");
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "gone from %s", sys.hier[i].mount);
}

static void test_oom(void)
{
	struct enc_cgroup cg;
	struct enc_cgroup_events ev;
	struct enc_err e = { 0 };
	struct enc_cgroup_limits lim = { .memory_max = 32 << 20, .limit_swap = true };
	const char *n = new_name();

	if (!(sys.features & ENC_CGROUP_F_MEMORY_SWAP)) {
		is_int(enc_cgroup_create(&sys, n, &lim, &cg, &e), -EOPNOTSUPP,
		       "swap limit refused without swap accounting");
		has_str(e.msg, "swap", "the error names swap");
		lim.limit_swap = false;
		enc_err_clear(&e);
	}
	if (enc_cgroup_create(&sys, n, &lim, &cg, &e) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	int efd = enc_cgroup_event_fd(&cg, &e);
	ok(efd >= 0, "event fd (%s)", e.msg);
	struct kid k = spawn(fn_balloon, 512);
	is_int(enc_cgroup_attach(&cg, k.pid, &e), 0, "attach balloon");
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events before the balloon");
	is_u64(ev.oom_kill, 0, "no oom kill yet");
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	is_int(poll(&pfd, 1, 0), 0, "event fd quiet");
	release(&k);
	int ws = wait_status(k.pid);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "balloon died of SIGKILL (status 0x%x)", ws);
	is_int(poll(&pfd, 1, 1000), 1, "event fd readable after the OOM kill");
	if (ctrl_version(ENC_CG_MEMORY) == 1) {
		uint64_t cnt = 0;
		ok(cg.oom_efd >= 0 && read(cg.oom_efd, &cnt, sizeof(cnt)) == sizeof(cnt) && cnt >= 1,
		   "v1 memory.oom_control eventfd signalled (%" PRIu64 ")", cnt);
	} else {
		struct pollfd pp = { .fd = cg.ev_fd[1], .events = POLLPRI };
		ok(poll(&pp, 1, 0) == 1 && (pp.revents & POLLPRI), "memory.events signalled POLLPRI");
	}
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events");
	is_u64(ev.oom_kill, 1, "oom_kill == 1");
	ok(ev.oom >= 1, "oom >= 1");
	is_u64(ev.pids_max, 0, "no pids max hit");
	struct enc_cgroup_stats st;
	is_int(enc_cgroup_stats(&cg, &st, NULL), 0, "stats after oom");
	ok(st.memory_peak >= (24u << 20) && st.memory_peak <= (33u << 20),
	   "memory peak %" PRIu64 " near the 32 MiB limit", st.memory_peak);
	is_int(enc_cgroup_kill(&cg, NULL), 0, "kill");
	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy");
}

/* The kill paths: cgroup.kill, the v1 freezer loop, the bare signal loop. */
static void test_kill_paths(void)
{
	static const struct {
		const char *what;
		unsigned clear;
	} paths[] = {
		{ "default (cgroup.kill where present)", 0 },
		{ "freezer + SIGKILL loop", ENC_CGROUP_F_KILL },
		{ "plain SIGKILL loop", ENC_CGROUP_F_KILL | ENC_CGROUP_F_FREEZER },
	};

	for (size_t pi = 0; pi < ENC_ARRAY_SIZE(paths); pi++) {
		struct enc_cgroup cg;
		struct enc_err e = { 0 };
		const char *n = new_name();
		struct kid k[3];
		int rep[2];
		char buf[32];

		if (pi == 1 && !(sys.features & ENC_CGROUP_F_FREEZER))
			continue;
		/* Without cgroup.kill the v1 freezer hierarchy is used too:
		 * create as a host without it would. */
		unsigned saved = sys.features;
		sys.features &= ~(paths[pi].clear & ENC_CGROUP_F_KILL);
		int cr = enc_cgroup_create(&sys, n, NULL, &cg, &e);
		sys.features = saved;
		if (cr < 0 || pipe2(rep, O_CLOEXEC) < 0) {
			ok(0, "create: %s", e.msg);
			continue;
		}
		if (pi > 0 && (sys.features & ENC_CGROUP_F_FREEZER))
			ok(cg.dir_fd[sys.ctrl_hier[ENC_CG_FREEZER]] >= 0,
			   "%s: freezer cgroup made when cgroup.kill is not used", paths[pi].what);
		cg.features &= ~paths[pi].clear;
		for (int i = 0; i < 3; i++) {
			k[i] = spawn(i == 2 ? fn_forkloop : fn_sleep, rep[1]);
			enc_cgroup_attach(&cg, k[i].pid, NULL);
			release(&k[i]);
		}
		close(rep[1]);
		ok(read(rep[0], buf, sizeof(buf)) > 0, "%s: forker ran", paths[pi].what);
		close(rep[0]);
		ok(!procs_empty(n), "%s: populated before kill", paths[pi].what);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		is_int(enc_cgroup_kill(&cg, &e), 0, paths[pi].what);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("# kill via %s: %ld us\n", paths[pi].what,
		       (long)((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000));
		ok(procs_empty(n), "%s: empty after kill", paths[pi].what);
		if (pi == 1) {
			int fz = sys.ctrl_hier[ENC_CG_FREEZER];
			is_str(slurp(cgpath(fz, n, "freezer.state")), "THAWED", "freezer thawed again");
		}
		for (int i = 0; i < 3; i++) {
			int ws = wait_status(k[i].pid);
			ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "%s: child %d SIGKILLed",
			   paths[pi].what, i);
		}
		is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy");
	}
}

static int fn_check_cgroup(long arg)
{
	/* Raw clone3 child: only plain syscalls here. */
	const char *want = (const char *)arg;
	char buf[1024];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n < 0)
		return 2;
	buf[n] = '\0';
	if (!strstr(buf, want))
		return 1;
	pause();
	return 0;
}

static pid_t clone_into(int cgfd, int (*fn)(long), long arg)
{
	struct clone_args ca = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};

	fflush(stdout);
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(fn(arg));
	return (pid_t)pid;
}

/* What of cgroup v2 can run here: clone3(CLONE_INTO_CGROUP), cgroup.kill,
 * cgroup.events and cpu.stat, against the cgroup2 hierarchy alone. */
static void test_v2_core(void)
{
	struct enc_cgroup_sys v2 = sys;
	struct enc_cgroup cg;
	struct enc_cgroup_events ev;
	struct enc_cgroup_stats st;
	struct enc_err e = { 0 };
	const char *n = new_name();
	char want[128];

	unsigned want_valid = ENC_CGROUP_ST_MEMORY | ENC_CGROUP_ST_MEMORY_PEAK |
			      ENC_CGROUP_ST_CPU | ENC_CGROUP_ST_PIDS;

	if (sys.v2 < 0) {
		if (must_work())
			ok(0, "no cgroup2 hierarchy (ENCLAVE_MUST_WORK=1)");
		else
			printf("ok %d - no cgroup2 hierarchy # SKIP\n", ++tap_n);
		return;
	}
	if (sys.mode != ENC_CGROUP_MODE_UNIFIED) {
		/* A view of the system restricted to cgroup2 as a hybrid
		 * host has it (no controllers), sharing sys's fds. */
		v2.nhier = 1;
		v2.hier[0] = sys.hier[sys.v2];
		v2.v2 = 0;
		for (int c = 0; c < ENC_CG_NCTRL; c++)
			v2.ctrl_hier[c] = -1;
		v2.ctrl_hier[ENC_CG_CPUACCT] = 0;
		v2.features = ENC_CGROUP_F_CLONE_INTO | ENC_CGROUP_F_CPU_STAT |
			      (sys.features & ENC_CGROUP_F_KILL);
		want_valid = ENC_CGROUP_ST_CPU;
	}
	if (!(v2.features & ENC_CGROUP_F_MEMORY)) {
		struct enc_cgroup_limits lim = { .memory_max = 1 << 30 };
		is_int(enc_cgroup_create(&v2, n, &lim, &cg, &e), -EOPNOTSUPP,
		       "cgroup2 without memory controller: memory limit refused");
		has_str(e.msg, "no memory controller", "message");
		enc_err_clear(&e);
	}
	int r = enc_cgroup_create(&v2, n, NULL, &cg, &e);
	sys.hier[sys.v2].parent_fd = v2.hier[0].parent_fd;	/* adopt the cached fd */
	is_int(r, 0, "create in cgroup2 only");
	if (r < 0) {
		printf("# %s\n", e.msg);
		return;
	}
	ok(enc_cgroup_fd(&cg) >= 0, "enc_cgroup_fd");
	is_int(enc_cgroup_needs_attach(&cg), 0, "no attach needed with cgroup2 only");
	ok(cg.features & ENC_CGROUP_F_KILL, "cgroup.kill found in the new cgroup");
	snprintf(want, sizeof(want), "0::/%s/%s\n", ENC_CGROUP_PARENT, n);
	pid_t pid = clone_into(enc_cgroup_fd(&cg), fn_check_cgroup, (long)want);
	ok(pid > 0, "clone3(CLONE_INTO_CGROUP)");
	if (pid <= 0)
		printf("# clone3: %s\n", strerror(errno));
	char pidstr[32];
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	is_str(slurp(cgpath(sys.v2, n, "cgroup.procs")), pidstr, "child born in the cgroup");
	int efd = enc_cgroup_event_fd(&cg, &e);
	ok(efd >= 0, "event fd on cgroup.events");
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events");
	ok((ev.valid & ENC_CGROUP_EV_POPULATED) && ev.populated, "populated while running");
	is_int(enc_cgroup_kill(&cg, &e), 0, "cgroup.kill");
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	is_int(poll(&pfd, 1, 1000), 1, "event fd readable on the populated change");
	is_int(enc_cgroup_events(&cg, &ev, &e), 0, "events after kill");
	ok(!ev.populated, "not populated after kill");
	int ws = wait_status(pid);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "clone3 child was in the cgroup (0x%x)", ws);
	is_int(enc_cgroup_stats(&cg, &st, &e), 0, "stats from cgroup2 core files");
	is_int(st.valid, want_valid, "stats valid (only cpu.stat without controllers)");
	ok(st.cpu_usage_usec > 0, "cpu usage from cpu.stat usage_usec: %" PRIu64, st.cpu_usage_usec);
	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy");
	ok(!exists(cgpath(sys.v2, n, NULL)), "gone");
}

/* Leftovers in some hierarchies only, destroy of a busy cgroup, the
 * delegation hook's refusal on a non-unified host. */
static void test_partial_busy(void)
{
	struct enc_cgroup cg;
	struct enc_err e = { 0 };
	const char *n = new_name();
	int first = -1, last = -1;

	if (enc_cgroup_create(&sys, n, NULL, &cg, &e) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	for (int i = 0; i < sys.nhier; i++)
		if (cg.dir_fd[i] >= 0) {
			if (first < 0)
				first = i;
			last = i;
		}
	enc_cgroup_close(&cg);
	ok(first >= 0 && first != last, "created in at least two hierarchies");
	if (first < 0 || first == last)
		return;
	ok(rmdir(cgpath(first, n, NULL)) == 0, "remove it by hand from %s", sys.hier[first].mount);
	is_int(enc_cgroup_open(&sys, n, &cg, NULL), 0, "open a partial leftover");
	is_int(cg.dir_fd[first], -1, "absent hierarchy left absent");
	enc_cgroup_close(&cg);
	enc_err_clear(&e);
	is_int(enc_cgroup_create(&sys, n, NULL, &cg, &e), -EEXIST, "create over a partial leftover");
	ok(!exists(cgpath(first, n, NULL)), "failed create removed what it made");
	ok(exists(cgpath(last, n, NULL)), "and left the leftover for the sweep");
	is_int(enc_cgroup_sweep_name(&sys, n, NULL), 0, "sweep the partial leftover");
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "swept from %s", sys.hier[i].mount);

	/* Destroy without kill: refused after the retry period, handle kept. */
	n = new_name();
	if (enc_cgroup_create(&sys, n, NULL, &cg, &e) < 0) {
		ok(0, "create: %s", e.msg);
		return;
	}
	struct kid k = spawn(fn_sleep, 0);
	enc_cgroup_attach(&cg, k.pid, NULL);
	release(&k);
	enc_err_clear(&e);
	is_int(enc_cgroup_destroy(&cg, &e), -EBUSY, "destroy of a populated cgroup");
	has_str(e.msg, "still in use after 2000 ms", "busy message");
	is_int(enc_cgroup_kill(&cg, NULL), 0, "kill after the refused destroy");
	is_int(enc_cgroup_destroy(&cg, &e), 0, "destroy retried");
	wait_status(k.pid);
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "gone from %s", sys.hier[i].mount);

	if (sys.mode != ENC_CGROUP_MODE_UNIFIED && sys.v2 >= 0) {
		struct enc_cgroup_sys d;
		enc_err_clear(&e);
		is_int(enc_cgroup_probe_delegated(&d, sys.hier[sys.v2].mnt_fd, &e), -EOPNOTSUPP,
		       "delegation refused on a non-unified host");
		has_str(e.msg, "needs a pure cgroup v2 host, this one is hybrid", "delegation message");
	}
}

/* The creator is SIGKILLed; the next process sweeps by name. */
static void test_sweep(void)
{
	const char *n = new_name();
	int rep[2];
	char c = 0;

	reap_all();
	if (pipe2(rep, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid_t creator = fork();
	if (creator == 0) {
		struct enc_cgroup cg;
		struct enc_cgroup_limits lim = { .pids_max = 50, .memory_max = 64 << 20 };
		if (enc_cgroup_create(&sys, n, &lim, &cg, NULL) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			pid_t w = fork();
			if (w == 0) {
				pause();
				_exit(0);
			}
			enc_cgroup_attach(&cg, w, NULL);
		}
		if (write(rep[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(rep[1]);
	ok(read(rep[0], &c, 1) == 1 && c == 'r', "creator made the cgroup and its workload");
	close(rep[0]);
	kill(creator, SIGKILL);
	int ws = wait_status(creator);
	ok(WIFSIGNALED(ws), "creator SIGKILLed");
	ok(!procs_empty(n), "orphaned workload still in the cgroup");
	struct enc_err e = { 0 };
	is_int(enc_cgroup_sweep_name(&sys, n, &e), 0, "sweep by name");
	if (e.code)
		printf("# %s\n", e.msg);
	for (int i = 0; i < sys.nhier; i++)
		ok(!exists(cgpath(i, n, NULL)), "swept from %s", sys.hier[i].mount);
	/* The orphans were reparented to us (subreaper) and are dead. */
	int reaped = 0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int tries = 0; tries < 100 && reaped < 2; tries++) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			reaped++;
		else if (p <= 0)
			nanosleep(&ts, NULL);
	}
	is_int(reaped, 2, "both orphans died of SIGKILL");
}

static void sort_long(long *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			long t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void bench(void)
{
	struct enc_cgroup_limits lim = {
		.memory_max = 256 << 20,
		.limit_swap = (sys.features & ENC_CGROUP_F_MEMORY_SWAP) != 0,
		.cpu_quota_us = 100000,
		.pids_max = 512,
	};
	long us[21];
	int nok = 0;

	for (int i = 0; i < 21; i++) {
		struct enc_cgroup cg;
		struct timespec a, b;
		const char *n = new_name();
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (enc_cgroup_create(&sys, n, &lim, &cg, NULL) == 0 &&
		    enc_cgroup_destroy(&cg, NULL) == 0)
			nok++;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	is_int(nok, 21, "21 create+limits+destroy cycles");
	sort_long(us, 21);
	printf("# create+limits+destroy (%d of %d hierarchies): median %ld us, min %ld us, max %ld us\n",
	       popcount(expect_used(true, sys.features)), sys.nhier, us[10], us[0], us[20]);

	/* The runtime's other fixed costs: probe, and teardown of a
	 * one-process workload (kill + destroy). */
	for (int i = 0; i < 21; i++) {
		struct enc_cgroup_sys s2;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int r = enc_cgroup_probe(&s2, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (r == 0)
			enc_cgroup_sys_close(&s2);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	sort_long(us, 21);
	printf("# probe: median %ld us\n", us[10]);
	nok = 0;
	for (int i = 0; i < 21; i++) {
		struct enc_cgroup cg;
		struct timespec a, b;
		const char *n = new_name();
		us[i] = 0;
		if (enc_cgroup_create(&sys, n, &lim, &cg, NULL) < 0)
			continue;
		struct kid k = spawn(fn_sleep, 0);
		enc_cgroup_attach(&cg, k.pid, NULL);
		release(&k);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (enc_cgroup_kill(&cg, NULL) == 0 && enc_cgroup_destroy(&cg, NULL) == 0)
			nok++;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
		wait_status(k.pid);
	}
	is_int(nok, 21, "21 kill+destroy cycles of a one-process workload");
	sort_long(us, 21);
	printf("# kill+destroy of one process: median %ld us, min %ld us, max %ld us\n",
	       us[10], us[0], us[20]);
}

int main(void)
{
	if (geteuid() != 0) {
		if (must_work()) {
			ok(0, "cgroup tests need root (ENCLAVE_MUST_WORK=1 forbids skipping)");
			return tap_done();
		}
		printf("1..0 # SKIP cgroup tests need root\n");
		return 0;
	}
	/* Orphans of the sweep test come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(cleanup);
	signal(SIGTERM, on_fatal);
	signal(SIGALRM, on_fatal);
	alarm(120);
	test_probe();
	if (sys.nhier == 0)
		return tap_done();
	test_names_and_errors();
	test_create_limits();
	test_attach_stats();
	test_join();
	test_pids();
	test_oom();
	test_kill_paths();
	test_v2_core();
	test_partial_busy();
	test_sweep();
	bench();
	cleanup();
	return tap_done();
}
