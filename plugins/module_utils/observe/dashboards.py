# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana dashboards generated from the cluster file, built with grafana-foundation-sdk.

* One dashboard per SOS container and schema that a storage policy writes:
  its panels query that container and schema through the ldms-grafana SOS
  data source (dsosds), with template variables for the container, the
  schema, the component (``component_id`` filter, labelled by host) and the
  metrics.
* One overview dashboard per aggregator group: its members, what flows in
  and out, a panel per SOS schema it carries, and (given a Prometheus data
  source) the reconcile's health metrics of the group.

The query fields are the dsosds plugin's: queryType, format, analysisModule,
container, schema, target (the metrics, comma separated), extraParams,
filters. Policies of other stores (CSV, Kafka, ...) cannot be queried through
it: they are listed on the overviews only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import compress
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster, StorePolicy
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import write_atomic

try:
    from grafana_foundation_sdk.builders import dashboard as gdash
    from grafana_foundation_sdk.builders import prometheus as gprom
    from grafana_foundation_sdk.builders import stat as gstat
    from grafana_foundation_sdk.builders import table as gtable
    from grafana_foundation_sdk.builders import text as gtext
    from grafana_foundation_sdk.builders import timeseries as gtimeseries
    from grafana_foundation_sdk.cog import builder as cogbuilder
    from grafana_foundation_sdk.cog import variants as cogvariants
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import dashboard as gmodel
    from grafana_foundation_sdk.models.text import TextMode
    HAS_GRAFANA_SDK = True
    _QueryBase = cogvariants.Dataquery
    _BuilderBase = cogbuilder.Builder
except ImportError:  # the action reports it with missing_required_lib
    HAS_GRAFANA_SDK = False
    _QueryBase = _BuilderBase = object

# The SOS data source provisioned by the hpc.ldms.grafana role (grafana_datasource_uid defaults to this).
DATASOURCE_TYPE = "dsosds"
DATASOURCE_UID = "hpc-ldms-sos"
SOS_STORES = ("store_sos",)
FILE_PREFIX = "hpc-ldms-"
TAG = "hpc-ldms"
# Metrics a panel shows first, per sampler plugin; any other metric of the schema can be typed in.
DEFAULT_METRICS = {
    "meminfo": ["MemFree", "MemAvailable", "Cached", "Active"],
    "vmstat": ["pgfault", "pgmajfault", "pswpin", "pswpout"],
    "procstat": ["user", "nice", "sys", "idle"],
    "loadavg": ["load1min", "load5min", "load15min"],
}
ALL_COMPONENTS = "component_id >= 0"


class SosQuery(_QueryBase):
    """A dsosds query target."""

    def __init__(self, ref_id: str, container: str, schema: str, target: str, query_type: str = "metrics",
                 query_format: str = "time_series", filters: str = "", analysis_module: str = "",
                 extra_params: str = "", datasource_uid: str = DATASOURCE_UID):
        self.fields = {
            "refId": ref_id, "datasource": {"type": DATASOURCE_TYPE, "uid": datasource_uid},
            "queryType": query_type, "format": query_format, "container": container, "schema": schema,
            "target": target, "filters": filters, "analysisModule": analysis_module, "extraParams": extra_params,
            "frequency": 1.0,
        }

    def to_json(self) -> dict:
        return dict(self.fields)


class SosQueryBuilder(_BuilderBase):
    def __init__(self, query: SosQuery):
        self.query = query

    def build(self) -> SosQuery:
        return self.query


@dataclass
class SchemaSource:
    """One SOS container and schema, and what writes it."""

    container: str
    schema: str
    policies: List[str] = field(default_factory=list)
    aggregators: List[str] = field(default_factory=list)
    plugins: List[str] = field(default_factory=list)  # sampler plugin libraries producing the schema
    samplers: List[str] = field(default_factory=list)


def slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_.-]+", "-", text)).strip("-") or "x"


def dashboard_uid(kind: str, key: str) -> str:
    """Also the file name. Grafana uids are at most 40 characters; a key that a slug would change
    (or that is long) gets a digest, so that two keys never share a uid."""
    uid = "%s%s-%s" % (FILE_PREFIX, kind, slug(key))
    if len(uid) <= 40 and slug(key) == key:
        return uid
    return uid[:29] + "-" + hashlib.sha1(key.encode()).hexdigest()[:10]


def _schemas_by_sampler(cluster: Cluster) -> Dict[str, Dict[str, str]]:
    """Sampler daemon -> {schema: plugin library}; a config without a schema uses the plugin's name."""
    result: Dict[str, Dict[str, str]] = {}
    for group in cluster.samplers:
        schemas = {}
        for instance in group.plugins:
            for config in instance.config or [{}]:
                schema = config.get("schema") if isinstance(config, dict) else None
                schemas.setdefault(str(schema or instance.plugin), instance.plugin)
        for name in group.daemons:
            result.setdefault(name, {}).update(schemas)
    return result


def sos_sources(cluster: Cluster) -> List[SchemaSource]:
    """The SOS containers and schemas the storage policies write, in cluster-file order."""
    per_sampler = _schemas_by_sampler(cluster)
    found: Dict[tuple, SchemaSource] = {}
    for policy in cluster.stores:
        if policy.plugin.plugin not in SOS_STORES or not policy.schema:
            continue
        source = found.setdefault((policy.container, policy.schema), SchemaSource(policy.container, policy.schema))
        source.policies.append(policy.name)
        source.aggregators += [name for name in policy.daemons if name not in source.aggregators]
    for source in found.values():
        for sampler, schemas in per_sampler.items():
            if source.schema in schemas:
                source.samplers.append(sampler)
                if schemas[source.schema] not in source.plugins:
                    source.plugins.append(schemas[source.schema])
    return list(found.values())


def _custom(name: str, label: str, options: List[tuple], allow_custom: bool = False, multi: bool = False):
    """A custom variable of (text, value) options, the first selected."""
    query = ",".join(value if text == value else "%s : %s" % (text, value) for text, value in options)
    variable = (gdash.CustomVariable(name).label(label).values(query).multi(multi)
                .allow_custom_value(allow_custom)
                .options([gmodel.VariableOption(selected=multi or index == 0, text=text, value=value)
                          for index, (text, value) in enumerate(options)]))
    if options:
        first = options[0] if not multi else ([text for text, unused in options], [value for unused, value in options])
        variable.current(gmodel.VariableOption(selected=True, text=first[0], value=first[1]))
    return variable


def _component_options(cluster: Cluster, samplers: List[str]) -> List[tuple]:
    """"all" and, where the cluster file sets a literal component_id, one option per sampler host."""
    options = [("all", ALL_COMPONENTS)]
    for group in cluster.samplers:
        for instance in group.plugins:
            for config in instance.config:
                value = config.get("component_id") if isinstance(config, dict) else None
                if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                    for name in group.daemons:
                        if name in samplers:
                            option = ("%s (%s)" % (cluster.daemons[name].host, value), "component_id == %s" % value)
                            if option not in options:
                                options.append(option)
    return options


def _sos_panel(kind, title: str, query: SosQuery, datasource_uid: str, height: int, width: int):
    panel = (kind().title(title).datasource(gmodel.DataSourceRef(type_val=DATASOURCE_TYPE, uid=datasource_uid))
             .with_target(SosQueryBuilder(query)).height(height).span(width))
    return panel


def _dashboard(uid: str, title: str, tags: List[str]):
    return (gdash.Dashboard(title).uid(uid).tags([TAG] + tags).time("now-1h", "now").refresh("1m")
            .timezone("browser").editable())


def schema_dashboard(cluster: Cluster, source: SchemaSource, datasource_uid: str = DATASOURCE_UID):
    metrics = []
    for plugin in source.plugins:
        metrics += [m for m in DEFAULT_METRICS.get(plugin, []) if m not in metrics]
    others = {p.container for p in cluster.stores if p.schema == source.schema and p.plugin.plugin in SOS_STORES}
    containers = [source.container] + sorted(others - {source.container})
    builder = _dashboard(dashboard_uid("schema", "%s-%s" % (source.container, source.schema)),
                         "LDMS %s / %s" % (source.container, source.schema), ["schema"])
    builder.with_variable(_custom("container", "container", [(c, c) for c in containers], allow_custom=True))
    builder.with_variable(_custom("schema", "schema", [(source.schema, source.schema)], allow_custom=True))
    builder.with_variable(_custom("component_id", "component_id / host",
                                  _component_options(cluster, source.samplers), allow_custom=True))
    builder.with_variable(_custom("metric", "metric", [(m, m) for m in metrics], allow_custom=True, multi=True))
    about = ("Stored by %s on %s (policies %s) from %d samplers (%s) running %s.\n\n"
             "Pick metrics above, or type any metric of the schema." % (
                 "SOS", compress(source.aggregators), ", ".join(source.policies), len(source.samplers),
                 compress(source.samplers) if source.samplers else "none", ", ".join(source.plugins) or "?"))
    builder.with_panel(gtext.Panel().title("About").mode(TextMode.MARKDOWN).content(about).height(4).span(24))
    series = SosQuery("A", "$container", "$schema", "$metric", filters="$component_id", datasource_uid=datasource_uid)
    builder.with_panel(_sos_panel(gtimeseries.Panel, "$metric", series, datasource_uid, 9, 24)
                       .repeat("metric").repeat_direction("h").max_per_row(2))
    builder.with_panel(_sos_panel(
        gtable.Panel, "Latest rows of $schema", SosQuery(
            "A", "$container", "$schema", "timestamp,component_id,job_id,${metric:csv}", query_format="table",
            filters="$component_id", datasource_uid=datasource_uid), datasource_uid, 10, 24))
    return builder


def _group_markdown(cluster: Cluster, group, sources: List[SchemaSource], stores: List[StorePolicy]) -> str:
    levels = cluster.levels()
    upstream = sorted({p.daemon for p in group.producers})
    lines = ["**Level %d aggregators** %s (%d)" % (group.level, compress(group.daemons), len(group.daemons)),
             "",
             "**Producers**: %d, from %s" % (len(group.producers), compress(upstream) if upstream else "none"),
             "",
             "**Updaters**: %s" % (", ".join("%s every %s" % (u.mode, u.interval) for u in group.updaters) or "none")]
    if upstream and all(levels.get(name, 0) == 0 for name in upstream):
        lines += ["", "Pulls straight from samplers."]
    for policy in stores:
        lines += ["", "**Store %s**: %s into %s, schema %s%s" % (
            policy.name, policy.plugin.plugin, policy.container, policy.schema or policy.regex or policy.decomposition,
            "" if policy.plugin.plugin in SOS_STORES else " (not queryable through the SOS data source)")]
    if sources:
        lines += ["", "Dashboards: " + ", ".join("LDMS %s / %s" % (s.container, s.schema) for s in sources)]
    return "\n".join(lines)


def overview_dashboard(cluster: Cluster, group, sources: List[SchemaSource], datasource_uid: str = DATASOURCE_UID,
                       prometheus_uid: Optional[str] = None):
    members = set(group.daemons)
    stores = [policy for policy in cluster.stores if members & set(policy.daemons)]
    # Whatever the group carries ends in the containers of the stores downstream of it (or on it).
    carried = [source for source in sources if members & set(source.aggregators)
               or _downstream(cluster, group.key, source.aggregators)]
    builder = _dashboard(dashboard_uid("group", group.key), "LDMS L%d %s overview" % (group.level, group.key),
                         ["overview", "level-%d" % group.level])
    if carried:
        builder.link(gdash.DashboardLink("LDMS schemas").type(gmodel.DashboardLinkType.DASHBOARDS)
                     .tags([TAG, "schema"]).as_dropdown(True).keep_time(True))
    builder.with_panel(gtext.Panel().title("Group").mode(TextMode.MARKDOWN)
                       .content(_group_markdown(cluster, group, carried, stores)).height(8).span(24))
    if prometheus_uid:
        ref = gmodel.DataSourceRef(type_val="prometheus", uid=prometheus_uid)
        selector = '{group="%s"}' % _promql_string(group.key)
        builder.with_panel(gstat.Panel().title("Aggregators up").datasource(ref).height(6).span(12).with_target(
            gprom.Dataquery().expr("hpc_ldms_aggregator_up%s" % selector).legend_format("{{aggregator}}")))
        names = _promql_string("|".join(re.escape(name) for name in group.daemons))
        builder.with_panel(gtimeseries.Panel().title("Producers per aggregator").datasource(ref).height(6).span(12)
                           .with_target(gprom.Dataquery().expr('hpc_ldms_producers{aggregator=~"%s"}' % names)
                                        .legend_format("{{aggregator}}")))
    for source in carried:
        metric = next((m for p in source.plugins for m in DEFAULT_METRICS.get(p, [])), "")
        builder.with_panel(_sos_panel(
            gtimeseries.Panel, "%s / %s%s" % (source.container, source.schema, ": " + metric if metric else ""),
            SosQuery("A", source.container, source.schema, metric, filters=ALL_COMPONENTS,
                     datasource_uid=datasource_uid), datasource_uid, 8, 12))
    return builder


def _promql_string(text: str) -> str:
    """The body of a double-quoted PromQL string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _downstream(cluster: Cluster, group_key: str, aggregators: List[str]) -> bool:
    """True when one of ``aggregators`` pulls, directly or not, from the group."""
    pulls: Dict[str, set] = {}
    daemon_group = {name: g.key for g in cluster.aggregators for name in g.daemons}
    for group in cluster.aggregators:
        pulls.setdefault(group.key, set()).update(daemon_group[p.daemon] for p in group.producers
                                                  if p.daemon in daemon_group)
    targets = {daemon_group[name] for name in aggregators if name in daemon_group}
    seen, todo = set(), list(targets)
    while todo:
        key = todo.pop()
        if key == group_key:
            return True
        if key not in seen:
            seen.add(key)
            todo += list(pulls.get(key, ()))
    return False


def to_text(builder) -> str:
    return json.dumps(builder.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def dashboard_files(cluster: Cluster, datasource_uid: str = DATASOURCE_UID,
                    prometheus_uid: Optional[str] = None) -> Dict[str, str]:
    """File name -> dashboard JSON text, deterministic."""
    sources = sos_sources(cluster)
    files = {}
    for source in sources:
        builder = schema_dashboard(cluster, source, datasource_uid)
        files["%s.json" % builder.build().uid] = to_text(builder)
    for group in cluster.aggregators:
        builder = overview_dashboard(cluster, group, sources, datasource_uid, prometheus_uid)
        files["%s.json" % builder.build().uid] = to_text(builder)
    return files


def sync_dashboards(files: Dict[str, str], dest: str, check_mode: bool = False, prune: bool = True):
    """Write the changed dashboards into ``dest`` and remove stale generated ones; (written, removed) names."""
    written, removed = [], []
    for name, text in sorted(files.items()):
        path = os.path.join(dest, name)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except FileNotFoundError:
            pass
        written.append(name)
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
            write_atomic(path, text)
    if prune and os.path.isdir(dest):
        for name in sorted(os.listdir(dest)):
            if name.startswith(FILE_PREFIX) and name.endswith(".json") and name not in files:
                removed.append(name)
                if not check_mode:
                    os.unlink(os.path.join(dest, name))
    return written, removed
