# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_updaters
short_description: Manage the updaters of a running ldmsd
version_added: 0.1.0
description:
  - Reads the updaters of a running ldmsd with one status request, compares them with O(config) and sends only
    the commands needed, through LDMS's own Python package.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.updaters
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Pull every set once a second
  hpc.ldms.ldmsd_updaters:
    port: 10401
    config:
      - name: all
        interval: 1s
        offset: 100ms
        producers: [".*"]
        sets:
          - {regex: meminfo, field: schema}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - updtr_add name=all interval=1000000 offset=100000
    - updtr_prdcr_add name=all regex=^sampler-1-sock$
    - updtr_start name=all
before:
  description: The updaters before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The updaters after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: all
      interval: 1000000
      offset: 100000
      mode: pull
      producers:
      - ^sampler\-1\-sock$
      sets: []
gathered:
  description: The current updaters, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: all
      interval: 1000000
      offset: 100000
      mode: pull
      producers:
      - ^sampler\-1\-sock$
      sets: []
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - updtr_add name=all interval=1000000 offset=100000
    - updtr_prdcr_add name=all regex=^sampler-1-sock$
    - updtr_start name=all
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("updaters")


if __name__ == "__main__":
    main()
