# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every ldmsd object kind has: typed attributes, commands, facts, a plan.

An item is a dict whose keys are ldmsd's own attribute names (plus a few
list-valued keys such as an updater's ``producers``). A ``Kind`` subclass
describes one kind of ldmsd object through its ``Attr`` list and the few
methods where ldmsd treats it differently; the config files, the resource
modules, their argspecs and docs, and the reconcile all read it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import ere_escape
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import check_key, check_name, check_value
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command, as_text

# The auth domain ldmsd uses when none is named, and reports by this name.
DEFAULT_AUTH_DOMAIN = "DEFAULT"
MISSING = object()  # no default


# -- value parsers: (value, path) -> canonical value, or ClusterError ----------

def text(value, path):
    """One ldmsd attribute value (no space, newline or control character)."""
    if isinstance(value, (dict, list, bool)) or value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise ClusterError(path, "expected a string, got %r" % (value,))
    return check_value(str(value), path)


def parse_name(value, path):
    return check_name(text(value, path), path)


def config_dict(item: dict, path: str) -> dict:
    result = {}
    for key, value in item.items():
        key_path = "%s.%s" % (path, key)
        check_key(key, key_path)
        if isinstance(value, list):
            result[key] = [text(v, "%s[%d]" % (key_path, i)) for i, v in enumerate(value)]
        elif value is None or isinstance(value, bool):
            result[key] = value
        else:
            result[key] = text(value, key_path)
    return result


def mapping(value, path):
    if not isinstance(value, dict):
        raise ClusterError(path, "expected a mapping")
    return config_dict(value, path)


def regex_list(value, path):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list of regular expressions")
    return [text(item, "%s[%d]" % (path, index)) for index, item in enumerate(value)]


def strings(value, path):
    if not isinstance(value, list):
        raise ClusterError(path, "expected a list")
    return [text(item, "%s[%d]" % (path, index)) for index, item in enumerate(value)]


def one_of(choices: Tuple[str, ...], what: str, aliases: Optional[Dict[str, str]] = None, lower: bool = False):
    """A parser of one word out of ``choices`` (``aliases`` read as another word)."""
    def parse(value, path):
        word = text(value, path)
        word = word.lower() if lower else word
        if word not in choices and word not in (aliases or {}):
            raise ClusterError(path, "unknown %s %r (use %s)" % (what, word, ", ".join(choices + tuple(aliases or ()))))
        return (aliases or {}).get(word, word)
    return parse


# -- the attribute descriptor --------------------------------------------------

@dataclass(frozen=True)
class Attr:
    """One attribute of an ldmsd object."""

    name: str
    parse: Callable  # (value, path) -> canonical value
    doc: str  # one line, for the module docs
    type: str = "str"  # the Ansible type the module docs give it (raw: the parser takes several forms)
    elements: Optional[str] = None
    required: bool = False
    choices: Tuple[str, ...] = ()
    default: object = MISSING  # filled in when an item leaves it out
    daemon_default: object = MISSING  # what ldmsd reports when it was not given
    reported: bool = True  # whether ldmsd's status shows it, so that it can be compared
    in_place: bool = False  # whether ldmsd changes it on the stopped object (no re-create)
    written: bool = True  # whether the commands that create the object carry it as name=value


@dataclass
class Plan:
    commands: List[Command] = field(default_factory=list)
    before: List[dict] = field(default_factory=list)
    after: List[dict] = field(default_factory=list)
    # Objects left running as they are: changing them needs a daemon restart.
    kept: List[dict] = field(default_factory=list)


@dataclass
class Context:
    """What planning one kind needs to know of the daemon besides its own objects."""

    producer_names: List[str] = field(default_factory=list)
    plugins: Optional[Dict[str, str]] = None  # plugin instance -> library; None: loads are not planned


def exact_names_regex(names: List[str]) -> str:
    """A POSIX extended regex (what ldmsd's regcomp takes) matching exactly these names."""
    return "^(%s)$" % "|".join(ere_escape(one) for one in names)


def matched_by(regexes: List[str], producer_names: List[str]) -> List[str]:
    patterns = [re.compile(regex) for regex in regexes]
    return sorted(one for one in producer_names if any(p.search(one) for p in patterns))


def int_or(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def dash(value):
    """ldmsd's "-" (or nothing) for an attribute that is not set."""
    return None if value in (None, "-", "") else value


def config_command(instance: str, config) -> Command:
    """``config name=<name> ...`` from a dict (None = bare keyword, list = repeated key) or a string."""
    if isinstance(config, str):
        return Command("config", (("name", instance),) + tuple((token, None) for token in config.split()))
    attrs = [("name", instance)]
    for key, value in config.items():
        if value is None or value.__class__ is str:  # the common case, kept cheap: it runs per daemon
            attrs.append((key, value))
        elif isinstance(value, list):
            attrs.extend((key, as_text(item)) for item in value)
        else:
            attrs.append((key, as_text(value)))
    return Command("config", tuple(attrs))


def pairs(item: dict, names) -> List[Tuple[str, object]]:
    return [(one, item[one]) for one in names if item.get(one) is not None]


class Kind:
    """One kind of ldmsd object; subclasses set the class attributes and override what differs."""

    name = ""
    attrs: Tuple[Attr, ...] = ()
    add = start = stop = delete = None  # the ldmsd verbs
    # 4.5.3 cannot delete these once started: prdcr_start takes a reference that prdcr_stop does not drop.
    undeletable_once_started = False
    restart_after_failure = False  # a stop that a failed command list sent is undone with a start
    shared_items = False  # whether one item may serve many daemons, its lines rendered once

    def __init__(self):
        self.by_name = {attr.name: attr for attr in self.attrs}
        self.in_place = {attr.name for attr in self.attrs if attr.in_place}
        self.unreported = tuple(attr.name for attr in self.attrs if not attr.reported)
        self.daemon_defaults = {attr.name: attr.daemon_default for attr in self.attrs
                                if attr.daemon_default is not MISSING}
        self.written = tuple(attr.name for attr in self.attrs if attr.written)

    # -- items -------------------------------------------------------------
    def normalize(self, item: dict, path: str) -> dict:
        """Validate one item and return it canonical: typed values, defaults filled."""
        if not isinstance(item, dict):
            raise ClusterError(path, "expected a mapping")
        unknown = [key for key in item if key not in self.by_name]
        if unknown:
            raise ClusterError(path, "unknown attribute%s %s for %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(repr(k) for k in unknown), self.name))
        result = {}
        for attr in self.attrs:
            if item.get(attr.name) is not None:
                result[attr.name] = attr.parse(item[attr.name], "%s.%s" % (path, attr.name))
        for attr in self.attrs:
            if attr.default is not MISSING:
                result.setdefault(attr.name, attr.default)
        for attr in self.attrs:
            if attr.required and attr.name not in result:
                raise ClusterError("%s.%s" % (path, attr.name), "required attribute is missing")
        self.check(result, path)
        return result

    def check(self, item: dict, path: str):
        """Rules between attributes of a typed item."""

    def item(self, values: dict) -> dict:
        """An item from attribute values (None: not given), in the attributes' order."""
        return {attr.name: values[attr.name] for attr in self.attrs if values.get(attr.name) is not None}

    # -- module interface --------------------------------------------------
    def doc_options(self) -> dict:
        """The documentation of a resource module's ``config`` items: one suboption per attribute."""
        options = {}
        for attr in self.attrs:
            description = [attr.doc]
            if attr.required:
                description.append("Required.")
            if attr.default is not MISSING and attr.default != []:
                description.append("Default C(%s)." % attr.default)
            if attr.daemon_default not in (MISSING, None, []) and attr.daemon_default != attr.default:
                description.append("ldmsd's value when it is not given: C(%s)." % attr.daemon_default)
            if not attr.reported:
                description.append("ldmsd does not report it back, so a change of it alone is not seen.")
            if attr.in_place:
                description.append("Changes on the stopped object, without re-creating it.")
            options[attr.name] = {"description": description, "type": attr.type}
            if attr.choices:
                options[attr.name]["choices"] = list(attr.choices)
            if attr.elements:
                options[attr.name]["elements"] = attr.elements
        return options

    def identity(self, item: dict) -> str:
        """The name an object is known by on the daemon."""
        return str(item["name"])

    # -- commands ----------------------------------------------------------
    def add_commands(self, item: dict) -> List[Command]:
        """The commands that create one object, without starting it."""
        return [Command.make(self.add, *pairs(item, self.written))]

    def start_commands(self, item: dict) -> List[Command]:
        return [Command.make(self.start, ("name", item["name"]))] if self.start else []

    def stop_commands(self, item: dict) -> List[Command]:
        return [Command.make(self.stop, ("name", item["name"]))] if self.stop else []

    def delete_commands(self, item: dict) -> List[Command]:
        return [Command.make(self.delete, ("name", item["name"]))]

    def prepare_commands(self, item: dict, context: Context) -> List[Command]:
        """What the daemon needs before the object can be added (nothing, but for storage policies)."""
        return []

    def create_commands(self, items: List[dict]) -> List[Command]:
        """Create and start every object of this kind, in the order given."""
        commands: List[Command] = []
        context = Context(plugins={})
        for item in items:
            commands += self.prepare_commands(item, context)
            commands += self.add_commands(item) + self.start_commands(item)
        return commands

    def change_in_place(self, want: dict, fact: dict, keys: List[str], context: Context) -> List[Command]:
        """The commands that change ``keys`` (all ``in_place``) on the stopped object."""
        return []

    def change_commands(self, want: dict, fact: dict, keys: List[str], context: Context) -> List[Command]:
        """Commands that turn the object described by ``fact`` into ``want``.

        ldmsd has no modify: what changes in place changes on the stopped
        object (stop, change, start); anything else is stop, delete, add, start.
        """
        stop = self.stop_commands(fact["item"]) if fact["running"] else []
        if set(keys) <= self.in_place:
            return stop + self.change_in_place(want, fact, keys, context) + self.start_commands(want)
        return stop + self.delete_commands(fact["item"]) + self.add_commands(want) + self.start_commands(want)

    def delete_object(self, fact: dict) -> List[Command]:
        stop = self.stop_commands(fact["item"]) if fact["running"] else []
        return stop + self.delete_commands(fact["item"])

    # -- facts -------------------------------------------------------------
    def facts(self, client) -> Dict[str, dict]:
        """identity -> {"item": the object as an item, "running": bool, ...} from the daemon's status."""
        raise NotImplementedError

    def context(self, client) -> Context:
        """What planning needs besides the facts, read from the daemon."""
        return Context()

    def empty_context(self) -> Context:
        """The context of a daemon that has nothing yet."""
        return Context()

    # -- comparison --------------------------------------------------------
    def comparable(self, want: dict, replaced: bool, context: Context) -> dict:
        """What of ``want`` the daemon's status can show, as it would show it."""
        result = {key: value for key, value in want.items() if key not in self.unreported}
        if replaced:
            for key, value in self.daemon_defaults.items():
                result.setdefault(key, value)
        return result

    def same(self, key: str, wanted, current, fact: dict, context: Context) -> bool:
        if key == "offset":  # ldmsd reports no offset as 0
            return (wanted or None) == (current or None)
        return current == wanted

    def differing_keys(self, want: dict, fact: dict, replaced: bool, context: Context) -> List[str]:
        """The attributes in which the object on the daemon is not what is wanted."""
        have = fact["item"]
        return [key for key, value in self.comparable(want, replaced, context).items()
                if not self.same(key, value, have.get(key), fact, context)]

    # -- planning ----------------------------------------------------------
    def plan(self, state: str, wanted: List[dict], facts: Dict[str, dict], context: Context,
             scope: Optional[str] = None, keep_started: bool = False) -> Plan:
        """The ordered commands that take the daemon from ``facts`` to ``wanted``.

        With ``keep_started``, a running object that ldmsd cannot delete and
        that would have to be re-created is left running as it is and listed
        in ``kept``: its deletion would be refused and its data would stop.
        """
        plan = Plan(before=[fact["item"] for fact in facts.values()])
        after = {key: dict(fact["item"]) for key, fact in facts.items()}
        if state == "deleted":
            for item in wanted:
                key = self.identity(item)
                if key in facts:
                    plan.commands += self.delete_object(facts[key])
                    after.pop(key)
            plan.after = list(after.values())
            return plan
        if state == "overridden":
            wanted_names = {self.identity(item) for item in wanted}
            pattern = re.compile(scope)
            for key, fact in facts.items():
                if key not in wanted_names and pattern.search(key):
                    plan.commands += self.delete_object(fact)
                    after.pop(key)
        replaced = state in ("replaced", "overridden")
        for item in wanted:
            key = self.identity(item)
            fact = facts.get(key)
            keys = self.differing_keys(item, fact, replaced, context) if fact else []
            if fact is None or keys:
                plan.commands += self.prepare_commands(item, context)
            if fact is None:
                plan.commands += self.add_commands(item) + self.start_commands(item)
            elif keys and keep_started and fact["running"] and self.undeletable_once_started \
                    and not set(keys) <= self.in_place:
                plan.kept.append({"name": key, "differs": keys})
                continue
            elif keys:
                plan.commands += self.change_commands(item, fact, keys, context)
            elif not fact["running"]:
                plan.commands += self.start_commands(item)
            else:
                continue
            merged = dict(after.get(key, {})) if state == "merged" else {}
            merged.update(item)
            after[key] = merged
        plan.after = list(after.values())
        return plan
