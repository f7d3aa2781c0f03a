/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netaddr.c - port publishing specs and CIDR allow rules.
 *
 * Address syntax is left to inet_pton(), which is locale-free and strict
 * (glibc rejects leading zeros, short forms like "1.2.3" and hex), but it
 * only ever sees a bounded copy of the address text that we have already
 * cut out of the spec: no brackets, no prefix, no zone id, no port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "parse.h"

#define PORT_SPEC_EXAMPLE "3000, 3001:3000 or 127.0.0.1:3001:3000/tcp"

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t count_char(const char *s, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

/* Something that a user probably meant as a host name: letters, digits,
 * dots and dashes, with at least one letter. Only chooses the message. */
static bool looks_like_hostname(const char *s, size_t n)
{
	bool letter = false;

	for (size_t i = 0; i < n; i++) {
		if (is_alpha(s[i]))
			letter = true;
		else if (!is_digit(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	}
	return letter;
}

static int parse_ip_mem(const char *s, size_t n, struct enc_ip *ip,
			struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	char tmp[INET6_ADDRSTRLEN];
	struct enc_ip v = { 0 };

	if (memchr(s, '%', n))
		/* A zone id ties an address to one host interface; inside a
		 * workspace's namespaces that name means nothing. */
		return enc_err_set(err, -EINVAL,
				   "'%s': zone ids such as %%eth0 are not supported",
				   enc_quote_mem(q, s, n));
	v.family = memchr(s, ':', n) ? AF_INET6 : AF_INET;
	if (n > 0 && n < sizeof(tmp)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (inet_pton(v.family, tmp, v.addr) == 1) {
			*ip = v;
			return 0;
		}
	}
	if (looks_like_hostname(s, n))
		return enc_err_set(err, -EINVAL,
				   "'%s' is not a numeric address (names are not resolved)",
				   enc_quote_mem(q, s, n));
	return enc_err_set(err, -EINVAL,
			   "expected an IPv4 or IPv6 address, got '%s'",
			   enc_quote_mem(q, s, n));
}

int enc_parse_ip(const char *s, struct enc_ip *ip, struct enc_err *err)
{
	if (!s)
		s = "";
	return parse_ip_mem(s, strlen(s), ip, err);
}

int enc_format_ip(const struct enc_ip *ip, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (ip->family != AF_INET && ip->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!inet_ntop(ip->family, ip->addr, tmp, sizeof(tmp)))
		return -errno;
	return snprintf(buf, len, "%s", tmp);
}

/* 1..65535, decimal, no leading zero. */
static int parse_portnum(const char *s, size_t n, uint16_t *port,
			 struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	uint64_t v = 0;
	bool big = false;

	if (n == 0 || (n > 1 && s[0] == '0'))
		goto syntax;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			goto syntax;
		if (v <= 65535)
			v = v * 10 + (uint64_t)(s[i] - '0');
		else
			big = true;
	}
	if (big || v == 0 || v > 65535)
		return enc_err_set(err, -ERANGE, "port %s out of range 1-65535",
				   enc_quote_mem(q, s, n));
	*port = (uint16_t)v;
	return 0;
syntax:
	return enc_err_set(err, -EINVAL,
			   "expected a port number 1-65535, got '%s'",
			   enc_quote_mem(q, s, n));
}

static int parse_proto(const char *s, size_t n, enum enc_proto *proto,
		       struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];

	if (n == 3 && memcmp(s, "tcp", 3) == 0) {
		*proto = ENC_PROTO_TCP;
		return 0;
	}
	if (n == 3 && memcmp(s, "udp", 3) == 0) {
		*proto = ENC_PROTO_UDP;
		return 0;
	}
	return enc_err_set(err, -EINVAL, "expected protocol tcp or udp, got '%s'",
			   enc_quote_mem(q, s, n));
}

const char *enc_proto_str(enum enc_proto proto)
{
	switch (proto) {
	case ENC_PROTO_TCP:
		return "tcp";
	case ENC_PROTO_UDP:
		return "udp";
	case ENC_PROTO_ANY:
		break;
	}
	return NULL;
}

/* --- port publishing ----------------------------------------------------- */

int enc_parse_port(const char *s, struct enc_port *p, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF];
	struct enc_port v = {
		.host = { .family = AF_INET, .addr = { 127, 0, 0, 1 } },
		.proto = ENC_PROTO_TCP,
	};
	const char *hp = NULL, *wp;	/* host port, workspace port */
	size_t hpn = 0, wpn;
	int r;

	if (!s)
		s = "";
	size_t len = strlen(s);
	const char *slash = memchr(s, '/', len);
	size_t body = slash ? (size_t)(slash - s) : len;

	if (slash) {
		r = parse_proto(slash + 1, len - body - 1, &v.proto, err);
		if (r < 0)
			return r;
	}

	if (body > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', body);

		if (!close || close[1] != ':')
			goto syntax;
		r = parse_ip_mem(s + 1, (size_t)(close - s - 1), &v.host, err);
		if (r < 0)
			return r;
		if (v.host.family != AF_INET6)
			return enc_err_set(err, -EINVAL,
					   "'%s': brackets are only for IPv6 addresses",
					   enc_quote(q, s));
		hp = close + 2;
		const char *colon = memchr(hp, ':', body - (size_t)(hp - s));
		if (!colon)
			goto syntax;
		hpn = (size_t)(colon - hp);
		wp = colon + 1;
	} else {
		size_t colons = count_char(s, body, ':');
		const char *c1 = memchr(s, ':', body), *c2;

		switch (colons) {
		case 0:
			wp = s;
			break;
		case 1:
			hp = s;
			hpn = (size_t)(c1 - s);
			wp = c1 + 1;
			break;
		case 2:
			r = parse_ip_mem(s, (size_t)(c1 - s), &v.host, err);
			if (r < 0)
				return r;
			hp = c1 + 1;
			c2 = memchr(hp, ':', body - (size_t)(hp - s));
			hpn = (size_t)(c2 - hp);
			wp = c2 + 1;
			break;
		default:
			return enc_err_set(err, -EINVAL,
					   "'%s': an IPv6 host address needs brackets, "
					   "e.g. [::1]:3001:3000",
					   enc_quote(q, s));
		}
	}
	/* Left to right, so the first error is the one the user reads first. */
	if (hp) {
		r = parse_portnum(hp, hpn, &v.host_port, err);
		if (r < 0)
			return r;
	}
	wpn = body - (size_t)(wp - s);
	r = parse_portnum(wp, wpn, &v.ws_port, err);
	if (r < 0)
		return r;
	if (!hp)
		v.host_port = v.ws_port;
	*p = v;
	return 0;
syntax:
	return enc_err_set(err, -EINVAL,
			   "expected a port spec such as " PORT_SPEC_EXAMPLE ", got '%s'",
			   enc_quote(q, s));
}

int enc_format_port(const struct enc_port *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *proto = enc_proto_str(p->proto);

	if (!proto || p->host_port == 0 || p->ws_port == 0)
		return -EINVAL;
	int r = enc_format_ip(&p->host, addr, sizeof(addr));
	if (r < 0)
		return r;
	if (p->host.family == AF_INET6)
		return snprintf(buf, len, "[%s]:%u:%u/%s", addr, p->host_port,
				p->ws_port, proto);
	return snprintf(buf, len, "%s:%u:%u/%s", addr, p->host_port, p->ws_port,
			proto);
}

/* --- CIDR allow rules ---------------------------------------------------- */

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Clear every bit below the prefix. */
static void mask_ip(struct enc_ip *ip, unsigned prefix)
{
	unsigned bytes = family_bits(ip->family) / 8;

	for (unsigned i = 0; i < bytes; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			ip->addr[i] = 0;
		else
			ip->addr[i] &= (uint8_t)(0xff << (8 - (prefix - 8 * i)));
	}
}

int enc_parse_cidr(const char *s, struct enc_cidr *c, struct enc_err *err)
{
	char q[ENC_QUOTE_BUF], net[INET6_ADDRSTRLEN];
	struct enc_cidr v = { .proto = ENC_PROTO_ANY };
	const char *a, *ps = NULL;	/* address[/prefix]; port[/proto] */
	size_t an, psn = 0;
	bool bracketed = false;
	int r;

	if (!s)
		s = "";
	size_t len = strlen(s);

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] != ':' && close[1] != '\0'))
			return enc_err_set(err, -EINVAL,
					   "expected an allow rule such as "
					   "[2001:db8::/32]:443/tcp, got '%s'",
					   enc_quote(q, s));
		bracketed = true;
		a = s + 1;
		an = (size_t)(close - a);
		if (close[1] == ':') {
			ps = close + 2;
			psn = len - (size_t)(ps - s);
		}
	} else if (count_char(s, len, ':') >= 2) {
		/* IPv6 without a port. "2001:db8::/32:443" would otherwise
		 * fail on its prefix with a less helpful message. */
		const char *sl = strchr(s, '/');

		if (sl && strchr(sl, ':'))
			return enc_err_set(err, -EINVAL,
					   "'%s': an IPv6 rule with a port needs brackets, "
					   "e.g. [2001:db8::/32]:443",
					   enc_quote(q, s));
		a = s;
		an = len;
	} else {
		const char *colon = strchr(s, ':');

		a = s;
		an = colon ? (size_t)(colon - s) : len;
		if (colon) {
			ps = colon + 1;
			psn = len - an - 1;
		}
	}

	/* address[/prefix] */
	const char *sl = memchr(a, '/', an);
	size_t addrn = sl ? (size_t)(sl - a) : an;

	r = parse_ip_mem(a, addrn, &v.net, err);
	if (r < 0)
		return r;
	if (bracketed && v.net.family != AF_INET6)
		return enc_err_set(err, -EINVAL,
				   "'%s': brackets are only for IPv6 addresses",
				   enc_quote(q, s));
	unsigned maxp = family_bits(v.net.family);
	v.prefix = (uint8_t)maxp;
	if (sl) {
		const char *pp = sl + 1;
		size_t pn = an - addrn - 1;
		unsigned pv = 0;
		bool ok = pn > 0 && pn <= 3 && !(pn > 1 && pp[0] == '0');

		for (size_t i = 0; ok && i < pn; i++) {
			if (!is_digit(pp[i]))
				ok = false;
			else
				pv = pv * 10 + (unsigned)(pp[i] - '0');
		}
		if (!ok) {
			/* "10.0.0.0/8/tcp": the protocol came without a port. */
			const char *sl2 = memchr(pp, '/', pn);
			size_t tail = sl2 ? pn - (size_t)(sl2 + 1 - pp) : 0;
			enum enc_proto unused;
			if (sl2 && !ps && parse_proto(sl2 + 1, tail, &unused, NULL) == 0)
				return enc_err_set(err, -EINVAL,
						   "'%s': a protocol needs a port, "
						   "e.g. 10.0.0.0/8:443/tcp",
						   enc_quote(q, s));
			return enc_err_set(err, -EINVAL,
					   "expected a prefix length 0-%u after '/', got '%s'",
					   maxp, enc_quote_mem(q, pp, pn));
		}
		if (pv > maxp)
			return enc_err_set(err, -ERANGE,
					   "prefix /%u out of range 0-%u for an %s network",
					   pv, maxp,
					   v.net.family == AF_INET ? "IPv4" : "IPv6");
		v.prefix = (uint8_t)pv;
	}

	struct enc_ip masked = v.net;
	mask_ip(&masked, v.prefix);
	if (memcmp(masked.addr, v.net.addr, sizeof(masked.addr)) != 0) {
		enc_format_ip(&masked, net, sizeof(net));
		return enc_err_set(err, -EINVAL,
				   "'%s' has host bits set; did you mean %s/%u?",
				   enc_quote_mem(q, a, an), net, v.prefix);
	}

	/* port[/proto] */
	if (ps) {
		const char *psl = memchr(ps, '/', psn);
		size_t portn = psl ? (size_t)(psl - ps) : psn;

		r = parse_portnum(ps, portn, &v.port, err);
		if (r < 0)
			return r;
		if (psl) {
			r = parse_proto(psl + 1, psn - portn - 1, &v.proto, err);
			if (r < 0)
				return r;
		}
	}
	*c = v;
	return 0;
}

int enc_format_cidr(const struct enc_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *proto = enc_proto_str(c->proto);
	int r = enc_format_ip(&c->net, addr, sizeof(addr));

	if (r < 0)
		return r;
	if (c->prefix > family_bits(c->net.family))
		return -EINVAL;
	if (c->port == 0) {
		if (c->proto != ENC_PROTO_ANY)
			return -EINVAL;
		return snprintf(buf, len, "%s/%u", addr, c->prefix);
	}
	if (c->net.family == AF_INET6)
		return snprintf(buf, len, "[%s/%u]:%u%s%s", addr, c->prefix, c->port,
				proto ? "/" : "", proto ? proto : "");
	return snprintf(buf, len, "%s/%u:%u%s%s", addr, c->prefix, c->port,
			proto ? "/" : "", proto ? proto : "");
}

bool enc_cidr_contains(const struct enc_cidr *c, const struct enc_ip *ip)
{
	if (c->net.family != ip->family ||
	    (ip->family != AF_INET && ip->family != AF_INET6) ||
	    c->prefix > family_bits(ip->family))
		return false;

	struct enc_ip a = *ip, n = c->net;
	mask_ip(&a, c->prefix);
	mask_ip(&n, c->prefix);
	return memcmp(a.addr, n.addr, family_bits(ip->family) / 8) == 0;
}
