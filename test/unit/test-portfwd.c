/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-portfwd - port publishing without the root-only steps: record
 * names, record lines and their strict parsing, listing and clearing the
 * records, and the exact errors of publish/unpublish that come before any
 * forwarder exists (network = host, a host port already taken, a port
 * already published, a port not published). A stale record is never a
 * reason to signal a process by bare pid.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "portfwd.h"
#include "tap.h"

static struct enc_port port_of(const char *s)
{
	struct enc_port p = { 0 };

	if (enc_parse_port(s, &p, NULL) != 0)
		printf("# bad test port %s\n", s);
	return p;
}

static void test_strings(void)
{
	char buf[ENC_PORT_SPEC_MAX], small[8];
	struct enc_port p = port_of("127.0.0.1:3001:3000/tcp");
	struct enc_port q = port_of("[::1]:5353:53/udp");

	is_int(enc_port_host_str(&p, buf, sizeof(buf)), 18, "host_str v4: length");
	is_str(buf, "127.0.0.1:3001/tcp", "host_str v4");
	enc_port_host_str(&q, buf, sizeof(buf));
	is_str(buf, "[::1]:5353/udp", "host_str v6 in brackets");
	is_int(enc_port_host_str(&p, small, sizeof(small)), -ENOSPC, "host_str: short buffer");

	enc_port_rec_name(&p, buf, sizeof(buf));
	is_str(buf, "tcp-127.0.0.1-3001", "record name v4");
	enc_port_rec_name(&q, buf, sizeof(buf));
	is_str(buf, "udp-::1-5353", "record name v6");
	struct enc_port any = port_of("0.0.0.0:8080:80");
	enc_port_rec_name(&any, buf, sizeof(buf));
	is_str(buf, "tcp-0.0.0.0-8080", "record name: 0.0.0.0, default tcp");
	struct enc_port bad = p;
	bad.proto = ENC_PROTO_ANY;
	is_int(enc_port_rec_name(&bad, buf, sizeof(buf)), -EINVAL, "record name: proto any refused");
	bad = p;
	bad.host_port = 0;
	is_int(enc_port_rec_name(&bad, buf, sizeof(buf)), -EINVAL, "record name: port 0 refused");

	/* The same host side, whatever the workspace port. */
	struct enc_port other = port_of("127.0.0.1:3001:4000/tcp");
	ok(enc_port_same_host(&p, &other), "same host: workspace port ignored");
	other = port_of("127.0.0.1:3001:3000/udp");
	ok(!enc_port_same_host(&p, &other), "same host: protocol differs");
	other = port_of("127.0.0.1:3002:3000/tcp");
	ok(!enc_port_same_host(&p, &other), "same host: port differs");
	other = port_of("127.0.0.2:3001:3000/tcp");
	ok(!enc_port_same_host(&p, &other), "same host: address differs");
	other = port_of("[::1]:3001:3000/tcp");
	ok(!enc_port_same_host(&p, &other), "same host: family differs");
}

static void test_records(void)
{
	char line[256];
	struct enc_port_rec r = { .port = port_of("[::1]:8443:443/tcp"),
				  .fwd = { .pid = 4242, .start = 123456 } };
	struct enc_port_rec back;
	struct enc_err err = {};

	is_int(enc_port_rec_format(&r, line, sizeof(line)), 31, "record line: length");
	is_str(line, "[::1]:8443:443/tcp 4242 123456\n", "record line");
	is_int(enc_port_rec_parse(line, &back, &err), 0, "record line parses back");
	ok(enc_port_same_host(&back.port, &r.port) && back.port.ws_port == 443 &&
		   back.fwd.pid == 4242 && back.fwd.start == 123456,
	   "record line: round trip exact");
	is_int(enc_port_rec_parse("127.0.0.1:3001:3000/udp 7 8", &back, NULL), 0,
	       "record without newline");
	is_int(back.port.proto, ENC_PROTO_UDP, "record: udp");

	static const char *const bad[] = {
		"",
		"127.0.0.1:3001:3000/tcp",
		"127.0.0.1:3001:3000/tcp ",
		"127.0.0.1:3001:3000/tcp 42",
		"127.0.0.1:3001:3000/tcp 0 5",
		"127.0.0.1:3001:3000/tcp x 5",
		"127.0.0.1:3001:3000/tcp 42 5 6",
		"127.0.0.1:3001:3000/tcp 42 5\nmore",
		" 127.0.0.1:3001:3000/tcp 42 5",
		"localhost:3001:3000/tcp 42 5",
		"127.0.0.1:3001:3000/icmp 42 5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enc_err_clear(&err);
		back.fwd.pid = 99;
		int rr = enc_port_rec_parse(bad[i], &back, &err);
		ok(rr == -EINVAL && back.fwd.pid == 99 &&
			   strncmp(err.msg, "malformed port record '", 23) == 0,
		   "malformed record %zu refused, value untouched", i);
	}
	r.fwd.pid = 0;
	is_int(enc_port_rec_format(&r, line, sizeof(line)), -EINVAL, "record line: pid 0 refused");
}

static char tmpdir[] = "/tmp/test-portfwd.XXXXXX";

static void put(int dfd, const char *name, const char *content)
{
	if (enc_fact_write(dfd, name, content, strlen(content), 0600, false, NULL) < 0)
		printf("# cannot write %s\n", name);
}

static void test_store(void)
{
	struct enc_ws w = ENC_WS_INIT;
	struct enc_port_rec *v = NULL;
	struct enc_err err = {};
	size_t n = 99;
	struct enc_pidref me;

	if (!mkdtemp(tmpdir)) {
		ok(false, "mkdtemp");
		return;
	}
	w.sandbox = (char *)"sb";
	w.name = (char *)"ws";
	w.run_path = tmpdir;
	w.run_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enc_pidref_of(getpid(), &me);

	is_int(enc_ports_list(&w, &v, &n, &err), 0, "list without a ports dir");
	is_int((int)n, 0, "list without a ports dir: empty");

	/* network = host: nothing to forward into. */
	struct enc_port p = port_of("127.0.0.1:3001:3000/tcp");
	struct enc_cgroup cg = { .nhier = 0 };
	is_int(enc_ports_publish(&w, -1, &cg, &p, &err), -EINVAL, "publish with network = host");
	is_str(err.msg, "ports: not with network = host", "network = host: message");

	/* A host port already taken: the error names it, nothing is left. */
	int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	bind(taken, (struct sockaddr *)&sa, sizeof(sa));
	listen(taken, 1);
	getsockname(taken, (struct sockaddr *)&sa, &sl);
	char spec[64], want[128];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u:3000/tcp", ntohs(sa.sin_port));
	struct enc_port busy = port_of(spec);
	int nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	enc_err_clear(&err);
	is_int(enc_ports_publish(&w, nsfd, &cg, &busy, &err), -EADDRINUSE,
	       "publish a port taken on the host");
	snprintf(want, sizeof(want), "127.0.0.1:%u/tcp is already in use on the host",
		 ntohs(sa.sin_port));
	is_str(err.msg, want, "port taken: message names it");
	enc_ports_list(&w, &v, &n, NULL);
	is_int((int)n, 0, "port taken: nothing recorded");
	free(v);
	close(taken);

	/* Records: listed sorted, the lock and leftovers skipped. */
	int dfd = enc_opendir_at(w.run_fd, ENC_PORTS_DIR, NULL);
	ok(dfd >= 0, "publish made the ports dir");
	char line[128];
	snprintf(line, sizeof(line), "127.0.0.1:3001:3000/tcp %d %" PRIu64 "\n", (int)me.pid,
		 me.start);
	put(dfd, "tcp-127.0.0.1-3001", line);
	put(dfd, "udp-::1-5353", "[::1]:5353:53/udp 1 18446744073709551615\n");
	put(dfd, "tcp-10.0.0.1-80", "10.0.0.1:80:8080/tcp 2 2\n");
	put(dfd, "tcp-10.0.0.1-81.new", "garbage");
	enc_err_clear(&err);
	is_int(enc_ports_list(&w, &v, &n, &err), 0, "list records");
	is_int((int)n, 3, "list: three records");
	if (n == 3) {
		char s[ENC_PORT_SPEC_MAX];
		enc_format_port(&v[0].port, s, sizeof(s));
		is_str(s, "10.0.0.1:80:8080/tcp", "list sorted: first");
		enc_format_port(&v[1].port, s, sizeof(s));
		is_str(s, "127.0.0.1:3001:3000/tcp", "list sorted: second");
		enc_format_port(&v[2].port, s, sizeof(s));
		is_str(s, "[::1]:5353:53/udp", "list sorted: udp last");
		is_int(enc_ports_alive(&v[1]), 1, "alive: a live pidref");
		is_int(enc_ports_alive(&v[2]), 0, "alive: pid 1 with a wrong start time is not");
	}
	free(v);

	/* Already published (its forwarder alive): refused before binding. */
	enc_err_clear(&err);
	is_int(enc_ports_publish(&w, nsfd, &cg, &p, &err), -EEXIST, "publish twice");
	is_str(err.msg, "127.0.0.1:3001/tcp is already published by workspace sb/ws",
	       "publish twice: message");

	/* A record that does not match its name is not ours. */
	put(dfd, "tcp-127.0.0.2-9", "127.0.0.1:9:9/tcp 3 3\n");
	enc_err_clear(&err);
	is_int(enc_ports_list(&w, &v, &n, &err), -EINVAL, "list: record under a wrong name");
	is_str(err.msg, "ports/tcp-127.0.0.2-9: record does not match its name",
	       "wrong name: message");
	unlinkat(dfd, "tcp-127.0.0.2-9", 0);
	put(dfd, "tcp-127.0.0.3-9", "127.0.0.3:9:9/tcp 3\n");
	enc_err_clear(&err);
	is_int(enc_ports_list(&w, &v, &n, &err), -EINVAL, "list: malformed record");
	has_str(err.msg, "ports/tcp-127.0.0.3-9: malformed port record", "malformed: names it");
	unlinkat(dfd, "tcp-127.0.0.3-9", 0);

	/* Unpublish: not published; a stale record (its process gone, or the
	 * pid now someone else's) is removed without signalling anyone. */
	struct enc_port none = port_of("127.0.0.1:4000:4000/udp");
	enc_err_clear(&err);
	is_int(enc_ports_unpublish(&w, &none, &err), -ENOENT, "unpublish what is not published");
	is_str(err.msg, "127.0.0.1:4000/udp is not published by workspace sb/ws",
	       "not published: message");
	snprintf(line, sizeof(line), "127.0.0.1:3001:3000/tcp %d %" PRIu64 "\n", (int)me.pid,
		 me.start + 1);
	put(dfd, "tcp-127.0.0.1-3001", line);
	enc_err_clear(&err);
	is_int(enc_ports_unpublish(&w, &p, &err), 0,
	       "unpublish a stale record (our pid, another start time): we are still here");
	ok(faccessat(dfd, "tcp-127.0.0.1-3001", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT,
	   "unpublish removed the record");

	enc_ports_clear(&w);
	ok(faccessat(w.run_fd, ENC_PORTS_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT,
	   "clear removes the ports dir");
	enc_ports_clear(&w);
	ok(true, "clear twice is fine");
	is_int(enc_ports_list(&w, &v, &n, NULL), 0, "list after clear");
	is_int((int)n, 0, "list after clear: empty");

	close(dfd);
	close(nsfd);
	close(w.run_fd);
	rmdir(tmpdir);
}

int main(void)
{
	test_strings();
	test_records();
	test_store();
	return tap_done();
}
