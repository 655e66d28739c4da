# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advertisers (``advertiser_*``): a sampler announcing itself to an aggregator's producer listener."""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Kind, pairs
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.producers import ENDPOINT_ATTRS, endpoint_facts
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command


class Advertisers(Kind):
    name = "advertisers"
    add, start, stop, delete = "advertiser_add", "advertiser_start", "advertiser_stop", "advertiser_del"
    restart_after_failure = True
    undeletable_once_started = True
    attrs = tuple(replace(ENDPOINT_ATTRS["host"], doc="The aggregator host to advertise to.") if key == "host"
                  else ENDPOINT_ATTRS[key]
                  for key in ("name", "host", "xprt", "port", "reconnect", "auth", "perm", "rail", "quota", "rx_rate"))

    def add_commands(self, item: dict) -> List[Command]:
        # The control API (unlike a config file) refuses advertiser_add without it.
        return [Command.make(self.add, *pairs(item, self.written), ("type", "advertiser"))]

    def facts(self, client) -> Dict[str, dict]:
        facts = endpoint_facts(client, ("advertiser",))
        for fact in facts.values():
            del fact["item"]["type"]
        return facts
