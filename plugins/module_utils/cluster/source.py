# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the LDMS sections of a cluster inventory file and build the model.

An inventory file either holds the LDMS sections inline, or names an existing
LDMS/Maestro cluster file with ``ldms_config`` (relative to itself).
"""

from __future__ import annotations

import os
from typing import Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster, build_cluster


def resolve_cluster_file(path: str) -> Tuple[str, dict]:
    """Return (the file holding the LDMS sections, its loaded data)."""
    data = load_file(path)
    if isinstance(data, dict) and data.get("ldms_config") is not None:
        reference = data["ldms_config"]
        if not isinstance(reference, str):
            raise ClusterError("%s: ldms_config" % path, "expected a file path")
        target = reference if os.path.isabs(reference) else os.path.join(os.path.dirname(os.path.abspath(path)), reference)
        return target, load_file(target)
    return os.path.abspath(path), data


def load_cluster(path: str, strict: bool = True) -> Tuple[str, Cluster]:
    """Load and validate a cluster file (or an inventory file pointing at one).

    ``strict=False`` turns unknown keys into warnings.
    """
    source, data = resolve_cluster_file(path)
    try:
        return source, build_cluster(data, strict=strict)
    except ClusterError as exc:
        raise ClusterError("%s: %s" % (source, exc.path) if exc.path else source, exc.problem)
    except (RecursionError, MemoryError) as exc:
        raise ClusterError(source, "the cluster file is too large or too deeply nested (%s)" % type(exc).__name__)
