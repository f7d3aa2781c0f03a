/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netmode.c - the one symbol lib/nft.c takes from lib/config.c. The helper
 * cannot link config.c (inih, the Enclavefile parser: configuration is
 * never parsed as root), so it carries this four-line copy.
 */
#include "config.h"

const char *enc_net_mode_str(enum enc_net_mode m)
{
	switch (m) {
	case ENC_NET_NONE: return "none";
	case ENC_NET_DENY: return "deny";
	case ENC_NET_NAT: return "nat";
	case ENC_NET_HOST: return "host";
	}
	return "?";
}
