# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The items of each resource module, documented from the kinds registry (one fragment per kind)."""

from __future__ import annotations

import json

from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS


def _fragment(kind) -> str:
    # JSON is YAML: the options of O(config), merged into the resource fragment's.
    return json.dumps({"options": {"config": {"suboptions": kind.doc_options()}}}, indent=1)


class ModuleDocFragment:
    pass


for _name, _kind in KINDS.items():
    setattr(ModuleDocFragment, _name.upper(), _fragment(_kind))
