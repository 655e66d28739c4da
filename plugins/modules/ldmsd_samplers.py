# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_samplers
short_description: Manage the sampler plugin instances of a running ldmsd
version_added: 0.1.0
description:
  - Reads the sampler plugin instances of a running ldmsd (C(plugn_status), C(plugn_sets), and the schedule
    ldmsd writes into each set's C(updt_hint_us) info, read with an LDMS dir), compares them with O(config)
    and sends only the commands needed (C(load) with C(plugin=), C(config), C(start), C(stop), C(term)).
  - A changed interval or offset restarts only that instance (stop, start); a changed plugin re-creates it.
  - ldmsd 4.5.3 does not report an instance's config, so a changed C(config) of an item is not detected;
    delete the instance and merge it again to apply one.
  - An instance counts as stopped when its sets saw no sample for three intervals plus five seconds.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.samplers
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Sample memory every second, two vmstat instances at different rates
  hpc.ldms.ldmsd_samplers:
    host: node-1
    port: 10002
    config:
      - name: meminfo
        interval: 1s
        config: {producer: node-1, instance: node-1/meminfo, component_id: 1}
      - name: vmstat_fast
        plugin: vmstat
        interval: 100ms
        config: {producer: node-1, instance: node-1/vmstat_fast}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - load name=meminfo1 plugin=meminfo
    - config name=meminfo1 producer=sampler-1 instance=sampler-1/meminfo1
    - start name=meminfo1 interval=1000000
before:
  description: The sampler plugin instances before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The sampler plugin instances after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: meminfo1
      plugin: meminfo
      interval: 1000000
      offset: null
gathered:
  description: The current sampler plugin instances, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: meminfo1
      plugin: meminfo
      interval: 1000000
      offset: null
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - load name=meminfo1 plugin=meminfo
    - config name=meminfo1 producer=sampler-1 instance=sampler-1/meminfo1
    - start name=meminfo1 interval=1000000
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("samplers")


if __name__ == "__main__":
    main()
