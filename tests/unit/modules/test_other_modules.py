"""ldmsd_info, ldmsd_process, ldms_reconcile and the controller-only module stubs, through AnsibleModule."""

import os
import signal

import pytest

from harness import SIMULATOR_PREFIX, free_ports
from utils import fail_module, run_module

from ansible_collections.hpc.ldms.plugins.modules import (
    grafana_dashboards,
    ldms_reconcile,
    ldmsd_info,
    ldmsd_process,
    ldmsd_producers,
    render_config,
)

PRODUCER = {"name": "n1", "host": "127.0.0.1", "port": 1, "reconnect": "20s"}


# -- ldmsd_info ---------------------------------------------------------------

def test_info_reports_what_the_daemon_holds_and_changes_nothing(ldmsd):
    run_module(ldmsd_producers.main, dict(ldmsd.args, config=[PRODUCER]))
    sent = len(ldmsd.changes())
    info = run_module(ldmsd_info.main, ldmsd.args, check_mode=True)
    assert not info["changed"] and len(ldmsd.changes()) == sent
    assert info["version"]["LDMSD Version"] == "4.5.3" and info["daemon_status"] == {"state": "ready"}
    assert [producer["name"] for producer in info["producers"]] == ["n1"]
    assert info["updaters"] == [] and info["storage_policies"] == [] and info["sets"] == []


def test_info_query_returns_only_its_answer(ldmsd):
    run_module(ldmsd_producers.main, dict(ldmsd.args, config=[PRODUCER, dict(PRODUCER, name="n2")]))
    result = run_module(ldmsd_info.main, dict(ldmsd.args, query="producers[?state!='CONNECTED'].name"))
    assert result == {"changed": False, "query_result": ["n1", "n2"], "warnings": []}


def test_info_bad_query_fails_before_any_request(ldmsd):
    result = fail_module(ldmsd_info.main, dict(ldmsd.args, query="producers[?"))
    assert "producers[?" in result["msg"] and "JMESPath" in result["msg"]
    assert ldmsd.requests == []


def test_info_refused_status_fails_with_errcode_and_command(ldmsd):
    ldmsd.refuse("updtr_status", 12, "Not enough memory")
    result = fail_module(ldmsd_info.main, ldmsd.args)
    assert result["errcode"] == 12 and result["command"] == "updtr_status"
    assert "Not enough memory" in result["msg"]


def test_info_unreachable_daemon(ldmsd):
    ldmsd.close()
    result = fail_module(ldmsd_info.main, ldmsd.args)
    assert "cannot reach ldmsd at 127.0.0.1:%d" % ldmsd.port in result["msg"]


# -- ldmsd_process --------------------------------------------------------------

@pytest.fixture()
def process_args(tmp_path):
    port = free_ports(1)[0]
    config = tmp_path / "d1.conf"
    config.write_text("listen xprt=sock port=%d host=127.0.0.1\n" % port)
    args = {"name": "d1", "config": str(config), "pidfile": str(tmp_path / "run" / "d1.pid"),
            "log": str(tmp_path / "log" / "d1.log"), "ldms_prefix": SIMULATOR_PREFIX, "ready_host": "127.0.0.1",
            "ready_port": port, "timeout": 10.0}
    yield args
    pidfile = args["pidfile"]
    if os.path.exists(pidfile):  # a test that failed half-way leaves its daemon
        try:
            with open(pidfile, encoding="utf-8") as stream:
                os.kill(int(stream.read()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def test_process_check_mode_says_it_would_start_and_starts_nothing(process_args):
    result = run_module(ldmsd_process.main, process_args, check_mode=True, diff=True)
    argv = [os.path.join(SIMULATOR_PREFIX, "sbin", "ldmsd"), "-F", "-c", process_args["config"],
            "-l", process_args["log"]]
    assert result["changed"] and result["commands"] == [" ".join(argv)]
    assert result["pid"] is None and not result["restarted"]
    assert result["diff"]["before"] == {} and len(result["diff"]["after"]["digest"]) == 64
    assert not os.path.exists(process_args["pidfile"]) and not os.path.exists(process_args["log"])


def test_process_starts_once_restarts_on_a_new_digest_and_stops(process_args):
    started = run_module(ldmsd_process.main, process_args)
    pid = started["pid"]
    with open(process_args["pidfile"], encoding="utf-8") as stream:
        assert started["changed"] and isinstance(pid, int) and stream.read() == "%d\n" % pid
    again = run_module(ldmsd_process.main, process_args)
    assert not again["changed"] and again["commands"] == [] and again["pid"] == pid
    digest = dict(process_args, startup_digest="v2")
    predicted = run_module(ldmsd_process.main, digest, check_mode=True)
    assert predicted["commands"][0] == "stop %d" % pid and predicted["restarted"]
    assert os.path.exists("/proc/%d" % pid)
    stopped = run_module(ldmsd_process.main, dict(process_args, state="stopped"))
    assert stopped["changed"] and stopped["commands"] == ["stop %d" % pid] and stopped["pid"] is None
    assert not os.path.exists(process_args["pidfile"])
    assert not run_module(ldmsd_process.main, dict(process_args, state="stopped"))["changed"]


def test_process_without_ldmsd_names_the_path(process_args, tmp_path):
    result = fail_module(ldmsd_process.main, dict(process_args, ldms_prefix=str(tmp_path / "none")))
    assert "d1" in result["msg"] and str(tmp_path / "none" / "sbin" / "ldmsd") in result["msg"]


def test_process_missing_config_fails_but_check_mode_warns(process_args, tmp_path):
    missing = str(tmp_path / "absent.conf")
    result = fail_module(ldmsd_process.main, dict(process_args, config=missing))
    assert missing in result["msg"] and "does not exist" in result["msg"]
    predicted = run_module(ldmsd_process.main, dict(process_args, config=missing), check_mode=True)
    assert predicted["changed"] and predicted["warnings"] == ["d1: config file %s does not exist yet" % missing]


def test_process_that_exits_at_start_fails_with_its_log(process_args):
    with open(process_args["config"], "w", encoding="utf-8") as stream:
        stream.write("load name=nosuch plugin=nosuch\n")
    result = fail_module(ldmsd_process.main, process_args)
    assert "d1" in result["msg"] and "exited with status" in result["msg"]
    assert result["pid"] is None and not os.path.exists(process_args["pidfile"])


@pytest.mark.parametrize("args, words", [
    ({"state": "running"}, ["state", "running"]),
    ({"timeout": "soon"}, ["timeout", "float"]),
    ({"args": {"-v": "ERROR"}}, ["args"]),
])
def test_process_argument_spec(process_args, args, words):
    result = fail_module(ldmsd_process.main, dict(process_args, **args))
    for word in words:
        assert word in result["msg"]


# -- modules that run on the controller through their action plugins -------------

@pytest.mark.parametrize("main, args", [(render_config.main, {"src": "c.yaml", "dest": "out"}),
                                        (grafana_dashboards.main, {"src": "c.yaml"})])
def test_controller_only_modules_say_where_they_run(main, args):
    result = fail_module(main, args)
    assert "runs on the controller through its action plugin" in result["msg"]


# -- ldms_reconcile ---------------------------------------------------------------

CLUSTER = """daemons:
  - names: samp-1
    hosts: 127.0.0.1
    endpoints:
      - {{names: samp-1-ep, ports: {samp}}}
  - names: agg-1
    hosts: 127.0.0.1
    endpoints:
      - {{names: agg-1-ep, ports: {agg}}}
aggregators:
  - daemons: agg-1
    peers:
      - {{daemons: samp-1, endpoints: samp-1-ep, reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 100ms}}]}}
samplers:
  - daemons: samp-1
    plugins: [meminfo1]
plugins:
  meminfo1: {{name: meminfo, interval: 1s, config: [{{schema: meminfo}}]}}
"""


@pytest.fixture()
def small_cluster(simulated_ldmsd, tmp_path):
    samp, agg = simulated_ldmsd("samp-1"), simulated_ldmsd("agg-1")
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER.format(samp=samp.port, agg=agg.port))
    args = {"cluster_file": str(path), "state_dir": str(tmp_path / "state"), "ldms_prefix": SIMULATOR_PREFIX,
            "timeout": 2.0, "settle": 5.0, "metrics_file": ""}
    return {"args": args, "samp": samp, "agg": agg}


def test_reconcile_check_mode_sends_nothing_and_writes_nothing(small_cluster):
    result = run_module(ldms_reconcile.main, small_cluster["args"], check_mode=True)
    assert result["changed"] and not result["skipped"]
    assert small_cluster["samp"].changes() == [] and small_cluster["agg"].changes() == []
    # Not even the state directory or its lock file: no run could hold a lock that does not exist.
    state_dir = small_cluster["args"]["state_dir"]
    assert not os.path.exists(state_dir)


def test_reconcile_check_mode_after_a_run_leaves_every_file_as_it_was(small_cluster):
    run_module(ldms_reconcile.main, small_cluster["args"])
    state_dir = small_cluster["args"]["state_dir"]

    def files():
        return {name: open(os.path.join(state_dir, name), "rb").read() for name in sorted(os.listdir(state_dir))}

    before = files()
    assert "reconcile.lock" in before and "reconcile-report.json" in before
    # Something to do, which check mode only predicts.
    assert small_cluster["agg"].daemon.handle("prdcr_stop", {"name": "samp-1-ep"}) == (0, None)
    predicted = run_module(ldms_reconcile.main, small_cluster["args"], check_mode=True)
    assert predicted["changed"] and not predicted["skipped"]
    assert "prdcr_start name=samp-1-ep" in predicted["commands"]["agg-1"], predicted["commands"]
    assert files() == before


def test_reconcile_configures_then_changes_nothing(small_cluster):
    first = run_module(ldms_reconcile.main, small_cluster["args"])
    assert first["changed"] and not first["failed_groups"] and not first["errors"], first
    assert "prdcr_add" in small_cluster["agg"].changes() and "load" in small_cluster["samp"].changes()
    state_dir = small_cluster["args"]["state_dir"]
    assert os.path.exists(os.path.join(state_dir, "reconcile-report.json"))
    second = run_module(ldms_reconcile.main, small_cluster["args"])
    assert not second["changed"], second["summary"]


def test_reconcile_bad_cluster_file_names_the_file_and_yaml_path(small_cluster, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CLUSTER.format(samp=1, agg=2).replace("interval: 1s, config", "interval: soon, config"))
    result = fail_module(ldms_reconcile.main, dict(small_cluster["args"], cluster_file=str(path)))
    assert str(path) in result["msg"] and "plugins.meminfo1.interval" in result["msg"] and "soon" in result["msg"]
    assert small_cluster["agg"].requests == []


def test_reconcile_refuses_dead_after_below_one(small_cluster):
    result = fail_module(ldms_reconcile.main, dict(small_cluster["args"], dead_after=0))
    assert "dead_after" in result["msg"]


def test_reconcile_refused_command_fails_saying_which_daemon_and_command(small_cluster):
    small_cluster["agg"].refuse("prdcr_add", 12, "Not enough memory")
    result = fail_module(ldms_reconcile.main, dict(small_cluster["args"], settle=0.5))
    [error] = result["errors"]
    assert error["daemon"] == "agg-1" and error["applied"] == []
    assert "prdcr_add name=samp-1-ep" in error["error"] and "errcode 12: Not enough memory" in error["error"]
    assert "agg-1: prdcr_add name=samp-1-ep" in result["msg"] and result["reconfigured"] == ["samp-1"]
