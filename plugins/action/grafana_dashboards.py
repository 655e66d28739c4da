# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate Grafana dashboards from the cluster file, on the controller."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.source import load_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.observe.dashboards import (
    DATASOURCE_UID,
    HAS_GRAFANA_SDK,
    dashboard_files,
    sync_dashboards,
)

ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "dest": {"type": "path"},
    "datasource_uid": {"type": "str", "default": DATASOURCE_UID},
    "prometheus_uid": {"type": "str", "default": ""},
    "prune": {"type": "bool", "default": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        args = validation.validated_parameters
        if not HAS_GRAFANA_SDK:
            raise AnsibleActionFail(missing_required_lib("grafana-foundation-sdk"))
        if not args["datasource_uid"]:
            raise AnsibleActionFail("datasource_uid must not be empty")
        try:
            source, cluster = load_cluster(args["src"])
        except ClusterError as exc:
            raise AnsibleActionFail(str(exc))
        files = dashboard_files(cluster, args["datasource_uid"], args["prometheus_uid"] or None)
        result.update(changed=False, source=source, dashboards=files)
        if args["dest"]:
            written, removed = sync_dashboards(files, args["dest"], check_mode=self._task.check_mode,
                                               prune=args["prune"])
            result.update(changed=bool(written or removed), dest=args["dest"], written=written, removed=removed)
            if self._task.diff and (written or removed):
                result["diff"] = [{"before_header": os.path.join(args["dest"], name), "after_header": name,
                                   "after": files.get(name, "")} for name in written[:20]]
                result["diff"] += [{"before_header": os.path.join(args["dest"], name), "after_header": "(removed)",
                                    "after": ""} for name in removed]
        if cluster.warnings:
            result["warnings"] = list(cluster.warnings)
        return result
