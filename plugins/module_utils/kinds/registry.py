# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every ldmsd object kind, in the one order they are created and applied.

Samplers and advertisers come first (a sampler daemon has only these),
producers before what uses them (listeners, subscriptions, updaters), and
storage policies last, once updaters pull what they store.
"""

from __future__ import annotations

from typing import Dict

from ansible_collections.hpc.ldms.plugins.module_utils.kinds.advertisers import Advertisers
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Kind
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.plugins import AggregatorPlugins, Samplers
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.prdcr_listeners import PrdcrListeners
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.producers import Producers
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.storage_policies import StoragePolicies
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.subscriptions import Subscriptions
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.updaters import Updaters

KINDS: Dict[str, Kind] = {kind.name: kind for kind in (
    Samplers(), Advertisers(), Producers(), PrdcrListeners(), Subscriptions(), AggregatorPlugins(), Updaters(),
    StoragePolicies(),
)}
ORDER = tuple(KINDS)
# What a daemon that aggregates nothing runs.
SAMPLER_KINDS = ("samplers", "advertisers")
