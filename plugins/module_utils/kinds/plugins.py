# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plugin instances (``load``/``config``/``start``): samplers, and the plugins an aggregator runs."""

from __future__ import annotations

import time
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (
    DEFAULT_SAMPLE_INTERVAL_US,
    check_key,
    check_offset,
    check_value,
    parse_interval_us,
    parse_time_us,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import (
    Attr,
    Context,
    Kind,
    config_command,
    config_dict,
    int_or,
    parse_name,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command, as_text

# A started sampler whose sets saw no transaction for this many intervals
# (plus slack for clock skew between hosts) counts as stopped.
STOPPED_AFTER_INTERVALS = 3
CLOCK_SLACK_S = 5.0


def parse_config(value, path):
    """Plugin config: a dict, a string, or a list of those."""
    items = value if isinstance(value, list) else [value]
    result = []
    for index, item in enumerate(items):
        item_path = "%s[%d]" % (path, index) if isinstance(value, list) else path
        if isinstance(item, dict):
            result.append(config_dict(item, item_path))
        elif isinstance(item, str):
            for word in item.split(" "):  # attr=value words, split by ldmsd at spaces
                if word:
                    check_key(word.partition("=")[0], item_path)
                    check_value(word, item_path)
            result.append(item)
        else:
            raise ClusterError(item_path, "expected a mapping or a string")
    return result


class Samplers(Kind):
    name = "samplers"
    add, start, stop, delete = "load", "start", "stop", "term"
    shared_items = True  # each item's lines stand alone
    samples = True  # its sets carry the daemon's component id
    # Without an interval, ldmsd starts a sampler at its default; an aggregator plugin is not started.
    default_interval: Optional[int] = DEFAULT_SAMPLE_INTERVAL_US
    attrs = (
        Attr("name", parse_name, "Plugin instance name.", required=True),
        Attr("plugin", parse_name, "Plugin library; the instance name when not given (several instances of one plugin "
             "need distinct names)."),
        Attr("interval", parse_interval_us, "Sampling interval (a time such as 1s, or microseconds); a sampler without one starts at "
             "ldmsd's 1s, an aggregator plugin without one is not started.", type="raw",
             in_place=True),
        Attr("offset", parse_time_us, "Offset of the samples within the interval.", type="raw",
             daemon_default=None, in_place=True),
        Attr("config", parse_config, "Plugin options: a mapping, an attr=value string, or a list of those (one "
             "config line each).", type="raw", default=[], reported=False, written=False),
    )

    def check(self, item: dict, path: str):
        item.setdefault("plugin", item["name"])
        if "offset" in item:
            check_offset(item.get("interval", self.default_interval), item["offset"], path + ".offset")

    def add_commands(self, item: dict) -> List[Command]:
        instance = item["name"]
        commands = [Command(self.add, (("name", instance), ("plugin", item.get("plugin") or instance)))]
        commands += [config_command(instance, config) for config in item.get("config", ())]
        return commands

    def start_commands(self, item: dict) -> List[Command]:
        interval = item.get("interval")
        if interval is None:
            if self.default_interval is None:
                return []
            interval = self.default_interval
        attrs = (("name", item["name"]), ("interval", as_text(interval)))
        if item.get("offset") is not None:
            attrs += (("offset", as_text(item["offset"])),)
        return [Command(self.start, attrs)]

    def stop_commands(self, item: dict) -> List[Command]:
        if self.default_interval is None and item.get("interval") is None:
            return []  # never started
        return super().stop_commands(item)

    def comparable(self, want: dict, replaced: bool, context: Context) -> dict:
        result = super().comparable(want, replaced, context)
        if self.default_interval is not None and result.get("interval") is None:
            result["interval"] = self.default_interval  # what a start without interval gets
        return result

    def facts(self, client, now: Optional[float] = None) -> Dict[str, dict]:
        """Sampler plugin instances with their schedule.

        4.5.3's plugn_status shows neither interval nor running state; ldmsd
        writes the schedule into each set's ``updt_hint_us`` info at start, and
        a running instance keeps its sets' transaction timestamps fresh.
        """
        instances = [reply for reply in client.status("plugn_status")
                     if str(reply.get("type", "")).startswith("sampler")]
        if not instances:
            return {}
        sets_of = {reply["plugin"]: reply.get("sets", []) for reply in client.status("plugn_sets")}
        directory = {entry["name"]: entry for entry in client.sets_directory()}
        now = time.time() if now is None else now
        facts = {}
        for reply in instances:
            instance = reply["name"]
            interval = offset = None
            running = False
            for set_name in sets_of.get(instance, []):
                entry = directory.get(set_name) or {}
                interval_text, _sep, offset_text = (entry.get("info") or {}).get("updt_hint_us", "").partition(":")
                if not int_or(interval_text):
                    continue
                interval, offset = int_or(interval_text), int_or(offset_text) or None
                stamp = entry.get("timestamp") or 0
                # No transaction yet: started, first sample still ahead.
                running = not stamp or now - stamp <= STOPPED_AFTER_INTERVALS * interval / 1e6 + CLOCK_SLACK_S
                break
            item = {"name": instance, "plugin": reply.get("plugin", instance), "interval": interval, "offset": offset}
            facts[instance] = {"item": item, "running": running, "sets": sets_of.get(instance, [])}
        return facts


class AggregatorPlugins(Samplers):
    name = "aggregator_plugins"
    default_interval = None
    samples = False
