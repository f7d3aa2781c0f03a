/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * syscalls.h - numbers of the system calls enclave makes through
 * syscall(2), for C libraries older than the kernel floor (6.1). Every one
 * of these is above 424, where all architectures share one numbering, so
 * the values hold everywhere (alpha aside, which enclave does not build
 * for). Header only.
 */
#ifndef ENCLAVE_SYSCALLS_H
#define ENCLAVE_SYSCALLS_H

#include <sys/syscall.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

#endif
