# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One ldmsd request, as a config-file line or as (verb, attributes).

This is the single vocabulary shared by the offline renderer, the resource
modules (``state: rendered`` and the ``commands`` they return) and the live
client that sends requests over the control API.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional, Tuple

AttrValue = Optional[str]

# ldmsd reads a file line by line (a trailing backslash joins the next) and
# splits a line into attributes at spaces and tabs.
_LINE_BREAKER = re.compile(r"[\x00-\x1f\x7f]|\\$")
_SPLITS = re.compile(r"[ \t]")
Attrs = Tuple[Tuple[str, AttrValue], ...]


def as_text(value) -> AttrValue:
    """ldmsd attribute values are strings; keep None as a bare keyword."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Command(NamedTuple):
    """An ldmsd request: a verb and its attributes in the order written.

    An attribute whose value is None is written as a bare keyword (for
    example ``timing`` in a plugin ``config`` line).
    """

    verb: str
    attrs: Attrs = ()

    @classmethod
    def make(cls, verb: str, *pairs: Tuple[str, object], **kwargs) -> "Command":
        """Build a command, dropping attributes whose value is None.

        Positional pairs keep their order and may carry None to mean a bare
        keyword; keyword arguments are optional attributes (None = omitted).
        """
        attrs = [(key, value if value.__class__ is str else as_text(value)) for key, value in pairs]
        if kwargs:
            attrs += [(key, as_text(value)) for key, value in kwargs.items() if value is not None]
        return cls(verb, tuple(attrs))

    def get(self, key: str, default: AttrValue = None) -> AttrValue:
        for name, value in self.attrs:
            if name == key:
                return value
        return default

    def text(self) -> str:
        """The ldmsd config-file line for this command.

        The last guard before a file: values are checked where they are read
        (with their YAML path), and a line that ldmsd would read as more than
        this command is never written.
        """
        line = " ".join([self.verb] + [key if value is None else key + "=" + value for key, value in self.attrs])
        # One space per attribute means no token holds one (a tab is a
        # control character); only otherwise is each attribute looked at.
        if _LINE_BREAKER.search(line) or (line.count(" ") != len(self.attrs) and any(
                _SPLITS.search(key if value is None else value) for key, value in self.attrs)):
            raise ValueError("refusing to write an ldmsd line that would not read back as one %s command: %r"
                             % (self.verb, line))
        return line

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.text()
