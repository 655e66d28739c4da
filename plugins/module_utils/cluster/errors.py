# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the cluster model: a YAML path and what is wrong there."""

from __future__ import annotations


class ClusterError(ValueError):
    """Bad cluster input. ``str()`` is ``<yaml path>: <problem>``."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__("%s: %s" % (path, problem) if path else problem)
