/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper-call - drive enclave-helper from the shell tests the way a
 * hostile caller could: any request bytes (stdin), any fds, a second
 * request, closed stdio, a poisoned environment. Uses the client
 * library's ench_send()/ench_recv() for the wire format.
 *
 *   helper-call [OPTIONS] HELPER < REQUEST
 *     --pidfd PID | --stale-pidfd | --userns PID | --netns PID
 *     --dir PATH | --file PATH       fds to attach, in order
 *     --fdnum N                      attach our (inherited) fd N
 *     --twice --close-stdio --no-socket --env VAR=VALUE --stat NAME
 *     --hold SECONDS                 keep the received fds that long
 *                                    after printing (a caller that
 *                                    keeps the policy watcher's socket)
 * Prints the reply ("ok"/"error ..." lines), then per fd received
 * "fd: <what>" (and with --stat, "stat NAME UID GID" beneath a mount fd).
 * Exits with the helper's status; 99 when helper-call itself failed.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"

static void die_(const char *what)
{
	fprintf(stderr, "helper-call: %s: %s\n", what, strerror(errno));
	exit(99);
}

static int ns_fd(const char *pid, const char *ns)
{
	char p[64];
	int fd;

	snprintf(p, sizeof(p), "/proc/%s/ns/%s", pid, ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_(p);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pidfd", required_argument, NULL, 'p' }, { "stale-pidfd", no_argument, NULL, 'S' },
		{ "userns", required_argument, NULL, 'u' }, { "netns", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' }, { "file", required_argument, NULL, 'f' },
		{ "twice", no_argument, NULL, 't' }, { "close-stdio", no_argument, NULL, 'c' },
		{ "no-socket", no_argument, NULL, 'N' }, { "env", required_argument, NULL, 'e' },
		{ "stat", required_argument, NULL, 's' }, { "fdnum", required_argument, NULL, 'F' },
		{ "hold", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static char req[65536];
	char *envp[16] = { NULL }, *statname = NULL;
	unsigned hold = 0;
	int fds[8], nfds = 0, nenv = 0, o, sv[2], st;
	bool twice = false, close_stdio = false, no_socket = false;
	struct ench_reply rep = { 0 };
	struct enc_err err = { 0 };
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	while ((o = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		if (nfds == 8 || nenv == 15)
			exit(99);
		switch (o) {
		case 'p':
			fds[nfds] = (int)syscall(SYS_pidfd_open, atoi(optarg), 0);
			if (fds[nfds++] < 0)
				die_("pidfd_open");
			break;
		case 'S':
			pid = fork();
			if (pid == 0)
				_exit(0);
			fds[nfds] = (int)syscall(SYS_pidfd_open, pid, 0);
			if (fds[nfds++] < 0)
				die_("pidfd_open");
			waitpid(pid, NULL, 0);
			break;
		case 'u': fds[nfds++] = ns_fd(optarg, "user"); break;
		case 'n': fds[nfds++] = ns_fd(optarg, "net"); break;
		case 'd':
		case 'f':
			fds[nfds] = open(optarg, (o == 'd' ? O_PATH | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
			if (fds[nfds++] < 0)
				die_(optarg);
			break;
		case 'F': fds[nfds++] = atoi(optarg); break;
		case 't': twice = true; break;
		case 'c': close_stdio = true; break;
		case 'N': no_socket = true; break;
		case 'e': envp[nenv++] = optarg; break;
		case 's': statname = optarg; break;
		case 'H': hold = (unsigned)atoi(optarg); break;
		default: exit(99);
		}
	}
	if (optind != argc - 1)
		exit(99);
	/* Sanitizer builds: LeakSanitizer cannot run in a setuid process
	 * (it ptraces itself); pass the test's ASAN_OPTIONS through. */
	if (getenv("ASAN_OPTIONS") && asprintf(&envp[nenv++], "ASAN_OPTIONS=%s",
					       getenv("ASAN_OPTIONS")) < 0)
		exit(99);
	while ((n = read(0, req + len, sizeof(req) - len)) > 0)
		len += (size_t)n;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_("socketpair");
	/* Queue the request(s) before the helper runs: a second one is then
	 * certainly there when the helper looks. */
	if (ench_send(sv[0], req, len, fds, (unsigned)nfds, &err) < 0 ||
	    (twice && ench_send(sv[0], req, len, fds, (unsigned)nfds, &err) < 0)) {
		fprintf(stderr, "helper-call: %s\n", err.msg);
		exit(99);
	}
	pid = fork();
	if (pid == 0) {
		char *const av[] = { (char *)"enclave-helper", NULL };

		if (!no_socket && dup2(sv[1], 3) < 0)
			_exit(99);
		if (no_socket)
			close(3);
		if (close_stdio) {
			close(0);
			close(1);
			close(2);
		}
		execve(argv[optind], av, envp);
		_exit(98);
	}
	close(sv[1]);
	waitpid(pid, &st, 0);
	if (ench_recv(sv[0], &rep, &err) == 0) {
		printf("ok\n%s", rep.text);
	} else {
		printf("%s\n", err.msg);
	}
	for (unsigned i = 0; i < rep.nfds; i++) {
		char p[64], l[256] = "";
		struct stat s;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", rep.fds[i]);
		if (readlink(p, l, sizeof(l) - 1) < 0)
			strcpy(l, "?");
		printf("fd: %s\n", l);
		if (statname && fstatat(rep.fds[i], statname, &s, AT_SYMLINK_NOFOLLOW) == 0)
			printf("stat %s %u %u\n", statname, (unsigned)s.st_uid, (unsigned)s.st_gid);
	}
	fflush(stdout);
	if (hold)
		sleep(hold);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 97;
}
