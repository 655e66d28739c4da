# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One loaded cluster per file per process, and daemon plans computed on demand.

The inventory keeps only small facts per host; a host's plan is computed
when a task asks for it (the ``hpc.ldms.ldmsd_plan`` filter behind the
``ldms_plan`` host variable). Loading and balancing a 30,000-daemon cluster
takes about a second, so the model is kept per process, keyed by the file's
path, size and modification time. The inventory fills this cache in
Ansible's main process; the worker processes Ansible forks inherit it.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.source import load_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import prelude_commands
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import DaemonPlan, Planner, group_assignments

_Key = Tuple[str, int, int]


class LoadedCluster:
    """A cluster file's model; its balance and plans are worked out when first asked for."""

    def __init__(self, source: str, cluster: Cluster):
        self.source = source
        self.cluster = cluster
        self._planner: Optional[Planner] = None
        self._boot_planner: Optional[Planner] = None
        self._plan_vars: Dict[str, dict] = {}
        self._saved: Dict[str, Dict[str, str]] = {}

    def use_assignments(self, saved: Dict[str, Dict[str, str]]):
        """Plan with the reconcile's saved producer assignment (group key -> producer -> aggregator)."""
        if saved != self._saved:
            self._saved = saved
            self._planner = None
            self._boot_planner = None
            self._plan_vars = {}

    def prepare(self):
        """Balance and index now, so that processes forked later inherit the work."""
        if self._planner is None:
            self._planner = Planner(self.cluster, group_assignments(self.cluster, saved=self._saved))

    @property
    def planner(self) -> Planner:
        self.prepare()
        return self._planner

    @property
    def boot_planner(self) -> Planner:
        """Plans by the cluster file's own balance: what config files are written from."""
        if not self._saved:
            return self.planner
        if self._boot_planner is None:
            self._boot_planner = Planner(self.cluster, group_assignments(self.cluster))
        return self._boot_planner

    def plan_vars(self, daemon: str) -> dict:
        """A daemon's plan in host-variable form: groups, prelude lines and runtime objects.

        With a saved assignment that moved producers to or from this daemon,
        ``boot`` is the plan its config file is written from: the cluster
        file's own balance. The file then stays as it is when the reconcile
        moves producers (site.yml after a failover changes nothing), while
        the live objects follow the saved assignment. A daemon restarted
        from it is brought back to the assignment by the next reconcile.
        """
        found = self._plan_vars.get(daemon)
        if found is None:
            found = plan_vars(self.planner.plan(daemon))
            if self._saved and found["groups"]:  # an aggregator
                boot = plan_vars(self.boot_planner.plan(daemon))
                if boot["objects"]["producers"] != found["objects"]["producers"]:
                    found["boot"] = boot
            self._plan_vars[daemon] = found
        return found


def plan_vars(plan: DaemonPlan) -> dict:
    return {"groups": plan.groups, "prelude": [command.text() for command in prelude_commands(plan)],
            "objects": plan.objects()}


_CACHE: Dict[str, Tuple[_Key, LoadedCluster]] = {}
_CACHE_SIZE = 8  # files


def _key(path: str) -> _Key:
    try:
        status = os.stat(path)
    except OSError:
        return (path, -1, -1)  # load_cluster reports the missing file
    return (path, status.st_mtime_ns, status.st_size)


def loaded_cluster(path: str, strict: Optional[bool] = None) -> LoadedCluster:
    """The model of a cluster file (or of an inventory file naming one), loaded once per version of the file.

    ``strict`` applies when the file is read; a version already loaded is returned as it was read.
    """
    path = os.path.abspath(path)
    key = _key(path)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == key:
        source = cached[1].source
        # An inventory file that names its cluster file: that file may have changed on its own.
        if source == path or _CACHE.get(source, (None,))[0] == _key(source):
            return cached[1]
    source, cluster = load_cluster(path, strict=strict)
    loaded = LoadedCluster(source, cluster)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[path] = (key, loaded)
    if source != path:
        _CACHE[source] = (_key(source), loaded)
    return loaded
