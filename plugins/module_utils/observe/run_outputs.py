# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a reconcile run leaves for people and monitoring beside its report: status.html and the metrics file."""

from __future__ import annotations

import os
from typing import Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.observe.metrics import METRICS_FILE, write_metrics
from ansible_collections.hpc.ldms.plugins.module_utils.observe.status_page import STATUS_FILE, status_html
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import write_atomic


def metrics_path(state_dir: str, metrics_file: Optional[str]) -> str:
    """The metrics file: the one asked for, else ``<state_dir>/hpc_ldms.prom``; "" turns it off."""
    return os.path.join(state_dir, METRICS_FILE) if metrics_file is None else metrics_file


def write_run_outputs(state_dir: str, metrics_file: str, cluster: Cluster, report: dict, state: dict,
                      cluster_name: str = ""):
    success = not (report.get("failed_groups") or report.get("errors"))
    os.makedirs(state_dir, exist_ok=True)
    write_atomic(os.path.join(state_dir, STATUS_FILE), status_html(cluster, report, cluster_name))
    if metrics_file:
        write_metrics(metrics_file, cluster, report, state, success)
