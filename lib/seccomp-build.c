/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-build.c - the workspace deny list, compiled to classic BPF with
 * libseccomp. See seccomp.h for the contract and enclave-spawn(1) for the
 * user-facing table; each entry below says why it is there and why it gets
 * the errno it gets.
 *
 * The deny list is constant, so the build runs this once, through
 * seccomp-gen.c, and compiles the program into seccomp.c as an array:
 * a start then neither loads libseccomp nor spends its ~150-300 us of
 * first-call set-up (kernel feature probes, the rule database). This file
 * is linked into a program only where that array is missing (a cross build
 * that cannot run the generator) and by the unit test, which checks that
 * the array is what libseccomp builds on the machine it runs on.
 *
 * Errno policy: EPERM ("you may not") for everything a program would also
 * see from an unprivileged context or from Docker's and podman's default
 * profiles, so software has already been tested against it. ENOSYS only
 * where making the caller fall back is the point (clone3, io_uring) or where
 * current kernels no longer have the call at all. EOPNOTSUPP for
 * name_to_handle_at, the answer callers already handle for file systems
 * without handles (overlayfs often is one).
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Our header and, through it, libseccomp's: see the end of seccomp.h. */
#define ENC_SECCOMP_WANT_LIBSECCOMP
#include <seccomp.h>

struct deny {
	int nr;
	int errnum;
	const char *name;
};

#define DENY(sys, e) { SCMP_SYS(sys), e, #sys }

/*
 * open_tree_attr(2) (Linux 6.15) is open_tree + mount_setattr in one call,
 * newer than the libseccomp we build against. Since Linux 5.1 every
 * architecture but alpha shares one number for new system calls, so the raw
 * number is right wherever enclave builds.
 */
#ifdef __SNR_open_tree_attr
#define NR_OPEN_TREE_ATTR __SNR_open_tree_attr
#elif !defined(__alpha__)
#define NR_OPEN_TREE_ATTR 467
#endif

/* Unconditional denials. A name that does not exist on the build
 * architecture (stime, vm86 on x86_64) resolves to a negative libseccomp
 * pseudo number and is skipped: the kernel has no such entry to reach. */
static const struct deny deny_list[] = {
	/* Mount family: the workspace's mount tree is fixed before exec;
	 * remounting, unmounting masks or attaching new trees would undo
	 * §6 (hidden files, read-only /sys, masked kernel paths). Root in the
	 * workspace lacks CAP_SYS_ADMIN as well; this is the second wall. */
	DENY(mount, EPERM),
	DENY(umount, EPERM),
	DENY(umount2, EPERM),
	DENY(pivot_root, EPERM),
	DENY(move_mount, EPERM),
	DENY(open_tree, EPERM),
#ifdef NR_OPEN_TREE_ATTR
	{ NR_OPEN_TREE_ATTR, EPERM, "open_tree_attr" },
#endif
	DENY(fsopen, EPERM),
	DENY(fsmount, EPERM),
	DENY(fsconfig, EPERM),
	DENY(fspick, EPERM),
	DENY(mount_setattr, EPERM),
	/* Joining other namespaces: the workload stays in the ones it was
	 * given; a new user namespace (see the argument rules) would give it
	 * a full capability set over fresh namespaces and the kernel code
	 * reachable only with those capabilities. */
	DENY(setns, EPERM),
	/* clone3 carries its flags in a struct seccomp cannot read, so
	 * CLONE_NEWUSER would pass. ENOSYS is what a pre-5.3 kernel says and
	 * makes glibc and Rust fall back to clone(2). */
	DENY(clone3, ENOSYS),
	/* Replacing or extending the running kernel. */
	DENY(kexec_load, EPERM),
	DENY(kexec_file_load, EPERM),
	DENY(init_module, EPERM),
	DENY(finit_module, EPERM),
	DENY(delete_module, EPERM),
	/* Large kernel attack surface with a history of privilege-escalation
	 * bugs, and tracing that can observe the host. */
	DENY(bpf, EPERM),
	DENY(perf_event_open, EPERM),
	/* Lets an exploit stall the kernel at a chosen page fault (the
	 * standard race-widening tool). /dev/userfaultfd is not in the
	 * workspace's /dev either. */
	DENY(userfaultfd, EPERM),
	/* The kernel keyring is not namespaced: keys are per host uid, and
	 * the per-user quota is shared with every other workspace. */
	DENY(keyctl, EPERM),
	DENY(add_key, EPERM),
	DENY(request_key, EPERM),
	/* open_by_handle_at opens any inode of a file system by handle,
	 * bypassing the mount tree ("shocker" container escape).
	 * name_to_handle_at only mints handles; EOPNOTSUPP is what callers
	 * (systemd's mount-point checks, fanotify users) already get from
	 * file systems without handles and fall back from. */
	DENY(open_by_handle_at, EPERM),
	DENY(name_to_handle_at, EOPNOTSUPP),
	/* io_uring performs file and network operations from kernel
	 * workers and has been the largest source of recent kernel
	 * exploits. ENOSYS is a kernel built without it: libuv (node) and
	 * others then fall back to their thread pools. */
	DENY(io_uring_setup, ENOSYS),
	DENY(io_uring_enter, ENOSYS),
	DENY(io_uring_register, ENOSYS),
	/* Time is not namespaced. adjtimex and clock_adjtime are denied
	 * whole: their read-only mode (ntp_gettime) cannot be told apart
	 * from a write because the mode lives in a struct. */
	DENY(clock_settime, EPERM),
	DENY(clock_adjtime, EPERM),
	DENY(settimeofday, EPERM),
	DENY(adjtimex, EPERM),
	DENY(stime, EPERM),
	/* Host-wide administration. */
	DENY(swapon, EPERM),
	DENY(swapoff, EPERM),
	DENY(reboot, EPERM),
	DENY(acct, EPERM),
	DENY(quotactl, EPERM),
	DENY(quotactl_fd, EPERM),
	DENY(syslog, EPERM),
	/* Raw I/O port access and the i386 virtual-8086 mode. */
	DENY(iopl, EPERM),
	DENY(ioperm, EPERM),
	DENY(vm86, EPERM),
	DENY(vm86old, EPERM),
	/* Obsolete interfaces: gone from current kernels (which answer
	 * ENOSYS) but present on some the 6.1 floor allows. */
	DENY(uselib, ENOSYS),
	DENY(lookup_dcookie, ENOSYS),
	DENY(nfsservctl, ENOSYS),
	DENY(_sysctl, ENOSYS),
};

/*
 * personality(2) values a workload may set; everything else is EPERM. The
 * kernel reads the argument as a 32-bit int, so only the low half is
 * compared. Allowed: PER_LINUX, PER_LINUX32 (setarch i686 / linux32),
 * UNAME26 alone and with PER_LINUX32 (setarch --uname-2.6) and 0xffffffff,
 * the read-only query (runtimes such as the sanitizers' make it at
 * start-up). Refused, among
 * others: ADDR_NO_RANDOMIZE (turns off ASLR), READ_IMPLIES_EXEC and
 * MMAP_PAGE_ZERO (the page-zero mapping of old NULL-dereference exploits).
 * The same set as Docker's default profile, so gdb's "cannot disable
 * address space randomization" warning is already familiar.
 */
static const uint32_t personality_ok[] = {
	PER_LINUX,
	PER_LINUX32,
	UNAME26,
	UNAME26 | PER_LINUX32,
	0xffffffffu,
};

/* clone(2) takes its flags in argument 0 except on s390, where the first
 * two arguments are swapped. */
#if defined(__s390__) || defined(__s390x__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

static int add_rule(scmp_filter_ctx ctx, int errnum, int nr, const char *name,
		    unsigned ncmp, const struct scmp_arg_cmp *cmp,
		    struct enc_err *err)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(errnum), nr, ncmp, cmp);

	if (r < 0)
		return enc_err_sys(err, r, "seccomp: cannot add the rule for %s", name);
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, struct enc_err *err)
{
	int r;

	for (size_t i = 0; i < ENC_ARRAY_SIZE(deny_list); i++) {
		if (deny_list[i].nr < 0)
			continue;
		r = add_rule(ctx, deny_list[i].errnum, deny_list[i].nr,
			     deny_list[i].name, 0, NULL, err);
		if (r < 0)
			return r;
	}

	/* New user namespaces. The flag is tested alone, so any other flags
	 * (and garbage in the upper bits) around it change nothing. */
	const struct scmp_arg_cmp newuser[] = {
		SCMP_CMP64(CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
			   CLONE_NEWUSER),
	};
	const struct scmp_arg_cmp newuser_unshare[] = {
		SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER),
	};
	r = add_rule(ctx, EPERM, SCMP_SYS(clone), "clone(CLONE_NEWUSER)", 1,
		     newuser, err);
	if (r < 0)
		return r;
	r = add_rule(ctx, EPERM, SCMP_SYS(unshare), "unshare(CLONE_NEWUSER)", 1,
		     newuser_unshare, err);
	if (r < 0)
		return r;

	/* TIOCSTI pushes input into a terminal's queue: the classic escape
	 * through a shared terminal (CVE-2017-5226 in bubblewrap). TIOCLINUX
	 * can do the same on a virtual console through its selection
	 * commands. The kernel reads the command as 32 bits, so the upper
	 * half is masked off: TIOCSTI | 1 << 32 is still TIOCSTI. */
	static const struct {
		unsigned long cmd;
		const char *name;
	} ioctls[] = {
		{ TIOCSTI, "ioctl(TIOCSTI)" },
		{ TIOCLINUX, "ioctl(TIOCLINUX)" },
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(ioctls); i++) {
		const struct scmp_arg_cmp cmd[] = {
			SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL,
				   ioctls[i].cmd),
		};
		r = add_rule(ctx, EPERM, SCMP_SYS(ioctl), ioctls[i].name, 1,
			     cmd, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The personality rule cannot be written for libseccomp: it allows one
 * comparison per argument per rule, and "not one of these five values, in
 * the low 32 bits" needs several. So a few instructions are put in front of
 * libseccomp's program: for the native architecture and personality(2)
 * they decide; for anything else they jump to libseccomp's first
 * instruction, which checks the architecture again and applies the rest.
 * Classic BPF jumps are relative, so prepending leaves libseccomp's program
 * valid. Returns the number of instructions written to out (at most
 * PREFIX_MAX).
 */
#define PREFIX_MAX (8 + ENC_ARRAY_SIZE(personality_ok))

static size_t build_prefix(struct sock_filter *out)
{
	const size_t n_ok = ENC_ARRAY_SIZE(personality_ok);
	const size_t len = 5 + n_ok + 2;	/* loads+tests, values, two RETs */
	const size_t ret_allow = len - 1;
	const size_t arg0_lo = offsetof(struct seccomp_data, args[0]) +
			       (__BYTE_ORDER == __BIG_ENDIAN ? 4 : 0);
	size_t i = 0;

	out[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, arch));
	out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			seccomp_arch_native(), 0, (unsigned char)(len - i - 1));
	i++;
	out[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, nr));
	out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			__NR_personality, 0, (unsigned char)(len - i - 1));
	i++;
	out[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			(uint32_t)arg0_lo);
	for (size_t k = 0; k < n_ok; k++, i++)
		out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				personality_ok[k],
				(unsigned char)(ret_allow - i - 1), 0);
	out[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	out[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_ALLOW);
	/* i == len; the next instruction is libseccomp's first. */
	return i;
}

/* The whole program into out (room for max instructions); *n gets its
 * length. */
static int compile(struct sock_filter *out, size_t max, size_t *n,
		   struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	scmp_filter_ctx ctx = NULL;
	size_t nprefix;
	ssize_t got;
	int r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return enc_err_set(err, -ENOMEM,
				   "seccomp: cannot create the filter context");
	/* Only the native architecture is in the filter, so i386 and x32
	 * system calls hit the bad-architecture action. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		enc_err_sys(err, r, "seccomp: cannot set the foreign-ABI action");
		goto out;
	}
	/* A binary search on the syscall number instead of a linear chain of
	 * tests: loading costs the kernel an emulation of the program for
	 * every syscall number (to fill its per-filter action cache), so the
	 * load time follows the length of the path, not only the size. With
	 * about 60 rules this halves the cost of seccomp(2). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		enc_err_sys(err, r, "seccomp: cannot select the binary-tree layout");
		goto out;
	}
	r = add_rules(ctx, err);
	if (r < 0)
		goto out;

	/* libseccomp 2.5 exports only to an fd. */
	fd = memfd_create("enclave-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		r = enc_err_sys(err, -errno, "seccomp: cannot create a memfd");
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		enc_err_sys(err, r, "seccomp: cannot generate the BPF program");
		goto out;
	}

	nprefix = build_prefix(out);
	got = enc_seccomp_read_insns(fd, out + nprefix, max - nprefix, 0);
	if (got < 0) {
		r = enc_err_sys(err, (int)got, "seccomp: cannot read back the BPF program");
		goto out;
	}
	*n = nprefix + (size_t)got;
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

int enc_seccomp_build_dynamic(unsigned flags, struct enc_seccomp_prog **out,
			      struct enc_err *err)
{
	_cleanup_free_ struct sock_filter *buf = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if (flags & ~ENC_SECCOMP_FLAGS_ALL)
		return enc_err_set(err, -EINVAL, "seccomp: unknown flags %#x",
				   flags & ~ENC_SECCOMP_FLAGS_ALL);
	buf = calloc(BPF_MAXINSNS, sizeof(*buf));
	if (!buf)
		return enc_err_set(err, -ENOMEM, "seccomp: cannot allocate the program");
	r = compile(buf, BPF_MAXINSNS, &n, err);
	if (r < 0)
		return r;
	r = enc_seccomp_prog_new(buf, n, out);
	if (r < 0)
		return enc_err_sys(err, r, "seccomp: cannot allocate the program");
	return 0;
}
