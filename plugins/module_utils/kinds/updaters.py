# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Updaters (``updtr_*``): pull the sets of the producers they match, on a schedule."""

from __future__ import annotations

import re
from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (
    check_offset,
    parse_interval_us,
    parse_perm,
    parse_time_us,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import (
    Attr,
    Context,
    Kind,
    exact_names_regex,
    int_or,
    matched_by,
    parse_name,
    one_of,
    pairs,
    regex_list,
    text,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.producers import Producers
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

MODES = ("pull", "push", "onchange", "auto")
MODE_ALIASES = {"auto_interval": "auto"}
SET_FIELDS = ("inst", "schema")  # what an updater's set match compares
# updtr_add's flags for each mode
_MODE_FLAGS = {"push": [("push", "true")], "onchange": [("push", "onchange")], "auto": [("auto_interval", "true")]}

parse_mode = one_of(MODES, "mode", MODE_ALIASES, lower=True)


def parse_set_field(value, path):
    if value not in SET_FIELDS:
        raise ClusterError(path, "must be %s, got %r" % (" or ".join(SET_FIELDS), value))
    return value


def parse_sets(value, path):
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list of {regex, field}")
    result = []
    for index, item in enumerate(value):
        item_path = "%s[%d]" % (path, index)
        if not isinstance(item, dict) or "regex" not in item:
            raise ClusterError(item_path, "expected {regex, field}")
        result.append({"regex": text(item["regex"], item_path + ".regex"),
                       "field": parse_set_field(item.get("field", "inst"), item_path + ".field")})
    return result


def _set_matches(items) -> set:
    return {(match["regex"], match.get("field", "inst")) for match in items or ()}


class Updaters(Kind):
    name = "updaters"
    add, start, stop, delete = "updtr_add", "updtr_start", "updtr_stop", "updtr_del"
    restart_after_failure = True
    attrs = (
        Attr("name", parse_name, "Updater name.", required=True),
        Attr("interval", parse_interval_us, "Update interval (a time such as 1s, or microseconds).", type="raw",
             required=True),
        Attr("offset", parse_time_us, "Offset of the updates within the interval.", type="raw", daemon_default=None),
        Attr("mode", parse_mode, "How sets are updated: pull, push (on every set update), onchange (push when "
             "the set changed), auto (follow the sampler's interval; auto_interval is read as auto).", choices=MODES,
             default="pull",
             daemon_default="pull", written=False),
        Attr("perm", parse_perm, "Permission bits of the updater (octal or rwx form).", type="raw", reported=False),
        Attr("producers", regex_list, "Regular expressions of the producer names whose sets it updates (a string "
             "or a list).", type="raw", default=[".*"], in_place=True, written=False),
        Attr("sets", parse_sets, "Set matches, each {regex, field} with field inst (the default) or schema.",
             type="list", elements="dict", default=[], daemon_default=[], in_place=True, written=False),
    )

    def check(self, item: dict, path: str):
        if "offset" in item:
            check_offset(item.get("interval"), item["offset"], path + ".offset")

    def add_commands(self, item: dict) -> List[Command]:
        commands = [Command.make(self.add, *pairs(item, ("name", "interval", "offset")),
                                 *_MODE_FLAGS.get(item.get("mode", "pull"), []), *pairs(item, ("perm",)))]
        commands += [Command.make("updtr_prdcr_add", ("name", item["name"]), ("regex", regex))
                     for regex in item.get("producers", [".*"])]
        commands += [Command.make("updtr_match_add", ("name", item["name"]), ("regex", match["regex"]),
                                  ("match", match.get("field", "inst"))) for match in item.get("sets", [])]
        return commands

    def facts(self, client) -> Dict[str, dict]:
        facts = {}
        for reply in client.status("updtr_status"):
            mode = "auto" if str(reply.get("auto", "false")).lower() == "true" else str(
                reply.get("mode", "pull")).lower().replace("_", "")
            offset = int_or(reply.get("offset"))
            matched = sorted(p["name"] for p in reply.get("producers", []))
            # 4.5.3 reports the producers an updater matches, not its regexes: gather
            # them as exact-name regexes, which match the same producers.
            item = {"name": reply["name"], "interval": int_or(reply.get("interval")),
                    "offset": offset if offset else None, "mode": mode if mode in MODES else "pull",
                    "producers": ["^%s$" % re.escape(one) for one in matched]}
            facts[item["name"]] = {"item": item, "running": reply.get("state") == "RUNNING", "matched": matched}
        if facts:
            for reply in client.status("updtr_match_list"):
                if reply.get("name") in facts:
                    facts[reply["name"]]["item"]["sets"] = [
                        {"regex": match["regex"], "field": match.get("selector", "inst")}
                        for match in reply.get("match", [])]
        return facts

    def context(self, client) -> Context:
        return Context(producer_names=list(Producers().facts(client)))

    def same(self, key: str, wanted, current, fact: dict, context: Context) -> bool:
        if key == "producers":
            return matched_by(wanted, context.producer_names) == fact["matched"]
        if key == "sets":
            return _set_matches(wanted) == _set_matches(current)
        return super().same(key, wanted, current, fact, context)

    def change_in_place(self, want: dict, fact: dict, keys: List[str], context: Context) -> List[Command]:
        name_, have = want["name"], fact["item"]
        commands: List[Command] = []
        if "producers" in keys:
            # An updater holds producer names, matched when its regex was added.
            wanted = matched_by(want["producers"], context.producer_names)
            extra = sorted(set(fact["matched"]) - set(wanted))
            missing = sorted(set(wanted) - set(fact["matched"]))
            if extra:
                commands.append(Command.make("updtr_prdcr_del", ("name", name_), ("regex", exact_names_regex(extra))))
            commands += [Command.make("updtr_prdcr_add", ("name", name_), ("regex", regex))
                         for regex in want["producers"] if matched_by([regex], missing)]
        if "sets" in keys:
            wanted_sets, current_sets = _set_matches(want.get("sets")), _set_matches(have.get("sets"))
            commands += [Command.make("updtr_match_del", ("name", name_), ("regex", match["regex"]),
                                      ("match", match["field"]))
                         for match in have.get("sets", []) if (match["regex"], match["field"]) not in wanted_sets]
            commands += [Command.make("updtr_match_add", ("name", name_), ("regex", match["regex"]),
                                      ("match", match["field"]))
                         for match in want.get("sets", []) if (match["regex"], match["field"]) not in current_sets]
        return commands
