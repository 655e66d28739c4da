# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stream subscriptions (``prdcr_subscribe``) of the producers an aggregator has."""

from __future__ import annotations

from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import parse_int
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import (
    Attr,
    Context,
    Kind,
    Plan,
    exact_names_regex,
    matched_by,
    pairs,
    text,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.producers import Producers
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command


class Subscriptions(Kind):
    name = "subscriptions"
    add, delete = "prdcr_subscribe", "prdcr_unsubscribe"
    attrs = (
        Attr("stream", text, "Stream name (give this or message_tag)."),
        Attr("message_tag", text, "Message channel tag (give this or stream)."),
        Attr("rx_rate", parse_int, "Receive rate limit in bytes per second (-1 unlimited).", type="raw"),
        Attr("regex", text, "Regular expression of the producers that subscribe.", default=".*"),
    )

    def check(self, item: dict, path: str):
        if ("stream" in item) == ("message_tag" in item):
            raise ClusterError(path, "give exactly one of stream or message_tag")

    def identity(self, item: dict) -> str:
        return "%s=%s regex=%s" % ("stream" if "stream" in item else "message_tag",
                                   item.get("stream", item.get("message_tag")), item.get("regex", ".*"))

    def delete_commands(self, item: dict) -> List[Command]:
        return [Command.make(self.delete, ("regex", item.get("regex", ".*")), *pairs(item, ("stream", "message_tag")))]

    def facts(self, client) -> Dict[str, dict]:
        """Stream subscriptions that producers report as subscribed.

        4.5.3 has no subscription status: prdcr_stream_status shows a stream on
        a producer only once a message of it has arrived there.
        """
        facts = {}
        for stream, producers in sorted((client.status("prdcr_stream_status", [("regex", ".*")]) or {}).items()):
            if stream.startswith("_"):
                continue  # _OVERALL_ totals
            names = sorted(producer for producer, stats in producers.items() if stats.get("mode") == "subscribed")
            if names:
                item = {"stream": stream, "regex": exact_names_regex(names)}
                facts[self.identity(item)] = {"item": item, "running": True, "producers": names}
        return facts

    def context(self, client) -> Context:
        return Context(producer_names=list(Producers().facts(client)))

    def plan(self, state: str, wanted: List[dict], facts: Dict[str, dict], context: Context,
             scope: Optional[str] = None, keep_started: bool = False) -> Plan:
        """4.5.3 cannot list subscriptions, so only what is observable is skipped.

        A stream subscription is in place when every producer its regex matches
        reports the stream as subscribed; anything unobservable is (re)sent,
        which ldmsd takes as a no-op for producers already subscribed.
        """
        if state in ("replaced", "overridden"):
            raise LdmsdError("state=%s is not possible for subscriptions: ldmsd 4.5.3 cannot list them, so unlisted "
                             "ones cannot be found. Use merged and deleted." % state)
        subscribed: Dict[str, set] = {}
        for fact in facts.values():
            subscribed.setdefault(fact["item"]["stream"], set()).update(fact["producers"])
        plan = Plan(before=[fact["item"] for fact in facts.values()])
        for item in wanted:
            if state == "deleted":
                plan.commands += self.delete_commands(item)
                continue
            matched = matched_by([item.get("regex", ".*")], context.producer_names)
            if "stream" in item and matched and set(matched) <= subscribed.get(item["stream"], set()):
                continue
            plan.commands += self.add_commands(item)
            plan.after.append(item)
        if state == "deleted":
            dropped = {item.get("stream") for item in wanted}
            plan.after = [item for item in plan.before if item["stream"] not in dropped]
        else:
            plan.after = plan.before + plan.after
        return plan
