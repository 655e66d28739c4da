# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile's health as Prometheus metrics, in the node-exporter textfile collector's format.

prometheus-client writes the file (atomically: a temporary file renamed over
it). Counters and the last success time carry over from the previous file,
so the file itself is the only memory they need.
"""

from __future__ import annotations

import os
import time
from typing import Dict, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, write_to_textfile
    from prometheus_client.parser import text_string_to_metric_families
    HAS_PROMETHEUS_CLIENT = True
except ImportError:  # reported by the module with missing_required_lib
    HAS_PROMETHEUS_CLIENT = False

METRICS_FILE = "hpc_ldms.prom"
# The reasons the reconcile gives for a missing set (engine.Reconciler.missing_sets); all are exported, 0 included.
MISSING_REASONS = ("sampler down", "not assigned", "producer disconnected", "no updater matches")
CARRIED = ("hpc_ldms_producers_moved", "hpc_ldms_reconcile_runs", "hpc_ldms_reconcile_last_success_timestamp_seconds")


def previous_values(path: str) -> Dict[str, float]:
    """Unlabelled samples of the previous file that carry over; {} when there is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels and (sample.name in CARRIED or sample.name.removesuffix("_total") in CARRIED):
                values[sample.name.removesuffix("_total")] = sample.value
    return values


def build_registry(cluster: Cluster, report: dict, state: dict, success: bool,
                   previous: Optional[Dict[str, float]] = None, now: Optional[float] = None) -> "CollectorRegistry":
    previous = previous or {}
    now = time.time() if now is None else now
    # A _created sample per run would only say when this file was written.
    disable_created_metrics()
    registry = CollectorRegistry()
    dead = set(report.get("dead", []))
    up = Gauge("hpc_ldms_aggregator_up", "1 when the aggregator answered within dead_after probes, else 0.",
               ["aggregator", "group", "level"], registry=registry)
    for group in cluster.aggregators:
        for name in group.daemons:
            up.labels(name, group.key, str(group.level)).set(0 if name in dead else 1)
    unanswered = Gauge("hpc_ldms_aggregator_unresponsive", "1 when the aggregator did not answer this probe.",
                       ["aggregator"], registry=registry)
    for name in dict.fromkeys(n for group in cluster.aggregators for n in group.daemons):
        unanswered.labels(name).set(1 if name in report.get("unresponsive", []) else 0)
    sampler_up = Gauge("hpc_ldms_sampler_up", "1 when the sampler daemon could be reached, else 0.", ["sampler"],
                       registry=registry)
    down = set(report.get("samplers_down", []))
    for name in cluster.sampler_daemons():
        sampler_up.labels(name).set(0 if name in down else 1)
    producers = Gauge("hpc_ldms_producers", "Producers assigned to the aggregator.", ["aggregator"],
                      registry=registry)
    loads = {name: 0 for group in cluster.aggregators for name in group.daemons}
    for assignment in state.get("assignments", {}).values():
        for holder in assignment.values():
            if holder in loads:
                loads[holder] += 1
    for name, count in loads.items():
        producers.labels(name).set(count)
    missing = Gauge("hpc_ldms_missing_sets", "Sampler sets not visible at the top level, by reason.", ["reason"],
                    registry=registry)
    reasons = {reason: 0 for reason in MISSING_REASONS}
    for item in report.get("missing_sets", []):
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    for reason, count in reasons.items():
        missing.labels(reason).set(count)
    moved = Counter("hpc_ldms_producers_moved", "Producers moved to another aggregator, over all runs.",
                    registry=registry)
    moved.inc(previous.get("hpc_ldms_producers_moved", 0) + len(report.get("moved", [])))
    runs = Counter("hpc_ldms_reconcile_runs", "Reconcile runs that wrote this file.", registry=registry)
    runs.inc(previous.get("hpc_ldms_reconcile_runs", 0) + 1)
    Gauge("hpc_ldms_reconcile_duration_seconds", "Duration of the last reconcile run.",
          registry=registry).set(report.get("duration_s", 0.0))
    Gauge("hpc_ldms_reconcile_last_run_timestamp_seconds", "When the last reconcile run ended.",
          registry=registry).set(now)
    Gauge("hpc_ldms_reconcile_success", "1 when the last run applied everything it meant to.",
          registry=registry).set(1 if success else 0)
    Gauge("hpc_ldms_reconcile_converged", "1 when the last run left every set reaching the top level.",
          registry=registry).set(1 if report.get("converged") else 0)
    last_success = now if success else previous.get("hpc_ldms_reconcile_last_success_timestamp_seconds", 0)
    Gauge("hpc_ldms_reconcile_last_success_timestamp_seconds", "When the last successful reconcile run ended.",
          registry=registry).set(last_success)
    return registry


def write_metrics(path: str, cluster: Cluster, report: dict, state: dict, success: bool,
                  now: Optional[float] = None):
    """Write the metrics file atomically; its directory is created."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    registry = build_registry(cluster, report, state, success, previous_values(path), now)
    write_to_textfile(path, registry)
