# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a sampler set is on its way to the top level, from what ldmsd reports.

Each aggregator's ``prdcr_status`` (producer states) and ``prdcr_set_status``
(set state and last update time, per producer) are read once; a set counts as
at the top when a top-level aggregator holds it READY with a fresh update
time (READY or, mid-update, UPDATING). For any other set the reason is the symptom at the top ("stale",
"set not ready") or else the first hop, from the sampler up, where ldmsd
shows the set stuck, and ``detail`` quotes what ldmsd said along the way.

ldmsd 4.5.3 keeps a hung peer's producer CONNECTED and its sets listed, with
update times that no longer advance; and while it holds such a set, a second
producer offering the same instance only gets "The set ... already exists"
(the entry stays in state START). Both show here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# A set between two updates is READY, or UPDATING while one is under way: both hold data.
LIVE_STATES = ("READY", "UPDATING")

from ansible_collections.hpc.ldms.plugins.module_utils.kinds.plugins import CLOCK_SLACK_S, STOPPED_AFTER_INTERVALS


def is_stale(stamp: float, interval_us: int, now: float) -> bool:
    """An update time older than a few update intervals (plus slack for clock skew between hosts)."""
    return now - stamp > STOPPED_AFTER_INTERVALS * interval_us / 1e6 + CLOCK_SLACK_S


def _stamp(reply: dict) -> float:
    try:
        return int(reply.get("timestamp.sec") or 0) + int(reply.get("timestamp.usec") or 0) / 1e6
    except (TypeError, ValueError):
        return 0.0


@dataclass
class DaemonView:
    """One aggregator as ldmsd reported it; ``error`` when it did not answer."""
    producers: Dict[str, str] = field(default_factory=dict)  # producer -> state
    sets: Dict[str, List[dict]] = field(default_factory=dict)  # instance -> [{producer, state, stamp}]
    error: Optional[str] = None

    @classmethod
    def from_replies(cls, producers: list, sets: list) -> "DaemonView":
        view = cls(producers={reply.get("name"): reply.get("state") for reply in producers})
        for reply in sets:
            view.sets.setdefault(reply.get("inst_name"), []).append(
                {"producer": reply.get("producer"), "state": reply.get("state"), "stamp": _stamp(reply)})
        return view

    def fresh(self, instance: str, interval_us: int, now: float) -> bool:
        return any(_fresh(entry, interval_us, now) for entry in self.sets.get(instance, []))


def _fresh(entry: dict, interval_us: int, now: float) -> bool:
    return entry["state"] in LIVE_STATES and bool(entry["stamp"]) and not is_stale(entry["stamp"], interval_us, now)


def _entry_text(entry: dict, now: float) -> str:
    age = ("last update %.1f s ago" % (now - entry["stamp"])) if entry["stamp"] else "never updated"
    return "%s, %s, through producer %s" % (entry["state"], age, entry["producer"])


def diagnose(instance: str, path: List[Tuple[str, str]], views: Dict[str, DaemonView], interval_us: int,
             now: float) -> Tuple[str, str]:
    """(reason, detail) for a set not fresh at the top. ``path``: (aggregator, producer) from level 1 up."""
    if not path:
        return "not assigned", "no alive aggregator holds a producer for its sampler"
    top, _producer = path[-1]
    at_top = views[top].sets.get(instance, []) if views[top].error is None else []
    evidence = ["%s: %s" % (top, _entry_text(entry, now)) for entry in at_top]
    if any(entry["stamp"] for entry in at_top):
        reason = "stale"
    else:
        reason = None
    for aggregator, producer in path:
        view = views[aggregator]
        if view.error is not None:
            evidence.append("%s: does not answer (%s)" % (aggregator, view.error))
            reason = reason or "aggregator unresponsive"
            break
        state = view.producers.get(producer)
        if state != "CONNECTED":
            evidence.append("%s: producer %s is %s" % (aggregator, producer, state or "not configured"))
            reason = reason or "producer disconnected"
            break
        entries = view.sets.get(instance, [])
        own = [entry for entry in entries if entry["producer"] == producer]
        others = [entry for entry in entries if entry["producer"] != producer]
        if own and _fresh(own[0], interval_us, now):
            continue
        if others and (not own or not own[0]["stamp"]):
            evidence.append("%s: held through another producer (%s); producer %s cannot add it"
                            % (aggregator, _entry_text(others[0], now), producer))
            reason = reason or "duplicate set"
            break
        if own:
            if aggregator != top:
                evidence.append("%s: %s" % (aggregator, _entry_text(own[0], now)))
            reason = reason or ("stale" if own[0]["stamp"] else "set not ready")
            break
        evidence.append("%s: producer %s is CONNECTED but ldmsd has no such set from it" % (aggregator, producer))
        reason = reason or "set not pulled"
        break
    return reason or "set not ready", "; ".join(evidence) or "%s: no such set" % top
