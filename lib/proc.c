/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "parse.h"
#include "proc.h"
#include "util.h"

int enc_proc_starttime(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = ENC_RETRY(read(fd, buf, sizeof(buf) - 1));
	if (n <= 0)
		return n == 0 ? -ESRCH : -errno;
	buf[n] = '\0';

	/* comm (field 2) may contain spaces and ')': start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* p is at the space before field 3 (state); starttime is field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	*start = v;
	return 0;
}

int enc_pidref_of(pid_t pid, struct enc_pidref *ref)
{
	uint64_t st;
	int r = enc_proc_starttime(pid, &st);

	if (r < 0)
		return r;
	ref->pid = pid;
	ref->start = st;
	return 0;
}

int enc_pidref_format(const struct enc_pidref *ref, char *buf, size_t len)
{
	return snprintf(buf, len, "%d %" PRIu64 "\n", (int)ref->pid, ref->start);
}

int enc_pidref_parse(const char *s, struct enc_pidref *ref)
{
	char pidbuf[16];
	const char *sp = strchr(s, ' ');
	uint64_t pid, start;

	if (!sp || (size_t)(sp - s) >= sizeof(pidbuf))
		return -EINVAL;
	memcpy(pidbuf, s, (size_t)(sp - s));
	pidbuf[sp - s] = '\0';
	char startbuf[32];
	size_t sl = strcspn(sp + 1, "\n");
	if (sl == 0 || sl >= sizeof(startbuf) || (sp[1 + sl] && strcmp(sp + 1 + sl, "\n") != 0))
		return -EINVAL;
	memcpy(startbuf, sp + 1, sl);
	startbuf[sl] = '\0';
	if (enc_parse_u64(pidbuf, 1, INT32_MAX, &pid, NULL) < 0 ||
	    enc_parse_u64(startbuf, 0, UINT64_MAX, &start, NULL) < 0)
		return -EINVAL;
	ref->pid = (pid_t)pid;
	ref->start = start;
	return 0;
}

int enc_pidfd_open(pid_t pid, unsigned flags)
{
	long fd = syscall(SYS_pidfd_open, pid, flags);

	return fd < 0 ? -errno : (int)fd;
}

int enc_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int enc_pidref_open(const struct enc_pidref *ref, struct enc_err *err)
{
	uint64_t st;
	int fd = enc_pidfd_open(ref->pid, 0);

	if (fd < 0) {
		if (fd == -ESRCH)
			return enc_err_set(err, -ESRCH, "process %d is gone", (int)ref->pid);
		return enc_err_sys(err, fd, "pidfd_open(%d)", (int)ref->pid);
	}
	/* The pidfd pins the process: if the pid now shows the recorded start
	 * time, the pidfd refers to the recorded process and not a newcomer
	 * that reused the number. pidfds are O_CLOEXEC by definition. */
	int r = enc_proc_starttime(ref->pid, &st);
	if (r < 0 || st != ref->start) {
		close(fd);
		return enc_err_set(err, -ESRCH, "process %d is gone (pid reused)", (int)ref->pid);
	}
	return fd;
}
