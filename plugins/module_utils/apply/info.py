# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything a running ldmsd says about itself, in one read-only pass."""

from __future__ import annotations

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient, LdmsdError

try:
    import jmespath
except ImportError:  # reported by the module that needs it
    jmespath = None


def gather_info(client: LdmsdClient) -> dict:
    """Version, status, objects and sets, as ldmsd reports them (replies parsed, not reshaped)."""
    producers = client.status("prdcr_status")
    own_sets = [name for entry in client.status("plugn_sets") for name in entry.get("sets", [])]
    pulled = [entry["inst_name"] for entry in client.status("prdcr_set_status")]
    return {
        "version": client.status("version"),
        "daemon_status": client.status("daemon_status"),
        "producers": producers,
        "updaters": client.status("updtr_status"),
        "storage_policies": client.status("strgp_status"),
        "plugins": client.status("plugn_status"),
        "sets": sorted(set(own_sets) | set(pulled)),
    }


def compile_query(expression: str):
    """A JMESPath expression over ``gather_info``'s result, checked before any request is sent."""
    if jmespath is None:
        raise LdmsdError("query needs the Python package jmespath on the host running the module")
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise LdmsdError("query %r is not a valid JMESPath expression: %s" % (expression, exc))
