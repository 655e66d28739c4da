# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile's settings and their defaults: the module's argspec and ``Options`` read them here.

Playbooks and roles pass a setting only when the user set one.
"""

from __future__ import annotations

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import DEFAULT_TIMEOUT

DEFAULTS = {
    "state_dir": "/var/lib/hpc-ldms",
    "dead_after": 2,
    "timeout": DEFAULT_TIMEOUT,  # the client's: one probe is one connection
    "workers": 64,
    # Spent only while sets are missing: after a deploy or a failover, producers reconnect and updaters pull.
    "settle": 30.0,
    # Wait for a run under way rather than skip: a skipped run verifies nothing, and a cron run is not lost.
    "lock_wait": 60.0,
    "state_backend": "file",
    "etcd_endpoints": ["localhost:2379"],
    "etcd_lock_ttl": 300,
}


def default(name: str):
    """The default of one setting (a fresh copy of a list)."""
    value = DEFAULTS[name]
    return list(value) if isinstance(value, list) else value
