# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_advertisers
short_description: Manage the advertisers of a running ldmsd
version_added: 0.1.0
description:
  - Reads the advertisers of a running ldmsd with one status request, compares them with O(config) and sends only
    the commands needed, through LDMS's own Python package.
  - Advertisers are producers of type advertiser in ldmsd; this module manages only those.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.advertisers
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Advertise this sampler to both level-1 aggregators
  hpc.ldms.ldmsd_advertisers:
    port: 10002
    config:
      - {name: sampler-1-agg-1, host: agg-1, port: 10401, reconnect: 20s, auth: munge1}
      - {name: sampler-1-agg-2, host: agg-2, port: 10401, reconnect: 20s, auth: munge1}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - advertiser_add name=sampler-1-to-agg-1 host=agg-1 xprt=sock port=10401 reconnect=2000000 type=advertiser
    - advertiser_start name=sampler-1-to-agg-1
before:
  description: The advertisers before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The advertisers after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: sampler-1-to-agg-1
      host: agg-1
      port: 10401
      xprt: sock
      reconnect: 2000000
      rail: 1
      quota: -1
      rx_rate: -1
      auth: null
gathered:
  description: The current advertisers, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: sampler-1-to-agg-1
      host: agg-1
      port: 10401
      xprt: sock
      reconnect: 2000000
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
    - advertiser_add name=sampler-1-to-agg-1 host=agg-1 xprt=sock port=10401 reconnect=2000000 type=advertiser
    - advertiser_start name=sampler-1-to-agg-1
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("advertisers")


if __name__ == "__main__":
    main()
