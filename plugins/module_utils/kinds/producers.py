# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Producers (``prdcr_*``): the endpoints an aggregator pulls sets from."""

from __future__ import annotations

from typing import Dict

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (
    check_host,
    parse_bool,
    parse_int,
    parse_interval_us,
    parse_perm,
    parse_port,
    parse_xprt,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import (
    DEFAULT_AUTH_DOMAIN,
    Attr,
    Kind,
    int_or,
    parse_name,
    one_of,
)

TYPES = ("active", "passive", "bridge", "advertiser", "advertised")
# The attributes a producer and an advertiser share, as prdcr_status reports them.
ENDPOINT_ATTRS = {
    "name": Attr("name", parse_name, "Object name.", required=True),
    "host": Attr("host", check_host, "Host to connect to.", required=True),
    "port": Attr("port", parse_port, "Port to connect to.", type="raw", required=True),
    "xprt": Attr("xprt", parse_xprt, "LDMS transport.", default="sock", daemon_default="sock"),
    "reconnect": Attr("reconnect", parse_interval_us, "Reconnect interval (a time such as 20s, or microseconds).",
                      type="raw", required=True),
    "auth": Attr("auth", parse_name, "Auth domain name (ldmsd's default domain when not given).",
                 daemon_default=DEFAULT_AUTH_DOMAIN),
    "perm": Attr("perm", parse_perm, "Permission bits of the object (octal or rwx form).", type="raw",
                 reported=False),
    "rail": Attr("rail", parse_int, "Number of connections (rail) to the peer.", type="raw", daemon_default=1),
    "quota": Attr("quota", parse_int, "Receive quota in bytes (-1 unlimited).", type="raw", daemon_default=-1),
    "rx_rate": Attr("rx_rate", parse_int, "Receive rate limit in bytes per second (-1 unlimited).", type="raw",
                    daemon_default=-1),
}


def endpoint_facts(client, types) -> Dict[str, dict]:
    """Objects of prdcr_status whose type is one of ``types``; prdcr_status lists producers and advertisers."""
    facts = {}
    for reply in client.status("prdcr_status"):
        if reply.get("type") not in types:
            continue
        item = {"name": reply["name"], "host": reply.get("host"), "port": int_or(reply.get("port")),
                "xprt": reply.get("transport"), "type": reply.get("type"),
                "reconnect": int_or(reply.get("reconnect_us")), "rail": int_or(reply.get("rail")),
                "quota": int_or(reply.get("quota")), "rx_rate": int_or(reply.get("rx_rate")),
                "auth": reply.get("auth")}  # the domain's name, as given (or DEFAULT)
        facts[item["name"]] = {"item": item, "running": reply.get("state") != "STOPPED",
                               "sets": [s.get("inst_name") for s in reply.get("sets", [])]}
    return facts


class Producers(Kind):
    name = "producers"
    add, start, stop, delete = "prdcr_add", "prdcr_start", "prdcr_stop", "prdcr_del"
    restart_after_failure = True
    undeletable_once_started = True
    types = ("active", "passive", "bridge")  # the prdcr_status types this kind owns
    attrs = (
        ENDPOINT_ATTRS["name"], ENDPOINT_ATTRS["host"], ENDPOINT_ATTRS["port"], ENDPOINT_ATTRS["xprt"],
        Attr("type", one_of(TYPES, "producer type"), "Producer type.", choices=TYPES, default="active",
             daemon_default="active"),
        ENDPOINT_ATTRS["reconnect"], ENDPOINT_ATTRS["perm"], ENDPOINT_ATTRS["auth"], ENDPOINT_ATTRS["rail"],
        ENDPOINT_ATTRS["quota"], ENDPOINT_ATTRS["rx_rate"],
        Attr("cache_ip", parse_bool, "Whether ldmsd resolves the host once and keeps its address.", type="raw",
             reported=False),
    )

    def facts(self, client) -> Dict[str, dict]:
        return endpoint_facts(client, self.types)
