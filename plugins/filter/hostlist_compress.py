# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: hostlist_compress
short_description: Write a list of names as a short hostlist
version_added: 0.1.0
description:
  - The inverse of P(hpc.ldms.hostlist_expand#filter), by python-hostlist's C(collect_hostlist).
positional: _input
options:
  _input:
    description: A list of names.
    type: list
    elements: str
    required: true
requirements:
  - python-hostlist
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Show the samplers as a hostlist
  ansible.builtin.debug:
    msg: "{{ groups['ldms_samplers'] | hpc.ldms.hostlist_compress }}"
  # => sampler-[1-10]
"""

RETURN = r"""
_value:
  description: The hostlist.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import compress


def hostlist_compress(value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise AnsibleFilterError("hostlist_compress: expected a list of names, got %r" % (value,))
    try:
        return compress(value)
    except ClusterError as exc:
        raise AnsibleFilterError("hostlist_compress: %s" % exc)


class FilterModule:
    def filters(self):
        return {"hostlist_compress": hostlist_compress}
