/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe - a static test program run inside workspaces. Each subcommand
 * tries one thing and prints one line saying exactly what happened, so the
 * tests outside can assert exact outcomes:
 *
 *   probe ids                  uid/gid/groups, capability sets, no_new_privs,
 *                              seccomp mode
 *   probe fds                  open file descriptors ("FD -> target" lines)
 *   probe env                  the environment, one per line
 *   probe try NAME [ARG]       attempt a named operation; prints
 *                              "NAME ok" or "NAME EPERM" (errno name)
 *   probe read PATH            "read ok N" (bytes) or "read ERRNO"
 *   probe write PATH           "write ok" or "write ERRNO"
 *   probe forkbomb             fork until refused, then keep trying
 *   probe balloon              allocate and touch memory until killed
 *   probe sleep SECONDS        sleep
 *   probe exit N               exit with N
 *   probe kill SIG             kill itself with signal SIG
 *
 * Network (test/shell/net.sh). A TARGET is ADDR:PORT/PROTO, IPv6 as
 * [ADDR]:PORT/PROTO, PROTO tcp or udp:
 *   probe connect ADDR PORT [tcp|udp] [TIMEOUT_MS] [SRC]
 *                              one attempt: prints "open BANNER" (the
 *                              listener's first line; exit 0), "refused"
 *                              (3), "timeout" (4) or an errno name (5).
 *                              UDP sends a datagram and waits for the
 *                              answer. SRC: bind that source (IP_FREEBIND).
 *   probe scan [-t MS] TARGET[@SRC]...
 *                              connect to every target at once; prints
 *                              "TARGET[@SRC] RESULT" lines in argument order
 *   probe serve TARGET...      listen on every target (IP_FREEBIND, so the
 *                              address may appear later); prints "listening"
 *                              once bound, then "PROTO PEER TARGET" per
 *                              connection or datagram; answers each with the
 *                              line "TARGET". Runs until killed.
 *   probe ifaces               interface names, one per line
 *   probe raw SRC DST PORT     send one IPv4 UDP datagram with a forged
 *                              source through a raw socket: "raw sent" or
 *                              "raw ERRNO"
 *   probe nft-flush            what `nft flush ruleset` sends (delete every
 *                              table): "nft-flush ok" or "nft-flush ERRNO"
 *
 * It is built with the system compiler, statically, without the project's
 * sanitizer flags, because it runs in a minimal rootfs with no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <poll.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static int report(const char *what, long r)
{
	if (r < 0) {
		printf("%s %s\n", what, errname(errno));
		return 1;
	}
	printf("%s ok\n", what);
	return 0;
}

static void print_status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];

	if (!f) {
		printf("%s ?\n", key);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strlen(key);
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			printf("%s %s", key, v);
			fclose(f);
			return;
		}
	}
	fclose(f);
	printf("%s ?\n", key);
}

static int cmd_ids(void)
{
	gid_t groups[64];
	int n = getgroups(64, groups);

	printf("uid %u euid %u gid %u egid %u\n", getuid(), geteuid(), getgid(), getegid());
	printf("groups");
	for (int i = 0; i < n; i++)
		printf(" %u", groups[i]);
	printf("\n");
	print_status_field("CapInh");
	print_status_field("CapPrm");
	print_status_field("CapEff");
	print_status_field("CapBnd");
	print_status_field("CapAmb");
	print_status_field("NoNewPrivs");
	print_status_field("Seccomp");
	return 0;
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = d ? dirfd(d) : -1;

	if (!d) {
		printf("fds %s\n", errname(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd == self)
			continue;
		char path[64], target[512];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		printf("%d -> %s\n", fd, target);
	}
	closedir(d);
	return 0;
}

extern char **environ;

static int try_op(const char *name, const char *arg)
{
	long r;

	if (!strcmp(name, "mount")) {
		r = mount("none", "/tmp", "tmpfs", 0, NULL);
	} else if (!strcmp(name, "umount")) {
		r = umount2(arg ? arg : "/proc", MNT_DETACH);
	} else if (!strcmp(name, "unshare-user")) {
		r = unshare(CLONE_NEWUSER);
	} else if (!strcmp(name, "clone-user")) {
		pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
		if (p == 0)
			_exit(0);
		if (p > 0)
			waitpid(p, NULL, 0);
		r = p;
	} else if (!strcmp(name, "unshare-mount")) {
		r = unshare(CLONE_NEWNS);
	} else if (!strcmp(name, "setns")) {
		int fd = open("/proc/self/ns/net", O_RDONLY);
		r = fd < 0 ? -1 : setns(fd, 0);
	} else if (!strcmp(name, "keyctl")) {
		r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
	} else if (!strcmp(name, "add_key")) {
		r = syscall(SYS_add_key, "user", "probe", "x", 1, -3);
	} else if (!strcmp(name, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		r = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	} else if (!strcmp(name, "perf_event_open")) {
		struct perf_event_attr pe;
		memset(&pe, 0, sizeof(pe));
		pe.type = PERF_TYPE_SOFTWARE;
		pe.size = sizeof(pe);
		pe.config = PERF_COUNT_SW_CPU_CLOCK;
		pe.exclude_kernel = 1;
		r = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
	} else if (!strcmp(name, "userfaultfd")) {
		r = syscall(SYS_userfaultfd, O_CLOEXEC);
	} else if (!strcmp(name, "open_by_handle_at")) {
		struct {
			unsigned int bytes;
			int type;
			unsigned char h[128];
		} fh = { .bytes = 8, .type = 1 };
		r = syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
	} else if (!strcmp(name, "tiocsti")) {
		char c = 'x';
		int fd = open(arg ? arg : "/dev/tty", O_RDWR | O_NOCTTY);
		r = fd < 0 ? -1 : ioctl(fd, TIOCSTI, &c);
	} else if (!strcmp(name, "tiocsti-stdin")) {
		char c = 'x';
		r = ioctl(0, TIOCSTI, &c);
	} else if (!strcmp(name, "io_uring_setup")) {
		unsigned char params[120];
		memset(params, 0, sizeof(params));
		r = syscall(SYS_io_uring_setup, 1, params);
	} else if (!strcmp(name, "kexec_load")) {
		r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
	} else if (!strcmp(name, "init_module")) {
		r = syscall(SYS_init_module, NULL, 0, "");
	} else if (!strcmp(name, "clock_settime")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = clock_settime(CLOCK_REALTIME, &ts);
	} else if (!strcmp(name, "swapon")) {
		r = swapon("/nonexistent", 0);
	} else if (!strcmp(name, "reboot")) {
		r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			    LINUX_REBOOT_CMD_CAD_OFF, NULL);
	} else if (!strcmp(name, "acct")) {
		r = acct(NULL);
	} else if (!strcmp(name, "mknod")) {
		r = mknod(arg ? arg : "/tmp/probe-null", S_IFCHR | 0666, makedev(1, 3));
	} else if (!strcmp(name, "chroot")) {
		r = chroot("/");
	} else if (!strcmp(name, "ptrace")) {
		r = ptrace(PTRACE_ATTACH, (pid_t)atoi(arg ? arg : "1"), NULL, NULL);
	} else if (!strcmp(name, "kill")) {
		r = kill((pid_t)atoi(arg ? arg : "1"), 0);
	} else if (!strcmp(name, "sethostname")) {
		r = sethostname("probe", 5);
	} else if (!strcmp(name, "chown")) {
		r = chown(arg ? arg : "/tmp", 0, 0);
	} else if (!strcmp(name, "setuid0")) {
		r = setuid(0);
	} else if (!strcmp(name, "raw-socket")) {
		r = socket(AF_INET, SOCK_RAW, 1);
	} else if (!strcmp(name, "open")) {
		r = open(arg, O_RDONLY);
	} else {
		fprintf(stderr, "probe: unknown operation '%s'\n", name);
		return 2;
	}
	return report(name, r);
}

static int cmd_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	long total = 0;

	if (fd < 0) {
		printf("read %s\n", errname(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			printf("read %s\n", errname(errno));
			return 1;
		}
		if (n == 0)
			break;
		total += n;
	}
	printf("read ok %ld\n", total);
	return 0;
}

static int cmd_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "probe\n", 6) != 6) {
		printf("write %s\n", errname(errno));
		return 1;
	}
	close(fd);
	printf("write ok\n");
	return 0;
}

static int cmd_forkbomb(void)
{
	/* Fork until refused; children sleep so they count. The parent keeps
	 * trying, as a real fork bomb would, until it is killed. */
	unsigned refused = 0;
	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			if (++refused == 1) {
				printf("fork refused %s\n", errname(errno));
				fflush(stdout);
			}
			usleep(1000);
		}
	}
}

static int cmd_balloon(void)
{
	size_t chunk = 8 << 20;
	for (;;) {
		char *p = malloc(chunk);
		if (!p) {
			printf("balloon ENOMEM\n");
			return 1;
		}
		memset(p, 0x5a, chunk);
	}
}

/* ---- network ------------------------------------------------------------ */

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

struct target {
	struct sockaddr_storage sa;
	socklen_t len;
	int tcp;
};

static int parse_addr(const char *a, unsigned port, struct target *t)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&t->sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->sa;

	memset(&t->sa, 0, sizeof(t->sa));
	if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		t->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		t->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* ADDR:PORT/PROTO or [ADDR6]:PORT/PROTO */
static int parse_target(const char *spec, struct target *t)
{
	char buf[128], *addr, *port, *proto;

	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	proto = strrchr(buf, '/');
	if (!proto)
		return -1;
	*proto++ = '\0';
	if (!strcmp(proto, "tcp"))
		t->tcp = 1;
	else if (!strcmp(proto, "udp"))
		t->tcp = 0;
	else
		return -1;
	port = strrchr(buf, ':');
	if (!port)
		return -1;
	*port++ = '\0';
	addr = buf;
	if (*addr == '[') {
		size_t n = strlen(addr);
		if (n < 2 || addr[n - 1] != ']')
			return -1;
		addr[n - 1] = '\0';
		addr++;
	}
	return parse_addr(addr, (unsigned)atoi(port), t);
}

static void fmt_sa(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int set_freebind(int s, int family)
{
	int one = 1;
	if (family == AF_INET6)
		return setsockopt(s, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	return setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
}

/* One attempt; the outcome as a word (+ banner) in out. Returns the exit
 * status: 0 open, 3 refused, 4 timeout, 5 another error. */
static int try_connect(const struct target *t, int timeout_ms, const char *src,
		       char *out, size_t len)
{
	struct timespec t0;
	struct pollfd p;
	char buf[256];
	int s, e = 0, r;
	socklen_t el = sizeof(e);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = socket(t->sa.ss_family, (t->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	if (src) {
		struct target b;
		if (parse_addr(src, 0, &b) < 0 || b.sa.ss_family != t->sa.ss_family) {
			snprintf(out, len, "bad-source");
			return 2;
		}
		if (set_freebind(s, b.sa.ss_family) < 0 ||
		    bind(s, (struct sockaddr *)&b.sa, b.len) < 0)
			goto fail;
	}
	if (connect(s, (const struct sockaddr *)&t->sa, t->len) < 0 && errno != EINPROGRESS)
		goto fail;
	if (t->tcp) {
		p = (struct pollfd){ .fd = s, .events = POLLOUT };
		r = poll(&p, 1, timeout_ms);
		if (r < 0)
			goto fail;
		if (r == 0)
			goto timeout;
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			goto fail;
		if (e) {
			errno = e;
			goto fail;
		}
	} else if (send(s, "probe\n", 6, 0) < 0) {
		goto fail;
	}
	/* Wait for the listener's line (UDP: the answer at all). */
	for (;;) {
		long left = timeout_ms - ms_since(&t0);
		if (left < 1)
			left = 1;
		p = (struct pollfd){ .fd = s, .events = POLLIN };
		r = poll(&p, 1, (int)left);
		if (r < 0)
			goto fail;
		if (r == 0) {
			if (t->tcp) {
				/* connected, but the listener said nothing */
				snprintf(out, len, "open");
				close(s);
				return 0;
			}
			goto timeout;
		}
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			goto fail;
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		snprintf(out, len, n ? "open %s" : "open", buf);
		close(s);
		return 0;
	}
timeout:
	snprintf(out, len, "timeout");
	close(s);
	return 4;
fail:
	e = errno;
	if (s >= 0)
		close(s);
	if (e == ECONNREFUSED) {
		snprintf(out, len, "refused");
		return 3;
	}
	snprintf(out, len, "%s", errname(e));
	return 5;
}

static int cmd_connect(int argc, char **argv)
{
	struct target t;
	char out[300];
	int rc;

	if (argc < 4 || argc > 7)
		goto usage;
	t.tcp = argc < 5 || !strcmp(argv[4], "tcp");
	if (argc >= 5 && strcmp(argv[4], "tcp") && strcmp(argv[4], "udp"))
		goto usage;
	if (parse_addr(argv[2], (unsigned)atoi(argv[3]), &t) < 0)
		goto usage;
	rc = try_connect(&t, argc >= 6 ? atoi(argv[5]) : 1000, argc >= 7 ? argv[6] : NULL,
			 out, sizeof(out));
	printf("%s\n", out);
	return rc;
usage:
	fprintf(stderr, "probe: usage: probe connect ADDR PORT [tcp|udp] [TIMEOUT_MS] [SRC]\n");
	return 2;
}

static int cmd_scan(int argc, char **argv)
{
	int timeout = 1000, first = 2, n;

	if (argc >= 4 && !strcmp(argv[2], "-t")) {
		timeout = atoi(argv[3]);
		first = 4;
	}
	n = argc - first;
	if (n < 1) {
		fprintf(stderr, "probe: usage: probe scan [-t MS] TARGET[@SRC]...\n");
		return 2;
	}
	int *fds = calloc((size_t)n, sizeof(int));
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	if (!fds || !pids)
		return 1;
	for (int i = 0; i < n; i++) {
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return 1;
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0) {
			char spec[160], out[300], *src;
			struct target t;
			snprintf(spec, sizeof(spec), "%s", argv[first + i]);
			src = strchr(spec, '@');
			if (src)
				*src++ = '\0';
			if (parse_target(spec, &t) < 0)
				snprintf(out, sizeof(out), "bad-target");
			else
				try_connect(&t, timeout, src, out, sizeof(out));
			dprintf(pfd[1], "%s", out);
			_exit(0);
		}
		close(pfd[1]);
		fds[i] = pfd[0];
	}
	for (int i = 0; i < n; i++) {
		char out[300];
		size_t got = 0;
		ssize_t k;
		while (got < sizeof(out) - 1 &&
		       (k = read(fds[i], out + got, sizeof(out) - 1 - got)) > 0)
			got += (size_t)k;
		out[got] = '\0';
		close(fds[i]);
		waitpid(pids[i], NULL, 0);
		printf("%s %s\n", argv[first + i], got ? out : "no-answer");
	}
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	int n = argc - 2;
	struct pollfd *p = calloc((size_t)(n > 0 ? n : 1), sizeof(*p));
	struct target *t = calloc((size_t)(n > 0 ? n : 1), sizeof(*t));
	int one = 1;

	if (n < 1 || !p || !t) {
		fprintf(stderr, "probe: usage: probe serve TARGET...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < n; i++) {
		const char *spec = argv[2 + i];
		if (parse_target(spec, &t[i]) < 0) {
			fprintf(stderr, "probe: bad target '%s'\n", spec);
			return 2;
		}
		int s = socket(t[i].sa.ss_family, (t[i].tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    (t[i].sa.ss_family == AF_INET6 &&
		     setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
		    set_freebind(s, t[i].sa.ss_family) < 0 ||
		    bind(s, (struct sockaddr *)&t[i].sa, t[i].len) < 0 ||
		    (t[i].tcp && listen(s, 64) < 0)) {
			printf("serve %s %s\n", spec, errname(errno));
			return 1;
		}
		p[i] = (struct pollfd){ .fd = s, .events = POLLIN };
	}
	printf("listening\n");
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			char ps[INET6_ADDRSTRLEN + 8], line[160], buf[512];
			const char *spec = argv[2 + i];

			if (!(p[i].revents & POLLIN))
				continue;
			snprintf(line, sizeof(line), "%s\n", spec);
			if (t[i].tcp) {
				int c = accept4(p[i].fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
				if (c < 0)
					continue;
				fmt_sa(&peer, ps, sizeof(ps));
				printf("tcp %s %s\n", ps, spec);
				if (write(c, line, strlen(line)) < 0) {
					/* the peer went away: nothing to answer */
				}
				close(c);
			} else {
				ssize_t k = recvfrom(p[i].fd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&peer, &pl);
				if (k < 0)
					continue;
				fmt_sa(&peer, ps, sizeof(ps));
				printf("udp %s %s\n", ps, spec);
				sendto(p[i].fd, line, strlen(line), 0, (struct sockaddr *)&peer, pl);
			}
		}
	}
}

static int cmd_ifaces(void)
{
	struct if_nameindex *ifs = if_nameindex();

	if (!ifs) {
		printf("ifaces %s\n", errname(errno));
		return 1;
	}
	for (struct if_nameindex *i = ifs; i->if_index; i++)
		printf("%s\n", i->if_name);
	if_freenameindex(ifs);
	return 0;
}

static uint16_t ip_csum(const void *data, size_t len)
{
	const uint16_t *w = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int cmd_raw(const char *src, const char *dst, const char *port)
{
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char data[32];
	} __attribute__((packed)) pkt;
	struct sockaddr_in to = { .sin_family = AF_INET };
	size_t dlen;
	int s;

	memset(&pkt, 0, sizeof(pkt));
	snprintf(pkt.data, sizeof(pkt.data), "raw %s\n", src);
	dlen = strlen(pkt.data);
	if (inet_pton(AF_INET, src, &pkt.ip.saddr) != 1 ||
	    inet_pton(AF_INET, dst, &pkt.ip.daddr) != 1) {
		fprintf(stderr, "probe: usage: probe raw SRC DST PORT (IPv4)\n");
		return 2;
	}
	to.sin_addr.s_addr = pkt.ip.daddr;
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons((uint16_t)(sizeof(pkt.ip) + sizeof(pkt.udp) + dlen));
	pkt.ip.id = htons(4242);
	pkt.ip.check = ip_csum(&pkt.ip, sizeof(pkt.ip));
	pkt.udp.source = htons(40000);
	pkt.udp.dest = htons((uint16_t)atoi(port));
	pkt.udp.len = htons((uint16_t)(sizeof(pkt.udp) + dlen));
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (s < 0 || sendto(s, &pkt, sizeof(pkt.ip) + sizeof(pkt.udp) + dlen, 0,
			    (struct sockaddr *)&to, sizeof(to)) < 0) {
		printf("raw %s\n", errname(errno));
		return 1;
	}
	close(s);
	printf("raw sent\n");
	return 0;
}

/* Delete every table of every family, in one batch, as `nft flush
 * ruleset` does. */
static int cmd_nft_flush(void)
{
	char buf[8192];
	struct nlmsghdr *h;
	struct nfgenmsg *g;
	size_t off = 0;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 3 };
	int s, e;
	static const uint16_t types[3] = {
		NFNL_MSG_BATCH_BEGIN,
		(NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE,
		NFNL_MSG_BATCH_END,
	};

	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 3; i++) {
		h = (struct nlmsghdr *)(buf + off);
		h->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
		h->nlmsg_type = types[i];
		h->nlmsg_flags = NLM_F_REQUEST | (i == 1 ? NLM_F_ACK : 0);
		h->nlmsg_seq = (uint32_t)(i + 1);
		g = NLMSG_DATA(h);
		g->nfgen_family = NFPROTO_UNSPEC;
		g->version = NFNETLINK_V0;
		g->res_id = i == 1 ? 0 : htons(NFNL_SUBSYS_NFTABLES);
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(s, buf, off, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		goto fail;
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n < 0)
			goto fail;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (e) {
				printf("nft-flush %s\n", errname(e));
				return 1;
			}
			if (h->nlmsg_seq == 2) {
				printf("nft-flush ok\n");
				return 0;
			}
		}
	}
fail:
	printf("nft-flush %s\n", errname(errno));
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: probe ids|fds|env|try|read|write|forkbomb|balloon|sleep|exit|kill|\n"
				"connect|scan|serve|ifaces|raw|nft-flush ...\n");
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "ids"))
		return cmd_ids();
	if (!strcmp(c, "fds"))
		return cmd_fds();
	if (!strcmp(c, "env")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (!strcmp(c, "try") && argc >= 3)
		return try_op(argv[2], argc >= 4 ? argv[3] : NULL);
	if (!strcmp(c, "read") && argc == 3)
		return cmd_read(argv[2]);
	if (!strcmp(c, "write") && argc == 3)
		return cmd_write(argv[2]);
	if (!strcmp(c, "forkbomb"))
		return cmd_forkbomb();
	if (!strcmp(c, "balloon"))
		return cmd_balloon();
	if (!strcmp(c, "sleep") && argc == 3) {
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	if (!strcmp(c, "exit") && argc == 3)
		return atoi(argv[2]);
	if (!strcmp(c, "kill") && argc == 3) {
		signal(atoi(argv[2]), SIG_DFL);
		kill(getpid(), atoi(argv[2]));
		pause();
	}
	if (!strcmp(c, "connect"))
		return cmd_connect(argc, argv);
	if (!strcmp(c, "scan"))
		return cmd_scan(argc, argv);
	if (!strcmp(c, "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(c, "ifaces"))
		return cmd_ifaces();
	if (!strcmp(c, "raw") && argc == 5)
		return cmd_raw(argv[2], argv[3], argv[4]);
	if (!strcmp(c, "nft-flush"))
		return cmd_nft_flush();
	fprintf(stderr, "probe: bad arguments\n");
	return 2;
}
