/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp.c - the workspace deny list as a ready program, and loading it.
 * See seccomp.h for the contract. The rules, and why each is there, are in
 * seccomp-build.c, which compiles them with libseccomp; the build runs
 * that once (seccomp-gen.c) and hands the result to this file as
 * seccomp-bpf.h, so a start copies an array instead of loading libseccomp
 * and building the filter again. test-seccomp checks, byte for byte, that
 * the array is what libseccomp builds at run time.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "seccomp.h"

/* ENC_SECCOMP_PRECOMPILED and, when it is 1, enc_seccomp_precompiled_insns[]:
 * generated at build time. The generator itself is built without it. */
#ifdef ENC_SECCOMP_NO_PRECOMPILED
#define ENC_SECCOMP_PRECOMPILED 0
#else
#include "seccomp-bpf.h"
#endif

struct enc_seccomp_prog {
	unsigned short len;
	struct sock_filter insns[];
};

static int prog_alloc(size_t len, struct enc_seccomp_prog **out)
{
	struct enc_seccomp_prog *p;

	p = malloc(sizeof(*p) + len * sizeof(struct sock_filter));
	if (!p)
		return -ENOMEM;
	p->len = (unsigned short)len;
	*out = p;
	return 0;
}

ssize_t enc_seccomp_read_insns(int fd, struct sock_filter *buf, size_t max, off_t off)
{
	size_t cap = max * sizeof(*buf), got = 0;

	for (;;) {
		ssize_t n = ENC_RETRY(pread(fd, (char *)buf + got, cap - got,
					    off + (off_t)got));
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap) {
			char extra;

			n = ENC_RETRY(pread(fd, &extra, 1, off + (off_t)got));
			if (n < 0)
				return -errno;
			if (n > 0)
				return -E2BIG;
			break;
		}
	}
	if (got == 0 || got % sizeof(*buf) != 0)
		return -EINVAL;
	return (ssize_t)(got / sizeof(*buf));
}

int enc_seccomp_prog_new(const struct sock_filter *insns, size_t n,
			 struct enc_seccomp_prog **out)
{
	int r;

	*out = NULL;
	if (n == 0 || n > BPF_MAXINSNS)
		return -EINVAL;
	r = prog_alloc(n, out);
	if (r < 0)
		return r;
	memcpy((*out)->insns, insns, n * sizeof(insns[0]));
	return 0;
}

size_t enc_seccomp_precompiled(const struct sock_filter **insns)
{
#if ENC_SECCOMP_PRECOMPILED
	if (insns)
		*insns = enc_seccomp_precompiled_insns;
	return ENC_ARRAY_SIZE(enc_seccomp_precompiled_insns);
#else
	if (insns)
		*insns = NULL;
	return 0;
#endif
}

int enc_seccomp_build(unsigned flags, struct enc_seccomp_prog **out,
		      struct enc_err *err)
{
	*out = NULL;
	if (flags & ~ENC_SECCOMP_FLAGS_ALL)
		return enc_err_set(err, -EINVAL, "seccomp: unknown flags %#x",
				   flags & ~ENC_SECCOMP_FLAGS_ALL);
#if ENC_SECCOMP_PRECOMPILED
	/* The program the build generated from these same rules for this
	 * architecture (the only one this binary runs as). */
	if (enc_seccomp_prog_new(enc_seccomp_precompiled_insns,
				 ENC_ARRAY_SIZE(enc_seccomp_precompiled_insns), out) < 0)
		return enc_err_set(err, -ENOMEM, "seccomp: cannot allocate the program");
	return 0;
#else
	/* No generated program (a cross build): libseccomp, now. */
	return enc_seccomp_build_dynamic(flags, out, err);
#endif
}

int enc_seccomp_load(const struct enc_seccomp_prog *prog, struct enc_err *err)
{
	struct sock_fprog fprog = {
		.len = prog->len,
		.filter = (struct sock_filter *)prog->insns,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return enc_err_sys(err, -errno, "seccomp: cannot set no_new_privs");
	/* seccomp(2) rather than prctl(PR_SET_SECCOMP) because it reports
	 * unknown flags; no flags: the filter covers this thread, and the
	 * caller is about to exec. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0L, &fprog) < 0)
		return enc_err_sys(err, -errno, "seccomp: cannot load the filter");
	return 0;
}

int enc_seccomp_install(unsigned flags, struct enc_err *err)
{
	struct enc_seccomp_prog *p;
	int r;

	r = enc_seccomp_build(flags, &p, err);
	if (r < 0)
		return r;
	r = enc_seccomp_load(p, err);
	enc_seccomp_prog_free(p);
	return r;
}

size_t enc_seccomp_prog_insns(const struct enc_seccomp_prog *prog,
			      const struct sock_filter **insns)
{
	if (insns)
		*insns = prog->insns;
	return prog->len;
}

int enc_seccomp_export(const struct enc_seccomp_prog *prog, int fd,
		       struct enc_err *err)
{
	const char *buf = (const char *)prog->insns;
	size_t len = prog->len * sizeof(prog->insns[0]);

	while (len > 0) {
		ssize_t n = ENC_RETRY(write(fd, buf, len));

		if (n < 0)
			return enc_err_sys(err, -errno, "seccomp: cannot export the program");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int enc_seccomp_import(int fd, struct enc_seccomp_prog **out,
		       struct enc_err *err)
{
	struct enc_seccomp_prog *p = NULL;
	off_t off;
	ssize_t n;
	int r;

	*out = NULL;
	off = lseek(fd, 0, SEEK_CUR);
	if (off < 0)
		return enc_err_sys(err, -errno, "seccomp: cannot import the program");
	r = prog_alloc(BPF_MAXINSNS, &p);
	if (r < 0)
		return enc_err_sys(err, r, "seccomp: cannot import the program");
	n = enc_seccomp_read_insns(fd, p->insns, BPF_MAXINSNS, off);
	if (n < 0) {
		free(p);
		if (n == -EINVAL || n == -E2BIG)
			return enc_err_set(err, (int)n,
					   "seccomp: cannot import the program: not a whole number of 1 to %d BPF instructions",
					   BPF_MAXINSNS);
		return enc_err_sys(err, (int)n, "seccomp: cannot import the program");
	}
	p->len = (unsigned short)n;
	*out = p;
	return 0;
}

void enc_seccomp_prog_free(struct enc_seccomp_prog *prog)
{
	free(prog);
}
