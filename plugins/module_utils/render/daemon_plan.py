# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired configuration of each daemon, from the model and a balance.

A ``DaemonPlan`` holds the start-up lines (env, options, auth domains,
listeners) and the runtime objects as items in the form the resource modules
take (keys are ldmsd attribute names). The config file, the inventory's
hostvars and the live modules all work from these same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import BalanceResult, balance
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import (
    COMPONENT_ID_ENV,
    DEFAULT_COMPONENT_ID,
    AggregatorGroup,
    Auth,
    Cluster,
    Daemon,
    PluginInstance,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import exact_names_regex
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command


@dataclass
class DaemonPlan:
    name: str
    host: str
    level: int  # 0 = sampler only
    groups: List[str] = field(default_factory=list)  # aggregator groups it serves
    control: Optional[dict] = None
    startup: List[Command] = field(default_factory=list)
    auths: Dict[str, Auth] = field(default_factory=dict)  # every domain it uses, by name
    # The objects, by kind (the registry's order).
    samplers: List[dict] = field(default_factory=list)
    advertisers: List[dict] = field(default_factory=list)
    producers: List[dict] = field(default_factory=list)
    prdcr_listeners: List[dict] = field(default_factory=list)
    subscriptions: List[dict] = field(default_factory=list)
    aggregator_plugins: List[dict] = field(default_factory=list)
    updaters: List[dict] = field(default_factory=list)
    storage_policies: List[dict] = field(default_factory=list)

    def objects(self) -> Dict[str, List[dict]]:
        return {kind: getattr(self, kind) for kind in KINDS}


def auth_command(auth: Auth) -> Command:
    return Command.make("auth_add", ("name", auth.name), ("plugin", auth.plugin), *auth.options)


def control_of(daemon: Daemon) -> Optional[dict]:
    endpoint = daemon.control_endpoint
    if endpoint is None:
        return None
    control = {"host": endpoint.host, "port": endpoint.port, "xprt": endpoint.xprt,
               "auth": endpoint.auth.plugin if endpoint.auth else "none"}
    if endpoint.auth and endpoint.auth.options:
        control["auth_opts"] = dict(endpoint.auth.options)
    return control


def _listen_command(xprt: str, port, auth: Optional[str], host: Optional[str]) -> Command:
    attrs = (("xprt", xprt), ("port", str(port)))  # built directly: one per daemon when hosts differ
    if auth is not None:
        attrs += (("auth", auth),)
    if host is not None:
        attrs += (("host", host),)
    return Command("listen", attrs)


def group_assignments(cluster: Cluster, previous: Optional[Dict[str, Dict[str, str]]] = None,
                      alive: Optional[Dict[str, bool]] = None,
                      saved: Optional[Dict[str, Dict[str, str]]] = None) -> Dict[str, dict]:
    """Balance every aggregator group: group key -> balance result.

    A group whose ``saved`` assignment (the reconcile's) places exactly its
    producers on its own aggregators keeps it as is, so a deployment and
    the reconcile never move producers against each other.
    """
    results = {}
    for group in cluster.aggregators:
        kept = (saved or {}).get(group.key) or {}
        producers = [p.name for p in group.producers]
        if kept and set(kept) == set(producers) and set(kept.values()) <= set(group.daemons):
            results[group.key] = BalanceResult(assignment={name: kept[name] for name in producers})
            continue
        status = {name: (alive or {}).get(name, True) for name in group.daemons}
        results[group.key] = balance([p.name for p in group.producers], status,
                                     previous=(previous or {}).get(group.key))
    return results


def _names_daemon(instance: PluginInstance) -> bool:
    """Whether the instance's item depends on the daemon (it gets the default producer and instance)."""
    first_dict = next((item for item in instance.config if isinstance(item, dict)), None)
    if first_dict is None:
        return not instance.config
    return "producer" not in first_dict or "instance" not in first_dict


def _sampler_item(instance: PluginInstance, daemon: str, sampler: bool = True) -> dict:
    config = [dict(item) if isinstance(item, dict) else item for item in instance.config]
    first_dict = next((item for item in config if isinstance(item, dict)), None)
    if first_dict is None and not config:
        first_dict = {}
        config.append(first_dict)
    if first_dict is not None:
        # Without these the set would have no producer or instance name.
        first_dict.setdefault("producer", daemon)
        first_dict.setdefault("instance", "%s/%s" % (daemon, instance.key))
        if sampler and not any(isinstance(item, dict) and "component_id" in item for item in config) \
                and not any(isinstance(item, str) and "component_id=" in item for item in config):
            # Without it every row says 0; each deploy mode sets COMPID per daemon.
            first_dict["component_id"] = DEFAULT_COMPONENT_ID
    item = {"name": instance.key, "plugin": instance.plugin, "config": config}
    if instance.interval is not None:
        item["interval"] = instance.interval
    if instance.offset is not None:
        item["offset"] = instance.offset
    return item


def _store_plugin_config(instance: PluginInstance, path: str) -> dict:
    merged = {"plugin": instance.plugin}
    for index, item in enumerate(instance.config):
        if not isinstance(item, dict):
            raise ClusterError("%s.config[%d]" % (instance.path, index),
                               "a store plugin's config must be mappings (used by %s)" % path)
        merged.update(item)
    return merged


def _index(pairs) -> Dict[object, list]:
    index: Dict[object, list] = {}
    for key, value in pairs:
        index.setdefault(key, []).append(value)
    return index


class Planner:
    def __init__(self, cluster: Cluster, assignments: Dict[str, dict]):
        self.cluster = cluster
        self.assignments = assignments
        self.levels = cluster.levels()
        # COMPID: the daemon's position in the cluster file (1, 2, ...), unique and
        # kept while daemons are only appended; the file's environment may set it.
        self.component_ids = {name: position for position, name in enumerate(cluster.daemons, 1)}
        # Membership indexes: scanning every group's daemon list per daemon
        # is quadratic at 30,000 daemons.
        self.sampler_groups = _index((name, group) for group in cluster.samplers for name in group.daemons)
        self.aggregator_groups = _index((name, group) for group in cluster.aggregators for name in group.daemons)
        self.policies = _index((name, policy) for policy in cluster.stores for name in policy.daemons)
        self.producers_of = _index(((group.key, assignments[group.key].assignment.get(producer.name)), producer)
                                   for group in cluster.aggregators for producer in group.producers)
        # Items that do not name their daemon are made once and shared by
        # every daemon that loads them; their config lines are rendered once.
        self.shared_items: Dict[tuple, Optional[dict]] = {}  # None: the item names its daemon
        self.shared_commands: Dict[tuple, Command] = {}
        self.shared_lines: Dict[int, List[str]] = {}
        self.group_samplers: Dict[int, Optional[List[dict]]] = {}  # by id(group); None: an item names its daemon

    def plugin_item(self, kind: str, instance: PluginInstance, daemon: str) -> dict:
        """The sampler or aggregator plugin item of one instance on one daemon (read-only: it may be shared)."""
        key = (kind, instance.key)
        try:
            item = self.shared_items[key]
        except KeyError:
            item = self.shared_items[key] = (None if _names_daemon(instance)
                                             else _sampler_item(instance, daemon, KINDS[kind].samples))
            if item is not None:
                self.shared_lines[id(item)] = [command.text() for command in KINDS[kind].create_commands([item])]
        return _sampler_item(instance, daemon, KINDS[kind].samples) if item is None else item

    def plan(self, name: str) -> DaemonPlan:
        daemon = self.cluster.daemons[name]
        plan = DaemonPlan(name=name, host=daemon.host, level=self.levels[name], control=control_of(daemon))
        self.startup(plan, daemon)
        for group in self.sampler_groups.get(name, ()):
            self.sampler_part(plan, daemon, group)
        for group in self.aggregator_groups.get(name, ()):
            plan.groups.append(group.key)
            self.aggregator_part(plan, daemon, group)
        self.stores(plan)
        return plan

    def use_auth(self, plan: DaemonPlan, auth: Optional[Auth]) -> Optional[str]:
        if auth is None:
            return None
        known = plan.auths.get(auth.name)
        if known is not None and known != auth:
            raise ClusterError(plan.name, "auth domain %r is defined twice with different settings" % auth.name)
        plan.auths[auth.name] = auth
        return auth.name

    def startup(self, plan: DaemonPlan, daemon: Daemon):
        if not any(key == COMPONENT_ID_ENV for key, _value in daemon.environment):
            plan.startup.append(Command("env", ((COMPONENT_ID_ENV, str(self.component_ids[daemon.name])),)))
        for key, value in daemon.environment:
            plan.startup.append(Command("env", (("%s" % key, value),)))
        for key, value in daemon.options:
            if isinstance(value, dict):
                plan.startup.append(Command.make(key, *value.items()))
            elif value is None:
                plan.startup.append(Command(key))
            else:
                plan.startup.append(Command("option", (("--%s" % key, None), (str(value), None))))
        if daemon.stream_enable:
            plan.startup.append(self.shared_command(("stream_enable",), Command, "stream_enable"))
        if daemon.msg_enable:
            plan.startup.append(self.shared_command(("msg_enable",), Command, "msg_enable"))
        listened = set()
        for endpoint in daemon.endpoints:
            key = (endpoint.xprt, str(endpoint.port), endpoint.listen_host)
            if key in listened:
                continue
            listened.add(key)
            if endpoint.auth and endpoint.auth.name not in plan.auths:
                self.use_auth(plan, endpoint.auth)
                plan.startup.append(self.shared_command(("auth", endpoint.auth), auth_command, endpoint.auth))
            auth_name = endpoint.auth.name if endpoint.auth else None
            plan.startup.append(self.shared_command(
                ("listen", endpoint.xprt, endpoint.port, auth_name, endpoint.listen_host), _listen_command,
                endpoint.xprt, endpoint.port, auth_name, endpoint.listen_host))

    def shared_command(self, key: tuple, make: Callable[..., Command], *args) -> Command:
        """One Command object per distinct start-up line, its text rendered once."""
        command = self.shared_commands.get(key)
        if command is None:
            command = self.shared_commands[key] = make(*args)
            self.shared_lines[id(command)] = [command.text()]
        return command

    def sampler_part(self, plan: DaemonPlan, daemon: Daemon, group):
        if group.advertise is not None:
            self.advertise(plan, daemon, group.advertise)
        if not plan.samplers:
            # A daemon's first group whose items are all shared: the same items for each of its daemons.
            try:
                shared = self.group_samplers[id(group)]
            except KeyError:
                shared = self.group_samplers[id(group)] = self.shared_group_samplers(group, daemon.name)
            if shared is not None:
                plan.samplers.extend(shared)
                return
        loaded = {item["name"] for item in plan.samplers}
        for instance in group.plugins:
            if instance.key not in loaded:  # a daemon in two groups loads a plugin once
                loaded.add(instance.key)
                plan.samplers.append(self.plugin_item("samplers", instance, daemon.name))

    def shared_group_samplers(self, group, daemon: str) -> Optional[List[dict]]:
        if any(_names_daemon(instance) for instance in group.plugins):
            return None
        items: Dict[str, dict] = {}
        for instance in group.plugins:
            if instance.key not in items:
                items[instance.key] = self.plugin_item("samplers", instance, daemon)
        return list(items.values())

    def advertise(self, plan: DaemonPlan, daemon: Daemon, advertise):
        """One advertiser per aggregator host advertised to, named <daemon>-<host> as LDMS names them."""
        auth = self.use_auth(plan, advertise.auth)
        for host in advertise.hosts:
            plan.advertisers.append(KINDS["advertisers"].item(
                dict(advertise.attrs, name="%s-%s" % (daemon.name, host), host=host, auth=auth)))

    def aggregator_part(self, plan: DaemonPlan, daemon: Daemon, group: AggregatorGroup):
        for producer in self.producers_of.get((group.key, daemon.name), ()):
            plan.producers.append(KINDS["producers"].item(dict(
                producer.attrs, name=producer.name, host=producer.host, port=producer.port, xprt=producer.xprt,
                auth=self.use_auth(plan, producer.auth))))
        advertised = self.advertised_hosts(group)
        for listen in group.prdcr_listen:
            item = listen.attrs
            if item.get("regex") is None and advertised:
                # Split the advertising hosts over the group instead of every
                # aggregator collecting every sampler.
                share = balance(advertised, group.daemons).assignment
                mine = [host for host in advertised if share[host] == daemon.name]
                item = KINDS["prdcr_listeners"].item(dict(item, regex=exact_names_regex(mine) if mine else "^$"))
            plan.prdcr_listeners.append(dict(item))
        if group.advertise is not None:
            self.advertise(plan, daemon, group.advertise)
        for subscription in group.subscribe:
            plan.subscriptions.append(dict(subscription.attrs))
        loaded = {item["name"] for item in plan.aggregator_plugins}
        for instance in group.plugins:
            if instance.key not in loaded:
                loaded.add(instance.key)
                plan.aggregator_plugins.append(self.plugin_item("aggregator_plugins", instance, daemon.name))
        for updater in group.updaters:
            plan.updaters.append(KINDS["updaters"].item(dict(
                vars(updater), producers=list(updater.producers),
                sets=[{"regex": regex, "field": field_name} for regex, field_name in updater.sets])))

    def advertised_hosts(self, group: AggregatorGroup) -> List[str]:
        """Hosts of samplers that advertise to one of this group's aggregators."""
        targets = set()
        for name in group.daemons:
            daemon = self.cluster.daemons[name]
            targets.add(daemon.host)
            targets.update(endpoint.host for endpoint in daemon.endpoints)
        hosts: Dict[str, None] = {}
        for sampler_group in self.cluster.samplers:
            if sampler_group.advertise and targets.intersection(sampler_group.advertise.hosts):
                for name in sampler_group.daemons:
                    hosts.setdefault(self.cluster.daemons[name].host)
        return list(hosts)

    def stores(self, plan: DaemonPlan):
        for policy in self.policies.get(plan.name, ()):
            plan.storage_policies.append(KINDS["storage_policies"].item(dict(
                vars(policy), plugin=policy.plugin.key, plugin_config=_store_plugin_config(policy.plugin, policy.path))))


def plan_cluster(cluster: Cluster, assignments: Optional[Dict[str, dict]] = None) -> Dict[str, DaemonPlan]:
    """Every daemon's plan, in the order the cluster file defines them."""
    planner = Planner(cluster, assignments if assignments is not None else group_assignments(cluster))
    return {name: planner.plan(name) for name in cluster.daemons}
