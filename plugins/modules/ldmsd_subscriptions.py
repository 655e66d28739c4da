# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_subscriptions
short_description: Manage the stream and message subscriptions of a running ldmsd's producers
version_added: 0.1.0
description:
  - Sends C(prdcr_subscribe) and C(prdcr_unsubscribe) for the producers whose names match each item's regex.
  - ldmsd 4.5.3 has no subscription status. A stream subscription counts as in place when every producer
    its regex matches reports the stream as subscribed in C(prdcr_stream_status), which happens once a message
    has arrived; otherwise it is sent again, which ldmsd takes as a no-op for producers already subscribed.
    Message-tag subscriptions cannot be observed and are always sent.
  - O(state=deleted) always sends the unsubscribe. O(state=replaced) and O(state=overridden) are refused,
    because unlisted subscriptions cannot be found.
extends_documentation_fragment:
  - hpc.ldms.connection
  - hpc.ldms.connection.resource
  - hpc.ldms.kinds.subscriptions
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Forward the kokkos stream from every node producer
  hpc.ldms.ldmsd_subscriptions:
    host: agg-1
    port: 10401
    config:
      - {stream: kokkos-perf-data, regex: "^node-"}
"""

RETURN = r"""
commands:
  description: The commands sent, or that would be sent in check mode, as ldmsd config-file lines.
  returned: always
  type: list
  elements: str
  sample:
    - prdcr_subscribe stream=kokkos regex=.*
before:
  description: The subscriptions before the run.
  returned: when connected
  type: list
  elements: dict
  sample: []
after:
  description: The subscriptions after the run (predicted in check mode).
  returned: when connected
  type: list
  elements: dict
  sample:
    - stream: kokkos
      regex: ^(sampler-1-sock)$
gathered:
  description: The current subscriptions, in the item form O(config) takes.
  returned: with O(state=gathered)
  type: list
  elements: dict
  sample:
    - stream: kokkos
      regex: ^(sampler-1-sock)$
rendered:
  description: The commands that create the items, offline.
  returned: with O(state=rendered)
  type: list
  elements: str
  sample:
    - prdcr_subscribe stream=kokkos regex=.*
"""

from ansible_collections.hpc.ldms.plugins.module_utils.apply.module_runner import run


def main():
    run("subscriptions")


if __name__ == "__main__":
    main()
