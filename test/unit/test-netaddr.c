/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-netaddr - addresses, port publishing specs and CIDR allow rules:
 * exact parsed values (checked through the canonical spelling and the
 * fields), exact errors, round trips and enc_cidr_contains() at every
 * prefix length.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "parse.h"
#include "tap.h"

static const char *tname(const char *what, const char *in)
{
	static char name[ENC_QUOTE_BUF + 64];
	char q[ENC_QUOTE_BUF];

	snprintf(name, sizeof(name), "%s '%s'", what, enc_quote(q, in));
	return name;
}

static struct enc_ip ip_of(const char *s)
{
	struct enc_ip ip = { 0 };

	if (enc_parse_ip(s, &ip, NULL) != 0)
		printf("# bad test address %s\n", s);
	return ip;
}

static bool ip_eq(const struct enc_ip *a, const struct enc_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* --- addresses ----------------------------------------------------------- */

struct ip_case {
	const char *in;
	int rc;
	int family;
	const char *want;	/* canonical spelling, or message fragment */
};

static const struct ip_case ip_cases[] = {
	{ "127.0.0.1", 0, AF_INET, "127.0.0.1" },
	{ "0.0.0.0", 0, AF_INET, "0.0.0.0" },
	{ "255.255.255.255", 0, AF_INET, "255.255.255.255" },
	{ "192.0.2.7", 0, AF_INET, "192.0.2.7" },
	{ "::", 0, AF_INET6, "::" },
	{ "::1", 0, AF_INET6, "::1" },
	{ "2001:db8::1", 0, AF_INET6, "2001:db8::1" },
	{ "2001:DB8:0:0:0:0:0:1", 0, AF_INET6, "2001:db8::1" },
	{ "0000:0000:0000:0000:0000:0000:0000:0001", 0, AF_INET6, "::1" },
	{ "fe80::1", 0, AF_INET6, "fe80::1" },
	{ "::ffff:1.2.3.4", 0, AF_INET6, "::ffff:1.2.3.4" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 0, AF_INET6,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ "", -EINVAL, 0, "expected an IPv4 or IPv6 address, got ''" },
	{ "github.com", -EINVAL, 0, "'github.com' is not a numeric address (names are not resolved)" },
	{ "localhost", -EINVAL, 0, "'localhost' is not a numeric address" },
	{ "fe80::1%eth0", -EINVAL, 0, "'fe80::1%eth0': zone ids such as %eth0 are not supported" },
	{ "fe80::1%1", -EINVAL, 0, "zone ids" },
	{ "1.2.3", -EINVAL, 0, "expected an IPv4 or IPv6 address, got '1.2.3'" },
	{ "1.2.3.256", -EINVAL, 0, "got '1.2.3.256'" },
	{ "01.2.3.4", -EINVAL, 0, "got '01.2.3.4'" },
	{ "1.2.3.4 ", -EINVAL, 0, "got '1.2.3.4 '" },
	{ " 1.2.3.4", -EINVAL, 0, "got ' 1.2.3.4'" },
	{ "1.2.3.4.5", -EINVAL, 0, "got '1.2.3.4.5'" },
	{ "0x7f.0.0.1", -EINVAL, 0, "not a numeric address" },
	{ "[::1]", -EINVAL, 0, "got '[::1]'" },
	{ "1::2::3", -EINVAL, 0, "got '1::2::3'" },
	{ ":::1", -EINVAL, 0, "got ':::1'" },
	{ "1:2:3:4:5:6:7:8:9", -EINVAL, 0, "got '1:2:3:4:5:6:7:8:9'" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555", -EINVAL, 0, "expected an IPv4 or IPv6 address" },
	{ "0000:0000:0000:0000:0000:0000:0000:0000:0000:0001", -EINVAL, 0, "expected an IPv4 or IPv6 address" },
	{ "1.2.3.4/8", -EINVAL, 0, "got '1.2.3.4/8'" },
	{ "\x01\x02", -EINVAL, 0, "got '\\x01\\x02'" },
};

static void test_ip(void)
{
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(ip_cases); i++) {
		const struct ip_case *c = &ip_cases[i];
		struct enc_err e = { 0 };
		struct enc_ip ip = { .family = -1 };
		int r = enc_parse_ip(c->in, &ip, &e);

		is_int(r, c->rc, tname("ip", c->in));
		if (r == 0) {
			is_int(ip.family, c->family, "ip family");
			enc_format_ip(&ip, buf, sizeof(buf));
			is_str(buf, c->want, "ip canonical");
		} else {
			is_int(ip.family, -1, "ip untouched on error");
			is_int(e.code, c->rc, "ip err code");
			has_str(e.msg, c->want, "ip message");
		}
	}

	struct enc_ip ip;
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 1, 2, 3, 4 };
	enc_parse_ip("127.0.0.1", &ip, NULL);
	ok(memcmp(ip.addr, lo, 4) == 0, "IPv4 bytes in network order in addr[0..3]");
	enc_parse_ip("::ffff:1.2.3.4", &ip, NULL);
	ok(ip.family == AF_INET6 && memcmp(ip.addr, mapped, 16) == 0,
	   "IPv4-mapped address is kept as IPv6");
	is_int(enc_parse_ip(NULL, &ip, NULL), -EINVAL, "ip NULL");

	struct enc_ip bad = { .family = AF_UNIX };
	ok(enc_format_ip(&bad, buf, sizeof(buf)) < 0, "format ip: bad family fails");
	ip = ip_of("2001:db8::1");
	is_int(enc_format_ip(&ip, buf, 5), 11, "format ip: snprintf length");
	is_str(buf, "2001", "format ip: truncated");

	/* A long host name is still reported as a name, and quoted short. */
	struct enc_err e = { 0 };
	is_int(enc_parse_ip("a-very-long-host-name-that-goes-on.and-on.and-on.example.com", &ip, &e),
	       -EINVAL, "long host name");
	has_str(e.msg, "is not a numeric address", "long host name message");
}

/* --- ports --------------------------------------------------------------- */

struct port_case {
	const char *in;
	int rc;
	const char *want;	/* canonical spelling, or message fragment */
};

static const struct port_case port_cases[] = {
	{ "3000", 0, "127.0.0.1:3000:3000/tcp" },
	{ "3001:3000", 0, "127.0.0.1:3001:3000/tcp" },
	{ "127.0.0.1:3001:3000/tcp", 0, "127.0.0.1:3001:3000/tcp" },
	{ "127.0.0.1:3001:3000", 0, "127.0.0.1:3001:3000/tcp" },
	{ "[::1]:3001:3000/udp", 0, "[::1]:3001:3000/udp" },
	{ "[::1]:3001:3000", 0, "[::1]:3001:3000/tcp" },
	{ "0.0.0.0:8080:80", 0, "0.0.0.0:8080:80/tcp" },
	{ "[::]:80:80", 0, "[::]:80:80/tcp" },
	{ "3000/udp", 0, "127.0.0.1:3000:3000/udp" },
	{ "53:5353/udp", 0, "127.0.0.1:53:5353/udp" },
	{ "1", 0, "127.0.0.1:1:1/tcp" },
	{ "65535", 0, "127.0.0.1:65535:65535/tcp" },
	{ "1:65535", 0, "127.0.0.1:1:65535/tcp" },
	{ "65535:1", 0, "127.0.0.1:65535:1/tcp" },
	{ "192.168.1.10:443:8443/tcp", 0, "192.168.1.10:443:8443/tcp" },
	{ "[::ffff:127.0.0.1]:1:2", 0, "[::ffff:127.0.0.1]:1:2/tcp" },
	{ "[2001:DB8::0001]:8080:80/udp", 0, "[2001:db8::1]:8080:80/udp" },
	{ "0", -ERANGE, "port 0 out of range 1-65535" },
	{ "65536", -ERANGE, "port 65536 out of range 1-65535" },
	{ "70000", -ERANGE, "port 70000 out of range 1-65535" },
	{ "3001:0", -ERANGE, "port 0 out of range" },
	{ "0:3000", -ERANGE, "port 0 out of range" },
	{ "70000:80", -ERANGE, "port 70000 out of range" },
	{ "70000:0", -ERANGE, "port 70000 out of range" },
	{ "x:y", -EINVAL, "expected a port number 1-65535, got 'x'" },
	{ "127.0.0.1:3001:65536/udp", -ERANGE, "port 65536 out of range" },
	{ "99999999999999999999999", -ERANGE, "port 99999999999999999999999 out of range 1-65535" },
	{ "3000/sctp", -EINVAL, "expected protocol tcp or udp, got 'sctp'" },
	{ "3000/TCP", -EINVAL, "got 'TCP'" },
	{ "3000/", -EINVAL, "expected protocol tcp or udp, got ''" },
	{ "3000/tcp/udp", -EINVAL, "got 'tcp/udp'" },
	{ "3000/tcp ", -EINVAL, "got 'tcp '" },
	{ "::1:3001:3000", -EINVAL, "'::1:3001:3000': an IPv6 host address needs brackets, e.g. [::1]:3001:3000" },
	{ "1.2.3.4:1:2:3", -EINVAL, "needs brackets" },
	{ "[::1]:3000", -EINVAL, "expected a port spec such as 3000, 3001:3000 or 127.0.0.1:3001:3000/tcp, got '[::1]:3000'" },
	{ "[::1]", -EINVAL, "expected a port spec" },
	{ "[::1:3001:3000", -EINVAL, "expected a port spec" },
	{ "[::1]3001:3000", -EINVAL, "expected a port spec" },
	{ "[127.0.0.1]:1:2", -EINVAL, "brackets are only for IPv6 addresses" },
	{ "[fe80::1%eth0]:1:2", -EINVAL, "zone ids such as %eth0 are not supported" },
	{ "localhost:3001:3000", -EINVAL, "'localhost' is not a numeric address (names are not resolved)" },
	{ "1.2.3:1:2", -EINVAL, "expected an IPv4 or IPv6 address, got '1.2.3'" },
	{ ":3001:3000", -EINVAL, "expected an IPv4 or IPv6 address, got ''" },
	{ "", -EINVAL, "expected a port number 1-65535, got ''" },
	{ ":3000", -EINVAL, "expected a port number 1-65535, got ''" },
	{ "3000:", -EINVAL, "expected a port number 1-65535, got ''" },
	{ "127.0.0.1::3000", -EINVAL, "expected a port number 1-65535, got ''" },
	{ " 3000", -EINVAL, "got ' 3000'" },
	{ "3000 ", -EINVAL, "got '3000 '" },
	{ "03000", -EINVAL, "got '03000'" },
	{ "-1", -EINVAL, "got '-1'" },
	{ "+80", -EINVAL, "got '+80'" },
	{ "http", -EINVAL, "got 'http'" },
	{ "[::1]:3001:3000x", -EINVAL, "got '3000x'" },
	{ "/tcp", -EINVAL, "expected a port number 1-65535, got ''" },
};

static void test_port(void)
{
	char buf[128];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(port_cases); i++) {
		const struct port_case *c = &port_cases[i];
		struct enc_err e = { 0 };
		struct enc_port p = { .host_port = 4242 };
		int r = enc_parse_port(c->in, &p, &e);

		is_int(r, c->rc, tname("port", c->in));
		if (r == 0) {
			enc_format_port(&p, buf, sizeof(buf));
			is_str(buf, c->want, "port canonical");
		} else {
			is_int(p.host_port, 4242, "port untouched on error");
			is_int(e.code, c->rc, "port err code");
			has_str(e.msg, c->want, "port message");
		}
	}

	/* Field values, not just the spelling. */
	struct enc_port p;
	is_int(enc_parse_port("3000", &p, NULL), 0, "port fields: 3000");
	struct enc_ip lo = ip_of("127.0.0.1");
	ok(ip_eq(&p.host, &lo), "default host address is 127.0.0.1");
	is_int(p.host_port, 3000, "host port defaults to the workspace port");
	is_int(p.ws_port, 3000, "workspace port");
	is_int(p.proto, ENC_PROTO_TCP, "proto defaults to tcp");
	is_int(enc_parse_port("[::1]:3001:3000/udp", &p, NULL), 0, "port fields: IPv6");
	struct enc_ip lo6 = ip_of("::1");
	ok(ip_eq(&p.host, &lo6), "IPv6 host address");
	is_int(p.host_port, 3001, "IPv6 host port");
	is_int(p.ws_port, 3000, "IPv6 workspace port");
	is_int(p.proto, ENC_PROTO_UDP, "udp");
	is_int(p.proto, IPPROTO_UDP, "ENC_PROTO_UDP is IPPROTO_UDP");

	/* Formatting refuses what cannot be parsed back. */
	p.proto = ENC_PROTO_ANY;
	ok(enc_format_port(&p, buf, sizeof(buf)) < 0, "format port: proto ANY refused");
	p.proto = ENC_PROTO_TCP;
	p.ws_port = 0;
	ok(enc_format_port(&p, buf, sizeof(buf)) < 0, "format port: port 0 refused");
	p.ws_port = 1;
	p.host.family = AF_UNSPEC;
	ok(enc_format_port(&p, buf, sizeof(buf)) < 0, "format port: no family refused");
	p = (struct enc_port){ .host = lo, .host_port = 3001, .ws_port = 3000,
			       .proto = ENC_PROTO_TCP };
	is_int(enc_format_port(&p, buf, 4), 23, "format port: snprintf length");
	is_str(buf, "127", "format port: truncated");
}

/* --- CIDR ---------------------------------------------------------------- */

struct cidr_case {
	const char *in;
	int rc;
	const char *want;	/* canonical spelling, or message fragment */
	uint8_t prefix;
	uint16_t port;
	enum enc_proto proto;
};

static const struct cidr_case cidr_cases[] = {
	{ "10.0.0.0/8", 0, "10.0.0.0/8", 8, 0, ENC_PROTO_ANY },
	{ "140.82.112.0/20:443", 0, "140.82.112.0/20:443", 20, 443, ENC_PROTO_ANY },
	{ "140.82.112.0/20:443/tcp", 0, "140.82.112.0/20:443/tcp", 20, 443, ENC_PROTO_TCP },
	{ "140.82.112.0/20:53/udp", 0, "140.82.112.0/20:53/udp", 20, 53, ENC_PROTO_UDP },
	{ "192.0.2.7", 0, "192.0.2.7/32", 32, 0, ENC_PROTO_ANY },
	{ "192.0.2.7:443", 0, "192.0.2.7/32:443", 32, 443, ENC_PROTO_ANY },
	{ "192.0.2.7:1/udp", 0, "192.0.2.7/32:1/udp", 32, 1, ENC_PROTO_UDP },
	{ "1.2.3.4/32:65535/udp", 0, "1.2.3.4/32:65535/udp", 32, 65535, ENC_PROTO_UDP },
	{ "0.0.0.0/0", 0, "0.0.0.0/0", 0, 0, ENC_PROTO_ANY },
	{ "0.0.0.0/0:443", 0, "0.0.0.0/0:443", 0, 443, ENC_PROTO_ANY },
	{ "128.0.0.0/1", 0, "128.0.0.0/1", 1, 0, ENC_PROTO_ANY },
	{ "10.0.0.2/31", 0, "10.0.0.2/31", 31, 0, ENC_PROTO_ANY },
	{ "255.255.255.255/32", 0, "255.255.255.255/32", 32, 0, ENC_PROTO_ANY },
	{ "2001:db8::/32", 0, "2001:db8::/32", 32, 0, ENC_PROTO_ANY },
	{ "[2001:db8::/32]:443/tcp", 0, "[2001:db8::/32]:443/tcp", 32, 443, ENC_PROTO_TCP },
	{ "[2001:db8::/32]:443", 0, "[2001:db8::/32]:443", 32, 443, ENC_PROTO_ANY },
	{ "[2001:db8::/32]", 0, "2001:db8::/32", 32, 0, ENC_PROTO_ANY },
	{ "2001:db8::1", 0, "2001:db8::1/128", 128, 0, ENC_PROTO_ANY },
	{ "[2001:db8::1]:22", 0, "[2001:db8::1/128]:22", 128, 22, ENC_PROTO_ANY },
	{ "::/0", 0, "::/0", 0, 0, ENC_PROTO_ANY },
	{ "[::/0]:53/udp", 0, "[::/0]:53/udp", 0, 53, ENC_PROTO_UDP },
	{ "::1/128", 0, "::1/128", 128, 0, ENC_PROTO_ANY },
	{ "8000::/1", 0, "8000::/1", 1, 0, ENC_PROTO_ANY },
	{ "::ffff:0:0/96", 0, "::ffff:0.0.0.0/96", 96, 0, ENC_PROTO_ANY },
	{ "2001:DB8:0::/48", 0, "2001:db8::/48", 48, 0, ENC_PROTO_ANY },
	{ "fd00:ec2::254", 0, "fd00:ec2::254/128", 128, 0, ENC_PROTO_ANY },
	{ "169.254.0.0/16", 0, "169.254.0.0/16", 16, 0, ENC_PROTO_ANY },
	/* host bits */
	{ "10.0.0.1/8", -EINVAL, "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" },
	{ "10.0.0.1/8:443", -EINVAL, "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" },
	{ "10.0.0.1/31", -EINVAL, "did you mean 10.0.0.0/31?" },
	{ "0.0.0.1/0", -EINVAL, "did you mean 0.0.0.0/0?" },
	{ "140.82.113.0/20", -EINVAL, "did you mean 140.82.112.0/20?" },
	{ "255.255.255.255/1", -EINVAL, "did you mean 128.0.0.0/1?" },
	{ "2001:db8::1/32", -EINVAL, "'2001:db8::1/32' has host bits set; did you mean 2001:db8::/32?" },
	{ "[2001:db8::1/32]:443", -EINVAL, "did you mean 2001:db8::/32?" },
	{ "::1/127", -EINVAL, "did you mean ::/127?" },
	{ "::1/0", -EINVAL, "did you mean ::/0?" },
	/* prefixes */
	{ "1.2.3.4/33", -ERANGE, "prefix /33 out of range 0-32 for an IPv4 network" },
	{ "1.2.3.4/128", -ERANGE, "prefix /128 out of range 0-32" },
	{ "::/129", -ERANGE, "prefix /129 out of range 0-128 for an IPv6 network" },
	{ "::/999", -ERANGE, "prefix /999 out of range 0-128" },
	{ "1.2.3.4/", -EINVAL, "expected a prefix length 0-32 after '/', got ''" },
	{ "::/", -EINVAL, "expected a prefix length 0-128 after '/', got ''" },
	{ "1.2.3.4/08", -EINVAL, "got '08'" },
	{ "1.2.3.4/-1", -EINVAL, "got '-1'" },
	{ "1.2.3.4/1000", -EINVAL, "got '1000'" },
	{ "1.2.3.4/x", -EINVAL, "got 'x'" },
	{ "10.0.0.0/8 ", -EINVAL, "got '8 '" },
	{ "1.2.3.4/24/24", -EINVAL, "got '24/24'" },
	/* ports and protocols */
	{ "10.0.0.0/8:0", -ERANGE, "port 0 out of range 1-65535" },
	{ "10.0.0.0/8:65536", -ERANGE, "port 65536 out of range 1-65535" },
	{ "[::/0]:65536/tcp", -ERANGE, "port 65536 out of range" },
	{ "10.0.0.0/8:", -EINVAL, "expected a port number 1-65535, got ''" },
	{ "10.0.0.0/8:/tcp", -EINVAL, "expected a port number 1-65535, got ''" },
	{ "10.0.0.0/8:https", -EINVAL, "got 'https'" },
	{ "10.0.0.0/8:443/sctp", -EINVAL, "expected protocol tcp or udp, got 'sctp'" },
	{ "10.0.0.0/8:443/", -EINVAL, "expected protocol tcp or udp, got ''" },
	{ "10.0.0.0/8:443/icmp", -EINVAL, "got 'icmp'" },
	{ "10.0.0.0/8/tcp", -EINVAL, "'10.0.0.0/8/tcp': a protocol needs a port" },
	{ "2001:db8::/32/tcp", -EINVAL, "a protocol needs a port" },
	/* brackets */
	{ "2001:db8::/32:443", -EINVAL, "'2001:db8::/32:443': an IPv6 rule with a port needs brackets" },
	{ "[10.0.0.0/8]:443", -EINVAL, "brackets are only for IPv6 addresses" },
	{ "[2001:db8::/32]443", -EINVAL, "expected an allow rule such as [2001:db8::/32]:443/tcp, got '[2001:db8::/32]443'" },
	{ "[2001:db8::/32", -EINVAL, "expected an allow rule" },
	{ "[]:443", -EINVAL, "expected an IPv4 or IPv6 address, got ''" },
	/* addresses */
	{ "github.com", -EINVAL, "'github.com' is not a numeric address (names are not resolved)" },
	{ "github.com:443", -EINVAL, "'github.com' is not a numeric address" },
	{ "fe80::1%eth0/64", -EINVAL, "zone ids such as %eth0 are not supported" },
	{ "[fe80::%eth0/64]:443", -EINVAL, "zone ids" },
	{ "", -EINVAL, "expected an IPv4 or IPv6 address, got ''" },
	{ "/8", -EINVAL, "expected an IPv4 or IPv6 address, got ''" },
	{ " 10.0.0.0/8", -EINVAL, "got ' 10.0.0.0'" },
	{ "1.2.3.4:443:80", -EINVAL, "got '1.2.3.4:443:80'" },
	{ "10.0.0/8", -EINVAL, "got '10.0.0'" },
	{ "10.0.0.0\n/8", -EINVAL, "got '10.0.0.0\\x0a'" },
};

static void test_cidr(void)
{
	char buf[128];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(cidr_cases); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		struct enc_err e = { 0 };
		struct enc_cidr v = { .port = 4242 };
		int r = enc_parse_cidr(c->in, &v, &e);

		is_int(r, c->rc, tname("cidr", c->in));
		if (r == 0) {
			enc_format_cidr(&v, buf, sizeof(buf));
			is_str(buf, c->want, "cidr canonical");
			ok(v.prefix == c->prefix && v.port == c->port && v.proto == c->proto,
			   "cidr fields /%u :%u proto %d", v.prefix, v.port, v.proto);
		} else {
			is_int(v.port, 4242, "cidr untouched on error");
			is_int(e.code, c->rc, "cidr err code");
			has_str(e.msg, c->want, "cidr message");
		}
	}
	is_int(enc_parse_cidr(NULL, &(struct enc_cidr){ 0 }, NULL), -EINVAL, "cidr NULL");

	struct enc_cidr c = { .net = ip_of("10.0.0.0"), .prefix = 33 };
	ok(enc_format_cidr(&c, buf, sizeof(buf)) < 0, "format cidr: /33 refused");
	c.prefix = 8;
	c.proto = ENC_PROTO_TCP;
	ok(enc_format_cidr(&c, buf, sizeof(buf)) < 0, "format cidr: proto without port refused");
	c.port = 443;
	is_int(enc_format_cidr(&c, buf, 3), 18, "format cidr: snprintf length");
	is_str(buf, "10", "format cidr: truncated");
}

/* --- contains ------------------------------------------------------------ */

struct contains_case {
	const char *cidr, *ip;
	bool want;
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0/8", "10.1.2.3", true },
	{ "10.0.0.0/8", "10.0.0.0", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "0.0.0.0/0", "1.2.3.4", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "::1", true },
	{ "::/0", "ffff::1", true },
	{ "::/0", "1.2.3.4", false },
	{ "192.0.2.7", "192.0.2.7", true },
	{ "192.0.2.7", "192.0.2.6", false },
	{ "192.0.2.7", "192.0.2.8", false },
	{ "192.0.2.7", "::ffff:192.0.2.7", false },
	{ "2001:db8::1", "2001:db8::1", true },
	{ "2001:db8::1", "2001:db8::", false },
	{ "2001:db8::1", "2001:db8::3", false },
	{ "2001:db8::1", "3001:db8::1", false },
	{ "140.82.112.0/20", "140.82.127.255", true },
	{ "140.82.112.0/20", "140.82.112.0", true },
	{ "140.82.112.0/20", "140.82.128.0", false },
	{ "140.82.112.0/20", "140.82.111.255", false },
	{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "2001:db8::/32", "2001:db7:ffff::", false },
	{ "128.0.0.0/1", "128.0.0.0", true },
	{ "128.0.0.0/1", "255.255.255.255", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "169.254.0.0/16", "169.254.169.254", true },
	{ "169.254.0.0/16", "169.255.0.1", false },
	{ "fd00:ec2::254", "fd00:ec2::254", true },
	{ "::ffff:0:0/96", "::ffff:10.0.0.1", true },
	{ "10.0.0.0/8", "::ffff:10.0.0.1", false },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
};

static void flip_bit(struct enc_ip *ip, unsigned bit)
{
	ip->addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_contains(void)
{
	char name[160];

	for (size_t i = 0; i < ENC_ARRAY_SIZE(contains_cases); i++) {
		const struct contains_case *t = &contains_cases[i];
		struct enc_cidr c;
		struct enc_ip ip = ip_of(t->ip);

		if (enc_parse_cidr(t->cidr, &c, NULL) != 0)
			printf("# bad test cidr %s\n", t->cidr);
		snprintf(name, sizeof(name), "%s %s %s", t->cidr,
			 t->want ? "contains" : "does not contain", t->ip);
		is_int(enc_cidr_contains(&c, &ip), t->want, name);
	}

	/* Every prefix length of both families: the network itself and the
	 * last address inside are in; flipping the last network bit is out. */
	static const struct { int family; unsigned bits; const char *base; } fam[] = {
		{ AF_INET, 32, "203.0.113.77" },
		{ AF_INET6, 128, "2001:db8:1234:5678:9abc:def0:1357:9bdf" },
	};
	for (size_t f = 0; f < ENC_ARRAY_SIZE(fam); f++) {
		for (unsigned p = 0; p <= fam[f].bits; p++) {
			struct enc_ip any = ip_of(fam[f].base);
			struct enc_cidr c = { .net = any, .prefix = (uint8_t)p };
			char buf[128], spec[160];

			/* Build the network by zeroing host bits by hand. */
			for (unsigned b = p; b < fam[f].bits; b++)
				c.net.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			enc_format_cidr(&c, buf, sizeof(buf));
			struct enc_cidr back;
			snprintf(spec, sizeof(spec), "%s", buf);
			bool parsed = enc_parse_cidr(spec, &back, NULL) == 0 &&
				      back.prefix == p && ip_eq(&back.net, &c.net);

			struct enc_ip last = c.net;
			for (unsigned b = p; b < fam[f].bits; b++)
				last.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			bool in = enc_cidr_contains(&c, &c.net) &&
				  enc_cidr_contains(&c, &last) &&
				  enc_cidr_contains(&c, &any);
			bool out = true;
			if (p > 0) {
				struct enc_ip o = any;
				flip_bit(&o, p - 1);
				out = !enc_cidr_contains(&c, &o);
				o = last;
				flip_bit(&o, 0);
				out = out && !enc_cidr_contains(&c, &o);
			} else {
				/* /0 holds the whole family. */
				struct enc_ip o = any;
				flip_bit(&o, 0);
				out = enc_cidr_contains(&c, &o);
			}
			ok(parsed && in && out, "%s /%u: parse back, contains, excludes",
			   fam[f].family == AF_INET ? "IPv4" : "IPv6", p);
		}
	}

	/* Against plain 32-bit arithmetic over random pairs. */
	unsigned bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint32_t a = (uint32_t)rng(), n = (uint32_t)rng();
		unsigned p = (unsigned)(rng() % 33);
		uint32_t mask = p ? ~UINT32_C(0) << (32 - p) : 0;

		if (i % 2)
			a = (n & mask) | (a & ~mask);	/* half of them inside */
		n &= mask;
		struct enc_cidr c = { .net.family = AF_INET, .prefix = (uint8_t)p };
		struct enc_ip ip = { .family = AF_INET };
		uint32_t nb = htonl(n), ab = htonl(a);
		memcpy(c.net.addr, &nb, 4);
		memcpy(ip.addr, &ab, 4);
		if (enc_cidr_contains(&c, &ip) != (((a ^ n) & mask) == 0))
			bad++;
	}
	is_int(bad, 0, "contains agrees with 32-bit masks over 20000 random pairs");

	/* Nonsense never matches. */
	struct enc_cidr c = { .net = ip_of("10.0.0.0"), .prefix = 33 };
	struct enc_ip ip = ip_of("10.0.0.0");
	ok(!enc_cidr_contains(&c, &ip), "contains: /33 IPv4 never matches");
	c = (struct enc_cidr){ .net = ip_of("::"), .prefix = 129 };
	ip = ip_of("::");
	ok(!enc_cidr_contains(&c, &ip), "contains: /129 IPv6 never matches");
	c = (struct enc_cidr){ .prefix = 0 };
	ip = (struct enc_ip){ 0 };
	ok(!enc_cidr_contains(&c, &ip), "contains: no family never matches");
	/* Bytes after the first four of an IPv4 address are ignored. */
	c = (struct enc_cidr){ .net = ip_of("10.0.0.0"), .prefix = 8 };
	ip = ip_of("10.9.9.9");
	memset(ip.addr + 4, 0xaa, 12);
	ok(enc_cidr_contains(&c, &ip), "contains: IPv4 ignores addr[4..15]");
}

/* --- round trips --------------------------------------------------------- */

static void random_ip(struct enc_ip *ip, int family)
{
	ip->family = family;
	for (size_t i = 0; i < sizeof(ip->addr); i++)
		ip->addr[i] = (uint8_t)rng();
	if (family == AF_INET)
		memset(ip->addr + 4, 0, 12);
	else if (rng() % 4 == 0)
		memset(ip->addr, 0, 8 + rng() % 8);	/* exercise "::" */
}

static void test_round_trips(void)
{
	char buf[128];
	unsigned bad = 0;

	for (int i = 0; i < 5000; i++) {
		struct enc_port p = { 0 }, back = { 0 };

		random_ip(&p.host, i % 2 ? AF_INET6 : AF_INET);
		p.host_port = (uint16_t)(1 + rng() % 65535);
		p.ws_port = (uint16_t)(1 + rng() % 65535);
		p.proto = rng() % 2 ? ENC_PROTO_TCP : ENC_PROTO_UDP;
		if (enc_format_port(&p, buf, sizeof(buf)) <= 0 ||
		    enc_parse_port(buf, &back, NULL) != 0 ||
		    !ip_eq(&p.host, &back.host) || p.host_port != back.host_port ||
		    p.ws_port != back.ws_port || p.proto != back.proto) {
			if (!bad++)
				printf("# first bad port: %s\n", buf);
		}
	}
	is_int(bad, 0, "port: parse(format(p)) == p over 5000 values");

	bad = 0;
	for (int i = 0; i < 5000; i++) {
		struct enc_cidr c = { 0 }, back = { 0 };
		int family = i % 2 ? AF_INET6 : AF_INET;
		unsigned bits = family == AF_INET ? 32 : 128;

		random_ip(&c.net, family);
		c.prefix = (uint8_t)(rng() % (bits + 1));
		for (unsigned b = c.prefix; b < bits; b++)
			c.net.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		if (rng() % 3) {
			c.port = (uint16_t)(1 + rng() % 65535);
			c.proto = (enum enc_proto[]){ ENC_PROTO_ANY, ENC_PROTO_TCP,
						      ENC_PROTO_UDP }[rng() % 3];
		}
		if (enc_format_cidr(&c, buf, sizeof(buf)) <= 0 ||
		    enc_parse_cidr(buf, &back, NULL) != 0 ||
		    !ip_eq(&c.net, &back.net) || c.prefix != back.prefix ||
		    c.port != back.port || c.proto != back.proto) {
			if (!bad++)
				printf("# first bad cidr: %s\n", buf);
		}
	}
	is_int(bad, 0, "cidr: parse(format(c)) == c over 5000 values");

	/* format(parse(x)) == x for canonical spellings. */
	static const char *const canon_ports[] = {
		"127.0.0.1:3001:3000/tcp", "[::1]:3001:3000/udp", "0.0.0.0:8080:80/tcp",
		"[2001:db8::1]:1:65535/udp", "10.1.2.3:65535:1/tcp",
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(canon_ports); i++) {
		struct enc_port p;
		buf[0] = '\0';
		if (enc_parse_port(canon_ports[i], &p, NULL) == 0)
			enc_format_port(&p, buf, sizeof(buf));
		is_str(buf, canon_ports[i], "port canonical round trip");
	}
	static const char *const canon_cidrs[] = {
		"140.82.112.0/20:443", "[2001:db8::/32]:443/tcp", "10.0.0.0/8",
		"0.0.0.0/0", "::/0", "192.0.2.7/32:53/udp", "2001:db8::1/128",
		"[::/0]:443",
	};
	for (size_t i = 0; i < ENC_ARRAY_SIZE(canon_cidrs); i++) {
		struct enc_cidr c;
		buf[0] = '\0';
		if (enc_parse_cidr(canon_cidrs[i], &c, NULL) == 0)
			enc_format_cidr(&c, buf, sizeof(buf));
		is_str(buf, canon_cidrs[i], "cidr canonical round trip");
	}
}

/* Binary junk: never a crash, always a bounded printable message. */
static void test_junk(void)
{
	char junk[512];
	unsigned bad = 0;

	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(rng() % (sizeof(junk) - 1));
		static const char alphabet[] = "0123456789:/[].%abcdefx \xff\x01";

		for (size_t k = 0; k < n; k++)
			junk[k] = i % 3 ? alphabet[rng() % (sizeof(alphabet) - 1)]
					: (char)(1 + rng() % 255);
		junk[n] = '\0';

		struct enc_err e1 = { 0 }, e2 = { 0 }, e3 = { 0 };
		struct enc_port p;
		struct enc_cidr c;
		struct enc_ip ip;
		int r1 = enc_parse_port(junk, &p, &e1);
		int r2 = enc_parse_cidr(junk, &c, &e2);
		int r3 = enc_parse_ip(junk, &ip, &e3);
		const struct enc_err *es[] = { &e1, &e2, &e3 };
		int rs[] = { r1, r2, r3 };

		for (int k = 0; k < 3; k++) {
			if (rs[k] == 0)
				continue;
			bool good = es[k]->code == rs[k] && strlen(es[k]->msg) > 0 &&
				    strlen(es[k]->msg) < 400;
			for (const char *m = es[k]->msg; *m; m++)
				if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
					good = false;
			if (!good && !bad++)
				printf("# first bad message: %s\n", es[k]->msg);
		}
	}
	is_int(bad, 0, "junk input: messages set, bounded and printable");
}

int main(void)
{
	test_ip();
	test_port();
	test_cidr();
	test_contains();
	test_round_trips();
	test_junk();
	return tap_done();
}
