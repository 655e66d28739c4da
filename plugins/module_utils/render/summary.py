# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A few lines a person reads after a render."""

from __future__ import annotations

from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import DaemonPlan


def counts_line(cluster: Cluster) -> str:
    aggregators = {name for group in cluster.aggregators for name in group.daemons}
    return "%d daemons: %d samplers, %d aggregators, %d storage policies" % (
        len(cluster.daemons), len(cluster.sampler_daemons()), len(aggregators), len(cluster.stores))


def render_summary(cluster: Cluster, aggregator_plans: Dict[str, DaemonPlan]) -> List[str]:
    """``aggregator_plans`` needs the plans of the aggregators only."""
    lines = [counts_line(cluster)]
    for group in cluster.aggregators:
        loads = [len(aggregator_plans[name].producers) for name in group.daemons]
        lines.append("L%d %s: %d producers over %d aggregators (%d-%d each)" % (
            group.level, group.key, len(group.producers), len(group.daemons), min(loads), max(loads)))
    return lines
