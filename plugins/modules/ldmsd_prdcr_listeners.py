# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_prdcr_listeners
short_description: Manage the producer listeners (prdcr_listen) of a running ldmsd
version_added: 0.1.0
description:
  - Reads the prdcr_listeners of a running ldmsd with one status request, compares them with O(config) and sends only
    the commands needed, through LDMS's own Python package.
  - ldmsd does not report disable_start, rail, reconnect or the advertiser_* settings back, so they are not compared.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.prdcr_listeners
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Accept advertised samplers node-1 and node-2
  hpc.ldms.ldmsd_prdcr_listeners:
    port: 10401
    config:
      - {name: l1-listen, regex: "^(node-1|node-2)$", reconnect: 20s}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - prdcr_listen_add name=compute regex=^node-[0-9]+$ reconnect=2000000
    - prdcr_listen_start name=compute
before:
  description: The prdcr_listeners before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The prdcr_listeners after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: compute
      regex: ^node-[0-9]+$
      ip: null
      quota: -1
      rx_rate: -1
      type: passive
gathered:
  description: The current prdcr_listeners, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: compute
      regex: ^node-[0-9]+$
      ip: null
      quota: -1
      rx_rate: -1
      type: passive
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - prdcr_listen_add name=compute regex=^node-[0-9]+$ reconnect=2000000
    - prdcr_listen_start name=compute
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("prdcr_listeners")


if __name__ == "__main__":
    main()
