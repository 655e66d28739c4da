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
  - Changes nothing.
extends_documentation_fragment:
  - hpc.ldms.connection
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
"""

RETURN = r"""
version:
  description: The C(version) reply.
  returned: success
  type: dict
daemon_status:
  description: The C(daemon_status) reply.
  returned: success
  type: dict
producers:
  description: The C(prdcr_status) reply, each producer with its sets.
  returned: success
  type: list
  elements: dict
updaters:
  description: The C(updtr_status) reply.
  returned: success
  type: list
  elements: dict
storage_policies:
  description: The C(strgp_status) reply.
  returned: success
  type: list
  elements: dict
plugins:
  description: The C(plugn_status) reply.
  returned: success
  type: list
  elements: dict
sets:
  description: Names of every set the daemon holds, sorted.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import CONNECTION_ARGSPEC, LdmsdClient, LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.apply.info import gather_info


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGSPEC), supports_check_mode=True)
    try:
        client = LdmsdClient.from_params(module.params)
    except LdmsdError as exc:
        module.fail_json(msg=str(exc))
    try:
        info = gather_info(client)
    except LdmsdError as exc:
        module.fail_json(msg=str(exc), errcode=exc.errcode, command=exc.command)
    finally:
        client.close()
    module.exit_json(changed=False, **info)


if __name__ == "__main__":
    main()
