# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage policies (``strgp_*``): write what updaters pulled to a store plugin instance."""

from __future__ import annotations

from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import parse_interval_us, parse_perm
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import (
    Attr,
    Context,
    Kind,
    config_command,
    dash,
    mapping,
    pairs,
    parse_name,
    regex_list,
    strings,
    text,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command


def loaded_plugins(client) -> Dict[str, str]:
    """Plugin instance name -> plugin library, from plugn_status."""
    return {reply["name"]: reply.get("plugin", reply["name"]) for reply in client.status("plugn_status")}


class StoragePolicies(Kind):
    name = "storage_policies"
    add, start, stop, delete = "strgp_add", "strgp_start", "strgp_stop", "strgp_del"
    restart_after_failure = True
    attrs = (
        Attr("name", parse_name, "Policy name.", required=True),
        Attr("plugin", parse_name, "Name of the store plugin instance it writes to.", required=True),
        Attr("container", text, "Container (for store_csv, the directory under its path).", required=True),
        Attr("schema", text, "Schema of the sets it stores.", daemon_default=None),
        Attr("regex", text, "Regular expression of the schemas it stores (with decomposition).", daemon_default=None),
        Attr("decomposition", text, "Path of a decomposition configuration file.", daemon_default=None),
        Attr("perm", parse_perm, "Permission bits of the policy (octal or rwx form).", type="raw", reported=False),
        Attr("flush", parse_interval_us, "Flush interval of the store.", type="raw", daemon_default=None),
        Attr("producers", regex_list, "Regular expressions of the producers whose sets it stores (none: all).",
             type="raw", default=[], daemon_default=[], in_place=True, written=False),
        Attr("metrics", strings, "Metrics it stores (none: all).", type="list", elements="str", default=[],
             daemon_default=[], in_place=True, written=False),
        Attr("plugin_config", mapping, "Config of the store plugin instance (plugin: its library, if not the "
             "instance name), loaded and configured before the first policy that uses it.", type="dict",
             reported=False, written=False),
    )

    def check(self, item: dict, path: str):
        if "schema" not in item and "regex" not in item:
            raise ClusterError(path + ".schema", "give schema, or regex with decomposition")

    def add_commands(self, item: dict) -> List[Command]:
        commands = [Command.make(self.add, *pairs(item, self.written))]
        commands += [Command.make("strgp_prdcr_add", ("name", item["name"]), ("regex", regex))
                     for regex in item.get("producers", [])]
        commands += [Command.make("strgp_metric_add", ("name", item["name"]), ("metric", metric))
                     for metric in item.get("metrics", [])]
        return commands

    def prepare_commands(self, item: dict, context: Context) -> List[Command]:
        """``load`` + ``config`` of the store plugin instance, unless the daemon has it."""
        if context.plugins is None or item["plugin"] in context.plugins:
            return []
        settings = dict(item.get("plugin_config") or {})
        library = settings.pop("plugin", item["plugin"])
        context.plugins[item["plugin"]] = library
        commands = [Command.make("load", ("name", item["plugin"]), ("plugin", library))]
        if settings:
            commands.append(config_command(item["plugin"], settings))
        return commands

    def facts(self, client) -> Dict[str, dict]:
        facts = {}
        for reply in client.status("strgp_status"):
            try:
                flush = int(round(float(reply.get("flush", "0")) * 1000000)) or None
            except ValueError:
                flush = None
            item = {"name": reply["name"], "plugin": reply.get("plugin"), "container": reply.get("container"),
                    "schema": dash(reply.get("schema")), "regex": dash(reply.get("regex")),
                    "decomposition": dash(reply.get("decomp")), "flush": flush,
                    "producers": list(reply.get("producers", [])), "metrics": list(reply.get("metrics", []))}
            facts[item["name"]] = {"item": item, "running": reply.get("state") == "RUNNING"}
        return facts

    def context(self, client) -> Context:
        return Context(plugins=loaded_plugins(client))

    def empty_context(self) -> Context:
        return Context(plugins={})

    def comparable(self, want: dict, replaced: bool, context: Context) -> dict:
        result = super().comparable(want, replaced, context)
        # strgp_status names the plugin library, not the instance.
        result["plugin"] = (context.plugins or {}).get(want["plugin"], want["plugin"])
        if not want.get("metrics"):
            result.pop("metrics", None)  # ldmsd lists the schema's metrics once running
        return result

    def same(self, key: str, wanted, current, fact: dict, context: Context) -> bool:
        if key in ("producers", "metrics"):
            return sorted(wanted or []) == sorted(current or [])
        return super().same(key, wanted, current, fact, context)

    def change_in_place(self, want: dict, fact: dict, keys: List[str], context: Context) -> List[Command]:
        commands: List[Command] = []
        for key, verb, attr in (("producers", "strgp_prdcr", "regex"), ("metrics", "strgp_metric", "metric")):
            if key in keys:
                current, wanted = fact["item"].get(key) or [], want.get(key) or []
                commands += [Command.make(verb + "_del", ("name", want["name"]), (attr, value))
                             for value in current if value not in wanted]
                commands += [Command.make(verb + "_add", ("name", want["name"]), (attr, value))
                             for value in wanted if value not in current]
        return commands
