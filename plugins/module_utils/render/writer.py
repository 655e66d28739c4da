# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a whole cluster into a directory: ``<daemon>.conf`` + ``topology.md``.

Files whose content is unchanged are not rewritten, so a second render
changes nothing. Stale files that this renderer wrote earlier (they carry its
header) are removed; other files in the directory are left alone.

Everything runs in the calling process, one daemon at a time: the render
runs inside Ansible's worker, which has threads, so forking there can hang;
and shared plugin items keep a daemon at tens of microseconds.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import HEADER, daemon_config_text
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import (
    DaemonPlan,
    Planner,
    group_assignments,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.topology import topology_markdown

TOPOLOGY_FILE = "topology.md"
PROGRESS_EVERY = 2000  # daemons between progress reports
_HEADER_PREFIX = HEADER.split("%s", maxsplit=1)[0]


@dataclass
class RenderResult:
    files: Dict[str, str] = field(default_factory=dict)  # in-memory renders only
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
    label = os.path.basename(source)
    result = RenderResult(aggregator_plans=_aggregator_plans(cluster, planner))
    result.files = {"%s.conf" % name: daemon_config_text(planner.plan(name), label, planner.shared_lines)
                    for name in cluster.daemons}
    result.files[TOPOLOGY_FILE] = topology_markdown(cluster, result.aggregator_plans)
    return result


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_atomic(path: str, text: str):
    # A fixed temporary name beside the target: cheap, and os.replace keeps
    # readers from ever seeing a half-written file.
    temp = path + ".hpc-ldms-tmp"
    try:
        with open(temp, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _sync_file(dest: str, name: str, text: str, check_mode: bool) -> bool:
    """Write one file if its content differs; True when it (would have) changed."""
    path = os.path.join(dest, name)
    if _read(path) == text:
        return False
    if not check_mode:
        _write_atomic(path, text)
    return True


def _prune(result: RenderResult, dest: str, wanted: set, check_mode: bool):
    if not os.path.isdir(dest):
        return
    for name in sorted(os.listdir(dest)):
        if name.endswith(".conf") and name not in wanted:
            path = os.path.join(dest, name)
            if (_read(path) or "").startswith(_HEADER_PREFIX):
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


@contextlib.contextmanager
def collector_paused():
    """No cyclic garbage collection while rendering or loading a cluster.

    These steps make no cycles, and each full collection walks every object
    of the process: in Ansible, the whole inventory of a large cluster.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_to_dir(cluster: Cluster, source: str, dest: str, check_mode: bool = False, prune: bool = True,
                  planner: Optional[Planner] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> RenderResult:
    """Render every daemon straight into ``dest``, holding one file text at a time.

    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` daemons.
    """
    with collector_paused():
        planner = planner or Planner(cluster, group_assignments(cluster))
        result = RenderResult(aggregator_plans=_aggregator_plans(cluster, planner))
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
        label = os.path.basename(source)
        total = len(cluster.daemons)
        for done, name in enumerate(cluster.daemons, 1):
            file_name = "%s.conf" % name
            text = daemon_config_text(planner.plan(name), label, planner.shared_lines)
            (result.written if _sync_file(dest, file_name, text, check_mode) else result.unchanged).append(file_name)
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
        topology = topology_markdown(cluster, result.aggregator_plans)
        (result.written if _sync_file(dest, TOPOLOGY_FILE, topology, check_mode) else result.unchanged).append(TOPOLOGY_FILE)
        if prune:
            _prune(result, dest, {"%s.conf" % name for name in cluster.daemons}, check_mode)
    return result
