# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource-module engine: gather, compare, and the commands each state needs.

Facts are read with one status request per object kind and normalised into
the item form of ``render.objects`` (times in µs, ints as ints), so wanted
and current items compare directly. Commands come from ``render.objects``:
the same text the renderer writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.render import objects
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered")

# Values ldmsd fills in when an attribute is not given; "replaced" compares
# against them for attributes the user left out.
DAEMON_DEFAULTS = {
    "producers": {"xprt": "sock", "type": "active", "rail": 1, "quota": -1, "rx_rate": -1, "auth": None},
    "updaters": {"offset": None, "mode": "pull"},
    "advertisers": {"xprt": "sock", "rail": 1, "quota": -1, "rx_rate": -1, "auth": None},
    "prdcr_listeners": {"regex": None, "ip": None, "quota": -1, "rx_rate": -1, "type": "passive"},
    "storage_policies": {"schema": None, "regex": None, "decomposition": None, "flush": None,
                         "producers": [], "metrics": []},
}
# Attributes ldmsd does not report back: they cannot be compared.
UNREPORTED = {
    "producers": ("perm", "cache_ip"),
    "updaters": ("perm",),
    "storage_policies": ("perm", "plugin_config"),
    "advertisers": ("perm",),
    "prdcr_listeners": ("disable_start", "advertiser_xprt", "advertiser_port", "advertiser_auth", "rail", "reconnect"),
}
# prdcr_status lists these kinds too; each resource module owns one.
PRODUCER_TYPES_OF = {"producers": ("active", "passive", "bridge"), "advertisers": ("advertiser",)}


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _prdcr_facts(client, kind: str) -> Dict[str, dict]:
    facts = {}
    for reply in client.status("prdcr_status"):
        if reply.get("type") not in PRODUCER_TYPES_OF[kind]:
            continue
        item = {"name": reply["name"], "host": reply.get("host"), "port": _int(reply.get("port")),
                "xprt": reply.get("transport"), "type": reply.get("type"),
                "reconnect": _int(reply.get("reconnect_us")), "rail": _int(reply.get("rail")),
                "quota": _int(reply.get("quota")), "rx_rate": _int(reply.get("rx_rate")),
                "auth": None if reply.get("auth") in (None, "DEFAULT", "none") else reply.get("auth")}
        if kind == "advertisers":
            del item["type"]
        facts[item["name"]] = {"item": item, "running": reply.get("state") != "STOPPED",
                               "sets": [s.get("inst_name") for s in reply.get("sets", [])]}
    return facts


def producer_facts(client) -> Dict[str, dict]:
    return _prdcr_facts(client, "producers")


def advertiser_facts(client) -> Dict[str, dict]:
    return _prdcr_facts(client, "advertisers")


def prdcr_listener_facts(client) -> Dict[str, dict]:
    facts = {}
    for reply in client.status("prdcr_listen_status"):
        item = {"name": reply["name"], "regex": _dash(reply.get("regex")), "ip": _dash(reply.get("IP range")),
                "quota": _int(reply.get("quota")), "rx_rate": _int(reply.get("rx_rate")), "type": reply.get("type")}
        facts[item["name"]] = {"item": item, "running": reply.get("state") == "running"}
    return facts


_MODES = {"pull": "pull", "push": "push", "onchange": "onchange", "auto": "auto"}


def updater_facts(client, producer_names: Optional[List[str]] = None) -> Dict[str, dict]:
    facts = {}
    for reply in client.status("updtr_status"):
        mode = "auto" if str(reply.get("auto", "false")).lower() == "true" else _MODES.get(
            str(reply.get("mode", "pull")).lower().replace("_", ""), "pull")
        offset = _int(reply.get("offset"))
        matched = sorted(p["name"] for p in reply.get("producers", []))
        # 4.5.3 reports the producers an updater matches, not its regexes: gather
        # them as exact-name regexes, which match the same producers.
        item = {"name": reply["name"], "interval": _int(reply.get("interval")),
                "offset": offset if offset else None, "mode": mode,
                "producers": ["^%s$" % re.escape(name) for name in matched]}
        facts[item["name"]] = {"item": item, "running": reply.get("state") == "RUNNING", "matched": matched}
    return facts


def loaded_plugins(client) -> Dict[str, str]:
    """Plugin instance name -> plugin library, from plugn_status."""
    return {reply["name"]: reply.get("plugin", reply["name"]) for reply in client.status("plugn_status")}


def _dash(value):
    return None if value in (None, "-", "") else value


def storage_policy_facts(client) -> Dict[str, dict]:
    facts = {}
    for reply in client.status("strgp_status"):
        try:
            flush = int(round(float(reply.get("flush", "0")) * 1000000)) or None
        except ValueError:
            flush = None
        item = {"name": reply["name"], "plugin": reply.get("plugin"), "container": reply.get("container"),
                "schema": _dash(reply.get("schema")), "regex": _dash(reply.get("regex")),
                "decomposition": _dash(reply.get("decomp")), "flush": flush,
                "producers": list(reply.get("producers", [])), "metrics": list(reply.get("metrics", []))}
        facts[item["name"]] = {"item": item, "running": reply.get("state") == "RUNNING"}
    return facts


GATHER = {"producers": producer_facts, "updaters": updater_facts, "storage_policies": storage_policy_facts,
          "advertisers": advertiser_facts, "prdcr_listeners": prdcr_listener_facts}


def _comparable(kind: str, item: dict, replaced: bool) -> dict:
    result = {key: value for key, value in item.items() if key not in UNREPORTED.get(kind, ())}
    if replaced:
        for key, value in DAEMON_DEFAULTS.get(kind, {}).items():
            result.setdefault(key, value)
    return result


def _matched_by(regexes: List[str], producer_names: List[str]) -> List[str]:
    patterns = [re.compile(regex) for regex in regexes]
    return sorted(name for name in producer_names if any(p.search(name) for p in patterns))


@dataclass
class Plan:
    commands: List[Command] = field(default_factory=list)
    before: List[dict] = field(default_factory=list)
    after: List[dict] = field(default_factory=list)


def differs(kind: str, want: dict, have: dict, have_fact: dict, replaced: bool, producer_names: List[str],
            plugins: Optional[Dict[str, str]] = None) -> bool:
    """True when the object on the daemon is not what is wanted."""
    wanted = _comparable(kind, want, replaced)
    if kind == "storage_policies":
        # strgp_status names the plugin library, not the instance.
        wanted["plugin"] = (plugins or {}).get(want["plugin"], want["plugin"])
        if not want.get("metrics"):
            wanted.pop("metrics", None)  # ldmsd lists the schema's metrics once running
    for key, value in wanted.items():
        if kind == "updaters" and key in ("producers", "sets"):
            continue
        if key == "offset":  # ldmsd reports no offset as 0
            value, current = value or None, have.get(key) or None
        else:
            current = have.get(key)
        if current != value:
            return True
    if kind == "updaters":
        if _matched_by(want.get("producers", [".*"]), producer_names) != have_fact["matched"]:
            return True
    return False


def plan_changes(kind: str, state: str, wanted: List[dict], facts: Dict[str, dict], scope: Optional[str] = None,
                 producer_names: Optional[List[str]] = None, plugins: Optional[Dict[str, str]] = None) -> Plan:
    """The ordered commands that take the daemon from ``facts`` to ``wanted``."""
    plan = Plan(before=[fact["item"] for fact in facts.values()])
    producer_names = producer_names or []
    after = {name: dict(fact["item"]) for name, fact in facts.items()}
    wanted_names = {objects.identity(kind, item) for item in wanted}
    if state == "deleted":
        for item in wanted:
            name = objects.identity(kind, item)
            if name in facts:
                if facts[name]["running"]:
                    plan.commands += objects.stop_command(kind, facts[name]["item"])
                plan.commands += objects.delete_command(kind, facts[name]["item"])
                after.pop(name)
        plan.after = list(after.values())
        return plan
    if state == "overridden":
        pattern = re.compile(scope)
        for name, fact in facts.items():
            if name not in wanted_names and pattern.search(name):
                if fact["running"]:
                    plan.commands += objects.stop_command(kind, fact["item"])
                plan.commands += objects.delete_command(kind, fact["item"])
                after.pop(name)
    replaced = state in ("replaced", "overridden")
    for item in wanted:
        name = objects.identity(kind, item)
        fact = facts.get(name)
        if kind == "storage_policies" and plugins is not None and item["plugin"] not in plugins and (
                fact is None or differs(kind, item, fact["item"], fact, replaced, producer_names, plugins)):
            plan.commands += objects.store_plugin_commands(item)
            plugins[item["plugin"]] = (item.get("plugin_config") or {}).get("plugin", item["plugin"])
        if fact is None:
            plan.commands += objects.add_commands(kind, item) + objects.start_command(kind, item)
        elif differs(kind, item, fact["item"], fact, replaced, producer_names, plugins):
            # ldmsd has no modify: stop, delete, add, start.
            if fact["running"]:
                plan.commands += objects.stop_command(kind, fact["item"])
            plan.commands += objects.delete_command(kind, fact["item"])
            plan.commands += objects.add_commands(kind, item) + objects.start_command(kind, item)
        elif not fact["running"]:
            plan.commands += objects.start_command(kind, item)
        else:
            continue
        merged = dict(after.get(name, {})) if state == "merged" else {}
        merged.update(item)
        after[name] = merged
    plan.after = list(after.values())
    return plan


def normalize_config(kind: str, config: List[dict]) -> List[dict]:
    items = []
    for index, item in enumerate(config or []):
        try:
            items.append(objects.normalize_item(kind, item, "config[%d]" % index))
        except ClusterError as exc:
            raise LdmsdError(str(exc))
    return items


def apply_commands(client, commands: List[Command]) -> List[str]:
    """Send in order; stop at the first failure and say what was applied."""
    applied: List[str] = []
    for command in commands:
        errcode, message = client.send(command)
        if errcode:
            error = LdmsdError("%s failed: errcode %d: %s" % (command.text(), errcode, message),
                               errcode=errcode, command=command.text())
            error.applied = applied
            raise error
        applied.append(command.text())
    return applied
