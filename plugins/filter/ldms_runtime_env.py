# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ldms_runtime_env
short_description: The environment an ldmsd installed under a prefix runs with
version_added: 0.1.0
description:
  - Gives C(LD_LIBRARY_PATH), C(LDMSD_PLUGIN_LIBPATH) and C(ZAP_LIBPATH) for an LDMS installed under a prefix
    (such as C(/opt/ovis)), the same values the process deploy mode uses.
positional: _input
options:
  _input:
    description: The LDMS prefix.
    type: str
    required: true
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Environment of an ldmsd in a container
  ansible.builtin.debug:
    msg: "{{ '/opt/ovis' | hpc.ldms.ldms_runtime_env }}"
  # => {'LD_LIBRARY_PATH': '/opt/ovis/lib', 'LDMSD_PLUGIN_LIBPATH': '/opt/ovis/lib/ovis-ldms', 'ZAP_LIBPATH': '/opt/ovis/lib/ovis-ldms'}
"""

RETURN = r"""
_value:
  description: Variable names and values.
  type: dict
"""

from ansible_collections.hpc.ldms.plugins.module_utils.deploy.process import ldms_runtime_env


class FilterModule:
    def filters(self):
        return {"ldms_runtime_env": ldms_runtime_env}
