# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""status.html: one self-contained page (inline CSS and SVG, no scripts, no fetches) of the last reconcile."""

from __future__ import annotations

import time
from html import escape
from typing import Dict, List

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.observe.picture import (
    COLOURS,
    LEGEND,
    topology_boxes,
    topology_svg,
)

STATUS_FILE = "status.html"
ROWS = 500  # rows per table; the rest is counted, the full lists are in the report

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}
h2{font-size:1.1em;margin:1.4em 0 .4em}
.summary{font-size:1.05em}
.ok{color:#2e7d32;font-weight:bold}.bad{color:#c62828;font-weight:bold}
table{border-collapse:collapse;margin:.3em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:.92em}
th{background:#eee}
.legend span{display:inline-block;margin-right:1.2em}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;border:2px solid;vertical-align:middle}
.picture{overflow:auto;border:1px solid #ddd;padding:4px}
.picture svg{max-width:100%;height:auto}
"""


def _table(element_id: str, headers: List[str], rows: List[List[str]]) -> str:
    if not rows:
        return '<p id="%s">none</p>' % element_id
    out = ['<table id="%s"><tr>%s</tr>' % (element_id, "".join("<th>%s</th>" % escape(h) for h in headers))]
    for row in rows[:ROWS]:
        out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % escape(str(cell)) for cell in row))
    out.append("</table>")
    if len(rows) > ROWS:
        out.append("<p>and %d more (see reconcile-report.json)</p>" % (len(rows) - ROWS))
    return "\n".join(out)


def status_html(cluster: Cluster, report: dict, cluster_name: str = "", now: float = None) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() if now is None else now))
    missing = report.get("missing_sets", [])
    reasons: Dict[str, int] = {}
    for item in missing:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    healthy = report.get("converged") and not report.get("dead") and not report.get("samplers_down")
    summary = ("%d aggregators alive, %d dead; %d samplers down; %d producers moved; %d sets missing at the top"
               % (len(report.get("alive", [])), len(report.get("dead", [])), len(report.get("samplers_down", [])),
                  len(report.get("moved", [])), len(missing)))
    problems = [[name, "aggregator", "dead"] for name in report.get("dead", [])]
    problems += [[name, "aggregator", "not answering (not yet dead)"]
                 for name in report.get("unresponsive", []) if name not in report.get("dead", [])]
    problems += [[name, "sampler", "down"] for name in report.get("samplers_down", [])]
    problems += [[item["group"], "aggregator group", item["reason"]] for item in report.get("failed_groups", [])]
    problems += [[item["daemon"], "daemon", item["error"]] for item in report.get("errors", [])]
    legend = "".join('<span><i style="background:%s;border-color:%s"></i>%s</span>'
                     % (COLOURS[state][0], COLOURS[state][1], escape(label)) for state, label in LEGEND)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>LDMS status %s</title>" % escape(cluster_name),
        "<style>%s</style></head><body>" % _CSS,
        "<h1>LDMS cluster %s</h1>" % escape(cluster_name),
        '<p class="summary">Last reconcile %s (%.1f s): <span class="%s" id="verdict">%s</span><br>%s</p>'
        % (escape(when), report.get("duration_s", 0.0), "ok" if healthy else "bad",
           "healthy" if healthy else "needs attention", escape(summary)),
        '<div class="legend">%s</div>' % legend,
        '<h2>Topology</h2><div class="picture">%s</div>' % topology_svg(
            topology_boxes(cluster, report), title="LDMS topology %s" % cluster_name),
        "<h2>Problems</h2>",
        _table("problems", ["name", "kind", "state"], problems),
        "<h2>Missing sets</h2>",
        "<p>%s</p>" % escape(", ".join("%s: %d" % item for item in sorted(reasons.items())) or "every set arrives"),
        _table("missing-sets", ["set", "sampler", "reason"],
               [[item["set"], item["sampler"], item["reason"]] for item in missing]),
        "<h2>Last moves</h2>",
        _table("moves", ["producer", "from", "to", "group"],
               [[m["producer"], m["from"], m["to"], m["group"]] for m in report.get("moved", [])]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
