# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the LDMS sections of a cluster inventory file and build the model.

An inventory file either holds the LDMS sections inline, or names an existing
LDMS/Maestro cluster file with ``ldms_config`` (relative to itself).
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster, build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import parse_bool


def _resolve(path: str):
    """(cluster file, its data, the data of the file given)."""
    data = load_file(path)
    if isinstance(data, dict) and data.get("ldms_config") is not None:
        reference = data["ldms_config"]
        if not isinstance(reference, str):
            raise ClusterError("%s: ldms_config" % path, "expected a file path")
        target = reference if os.path.isabs(reference) else os.path.join(os.path.dirname(os.path.abspath(path)), reference)
        return target, load_file(target), data
    return os.path.abspath(path), data, data


def strict_setting(data) -> bool:
    """A file's own ``ldms_strict`` (default true)."""
    value = data.get("ldms_strict") if isinstance(data, dict) else None
    return True if value is None else parse_bool(value, "ldms_strict")


def load_cluster(path: str, strict: Optional[bool] = None) -> Tuple[str, Cluster]:
    """Load and validate a cluster file (or an inventory file pointing at one).

    ``strict=False`` turns unknown keys into warnings. Without it, the
    ``ldms_strict`` key of the file given, or of the cluster file it names,
    decides, so that the inventory, render and reconcile agree.
    """
    source, data, given = _resolve(path)
    if strict is None:
        strict = strict_setting(data) and strict_setting(given)
    try:
        return source, build_cluster(data, strict=strict)
    except ClusterError as exc:
        raise ClusterError("%s: %s" % (source, exc.path) if exc.path else source, exc.problem)
    except (RecursionError, MemoryError) as exc:
        raise ClusterError(source, "the cluster file is too large or too deeply nested (%s)" % type(exc).__name__)
