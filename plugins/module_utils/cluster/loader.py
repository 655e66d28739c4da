# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a cluster file: safe YAML with anchors and ``<<`` merge keys.

Integers keep the digits they were written with, so ``perm: 0777`` stays
``0777`` instead of YAML 1.1's octal 511.
"""

from __future__ import annotations

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None


class SourceInt(int):
    """An int that remembers the text it was written as."""

    source = None


if yaml is not None:

    class ClusterYamlLoader(yaml.SafeLoader):
        """SafeLoader whose ints carry their source text."""

    def _construct_int(loader, node):
        value = SourceInt(loader.construct_yaml_int(node))
        value.source = node.value
        return value

    ClusterYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_text(text: str, source: str = "<cluster>"):
    """Parse YAML text; a syntax error becomes one ClusterError naming the line."""
    if yaml is None:  # pragma: no cover
        raise ClusterError(source, "PyYAML is required")
    try:
        return yaml.load(text, Loader=ClusterYamlLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " line %d column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ClusterError(source, "bad YAML at%s: %s" % (where, problem))


def load_file(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ClusterError(path, "cannot read the cluster file: %s" % exc.strerror)
    return load_text(text, path)
