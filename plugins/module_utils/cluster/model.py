# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LDMS cluster model: daemons, sampler groups, aggregator groups, stores.

``build_cluster(data)`` validates a loaded cluster file (current LDMS 4.4/4.5
form or the legacy Maestro form, detected per section) and returns a
``Cluster``. Any bad input raises one ``ClusterError`` naming its YAML path,
before anything is written: what ldmsd 4.5.3 would refuse is refused here.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster import hostlists
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import broadcast, names_or_regex, per_owner
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (
    DEFAULT_SAMPLE_INTERVAL_US,
    check_host,
    check_key,
    check_name,
    check_offset,
    check_value,
    is_env_ref,
    parse_auth_plugin,
    parse_bool,
    parse_interval_us,
    parse_perm,
    parse_port,
    parse_time_us,
    parse_xprt,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Kind
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.updaters import parse_set_field

TimeUs = Union[int, str]  # µs, or a ${VAR} left for ldmsd
# Producer attributes a peer's endpoint gives, not the peers entry.
PRODUCER_FROM_ENDPOINT = ("name", "host", "port", "xprt", "auth")
# Advertiser attributes the group gives (names, hosts), not the advertise entry.
ADVERTISE_FROM_GROUP = ("name", "host")
DAEMON_KEYS = ("names", "hosts", "endpoints", "environment", "stream_enable", "msg_enable")
# ldmsd's long options a daemon may set with a scalar (written ``option --<key> <value>``)
DAEMON_OPTIONS = ("default_auth_args", "default_auth", "banner", "publish_kernel", "log_file", "set_memory",
                  "daemon_name", "worker_threads", "pid_file", "kernel_file", "log_level", "log_config",
                  "default_quota")
# ldmsd start-up requests a daemon may give as a mapping (written ``<key> <attr>=<value> ...``)
DAEMON_COMMANDS = ("banner", "daemon_name", "default_auth", "default_quota", "log_file", "log_level", "loglevel",
                   "memory", "set_memory", "metric_sets_default_authz", "pid_file", "publish_kernel", "worker_threads")
SECTIONS = ("daemons", "aggregators", "samplers", "plugins", "stores")
TYPO_CUTOFF = 0.85  # difflib ratio from which a top-level key is a misspelt section (sampler, store, damons)
# Other top-level keys an inventory file holds (the plugin's own options).
TOP_LEVEL_KEYS = SECTIONS + ("plugin", "ldms_config", "ldms_strict", "compose", "groups", "keyed_groups", "vars",
                             "strict", "leading_separator", "use_extra_vars")
ANY_ADDRESS = "0.0.0.0"  # what bind_all listens on
DAEMONS_MAX = 1000000  # daemons one file may define
FILE_NAMES_MAX = 20000000  # names all hostlists of one file may expand to, together
COMPONENT_ID_ENV = "COMPID"  # every daemon's config sets it (env COMPID=<n>) unless its environment does
DEFAULT_COMPONENT_ID = "${%s}" % COMPONENT_ID_ENV  # what a sampler plugin gets without a component_id
# Store plugins and the config option each cannot start without (4.5.3).
STORE_REQUIRED = {"store_csv": ("path", "opt_file"), "store_sos": ("path",)}


@dataclass(frozen=True)
class Auth:
    """An authentication domain: ``auth_add name=<name> plugin=<plugin> [options]``."""

    name: str
    plugin: str
    options: Tuple[Tuple[str, str], ...] = ()


@dataclass
class Endpoint:
    name: str
    daemon: str
    port: Union[int, str]
    xprt: str
    host: str  # where peers connect
    listen_host: str  # what the daemon binds
    maestro_comm: bool = False
    auth: Optional[Auth] = None


@dataclass
class Daemon:
    name: str
    host: str
    endpoints: List[Endpoint]
    environment: List[Tuple[str, str]] = field(default_factory=list)
    stream_enable: bool = False
    msg_enable: bool = False
    options: List[Tuple[str, object]] = field(default_factory=list)
    path: str = ""

    @property
    def control_endpoint(self) -> Optional[Endpoint]:
        """The endpoint used to configure the daemon: maestro_comm, else the first."""
        for endpoint in self.endpoints:
            if endpoint.maestro_comm:
                return endpoint
        return self.endpoints[0] if self.endpoints else None


@dataclass
class PluginInstance:
    key: str  # instance name: load name=<key>
    plugin: str  # library: load plugin=<plugin>
    interval: Optional[TimeUs] = None
    offset: Optional[TimeUs] = None
    perm: Optional[str] = None
    config: List[Union[dict, str]] = field(default_factory=list)
    path: str = ""


@dataclass
class Advertise:
    names: List[str]
    hosts: List[str]
    auth: Optional[Auth] = None
    attrs: Dict[str, object] = field(default_factory=dict)  # the other advertiser attributes given


@dataclass
class SamplerGroup:
    daemons: List[str]
    plugins: List[PluginInstance]
    advertise: Optional[Advertise] = None
    path: str = ""


@dataclass
class Updater:
    name: str
    interval: TimeUs
    offset: Optional[TimeUs] = None
    mode: str = "pull"
    perm: Optional[str] = None
    producers: List[str] = field(default_factory=lambda: [".*"])
    sets: List[Tuple[str, str]] = field(default_factory=list)
    path: str = ""


@dataclass
class Producer:
    """One endpoint an aggregator group pulls from."""

    name: str  # the endpoint name
    daemon: str  # the daemon behind it
    host: str
    port: Union[int, str]
    xprt: str
    auth: Optional[Auth] = None
    attrs: Dict[str, object] = field(default_factory=dict)  # the other producer attributes given (type, reconnect...)


@dataclass
class PrdcrListen:
    name: str
    attrs: Dict[str, object] = field(default_factory=dict)  # the listener's attributes given, name included


@dataclass
class Subscription:
    attrs: Dict[str, object]  # stream or message_tag, regex, ...


@dataclass
class AggregatorGroup:
    key: str  # the group's daemons string, as written
    daemons: List[str]
    producers: List[Producer] = field(default_factory=list)
    updaters: List[Updater] = field(default_factory=list)
    prdcr_listen: List[PrdcrListen] = field(default_factory=list)
    subscribe: List[Subscription] = field(default_factory=list)
    advertise: Optional[Advertise] = None
    plugins: List[PluginInstance] = field(default_factory=list)
    level: int = 1
    path: str = ""


@dataclass
class StorePolicy:
    name: str
    daemons: List[str]
    plugin: PluginInstance
    container: str
    schema: Optional[str] = None
    decomposition: Optional[str] = None
    regex: Optional[str] = None
    flush: Optional[TimeUs] = None
    perm: Optional[str] = None
    path: str = ""


@dataclass
class Cluster:
    daemons: Dict[str, Daemon]
    plugins: Dict[str, PluginInstance]
    samplers: List[SamplerGroup]
    aggregators: List[AggregatorGroup]
    stores: List[StorePolicy]
    warnings: List[str] = field(default_factory=list)

    def sampler_daemons(self) -> List[str]:
        seen: Dict[str, None] = {}
        for group in self.samplers:
            for name in group.daemons:
                seen.setdefault(name)
        return list(seen)

    def levels(self) -> Dict[str, int]:
        """Daemon name -> aggregation level (0 for daemons that only sample)."""
        result = {name: 0 for name in self.daemons}
        for group in self.aggregators:
            for name in group.daemons:
                result[name] = max(result[name], group.level)
        return result


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


class _Builder:
    """Walks the loaded YAML, keeping the path of every value it reads."""

    def __init__(self, strict: bool = True):
        self.warnings: List[str] = []
        self.strict = strict
        self.names_expanded = 0

    def expand(self, value, path: str) -> List[str]:
        """Expand a hostlist field, within the budget of the whole file."""
        names = hostlists.expand(value, path)
        self.names_expanded += len(names)
        if self.names_expanded > FILE_NAMES_MAX:
            raise ClusterError(path, "the file's hostlists expand to more than %d names in all" % FILE_NAMES_MAX)
        return names

    # -- generic readers ---------------------------------------------------
    def mapping(self, value, path: str) -> dict:
        if not isinstance(value, dict):
            raise ClusterError(path, "expected a mapping, got %s" % _kind(value))
        return value

    def sequence(self, value, path: str) -> list:
        if not isinstance(value, list):
            raise ClusterError(path, "expected a list, got %s" % _kind(value))
        return value

    def required(self, spec: dict, key: str, path: str):
        if key not in spec or spec[key] is None:
            raise ClusterError(_join(path, key), "required key is missing")
        return spec[key]

    def string(self, value, path: str) -> str:
        """A scalar that becomes one ldmsd attribute value."""
        return check_value(self.text(value, path), path)

    def text(self, value, path: str) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise ClusterError(path, "expected a string, got %s" % _kind(value))
        if isinstance(value, float) and not math.isfinite(value):
            raise ClusterError(path, "expected a string or a number, got %r" % value)
        return str(int(value)) if isinstance(value, int) else str(value)

    def name(self, value, path: str, what: str) -> str:
        if value is None:
            raise ClusterError(path, "required key is missing")
        return check_name(value, path, what)

    def optional(self, spec: dict, key: str, path: str, parse):
        if spec.get(key) is None:
            return None
        return parse(spec[key], _join(path, key))

    def kind_attrs(self, kind: Kind, spec: dict, path: str, skip=(), required=()) -> Dict[str, object]:
        """The attributes of ``kind`` that ``spec`` gives (but ``skip``), parsed as ldmsd takes them."""
        result = {}
        for attr in kind.attrs:
            if attr.name in skip:
                continue
            if attr.name in required:
                self.required(spec, attr.name, path)
            value = self.optional(spec, attr.name, path, attr.parse)
            if value is not None:
                result[attr.name] = value
        return result

    def warn_unknown(self, spec: dict, path: str, known):
        """Unknown keys are errors (typos), or warnings when not strict."""
        for key in spec:
            if key not in known:
                self.unknown(key, path, known)

    def unknown(self, key, path: str, known, what: str = "key"):
        close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
        hint = " (did you mean %r?)" % close[0] if close else ""
        if self.strict:
            raise ClusterError(_join(path, key), "unknown %s %r%s" % (what, key, hint))
        self.warnings.append("%s: unknown %s %r ignored%s" % (_join(path, key), what, key, hint))

    # -- sections ----------------------------------------------------------
    def auth(self, value, path: str) -> Optional[Auth]:
        if value is None:
            return None
        if isinstance(value, str):
            return Auth(name=self.auth_name(value, path), plugin=parse_auth_plugin(value, path))
        spec = self.mapping(value, path)
        self.warn_unknown(spec, path, ("name", "plugin", "conf"))
        name = self.auth_name(self.required(spec, "name", path), _join(path, "name"))
        plugin = parse_auth_plugin(spec.get("plugin") or name, _join(path, "plugin"))
        conf = spec.get("conf")
        if conf is None:
            options: Tuple[Tuple[str, str], ...] = ()
        elif isinstance(conf, dict):
            options = tuple((check_key(k, _join(path, "conf")), self.string(v, _join(path, "conf.%s" % k)))
                            for k, v in conf.items())
        else:
            options = (("conf", self.string(conf, _join(path, "conf"))),)
        return Auth(name=name, plugin=plugin, options=options)

    def auth_name(self, value, path: str) -> str:
        return self.name(value, path, "authentication domain name")

    def daemons(self, value) -> Dict[str, Daemon]:
        result: Dict[str, Daemon] = {}
        for index, spec in enumerate(self.sequence(value, "daemons")):
            path = "daemons[%d]" % index
            spec = self.mapping(spec, path)
            names = self.expand(self.required(spec, "names", path), _join(path, "names"))
            if len(result) + len(names) > DAEMONS_MAX:
                raise ClusterError(_join(path, "names"), "more than %d daemons in one file" % DAEMONS_MAX)
            for name in names:
                check_name(name, _join(path, "names"), "daemon name")
            hosts = broadcast(self.expand(self.required(spec, "hosts", path), _join(path, "hosts")),
                              len(names), _join(path, "hosts"), "hosts", "daemon names")
            for host in hosts:
                check_host(host, _join(path, "hosts"))
            endpoints_per_daemon: List[List[Endpoint]] = [[] for _name in names]
            for ep_index, ep_spec in enumerate(self.sequence(self.required(spec, "endpoints", path), _join(path, "endpoints"))):
                ep_path = "%s.endpoints[%d]" % (path, ep_index)
                for daemon_index, endpoints in enumerate(self.endpoints(ep_spec, ep_path, names, hosts)):
                    endpoints_per_daemon[daemon_index].extend(endpoints)
            environment = []
            if spec.get("environment") is not None:
                env = self.mapping(spec["environment"], _join(path, "environment"))
                environment = [(self.env_name(k, _join(path, "environment")), self.string(v, _join(path, "environment.%s" % k)))
                               for k, v in env.items()]
            options = self.daemon_options(spec, path)
            stream_enable = bool(self.optional(spec, "stream_enable", path, parse_bool))
            msg_enable = bool(self.optional(spec, "msg_enable", path, parse_bool))
            for daemon_index, name in enumerate(names):
                if name in result:
                    raise ClusterError(_join(path, "names"), "daemon %r is already defined in %s" % (name, result[name].path))
                result[name] = Daemon(
                    name=name, host=hosts[daemon_index], endpoints=endpoints_per_daemon[daemon_index],
                    environment=environment, stream_enable=stream_enable, msg_enable=msg_enable,
                    options=options, path=path)
        if not result:
            raise ClusterError("daemons", "no daemons are defined")
        seen_endpoints: Dict[str, str] = {}
        listeners: Dict[Tuple[str, str, str], List[Tuple[str, str]]] = {}
        for daemon in result.values():
            for endpoint in daemon.endpoints:
                if endpoint.name in seen_endpoints:
                    raise ClusterError(daemon.path + ".endpoints",
                                       "endpoint %r is defined for both %s and %s"
                                       % (endpoint.name, seen_endpoints[endpoint.name], daemon.name))
                seen_endpoints[endpoint.name] = daemon.name
                if is_env_ref(daemon.host) or is_env_ref(str(endpoint.port)):
                    continue
                bound = listeners.setdefault((daemon.host, endpoint.xprt, str(endpoint.port)), [])
                for address, other in bound:
                    if other == daemon.name:
                        continue
                    clash = "daemons %r and %r both listen on host %s port %s (%s)" % (
                        other, daemon.name, daemon.host, endpoint.port, endpoint.xprt)
                    if address == endpoint.listen_host == ANY_ADDRESS:
                        # Both bind every address: fine only where each runs in its own network
                        # namespace (containers), as LDMS's own example clusters assume.
                        self.warnings.append("%s.endpoints: %s on every address; the second cannot start "
                                             "unless each has its own network namespace" % (daemon.path, clash))
                    elif address == endpoint.listen_host or ANY_ADDRESS in (address, endpoint.listen_host):
                        # ldmsd: the second daemon cannot listen ("Error 8 Listening on sock:<port>") and exits.
                        raise ClusterError(daemon.path + ".endpoints", clash)
                bound.append((endpoint.listen_host, daemon.name))
        return result

    def env_name(self, key, path: str) -> str:
        text = str(key)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", text):
            raise ClusterError(_join(path, text), "bad environment variable name %r" % text)
        return text

    def daemon_options(self, spec: dict, path: str) -> List[Tuple[str, object]]:
        """ldmsd options (scalar) and start-up requests (mapping) a daemon sets; nothing else."""
        options = []
        for key, option in spec.items():
            if key in DAEMON_KEYS:
                continue
            option_path = _join(path, str(key))
            if isinstance(option, dict):
                if key not in DAEMON_COMMANDS:
                    self.unknown(key, path, DAEMON_KEYS + DAEMON_COMMANDS, "daemon start-up request")
                    continue
                option = {check_key(k, option_path): (parse_perm(v, _join(option_path, k)) if k == "perm"
                                                      else self.string(v, _join(option_path, k)))
                          for k, v in option.items()}
            elif isinstance(option, list):
                raise ClusterError(option_path, "a daemon option must be a scalar or a mapping, got a list")
            elif key not in DAEMON_OPTIONS:
                self.unknown(key, path, DAEMON_KEYS + DAEMON_OPTIONS, "daemon key")
                continue
            elif option is not None:
                option = self.string(option, option_path)
            else:
                raise ClusterError(option_path, "give the option a value")
            options.append((str(key), option))
        return options

    def endpoints(self, spec, path: str, daemon_names: List[str], daemon_hosts: List[str]) -> List[List[Endpoint]]:
        spec = self.mapping(spec, path)
        self.warn_unknown(spec, path, ("names", "ports", "hosts", "xprt", "bind_all", "maestro_comm", "auth"))
        names = self.expand(self.required(spec, "names", path), _join(path, "names"))
        for name in names:
            check_name(name, _join(path, "names"), "endpoint name")
        blocks = per_owner(names, len(daemon_names), _join(path, "names"), "endpoint names", "daemons")
        ports_path = _join(path, "ports")
        written_ports = [parse_port(port, ports_path)
                         for port in self.expand(self.required(spec, "ports", path), ports_path)]
        per_daemon = len(names) // len(daemon_names) if daemon_names else 0
        if per_daemon > 1 and len(written_ports) == per_daemon:
            ports_typed = written_ports * len(daemon_names)  # k ports for each daemon's k endpoints
        else:
            ports_typed = broadcast(written_ports, len(names), ports_path, "ports", "endpoint names")
        hosts: Optional[List[str]] = None
        if spec.get("hosts") is not None:
            written = self.expand(spec["hosts"], _join(path, "hosts"))
            for host in written:
                check_host(host, _join(path, "hosts"))
            if len(written) == len(daemon_names) and len(names) != len(daemon_names):
                size = len(names) // len(daemon_names)
                hosts = [host for host in written for _copy in range(size)]
            else:
                hosts = broadcast(written, len(names), _join(path, "hosts"), "hosts", "endpoint names")
        xprt = parse_xprt(spec.get("xprt") or "sock", _join(path, "xprt"))
        bind_all = bool(self.optional(spec, "bind_all", path, parse_bool))
        maestro_comm = bool(self.optional(spec, "maestro_comm", path, parse_bool))
        auth = self.auth(spec.get("auth"), _join(path, "auth"))
        result = []
        position = 0
        for daemon_index, block in enumerate(blocks):
            endpoints = []
            for name in block:
                host = hosts[position] if hosts else daemon_hosts[daemon_index]
                port = ports_typed[position]
                endpoints.append(Endpoint(
                    name=name, daemon=daemon_names[daemon_index], port=port, xprt=xprt, host=host,
                    listen_host=ANY_ADDRESS if bind_all else host, maestro_comm=maestro_comm, auth=auth))
                position += 1
            result.append(endpoints)
        return result

    def plugin_instance(self, key: str, spec, path: str) -> PluginInstance:
        spec = self.mapping(spec, path)
        self.warn_unknown(spec, path, ("name", "interval", "offset", "perm", "config", "plugin", "daemons"))
        check_name(key, path, "plugin instance name")
        plugin = self.name(self.required(spec, "name", path), _join(path, "name"), "plugin")
        config_value = spec.get("config", [])
        if config_value is None:
            config_value = []
        if isinstance(config_value, (dict, str)):
            config_value = [config_value]
        config = []
        for index, item in enumerate(self.sequence(config_value, _join(path, "config"))):
            item_path = "%s.config[%d]" % (path, index)
            if isinstance(item, dict):
                config.append(self.config_dict(item, item_path))
            elif isinstance(item, str):
                # attr=value words: ldmsd splits them at spaces, so only the words are checked
                for word in item.split(" "):
                    if word:
                        check_key(word.partition("=")[0], item_path)
                        check_value(word, item_path)
                config.append(item)
            else:
                raise ClusterError(item_path, "expected a mapping or a string, got %s" % _kind(item))
        interval = self.optional(spec, "interval", path, parse_interval_us)
        offset = self.optional(spec, "offset", path, parse_time_us)
        check_offset(DEFAULT_SAMPLE_INTERVAL_US if interval is None else interval, offset, _join(path, "offset"))
        return PluginInstance(
            key=key, plugin=plugin, interval=interval, offset=offset,
            perm=self.optional(spec, "perm", path, parse_perm),
            config=config, path=path)

    def config_dict(self, item: dict, path: str) -> dict:
        result = {}
        for key, value in item.items():
            key_path = _join(path, str(key))
            check_key(key, key_path)
            if value is None:
                result[str(key)] = None
            elif isinstance(value, list):
                result[str(key)] = [self.string(v, "%s[%d]" % (key_path, i)) for i, v in enumerate(value)]
            elif isinstance(value, dict):
                raise ClusterError(key_path, "a plugin option cannot be a mapping")
            elif isinstance(value, bool):
                result[str(key)] = "true" if value else "false"
            elif key == "perm":
                result[str(key)] = parse_perm(value, key_path)
            else:
                result[str(key)] = self.string(value, key_path)
        return result

    def plugins(self, value) -> Dict[str, PluginInstance]:
        if value is None:
            return {}
        result = {}
        if isinstance(value, list):  # legacy: a list of {name, config}
            for index, spec in enumerate(value):
                path = "plugins[%d]" % index
                spec = self.mapping(spec, path)
                key = self.name(self.required(spec, "name", path), _join(path, "name"), "plugin")
                result[key] = self.plugin_instance(key, spec, path)
            return result
        for key, spec in self.mapping(value, "plugins").items():
            result[str(key)] = self.plugin_instance(str(key), spec, "plugins.%s" % key)
        return result

    def daemon_refs(self, value, path: str, daemons: Dict[str, Daemon]) -> List[str]:
        names = self.expand(value, path)
        for name in names:
            if name not in daemons:
                raise ClusterError(path, "daemon %r is not defined in daemons" % name)
        return names

    def advertise(self, value, path: str, group_daemons: List[str]) -> Advertise:
        spec = self.mapping(value, path)
        kind = KINDS["advertisers"]
        self.warn_unknown(spec, path, ("names", "hosts") + tuple(attr.name for attr in kind.attrs if attr.name not in ADVERTISE_FROM_GROUP))
        names = self.expand(self.required(spec, "names", path), _join(path, "names"))
        for name in names:
            check_name(name, _join(path, "names"), "advertiser name")
        if len(names) != len(group_daemons):
            raise ClusterError(_join(path, "names"), "%d names for %d daemons" % (len(names), len(group_daemons)))
        hosts = self.expand(self.required(spec, "hosts", path), _join(path, "hosts"))
        for host in hosts:
            check_host(host, _join(path, "hosts"))
        return Advertise(
            names=names, hosts=hosts, auth=self.auth(spec.get("auth"), _join(path, "auth")),
            attrs=self.kind_attrs(kind, spec, path, skip=ADVERTISE_FROM_GROUP + ("auth",),
                                  required=("xprt", "port", "reconnect")))

    def samplers(self, value, daemons, plugins) -> List[SamplerGroup]:
        groups = []
        for index, spec in enumerate(self.sequence(value or [], "samplers")):
            path = "samplers[%d]" % index
            spec = self.mapping(spec, path)
            self.warn_unknown(spec, path, ("daemons", "plugins", "advertise"))
            names = self.daemon_refs(self.required(spec, "daemons", path), _join(path, "daemons"), daemons)
            instances = []
            seen = set()
            for p_index, item in enumerate(self.sequence(self.required(spec, "plugins", path), _join(path, "plugins"))):
                item_path = "%s.plugins[%d]" % (path, p_index)
                if isinstance(item, dict):  # legacy inline plugin
                    key = self.name(self.required(item, "name", item_path), _join(item_path, "name"), "plugin")
                    instance = self.plugin_instance(key, item, item_path)
                else:
                    key = self.string(item, item_path)
                    if key not in plugins:
                        raise ClusterError(item_path, "plugin %r is not defined in plugins" % key)
                    instance = plugins[key]
                if key in seen:
                    raise ClusterError(item_path, "plugin %r is listed twice in this group" % key)
                seen.add(key)
                instances.append(instance)
            advertise = None
            if spec.get("advertise") is not None:
                advertise = self.advertise(spec["advertise"], _join(path, "advertise"), names)
            groups.append(SamplerGroup(daemons=names, plugins=instances, advertise=advertise, path=path))
        return groups

    def updater(self, spec, path: str, name: str) -> Updater:
        spec = self.mapping(spec, path)
        kind = KINDS["updaters"]
        self.warn_unknown(spec, path, tuple(attr.name for attr in kind.attrs))
        mode = kind.by_name["mode"].parse(self.string(spec.get("mode") or "pull", _join(path, "mode")), _join(path, "mode"))
        producers = spec.get("producers")
        if producers is None:
            regexes = [".*"]
        else:
            written = producers if isinstance(producers, list) else [producers]
            regexes = []
            for i, item in enumerate(written):
                item_path = "%s.producers[%d]" % (path, i) if isinstance(producers, list) else _join(path, "producers")
                regexes += names_or_regex(self.string(item, item_path), item_path)
            if not regexes:
                raise ClusterError(_join(path, "producers"), "empty list (leave it out to match every producer)")
        sets = []
        for s_index, item in enumerate(self.sequence(spec.get("sets") or [], _join(path, "sets"))):
            item_path = "%s.sets[%d]" % (path, s_index)
            item = self.mapping(item, item_path)
            regex = self.string(self.required(item, "regex", item_path), _join(item_path, "regex"))
            field_name = parse_set_field(self.string(self.required(item, "field", item_path), _join(item_path, "field")),
                                         _join(item_path, "field"))
            sets.append((regex, field_name))
        interval = parse_interval_us(self.required(spec, "interval", path), _join(path, "interval"))
        offset = self.optional(spec, "offset", path, parse_time_us)
        check_offset(interval, offset, _join(path, "offset"))
        return Updater(
            name=self.name(spec.get("name") or name, _join(path, "name"), "updater name"),
            interval=interval, offset=offset,
            mode=mode, perm=self.optional(spec, "perm", path, parse_perm),
            producers=regexes, sets=sets, path=path)

    def peers(self, spec, path: str, daemons: Dict[str, Daemon], counter: List[int]) -> Tuple[List[Producer], List[Updater]]:
        spec = self.mapping(spec, path)
        kind = KINDS["producers"]
        self.warn_unknown(spec, path, ("daemons", "endpoints", "credits", "updaters", "auth")
                          + tuple(attr.name for attr in kind.attrs if attr.name not in PRODUCER_FROM_ENDPOINT))
        peer_daemons = self.daemon_refs(self.required(spec, "daemons", path), _join(path, "daemons"), daemons)
        endpoint_names = self.expand(self.required(spec, "endpoints", path), _join(path, "endpoints"))
        by_name = {ep.name: ep for name in peer_daemons for ep in daemons[name].endpoints}
        attrs = self.kind_attrs(kind, spec, path, skip=PRODUCER_FROM_ENDPOINT, required=("type", "reconnect"))
        if "quota" not in attrs and spec.get("credits") is not None:
            self.warnings.append("%s.credits: renamed to quota in LDMS 4.5; read as quota" % path)
            attrs["quota"] = kind.by_name["quota"].parse(spec["credits"], _join(path, "credits"))
        override_auth = self.auth(spec.get("auth"), _join(path, "auth")) if spec.get("auth") is not None else None
        producers = []
        for ep_name in endpoint_names:
            endpoint = by_name.get(ep_name)
            if endpoint is None:
                raise ClusterError(_join(path, "endpoints"),
                                   "endpoint %r is not an endpoint of daemons %s" % (ep_name, spec["daemons"]))
            producers.append(Producer(name=endpoint.name, daemon=endpoint.daemon, host=endpoint.host,
                                      port=endpoint.port, xprt=endpoint.xprt,
                                      auth=override_auth or endpoint.auth, attrs=attrs))
        updaters = []
        for u_index, item in enumerate(self.sequence(spec.get("updaters") or [], _join(path, "updaters"))):
            updaters.append(self.updater(item, "%s.updaters[%d]" % (path, u_index), "updtr_%d" % counter[0]))
            counter[0] += 1
        return producers, updaters

    def prdcr_listen(self, spec, path: str, counter: List[int]) -> Tuple[PrdcrListen, List[Updater]]:
        spec = self.mapping(spec, path)
        kind = KINDS["prdcr_listeners"]
        # The file names the advertisers' auth domain as any auth: by name or {name, plugin, conf}.
        self.warn_unknown(spec, path, ("auth", "updaters")
                          + tuple(attr.name for attr in kind.attrs if attr.name != "advertiser_auth"))
        auth = self.auth(spec.get("auth"), _join(path, "auth"))
        name = self.name(self.required(spec, "name", path), _join(path, "name"), "producer listener name")
        attrs = dict(self.kind_attrs(kind, spec, path, skip=("name", "advertiser_auth")), name=name)
        if auth:
            attrs["advertiser_auth"] = auth.name
        listen = PrdcrListen(name=name, attrs=kind.item(attrs))
        updaters = []
        for u_index, item in enumerate(self.sequence(spec.get("updaters") or [], _join(path, "updaters"))):
            updaters.append(self.updater(item, "%s.updaters[%d]" % (path, u_index), "updtr_%d" % counter[0]))
            counter[0] += 1
        return listen, updaters

    def subscription(self, spec, path: str) -> Subscription:
        spec = self.mapping(spec, path)
        kind = KINDS["subscriptions"]
        self.warn_unknown(spec, path, ("message_channel",) + tuple(attr.name for attr in kind.attrs))
        given = [key for key in ("stream", "message_tag", "message_channel") if spec.get(key) is not None]
        if len(given) != 1:
            raise ClusterError(path, "give exactly one of stream or message_tag")
        self.required(spec, "regex", path)
        attrs = self.kind_attrs(kind, spec, path, skip=("stream", "message_tag"))
        key = given[0]
        name = "message_tag" if key == "message_channel" else key  # message_channel: 4.5's other name
        attrs[name] = kind.by_name[name].parse(spec[key], _join(path, key))
        return Subscription(attrs=kind.item(attrs))

    def aggregators(self, value, daemons, plugins) -> List[AggregatorGroup]:
        groups = []
        counter = [0]  # updater names are numbered across the whole file, as LDMS does
        seen_producers: Dict[str, str] = {}  # one producer is pulled by one group
        for index, spec in enumerate(self.sequence(value or [], "aggregators")):
            path = "aggregators[%d]" % index
            spec = self.mapping(spec, path)
            self.warn_unknown(spec, path, ("daemons", "peers", "prdcr_listen", "subscribe", "advertise", "plugins"))
            key = self.text(self.required(spec, "daemons", path), _join(path, "daemons"))  # a hostlist, not an ldmsd value
            group = AggregatorGroup(key=key, daemons=self.daemon_refs(key, _join(path, "daemons"), daemons), path=path)
            members = set(group.daemons)
            for p_index, peer in enumerate(self.sequence(spec.get("peers") or [], _join(path, "peers"))):
                peer_path = "%s.peers[%d]" % (path, p_index)
                producers, updaters = self.peers(peer, peer_path, daemons, counter)
                if not producers:
                    raise ClusterError(_join(peer_path, "endpoints"), "no endpoints to pull from")
                for producer in producers:
                    if producer.daemon in members:
                        raise ClusterError(_join(peer_path, "daemons"), "aggregator %r would pull from itself" % producer.daemon)
                    if producer.name in seen_producers:
                        raise ClusterError(_join(peer_path, "endpoints"), "producer %r is already listed in %s"
                                           % (producer.name, seen_producers[producer.name]))
                    seen_producers[producer.name] = peer_path
                group.producers.extend(producers)
                group.updaters.extend(updaters)
            listen_names = set()
            for l_index, item in enumerate(self.sequence(spec.get("prdcr_listen") or [], _join(path, "prdcr_listen"))):
                listen, updaters = self.prdcr_listen(item, "%s.prdcr_listen[%d]" % (path, l_index), counter)
                if listen.name in listen_names:
                    raise ClusterError("%s.prdcr_listen[%d].name" % (path, l_index), "duplicate name %r" % listen.name)
                listen_names.add(listen.name)
                group.prdcr_listen.append(listen)
                group.updaters.extend(updaters)
            group.subscribe = [self.subscription(item, "%s.subscribe[%d]" % (path, s_index))
                               for s_index, item in enumerate(self.sequence(spec.get("subscribe") or [], _join(path, "subscribe")))]
            if spec.get("advertise") is not None:
                group.advertise = self.advertise(spec["advertise"], _join(path, "advertise"), group.daemons)
            for p_index, item in enumerate(self.sequence(spec.get("plugins") or [], _join(path, "plugins"))):
                item_path = "%s.plugins[%d]" % (path, p_index)
                plugin_key = self.string(item, item_path)
                if plugin_key not in plugins:
                    raise ClusterError(item_path, "plugin %r is not defined in plugins" % plugin_key)
                group.plugins.append(plugins[plugin_key])
            names = [u.name for u in group.updaters]
            for u_index, name in enumerate(names):
                if name in names[:u_index]:
                    raise ClusterError(group.updaters[u_index].path + ".name", "duplicate updater name %r" % name)
            groups.append(group)
        self.assign_levels(groups)
        return groups

    def assign_levels(self, groups: List[AggregatorGroup]):
        """Level 1 pulls from samplers; level n+1 pulls from level-n aggregators."""
        group_of: Dict[str, AggregatorGroup] = {}
        for group in groups:
            for name in group.daemons:
                group_of.setdefault(name, group)
        resolving = set()

        def level(group: AggregatorGroup) -> int:
            if group.path in resolving:
                raise ClusterError(group.path + ".peers", "aggregators pull from each other in a loop")
            resolving.add(group.path)
            upstream = [group_of[p.daemon] for p in group.producers if p.daemon in group_of and group_of[p.daemon] is not group]
            result = 1 + max((level(g) for g in upstream), default=0)
            resolving.discard(group.path)
            return result

        for group in groups:
            group.level = level(group)

    def stores(self, value, daemons, plugins, aggregators: List[AggregatorGroup]) -> List[StorePolicy]:
        if value is None:
            return []
        policies = []
        aggregator_names = {name for group in aggregators for name in group.daemons}
        if isinstance(value, list):  # legacy: a list with inline plugins
            items = []
            for index, spec in enumerate(value):
                path = "stores[%d]" % index
                spec = self.mapping(spec, path)
                items.append((self.name(self.required(spec, "name", path), _join(path, "name"), "storage policy name"), spec, path))
        else:
            items = [(check_name(name, "stores.%s" % name, "storage policy name"), spec, "stores.%s" % name)
                     for name, spec in self.mapping(value, "stores").items()]
        names = set()
        for name, spec, path in items:
            spec = self.mapping(spec, path)
            self.warn_unknown(spec, path, ("name", "daemons", "plugin", "container", "schema", "flush",
                                           "decomposition", "regex", "perm"))
            if name in names:
                raise ClusterError(path, "duplicate storage policy %r" % name)
            names.add(name)
            plugin_value = self.required(spec, "plugin", path)
            if isinstance(plugin_value, dict):  # legacy inline store plugin
                key = self.name(self.required(plugin_value, "name", _join(path, "plugin")), _join(path, "plugin.name"), "plugin")
                plugin = self.plugin_instance(key, plugin_value, _join(path, "plugin"))
            else:
                key = self.string(plugin_value, _join(path, "plugin"))
                if key not in plugins:
                    raise ClusterError(_join(path, "plugin"), "store plugin %r is not defined in plugins" % key)
                plugin = plugins[key]
            self.store_options(plugin, path)
            schema = self.optional(spec, "schema", path, self.string)
            decomposition = self.optional(spec, "decomposition", path, self.string)
            regex = self.optional(spec, "regex", path, self.string)
            if decomposition is None and schema is None:
                raise ClusterError(_join(path, "schema"), "required key is missing (or give decomposition)")
            if decomposition is not None and (schema is None) == (regex is None):
                raise ClusterError(path, "with decomposition, give exactly one of schema or regex")
            store_daemons = self.daemon_refs(self.required(spec, "daemons", path), _join(path, "daemons"), daemons)
            for daemon in store_daemons:
                if daemon not in aggregator_names:
                    # A storage policy stores what updaters pull; a sampler has none.
                    raise ClusterError(_join(path, "daemons"), "%r is not an aggregator: a storage policy runs on aggregators" % daemon)
            policies.append(StorePolicy(
                name=name,
                daemons=store_daemons,
                plugin=plugin,
                container=self.string(self.required(spec, "container", path), _join(path, "container")),
                schema=schema, decomposition=decomposition, regex=regex,
                flush=self.optional(spec, "flush", path, parse_interval_us),
                perm=self.optional(spec, "perm", path, parse_perm), path=path))
        return policies

    def store_options(self, plugin: PluginInstance, path: str):
        """The config option a store plugin cannot start without."""
        needed = STORE_REQUIRED.get(plugin.plugin)
        if not needed:
            return
        given = {key for item in plugin.config if isinstance(item, dict) for key in item}
        given.update(word.partition("=")[0] for item in plugin.config if isinstance(item, str) for word in item.split())
        if not given.intersection(needed):
            raise ClusterError(_join(plugin.path, "config"), "%s needs %s in its config (used by %s)"
                               % (plugin.plugin, " or ".join(needed), path))


def build_cluster(data, strict: bool = True) -> Cluster:
    """Validate a loaded cluster file and return the model.

    ``strict=False`` turns unknown keys (typos) into warnings.
    """
    if not isinstance(data, dict):
        raise ClusterError("<top>", "a cluster file is a mapping with daemons, aggregators, samplers, plugins, stores; got %s" % _kind(data))
    builder = _Builder(strict)
    for key in data:
        # Other top-level keys are scratch pads for anchors (LDMS files use defaults:);
        # one that looks like a section is a typo.
        if key not in TOP_LEVEL_KEYS and difflib.get_close_matches(str(key), SECTIONS, n=1, cutoff=TYPO_CUTOFF):
            builder.unknown(key, "", SECTIONS, "top-level key")
    daemons = builder.daemons(builder.required(data, "daemons", ""))
    plugins = builder.plugins(data.get("plugins"))
    aggregators = builder.aggregators(data.get("aggregators"), daemons, plugins)
    samplers = builder.samplers(data.get("samplers"), daemons, plugins)
    legacy_plugin_groups = []
    if isinstance(data.get("plugins"), list):
        # legacy: plugins carry their own daemons; they sample there.
        for index, spec in enumerate(data["plugins"]):
            if isinstance(spec, dict) and spec.get("daemons") is not None:
                path = "plugins[%d]" % index
                names = builder.daemon_refs(spec["daemons"], _join(path, "daemons"), daemons)
                legacy_plugin_groups.append(SamplerGroup(daemons=names, plugins=[plugins[str(spec["name"])]], path=path))
    stores = builder.stores(data.get("stores"), daemons, plugins, aggregators)
    return Cluster(daemons=daemons, plugins=plugins, samplers=samplers + legacy_plugin_groups,
                   aggregators=aggregators, stores=stores, warnings=builder.warnings)


def _join(path: str, key) -> str:
    return "%s.%s" % (path, key) if path else str(key)


def _kind(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "%s %r" % (type(value).__name__, value)
