/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runtime-internal.h - what spawn.c, monitor.c and enter.c share; not a
 * public interface.
 */
#ifndef ENCLAVE_RUNTIME_INTERNAL_H
#define ENCLAVE_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "seccomp.h"

#define ENC_MSG_MAX_FDS 8
#define ENC_MSG_SIZE 1024

/* Stages a workload can fail in before its command runs. */
enum {
	ENC_STAGE_SETUP = 1,
	ENC_STAGE_CAPS,
	ENC_STAGE_SECCOMP,
	ENC_STAGE_EXEC,
};

const char *enc_stage_str(int stage);

int enc_msg_send(int sock, const char *text, const int *fds, size_t nfds);
ssize_t enc_msg_recv(int sock, char *buf, size_t size, int *fds, size_t *nfds);

uint64_t enc_now_ms(void);
uint64_t enc_mono_ms(void);
void enc_iso_ms(uint64_t ms, char buf[64]);

/* Inputs of the clean workload environment. */
struct enc_spawn_env {
	const char *home;
	const char *user;
	const char *hostname;
	const char *sandbox;
	const char *workspace;
	const char *term;		/* only with a terminal */
	const struct enc_strv *extra;	/* K=V, validated */
	/* auth (issue 7): the credential plan's K=V (auth.h), applied after
	 * extra so a token replaces a variable of the same name. */
	const struct enc_strv *auth;
};

/* Set K=V in env, replacing an earlier K (the later one wins). */
int enc_env_set(struct enc_strv *env, const char *kv);

/* NULL-terminated, owned (free with a struct enc_strv wrapper). */
char **enc_workload_env(const struct enc_spawn_env *e);

/* Everything the workload process needs, prepared before the fork. */
struct enc_workload {
	char *const *argv;
	char **envp;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	bool root;		/* stay uid 0 with the documented root caps */
	int stdin_fd, stdout_fd, stderr_fd;
	int tty_slave;		/* >= 0: make it the controlling terminal */
	const struct enc_seccomp_prog *seccomp;
	int exec_pipe;		/* set by enc_workload_start/_fork */
};

struct enc_ws;
/* The exec record in the runtime dir: uid, gid, cwd, home and the
 * workload's environment, for enter. */
int enc_exec_record_write(const struct enc_ws *w, uid_t uid, gid_t gid, const char *cwd,
			  const char *home, char *const *envp, struct enc_err *err);

ENC_NORETURN void enc_workload_exec(const struct enc_workload *wl);
pid_t enc_workload_fork(struct enc_workload *wl, int *failed, int *stage, int *errnum);

#endif
