# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: balance
short_description: Spread producers over aggregators, moving as few as possible
version_added: 0.1.0
description:
  - Assigns every producer to exactly one alive aggregator with loads within one of each other
    (weighted - largest first, within the largest weight).
  - Without O(previous), producers in natural order (C(node-2) before C(node-10)) are cut into contiguous
    blocks over the aggregators in the order given, the first P mod N taking one extra.
  - With O(previous), producers of alive aggregators stay; only those of dead or removed aggregators move,
    plus the fewest moves needed to even the loads (for example when an aggregator comes back).
  - When no aggregator is alive, the previous assignment is returned unchanged with RV(_value.failsafe=true).
positional: _input, aggregators
options:
  _input:
    description: Producer names.
    type: list
    elements: str
    required: true
  aggregators:
    description: Aggregator names (all alive), or a mapping of aggregator name to alive (true/false).
    type: raw
    required: true
  previous:
    description: The previous assignment, producer name to aggregator name.
    type: dict
  weights:
    description: Producer name to a positive weight (set bytes times updates per second). Every producer needs one.
    type: dict
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: First assignment
  ansible.builtin.set_fact:
    ldms_assignment: "{{ ['node-1', 'node-2', 'node-10'] | hpc.ldms.balance(['agg-1', 'agg-2']) }}"
  # assignment: {node-1: agg-1, node-2: agg-1, node-10: agg-2}

- name: agg-2 died; only its producers move
  ansible.builtin.set_fact:
    ldms_assignment: >-
      {{ producers | hpc.ldms.balance({'agg-1': true, 'agg-2': false},
                                      previous=ldms_assignment.assignment) }}
"""

RETURN = r"""
_value:
  description: The result.
  type: dict
  contains:
    assignment:
      description: Producer name to aggregator name, in natural producer order.
      type: dict
    moved:
      description: Producers whose aggregator changed, as C({producer, from, to}).
      type: list
      elements: dict
    loads:
      description: Aggregator name to its producer count (or weight sum).
      type: dict
    failsafe:
      description: True when no aggregator was alive and the previous assignment was kept.
      type: bool
    reason:
      description: Why the fail-safe was taken.
      type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import balance as sticky_balance


def balance(producers, aggregators, previous=None, weights=None):
    if not isinstance(producers, (list, tuple)):
        raise AnsibleFilterError("balance: producers must be a list of names, got %s" % type(producers).__name__)
    if not isinstance(aggregators, (list, tuple, Mapping)):
        raise AnsibleFilterError("balance: aggregators must be a list or a mapping, got %s" % type(aggregators).__name__)
    if previous is not None and not isinstance(previous, Mapping):
        raise AnsibleFilterError("balance: previous must be a mapping producer -> aggregator")
    if weights is not None and not isinstance(weights, Mapping):
        raise AnsibleFilterError("balance: weights must be a mapping producer -> weight")
    try:
        return sticky_balance(producers, aggregators, previous=previous, weights=weights).as_dict()
    except (ValueError, TypeError) as exc:
        raise AnsibleFilterError("balance: %s" % exc)


class FilterModule:
    def filters(self):
        return {"balance": balance}
