# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a whole cluster into a directory: ``<daemon>.conf`` + ``topology.md``.

Files whose content is unchanged are not rewritten, so a second render
changes nothing. Stale files that this renderer wrote earlier (they carry its
header) are removed; other files in the directory are left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import HEADER, daemon_config_text
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import DaemonPlan, plan_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.topology import topology_markdown

TOPOLOGY_FILE = "topology.md"
_HEADER_PREFIX = HEADER.split("%s", maxsplit=1)[0]


@dataclass
class RenderResult:
    files: Dict[str, str]  # file name -> text
    written: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    plans: Optional[Dict[str, DaemonPlan]] = None

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def render_files(cluster: Cluster, source: str, plans: Optional[Dict[str, DaemonPlan]] = None) -> RenderResult:
    """All file texts, in memory."""
    plans = plans if plans is not None else plan_cluster(cluster)
    label = os.path.basename(source)
    files = {"%s.conf" % name: daemon_config_text(plan, label) for name, plan in plans.items()}
    files[TOPOLOGY_FILE] = topology_markdown(cluster, plans)
    return RenderResult(files=files, plans=plans)


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


def write_files(result: RenderResult, dest: str, check_mode: bool = False, prune: bool = True) -> RenderResult:
    """Write what differs; with check_mode only report what would change."""
    if not check_mode:
        os.makedirs(dest, exist_ok=True)
    for name, text in result.files.items():
        (result.written if _sync_file(dest, name, text, check_mode) else result.unchanged).append(name)
    if prune and os.path.isdir(dest):
        for name in sorted(os.listdir(dest)):
            if name.endswith(".conf") and name not in result.files:
                path = os.path.join(dest, name)
                existing = _read(path) or ""
                if existing.startswith(_HEADER_PREFIX):
                    result.removed.append(name)
                    if not check_mode:
                        os.unlink(path)
    return result
