"""The reconcile's metrics and status page, seen through real tools: promtool, node-exporter's textfile
collector scraped by Prometheus, and headless Chromium.

8 samplers, 3 L1 and 1 L2 (real LDMS 4.5.3 where installed, else the simulator) are reconciled; then an L1
and a sampler are killed and the reconcile runs again. Prometheus must see hpc_ldms_aggregator_up of the
killed L1 drop to 0; the status page must show it dead and the sampler's sets missing. The Debian packages
are installed when missing; a test skips only when they cannot be installed.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import free_ports  # noqa: E402
from test_reconcile import L1, SAMPLERS, Cluster  # noqa: E402

from ansible_collections.hpc.ldms.plugins.module_utils.observe.dashboards import dashboard_uid  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VICTIM, DEAD_SAMPLER = "l1-2", "samp-8"
TOOLS = {"promtool": "prometheus", "prometheus": "prometheus",
         "prometheus-node-exporter": "prometheus-node-exporter", "chromium": "chromium"}


def debian_tools(*commands):
    """The commands' paths, installing their Debian packages when missing; None and why when they cannot be."""
    missing = sorted({TOOLS[command] for command in commands if shutil.which(command) is None})
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            install = subprocess.run(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", *missing],
                                     env=env, capture_output=True, text=True, timeout=900, check=False)
            why = install.stderr.strip().splitlines()[-1:] if install.returncode else []
        except (OSError, subprocess.TimeoutExpired) as exc:
            why = [str(exc)]
        still = [command for command in commands if shutil.which(command) is None]
        if still:
            return None, "Debian packages %s cannot be installed (%s)" % (" ".join(missing), "; ".join(why))
    return {command: shutil.which(command) for command in commands}, ""


def wait_for(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.5)


class Monitoring:
    """node-exporter (textfile collector only) and Prometheus scraping it every second, on free local ports."""

    def __init__(self, tmp, textfile_dir, tools):
        self.tmp = tmp
        exporter_port, prometheus_port = free_ports(2)
        self.url = "http://127.0.0.1:%d" % prometheus_port
        config = tmp / "prometheus.yml"
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "node", "static_configs": [
                {"targets": ["127.0.0.1:%d" % exporter_port]}]}]}))
        logs = tmp / "monitoring.log"
        self.log = open(logs, "w", encoding="utf-8")
        self.processes = [
            subprocess.Popen([tools["prometheus-node-exporter"], "--collector.disable-defaults", "--collector.textfile",
                              "--collector.textfile.directory=%s" % textfile_dir,
                              "--web.listen-address=127.0.0.1:%d" % exporter_port],
                             stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
            subprocess.Popen([tools["prometheus"], "--config.file=%s" % config,
                              "--storage.tsdb.path=%s" % (tmp / "tsdb"),
                              "--web.listen-address=127.0.0.1:%d" % prometheus_port],
                             stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
        ]

    def query(self, expr):
        """The instant vector of ``expr`` as {frozenset(labels): value}; raises on a bad query."""
        url = "%s/api/v1/query?%s" % (self.url, urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return {frozenset((k, v) for k, v in item["metric"].items() if k not in ("__name__", "instance", "job")):
                float(item["value"][1]) for item in body["data"]["result"]}

    def value(self, expr):
        try:
            found = self.query(expr)
        except OSError:
            return None
        return list(found.values())[0] if len(found) == 1 else None

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def failover(tmp_path_factory):
    """Reconcile, kill an L1 and a sampler, reconcile again; Prometheus watching throughout when it can."""
    tmp = tmp_path_factory.mktemp("observe")
    cluster = Cluster(tmp)
    textfiles = tmp / "textfiles"
    metrics = textfiles / "hpc_ldms.prom"
    tools, why = debian_tools("promtool", "prometheus", "prometheus-node-exporter")
    result = {"cluster": cluster, "metrics": metrics, "tools": tools, "why": why, "monitoring": None}
    cluster.start(*SAMPLERS, *L1, "l2")
    monitoring = None
    try:
        result["first"] = cluster.reconcile("-e", "ldms_metrics_file=%s" % metrics)
        result["first_metrics"] = metrics.read_text()
        if tools:
            monitoring = result["monitoring"] = Monitoring(tmp, textfiles, tools)
            wait_for("Prometheus to scrape %s up" % VICTIM,
                     lambda: monitoring.value('hpc_ldms_aggregator_up{aggregator="%s"}' % VICTIM) == 1)
        cluster.kill(VICTIM)
        cluster.kill(DEAD_SAMPLER)
        started = time.monotonic()
        result["second"] = cluster.reconcile("-e", "ldms_metrics_file=%s" % metrics, "-e", "ldms_dead_after=1")
        if monitoring:
            wait_for("Prometheus to see %s down" % VICTIM,
                     lambda: monitoring.value('hpc_ldms_aggregator_up{aggregator="%s"}' % VICTIM) == 0)
            result["kill_to_prometheus_s"] = time.monotonic() - started
        yield result
    finally:
        if monitoring:
            monitoring.stop()
        cluster.stop()


def test_metrics_file_passes_promtool_and_counts_the_failover(failover):
    if not failover["tools"]:
        pytest.skip(failover["why"])
    metrics = failover["metrics"]
    for text in (failover["first_metrics"], metrics.read_text()):
        check = subprocess.run([failover["tools"]["promtool"], "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    text = metrics.read_text()
    assert 'hpc_ldms_aggregator_up{aggregator="%s",group="l1-[1-3]",level="1"} 0.0' % VICTIM in text
    assert 'hpc_ldms_sampler_up{sampler="%s"} 0.0' % DEAD_SAMPLER in text
    assert 'hpc_ldms_producers{aggregator="%s"} 0.0' % VICTIM in text
    assert 'hpc_ldms_missing_sets{reason="sampler down"} 1.0' in text
    assert "hpc_ldms_producers_moved_total %.1f" % len(failover["second"]["moved"]) in text
    assert os.listdir(metrics.parent) == ["hpc_ldms.prom"]


def test_prometheus_sees_the_dead_aggregator(failover):
    if not failover["tools"]:
        pytest.skip(failover["why"])
    monitoring = failover["monitoring"]
    up = monitoring.query("hpc_ldms_aggregator_up")
    assert up[frozenset({("aggregator", VICTIM), ("group", "l1-[1-3]"), ("level", "1")})] == 0
    assert sorted(dict(labels)["aggregator"] for labels, value in up.items() if value == 1) == ["l1-1", "l1-3", "l2"]
    moved = len(failover["second"]["moved"])
    assert moved > 0 and monitoring.value("hpc_ldms_producers_moved_total") == moved
    producers = monitoring.query("hpc_ldms_producers")
    assert sum(value for labels, value in producers.items() if dict(labels)["aggregator"] in L1) == len(SAMPLERS)
    assert monitoring.value('hpc_ldms_missing_sets{reason="sampler down"}') == 1
    assert monitoring.value("hpc_ldms_reconcile_last_success_timestamp_seconds") > time.time() - 600
    print("kill to Prometheus seeing hpc_ldms_aggregator_up=0: %.1f s (one reconcile run included)"
          % failover["kill_to_prometheus_s"])


def test_overview_dashboard_queries_run_on_prometheus(failover, tmp_path):
    """The PromQL of the generated overview panels parses and finds the reconcile's series."""
    if not failover["tools"]:
        pytest.skip(failover["why"])
    cluster = failover["cluster"]
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "hpc.ldms.dashboards",
                          "-i", str(cluster.tmp / "cluster.yaml"), "-e", "ldms_dashboard_dir=%s" % tmp_path,
                          "-e", "ldms_dashboard_prometheus_uid=prom"],
                         env=cluster.env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    overview = json.loads((tmp_path / ("%s.json" % dashboard_uid("group", "l1-[1-3]"))).read_text())
    exprs = [target["expr"] for panel in overview["panels"] for target in panel.get("targets", []) if "expr" in target]
    assert len(exprs) == 2
    for expr in exprs:
        assert len(failover["monitoring"].query(expr)) == 3, expr


def test_status_page_in_headless_chromium(failover, tmp_path):
    tools, why = debian_tools("chromium")
    if not tools:
        pytest.skip(why)
    page = failover["cluster"].state / "status.html"
    shot = tmp_path / "status.png"
    command = [tools["chromium"], "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1400,1000"]
    grab = subprocess.run(command + ["--screenshot=%s" % shot, page.as_uri()], capture_output=True, text=True,
                          timeout=120, check=False)
    assert grab.returncode == 0 and shot.stat().st_size > 10000, grab.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run(command + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "<td>%s</td><td>aggregator</td><td>dead</td>" % VICTIM in html
    assert "<td>%s</td><td>sampler</td><td>down</td>" % DEAD_SAMPLER in html
    assert "<td>%s/meminfo1</td><td>%s</td><td>sampler down</td>" % (DEAD_SAMPLER, DEAD_SAMPLER) in html
    assert 'class="node state-dead"' in html and "\u25cf %s dead" % VICTIM in html
    for move in failover["second"]["moved"]:
        assert "<td>%s</td><td>%s</td><td>%s</td>" % (move["producer"], move["from"], move["to"]) in html
    keep = os.environ.get("HPC_LDMS_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
