# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ldmsd_plan
short_description: The desired configuration of one daemon, from its cluster file
version_added: 0.1.0
description:
  - Returns the plan of one daemon of a cluster file, the value of the C(ldms_plan) host variable that the
    P(hpc.ldms.cluster#inventory) inventory gives every host (C(ldms_plan) is this filter, applied when a
    task reads it).
  - C(groups) are the aggregator groups the daemon serves, C(prelude) its start-up lines, C(objects) its
    runtime objects by kind, in the item form of the hpc.ldms.ldmsd_* modules.
  - The cluster file is loaded and balanced once per process and file version (path, size, modification
    time); each daemon's plan is computed when first asked for.
positional: _input, daemon
options:
  _input:
    description: The path of a cluster file, or of an inventory file of the P(hpc.ldms.cluster#inventory) plugin.
    type: path
    required: true
  daemon:
    description: The daemon name.
    type: str
    required: true
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Producers of one aggregator
  ansible.builtin.debug:
    msg: "{{ (ldms_cluster_file | hpc.ldms.ldmsd_plan('l1-agg-1')).objects.producers }}"
"""

RETURN = r"""
_value:
  description: The plan, with keys C(groups), C(prelude) and C(objects).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.render.plan_cache import loaded_cluster


def ldmsd_plan(path, daemon):
    if not isinstance(path, str) or not isinstance(daemon, str):
        raise AnsibleFilterError("ldmsd_plan: expected a cluster file path and a daemon name, got %s and %s"
                                 % (type(path).__name__, type(daemon).__name__))
    try:
        loaded = loaded_cluster(path)
        if daemon not in loaded.cluster.daemons:
            raise AnsibleFilterError("ldmsd_plan: daemon %r is not in %s" % (daemon, loaded.source))
        return loaded.plan_vars(daemon)
    except ClusterError as exc:
        raise AnsibleFilterError("ldmsd_plan: %s" % exc)


class FilterModule:
    def filters(self):
        return {"ldmsd_plan": ldmsd_plan}
