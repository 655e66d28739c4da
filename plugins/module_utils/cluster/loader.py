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


# Values a file may stand for with its aliases followed (a 1,000,000-daemon
# file written out in full stays well under it).
VALUES_MAX = 20000000


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

    def _compose_sized(compose):
        """Count the values a collection stands for once aliases are followed.

        An alias costs nothing to load but everything to walk: a list of ten
        aliases of a list of ten aliases ... (billion laughs) is refused here,
        in memory proportional to the file.
        """

        def composed(self, anchor):
            node = compose(self, anchor)
            children = node.value if isinstance(node.value, list) else []
            size = 1
            for child in children:
                for item in (child if isinstance(child, tuple) else (child,)):
                    size += getattr(item, "hpc_size", 1)
            node.hpc_size = size
            if size > VALUES_MAX:
                mark = node.start_mark
                raise ClusterError("", "line %d column %d: this value stands for more than %d values once YAML aliases are "
                                   "followed" % (mark.line + 1, mark.column + 1, VALUES_MAX))
            return node

        return composed

    ClusterYamlLoader.compose_sequence_node = _compose_sized(yaml.SafeLoader.compose_sequence_node)
    ClusterYamlLoader.compose_mapping_node = _compose_sized(yaml.SafeLoader.compose_mapping_node)


def load_text(text: str, source: str = "<cluster>"):
    """Parse YAML text; a syntax error becomes one ClusterError naming the line."""
    if yaml is None:  # pragma: no cover
        raise ClusterError(source, "PyYAML is required")
    try:
        return yaml.load(text, Loader=ClusterYamlLoader)  # noqa: S506 - SafeLoader subclass
    except ClusterError as exc:
        raise ClusterError(source, exc.problem)
    except RecursionError:
        raise ClusterError(source, "bad YAML: nested too deeply")
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
    except UnicodeDecodeError as exc:
        raise ClusterError(path, "not a text file (byte %d is not UTF-8)" % exc.start)
    return load_text(text, path)
