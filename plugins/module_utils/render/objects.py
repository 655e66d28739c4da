# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ldmsd runtime objects: item validation and the commands that create them.

An item is a dict whose keys are ldmsd's own attribute names (plus a few
list-valued keys such as an updater's ``producers``). This is the one place
that turns items into ldmsd commands: the rendered config files, the
resource modules' ``commands`` and ``state: rendered`` all come from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import ere_escape
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import (  # noqa: F401 - DEFAULT_... is read from here
    DEFAULT_SAMPLE_INTERVAL_US,
    check_host,
    check_key,
    check_name,
    check_offset,
    check_value,
    parse_bool,
    parse_int,
    parse_interval_us,
    parse_perm,
    parse_port,
    parse_time_us,
    parse_xprt,
)
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command, as_text


def exact_names_regex(names: List[str]) -> str:
    """A POSIX extended regex (what ldmsd's regcomp takes) matching exactly these names."""
    return "^(%s)$" % "|".join(ere_escape(name) for name in names)


def _text(value, path):
    """One ldmsd attribute value (no space, newline or control character)."""
    if isinstance(value, (dict, list, bool)) or value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise ClusterError(path, "expected a string, got %r" % (value,))
    return check_value(str(value), path)


def _name(value, path):
    return check_name(_text(value, path), path)


def _config_dict(item: dict, path: str) -> dict:
    result = {}
    for key, value in item.items():
        key_path = "%s.%s" % (path, key)
        check_key(key, key_path)
        if isinstance(value, list):
            result[key] = [_text(v, "%s[%d]" % (key_path, i)) for i, v in enumerate(value)]
        elif value is None or isinstance(value, bool):
            result[key] = value
        else:
            result[key] = _text(value, key_path)
    return result


def _regex_list(value, path):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list of regular expressions")
    return [_text(item, "%s[%d]" % (path, index)) for index, item in enumerate(value)]


def _sets(value, path):
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list of {regex, field}")
    result = []
    for index, item in enumerate(value):
        item_path = "%s[%d]" % (path, index)
        if not isinstance(item, dict) or "regex" not in item:
            raise ClusterError(item_path, "expected {regex, field}")
        field_name = item.get("field", "inst")
        if field_name not in ("inst", "schema"):
            raise ClusterError(item_path + ".field", "must be inst or schema, got %r" % (field_name,))
        result.append({"regex": _text(item["regex"], item_path + ".regex"), "field": field_name})
    return result


def _config(value, path):
    """Plugin config: a dict, a string, or a list of those."""
    items = value if isinstance(value, list) else [value]
    result = []
    for index, item in enumerate(items):
        item_path = "%s[%d]" % (path, index) if isinstance(value, list) else path
        if isinstance(item, dict):
            result.append(_config_dict(item, item_path))
        elif isinstance(item, str):
            for word in item.split(" "):  # attr=value words, split by ldmsd at spaces
                if word:
                    check_key(word.partition("=")[0], item_path)
                    check_value(word, item_path)
            result.append(item)
        else:
            raise ClusterError(item_path, "expected a mapping or a string")
    return result


def _dict(value, path):
    if not isinstance(value, dict):
        raise ClusterError(path, "expected a mapping")
    return _config_dict(value, path)


def _listen_type(value, path):
    text = _text(value, path)
    if text not in ("active", "passive"):
        raise ClusterError(path, "must be active or passive, got %r" % text)
    return text


def _strings(value, path):
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list")
    return [_text(item, "%s[%d]" % (path, index)) for index, item in enumerate(value)]


def _mode(value, path):
    mode = _text(value, path).lower()
    if mode == "auto_interval":
        mode = "auto"
    if mode not in ("pull", "push", "onchange", "auto"):
        raise ClusterError(path, "unknown mode %r (use pull, push, onchange or auto)" % mode)
    return mode


def _producer_type(value, path):
    text = _text(value, path)
    if text not in ("active", "passive", "bridge", "advertiser", "advertised"):
        raise ClusterError(path, "unknown producer type %r" % text)
    return text


@dataclass(frozen=True)
class ObjectKind:
    """How one kind of ldmsd object is identified, typed and created."""

    name: str
    attrs: Tuple[Tuple[str, Callable], ...]  # in the order they are written
    required: Tuple[str, ...]
    defaults: Tuple[Tuple[str, object], ...] = ()
    key: str = "name"
    add: Optional[str] = None
    start: Optional[str] = None
    stop: Optional[str] = None
    delete: Optional[str] = None

    def attr_parser(self, attr: str):
        return dict(self.attrs).get(attr)


KINDS: Dict[str, ObjectKind] = {kind.name: kind for kind in (
    ObjectKind("producers", (
        ("name", _name), ("host", check_host), ("port", parse_port), ("xprt", parse_xprt), ("type", _producer_type),
        ("reconnect", parse_interval_us), ("perm", parse_perm), ("auth", _name), ("rail", parse_int),
        ("quota", parse_int), ("rx_rate", parse_int), ("cache_ip", parse_bool)),
        required=("name", "host", "port", "reconnect"), defaults=(("xprt", "sock"), ("type", "active")),
        add="prdcr_add", start="prdcr_start", stop="prdcr_stop", delete="prdcr_del"),
    ObjectKind("updaters", (
        ("name", _name), ("interval", parse_interval_us), ("offset", parse_time_us), ("mode", _mode),
        ("perm", parse_perm), ("producers", _regex_list), ("sets", _sets)),
        required=("name", "interval"), defaults=(("mode", "pull"), ("producers", [".*"]), ("sets", [])),
        add="updtr_add", start="updtr_start", stop="updtr_stop", delete="updtr_del"),
    ObjectKind("storage_policies", (
        ("name", _name), ("plugin", _name), ("container", _text), ("schema", _text), ("regex", _text),
        ("decomposition", _text), ("perm", parse_perm), ("flush", parse_interval_us), ("producers", _regex_list),
        ("metrics", _strings), ("plugin_config", _dict)),
        required=("name", "plugin", "container"), defaults=(("producers", []), ("metrics", [])),
        add="strgp_add", start="strgp_start", stop="strgp_stop", delete="strgp_del"),
    ObjectKind("samplers", (
        ("name", _name), ("plugin", _name), ("interval", parse_interval_us), ("offset", parse_time_us),
        ("config", _config)),
        required=("name",), defaults=(("config", []),),
        add="load", start="start", stop="stop", delete="term"),
    ObjectKind("aggregator_plugins", (
        ("name", _name), ("plugin", _name), ("interval", parse_interval_us), ("offset", parse_time_us),
        ("config", _config)),
        required=("name",), defaults=(("config", []),),
        add="load", start="start", stop="stop", delete="term"),
    ObjectKind("advertisers", (
        ("name", _name), ("host", check_host), ("xprt", parse_xprt), ("port", parse_port), ("reconnect", parse_interval_us),
        ("auth", _name), ("perm", parse_perm), ("rail", parse_int), ("quota", parse_int), ("rx_rate", parse_int)),
        required=("name", "host", "port", "reconnect"), defaults=(("xprt", "sock"),),
        add="advertiser_add", start="advertiser_start", stop="advertiser_stop", delete="advertiser_del"),
    ObjectKind("prdcr_listeners", (
        ("name", _name), ("regex", _text), ("ip", _text), ("disable_start", parse_bool), ("quota", parse_int),
        ("rx_rate", parse_int), ("type", _listen_type), ("advertiser_xprt", parse_xprt), ("advertiser_port", parse_port),
        ("advertiser_auth", _name), ("rail", parse_int), ("reconnect", parse_interval_us)),
        required=("name",),
        add="prdcr_listen_add", start="prdcr_listen_start", stop="prdcr_listen_stop", delete="prdcr_listen_del"),
    ObjectKind("subscriptions", (
        ("stream", _text), ("message_tag", _text), ("regex", _text), ("rx_rate", parse_int)),
        required=(), defaults=(("regex", ".*"),), key="",
        add="prdcr_subscribe", delete="prdcr_unsubscribe"),
)}


def normalize_item(kind: str, item: dict, path: str) -> dict:
    """Validate one item and return it canonical: typed values, defaults filled."""
    spec = KINDS[kind]
    if not isinstance(item, dict):
        raise ClusterError(path, "expected a mapping")
    unknown = [key for key in item if spec.attr_parser(key) is None]
    if unknown:
        raise ClusterError(path, "unknown attribute%s %s for %s" % (
            "s" if len(unknown) > 1 else "", ", ".join(repr(k) for k in unknown), kind))
    result = {}
    for attr, parser in spec.attrs:
        if item.get(attr) is not None:
            result[attr] = parser(item[attr], "%s.%s" % (path, attr))
    for attr, default in spec.defaults:
        result.setdefault(attr, default)
    for attr in spec.required:
        if attr not in result:
            raise ClusterError("%s.%s" % (path, attr), "required attribute is missing")
    if kind == "subscriptions" and ("stream" in result) == ("message_tag" in result):
        raise ClusterError(path, "give exactly one of stream or message_tag")
    if kind == "storage_policies" and "schema" not in result and "regex" not in result:
        raise ClusterError(path + ".schema", "give schema, or regex with decomposition")
    if kind in ("samplers", "aggregator_plugins"):
        result.setdefault("plugin", result["name"])
    if "offset" in result:
        interval = result.get("interval", DEFAULT_SAMPLE_INTERVAL_US if kind == "samplers" else None)
        check_offset(interval, result["offset"], path + ".offset")
    return result


def identity(kind: str, item: dict) -> str:
    """The name an object is known by on the daemon."""
    if kind == "subscriptions":
        return "%s=%s regex=%s" % ("stream" if "stream" in item else "message_tag",
                                   item.get("stream", item.get("message_tag")), item.get("regex", ".*"))
    return str(item["name"])


def _attrs(item: dict, names) -> List[Tuple[str, object]]:
    return [(name, item[name]) for name in names if item.get(name) is not None]


def config_command(name: str, config) -> Command:
    """``config name=<name> ...`` from a dict (None = bare keyword, list = repeated key) or a string."""
    if isinstance(config, str):
        return Command("config", (("name", name),) + tuple((token, None) for token in config.split()))
    attrs = [("name", name)]
    for key, value in config.items():
        if value is None or value.__class__ is str:  # the common case, kept cheap: it runs per daemon
            attrs.append((key, value))
        elif isinstance(value, list):
            attrs.extend((key, as_text(item)) for item in value)
        else:
            attrs.append((key, as_text(value)))
    return Command("config", tuple(attrs))


# -- create commands, per kind ---------------------------------------------

def producer_add(item: dict) -> List[Command]:
    names = ("name", "host", "port", "xprt", "type", "reconnect", "perm", "auth", "rail", "quota", "rx_rate", "cache_ip")
    return [Command.make("prdcr_add", *_attrs(item, names))]


def updater_add(item: dict) -> List[Command]:
    mode = item.get("mode", "pull")
    flags = {"push": [("push", "true")], "onchange": [("push", "onchange")],
             "auto": [("auto_interval", "true")]}.get(mode, [])
    commands = [Command.make("updtr_add", *_attrs(item, ("name", "interval", "offset")), *flags,
                             *_attrs(item, ("perm",)))]
    commands += [Command.make("updtr_prdcr_add", ("name", item["name"]), ("regex", regex))
                 for regex in item.get("producers", [".*"])]
    commands += [Command.make("updtr_match_add", ("name", item["name"]), ("regex", match["regex"]),
                              ("match", match.get("field", "inst"))) for match in item.get("sets", [])]
    return commands


def storage_policy_add(item: dict) -> List[Command]:
    commands = [Command.make("strgp_add", *_attrs(item, ("name", "plugin", "container", "schema", "regex",
                                                         "decomposition", "perm", "flush")))]
    commands += [Command.make("strgp_prdcr_add", ("name", item["name"]), ("regex", regex))
                 for regex in item.get("producers", [])]
    commands += [Command.make("strgp_metric_add", ("name", item["name"]), ("metric", metric))
                 for metric in item.get("metrics", [])]
    return commands


def store_plugin_commands(item: dict) -> List[Command]:
    """``load`` + ``config`` of the store plugin instance a policy uses."""
    settings = dict(item.get("plugin_config") or {})
    library = settings.pop("plugin", item["plugin"])
    commands = [Command.make("load", ("name", item["plugin"]), ("plugin", library))]
    if settings:
        commands.append(config_command(item["plugin"], settings))
    return commands


def plugin_load(item: dict) -> List[Command]:
    name = item["name"]
    commands = [Command("load", (("name", name), ("plugin", item.get("plugin") or name)))]
    commands += [config_command(name, config) for config in item.get("config", ())]
    return commands


def plugin_start(item: dict, required: bool) -> List[Command]:
    interval = item.get("interval")
    if interval is None:
        if not required:
            return []
        interval = DEFAULT_SAMPLE_INTERVAL_US
    attrs = (("name", item["name"]), ("interval", as_text(interval)))
    if item.get("offset") is not None:
        attrs += (("offset", as_text(item["offset"])),)
    return [Command("start", attrs)]


def start_command(kind: str, item: dict) -> List[Command]:
    spec = KINDS[kind]
    if kind == "samplers":
        return plugin_start(item, required=True)
    if kind == "aggregator_plugins":
        return plugin_start(item, required=False)
    return [Command.make(spec.start, ("name", item["name"]))] if spec.start else []


def stop_command(kind: str, item: dict) -> List[Command]:
    spec = KINDS[kind]
    if kind == "aggregator_plugins" and item.get("interval") is None:
        return []
    return [Command.make(spec.stop, ("name", item["name"]))] if spec.stop else []


def delete_command(kind: str, item: dict) -> List[Command]:
    spec = KINDS[kind]
    if kind == "subscriptions":
        return [Command.make("prdcr_unsubscribe", ("regex", item.get("regex", ".*")),
                             *_attrs(item, ("stream", "message_tag")))]
    return [Command.make(spec.delete, ("name", item["name"]))]


def add_commands(kind: str, item: dict) -> List[Command]:
    """The commands that create one object, without starting it."""
    if kind == "producers":
        return producer_add(item)
    if kind == "updaters":
        return updater_add(item)
    if kind == "storage_policies":
        return storage_policy_add(item)
    if kind in ("samplers", "aggregator_plugins"):
        return plugin_load(item)
    if kind == "subscriptions":
        return [Command.make("prdcr_subscribe", *_attrs(item, ("stream", "message_tag", "rx_rate", "regex")))]
    if kind == "advertisers":
        # The control API (unlike a config file) refuses advertiser_add without it.
        names = ("name", "host", "xprt", "port", "reconnect", "auth", "perm", "rail", "quota", "rx_rate")
        return [Command.make("advertiser_add", *_attrs(item, names), ("type", "advertiser"))]
    spec = KINDS[kind]
    return [Command.make(spec.add, *_attrs(item, [attr for attr, _parser in spec.attrs]))]


def create_commands(kind: str, items: List[dict]) -> List[Command]:
    """Create and start every object of one kind, in the order given.

    A store plugin instance shared by several policies is loaded once,
    before the first policy that uses it.
    """
    commands: List[Command] = []
    loaded_stores = set()
    for item in items:
        if kind == "storage_policies" and item["plugin"] not in loaded_stores:
            loaded_stores.add(item["plugin"])
            commands += store_plugin_commands(item)
        commands += add_commands(kind, item)
        commands += start_command(kind, item)
    return commands
