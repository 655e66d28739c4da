# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a whole cluster into a directory: ``<daemon>.conf`` + ``topology.md`` + ``topology.svg``.

Files whose content is unchanged are not rewritten, so a second render
changes nothing. Stale files that this renderer wrote earlier (they carry its
header naming the same cluster file) are removed; other files in the
directory, including other clusters' renders, are left alone. Files are
replaced atomically and links at their names are replaced, never followed.

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
from ansible_collections.hpc.ldms.plugins.module_utils.fileio import opened_directory, read_regular_text, write_atomic
from ansible_collections.hpc.ldms.plugins.module_utils.observe.picture import topology_boxes, topology_svg
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import (
    daemon_config_text,
    header,
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
PROGRESS_EVERY = 2000  # daemons between progress reports


@dataclass
class RenderResult:
    files: Dict[str, str] = field(default_factory=dict)  # texts of changed files, as many as asked to keep
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


def _present(dest: str) -> Optional[set]:
    """The names in ``dest`` now (one listing instead of a failed open per new file); None if unknown."""
    try:
        return set(os.listdir(dest))
    except FileNotFoundError:
        return set()
    except OSError:
        return None


def _sync_file(dest: str, name: str, text: str, check_mode: bool, present: Optional[set] = None,
               directory: Optional[int] = None) -> bool:
    """Write one file if its content differs; True when it (would have) changed.

    A link or anything but a regular file at the name counts as different, so it is replaced.
    ``present``: the names listed in ``dest`` beforehand; a name not among them is new.
    ``directory``: ``dest`` from ``opened_directory``.
    """
    path = os.path.join(dest, name)
    if (present is None or name in present) and read_regular_text(path) == text:
        return False
    if not check_mode:
        write_atomic(path, text, directory=directory)
    return True


def _ours(path: str, first_line: str) -> bool:
    """Whether the file at ``path`` is a regular file that a render of the same cluster file wrote."""
    return read_regular_text(path, len(first_line.encode("utf-8"))) == first_line


def _prune(result: RenderResult, dest: str, wanted: set, check_mode: bool):
    if not os.path.isdir(dest):
        return
    first_line = header(result.source)
    for name in sorted(os.listdir(dest)):
        if name.endswith(".conf") and name not in wanted:
            path = os.path.join(dest, name)
            if _ours(path, first_line):
                result.removed.append(name)
                if not check_mode:
                    os.unlink(path)


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
                  progress: Optional[Callable[[int, int], None]] = None, keep: Optional[int] = 0) -> RenderResult:
    """Render every daemon straight into ``dest``, holding one file text at a time.

    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` daemons. The
    texts of the first ``keep`` files that (would) change stay in ``files``
    (all of them with None), for a diff.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(collector_paused())
        planner = planner or Planner(cluster, group_assignments(cluster))
        label = source_label(source)
        result = RenderResult(aggregator_plans=_aggregator_plans(cluster, planner), source=label)
        directory = None
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
            directory = stack.enter_context(opened_directory(dest))
        present = _present(dest)
        total = len(cluster.daemons)

        def sync(file_name: str, text: str):
            if not _sync_file(dest, file_name, text, check_mode, present, directory):
                result.unchanged.append(file_name)
                return
            if keep is None or len(result.written) < keep:
                result.files[file_name] = text
            result.written.append(file_name)

        for done, name in enumerate(cluster.daemons, 1):
            sync("%s.conf" % name, daemon_config_text(planner.plan(name), label, planner.shared_lines))
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
        sync(TOPOLOGY_FILE, topology_markdown(cluster, result.aggregator_plans))
        sync(TOPOLOGY_PICTURE, topology_svg(topology_boxes(cluster)))
        if prune:
            _prune(result, dest, {"%s.conf" % name for name in cluster.daemons}, check_mode)
    return result
