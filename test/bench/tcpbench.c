/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcpbench - the TCP throughput and round-trip probe of test/bench/net.sh.
 * Built static by net.sh (cc -static) so that it also runs inside a
 * workspace of the busybox test rootfs, reached there through --dir.
 *
 *   tcpbench serve ADDR PORT
 *       accept connections one after the other; the first byte of each
 *       says what to do: 'S' sink (read to EOF, answer the byte count as 8
 *       bytes), 'E' echo (return each message of the size given by the
 *       next 4 bytes until EOF). Prints "listening" once bound.
 *   tcpbench send ADDR PORT MIB
 *       connect, push MIB MiB in 128 KiB writes, half-close, wait for the
 *       count; prints "send MIB MiB S s RATE MiB/s".
 *   tcpbench rr ADDR PORT MS [SIZE]
 *       connect (TCP_NODELAY), ping-pong SIZE-byte (default 1) messages
 *       for MS milliseconds; prints "rr N round trips RATE/s US us each".
 *
 * IPv4 or IPv6 literals only. Exit status 0, or 1 with a message on stderr.
 * Sends nothing anywhere but the address it is given.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)

static char buf[CHUNK];

static void fail(const char *what)
{
	fprintf(stderr, "tcpbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static socklen_t addr_of(const char *host, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	long p = strtol(port, NULL, 10);

	memset(ss, 0, sizeof(*ss));
	if (p <= 0 || p > 65535) {
		fprintf(stderr, "tcpbench: bad port '%s'\n", port);
		exit(1);
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		return sizeof(*a6);
	}
	fprintf(stderr, "tcpbench: '%s' is not an IP address\n", host);
	exit(1);
}

static int read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t k = write(fd, (const char *)p + put, n - put);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		put += (size_t)k;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void serve_one(int c)
{
	char mode;

	if (read_full(c, &mode, 1) < 0)
		return;
	if (mode == 'S') {
		uint64_t total = 0;
		ssize_t k;
		while ((k = read(c, buf, sizeof(buf))) > 0 || (k < 0 && errno == EINTR))
			if (k > 0)
				total += (uint64_t)k;
		write_full(c, &total, sizeof(total));
	} else if (mode == 'E') {
		uint32_t size;
		nodelay(c);
		if (read_full(c, &size, sizeof(size)) < 0 || size == 0 || size > sizeof(buf))
			return;
		while (read_full(c, buf, size) == 0 && write_full(c, buf, size) == 0)
			;
	}
}

__attribute__((noreturn)) static void cmd_serve(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(host, port, &ss);
	int one = 1;
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		fail("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, len) < 0)
		fail("bind");
	if (listen(s, 16) < 0)
		fail("listen");
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fail("accept");
		}
		serve_one(c);
		close(c);
	}
}

static int dial(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(host, port, &ss);
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		fail("socket");
	if (connect(s, (struct sockaddr *)&ss, len) < 0)
		fail("connect");
	return s;
}

static int cmd_send(const char *host, const char *port, const char *mib_s)
{
	long mib = strtol(mib_s, NULL, 10);
	uint64_t want = (uint64_t)mib << 20, total = 0;
	int s = dial(host, port);

	if (mib <= 0)
		return fprintf(stderr, "tcpbench: bad size '%s'\n", mib_s), 1;
	memset(buf, 'x', sizeof(buf));
	double t0 = now();
	if (write_full(s, "S", 1) < 0)
		fail("write");
	for (uint64_t sent = 0; sent < want; sent += CHUNK)
		if (write_full(s, buf, CHUNK) < 0)
			fail("write");
	shutdown(s, SHUT_WR);
	if (read_full(s, &total, sizeof(total)) < 0)
		fail("read the count");
	double dt = now() - t0;
	if (total != want)
		return fprintf(stderr, "tcpbench: peer got %llu of %llu bytes\n",
			       (unsigned long long)total, (unsigned long long)want), 1;
	printf("send %ld MiB %.4f s %.1f MiB/s\n", mib, dt, (double)mib / dt);
	close(s);
	return 0;
}

static int cmd_rr(const char *host, const char *port, const char *ms_s, const char *size_s)
{
	long ms = strtol(ms_s, NULL, 10);
	uint32_t size = size_s ? (uint32_t)strtoul(size_s, NULL, 10) : 1;
	int s = dial(host, port);
	unsigned long n = 0;

	if (ms <= 0 || size == 0 || size > sizeof(buf))
		return fprintf(stderr, "tcpbench: bad duration or size\n"), 1;
	nodelay(s);
	if (write_full(s, "E", 1) < 0 || write_full(s, &size, sizeof(size)) < 0)
		fail("write");
	double t0 = now(), end = t0 + (double)ms / 1000, t = t0;
	do {
		if (write_full(s, buf, size) < 0 || read_full(s, buf, size) < 0)
			fail("round trip");
		n++;
	} while ((n & 63) || (t = now()) < end);
	double dt = t - t0;
	printf("rr %lu round trips %.0f/s %.1f us each\n", n, (double)n / dt, dt * 1e6 / (double)n);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		cmd_serve(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return cmd_send(argv[2], argv[3], argv[4]);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "rr") == 0)
		return cmd_rr(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	fprintf(stderr, "usage: tcpbench serve ADDR PORT | send ADDR PORT MIB | rr ADDR PORT MS [SIZE]\n");
	return 2;
}
