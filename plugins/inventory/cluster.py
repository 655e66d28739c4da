# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster
short_description: LDMS cluster file as an inventory
version_added: 0.1.0
description:
  - Reads an LDMS/Maestro cluster file (current LDMS 4.4/4.5 form or the legacy Maestro form) and makes one
    inventory host per ldmsd daemon, named after the daemon, with C(ansible_host) set to its host.
  - Groups are C(ldms_daemons) (every daemon), C(ldms_samplers), C(ldms_aggregators), C(ldms_level_1),
    C(ldms_level_2), ... by aggregation level, and one C(ldms_group_<name>) per aggregator group (its
    C(daemons) string with every character other than letters, digits and C(_) turned into C(_)).
  - Each host carries C(ldms_level), C(ldms_role), C(ldms_daemon) (its name, for C(compose)), C(ldms_groups)
    (the aggregator groups it serves), C(ldms_control), the endpoint used to configure it, and
    C(ldms_cluster_file), the path of the cluster file.
  - C(ldms_plan), the desired configuration of the host (C(prelude), the start-up lines, and the runtime objects
    in the item form of the hpc.ldms.ldmsd_* modules), is computed when a task reads it, by the
    P(hpc.ldms.ldmsd_plan#filter) filter; so a large cluster stays cheap to load as an inventory.
  - A cluster file that fails validation, or cannot be read at all, stops Ansible with one error naming the file
    and the YAML path, instead of the usual warning and an empty inventory.
  - Where the reconcile (hpc.ldms.reconcile, hpc.ldms.ldms_reconcile) has saved a producer assignment, the
    plans use it instead of a fresh balance, so a deployment after a failover configures what the reconcile
    chose and the two never move producers against each other. The state is found from O(state_dir)
    or O(state_backend)=etcd, else from C(ldms_state_dir)/C(ldms_state_backend)/C(ldms_etcd_endpoints)/
    C(ldms_etcd_prefix) in O(vars).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [hpc.ldms.cluster]
  ldms_config:
    description:
      - Path of an existing LDMS/Maestro cluster file, relative to this inventory file.
      - Without it, the LDMS sections are read from this file itself.
    type: path
  ldms_strict:
    description:
      - Unknown keys in the cluster file (typos such as C(intervall) or a top-level C(sampler)) are errors, with a
        "did you mean" suggestion. Set to C(false) to turn them into warnings; the keys are then ignored.
      - Named C(ldms_strict) because C(strict) already belongs to the constructed options (errors in C(compose)).
      - The render and reconcile playbooks read the cluster file itself; with C(ldms_config), set C(ldms_strict) in
        that file (a top-level key it may hold) so that they agree. C(false) in either file applies.
    type: bool
    default: true
  state_dir:
    description:
      - Directory of the reconcile's state file (its C(state_dir)). Defaults to C(ldms_state_dir) of O(vars).
    type: path
    env:
      - name: HPC_LDMS_STATE_DIR
  state_backend:
    description:
      - Where the reconcile keeps its state. Defaults to C(ldms_state_backend) of O(vars), else the default of
        M(hpc.ldms.ldms_reconcile).
    type: str
    choices: [file, etcd]
  etcd_endpoints:
    description:
      - etcd endpoints (host:port) of the C(etcd) backend. Defaults to C(ldms_etcd_endpoints) of O(vars), else the
        default of M(hpc.ldms.ldms_reconcile).
    type: list
    elements: str
  etcd_prefix:
    description: Key prefix of the C(etcd) backend. Defaults to C(ldms_etcd_prefix) of O(vars), else one per cluster file.
    type: str
  vars:
    description: Variables given to every host.
    type: dict
    default: {}
  daemons:
    description: Inline LDMS C(daemons) section.
    type: raw
  aggregators:
    description: Inline LDMS C(aggregators) section.
    type: raw
  samplers:
    description: Inline LDMS C(samplers) section.
    type: raw
  plugins:
    description: Inline LDMS C(plugins) section.
    type: raw
  stores:
    description: Inline LDMS C(stores) section.
    type: raw
"""

EXAMPLES = r"""
# cluster.yaml: reuse an existing Maestro file unchanged
plugin: hpc.ldms.cluster
ldms_config: ldms_cfg.yaml
vars:
  ldms_deploy_mode: podman
keyed_groups:
  - key: ldms_level
    prefix: level

---
# cluster.yaml: the LDMS sections inline
plugin: hpc.ldms.cluster
daemons:
  - names: "sampler-[1-4]"
    hosts: "node-[1-4]"
    endpoints:
      - names: "node-[1-4]-411"
        ports: 411
samplers:
  - daemons: "sampler-[1-4]"
    plugins: [meminfo1]
plugins:
  meminfo1:
    name: meminfo
    interval: 1s
"""

import contextlib
import re

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.host import Host
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.template import trust_as_template
from ansible.utils.display import Display
from ansible.utils.path import basedir
from ansible.utils.vars import validate_variable_name

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.source import load_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.defaults import default as reconcile_default
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import StateError, saved_assignments
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import control_of
from ansible_collections.hpc.ldms.plugins.module_utils.render.plan_cache import loaded_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import collector_paused

display = Display()
TOP_LEVEL_KEY = re.compile(rb"^([A-Za-z_]+)[ \t]*:", re.M)
PLUGIN_KEY = re.compile(rb"^plugin[ \t]*:[ \t]*['\"]?(hpc\.ldms\.)?cluster['\"]?[ \t]*(#.*)?$", re.M)
NAME = "hpc.ldms.cluster"
# Computed when a task reads it: planning every daemon of a large cluster up
# front would cost every playbook seconds, whether it needs the plans or not.
PLAN_TEMPLATE = trust_as_template("{{ ldms_cluster_file | hpc.ldms.ldmsd_plan(ldms_daemon) }}")


def plain_control(daemon):
    """The control endpoint with plain ints (the YAML loader's int subclass stays out of host variables)."""
    control = control_of(daemon)
    if control is not None and isinstance(control["port"], int):
        control["port"] = int(control["port"])
    return control


@contextlib.contextmanager
def source_variables(inventory):
    """inventory_file and inventory_dir, for the caller to set on each host it adds.

    add_host works inventory_dir out again for every host (a stat each) while
    the inventory's source is set: at 30,000 hosts that is a large part of the
    inventory. Ansible's values, computed once.
    """
    source = inventory.current_source
    inventory.current_source = None
    try:
        yield {"inventory_file": source, "inventory_dir": basedir(source) if source else None}
    finally:
        inventory.current_source = source


def group_name(key: str) -> str:
    return "ldms_group_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = NAME

    def verify_file(self, path):
        """A YAML file, unless it is plainly another inventory: Ansible's YAML form (a top-level
        ``all:``) or another plugin's file, with no ``daemons:``. Any other file is read, so that
        a broken cluster file gets this plugin's error."""
        if not (super().verify_file(path) and path.endswith((".yml", ".yaml"))):
            return False
        try:
            with open(path, "rb") as stream:
                text = stream.read()
        except OSError:
            return True  # parse() says what is wrong
        keys = set(TOP_LEVEL_KEY.findall(text))
        if b"daemons" in keys:
            return True
        return b"all" not in keys and (b"plugin" not in keys or PLUGIN_KEY.search(text) is not None)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        # Ansible turns any inventory error into a warning and goes on with no
        # hosts; a broken cluster file must stop the run instead, with one error.
        try:
            try:
                self._read_config_data(path)
            except Exception:
                load_cluster(path)  # names the file and YAML path when it can tell what is wrong
                raise
            # Loading and adding hosts make no cycles; collections would walk it all again and again.
            with collector_paused():
                loaded = loaded_cluster(path, strict=None if self.get_option("ldms_strict") else False)
                source, cluster = loaded.source, loaded.cluster
                loaded.use_assignments(self.saved_assignments(source))
                for warning in cluster.warnings:
                    display.warning("%s: %s" % (source, warning))
                self.populate(cluster, source)
        except ClusterError as exc:
            display.error("%s: %s" % (NAME, exc))
            raise SystemExit(1)
        except Exception as exc:  # noqa: BLE001 - never an empty inventory after an internal error
            display.error("%s: %s: %s: %s" % (NAME, path, type(exc).__name__, exc))
            raise SystemExit(1)

    def saved_assignments(self, source):
        """The reconcile's saved assignment, from this file's options or its vars; {} when there is none."""
        common = self.get_option("vars") or {}

        def setting(option, variable, default=None):
            value = self.get_option(option)
            return value if value not in (None, "", []) else common.get(variable, default)

        try:
            return saved_assignments(source, state_dir=setting("state_dir", "ldms_state_dir"),
                                     backend=setting("state_backend", "ldms_state_backend",
                                                     reconcile_default("state_backend")),
                                     etcd_endpoints=setting("etcd_endpoints", "ldms_etcd_endpoints",
                                                            reconcile_default("etcd_endpoints")),
                                     etcd_prefix=setting("etcd_prefix", "ldms_etcd_prefix"),
                                     warn=lambda message: display.warning("%s: %s" % (source, message)))
        except StateError as exc:
            raise AnsibleParserError("%s: the reconcile's saved assignment cannot be read: %s" % (NAME, exc))

    def populate(self, cluster, source):
        inventory = self.inventory
        for group in ("ldms_daemons", "ldms_samplers", "ldms_aggregators"):
            inventory.add_group(group)
        # Shared by every daemon: one group variable each.
        inventory.set_variable("ldms_daemons", "ldms_cluster_file", source)
        inventory.set_variable("ldms_daemons", "ldms_plan", PLAN_TEMPLATE)
        sampler_names = set(cluster.sampler_daemons())
        levels = cluster.levels()
        served = {}
        for group in cluster.aggregators:
            for name in group.daemons:
                served.setdefault(name, []).append(group.key)
        for level in sorted(set(levels.values()) - {0}):
            inventory.add_group("ldms_level_%d" % level)
        for key in dict.fromkeys(key for keys in served.values() for key in keys):
            inventory.add_group(group_name(key))
        groups = inventory.groups
        common_vars = self.get_option("vars") or {}
        for key in common_vars:
            validate_variable_name(key)
        strict = self.get_option("strict")
        constructed = any(self.get_option(option) for option in ("compose", "groups", "keyed_groups"))
        with source_variables(inventory) as source_vars:
            for name, daemon in cluster.daemons.items():
                level = levels[name]
                role = "aggregator" if level else ("sampler" if name in sampler_names else "daemon")
                host_vars = dict(common_vars)
                host_vars.update(ansible_host=daemon.host, ldms_daemon=name, ldms_role=role, ldms_level=level,
                                 ldms_groups=served.get(name, []), ldms_control=plain_control(daemon))
                host = inventory.hosts.get(name)
                if host is None:
                    if name in C.LOCALHOST:  # add_host records it as the inventory's localhost
                        inventory.add_host(name)
                        host = inventory.hosts[name]
                    else:
                        # What add_host does for a new name, less its two set_variable calls
                        # (inventory_file and inventory_dir), which source_vars set here.
                        host = inventory.hosts[name] = Host(name)
                    host.vars.update(source_vars)
                # Straight into the host's variables: inventory.set_variable costs
                # 25-150 us per value in tagging and copying, seconds at 30,000
                # hosts. The names are valid and the values plain data, never templates.
                host.vars.update(host_vars)
                # Group.add_host straight away: inventory.add_child looks both
                # names up and logs each time, a tenth of a second at 30,000 hosts.
                groups["ldms_daemons"].add_host(host)
                if name in sampler_names:
                    groups["ldms_samplers"].add_host(host)
                if level:
                    groups["ldms_aggregators"].add_host(host)
                    groups["ldms_level_%d" % level].add_host(host)
                for key in served.get(name, ()):
                    groups[group_name(key)].add_host(host)
                if constructed:
                    host_vars.update(ldms_cluster_file=source)
                    self.construct(name, host_vars, strict)
        if cluster.daemons:
            # Adding a member again changes nothing but drops the inventory's
            # cached group lists, which the Group.add_host calls above bypassed.
            inventory.add_child("ldms_daemons", next(iter(cluster.daemons)))

    def construct(self, name, all_vars, strict):
        try:
            self._set_composite_vars(self.get_option("compose"), all_vars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), all_vars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), all_vars, name, strict=strict)
        except Exception as exc:
            raise AnsibleParserError("%s: constructed options failed for %s: %s" % (NAME, name, exc))
