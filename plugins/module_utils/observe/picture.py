# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology as an SVG: samplers -> level-1 -> level-2 ... -> stores.

One box per sampler group, aggregator group and storage policy, so that the
picture stays the same size however many daemons a group has: a group shows
counts, and lists only its problem daemons (as hostlists). Given a reconcile
report, boxes and aggregators are coloured by the last run; without one (the
render) everything is drawn neutral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Dict, List, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import compress
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster

# State -> (fill, stroke); also the legend of the status page.
COLOURS = {
    "alive": ("#e8f5e9", "#2e7d32"),
    "dead": ("#ffebee", "#c62828"),
    "moved": ("#e3f2fd", "#1565c0"),
    "missing": ("#fff3e0", "#ef6c00"),
    "unknown": ("#f5f5f5", "#616161"),
}
LEGEND = (("alive", "alive"), ("dead", "dead or down"), ("moved", "took over moved producers"),
          ("missing", "sets missing at the top, or not answering"), ("unknown", "not probed"))
LIST_INLINE = 8  # aggregators drawn one per line up to this many in a group
BOX_WIDTH, COLUMN_GAP, LINE, PAD, BOX_GAP = 270, 60, 17, 8, 24


@dataclass
class Box:
    key: str
    title: str
    lines: List[Tuple[str, str]] = field(default_factory=list)  # (text, state)
    state: str = "unknown"
    sources: List[str] = field(default_factory=list)


def _worst(states) -> str:
    for state in ("dead", "missing", "moved", "alive"):
        if state in states:
            return state
    return "unknown"


def _names(names: List[str]) -> str:
    return compress(names) if names else ""


def topology_boxes(cluster: Cluster, report: Optional[dict] = None) -> List[List[Box]]:
    """Columns of boxes, left to right; ``report`` is a reconcile report or None."""
    known = report is not None
    report = report or {}
    dead = set(report.get("dead", []))
    unresponsive = set(report.get("unresponsive", []))
    down = set(report.get("samplers_down", []))
    took_over: Dict[str, int] = {}
    for move in report.get("moved", []):
        took_over[move["to"]] = took_over.get(move["to"], 0) + 1
    missing_by_sampler: Dict[str, int] = {}
    for item in report.get("missing_sets", []):
        missing_by_sampler[item["sampler"]] = missing_by_sampler.get(item["sampler"], 0) + 1

    columns: List[List[Box]] = [[]]
    sampler_box: Dict[str, str] = {}
    for index, group in enumerate(cluster.samplers):
        key = "S%d" % index
        plugins = ", ".join(instance.key for instance in group.plugins)
        box = Box(key, "samplers %s" % _names(group.daemons))
        box.lines.append(("%d daemons: %s" % (len(group.daemons), plugins), "unknown"))
        if known:
            group_down = [name for name in group.daemons if name in down]
            lacking = [name for name in group.daemons if name in missing_by_sampler and name not in down]
            box.lines.append(("%d up, %d down" % (len(group.daemons) - len(group_down), len(group_down)),
                              "dead" if group_down else "alive"))
            if group_down:
                box.lines.append(("down: " + _names(group_down), "dead"))
            if lacking:
                box.lines.append(("sets missing: " + _names(lacking), "missing"))
            box.state = _worst({"dead" if group_down else "alive", "missing" if lacking else "alive"})
        columns[0].append(box)
        for name in group.daemons:
            sampler_box.setdefault(name, key)

    group_box: Dict[str, str] = {}
    daemon_group: Dict[str, str] = {}
    for group in cluster.aggregators:
        for name in group.daemons:
            daemon_group.setdefault(name, group.key)
    for index, group in enumerate(sorted(cluster.aggregators, key=lambda g: g.level)):
        key = "A%d" % index
        group_box[group.key] = key
        box = Box(key, "L%d %s" % (group.level, group.key))
        box.lines.append(("%d aggregators, %d producers" % (len(group.daemons), len(group.producers)), "unknown"))
        states = {}
        for name in group.daemons:
            if not known:
                states[name] = "unknown"
            elif name in dead:
                states[name] = "dead"
            elif name in took_over:
                states[name] = "moved"
            elif name in unresponsive:
                states[name] = "missing"
            else:
                states[name] = "alive"
        if len(group.daemons) <= LIST_INLINE:
            for name in group.daemons:
                extra = {"dead": " dead", "moved": " took %d producers" % took_over.get(name, 0),
                         "missing": " not answering"}.get(states[name], "")
                box.lines.append(("\u25cf %s%s" % (name, extra), states[name]))
        elif known:
            for state, label in (("alive", "alive"), ("moved", "took over producers"), ("dead", "dead"),
                                 ("missing", "not answering")):
                names = [name for name in group.daemons if states[name] == state]
                if names and state == "alive":
                    box.lines.append(("%d alive" % len(names), state))
                elif names:
                    box.lines.append(("%s: %s" % (label, _names(names)), state))
        box.state = _worst(set(states.values())) if known else "unknown"
        for producer in group.producers:
            upstream = sampler_box.get(producer.daemon)
            if producer.daemon in daemon_group and daemon_group[producer.daemon] != group.key:
                upstream = group_box.get(daemon_group[producer.daemon])
            if upstream and upstream not in box.sources:
                box.sources.append(upstream)
        while len(columns) <= group.level:
            columns.append([])
        columns[group.level].append(box)

    stores: List[Box] = []
    for index, policy in enumerate(cluster.stores):
        box = Box("T%d" % index, "store %s" % policy.name)
        box.lines.append(("%s: %s" % (policy.plugin.plugin, policy.container), "unknown"))
        box.lines.append(("schema %s" % (policy.schema or policy.regex or policy.decomposition or "?"), "unknown"))
        holders = [name for name in policy.daemons if name in daemon_group]
        if known:
            live = [name for name in holders if name not in dead]
            box.state = "alive" if live else "dead"
        box.sources = list(dict.fromkeys(group_box[daemon_group[name]] for name in holders))
        stores.append(box)
    columns = [column for column in columns if column]
    if stores:
        columns.append(stores)
    return columns


def _box_height(box: Box) -> int:
    return PAD * 2 + LINE * (len(box.lines) + 1)


def topology_svg(columns: List[List[Box]], title: str = "LDMS cluster topology") -> str:
    """A standalone SVG document of the boxes; edges run from each source to its box."""
    positions: Dict[str, Tuple[int, int, int]] = {}
    height = 0
    for col, boxes in enumerate(columns):
        y = 40
        for box in boxes:
            positions[box.key] = (20 + col * (BOX_WIDTH + COLUMN_GAP), y, _box_height(box))
            y += _box_height(box) + BOX_GAP
        height = max(height, y)
    width = 40 + len(columns) * BOX_WIDTH + max(0, len(columns) - 1) * COLUMN_GAP
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="13" role="img" aria-label="%s">'
           % (width, height, width, height, escape(title)),
           '<title>%s</title>' % escape(title)]
    headers = []
    for col, boxes in enumerate(columns):
        kind = boxes[0].key[0]
        headers.append({"S": "samplers", "A": "level %s" % boxes[0].title.split()[0][1:], "T": "stores"}[kind])
        out.append('<text x="%d" y="22" font-weight="bold" fill="#333">%s</text>'
                   % (20 + col * (BOX_WIDTH + COLUMN_GAP), escape(headers[-1])))
    for boxes in columns:
        for box in boxes:
            x, y, h = positions[box.key]
            for source in box.sources:
                if source not in positions:
                    continue
                sx, sy, sh = positions[source]
                x1, y1, y2 = sx + BOX_WIDTH, sy + sh // 2, y + h // 2
                middle = (x1 + x) // 2
                out.append('<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#90a4ae" stroke-width="2"/>'
                           % (x1, y1, middle, y1, middle, y2, x, y2))
    for boxes in columns:
        for box in boxes:
            x, y, h = positions[box.key]
            fill, stroke = COLOURS[box.state]
            out.append('<g class="node state-%s" data-key="%s">' % (box.state, box.key))
            out.append('<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="2"/>'
                       % (x, y, BOX_WIDTH, h, fill, stroke))
            out.append('<text x="%d" y="%d" font-weight="bold">%s</text>'
                       % (x + PAD, y + PAD + 12, escape(_clip(box.title))))
            for number, (text, state) in enumerate(box.lines, start=1):
                colour = COLOURS[state][1] if state != "unknown" else "#333"
                out.append('<text x="%d" y="%d" fill="%s">%s</text>'
                           % (x + PAD, y + PAD + 12 + number * LINE, colour, escape(_clip(text))))
            out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _clip(text: str, limit: int = 40) -> str:
    # The box is fixed-width; a long hostlist is cut, the full one is in the page's tables.
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
