# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_producers
short_description: Manage the producers of a running ldmsd
version_added: 0.1.0
description:
  - Reads the producers of a running ldmsd with one status request, compares them with O(config) and sends only
    the commands needed, through LDMS's own Python package.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.producers
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Two samplers on an aggregator
  hpc.ldms.ldmsd_producers:
    host: agg-1
    port: 10401
    config:
      - {name: node-1-10002, host: node-1, port: 10002, type: active, reconnect: 20s}
      - {name: node-2-10002, host: node-2, port: 10002, type: active, reconnect: 20s}

- name: Keep exactly these node producers, leave others alone
  hpc.ldms.ldmsd_producers:
    port: 10401
    state: overridden
    scope: "^node-"
    config:
      - {name: node-1-10002, host: node-1, port: 10002, reconnect: 20s}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - prdcr_add name=sampler-1-sock host=node-1 port=10002 xprt=sock type=active reconnect=20000000
    - prdcr_start name=sampler-1-sock
before:
  description: The producers before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The producers after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: sampler-1-sock
      host: node-1
      port: 10002
      xprt: sock
      type: active
      reconnect: 20000000
      rail: 1
      quota: -1
      rx_rate: -1
      auth: null
gathered:
  description: The current producers, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: sampler-1-sock
      host: node-1
      port: 10002
      xprt: sock
      type: active
      reconnect: 20000000
      rail: 1
      quota: -1
      rx_rate: -1
      auth: null
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - prdcr_add name=sampler-1-sock host=node-1 port=10002 xprt=sock type=active reconnect=20000000
    - prdcr_start name=sampler-1-sock
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("producers")


if __name__ == "__main__":
    main()
