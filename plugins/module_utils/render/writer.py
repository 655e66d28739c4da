# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a whole cluster into a directory: ``<daemon>.conf`` + ``topology.md`` + ``topology.svg``.

Files whose content is unchanged are not rewritten, so a second render
changes nothing. Stale files that this renderer wrote earlier (they carry its
header naming the same cluster file) are removed; other files in the
directory, including other clusters' renders, are left alone. Files are
replaced atomically and links at their names are replaced, never followed.
Large clusters are rendered by forked workers, one per CPU.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.fileio import read_regular_text, write_atomic
from ansible_collections.hpc.ldms.plugins.module_utils.observe.picture import topology_boxes, topology_svg
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import (
    HEADER,
    daemon_config_text,
    source_label,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import (
    DaemonPlan,
    Planner,
    group_assignments,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.topology import topology_markdown

TOPOLOGY_FILE = "topology.md"
TOPOLOGY_PICTURE = "topology.svg"
PARALLEL_FROM = 2000  # daemons; below this a fork costs more than it saves


@dataclass
class RenderResult:
    files: Dict[str, str] = field(default_factory=dict)  # in-memory renders only
    source: str = ""  # the cluster file, as the headers name it
    written: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    aggregator_plans: Dict[str, DaemonPlan] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def _aggregator_plans(cluster: Cluster, planner: Planner) -> Dict[str, DaemonPlan]:
    return {name: planner.plan(name) for name, level in cluster.levels().items() if level}


def render_files(cluster: Cluster, source: str) -> RenderResult:
    """All file texts, in memory."""
    planner = Planner(cluster, group_assignments(cluster))
    label = source_label(source)
    result = RenderResult(aggregator_plans=_aggregator_plans(cluster, planner), source=label)
    result.files = {"%s.conf" % name: daemon_config_text(planner.plan(name), label) for name in cluster.daemons}
    result.files[TOPOLOGY_FILE] = topology_markdown(cluster, result.aggregator_plans)
    result.files[TOPOLOGY_PICTURE] = topology_svg(topology_boxes(cluster))
    return result


def _sync_file(dest: str, name: str, text: str, check_mode: bool) -> bool:
    """Write one file if its content differs; True when it (would have) changed.

    A link or anything but a regular file at the name counts as different, so it is replaced.
    """
    path = os.path.join(dest, name)
    if read_regular_text(path) == text:
        return False
    if not check_mode:
        write_atomic(path, text)
    return True


def _ours(path: str, header: str) -> bool:
    """Whether the file at ``path`` is a regular file that a render of the same cluster file wrote."""
    return read_regular_text(path, len(header.encode("utf-8"))) == header


def _prune(result: RenderResult, dest: str, wanted: set, check_mode: bool):
    if not os.path.isdir(dest):
        return
    header = HEADER % result.source
    for name in sorted(os.listdir(dest)):
        if name.endswith(".conf") and name not in wanted:
            path = os.path.join(dest, name)
            if _ours(path, header):
                result.removed.append(name)
                if not check_mode:
                    os.unlink(path)


def write_files(result: RenderResult, dest: str, check_mode: bool = False, prune: bool = True) -> RenderResult:
    """Write an in-memory render; with check_mode only report what would change."""
    if not check_mode:
        os.makedirs(dest, exist_ok=True)
    for name, text in result.files.items():
        (result.written if _sync_file(dest, name, text, check_mode) else result.unchanged).append(name)
    if prune:
        _prune(result, dest, set(result.files), check_mode)
    return result


# The forked workers inherit the job from the parent instead of pickling it.
_JOB: dict = {}


def _render_chunk(names: List[str]) -> List[Tuple[str, bool]]:
    planner, label, dest, check_mode = _JOB["planner"], _JOB["label"], _JOB["dest"], _JOB["check_mode"]
    return [(name, _sync_file(dest, "%s.conf" % name, daemon_config_text(planner.plan(name), label), check_mode))
            for name in names]


def render_to_dir(cluster: Cluster, source: str, dest: str, check_mode: bool = False, prune: bool = True,
                  workers: Optional[int] = None) -> RenderResult:
    """Render every daemon straight into ``dest``, in parallel for large clusters."""
    planner = Planner(cluster, group_assignments(cluster))
    label = source_label(source)
    result = RenderResult(aggregator_plans=_aggregator_plans(cluster, planner), source=label)
    if not check_mode:
        os.makedirs(dest, exist_ok=True)
    names = list(cluster.daemons)
    workers = workers or os.cpu_count() or 1
    _JOB.update(planner=planner, label=label, dest=dest, check_mode=check_mode)
    try:
        if workers > 1 and len(names) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            size = -(-len(names) // (workers * 4))
            chunks = [names[start:start + size] for start in range(0, len(names), size)]
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                outcomes = [item for chunk in pool.map(_render_chunk, chunks) for item in chunk]
        else:
            outcomes = _render_chunk(names)
    finally:
        _JOB.clear()
    topology = topology_markdown(cluster, result.aggregator_plans)
    outcomes.append((TOPOLOGY_FILE, _sync_file(dest, TOPOLOGY_FILE, topology, check_mode)))
    picture = topology_svg(topology_boxes(cluster))
    outcomes.append((TOPOLOGY_PICTURE, _sync_file(dest, TOPOLOGY_PICTURE, picture, check_mode)))
    for name, changed in outcomes:
        file_name = name if name in (TOPOLOGY_FILE, TOPOLOGY_PICTURE) else "%s.conf" % name
        (result.written if changed else result.unchanged).append(file_name)
    if prune:
        _prune(result, dest, {"%s.conf" % name for name in names}, check_mode)
    return result
