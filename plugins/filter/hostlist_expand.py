# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: hostlist_expand
short_description: Expand a hostlist such as C(node-[1-10])
version_added: 0.1.0
description:
  - Expands a hostlist with python-hostlist, keeping the order written (never string-sorted).
  - Several bracket groups form a product, the left group slowest; padding follows the low bound
    (C(a[01-3]) gives C(a01), C(a02), C(a03)); duplicates are dropped, keeping the first.
positional: _input
options:
  _input:
    description: A hostlist string, an integer, or a list of those.
    type: raw
    required: true
requirements:
  - python-hostlist
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Expand sampler names
  ansible.builtin.debug:
    msg: "{{ 'node-[8-10],login1' | hpc.ldms.hostlist_expand }}"
  # => ['node-8', 'node-9', 'node-10', 'login1']
"""

RETURN = r"""
_value:
  description: The names, in the order written.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import expand


def hostlist_expand(value):
    try:
        return expand(value, "hostlist_expand input %r" % (value,))
    except ClusterError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"hostlist_expand": hostlist_expand}
