"""What ldmsd 4.5.3 refuses, the cluster model refuses first: one error naming the YAML path and the value."""

import os
import time
import tracemalloc

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.cluster import hostlists
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file, load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.source import load_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Context
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import plan_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_to_dir

from test_model import BASE, base, error_of  # 10 samplers, 2 aggregators, a csv store

DATA = os.path.join(os.path.dirname(__file__), "data")


def endpoint(d):
    return d["daemons"][0]["endpoints"][0]


def plugin(d):
    return d["plugins"]["meminfo1"]


def peer(d):
    return d["aggregators"][0]["peers"][0]


def updater(d):
    return peer(d)["updaters"][0]


REFUSED = [
    # ports: 1-65535 or a whole ${VAR} (ldmsd: listen port=abc -> atoi 0; -5 fails to bind)
    (lambda d: endpoint(d).update(ports="abc"), "daemons[0].endpoints[0].ports: expected an integer, got 'abc'"),
    (lambda d: endpoint(d).update(ports=-5), "daemons[0].endpoints[0].ports: port -5 is out of range (1-65535)"),
    (lambda d: endpoint(d).update(ports=70000), "daemons[0].endpoints[0].ports: port 70000 is out of range (1-65535)"),
    (lambda d: endpoint(d).update(ports="${PORT}x"), "daemons[0].endpoints[0].ports: expected an integer, got '${PORT}x'"),
    # transports: the zap libraries of 4.5.3
    (lambda d: endpoint(d).update(xprt="tcp"),
     "daemons[0].endpoints[0].xprt: unknown transport 'tcp' (ldmsd 4.5.3 has sock, rdma, ugni, fabric)"),
    # auth plugins: the ldms_auth libraries of 4.5.3
    (lambda d: endpoint(d).update(auth={"name": "k", "plugin": "kerberos"}),
     "daemons[0].endpoints[0].auth.plugin: unknown authentication plugin 'kerberos' (ldmsd 4.5.3 has none, ovis, munge, naive)"),
    # intervals > 0 and within a C long; |offset| at most half the interval
    (lambda d: plugin(d).update(interval=0), "plugins.meminfo1.interval: must be more than 0, got 0"),
    (lambda d: plugin(d).update(interval="-1s"), "plugins.meminfo1.interval: must be more than 0, got '-1s'"),
    (lambda d: plugin(d).update(interval="1e300s"), "plugins.meminfo1.interval: '1e300s' is too long for ldmsd"),
    (lambda d: plugin(d).update(interval=float("inf")), "plugins.meminfo1.interval: inf is not a time"),
    (lambda d: plugin(d).update(interval=float("nan")), "plugins.meminfo1.interval: nan is not a time"),
    (lambda d: plugin(d).update(offset="600ms"),
     "plugins.meminfo1.offset: offset 600000 us is more than half the interval (1000000 us)"),
    (lambda d: plugin(d).update(interval=None, offset=-600000),
     "plugins.meminfo1.offset: offset -600000 us is more than half the interval (1000000 us)"),
    (lambda d: updater(d).update(interval="-1s"), "aggregators[0].peers[0].updaters[0].interval: must be more than 0, got '-1s'"),
    (lambda d: updater(d).update(offset="2s"),
     "aggregators[0].peers[0].updaters[0].offset: offset 2000000 us is more than half the interval (1000000 us)"),
    (lambda d: peer(d).update(reconnect=0), "aggregators[0].peers[0].reconnect: must be more than 0, got 0"),
    (lambda d: updater(d).update(mode="sometimes"), "aggregators[0].peers[0].updaters[0].mode: unknown mode 'sometimes'"),
    (lambda d: peer(d).update(type="local"), "aggregators[0].peers[0].type: unknown producer type 'local'"),
    # store plugins' required options
    (lambda d: d["plugins"]["csv"].update(config=[{"buffer": 0}]),
     "plugins.csv.config: store_csv needs path or opt_file in its config (used by stores.csv-meminfo)"),
    # names: file names, inventory host names, ldmsd object names
    (lambda d: d["daemons"][0].update(names="../escape/pwned"), "daemons[0].names: bad daemon name '../escape/pwned'"),
    (lambda d: d["daemons"][0].update(names="/etc/x"), "daemons[0].names: bad daemon name '/etc/x'"),
    (lambda d: d["daemons"][0].update(names="a" * 300, hosts="h"),
     "daemons[0].names: daemon name 'aaaaaaaaaaaaaaaaaaaa'... is 300 characters long (at most 63)"),
    (lambda d: d["daemons"][0].update(names="bad\x00name", hosts="h"), "daemons[0].names: bad daemon name 'bad\\x00name'"),
    (lambda d: endpoint(d).update(names="sampler-[1-4]-a..b"), "daemons[0].endpoints[0].names: bad endpoint name 'sampler-1-a..b'"),
    (lambda d: d["plugins"].update({"x/y": d["plugins"].pop("meminfo1")}), "plugins.x/y: bad plugin instance name 'x/y'"),
    (lambda d: plugin(d).update(name="../../tmp/evil"), "plugins.meminfo1.name: bad plugin '../../tmp/evil'"),
    (lambda d: d["stores"].update({"a b": d["stores"].pop("csv-meminfo")}), "stores.a b: bad storage policy name 'a b'"),
    (lambda d: updater(d).update(name="u;1"), "aggregators[0].peers[0].updaters[0].name: bad updater name 'u;1'"),
    # injection: values that would split or break an ldmsd line
    (lambda d: d["daemons"][0].update(environment={"FOO": "x\nprdcr_add name=evil"}),
     "daemons[0].environment.FOO: 'x\\nprdcr_add name=evil' holds a control character '\\n'"),
    (lambda d: d["daemons"][0].update(environment={"FOO": "a b"}), "daemons[0].environment.FOO: 'a b' holds a space"),
    (lambda d: d["daemons"][0].update(environment={"A=B": "x"}), "daemons[0].environment.A=B: bad environment variable name 'A=B'"),
    (lambda d: plugin(d).update(config=[{"schema": "meminfo instance=hijacked/set"}]),
     "plugins.meminfo1.config[0].schema: 'meminfo instance=hijacked/set' holds a space"),
    (lambda d: plugin(d).update(config=[{"schema": "m\\"}]), "plugins.meminfo1.config[0].schema: 'm\\\\' ends in a backslash"),
    (lambda d: plugin(d).update(config=[{"#x": "1"}]), "plugins.meminfo1.config[0].#x: '#x' is not an ldmsd attribute name"),
    (lambda d: plugin(d).update(config=["schema=meminfo\nprdcr_start name=x"]),
     "plugins.meminfo1.config[0]: 'schema=meminfo\\nprdcr_start' holds a control character '\\n'"),
    (lambda d: endpoint(d).update(hosts="127.0.0.1 xprt=rdma"), "daemons[0].endpoints[0].hosts: '127.0.0.1 xprt=rdma' holds a space"),
    (lambda d: d["daemons"][0].update(hosts="n;1"), "daemons[0].hosts: bad host 'n;1'"),
    (lambda d: updater(d).update(producers="node .*"), "aggregators[0].peers[0].updaters[0].producers: 'node .*' holds a space"),
    (lambda d: updater(d).update(sets=[{"regex": "a\tb", "field": "inst"}]),
     "aggregators[0].peers[0].updaters[0].sets[0].regex: 'a\\tb' holds a control character '\\t'"),
    (lambda d: d["stores"]["csv-meminfo"].update(container="c\nx"), "stores.csv-meminfo.container: 'c\\nx' holds a control character"),
    (lambda d: plugin(d)["config"][0].update(threshold=float("inf")),
     "plugins.meminfo1.config[0].threshold: expected a string or a number, got inf"),
    # unknown daemon keys are errors, never start-up commands
    (lambda d: d["daemons"][0].update(prdcr_add={"name": "evil", "host": "h"}),
     "daemons[0].prdcr_add: unknown daemon start-up request 'prdcr_add'"),
    (lambda d: d["daemons"][0].update(bogus="1"), "daemons[0].bogus: unknown daemon key 'bogus'"),
    (lambda d: d["daemons"][0].update(log_levl="DEBUG"), "daemons[0].log_levl: unknown daemon key 'log_levl' (did you mean 'log_level'?)"),
    # values refused together
    (lambda d: d["daemons"][1].update(hosts="nid00001", endpoints=[{"names": "agg-[1-2]-511", "ports": 411}]),
     "daemons[1].endpoints: daemons 'sampler-1' and 'agg-1' both listen on host nid00001 port 411 (sock)"),
    (lambda d: peer(d).update(daemons="agg-[1-2]", endpoints="agg-[1-2]-511"),
     "aggregators[0].peers[0].daemons: aggregator 'agg-1' would pull from itself"),
    (lambda d: d["stores"]["csv-meminfo"].update(daemons="sampler-1"),
     "stores.csv-meminfo.daemons: 'sampler-1' is not an aggregator: a storage policy runs on aggregators"),
    (lambda d: d["aggregators"].append({"daemons": "agg-2", "peers": [dict(peer(d), updaters=[])]}),
     "aggregators[1].peers[0].endpoints: producer 'sampler-1-411' is already listed in aggregators[0].peers[0]"),
    (lambda d: peer(d).update(endpoints=[]), "aggregators[0].peers[0].endpoints: empty hostlist"),
    (lambda d: d["daemons"][0].update(names=[["nested"]]), "daemons[0].names[0]: a hostlist list holds strings, not lists"),
]


@pytest.mark.parametrize("mutate, expected", REFUSED)
def test_refused_with_the_yaml_path_and_value(mutate, expected):
    data = base()
    mutate(data)
    assert error_of(data).startswith(expected)


def test_accepted_values():
    data = base()
    endpoint(data).update(ports="${PORT}", xprt="rdma", auth={"name": "m", "plugin": "munge"})
    plugin(data).update(interval="${INTERVAL}", offset=0)
    updater(data).update(offset="-500ms")
    data["daemons"][0]["environment"] = {"PATHS": "/a:/b", "X": "a=b;c#d"}
    data["daemons"][0]["log_level"] = "ERROR"
    data["daemons"][0]["default_auth"] = {"plugin": "munge"}
    plugin(data)["config"][0]["threshold"] = 0.5
    data["aggregators"][0]["daemons"] = "agg-1, agg-2"  # a hostlist may hold spaces; it is no ldmsd value
    data["stores"]["csv-meminfo"]["daemons"] = "agg-1, agg-2"
    cluster = build_cluster(data)
    assert cluster.plugins["meminfo1"].config[0]["threshold"] == "0.5"
    assert cluster.daemons["sampler-1"].endpoints[0].port == "${PORT}"
    assert cluster.daemons["sampler-1"].options == [("log_level", "ERROR"), ("default_auth", {"plugin": "munge"})]


def test_bare_integer_times_are_plain_ints():
    # A SourceInt in hostvars made Ansible drop every host.
    data = load_text(BASE.replace("interval: 1s\n    config", "interval: 60000000\n    offset: -100000\n    config"))
    instance = build_cluster(data).plugins["meminfo1"]
    assert (instance.interval, instance.offset) == (60000000, -100000)
    assert type(instance.interval) is int and type(instance.offset) is int  # pylint: disable=unidiomatic-typecheck


# -- updater producers --------------------------------------------------------

def test_updater_producer_hostlist_expands_to_exact_names():
    data = base()
    updater(data)["producers"] = "sampler-[1-3]-411"
    item = plan_cluster(build_cluster(data))["agg-1"].updaters[0]
    assert item["producers"] == ["^sampler-1-411$", "^sampler-2-411$", "^sampler-3-411$"]
    lines = [c.text() for c in KINDS["updaters"].add_commands(item)]
    assert "updtr_prdcr_add name=updtr_0 regex=^sampler-1-411$" in lines
    assert not any("[" in line for line in lines)


@pytest.mark.parametrize("written, expected", [
    ("gpu[001-003]-ib", ["^gpu001-ib$", "^gpu002-ib$", "^gpu003-ib$"]),
    ("n1.ib,n2.ib", ["^n1\\.ib$", "^n2\\.ib$"]),
    ("node-.*", ["node-.*"]),  # a regex stays a regex
    ("node-[0-9]+", ["node-[0-9]+"]),
    ("sampler-1", ["sampler-1"]),  # one name: a regex, as LDMS writes it
    ("^(a|b)$", ["^(a|b)$"]),
    ("n[a-z]", ["n[a-z]"]),  # not a hostlist
])
def test_names_or_regex(written, expected):
    assert hostlists.names_or_regex(written, "p") == expected


def test_expanded_updater_round_trips_with_no_change():
    """What ldmsd reports for the updater (matched producer names) equals what is wanted."""
    data = base()
    updater(data)["producers"] = ["sampler-[1-2]-411", "sampler-4-411"]
    want = KINDS["updaters"].normalize(plan_cluster(build_cluster(data))["agg-1"].updaters[0], "u")
    producer_names = ["sampler-%d-411" % n for n in range(1, 11)]
    # A gathered updater: its producers as exact names, the matched list as 4.5.3 reports it.
    have = {"item": dict(want, producers=["^%s$" % n for n in ("sampler-1-411", "sampler-2-411", "sampler-4-411")]),
            "matched": ["sampler-1-411", "sampler-2-411", "sampler-4-411"]}
    assert KINDS["updaters"].differing_keys(want, have, False, Context(producer_names=producer_names)) == []


# -- resource-module items are checked like the file ---------------------------

@pytest.mark.parametrize("kind, item, expected", [
    ("samplers", {"name": "meminfo", "config": {"schema": "meminfo instance=hijacked/set"}},
     "s.config.schema: 'meminfo instance=hijacked/set' holds a space"),
    ("samplers", {"name": "m", "config": "schema=x\nprdcr_add"}, "s.config: 'schema=x\\nprdcr_add' holds a control character"),
    ("samplers", {"name": "m", "interval": 0}, "s.interval: must be more than 0"),
    ("samplers", {"name": "m", "offset": "600ms"}, "s.offset: offset 600000 us is more than half the interval"),
    ("samplers", {"name": "../lib/x"}, "s.name: bad name '../lib/x'"),
    ("producers", {"name": "p", "host": "127.0.0.1 xprt=rdma", "port": 411, "reconnect": "1s"},
     "s.host: '127.0.0.1 xprt=rdma' holds a space"),
    ("producers", {"name": "p", "host": "h", "port": 0, "reconnect": "1s"}, "s.port: port 0 is out of range"),
    ("producers", {"name": "p", "host": "h", "port": 1, "xprt": "tcp", "reconnect": "1s"}, "s.xprt: unknown transport 'tcp'"),
    ("updaters", {"name": "u", "interval": "1s", "producers": ["node .*"]}, "s.producers[0]: 'node .*' holds a space"),
    ("updaters", {"name": "u", "interval": "-1s"}, "s.interval: must be more than 0"),
    ("storage_policies", {"name": "s", "plugin": "csv", "container": "c", "schema": "m",
                          "plugin_config": {"path": "/a\nload name=x"}}, "s.plugin_config.path: '/a\\nload name=x' holds"),
])
def test_module_items_are_checked(kind, item, expected):
    with pytest.raises(ClusterError) as info:
        KINDS[kind].normalize(item, "s")
    assert str(info.value).startswith(expected)


def test_a_line_that_would_split_is_never_written():
    with pytest.raises(ValueError, match="would not read back as one env command"):
        Command("env", (("FOO", "x\nprdcr_add name=evil"),)).text()
    with pytest.raises(ValueError, match="one config command"):
        Command("config", (("name", "m"), ("schema", "a instance=b"))).text()
    assert Command("config", (("name", "m"), ("timing", None))).text() == "config name=m timing"


# -- bombs ----------------------------------------------------------------------

def test_hostlist_bomb_fails_fast_in_bounded_memory():
    bomb = ",".join("n%d-[1-100000]" % i for i in range(1000))  # 10^8 names in 17 KB
    data = base()
    data["daemons"][0]["names"] = bomb
    tracemalloc.start()
    started = time.monotonic()
    message = error_of(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert message.startswith("daemons[0].names: hostlist n0-[1-100000],n1-[1-100000],n2-[1-100000... expands to more than 1000000 names")
    assert time.monotonic() - started < 5
    assert peak < 20 * 1024 * 1024


def test_many_ranges_in_one_name_are_refused_before_recursing():
    data = base()
    data["daemons"][0]["names"] = "n" + "[1-2]" * 40
    assert "has 40 ranges (at most 16)" in error_of(data)


def test_whole_file_limit_on_daemons(monkeypatch):
    from ansible_collections.hpc.ldms.plugins.module_utils.cluster import model
    monkeypatch.setattr(model, "DAEMONS_MAX", 11)
    assert error_of(base()) == "daemons[1].names: more than 11 daemons in one file"


def test_billion_laughs_in_names_is_refused_by_the_loader():
    lines = ["a0: &a0 [n1, n2, n3, n4, n5, n6, n7, n8, n9, n10]"]
    lines += ["a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)) for i in range(1, 10)]
    text = "\n".join(lines) + "\ndaemons:\n  - names: *a9\n"
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"line 8 column 5: this value stands for more than 20000000 values"):
        load_text(text, "bomb.yaml")
    assert time.monotonic() - started < 5


def test_a_small_alias_list_in_names_is_a_clear_error():
    text = BASE.replace('names: "sampler-[1-10]"\n', 'names: [*n, *n]\n', 1)
    text = "n: &n [sampler-1, sampler-2]\n" + text
    assert error_of(load_text(text)) == "daemons[0].names[0]: a hostlist list holds strings, not lists"


@pytest.mark.parametrize("text, expected", [
    ("[" * 5000 + "]" * 5000, "x.yaml: bad YAML: nested too deeply"),
    ("daemons: .inf", None),
])
def test_loader_errors(text, expected):
    if expected is None:
        with pytest.raises(ClusterError, match="daemons: expected a list"):
            build_cluster(load_text(text, "x.yaml"))
    else:
        with pytest.raises(ClusterError) as info:
            load_text(text, "x.yaml")
        assert str(info.value) == expected


def test_binary_file(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xd0\xff\x00\x01" * 100)
    with pytest.raises(ClusterError, match=r"bin.yaml: not a text file \(byte 0 is not UTF-8\)"):
        load_file(str(path))


# -- render: nothing is written for a bad file -----------------------------------

def test_bad_name_fails_before_any_file_is_written(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace('names: "agg-[1-2]"', 'names: "agg-[1-2]%s"' % ("x" * 300)))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ClusterError, match=r"daemons\[1\].names: daemon name 'agg-1x+'... is 305 characters long \(at most 63\)"):
        _source, cluster = load_cluster(str(path))
        render_to_dir(cluster, str(path), str(dest))
    assert os.listdir(dest) == []


# -- component_id ------------------------------------------------------------------

def rendered_texts(cluster, dest):
    """The render's files, kept in memory: check mode into an empty directory writes nothing."""
    return render_to_dir(cluster, "c.yaml", str(dest), check_mode=True, keep=None).files


def test_sampler_plugins_get_component_id_and_daemons_set_compid(tmp_path):
    files = rendered_texts(build_cluster(base()), tmp_path)
    lines = files["sampler-3.conf"].splitlines()
    assert lines[1] == "env COMPID=3"
    assert "config name=meminfo1 schema=meminfo producer=sampler-3 instance=sampler-3/meminfo1 component_id=${COMPID}" in lines
    assert files["agg-2.conf"].splitlines()[1] == "env COMPID=12"  # position in the file: unique per daemon


def test_component_id_and_compid_from_the_file_win(tmp_path):
    data = base()
    plugin(data)["config"][0]["component_id"] = "${COMPONENT_ID}"
    data["daemons"][0]["environment"] = {"COMPID": "77"}
    lines = rendered_texts(build_cluster(data), tmp_path)["sampler-1.conf"].splitlines()
    assert lines[1] == "env COMPID=77"
    assert not any(line.startswith("env COMPID=1") for line in lines)
    assert sum("component_id=" in line for line in lines) == 1


# -- LDMS's own test clusters --------------------------------------------------------

@pytest.mark.parametrize("name, daemons", [("block_generic.yaml", 1540), ("large_generic.yaml", 31540)])
def test_ldms_test_clusters(name, daemons):
    """LDMS's files as written. Their admin nodes run a sampler and an aggregator that both
    listen on 0.0.0.0:20412, which only separate network namespaces allow: a warning."""
    cluster = build_cluster(load_file(os.path.join(DATA, name)))
    assert len(cluster.daemons) == daemons
    assert any("daemons 'cnadmin1-agg' and 'cnadmin1' both listen on host cnadmin1 port 20412 (sock) on every address"
               in warning for warning in cluster.warnings), cluster.warnings[:3]
    jobid = cluster.plugins["jobid_60s"]
    assert (jobid.interval, jobid.offset) == (60000000, -100000) and type(jobid.offset) is int  # pylint: disable=unidiomatic-typecheck


def test_ldms_strict_in_the_files(tmp_path):
    typo = BASE.replace("    interval: 1s\n", "    interval: 1s\n    intervall: 2s\n", 1)
    cluster_file = tmp_path / "ldms.yaml"
    cluster_file.write_text(typo)
    wrapper = tmp_path / "inventory.yaml"
    wrapper.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms.yaml\nldms_strict: false\n")
    with pytest.raises(ClusterError, match="did you mean 'interval'"):
        load_cluster(str(cluster_file))
    _source, cluster = load_cluster(str(wrapper))
    assert cluster.warnings == ["plugins.meminfo1.intervall: unknown key 'intervall' ignored (did you mean 'interval'?)"]
    cluster_file.write_text("ldms_strict: false\n" + typo)  # render and reconcile read this file alone
    assert len(load_cluster(str(cluster_file))[1].warnings) == 1
    with pytest.raises(ClusterError, match="did you mean"):
        load_cluster(str(cluster_file), strict=True)
