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
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.render import objects
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered")

# The auth domain ldmsd uses when none is named, and reports by this name.
DEFAULT_AUTH_DOMAIN = "DEFAULT"
# Values ldmsd fills in and reports when an attribute is not given;
# "replaced" compares against them for attributes the user left out.
DAEMON_DEFAULTS = {
    "producers": {"xprt": "sock", "type": "active", "rail": 1, "quota": -1, "rx_rate": -1,
                  "auth": DEFAULT_AUTH_DOMAIN},
    "updaters": {"offset": None, "mode": "pull", "sets": []},
    "samplers": {"offset": None},
    "aggregator_plugins": {"offset": None},
    "advertisers": {"xprt": "sock", "rail": 1, "quota": -1, "rx_rate": -1, "auth": DEFAULT_AUTH_DOMAIN},
    "prdcr_listeners": {"regex": None, "ip": None, "quota": -1, "rx_rate": -1, "type": "passive"},
    "storage_policies": {"schema": None, "regex": None, "decomposition": None, "flush": None,
                         "producers": [], "metrics": []},
}
# Attributes ldmsd does not report back: they cannot be compared.
UNREPORTED = {
    "producers": ("perm", "cache_ip"),
    "updaters": ("perm",),
    "samplers": ("config",),
    "aggregator_plugins": ("config",),
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
                "auth": reply.get("auth")}  # the domain's name, as given (or DEFAULT)
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
    if facts:
        for reply in client.status("updtr_match_list"):
            if reply.get("name") in facts:
                facts[reply["name"]]["item"]["sets"] = [
                    {"regex": match["regex"], "field": match.get("selector", "inst")} for match in reply.get("match", [])]
    return facts


# A started sampler whose sets saw no transaction for this many intervals
# (plus slack for clock skew between hosts) counts as stopped.
STOPPED_AFTER_INTERVALS = 3
CLOCK_SLACK_S = 5.0


def sampler_facts(client, now: Optional[float] = None) -> Dict[str, dict]:
    """Sampler plugin instances with their schedule.

    4.5.3's plugn_status shows neither interval nor running state; ldmsd
    writes the schedule into each set's ``updt_hint_us`` info at start, and
    a running instance keeps its sets' transaction timestamps fresh.
    """
    instances = [reply for reply in client.status("plugn_status") if str(reply.get("type", "")).startswith("sampler")]
    if not instances:
        return {}
    sets_of = {reply["plugin"]: reply.get("sets", []) for reply in client.status("plugn_sets")}
    directory = {entry["name"]: entry for entry in client.sets_directory()}
    now = time.time() if now is None else now
    facts = {}
    for reply in instances:
        name = reply["name"]
        interval = offset = None
        running = False
        for set_name in sets_of.get(name, []):
            entry = directory.get(set_name) or {}
            interval_text, _sep, offset_text = (entry.get("info") or {}).get("updt_hint_us", "").partition(":")
            if not _int(interval_text):
                continue
            interval, offset = _int(interval_text), _int(offset_text) or None
            stamp = entry.get("timestamp") or 0
            # No transaction yet: started, first sample still ahead.
            running = not stamp or now - stamp <= STOPPED_AFTER_INTERVALS * interval / 1e6 + CLOCK_SLACK_S
            break
        item = {"name": name, "plugin": reply.get("plugin", name), "interval": interval, "offset": offset}
        facts[name] = {"item": item, "running": running, "sets": sets_of.get(name, [])}
    return facts


def subscription_facts(client) -> Dict[str, dict]:
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
            item = {"stream": stream, "regex": objects.exact_names_regex(names)}
            facts[objects.identity("subscriptions", item)] = {"item": item, "running": True, "producers": names}
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
          "advertisers": advertiser_facts, "prdcr_listeners": prdcr_listener_facts, "samplers": sampler_facts,
          "aggregator_plugins": sampler_facts,
          "subscriptions": subscription_facts}


def _comparable(kind: str, item: dict, replaced: bool) -> dict:
    result = {key: value for key, value in item.items() if key not in UNREPORTED.get(kind, ())}
    if replaced:
        for key, value in DAEMON_DEFAULTS.get(kind, {}).items():
            result.setdefault(key, value)
    return result


def _matched_by(regexes: List[str], producer_names: List[str]) -> List[str]:
    patterns = [re.compile(regex) for regex in regexes]
    return sorted(name for name in producer_names if any(p.search(name) for p in patterns))


def _set_matches(items) -> set:
    return {(match["regex"], match.get("field", "inst")) for match in items or ()}


@dataclass
class Plan:
    commands: List[Command] = field(default_factory=list)
    before: List[dict] = field(default_factory=list)
    after: List[dict] = field(default_factory=list)
    # Objects left running as they are: changing them needs a daemon restart.
    kept: List[dict] = field(default_factory=list)


def differing_keys(kind: str, want: dict, have_fact: dict, replaced: bool, producer_names: List[str],
                   plugins: Optional[Dict[str, str]] = None) -> List[str]:
    """The attributes in which the object on the daemon is not what is wanted."""
    have = have_fact["item"]
    wanted = _comparable(kind, want, replaced)
    if kind == "storage_policies":
        # strgp_status names the plugin library, not the instance.
        wanted["plugin"] = (plugins or {}).get(want["plugin"], want["plugin"])
        if not want.get("metrics"):
            wanted.pop("metrics", None)  # ldmsd lists the schema's metrics once running
    if kind == "samplers" and wanted.get("interval") is None:
        wanted["interval"] = objects.DEFAULT_SAMPLE_INTERVAL_US  # what a start without interval gets
    keys = []
    for key, value in wanted.items():
        current = have.get(key)
        if kind == "updaters" and key == "producers":
            same = _matched_by(value, producer_names) == have_fact["matched"]
        elif key == "sets":
            same = _set_matches(value) == _set_matches(current)
        elif kind == "storage_policies" and key in ("producers", "metrics"):
            same = sorted(value or []) == sorted(current or [])
        elif key == "offset":  # ldmsd reports no offset as 0
            same = (value or None) == (current or None)
        else:
            same = current == value
        if not same:
            keys.append(key)
    return keys


# Attributes ldmsd can change on a stopped object, so a difference in only
# these restarts the object instead of re-creating it.
CHANGEABLE_IN_PLACE = {
    "samplers": {"interval", "offset"},
    "aggregator_plugins": {"interval", "offset"},
    "updaters": {"producers", "sets"},
    "storage_policies": {"producers", "metrics"},
}
# 4.5.3 cannot delete these once started: prdcr_start takes a reference
# that prdcr_stop does not drop.
UNDELETABLE_ONCE_STARTED = ("producers", "advertisers")


def _membership_commands(kind: str, want: dict, fact: dict, keys: List[str], producer_names: List[str]) -> List[Command]:
    name, have = want["name"], fact["item"]
    commands: List[Command] = []
    if kind == "updaters" and "producers" in keys:
        # An updater holds producer names, matched when its regex was added.
        wanted = _matched_by(want["producers"], producer_names)
        extra = sorted(set(fact["matched"]) - set(wanted))
        missing = sorted(set(wanted) - set(fact["matched"]))
        if extra:
            commands.append(Command.make("updtr_prdcr_del", ("name", name), ("regex", objects.exact_names_regex(extra))))
        commands += [Command.make("updtr_prdcr_add", ("name", name), ("regex", regex))
                     for regex in want["producers"] if _matched_by([regex], missing)]
    if kind == "updaters" and "sets" in keys:
        wanted_sets, current_sets = _set_matches(want.get("sets")), _set_matches(have.get("sets"))
        commands += [Command.make("updtr_match_del", ("name", name), ("regex", match["regex"]), ("match", match["field"]))
                     for match in have.get("sets", []) if (match["regex"], match["field"]) not in wanted_sets]
        commands += [Command.make("updtr_match_add", ("name", name), ("regex", match["regex"]), ("match", match["field"]))
                     for match in want.get("sets", []) if (match["regex"], match["field"]) not in current_sets]
    if kind == "storage_policies":
        for key, verb, attr in (("producers", "strgp_prdcr", "regex"), ("metrics", "strgp_metric", "metric")):
            if key in keys:
                current, wanted = have.get(key) or [], want.get(key) or []
                commands += [Command.make(verb + "_del", ("name", name), (attr, value))
                             for value in current if value not in wanted]
                commands += [Command.make(verb + "_add", ("name", name), (attr, value))
                             for value in wanted if value not in current]
    return commands


def change_commands(kind: str, want: dict, fact: dict, keys: List[str], producer_names: List[str]) -> List[Command]:
    """Commands that turn the object described by ``fact`` into ``want``.

    ldmsd has no modify: membership and a sampler's schedule change on the
    stopped object (stop, change, start); anything else is stop, delete,
    add, start.
    """
    stop = objects.stop_command(kind, fact["item"]) if fact["running"] else []
    if set(keys) <= CHANGEABLE_IN_PLACE.get(kind, set()):
        return stop + _membership_commands(kind, want, fact, keys, producer_names) + objects.start_command(kind, want)
    return (stop + objects.delete_command(kind, fact["item"]) + objects.add_commands(kind, want)
            + objects.start_command(kind, want))


def _delete(kind: str, fact: dict) -> List[Command]:
    stop = objects.stop_command(kind, fact["item"]) if fact["running"] else []
    return stop + objects.delete_command(kind, fact["item"])


def plan_changes(kind: str, state: str, wanted: List[dict], facts: Dict[str, dict], scope: Optional[str] = None,
                 producer_names: Optional[List[str]] = None, plugins: Optional[Dict[str, str]] = None,
                 keep_started: bool = False) -> Plan:
    """The ordered commands that take the daemon from ``facts`` to ``wanted``.

    With ``keep_started``, a running producer or advertiser that would have
    to be re-created is left running as it is and listed in ``kept``: its
    deletion would be refused and its data would stop.
    """
    plan = Plan(before=[fact["item"] for fact in facts.values()])
    producer_names = producer_names or []
    after = {name: dict(fact["item"]) for name, fact in facts.items()}
    wanted_names = {objects.identity(kind, item) for item in wanted}
    if state == "deleted":
        for item in wanted:
            name = objects.identity(kind, item)
            if name in facts:
                plan.commands += _delete(kind, facts[name])
                after.pop(name)
        plan.after = list(after.values())
        return plan
    if state == "overridden":
        pattern = re.compile(scope)
        for name, fact in facts.items():
            if name not in wanted_names and pattern.search(name):
                plan.commands += _delete(kind, fact)
                after.pop(name)
    replaced = state in ("replaced", "overridden")
    for item in wanted:
        name = objects.identity(kind, item)
        fact = facts.get(name)
        keys = differing_keys(kind, item, fact, replaced, producer_names, plugins) if fact else []
        if kind == "storage_policies" and plugins is not None and item["plugin"] not in plugins and (
                fact is None or keys):
            plan.commands += objects.store_plugin_commands(item)
            plugins[item["plugin"]] = (item.get("plugin_config") or {}).get("plugin", item["plugin"])
        if fact is None:
            plan.commands += objects.add_commands(kind, item) + objects.start_command(kind, item)
        elif keys and keep_started and fact["running"] and kind in UNDELETABLE_ONCE_STARTED \
                and not set(keys) <= CHANGEABLE_IN_PLACE.get(kind, set()):
            plan.kept.append({"name": name, "differs": keys})
            continue
        elif keys:
            plan.commands += change_commands(kind, item, fact, keys, producer_names)
        elif not fact["running"]:
            plan.commands += objects.start_command(kind, item)
        else:
            continue
        merged = dict(after.get(name, {})) if state == "merged" else {}
        merged.update(item)
        after[name] = merged
    plan.after = list(after.values())
    return plan


def plan_subscriptions(state: str, wanted: List[dict], facts: Dict[str, dict], producer_names: List[str]) -> Plan:
    """Subscriptions: 4.5.3 cannot list them, so only what is observable is skipped.

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
            plan.commands += objects.delete_command("subscriptions", item)
            continue
        matched = _matched_by([item.get("regex", ".*")], producer_names)
        if "stream" in item and matched and set(matched) <= subscribed.get(item["stream"], set()):
            continue
        plan.commands += objects.add_commands("subscriptions", item)
        plan.after.append(item)
    if state == "deleted":
        dropped = {item.get("stream") for item in wanted}
        plan.after = [item for item in plan.before if item["stream"] not in dropped]
    else:
        plan.after = plan.before + plan.after
    return plan


def plan_for(client, kind: str, state: str, wanted: List[dict], scope: Optional[str] = None,
             keep_started: bool = False) -> Plan:
    """Gather what ``kind`` needs from the daemon and plan ``state``: what a module run does before applying."""
    facts = GATHER[kind](client)
    if state == "gathered":
        items = [fact["item"] for fact in facts.values()]
        return Plan(before=items, after=items)
    names = list(producer_facts(client)) if kind in ("updaters", "subscriptions") else []
    if kind == "subscriptions":
        return plan_subscriptions(state, wanted, facts, names)
    plugins = loaded_plugins(client) if kind == "storage_policies" else None
    return plan_changes(kind, state, wanted, facts, scope=scope, producer_names=names, plugins=plugins,
                        keep_started=keep_started)


def config_text(kind: str, items: List[dict]) -> str:
    """Objects as the ldmsd config lines that create them, sorted by object: the text a diff compares."""
    lines = []
    for item in sorted(items, key=lambda item: objects.identity(kind, item)):
        lines += [command.text() for command in objects.add_commands(kind, item) + objects.start_command(kind, item)]
    return "".join(line + "\n" for line in lines)


def plan_from_scratch(kind: str, state: str, wanted: List[dict], scope: Optional[str] = None) -> Plan:
    """``state`` planned against a daemon that has no objects yet."""
    if kind == "subscriptions":
        return plan_subscriptions(state, wanted, {}, [])
    return plan_changes(kind, state, wanted, {}, scope=scope, plugins={} if kind == "storage_policies" else None)


def normalize_config(kind: str, config: List[dict]) -> List[dict]:
    items = []
    for index, item in enumerate(config or []):
        try:
            items.append(objects.normalize_item(kind, item, "config[%d]" % index))
        except ClusterError as exc:
            raise LdmsdError(str(exc))
    return items


# Adding what is already there (EEXIST) leaves the daemon as wanted: these
# have no status to check first.
EXISTING_IS_DONE = ("auth_add", "listen")
EEXIST = 17
# A stop this command list sent is undone when a later command fails, so a
# failed change never leaves an object stopped.
RESTART_AFTER_FAILURE = {"prdcr_stop": "prdcr_start", "advertiser_stop": "advertiser_start",
                         "updtr_stop": "updtr_start", "strgp_stop": "strgp_start"}


def _restart_stopped(client, applied: List[Command], failed: Command) -> List[str]:
    """Start again what ``applied`` stopped and did not delete; the texts sent."""
    deleted = {(c.verb.rsplit("_", 1)[0], c.get("name")) for c in applied if c.verb.endswith("_del")}
    stopped = [c for c in applied if c.verb in RESTART_AFTER_FAILURE]
    if failed.verb in ("prdcr_del", "advertiser_del"):
        stopped.append(Command.make(failed.verb[:-4] + "_stop", ("name", failed.get("name"))))
    restarted = []
    for command in stopped:
        key = (command.verb.rsplit("_", 1)[0], command.get("name"))
        if key in deleted:
            continue
        deleted.add(key)  # once each
        start = Command.make(RESTART_AFTER_FAILURE[command.verb], ("name", command.get("name")))
        errcode, _message = client.send(start)
        if errcode in (0, 16):  # 16: already running
            restarted.append(start.text())
    return restarted


def apply_commands(client, commands: List[Command]) -> List[str]:
    """Send in order; stop at the first failure and say what was applied.

    After a failure, what the list stopped is started again as it was.
    """
    applied: List[str] = []
    sent: List[Command] = []
    for command in commands:
        errcode, message = client.send(command)
        if errcode == EEXIST and command.verb in EXISTING_IS_DONE:
            errcode = 0
        if errcode:
            restarted = _restart_stopped(client, sent, command)
            hint = ""
            if command.verb in ("prdcr_del", "advertiser_del") and errcode == 16:
                hint = (" ldmsd 4.5.3 cannot delete a producer that was ever started (prdcr_start keeps a reference "
                        "that prdcr_stop does not release) or that an updater holds; stop it, or restart the daemon "
                        "to remove it.")
            if restarted:
                hint += " Started again as they were: %s." % "; ".join(restarted)
            error = LdmsdError("%s failed: errcode %d: %s%s" % (command.text(), errcode, message, hint),
                               errcode=errcode, command=command.text())
            error.applied = applied + restarted
            raise error
        applied.append(command.text())
        sent.append(command)
    return applied
