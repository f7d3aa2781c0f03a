/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftwatch.c - keeping a workspace's egress policy in place (nftwatch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nftwatch.h"
#include "util.h"

int enc_nftwatch_open(int *fd, struct enc_err *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int e;

	if (!nl)
		return enc_err_sys(err, -errno, "cannot open an nftables event socket");
	if (mnl_socket_bind(nl, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		mnl_socket_close(nl);
		return enc_err_sys(err, e, "cannot listen to nftables events");
	}
	/* The fd outlives the libmnl wrapper, which only holds it. */
	*fd = fcntl(mnl_socket_get_fd(nl), F_DUPFD_CLOEXEC, 3);
	e = -errno;
	mnl_socket_close(nl);
	if (*fd < 0)
		return enc_err_sys(err, e, "cannot listen to nftables events");
	return 0;
}

static bool is_removal(uint16_t type)
{
	if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES)
		return false;
	switch (NFNL_MSG_TYPE(type)) {
	case NFT_MSG_DELTABLE:
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_DELRULE:
	case NFT_MSG_DELSET:
	case NFT_MSG_DELSETELEM:
	case NFT_MSG_DELOBJ:
		return true;
	default:
		return false;
	}
}

bool enc_nftwatch_removal(int fd)
{
	char buf[8192];
	bool removal = false;

	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0 && (errno == EINTR || errno == ENOBUFS)) {
			removal |= errno == ENOBUFS;
			continue;
		}
		if (k <= 0)
			return removal;
		int len = (int)k;
		for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len))
			removal |= is_removal(h->nlmsg_type);
	}
}

int enc_nftwatch_rules(const char *id, size_t *count)
{
	struct enc_nft_counter *c = NULL;
	size_t k = 0;
	int r = enc_nft_counters(id, &c, &k, NULL);

	free(c);
	*count = r == 0 ? k : 0;
	return r;
}

int enc_nftwatch_reinstall(const struct enc_nft_ws *ws, struct enc_err *err)
{
	_cleanup_nft_batch_ struct enc_nft_batch *b = enc_nft_batch_new();
	struct enc_nft_base base;
	int r;

	if (!b)
		return enc_err_sys(err, -ENOMEM, "cannot rebuild the nftables batch");
	enc_nft_base_init(&base);
	/* One transaction: the workspace is never without its rules in
	 * between (its interface out of ws_ifaces would meet policy accept). */
	if ((r = enc_nft_build_remove(b, ws->id, ws->ifname, err)) < 0 ||
	    (r = enc_nft_build_add(b, &base, ws, err)) < 0 ||
	    (r = enc_nft_batch_send(b, err)) < 0)
		return r;
	return 0;
}

int enc_nftwatch_check(const struct enc_nft_ws *ws, size_t expected, size_t *found,
		       struct enc_err *err)
{
	int r = enc_nftwatch_rules(ws->id, found);

	if ((r == 0 || r == -ENOENT) && *found >= expected)
		return 0;
	if (r < 0 && r != -ENOENT)
		return enc_err_sys(err, r, "nftables: cannot check the rules of workspace %s", ws->id);
	r = enc_nftwatch_reinstall(ws, err);
	return r < 0 ? r : 1;
}
