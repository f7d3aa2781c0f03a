/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink.c - rtnetlink (veth, addresses, routes), the address pool and the
 * NFLOG reader. See netlink.h for the contract.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "fsutil.h"
#include "hash.h"
#include "netlink.h"

/* ---- a socket inside a given network namespace ----------------------- */

/*
 * A socket belongs to the namespace it was created in, for good. To get one
 * inside the workspace's namespace the calling thread steps in for exactly
 * one socket(2) and steps back. That is cheaper than a thread or a forked
 * helper handing the fd back (two setns calls against tens of microseconds)
 * and just as correct for a single-threaded caller: nothing else runs on
 * this thread in between. Both setns need CAP_SYS_ADMIN, over the target
 * namespace's owner and over our own.
 */
static int socket_in_netns(int netns_fd, int type, int proto, struct enc_err *err)
{
	_cleanup_close_ int self = -1;
	int fd, saved;

	if (netns_fd < 0) {
		fd = socket(AF_NETLINK, type | SOCK_CLOEXEC, proto);
		if (fd < 0)
			return enc_err_sys(err, -errno, "cannot open a netlink socket");
		return fd;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return enc_err_sys(err, -errno, "cannot open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return enc_err_sys(err, -errno, "cannot enter the workspace's network namespace");
	fd = socket(AF_NETLINK, type | SOCK_CLOEXEC, proto);
	saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		return enc_err_sys(err, r, "cannot return to the original network namespace "
				   "(this thread is left in the workspace's)");
	}
	if (fd < 0)
		return enc_err_sys(err, -saved,
				   "cannot open a netlink socket in the workspace's network namespace");
	return fd;
}

/* ---- rtnetlink sockets and batches ----------------------------------- */

#define NL_BATCH_MAX 16
#define NL_WHAT_MAX 112
#define NL_MSG_ROOM 1024	/* every message we build is far smaller */
#define NL_SBUF_SIZE 8192
#define NL_RBUF_SIZE 32768	/* a dump part is at most 32 KiB */

struct enc_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;			/* last sequence number used */
	uint32_t seq_first;		/* of the pending batch */
	unsigned n;			/* requests pending */
	size_t len;			/* bytes pending */
	int queue_err;			/* sticky queueing error */
	char queue_msg[160];
	char what[NL_BATCH_MAX][NL_WHAT_MAX];
	char sbuf[NL_SBUF_SIZE] __attribute__((aligned(8)));
	char rbuf[NL_RBUF_SIZE] __attribute__((aligned(8)));
};

/* Called for each data message answering request idx of the batch. */
typedef int (*nl_data_fn)(const struct nlmsghdr *nlh, unsigned idx, void *arg);

int enc_nl_open(int netns_fd, struct enc_nl **out, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	struct enc_nl *nl;
	int one = 1;

	*out = NULL;
	fd = socket_in_netns(netns_fd, SOCK_RAW, NETLINK_ROUTE, err);
	if (fd < 0)
		return fd;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return enc_err_sys(err, -ENOMEM, "cannot open a netlink socket");
	nl->sock = mnl_socket_fdopen(fd);
	if (!nl->sock) {
		free(nl);
		return enc_err_sys(err, -errno, "cannot open a netlink socket");
	}
	steal_fd(&fd);
	/* Extended acks carry the kernel's reason ("Nexthop device is not
	 * up"); capped acks keep our request out of the answer. Both are
	 * best effort: without them errors are plain errno. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		enc_nl_close(nl);
		return enc_err_sys(err, r, "cannot bind a netlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

void enc_nl_close(struct enc_nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

static void nl_reset(struct enc_nl *nl)
{
	nl->n = 0;
	nl->len = 0;
	nl->queue_err = 0;
	nl->queue_msg[0] = '\0';
}

ENC_PRINTF(3, 4)
static void nl_queue_fail(struct enc_nl *nl, int code, const char *fmt, ...)
{
	va_list ap;

	if (nl->queue_err)
		return;
	nl->queue_err = code;
	va_start(ap, fmt);
	vsnprintf(nl->queue_msg, sizeof(nl->queue_msg), fmt, ap);
	va_end(ap);
}

/* Start a request; what words it for error messages ("create veth X").
 * NULL when the batch is full (the commit reports it). */
ENC_PRINTF(4, 5)
static struct nlmsghdr *nl_begin(struct enc_nl *nl, uint16_t type, uint16_t flags,
				 const char *fmt, ...)
{
	struct nlmsghdr *nlh;
	va_list ap;

	if (nl->queue_err)
		return NULL;
	if (nl->n >= NL_BATCH_MAX || nl->len + NL_MSG_ROOM > sizeof(nl->sbuf)) {
		nl_queue_fail(nl, -ENOBUFS, "too many netlink requests in one batch");
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(nl->what[nl->n], NL_WHAT_MAX, fmt, ap);
	va_end(ap);
	if (nl->n == 0)
		nl->seq_first = nl->seq + 1;
	nlh = mnl_nlmsg_put_header(nl->sbuf + nl->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

static void nl_end(struct enc_nl *nl, struct nlmsghdr *nlh)
{
	nl->len += nlh->nlmsg_len;
	nl->n++;
}

/* The text of an extended ack, if the kernel sent one. */
static void ext_ack_msg(const struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	buf[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(buf, len, "%s", mnl_attr_get_str(a));
			return;
		}
	}
}

static int nl_run(struct enc_nl *nl, nl_data_fn cb, void *arg, struct enc_err *err)
{
	bool done[NL_BATCH_MAX] = { false };
	unsigned left = nl->n, first_idx = 0;
	int first = 0;
	char ext[256] = "";

	if (nl->queue_err) {
		int r = nl->queue_err;

		enc_err_set(err, r, "%s", nl->queue_msg);
		nl_reset(nl);
		return r;
	}
	if (nl->n == 0)
		return 0;

	if (mnl_socket_sendto(nl->sock, nl->sbuf, nl->len) < 0) {
		int r = -errno;

		enc_err_sys(err, r, "cannot %s: sending the netlink request", nl->what[0]);
		nl_reset(nl);
		return r;
	}

	while (left > 0) {
		ssize_t got = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
		const struct nlmsghdr *nlh;
		int rem;

		if (got < 0) {
			int r = -errno;

			if (r == -EINTR)
				continue;
			/* The socket is out of step now; stale answers are
			 * told apart by sequence number next time. */
			for (first_idx = 0; done[first_idx]; first_idx++)
				;
			enc_err_sys(err, r, "cannot %s: reading the netlink answer",
				    nl->what[first_idx]);
			nl_reset(nl);
			return r;
		}
		rem = (int)got;
		for (nlh = (const struct nlmsghdr *)nl->rbuf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			uint32_t idx = nlh->nlmsg_seq - nl->seq_first;
			int code = 0;

			/* Answers to an earlier, abandoned batch or
			 * notifications: not ours. */
			if (idx >= nl->n || done[idx] || nlh->nlmsg_pid != nl->portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
					code = *(const int *)mnl_nlmsg_get_payload(nlh);
				done[idx] = true;
				left--;
				if (code < 0 && !first) {
					first = code;
					first_idx = idx;
					if (nlh->nlmsg_type == NLMSG_ERROR)
						ext_ack_msg(nlh, ext, sizeof(ext));
				}
				continue;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE || !cb)
				continue;
			code = cb(nlh, idx, arg);
			if (code < 0 && !first) {
				first = code;
				first_idx = idx;
			}
		}
	}

	if (first) {
		if (ext[0])
			enc_err_set(err, first, "cannot %s: %s (%s)", nl->what[first_idx],
				    strerror(-first), ext);
		else
			enc_err_sys(err, first, "cannot %s", nl->what[first_idx]);
	}
	nl_reset(nl);
	return first;
}

int enc_nl_commit(struct enc_nl *nl, struct enc_err *err)
{
	return nl_run(nl, NULL, NULL, err);
}

static const char *ifname_or_index(char *buf, size_t len, int ifindex, const char *ifname)
{
	if (ifname)
		return ifname;
	snprintf(buf, len, "ifindex %d", ifindex);
	return buf;
}

static bool ip_ok(const struct enc_ip *ip, unsigned prefix)
{
	if (!ip)
		return false;
	if (ip->family == AF_INET)
		return prefix <= 32;
	if (ip->family == AF_INET6)
		return prefix <= 128;
	return false;
}

static size_t ip_len(const struct enc_ip *ip)
{
	return ip->family == AF_INET ? 4 : 16;
}

static const char *ip_str(const struct enc_ip *ip, char *buf, size_t len)
{
	if (enc_format_ip(ip, buf, len) < 0)
		snprintf(buf, len, "(bad address)");
	return buf;
}

void enc_nl_queue_addr(struct enc_nl *nl, int ifindex, const char *ifname,
		       const struct enc_ip *ip, unsigned prefix, unsigned flags)
{
	char ibuf[32], abuf[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t f = 0;

	if (!ip_ok(ip, prefix) || ifindex <= 0) {
		nl_queue_fail(nl, -EINVAL, "cannot add an address: bad address, prefix or interface");
		return;
	}
	nlh = nl_begin(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, "add address %s/%u to %s",
		       ip_str(ip, abuf, sizeof(abuf)), prefix,
		       ifname_or_index(ibuf, sizeof(ibuf), ifindex, ifname));
	if (!nlh)
		return;
	if (ip->family == AF_INET6)
		f |= IFA_F_NODAD;
	if (flags & ENC_NL_ADDR_NOPREFIXROUTE)
		f |= IFA_F_NOPREFIXROUTE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)ip->family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_flags = (uint8_t)f;	/* the low bits; IFA_FLAGS has them all */
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	if (ip->family == AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, 4, ip->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, ip_len(ip), ip->addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, f);
	nl_end(nl, nlh);
}

void enc_nl_queue_link_up(struct enc_nl *nl, int ifindex, const char *ifname)
{
	char ibuf[32];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0) {
		nl_queue_fail(nl, -EINVAL, "cannot bring up an interface: bad interface");
		return;
	}
	nlh = nl_begin(nl, RTM_NEWLINK, 0, "bring up %s",
		       ifname_or_index(ibuf, sizeof(ibuf), ifindex, ifname));
	if (!nlh)
		return;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	nl_end(nl, nlh);
}

void enc_nl_queue_route(struct enc_nl *nl, const struct enc_ip *dst, unsigned prefix,
			const struct enc_ip *gw, int oif, const char *ifname)
{
	char ibuf[32], dbuf[INET6_ADDRSTRLEN + 16], gbuf[INET6_ADDRSTRLEN + 8];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!ip_ok(dst, prefix) || oif <= 0 || (gw && gw->family != dst->family)) {
		nl_queue_fail(nl, -EINVAL, "cannot add a route: bad destination, gateway or interface");
		return;
	}
	gbuf[0] = '\0';
	if (gw) {
		char a[INET6_ADDRSTRLEN];

		snprintf(gbuf, sizeof(gbuf), " via %s", ip_str(gw, a, sizeof(a)));
	}
	if (prefix == 0)
		snprintf(dbuf, sizeof(dbuf), "default");
	else {
		char a[INET6_ADDRSTRLEN];

		snprintf(dbuf, sizeof(dbuf), "%s/%u", ip_str(dst, a, sizeof(a)), prefix);
	}
	nlh = nl_begin(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "add %s route%s dev %s",
		       dbuf, gbuf, ifname_or_index(ibuf, sizeof(ibuf), oif, ifname));
	if (!nlh)
		return;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = (uint8_t)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	/* A route without a gateway reaches only the link. */
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix > 0)
		mnl_attr_put(nlh, RTA_DST, ip_len(dst), dst->addr);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, ip_len(gw), gw->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	nl_end(nl, nlh);
}

/* ---- links ------------------------------------------------------------ */

struct link_info {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[32];
};

/* mnl_attr_parse callback filling tb[type] for types up to tb's size. */
struct attr_table {
	const struct nlattr **tb;
	unsigned max;
};

static int attr_store_cb(const struct nlattr *a, void *data)
{
	const struct attr_table *t = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static int parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EINVAL;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_store_cb,
			   &(struct attr_table){ tb, IFLA_MAX }) < 0)
		return -EINVAL;
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *ti[IFLA_INFO_MAX + 1] = { NULL };

		if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], attr_store_cb,
					  &(struct attr_table){ ti, IFLA_INFO_MAX }) >= 0 &&
		    ti[IFLA_INFO_KIND] &&
		    mnl_attr_validate(ti[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->kind, sizeof(li->kind), "%s",
				 mnl_attr_get_str(ti[IFLA_INFO_KIND]));
	}
	return 0;
}

static int getlink_cb(const struct nlmsghdr *nlh, unsigned idx ENC_UNUSED, void *arg)
{
	struct link_info *li = arg;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	return parse_link(nlh, li);
}

/* Interface names: what the kernel accepts (dev_valid_name), for the peer. */
static bool ifname_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, IFNAMSIZ);
	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] == 0x7f)
			return false;
	return true;
}

static int link_get(struct enc_nl *nl, const char *name, struct link_info *li,
		    struct enc_err *err)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (nl->n || nl->queue_err)
		return enc_err_set(err, -EBUSY, "cannot look up %s: netlink requests are pending",
				   name);
	if (!ifname_valid(name))
		return enc_err_set(err, -EINVAL, "cannot look up interface: bad name");
	nlh = nl_begin(nl, RTM_GETLINK, 0, "find interface %s", name);
	if (!nlh)
		return nl_run(nl, NULL, NULL, err);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Only what we read: no statistics in the answer. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	nl_end(nl, nlh);
	memset(li, 0, sizeof(*li));
	return nl_run(nl, getlink_cb, li, err);
}

int enc_nl_link_index(struct enc_nl *nl, const char *name, int *ifindex,
		      char *kind, size_t kind_len, struct enc_err *err)
{
	struct link_info li;
	int r;

	r = link_get(nl, name, &li, err);
	if (r < 0)
		return r;
	if (li.ifindex <= 0)
		return enc_err_set(err, -ENODEV, "cannot find interface %s: no answer", name);
	*ifindex = li.ifindex;
	if (kind && kind_len)
		snprintf(kind, kind_len, "%s", li.kind);
	return 0;
}

struct list_ctx {
	enc_nl_link_fn cb;
	void *arg;
	int r;
};

static int list_cb(const struct nlmsghdr *nlh, unsigned idx ENC_UNUSED, void *arg)
{
	struct list_ctx *c = arg;
	struct link_info li;

	if (c->r < 0 || nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (parse_link(nlh, &li) < 0)
		return 0;
	/* Keep reading to the end of the dump even after the callback
	 * stopped, so the socket stays in step. */
	c->r = c->cb(li.ifindex, li.name, li.kind, c->arg);
	return 0;
}

int enc_nl_link_list(struct enc_nl *nl, enc_nl_link_fn cb, void *arg, struct enc_err *err)
{
	struct list_ctx c = { cb, arg, 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int r;

	if (nl->n || nl->queue_err)
		return enc_err_set(err, -EBUSY, "cannot list interfaces: netlink requests are pending");
	nlh = nl_begin(nl, RTM_GETLINK, NLM_F_DUMP, "list interfaces");
	if (!nlh)
		return nl_run(nl, NULL, NULL, err);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	nl_end(nl, nlh);
	r = nl_run(nl, list_cb, &c, err);
	if (r < 0)
		return r;
	if (c.r < 0)
		return enc_err_sys(err, c.r, "cannot list interfaces");
	return 0;
}

/* ---- the veth pair ------------------------------------------------------ */

bool enc_veth_name_valid(const char *name)
{
	if (!name || strnlen(name, ENC_VETH_NAME_SIZE) != ENC_VETH_NAME_SIZE - 1)
		return false;
	if (name[0] != 'e' || name[1] != 'n')
		return false;
	for (int i = 2; i < ENC_VETH_NAME_SIZE - 1; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

int enc_veth_name(const char *sandbox, const char *workspace, unsigned slot,
		  char name[ENC_VETH_NAME_SIZE])
{
	char hex[ENC_SHA256_HEX], num[16];
	struct enc_sha256 *h;
	unsigned long bits;

	name[0] = '\0';
	if (!enc_name_valid(sandbox) || !enc_name_valid(workspace))
		return -EINVAL;
	if (slot >= ENC_NETPOOL_SLOTS)
		return -ERANGE;
	h = enc_sha256_new();
	if (!h)
		return -ENOMEM;
	snprintf(num, sizeof(num), "%u", slot);
	enc_sha256_field(h, "enclave-veth");
	enc_sha256_field(h, sandbox);
	enc_sha256_field(h, workspace);
	enc_sha256_field(h, num);
	if (enc_sha256_final_hex(h, hex) < 0)
		return -EIO;
	hex[5] = '\0';
	bits = strtoul(hex, NULL, 16) & 0x3ffffUL;
	/* 14 bits of slot + 18 of hash = 32 bits = 8 hex digits. */
	snprintf(name, ENC_VETH_NAME_SIZE, "en%08lx", ((unsigned long)slot << 18) | bits);
	return 0;
}

/* *ifindex gets the host end's index when the kernel echoes the new link
 * (NLM_F_ECHO, honoured for link creation since Linux 6.1), else 0. */
static int veth_create(struct enc_nl *nl, const char *host, const char *peer,
		       int netns_fd, int *ifindex, struct enc_err *err)
{
	struct nlattr *linkinfo, *data, *peerinfo;
	struct ifinfomsg *ifi, *pifi;
	struct nlmsghdr *nlh;
	struct link_info li = { 0 };
	int r;

	if (!enc_veth_name_valid(host))
		return enc_err_set(err, -EINVAL, "cannot create veth %s: not an enclave name "
				   "(en + 8 hex digits)", host ? host : "(null)");
	if (!peer)
		peer = ENC_VETH_PEER_DEFAULT;
	if (!ifname_valid(peer))
		return enc_err_set(err, -EINVAL, "cannot create veth %s: bad peer name", host);
	if (netns_fd < 0)
		return enc_err_set(err, -EBADF, "cannot create veth %s: no network namespace "
				   "for the peer", host);
	if (nl->n || nl->queue_err)
		return enc_err_set(err, -EBUSY, "cannot create veth %s: netlink requests are "
				   "pending", host);

	/* The echo saves looking the new index up: a round trip. */
	nlh = nl_begin(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
		       "create veth %s", host);
	if (!nlh)
		return nl_run(nl, NULL, NULL, err);
	/* The host end comes up with the creation (rtnl_configure_link
	 * applies the ifinfomsg's flags once the pair exists), saving a
	 * request. The peer cannot: the kernel configures it before the two
	 * are joined, and opening a veth without its peer is -ENOTCONN. */
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* VETH_INFO_PEER is an ifinfomsg followed by the peer's own
	 * attributes. The namespace fd sits among them, so the kernel
	 * creates the peer inside the workspace's namespace: it is never
	 * registered in ours, where a process could race to grab or rename
	 * an "eth0". */
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	nl_end(nl, nlh);
	r = nl_run(nl, getlink_cb, &li, err);
	if (ifindex)
		*ifindex = r == 0 && strcmp(li.name, host) == 0 ? li.ifindex : 0;
	return r;
}

int enc_veth_create(struct enc_nl *nl, const char *host, const char *peer,
		    int netns_fd, struct enc_err *err)
{
	return veth_create(nl, host, peer, netns_fd, NULL, err);
}

int enc_veth_delete(struct enc_nl *nl, const char *name, struct enc_err *err)
{
	struct enc_err lerr = { 0 };
	struct link_info li;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int r;

	/* Refuse before touching anything: only names enclave makes. */
	if (!enc_veth_name_valid(name))
		return enc_err_set(err, -EINVAL, "refusing to delete interface '%s': not an "
				   "enclave veth name (en + 8 hex digits)", name ? name : "(null)");
	if (!nl)
		return enc_err_set(err, -EBADF, "cannot delete veth %s: no netlink socket", name);
	r = link_get(nl, name, &li, &lerr);
	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		if (err && !enc_err_isset(err))
			*err = lerr;
		return r;
	}
	if (strcmp(li.kind, "veth") != 0)
		return enc_err_set(err, -EPERM, "refusing to delete interface %s: it is not a "
				   "veth (kind '%s')", name, li.kind);

	/* By index, so the interface we checked is the one that goes. */
	nlh = nl_begin(nl, RTM_DELLINK, 0, "delete veth %s", name);
	if (!nlh)
		return nl_run(nl, NULL, NULL, err);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = li.ifindex;
	nl_end(nl, nlh);
	enc_err_clear(&lerr);
	r = nl_run(nl, NULL, NULL, &lerr);
	if (r == -ENODEV)	/* gone in between: what we wanted */
		return 0;
	if (r < 0 && err && !enc_err_isset(err))
		*err = lerr;
	return r;
}

/* ---- addresses ----------------------------------------------------------- */

int enc_netpool_addrs(unsigned slot, struct enc_net_addrs *a)
{
	uint32_t base;

	memset(a, 0, sizeof(*a));
	if (slot >= ENC_NETPOOL_SLOTS)
		return -ERANGE;
	/* 10.213.0.0/16 in /30 blocks: network, host end, workspace,
	 * broadcast. */
	base = (10u << 24) | (213u << 16) | (slot << 2);
	a->host4.family = a->ws4.family = AF_INET;
	for (int i = 0; i < 4; i++) {
		a->host4.addr[i] = (uint8_t)((base + 1) >> (24 - 8 * i));
		a->ws4.addr[i] = (uint8_t)((base + 2) >> (24 - 8 * i));
	}
	a->prefix4 = 30;
	/* fd65:6e63:6c61::/48 ("enc" + "la"), subnet id = slot. */
	static const uint8_t pfx6[6] = { 0xfd, 0x65, 0x6e, 0x63, 0x6c, 0x61 };
	a->host6.family = a->ws6.family = AF_INET6;
	memcpy(a->host6.addr, pfx6, sizeof(pfx6));
	a->host6.addr[6] = (uint8_t)(slot >> 8);
	a->host6.addr[7] = (uint8_t)slot;
	memcpy(a->ws6.addr, a->host6.addr, 8);
	a->host6.addr[15] = 1;
	a->ws6.addr[15] = 2;
	a->prefix6 = 64;
	return 0;
}

/* ---- the whole wiring ---------------------------------------------------- */

static int veth_setup(struct enc_nl *nl, const struct enc_veth_config *c, const char *peer,
		      bool *created, struct enc_err *err)
{
	const struct enc_net_addrs *a = &c->addrs;
	bool v6 = a->host6.family != 0;
	struct enc_nl *ws = NULL;
	int host_idx, peer_idx, r;

	r = veth_create(nl, c->host, peer, c->netns_fd, &host_idx, err);
	if (r < 0)
		return r;
	*created = true;
	if (host_idx <= 0) {
		r = enc_nl_link_index(nl, c->host, &host_idx, NULL, 0, err);
		if (r < 0)
			return r;
	}

	/* The host end: addresses without prefix routes, and routes to
	 * exactly the workspace's addresses, so the host sends nothing else
	 * of the block down this veth. */
	enc_nl_queue_addr(nl, host_idx, c->host, &a->host4, a->prefix4, ENC_NL_ADDR_NOPREFIXROUTE);
	if (v6)
		enc_nl_queue_addr(nl, host_idx, c->host, &a->host6, a->prefix6,
				  ENC_NL_ADDR_NOPREFIXROUTE);
	enc_nl_queue_route(nl, &a->ws4, 32, NULL, host_idx, c->host);
	if (v6)
		enc_nl_queue_route(nl, &a->ws6, 128, NULL, host_idx, c->host);
	r = enc_nl_commit(nl, err);
	if (r < 0)
		return r;

	/* The workspace's side, on a socket that lives in its namespace. */
	r = enc_nl_open(c->netns_fd, &ws, err);
	if (r < 0)
		return r;
	r = enc_nl_link_index(ws, peer, &peer_idx, NULL, 0, err);
	if (r < 0)
		goto out;
	enc_nl_queue_link_up(ws, 1, "lo");	/* lo is ifindex 1 in every namespace */
	/* Up before the routes: an IPv4 route via a down device is refused. */
	enc_nl_queue_link_up(ws, peer_idx, peer);
	enc_nl_queue_addr(ws, peer_idx, peer, &a->ws4, a->prefix4, 0);
	if (v6)
		enc_nl_queue_addr(ws, peer_idx, peer, &a->ws6, a->prefix6, 0);
	static const struct enc_ip any4 = { .family = AF_INET };
	static const struct enc_ip any6 = { .family = AF_INET6 };
	enc_nl_queue_route(ws, &any4, 0, &a->host4, peer_idx, peer);
	if (v6)
		enc_nl_queue_route(ws, &any6, 0, &a->host6, peer_idx, peer);
	r = enc_nl_commit(ws, err);
out:
	enc_nl_close(ws);
	return r;
}

int enc_veth_setup(struct enc_nl *nl, const struct enc_veth_config *c, struct enc_err *err)
{
	const struct enc_net_addrs *a = &c->addrs;
	const char *peer = c->peer ? c->peer : ENC_VETH_PEER_DEFAULT;
	bool created = false;
	int r;

	if (a->host4.family != AF_INET || a->ws4.family != AF_INET || a->prefix4 > 30 ||
	    (a->host6.family != 0 &&
	     (a->host6.family != AF_INET6 || a->ws6.family != AF_INET6 || a->prefix6 > 126)))
		return enc_err_set(err, -EINVAL, "cannot set up veth %s: bad addresses",
				   c->host ? c->host : "(null)");
	r = veth_setup(nl, c, peer, &created, err);
	if (r < 0 && created) {
		/* Undo: everything hangs off the veth. Only when this call
		 * made it: an existing one of that name is not ours to
		 * delete here (a leftover is the sweep's). */
		nl_reset(nl);
		enc_veth_delete(nl, c->host, NULL);
	}
	return r;
}

/* ---- NFLOG ----------------------------------------------------------------- */

#define NFLOG_RBUF_SIZE 16384

struct enc_nflog {
	int fd;
	unsigned rate;
	uint64_t tokens;		/* in 1e-9 events */
	struct timespec last;		/* CLOCK_MONOTONIC of the last refill */
	struct enc_nflog_stats st;
	char buf[NFLOG_RBUF_SIZE] __attribute__((aligned(8)));
};

int enc_nflog_bind(int netns_fd, uint16_t group, struct enc_err *err)
{
	_cleanup_close_ int fd = -1;
	char buf[512] __attribute__((aligned(8)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(ENC_NFLOG_COPY_RANGE),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	uint32_t seq = 1;
	int one = 1;

	fd = socket_in_netns(netns_fd, SOCK_RAW, NETLINK_NETFILTER, err);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return enc_err_sys(err, -errno, "cannot bind the NFLOG socket");
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	/* One message: the kernel binds first, then applies the settings.
	 * A queue threshold of 1 puts every packet in a message of its own,
	 * at once, so a read never has to hold back part of a datagram. */
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	if (ENC_RETRY(send(fd, nlh, nlh->nlmsg_len, 0)) < 0)
		return enc_err_sys(err, -errno, "cannot bind NFLOG group %u", group);

	/* The kernel answers within the send; packets logged to the group
	 * right after the bind may come first and are skipped here (the
	 * workload has not started yet). */
	for (;;) {
		char rbuf[4096] __attribute__((aligned(8)));
		ssize_t got = ENC_RETRY(recv(fd, rbuf, sizeof(rbuf), 0));
		const struct nlmsghdr *r;
		int rem;

		if (got < 0) {
			if (errno == ENOBUFS)
				continue;
			return enc_err_sys(err, -errno, "cannot bind NFLOG group %u", group);
		}
		rem = (int)got;
		for (r = (const struct nlmsghdr *)rbuf; mnl_nlmsg_ok(r, rem);
		     r = mnl_nlmsg_next(r, &rem)) {
			const struct nlmsgerr *e;

			if (r->nlmsg_type != NLMSG_ERROR || r->nlmsg_seq != seq)
				continue;
			if (mnl_nlmsg_get_payload_len(r) < sizeof(*e))
				return enc_err_set(err, -EPROTO, "cannot bind NFLOG group %u: "
						   "short answer", group);
			e = mnl_nlmsg_get_payload(r);
			/* A taken group answers EBUSY, or EPERM when the
			 * instance belongs to another socket; EPERM is also
			 * what a caller without CAP_NET_ADMIN gets. */
			if (e->error == -EBUSY)
				return enc_err_sys(err, e->error, "cannot bind NFLOG group %u "
						   "(another process listens on it)", group);
			if (e->error == -EPERM)
				return enc_err_sys(err, e->error, "cannot bind NFLOG group %u "
						   "(another process listens on it, or no "
						   "CAP_NET_ADMIN)", group);
			if (e->error < 0)
				return enc_err_sys(err, e->error, "cannot bind NFLOG group %u", group);
			if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
				return enc_err_sys(err, -errno, "cannot bind NFLOG group %u", group);
			return steal_fd(&fd);
		}
	}
}

int enc_nflog_new(int fd, unsigned rate, struct enc_nflog **out, struct enc_err *err)
{
	struct enc_nflog *r;

	*out = NULL;
	if (fd < 0)
		return enc_err_set(err, -EBADF, "cannot read NFLOG: no socket");
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return enc_err_sys(err, -ENOMEM, "cannot read NFLOG");
	}
	r->fd = fd;
	r->rate = rate;
	r->tokens = (uint64_t)rate * 1000000000ull;
	clock_gettime(CLOCK_MONOTONIC, &r->last);
	*out = r;
	return 0;
}

int enc_nflog_open(int netns_fd, uint16_t group, unsigned rate,
		   struct enc_nflog **out, struct enc_err *err)
{
	int fd = enc_nflog_bind(netns_fd, group, err);

	*out = NULL;
	if (fd < 0)
		return fd;
	return enc_nflog_new(fd, rate, out, err);
}

int enc_nflog_fd(const struct enc_nflog *r)
{
	return r->fd;
}

void enc_nflog_get_stats(const struct enc_nflog *r, struct enc_nflog_stats *st)
{
	*st = r->st;
}

void enc_nflog_free(struct enc_nflog *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

/* Token bucket: rate per second, burst rate. */
static bool take_token(struct enc_nflog *r)
{
	const uint64_t one = 1000000000ull, cap = (uint64_t)r->rate * one;
	struct timespec now;
	uint64_t ns;

	if (r->rate == 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - r->last.tv_sec) * one +
	     (uint64_t)now.tv_nsec - (uint64_t)r->last.tv_nsec;
	r->last = now;
	/* Refill without overflow: a long pause simply fills the bucket. */
	if (ns >= one || r->tokens + ns * r->rate >= cap)
		r->tokens = cap;
	else
		r->tokens += ns * r->rate;
	if (r->tokens < one)
		return false;
	r->tokens -= one;
	return true;
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

static uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* The network header on: addresses, protocol, ports. */
static int decode_ip(const uint8_t *p, size_t len, struct enc_nflog_event *ev)
{
	size_t off;
	uint8_t proto;
	bool first_frag = true;

	if (len < 1)
		return -EINVAL;
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4;

		if (len < 20 || ihl < 20 || len < ihl)
			return -EINVAL;
		proto = p[9];
		ev->src.family = ev->dst.family = AF_INET;
		memcpy(ev->src.addr, p + 12, 4);
		memcpy(ev->dst.addr, p + 16, 4);
		first_frag = (be16_at(p + 6) & 0x1fff) == 0;
		off = ihl;
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return -EINVAL;
		proto = p[6];
		ev->src.family = ev->dst.family = AF_INET6;
		memcpy(ev->src.addr, p + 8, 16);
		memcpy(ev->dst.addr, p + 24, 16);
		off = 40;
		/* Skip extension headers to the transport (a bounded
		 * number: the copy range is small anyway). */
		for (int i = 0; i < 8; i++) {
			size_t hl;

			if (proto == IPPROTO_HOPOPTS || proto == IPPROTO_ROUTING ||
			    proto == IPPROTO_DSTOPTS) {
				if (len < off + 2)
					break;
				hl = ((size_t)p[off + 1] + 1) * 8;
			} else if (proto == IPPROTO_FRAGMENT) {
				if (len < off + 8)
					break;
				first_frag = (be16_at(p + off + 2) & 0xfff8) == 0;
				hl = 8;
			} else if (proto == IPPROTO_AH) {
				if (len < off + 2)
					break;
				hl = ((size_t)p[off + 1] + 2) * 4;
			} else {
				break;
			}
			proto = p[off];
			off += hl;
		}
	} else {
		return -EINVAL;
	}
	ev->protocol = proto;
	if (has_ports(proto) && first_frag && len >= off + 4) {
		ev->sport = be16_at(p + off);
		ev->dport = be16_at(p + off + 2);
	}
	return 0;
}

int enc_nflog_decode(const void *msg, size_t len, struct enc_nflog_event *ev)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { NULL };
	const struct nlmsghdr *nlh = msg;
	const struct nlattr *a;

	memset(ev, 0, sizeof(*ev));
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len ||
	    nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_store_cb,
			   &(struct attr_table){ tb, NFULA_MAX }) < 0)
		return -EINVAL;

	a = tb[NFULA_PAYLOAD];
	if (!a || decode_ip(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), ev) < 0)
		return -EINVAL;
	a = tb[NFULA_PREFIX];
	if (a) {
		size_t n = mnl_attr_get_payload_len(a);

		if (n >= sizeof(ev->prefix))
			n = sizeof(ev->prefix) - 1;
		memcpy(ev->prefix, mnl_attr_get_payload(a), n);
		ev->prefix[n] = '\0';	/* the kernel's NUL, or ours when cut */
	}
	a = tb[NFULA_TIMESTAMP];
	if (a && mnl_attr_get_payload_len(a) >= sizeof(struct nfulnl_msg_packet_timestamp)) {
		struct nfulnl_msg_packet_timestamp ts;

		memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
		ev->time.tv_sec = (time_t)be64toh(ts.sec);
		ev->time.tv_nsec = (long)(be64toh(ts.usec) * 1000);
	}
	return 0;
}

int enc_nflog_read(struct enc_nflog *r, struct enc_nflog_event *ev, size_t max,
		   struct enc_err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < max; i++) {
		ssize_t got = recv(r->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		struct timespec now;
		int rem;

		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped messages for us: count it,
				 * the socket itself is fine. */
				r->st.overruns++;
				continue;
			}
			return enc_err_sys(err, -errno, "cannot read NFLOG");
		}
		clock_gettime(CLOCK_REALTIME, &now);
		rem = (int)got;
		for (nlh = (const struct nlmsghdr *)r->buf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
				continue;
			r->st.received++;
			/* With one packet per message this cannot happen;
			 * should a datagram carry more than the call has
			 * room for, the rest count as dropped. */
			if (n >= max) {
				r->st.rate_dropped++;
				continue;
			}
			if (enc_nflog_decode(nlh, nlh->nlmsg_len, &ev[n]) < 0) {
				r->st.malformed++;
				continue;
			}
			if (!take_token(r)) {
				r->st.rate_dropped++;
				continue;
			}
			if (ev[n].time.tv_sec == 0 && ev[n].time.tv_nsec == 0)
				ev[n].time = now;
			r->st.delivered++;
			n++;
		}
	}
	return (int)n;
}
