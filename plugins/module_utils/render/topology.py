# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A topology summary: samplers -> level-1 -> level-2 ... -> stores, in Markdown."""

from __future__ import annotations

from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import compress
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import DaemonPlan
from ansible_collections.hpc.ldms.plugins.module_utils.render.summary import counts_line


def _node_id(prefix: str, index: int) -> str:
    return "%s%d" % (prefix, index)


def topology_markdown(cluster: Cluster, plans: Dict[str, DaemonPlan]) -> str:
    """``plans`` needs the plans of the aggregators only."""
    lines: List[str] = ["# LDMS cluster topology", "", "![topology](topology.svg)", "", "```mermaid", "graph LR"]
    sampler_ids = {}
    for index, group in enumerate(cluster.samplers):
        node = _node_id("S", index)
        plugins = ", ".join(instance.key for instance in group.plugins)
        lines.append('  %s["samplers %s<br/>%d daemons: %s"]' % (node, compress(group.daemons), len(group.daemons), plugins))
        for name in group.daemons:
            sampler_ids.setdefault(name, node)
    group_ids = {}
    for index, group in enumerate(cluster.aggregators):
        node = _node_id("A", index)
        group_ids[group.key] = node
        lines.append('  %s["L%d %s<br/>%d aggregators, %d producers"]' % (
            node, group.level, group.key, len(group.daemons), len(group.producers)))
    daemon_group = {name: group.key for group in cluster.aggregators for name in group.daemons}
    for group in cluster.aggregators:
        sources = []
        for producer in group.producers:
            upstream = group_ids.get(daemon_group.get(producer.daemon)) or sampler_ids.get(producer.daemon)
            if upstream and upstream not in sources:
                sources.append(upstream)
        for upstream in sources:
            lines.append("  %s --> %s" % (upstream, group_ids[group.key]))
    for index, policy in enumerate(cluster.stores):
        node = _node_id("T", index)
        what = policy.schema or policy.regex or "decomposition"
        lines.append('  %s[("%s<br/>%s: %s")]' % (node, policy.name, policy.plugin.plugin, what))
        for upstream in dict.fromkeys(group_ids[daemon_group[name]] for name in policy.daemons if name in daemon_group):
            lines.append("  %s --> %s" % (upstream, node))
    lines += ["```", "", "## Producers per aggregator", "",
              "| aggregator | level | group | producers | updaters | storage policies |",
              "|---|---|---|---|---|---|"]
    for name, plan in plans.items():
        if plan.level:
            lines.append("| %s | %d | %s | %d | %d | %d |" % (
                name, plan.level, ", ".join(plan.groups), len(plan.producers),
                len(plan.updaters), len(plan.storage_policies)))
    lines += ["", counts_line(cluster) + ".", ""]
    return "\n".join(lines)
