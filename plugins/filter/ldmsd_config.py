# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ldmsd_config
short_description: The rendered ldmsd config lines of one daemon
version_added: 0.1.0
description:
  - Returns the ldmsd v4 config-file lines of one daemon, exactly as P(hpc.ldms.render_config#module) writes
    them; the header comment comes first only when O(source) is given.
  - The input is either the daemon's C(ldms_plan) host variable from the P(hpc.ldms.cluster#inventory)
    inventory, or the path of a cluster file together with O(daemon).
positional: _input
options:
  _input:
    description: A C(ldms_plan) mapping, or the path of a cluster file.
    type: raw
    required: true
  daemon:
    description: The daemon name, when the input is a cluster file path.
    type: str
  source:
    description:
      - The cluster file the header comment names. Given, the first line is that header, so that the lines joined
        are the file P(hpc.ldms.render_config#module) writes (and recognises as its own).
    type: str
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Write one daemon's config from its inventory plan
  ansible.builtin.copy:
    content: "{{ ldms_plan | hpc.ldms.ldmsd_config(source=ldms_cluster_file) | join('\n') }}\n"
    dest: /etc/ldms/ldmsd.conf
    mode: "0644"

- name: Lines of one daemon, straight from a cluster file
  ansible.builtin.debug:
    msg: "{{ 'cluster.yaml' | hpc.ldms.ldmsd_config(daemon='l1-agg-1') }}"
"""

RETURN = r"""
_value:
  description: The config lines, in ldmsd order.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import (
    config_lines,
    header,
    prelude_commands,
    source_label,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.plan_cache import loaded_cluster


def ldmsd_config(value, daemon=None, source=None):
    lines = _config_lines(value, daemon)
    return [header(source_label(source)).rstrip("\n")] + lines if source else lines


def _config_lines(value, daemon):
    try:
        if isinstance(value, dict):
            if "prelude" not in value or "objects" not in value:
                raise AnsibleFilterError("ldmsd_config: the input mapping is not an ldms_plan (needs prelude and objects)")
            return config_lines(value["prelude"], value["objects"])
        if isinstance(value, str):
            if not daemon:
                raise AnsibleFilterError("ldmsd_config: give daemon= with a cluster file path")
            loaded = loaded_cluster(value)
            if daemon not in loaded.cluster.daemons:
                raise AnsibleFilterError("ldmsd_config: daemon %r is not in %s" % (daemon, loaded.source))
            plan = loaded.planner.plan(daemon)
            return config_lines(prelude_commands(plan), plan.objects())
    except ClusterError as exc:
        raise AnsibleFilterError("ldmsd_config: %s" % exc)
    raise AnsibleFilterError("ldmsd_config: expected an ldms_plan mapping or a cluster file path, got %s" % type(value).__name__)


class FilterModule:
    def filters(self):
        return {"ldmsd_config": ldmsd_config}
