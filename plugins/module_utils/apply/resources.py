# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource-module engine: gather, plan the commands each state needs, apply them.

What differs between kinds (facts, comparison, commands) lives in the kinds
registry; this module reads a daemon through it and sends the commands.
Facts are normalised into the item form (times in µs, ints as ints), so
wanted and current items compare directly.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Context, Plan
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered")


def plan_changes(kind: str, state: str, wanted: List[dict], facts: Dict[str, dict], scope: Optional[str] = None,
                 producer_names: Optional[List[str]] = None, plugins: Optional[Dict[str, str]] = None,
                 keep_started: bool = False) -> Plan:
    """The ordered commands that take the daemon from ``facts`` to ``wanted``, given what else it has."""
    context = Context(producer_names=producer_names or [], plugins=plugins)
    return KINDS[kind].plan(state, wanted, facts, context, scope=scope, keep_started=keep_started)


def plan_for(client, kind: str, state: str, wanted: List[dict], scope: Optional[str] = None,
             keep_started: bool = False) -> Plan:
    """Gather what ``kind`` needs from the daemon and plan ``state``: what a module run does before applying."""
    spec = KINDS[kind]
    facts = spec.facts(client)
    if state == "gathered":
        items = [fact["item"] for fact in facts.values()]
        return Plan(before=items, after=items)
    return spec.plan(state, wanted, facts, spec.context(client), scope=scope, keep_started=keep_started)


def plan_from_scratch(kind: str, state: str, wanted: List[dict], scope: Optional[str] = None) -> Plan:
    """``state`` planned against a daemon that has no objects yet."""
    spec = KINDS[kind]
    return spec.plan(state, wanted, {}, spec.empty_context(), scope=scope)


def config_text(kind: str, items: List[dict]) -> str:
    """Objects as the ldmsd config lines that create them, sorted by object: the text a diff compares."""
    spec = KINDS[kind]
    lines = []
    for item in sorted(items, key=spec.identity):
        lines += [command.text() for command in spec.add_commands(item) + spec.start_commands(item)]
    return "".join(line + "\n" for line in lines)


def normalize_config(kind: str, config: List[dict]) -> List[dict]:
    """The items, checked; one object named twice is refused (ldmsd would refuse the second add)."""
    items, seen = [], {}
    for index, item in enumerate(config or []):
        try:
            items.append(KINDS[kind].normalize(item, "config[%d]" % index))
        except ClusterError as exc:
            raise LdmsdError(str(exc))
        identity = KINDS[kind].identity(items[-1])
        if identity in seen:
            where = "config[%d]%s" % (index, ".name" if "name" in items[-1] else "")
            raise LdmsdError("%s: %r is already config[%d]; each object is given once" % (where, identity, seen[identity]))
        seen[identity] = index
    return items


# Adding what is already there (EEXIST) leaves the daemon as wanted: these
# have no status to check first.
EXISTING_IS_DONE = ("auth_add", "listen")
EEXIST = 17
EBUSY = 16
# A stop this command list sent is undone when a later command fails, so a
# failed change never leaves an object stopped.
RESTART_AFTER_FAILURE = {kind.stop: kind.start for kind in KINDS.values() if kind.restart_after_failure}
# The deletes ldmsd refuses once the object was started.
UNDELETABLE = {kind.delete: kind for kind in KINDS.values() if kind.undeletable_once_started}


def _restart_stopped(client, applied: List[Command], failed: Command) -> List[str]:
    """Start again what ``applied`` stopped and did not delete; the texts sent."""
    deleted = {(c.verb.rsplit("_", 1)[0], c.get("name")) for c in applied if c.verb.endswith("_del")}
    stopped = [c for c in applied if c.verb in RESTART_AFTER_FAILURE]
    if failed.verb in UNDELETABLE:
        stopped.append(Command.make(UNDELETABLE[failed.verb].stop, ("name", failed.get("name"))))
    restarted = []
    for command in stopped:
        key = (command.verb.rsplit("_", 1)[0], command.get("name"))
        if key in deleted:
            continue
        deleted.add(key)  # once each
        start = Command.make(RESTART_AFTER_FAILURE[command.verb], ("name", command.get("name")))
        errcode, _message = client.send(start)
        if errcode in (0, EBUSY):  # already running
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
            if command.verb in UNDELETABLE and errcode == EBUSY:
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
