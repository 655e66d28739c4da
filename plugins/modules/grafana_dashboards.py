# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_dashboards
short_description: Generate Grafana dashboards for an LDMS cluster from its cluster file
version_added: 0.1.0
description:
  - One dashboard per SOS container and schema that a storage policy writes (C(store_sos)); its panels query that
    container and schema through the ldms-grafana SOS data source (C(dsosds)), with template variables for the
    container, the schema, the component (C(component_id) filter, labelled with the host where the cluster file
    sets a component_id) and the metrics.
  - One overview dashboard per aggregator group, with the group's members, producers, updaters and stores, a panel
    per SOS schema it carries and, given O(prometheus_uid), the reconcile's health metrics of the group.
  - Built with grafana-foundation-sdk, in the current Grafana dashboard schema. Output is deterministic; with
    O(dest), unchanged files are not rewritten.
  - This is an action plugin; it runs on the controller only.
options:
  src:
    description: The cluster file, or an inventory file of the P(hpc.ldms.cluster#inventory) plugin.
    type: path
    required: true
  dest:
    description: Directory to write the dashboards into; without it they are only returned.
    type: path
  datasource_uid:
    description: The uid of the SOS data source (the P(hpc.ldms.grafana#role) role provisions C(hpc-ldms-sos)).
    type: str
    default: hpc-ldms-sos
  prometheus_uid:
    description: The uid of a Prometheus data source that scrapes the reconcile's metrics; empty leaves its panels out.
    type: str
    default: ""
  prune:
    description: Remove C(hpc-ldms-*.json) files in O(dest) that are no longer generated.
    type: bool
    default: true
requirements:
  - grafana-foundation-sdk (on the controller)
attributes:
  check_mode:
    description: Reports the files that would be written or removed, and touches none.
    support: full
  diff_mode:
    description: Shows the new content of changed dashboards (the first 20).
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Write the dashboards
  hpc.ldms.grafana_dashboards:
    src: "{{ ldms_cluster_file }}"
    dest: /srv/grafana/dashboards
"""

RETURN = r"""
dashboards:
  description: File name to dashboard JSON text.
  returned: always
  type: dict
written:
  description: Files written (or that would be written in check mode).
  returned: with dest
  type: list
  elements: str
removed:
  description: Stale generated files removed.
  returned: with dest
  type: list
  elements: str
source:
  description: The file the LDMS sections were read from.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"src": {"type": "path", "required": True}, "dest": {"type": "path"},
                                          "datasource_uid": {"type": "str", "default": "hpc-ldms-sos"},
                                          "prometheus_uid": {"type": "str", "default": ""},
                                          "prune": {"type": "bool", "default": True}},
                           supports_check_mode=True)
    module.fail_json(msg="hpc.ldms.grafana_dashboards runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
