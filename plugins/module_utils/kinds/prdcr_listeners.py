# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Producer listeners (``prdcr_listen_*``): producers made for the advertisers that announce themselves."""

from __future__ import annotations

from typing import Dict

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (
    parse_bool,
    parse_int,
    parse_interval_us,
    parse_port,
    parse_xprt,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Attr, Kind, dash, int_or, one_of, parse_name, text

TYPES = ("active", "passive")


class PrdcrListeners(Kind):
    name = "prdcr_listeners"
    add, start, stop, delete = "prdcr_listen_add", "prdcr_listen_start", "prdcr_listen_stop", "prdcr_listen_del"
    attrs = (
        Attr("name", parse_name, "Listener name.", required=True),
        Attr("regex", text, "Regular expression of the host names of the advertisers it accepts.", daemon_default=None),
        Attr("ip", text, "IP range (CIDR) of the advertisers it accepts.", daemon_default=None),
        Attr("disable_start", parse_bool, "Whether the producers it makes are left stopped.", type="raw",
             reported=False),
        Attr("quota", parse_int, "Receive quota of its producers in bytes (-1 unlimited).", type="raw",
             daemon_default=-1),
        Attr("rx_rate", parse_int, "Receive rate limit of its producers in bytes per second (-1 unlimited).",
             type="raw", daemon_default=-1),
        Attr("type", one_of(TYPES, "listener type"), "Whether it makes passive or active producers.", choices=TYPES,
             daemon_default="passive"),
        Attr("advertiser_xprt", parse_xprt, "Transport of the advertisers it accepts.", reported=False),
        Attr("advertiser_port", parse_port, "Port of the advertisers it accepts.", type="raw", reported=False),
        Attr("advertiser_auth", parse_name, "Auth domain of the advertisers it accepts.", reported=False),
        Attr("rail", parse_int, "Number of connections (rail) of its producers.", type="raw", reported=False),
        Attr("reconnect", parse_interval_us, "Reconnect interval of its producers.", type="raw", reported=False),
    )

    def facts(self, client) -> Dict[str, dict]:
        facts = {}
        for reply in client.status("prdcr_listen_status"):
            item = {"name": reply["name"], "regex": dash(reply.get("regex")), "ip": dash(reply.get("IP range")),
                    "quota": int_or(reply.get("quota")), "rx_rate": int_or(reply.get("rx_rate")),
                    "type": reply.get("type")}
            facts[item["name"]] = {"item": item, "running": reply.get("state") == "running"}
        return facts
