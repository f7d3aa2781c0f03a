/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netaddr.h - port publishing specs and CIDR allow rules.
 *
 * Contract: pure functions, no allocation, no name resolution (numeric
 * addresses only; a host name is an error saying so). The whole string must
 * be consumed. On error err says what was expected and the value is left
 * untouched. Formatting produces the canonical spelling, which parses back
 * to the same value.
 *
 * Part of the helper core (the helper re-validates network parameters).
 */
#ifndef ENCLAVE_NETADDR_H
#define ENCLAVE_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include "err.h"

enum enc_proto {
	ENC_PROTO_ANY = 0,	/* allow rules only: tcp and udp (or all, without a port) */
	ENC_PROTO_TCP = IPPROTO_TCP,
	ENC_PROTO_UDP = IPPROTO_UDP,
};

/* An IPv4 or IPv6 address; IPv4 is stored in the first 4 bytes. */
struct enc_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

/*
 * Port publishing: [HOSTADDR:]HOSTPORT:WSPORT[/PROTO] or WSPORT[/PROTO].
 *   "3000"                    -> 127.0.0.1:3000 -> 3000/tcp
 *   "3001:3000"               -> 127.0.0.1:3001 -> 3000/tcp
 *   "127.0.0.1:3001:3000/tcp" -> as written
 *   "[::1]:3001:3000/udp"     -> IPv6 host address in brackets
 *   "0.0.0.0:8080:80"         -> all IPv4 addresses (only when asked for)
 * The default host address is loopback: a port is never published beyond
 * the host unless the address says so. Ports are 1..65535; proto is tcp
 * (default) or udp.
 */
struct enc_port {
	struct enc_ip host;
	uint16_t host_port;
	uint16_t ws_port;
	enum enc_proto proto;	/* TCP or UDP, never ANY */
};

/* "tcp", "udp"; NULL for ENC_PROTO_ANY. */
const char *enc_proto_str(enum enc_proto proto);

int enc_parse_port(const char *s, struct enc_port *p, struct enc_err *err);
int enc_format_port(const struct enc_port *p, char *buf, size_t len);

/*
 * Allow rule: CIDR[:PORT[/PROTO]].
 *   "10.0.0.0/8"               all protocols and ports
 *   "140.82.112.0/20:443"      port 443, tcp and udp
 *   "140.82.112.0/20:443/tcp"  port 443, tcp only
 *   "192.0.2.7"                a single address (/32)
 *   "2001:db8::/32"            IPv6 without a port
 *   "[2001:db8::/32]:443/tcp"  IPv6 with a port: brackets required
 * Host bits set below the prefix are an error (the message names the
 * network that was probably meant).
 */
struct enc_cidr {
	struct enc_ip net;
	uint8_t prefix;		/* 0..32 or 0..128 */
	uint16_t port;		/* 0: any port */
	enum enc_proto proto;	/* ANY, TCP or UDP; ANY when port is 0 */
};

int enc_parse_cidr(const char *s, struct enc_cidr *c, struct enc_err *err);
int enc_format_cidr(const struct enc_cidr *c, char *buf, size_t len);

/* Numeric address only, no brackets. */
int enc_parse_ip(const char *s, struct enc_ip *ip, struct enc_err *err);
int enc_format_ip(const struct enc_ip *ip, char *buf, size_t len);

/* True when ip lies inside net/prefix (same family). */
bool enc_cidr_contains(const struct enc_cidr *c, const struct enc_ip *ip);

#endif
