/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp.h - the workspace seccomp deny list (DESIGN.md §15.4), compiled to
 * classic BPF with libseccomp and loaded with seccomp(2) just before the
 * workload is exec'd.
 *
 * Contract:
 *  - Policy: default action ALLOW; a fixed deny list where every entry
 *    returns a documented errno (table in enclave-spawn(1), SECURITY, and in
 *    the comments of seccomp-build.c). The list is compiled in: there is no
 *    policy file and no option that weakens it, so there is nothing to fall
 *    back to.
 *  - Foreign ABIs are killed, not answered: on x86_64 an i386 system call
 *    (int $0x80, sysenter) or an x32 one (number with bit 0x40000000) ends
 *    the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS), because rules
 *    keyed on native numbers would otherwise not apply to them at all.
 *  - clone3(2) answers ENOSYS: its flags live in a struct seccomp cannot
 *    read, so CLONE_NEWUSER could not be filtered; ENOSYS makes glibc (2.34+)
 *    and Rust fall back to clone(2), whose flags are filtered.
 *  - Every failure is an error (negative errno, err filled): a filter that
 *    cannot be built exactly as listed is never replaced by a weaker one.
 *  - A filter applies to the calling thread and everything it later forks or
 *    execs; it cannot be removed. Load it last, right before execve(2).
 *
 * Built once, at build time: the list is constant (no flags exist), so
 * seccomp-gen.c runs the libseccomp build (seccomp-build.c) during the
 * build and seccomp.c carries the result as an array. enc_seccomp_build()
 * copies that array; only a build that could not run the generator (a
 * cross build) builds with libseccomp at run time, and only such a build
 * links libseccomp into the tools. enc_seccomp_build_dynamic() always
 * builds with libseccomp; the unit test compares the two byte for byte.
 *
 * Cost (development VM, 2 vCPUs, Linux 6.18): building with libseccomp
 * took about 40 us (150-300 us the first time in a process, plus loading
 * the library at exec); copying the generated program takes well under
 * 1 us. Loading a program takes about 40-50 us, nearly all of it the
 * kernel emulating the program once per system call number to fill its
 * action cache, which is why the program is laid out as a binary tree.
 * build and load are split so the monitor can build once, before any
 * fork, and each child loads with two system calls and no allocation.
 *
 * Not part of the helper core (seccomp-build.c links libseccomp).
 */
#ifndef ENCLAVE_SECCOMP_H
#define ENCLAVE_SECCOMP_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/filter.h>
#include "err.h"

/* No flags are defined yet: pass 0. Unknown bits are -EINVAL, so a caller
 * built against a newer header never silently gets an older, weaker filter. */
#define ENC_SECCOMP_FLAGS_ALL 0u

struct enc_seccomp_prog;	/* opaque, immutable once built */

/* The deny list as a classic BPF program: the one generated at build time,
 * or built with libseccomp where there is none. *out is freed with
 * enc_seccomp_prog_free(). Does not touch the calling process. */
int enc_seccomp_build(unsigned flags, struct enc_seccomp_prog **out,
		      struct enc_err *err);

/* The same, always built now with libseccomp (seccomp-build.c): what the
 * generator runs, and what the unit test compares the generated program
 * with. Pulls libseccomp into any program that calls it. */
int enc_seccomp_build_dynamic(unsigned flags, struct enc_seccomp_prog **out,
			      struct enc_err *err);

/* The program generated at build time: returns its number of instructions
 * and sets *insns (when insns != NULL), or 0 (*insns = NULL) in a build
 * without one. */
size_t enc_seccomp_precompiled(const struct sock_filter **insns);

/* Read a whole program (a whole number of instructions, at most max) from
 * fd, starting at off, into buf; returns the instruction count, -EINVAL for
 * a bad size or -E2BIG when there is more than max. */
ssize_t enc_seccomp_read_insns(int fd, struct sock_filter *buf, size_t max, off_t off);

/* A program holding a copy of insns[0..n): 0, -EINVAL (n is 0 or more than
 * BPF_MAXINSNS) or -ENOMEM. Only the shape is checked, as for import. */
int enc_seccomp_prog_new(const struct sock_filter *insns, size_t n,
			 struct enc_seccomp_prog **out);

/* Load a prepared program into the calling thread: sets no_new_privs
 * (always: the kernel requires it without CAP_SYS_ADMIN, and §15.4 requires
 * it anyway), then seccomp(SECCOMP_SET_MODE_FILTER). Only those two system
 * calls run and nothing is allocated, so it is usable between fork() and
 * execve() of a multi-threaded parent; the error path formats err with
 * snprintf, so pass err = NULL where only async-signal-safe calls are
 * allowed. Filters stack: loading twice applies both. */
int enc_seccomp_load(const struct enc_seccomp_prog *prog, struct enc_err *err);

/* build + load + free, for callers that load once. */
int enc_seccomp_install(unsigned flags, struct enc_err *err);

/* The program's instructions (host byte order, ready for struct
 * sock_fprog); returns their number and sets *insns when insns != NULL. */
size_t enc_seccomp_prog_insns(const struct enc_seccomp_prog *prog,
			      const struct sock_filter **insns);

/* Write the raw program (an array of struct sock_filter, host byte order,
 * no header) to fd, e.g. a memfd handed to another process. */
int enc_seccomp_export(const struct enc_seccomp_prog *prog, int fd,
		       struct enc_err *err);

/* Read a program written by enc_seccomp_export() from fd (read from the
 * current offset to end of file). Only the shape is checked (a whole number
 * of instructions, 1..BPF_MAXINSNS); the kernel checks the rest at load. The
 * fd must come from a trusted source, never from a file the workspace can
 * write: whatever it holds becomes the workload's filter. */
int enc_seccomp_import(int fd, struct enc_seccomp_prog **out,
		       struct enc_err *err);

void enc_seccomp_prog_free(struct enc_seccomp_prog *prog);

#endif

/* lib/ is on the include path, so this file shadows libseccomp's
 * <seccomp.h>. seccomp.c, the one user of libseccomp, defines
 * ENC_SECCOMP_WANT_LIBSECCOMP and includes <seccomp.h>, which lands here;
 * include_next then continues the search past lib/ to libseccomp's header
 * (it has its own include guard). */
#ifdef ENC_SECCOMP_WANT_LIBSECCOMP
#include_next <seccomp.h>
#endif
