/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * util.h - small helpers every enclave source may use: cleanup attributes,
 * pointer/fd stealing, array sizes, branch hints.
 *
 * Contract: header only, no side effects, usable from the helper core.
 */
#ifndef ENCLAVE_UTIL_H
#define ENCLAVE_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define ENC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ENC_UNUSED __attribute__((unused))
#define ENC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ENC_NORETURN __attribute__((noreturn))
#define ENC_WARN_UNUSED __attribute__((warn_unused_result))

static inline void enc_freep(void *p)
{
	free(*(void **)p);
}

static inline void enc_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void enc_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}

static inline void enc_closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;
		closedir(*d);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(enc_freep)))
#define _cleanup_close_ __attribute__((cleanup(enc_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(enc_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(enc_closedirp)))

/* Take ownership out of a cleanup variable. */
static inline void *enc_steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) enc_steal_ptr(pp)

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* Retry a syscall expression on EINTR. */
#define ENC_RETRY(expr)                                                        \
	({                                                                     \
		__typeof__(expr) _r;                                           \
		do                                                             \
			_r = (expr);                                           \
		while (_r == -1 && errno == EINTR);                            \
		_r;                                                            \
	})

#endif
