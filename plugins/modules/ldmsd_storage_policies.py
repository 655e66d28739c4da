# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_storage_policies
short_description: Manage the storage policies of a running ldmsd
version_added: 0.1.0
description:
  - Reads the storage policies of a running ldmsd with one status request, compares them with O(config) and sends only
    the commands needed, through LDMS's own Python package.
  - A store plugin instance that is not loaded yet is loaded and configured before the first policy using it.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.storage_policies
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Store meminfo as CSV
  hpc.ldms.ldmsd_storage_policies:
    port: 10104
    config:
      - name: csv-meminfo
        plugin: csv
        plugin_config: {plugin: store_csv, path: /var/lib/ldms/csv, buffer: 0}
        container: ldms_data
        schema: meminfo
        flush: 10s
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - load name=csv plugin=store_csv
    - config name=csv path=/var/lib/ldms/csv
    - strgp_add name=csv-meminfo plugin=csv container=store schema=meminfo flush=1000000
    - strgp_start name=csv-meminfo
before:
  description: The storage policies before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The storage policies after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - name: csv-meminfo
      plugin: store_csv
      container: store
      schema: meminfo
      regex: null
      decomposition: null
      flush: 1000000
      producers: []
      metrics:
      - MemTotal
      - MemFree
gathered:
  description: The current storage policies, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - name: csv-meminfo
      plugin: store_csv
      container: store
      schema: meminfo
      regex: null
      decomposition: null
      flush: 1000000
      producers: []
      metrics:
      - MemTotal
      - MemFree
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - load name=csv plugin=store_csv
    - config name=csv path=/var/lib/ldms/csv
    - strgp_add name=csv-meminfo plugin=csv container=store schema=meminfo flush=1000000
    - strgp_start name=csv-meminfo
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("storage_policies")


if __name__ == "__main__":
    main()
