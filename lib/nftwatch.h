/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftwatch.h - keeping a workspace's egress policy in place (DESIGN.md
 * §7, §15.3): the host's root may remove it (`nft flush ruleset`, a
 * firewall reload). The watcher listens to nftables events, and after a
 * removal counts the workspace's rules; if some are gone it puts them all
 * back. Used by the monitor as root and by enclave-helper's per-workspace
 * watcher for ordinary users (who cannot read the host's rules).
 *
 * Contract: 0 or -errno with err filled; never prints or exits; fds are
 * O_CLOEXEC. Needs CAP_NET_ADMIN over the host's network namespace.
 */
#ifndef ENCLAVE_NFTWATCH_H
#define ENCLAVE_NFTWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include "err.h"
#include "nft.h"

/* A non-blocking socket subscribed to nftables events, in *fd. */
int enc_nftwatch_open(int *fd, struct enc_err *err);

/* Read every pending event of fd; true when one removed something (or an
 * overrun may have hidden one). Additions never concern a watcher: every
 * other workspace's start would otherwise cost each watcher a dump. */
bool enc_nftwatch_removal(int fd);

/* How many rules of workspace id are installed (0 and -ENOENT: none). */
int enc_nftwatch_rules(const char *id, size_t *count);

/* Remove what is left of ws's rules and add them all again. */
int enc_nftwatch_reinstall(const struct enc_nft_ws *ws, struct enc_err *err);

/* After a removal: 0 when at least `expected` rules of ws are in place,
 * 1 when some were gone and all are back (*found: how many were left),
 * -errno when they could not be checked or put back. */
int enc_nftwatch_check(const struct enc_nft_ws *ws, size_t expected, size_t *found,
		       struct enc_err *err);

#endif
