# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_info
short_description: Read what a running ldmsd reports about itself
version_added: 0.1.0
description:
  - Gathers the version, daemon status, producers (with their sets), updaters, storage policies, plugins and
    every set the daemon holds (its own sampler sets and those it pulls), with one request of each kind.
  - With O(query), returns only the answer to a JMESPath question about that result, such as which producers
    are not connected.
  - Changes nothing.
options:
  query:
    description:
      - A L(JMESPath,https://jmespath.org/) expression evaluated over what the module would return without it
        (the keys V(version), V(daemon_status), V(producers), V(updaters), V(storage_policies), V(plugins),
        V(sets)). Its value is returned as RV(query_result), instead of those keys.
      - Needs the Python package C(jmespath) where the module runs.
    type: str
extends_documentation_fragment:
  - hpc.ldms.connection
requirements:
  - jmespath (only for O(query))
attributes:
  check_mode:
    description: Reads only, in any mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Runs where it can reach the daemon over the LDMS transport.
    support: full
    platforms: posix
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: What does the top aggregator hold?
  hpc.ldms.ldmsd_info:
    host: head-1
    port: 10104
  register: top

- name: Every sampler set reached the top
  ansible.builtin.assert:
    that: "'sampler-1/meminfo1' in top.sets"

- name: Which producers of each level-1 aggregator are not connected?
  hpc.ldms.ldmsd_info:
    host: "{{ ldms_control.host }}"
    port: "{{ ldms_control.port }}"
    query: "producers[?state!='CONNECTED'].name"
  delegate_to: localhost
  register: down
  when: ldms_level == 1
"""

RETURN = r"""
version:
  description: The C(version) reply.
  returned: success, without O(query)
  type: dict
  sample:
    LDMS Protocol Version: 4.2.0.0
    LDMSD Plugin Interface Version: 3.2.2.0
    LDMSD Version: 4.5.3
    git-SHA: NO_GIT_SHA
daemon_status:
  description: The C(daemon_status) reply.
  returned: success, without O(query)
  type: dict
  sample:
    state: ready
producers:
  description: The C(prdcr_status) reply, each producer with its sets.
  returned: success, without O(query)
  type: list
  elements: dict
  sample:
    - auth: DEFAULT
      host: 127.0.0.1
      name: sampler-1-sock
      port: 20401
      quota: '-1'
      rail: '1'
      reconnect_us: '1000000'
      rx_rate: '-1'
      sets:
      - inst_name: sampler-1/meminfo1
        schema_name: meminfo
        state: READY
      - inst_name: sampler-1/vmstat1
        schema_name: vmstat
        state: READY
      state: CONNECTED
      transport: sock
      type: active
updaters:
  description: The C(updtr_status) reply.
  returned: success, without O(query)
  type: list
  elements: dict
  sample:
    - auto: 'false'
      interval: '1000000'
      mode: Pull
      name: updtr_0
      offset: '100000'
      producers:
      - host: 127.0.0.1
        name: sampler-1-sock
        port: 20401
        state: CONNECTED
        transport: sock
      state: RUNNING
      sync: 'true'
storage_policies:
  description: The C(strgp_status) reply.
  returned: success, without O(query)
  type: list
  elements: dict
  sample: []
plugins:
  description: The C(plugn_status) reply.
  returned: success, without O(query)
  type: list
  elements: dict
  sample:
    - name: store_csv
      plugin: store_csv
      type: store[M]
      libpath: /opt/ovis/lib/ovis-ldms/libstore_csv.so
sets:
  description: Names of every set the daemon holds, sorted.
  returned: success, without O(query)
  type: list
  elements: str
  sample:
    - sampler-1/meminfo1
    - sampler-1/vmstat1
query_result:
  description: The value of O(query) over the result; null when the expression selects nothing.
  returned: when O(query) is given
  type: raw
  sample:
    - sampler-1/meminfo1
    - sampler-1/vmstat1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import CONNECTION_ARGSPEC, LdmsdClient, LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.apply.info import compile_query, gather_info, jmespath


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGSPEC, query={"type": "str"}), supports_check_mode=True)
    if module.params["query"] is not None and jmespath is None:
        module.fail_json(msg=missing_required_lib("jmespath"))
    try:
        query = compile_query(module.params["query"]) if module.params["query"] is not None else None
        client = LdmsdClient.from_params(module.params)
    except LdmsdError as exc:
        module.fail_json(msg=str(exc))
    try:
        info = gather_info(client)
    except LdmsdError as exc:
        module.fail_json(msg=str(exc), errcode=exc.errcode, command=exc.command)
    finally:
        client.close()
    if query is not None:
        module.exit_json(changed=False, query_result=query.search(info))
    module.exit_json(changed=False, **info)


if __name__ == "__main__":
    main()
