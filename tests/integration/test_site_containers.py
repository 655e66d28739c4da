"""site.yml with ldms_deploy_mode=podman and =docker: the ldmsd role runs one
container per daemon on this host (host network), configures them live, verifies the sets,
is idempotent, and rolls a new image tag out batch by batch, loaded offline
from an image archive. ldmsd inside is real LDMS when installed, else the
simulator, mounted read-only like LDMS's own test harness mounts /opt/ovis."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import IS_SIMULATOR, PREFIX, free_ports  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
BASE_IMAGE = "localhost/hpc-ldms-node:bookworm"
TEST_IMAGE = "localhost/hpc-ldms-test-ldmsd"
pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (it builds the base image)")

CLUSTER = """plugin: hpc.ldms.cluster
vars:
  ansible_connection: local
  ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  ldms_deploy_mode: {engine}
  ldms_manager_prefix: {prefix}
  ldms_state_dir: {tmp}/state
  ldms_settle: 30
  ldmsd_config_dir: {tmp}/etc
  ldmsd_log_dir: {tmp}/log
  ldmsd_run_dir: {tmp}/run
  ldmsd_container_name: "{name}-{{{{ inventory_hostname }}}}"
  ldmsd_storage_volume: "{name}-store"
  ldmsd_image_sampler: {image}
  ldmsd_image_aggregator: {image}
  ldmsd_container_prefix: {container_prefix}
  ldmsd_volumes: ["{mount}"]
  ldmsd_health_interval: 2s
daemons:
  - names: "samp-[1-2]"
    hosts: localhost
    endpoints:
      - {{names: "samp-[1-2]-ep", ports: "{samplers}", xprt: sock}}
  - names: l1
    hosts: localhost
    endpoints:
      - {{names: l1-ep, ports: {l1}, xprt: sock}}
  - names: l2
    hosts: localhost
    endpoints:
      - {{names: l2-ep, ports: {l2}, xprt: sock}}
aggregators:
  - daemons: l1
    peers:
      - {{daemons: "samp-[1-2]", endpoints: "samp-[1-2]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 100ms, mode: pull}}]}}
  - daemons: l2
    peers:
      - {{daemons: l1, endpoints: l1-ep, reconnect: 1s, type: active, updaters: [{{interval: 1s, offset: 200ms}}]}}
samplers:
  - daemons: "samp-[1-2]"
    plugins: [meminfo1]
plugins:
  meminfo1: {{name: meminfo, interval: 1s, config: [{{schema: meminfo, component_id: "${{COMPID}}"}}]}}
  csv: {{name: store_csv, config: [{{path: /var/lib/ldms/csv, buffer: 0}}]}}
stores:
  csv-meminfo: {{daemons: l2, plugin: csv, container: store, schema: meminfo, flush: 1s}}
"""


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def engine_cli(engine):
    def cli(*args, check=True):
        return subprocess.run([engine, *args], capture_output=True, text=True, check=check)
    return cli


def start_dockerd(tmp):
    """Docker's engine, started here when it is installed but not running (no systemd on these hosts)."""
    if subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0:
        return None
    if shutil.which("dockerd") is None:
        pytest.skip("the docker engine (Debian docker.io) is not installed")
    # Leave the host's network and firewall alone: the containers use the host network.
    process = subprocess.Popen(
        ["dockerd", "--exec-opt", "native.cgroupdriver=cgroupfs", "--iptables=false", "--ip-forward=false",
         "--ip-masq=false", "--bridge=none", "--default-ulimit", "nofile=20000:20000",
         "--default-ulimit", "nproc=32768:32768"],
        stdout=open(tmp / "dockerd.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["docker", "version"], capture_output=True, check=False).returncode:
        assert process.poll() is None and time.monotonic() < deadline, (tmp / "dockerd.log").read_text()[-2000:]
        time.sleep(0.2)
    return process


@pytest.fixture(scope="module", params=["podman", "docker"])
def site(request, tmp_path_factory):
    engine = request.param
    tmp = tmp_path_factory.mktemp("site-" + engine)
    collections = tmp / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True)
    os.symlink(REPO, collections / "ldms")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode:
        built = subprocess.run([os.path.join(BIN, "ansible-playbook"),
                                os.path.join(REPO, "molecule", "resources", "base_image.yml")],
                               env=env, capture_output=True, text=True, check=False)
        assert built.returncode == 0, built.stdout + built.stderr
    dockerd = start_dockerd(tmp) if engine == "docker" else None
    cli = engine_cli(engine)
    if engine == "docker":
        podman("save", "-o", str(tmp / "base.tar"), BASE_IMAGE)
        cli("load", "-i", str(tmp / "base.tar"))
    cli("tag", BASE_IMAGE, TEST_IMAGE + ":v1")
    if IS_SIMULATOR:
        mount, container_prefix = "%s:/opt/hpc-ldms-simulator:ro" % os.path.dirname(PREFIX), \
            "/opt/hpc-ldms-simulator/prefix"
    else:
        mount, container_prefix = "%s:/opt/ovis:ro" % PREFIX, "/opt/ovis"
    s1, s2, l1, l2 = free_ports(4)
    name = "hpc-ldms-test-%s-%d" % (engine, os.getpid())
    (tmp / "cluster.yaml").write_text(CLUSTER.format(
        engine=engine, prefix=PREFIX, tmp=tmp, name=name, image=TEST_IMAGE, container_prefix=container_prefix,
        mount=mount, samplers="%d,%d" % (s1, s2), l1=l1, l2=l2))
    yield {"tmp": tmp, "env": env, "name": name, "engine": engine, "cli": cli}
    for daemon in ("samp-1", "samp-2", "l1", "l2"):
        cli("rm", "-f", "%s-%s" % (name, daemon), check=False)
    cli("volume", "rm", "-f", name + "-store", check=False)
    for tag in ("v1", "v2"):
        cli("rmi", "-f", "%s:%s" % (TEST_IMAGE, tag), check=False)
    if dockerd:
        dockerd.terminate()
        dockerd.wait(timeout=60)


def run_site(site, *extra):
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "site.yml"),
                           "-i", str(site["tmp"] / "cluster.yaml"), "-e", "ldms_image_tag=v1", *extra],
                          env=site["env"], capture_output=True, text=True, timeout=900, check=False)


def changed_total(output):
    return sum(int(count) for count in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def inspect(site, daemon):
    return json.loads(site["cli"]("inspect", "%s-%s" % (site["name"], daemon)).stdout)[0]


def image_of(container):
    return container.get("ImageName") or container["Config"]["Image"]


def healthy(site, daemon):
    """podman has no systemd here to schedule health checks: run one; docker runs its own."""
    container = "%s-%s" % (site["name"], daemon)
    if site["engine"] == "podman":
        return podman("healthcheck", "run", container, check=False).returncode == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if inspect(site, daemon)["State"]["Health"]["Status"] == "healthy":
            return True
        time.sleep(1)
    return False


def csv_rows(site):
    volume = json.loads(site["cli"]("volume", "inspect", site["name"] + "-store").stdout)[0]["Mountpoint"]
    return sum(len(open(os.path.join(root, file)).read().splitlines())
               for root, _dirs, files in os.walk(volume) for file in files)


def test_site_deploys_configures_and_verifies(site):
    result = run_site(site)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    assert "0 sets missing at the top" in result.stdout
    sampler, aggregator = inspect(site, "samp-2"), inspect(site, "l1")
    for container in (sampler, aggregator):
        assert container["State"]["Running"]
        assert container["HostConfig"]["NetworkMode"] == "host"
        assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        health = container["Config"]["Healthcheck"]["Test"]
        assert health[0] == "CMD-SHELL" and "exec 3<>/dev/tcp/localhost/" in health[1]
        assert image_of(container) == TEST_IMAGE + ":v1"
    assert healthy(site, "samp-2")
    assert sampler["HostConfig"]["PidMode"] == "host"
    assert aggregator["HostConfig"]["PidMode"] != "host"
    assert "COMPID=2" in sampler["Config"]["Env"] and "COMPONENT_ID=2" in sampler["Config"]["Env"]
    config_mount = [m for m in sampler["Mounts"] if m["Destination"] == "/etc/ldms/ldmsd.conf"]
    assert config_mount and config_mount[0]["Source"] == str(site["tmp"] / "etc" / "samp-2.conf")
    assert not config_mount[0]["RW"]
    assert "component_id=${COMPID}" in (site["tmp"] / "etc" / "samp-2.conf").read_text()
    top = inspect(site, "l2")
    assert any(m.get("Name") == site["name"] + "-store" for m in top["Mounts"])
    assert not any(m.get("Name") == site["name"] + "-store" for m in aggregator["Mounts"])
    assert csv_rows(site) >= 2


def test_second_run_changes_nothing(site):
    result = run_site(site)
    assert result.returncode == 0, result.stdout[-4000:]
    assert changed_total(result.stdout) == 0, result.stdout.split("PLAY RECAP")[-1]


def test_runtime_change_is_applied_live_without_restarting_aggregators(site):
    cluster = site["tmp"] / "cluster.yaml"
    original = cluster.read_text()
    started = inspect(site, "l1")["State"]["StartedAt"]
    cluster.write_text(original.replace("{interval: 1s, offset: 100ms, mode: pull}",
                                        "{interval: 2s, offset: 100ms, mode: pull}"))
    try:
        result = run_site(site)
        assert result.returncode == 0, result.stdout[-4000:]
        updaters_task = result.stdout.split("TASK [hpc.ldms.ldmsd : Updaters]")[1].split("TASK [")[0]
        assert "changed: [l1 -> localhost]" in updaters_task
        assert inspect(site, "l1")["State"]["StartedAt"] == started
        assert "updtr_add name=updtr_0 interval=2000000" in (site["tmp"] / "etc" / "l1.conf").read_text()
    finally:
        cluster.write_text(original)
    assert run_site(site).returncode == 0


def test_rolling_image_update_from_an_archive(site):
    archive = site["tmp"] / "ldms-v2.tar"
    # A new image (another id), as a new LDMS release would be.
    cli, builder = site["cli"], "%s-build" % site["name"]
    cli("run", "--name", builder, BASE_IMAGE, "touch", "/etc/hpc-ldms-v2")
    cli("commit", builder, TEST_IMAGE + ":v2")
    cli("rm", builder)
    cli("save", "-o", str(archive), TEST_IMAGE + ":v2")
    cli("rmi", TEST_IMAGE + ":v2")
    result = run_site(site, "-e", "ldms_image_tag=v2", "-e", "ldms_image_archive=%s" % archive,
                      "-e", "ldms_sampler_batch=1")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    assert site["cli"]("image", "inspect", TEST_IMAGE + ":v2", check=False).returncode == 0
    for daemon in ("samp-1", "samp-2", "l1", "l2"):
        assert image_of(inspect(site, daemon)) == TEST_IMAGE + ":v2"
    # One batch per sampler, then one per aggregator, each healed before the next.
    plays = re.findall(r"PLAY \[(Deploy the (?:samplers|level[^\]]+))\]", result.stdout)
    assert plays == ["Deploy the samplers"] * 2 + ["Deploy the level-1 aggregators",
                                                   "Deploy the level-2 and higher aggregators"]
    reconciles = re.findall(r"TASK \[Reconcile the cluster from the management host\][^\n]*\n(ok|changed)",
                            result.stdout)
    assert len(reconciles) == 5  # four batches and the final verification
    assert "0 sets missing at the top" in result.stdout.split("PLAY [Verify")[-1]
