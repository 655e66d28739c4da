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
    from prometheus_client import CollectorRegistry, write_to_textfile
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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


class RunCollector:
    """The metric families of one run (families, not metric objects: one sample per sampler stays cheap)."""

    def __init__(self, cluster: Cluster, report: dict, state: dict, success: bool,
                 previous: Optional[Dict[str, float]] = None, now: Optional[float] = None):
        self.cluster, self.report, self.state, self.success = cluster, report, state, success
        self.previous = previous or {}
        self.now = time.time() if now is None else now

    def collect(self):
        cluster, report, previous = self.cluster, self.report, self.previous
        aggregators = list(dict.fromkeys(name for group in cluster.aggregators for name in group.daemons))
        dead, unresponsive = set(report.get("dead", [])), set(report.get("unresponsive", []))
        up = GaugeMetricFamily("hpc_ldms_aggregator_up", "1 when the aggregator answered within dead_after probes, "
                               "else 0.", labels=["aggregator", "group", "level"])
        for group in cluster.aggregators:
            for name in group.daemons:
                up.add_metric([name, group.key, str(group.level)], 0 if name in dead else 1)
        yield up
        unanswered = GaugeMetricFamily("hpc_ldms_aggregator_unresponsive", "1 when the aggregator did not answer "
                                       "this probe.", labels=["aggregator"])
        for name in aggregators:
            unanswered.add_metric([name], 1 if name in unresponsive else 0)
        yield unanswered
        sampler_up = GaugeMetricFamily("hpc_ldms_sampler_up", "1 when the sampler daemon could be reached, else 0.",
                                       labels=["sampler"])
        down = set(report.get("samplers_down", []))
        for name in cluster.sampler_daemons():
            sampler_up.add_metric([name], 0 if name in down else 1)
        yield sampler_up
        loads = dict.fromkeys(aggregators, 0)
        for assignment in self.state.get("assignments", {}).values():
            for holder in assignment.values():
                if holder in loads:
                    loads[holder] += 1
        producers = GaugeMetricFamily("hpc_ldms_producers", "Producers assigned to the aggregator.",
                                      labels=["aggregator"])
        for name, count in loads.items():
            producers.add_metric([name], count)
        yield producers
        reasons = dict.fromkeys(MISSING_REASONS, 0)
        for item in report.get("missing_sets", []):
            reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
        missing = GaugeMetricFamily("hpc_ldms_missing_sets", "Sampler sets not visible at the top level, by reason.",
                                    labels=["reason"])
        for reason, count in reasons.items():
            missing.add_metric([reason], count)
        yield missing
        yield CounterMetricFamily("hpc_ldms_producers_moved", "Producers moved to another aggregator, over all runs.",
                                  value=previous.get("hpc_ldms_producers_moved", 0) + len(report.get("moved", [])))
        yield CounterMetricFamily("hpc_ldms_reconcile_runs", "Reconcile runs that wrote this file.",
                                  value=previous.get("hpc_ldms_reconcile_runs", 0) + 1)
        yield GaugeMetricFamily("hpc_ldms_reconcile_duration_seconds", "Duration of the last reconcile run.",
                                value=report.get("duration_s", 0.0))
        yield GaugeMetricFamily("hpc_ldms_reconcile_last_run_timestamp_seconds", "When the last reconcile run ended.",
                                value=self.now)
        yield GaugeMetricFamily("hpc_ldms_reconcile_success", "1 when the last run applied everything it meant to.",
                                value=1 if self.success else 0)
        yield GaugeMetricFamily("hpc_ldms_reconcile_converged", "1 when the last run left every set reaching the top "
                                "level.", value=1 if report.get("converged") else 0)
        last_success = self.now if self.success else previous.get(
            "hpc_ldms_reconcile_last_success_timestamp_seconds", 0)
        yield GaugeMetricFamily("hpc_ldms_reconcile_last_success_timestamp_seconds", "When the last successful "
                                "reconcile run ended.", value=last_success)


def build_registry(cluster: Cluster, report: dict, state: dict, success: bool,
                   previous: Optional[Dict[str, float]] = None, now: Optional[float] = None) -> "CollectorRegistry":
    registry = CollectorRegistry()
    registry.register(RunCollector(cluster, report, state, success, previous, now))
    return registry


def write_metrics(path: str, cluster: Cluster, report: dict, state: dict, success: bool,
                  now: Optional[float] = None):
    """Write the metrics file atomically; its directory is created."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    registry = build_registry(cluster, report, state, success, previous_values(path), now)
    write_to_textfile(path, registry)
