# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: render_config
short_description: Render ldmsd config files for a whole LDMS cluster
version_added: 0.1.0
description:
  - Reads an LDMS/Maestro cluster file, balances each aggregator group and writes C(<daemon>.conf) for every
    daemon plus C(topology.md) into O(dest), in one task on the controller.
  - Files whose content is unchanged are not rewritten; a second run reports C(changed=false).
  - The files are ldmsd v4 config files for C(ldmsd -c FILE). They use the command vocabulary and order of
    LDMS's own C(ldmsd_yaml_parser), without its bugs (pull updaters stay pull; C(rail), C(quota) and
    C(rx_rate) are kept; no duplicate C(load) lines; hostlists pair in the order written).
  - This is an action plugin; it runs on the controller only.
options:
  src:
    description: The cluster file, or an inventory file of the P(hpc.ldms.cluster#inventory) plugin.
    type: path
    required: true
  dest:
    description: Directory to write into. It is created when missing.
    type: path
    required: true
  prune:
    description: Remove C(.conf) files that an earlier render wrote for daemons no longer in the cluster.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reports the files that would be written, and writes none.
    support: full
  diff_mode:
    description:
      - In check mode, a unified diff of each file that would change or be removed against its content on disk
        (the first 20 files); nothing is written.
      - Otherwise the new content of the files written (the first 20).
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Render every daemon's config
  hpc.ldms.render_config:
    src: "{{ ldms_cluster_file }}"
    dest: /etc/ldms/rendered
"""

RETURN = r"""
written:
  description: Number of files written (in check mode, that would be written; none are).
  returned: always
  type: int
  sample:
    16
    ...
unchanged:
  description: Number of files already up to date.
  returned: always
  type: int
  sample:
    0
    ...
removed:
  description: Stale files removed.
  returned: always
  type: list
  elements: str
  sample:
    - sampler-11.conf
source:
  description: The file the LDMS sections were read from.
  returned: always
  type: str
  sample:
    /etc/ldms/cluster.yaml
    ...
summary:
  description: A short human summary of the cluster and the balance.
  returned: always
  type: list
  elements: str
  sample:
    - '15 daemons: 10 samplers, 5 aggregators, 3 storage policies'
    - 'L1 l1-agg-[1-4]: 10 producers over 4 aggregators (2-3 each)'
    - 'L2 l2-agg: 4 producers over 1 aggregators (4-4 each)'
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"src": {"type": "path", "required": True},
                                          "dest": {"type": "path", "required": True},
                                          "prune": {"type": "bool", "default": True}},
                           supports_check_mode=True)
    module.fail_json(msg="hpc.ldms.render_config runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
