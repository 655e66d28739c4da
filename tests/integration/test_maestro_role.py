"""The maestro role on this host: the reconcile in a venv run from cron, etcd for the HA state
backend (the package's configuration and the container), and upstream Maestro in its container.

Every path of the role points into the test's temporary directory. The venv is installed from
wheels built once per module (pip --no-index --find-links, as offline sites do), and the collection
from a tarball built from this checkout. The node is installed once and the tests that follow
look at it, run its cron job, run the role again, switch etcd to the container and remove it.
"""

import getpass
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import uuid

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import PREFIX, free_ports  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
ROLE = os.path.join(REPO, "roles", "maestro")
PODMAN = shutil.which("podman")
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
LDMS_PREFIX = PREFIX  # real LDMS when installed, the simulator otherwise
# The package's service runs etcd as user etcd; without root the data belongs to whoever runs the test.
ETCD_USER = "etcd" if os.geteuid() == 0 else getpass.getuser()
ROLE_PACKAGES = ["ansible-core", "PyYAML", "python-hostlist", "jmespath", "etcd3gw", "prometheus-client"]
needs_podman = pytest.mark.skipif(PODMAN is None, reason="podman is not installed; the container variants need it")

CLUSTER = """\
daemons:
  - names: samp-1
    hosts: 127.0.0.1
    endpoints:
      - {{names: samp-1-ep, ports: {sampler}}}
  - names: l1-1
    hosts: 127.0.0.1
    endpoints:
      - {{names: l1-1-ep, ports: {aggregator}}}
aggregators:
  - daemons: l1-1
    peers:
      - {{daemons: samp-1, endpoints: samp-1-ep, reconnect: 1s, type: active,
          updaters: [{{interval: 1s, mode: pull}}]}}
samplers:
  - daemons: samp-1
    plugins: [meminfo1]
plugins:
  meminfo1: {{name: meminfo, interval: 1s, config: [{{schema: meminfo}}]}}
"""


def pinned(names):
    pins = {}
    with open(os.path.join(REPO, "requirements.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if "==" in line:
                pins[line.split("==")[0].lower()] = line
    return [pins[name.lower()] for name in names]


def canonical(requirement):
    """PyYAML==6.0.3 and pyyaml==6.0.3, python_hostlist and python-hostlist are the same."""
    return re.sub(r"[-_.]+", "-", requirement.split("==")[0]).lower() + "==" + requirement.partition("==")[2]


def changed_count(result):
    match = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return int(match.group(1))


def podman(*args, check=True):
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=120, check=check)


def inspect(name):
    result = podman("container", "inspect", name, check=False)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def import_image(name, programs, tmp_path):
    """A few host programs and the libraries they link to, as an image (there is no registry here)."""
    libraries = subprocess.run(["ldd", *programs], capture_output=True, text=True, check=True).stdout
    files = set(programs) | set(re.findall(r"(/\S+\.so\S*) \(0x", libraries))
    archive = tmp_path / ("%s.tar" % name.replace("/", "_").replace(":", "_"))
    with tarfile.open(archive, "w") as tar:
        for path in sorted(files):
            tar.add(os.path.realpath(path), arcname=path.lstrip("/"))
    podman("import", str(archive), name)
    archive.unlink()


def wait_healthy(port, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=2) as reply:
                if json.loads(reply.read())["health"] == "true":
                    return
        except (OSError, ValueError):
            pass
        if time.time() > deadline:
            pytest.fail("etcd on 127.0.0.1:%d did not become healthy in %ds" % (port, timeout))
        time.sleep(0.3)


def cron_entry(cron_file):
    lines = cron_file.read_text().splitlines()
    return lines[lines.index("#Ansible: hpc.ldms reconcile") + 1]


class RolePlay:
    """The role on localhost under a temporary root, with this checkout as the hpc.ldms collection."""

    def __init__(self, root, ports=(10001, 10002)):
        self.root = root
        collections = root / "collections" / "ansible_collections" / "hpc"
        collections.mkdir(parents=True)
        os.symlink(REPO, collections / "ldms")
        (root / "etc" / "cron.d").mkdir(parents=True)
        self.cluster = root / "cluster.yaml"
        self.cluster.write_text(CLUSTER.format(sampler=ports[0], aggregator=ports[1]))
        self.vars = {}

    def run(self, check=False, **overrides):
        play = [{"hosts": "localhost", "gather_facts": False, "vars": {"ldms_cluster_file": str(self.cluster)},
                 "roles": [{"role": "hpc.ldms.maestro", "vars": dict(self.vars, **overrides)}]}]
        path = self.root / "play.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(self.root / "collections"), ANSIBLE_NOCOLOR="1")
        command = [os.path.join(BIN, "ansible-playbook"), str(path)] + (["--check"] if check else [])
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


class Node(RolePlay):
    """A management node running the reconcile, with etcd from the package's configuration."""

    def __init__(self, root, tarball, wheels):
        ports = free_ports(4)
        super().__init__(root, ports[:2])
        self.etcd_client, self.etcd_peer = ports[2:]
        (root / "etc" / "default").mkdir()
        self.venv = root / "opt" / "hpc-ldms"
        self.config_dir = root / "etc" / "hpc-ldms"
        self.cluster_dest = root / "etc" / "ldms" / "cluster.yaml"
        self.cron_file = root / "etc" / "cron.d" / "hpc-ldms-reconcile"
        self.state_dir = root / "var" / "lib" / "hpc-ldms"
        self.log = root / "var" / "log" / "hpc-ldms" / "reconcile.log"
        self.etcd_config = root / "etc" / "default" / "etcd"
        self.etcd_container = "hpc-ldms-test-etcd-%s" % uuid.uuid4().hex[:8]
        self.vars = {
            "maestro_venv": str(self.venv),
            "maestro_pip_extra_args": "--no-index --find-links %s" % wheels,
            "maestro_collection_archive": str(tarball),
            "maestro_cluster_dest": str(self.cluster_dest),
            "maestro_config_dir": str(self.config_dir),
            "maestro_ldms_prefix": LDMS_PREFIX,
            "maestro_state_dir": str(self.state_dir),
            "maestro_log": str(self.log),
            "maestro_cron_file": str(self.cron_file),
            "maestro_period_minutes": 2,
            "maestro_dead_after": 3,
            "maestro_image_cache_dir": str(root / "var" / "cache" / "hpc-ldms"),
            "maestro_etcd": "package",
            # No init system here: the service is not started, the test runs etcd from the file instead.
            "maestro_etcd_service": False,
            "maestro_etcd_config_file": str(self.etcd_config),
            "maestro_etcd_user": ETCD_USER,
            "maestro_etcd_data_dir": str(root / "var" / "lib" / "etcd" / "package"),
            "maestro_etcd_host": "127.0.0.1",
            "maestro_etcd_listen_address": "127.0.0.1",
            "maestro_etcd_client_port": self.etcd_client,
            "maestro_etcd_peer_port": self.etcd_peer,
            "maestro_etcd_container_name": self.etcd_container,
        }
        self.etcd_process = None

    def container_vars(self, image):
        """etcd in a container: an image of the host's etcd binary stands in for quay.io/coreos/etcd."""
        return {
            "maestro_etcd": "container",
            "maestro_etcd_image_name": image.rsplit(":", 1)[0],
            "maestro_etcd_image_tag": image.rsplit(":", 1)[1],
            "maestro_etcd_command": [ETCD],
            "maestro_etcd_data_dir": str(self.root / "var" / "lib" / "etcd" / "container"),
        }

    def start_etcd_from_config(self):
        """What Debian's etcd.service does: EnvironmentFile=/etc/default/etcd, then /usr/bin/etcd (here as
        the test's user: the etcd user cannot enter the test's private temporary directory)."""
        env = {"PATH": "/usr/bin:/bin"}
        for line in self.etcd_config.read_text().splitlines():
            match = re.match(r'^(ETCD_[A-Z_]+)="(.*)"$', line)
            if match:
                env[match.group(1)] = match.group(2)
        with open(self.root / "etcd.log", "w") as log:
            self.etcd_process = subprocess.Popen([ETCD], env=env, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT)

    def stop_etcd(self):
        if self.etcd_process is not None:
            self.etcd_process.kill()
            self.etcd_process.wait()
            self.etcd_process = None

    def cleanup(self):
        self.stop_etcd()
        if PODMAN:
            podman("rm", "-f", "-t", "0", self.etcd_container, check=False)


@pytest.fixture(scope="module")
def etcd_image(tmp_path_factory):
    if PODMAN is None:
        pytest.skip("podman is not installed; the container variants need it")
    name = "localhost/hpc-ldms-test-etcd:%s" % uuid.uuid4().hex[:8]
    import_image(name, [ETCD], tmp_path_factory.mktemp("etcd-image"))
    yield name
    podman("rmi", "-f", name, check=False)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node checked first (check mode must create nothing), then installed."""
    artifacts = tmp_path_factory.mktemp("maestro-artifacts")
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                            str(artifacts), REPO], capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = sorted(artifacts.glob("hpc-ldms-*.tar.gz"))[0]
    # The wheels of the offline install are built while check mode runs on the fresh node.
    wheels = subprocess.Popen([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w",
                               str(artifacts / "wheels"), *pinned(ROLE_PACKAGES)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    node = Node(tmp_path_factory.mktemp("maestro-node"), tarball, artifacts / "wheels")
    node.check_run = node.run(check=True)
    node.left_by_check = sorted(str(path.relative_to(node.root)) for path in node.root.rglob("*")
                                if not str(path.relative_to(node.root)).startswith(("collections", "play.yml")))
    output = wheels.communicate(timeout=600)[0]
    assert wheels.returncode == 0, output
    node.first = node.run()
    yield node
    node.cleanup()


def test_the_venv_packages_follow_the_pinned_requirements():
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert defaults["maestro_pip_packages"] == pinned(ROLE_PACKAGES)
    assert spec["maestro_pip_packages"]["default"] == pinned(ROLE_PACKAGES)


def test_check_mode_on_a_fresh_node_creates_nothing(node):
    assert node.check_run.returncode == 0, node.check_run.stdout + node.check_run.stderr
    assert changed_count(node.check_run) > 0
    assert node.left_by_check == ["cluster.yaml", "etc", "etc/cron.d", "etc/default"]


def test_venv_collection_environment_and_cron_entry(node):
    assert node.first.returncode == 0, node.first.stdout + node.first.stderr
    playbook = node.venv / "bin" / "ansible-playbook"
    version = subprocess.run([str(playbook), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("ansible-playbook [core 2.19.14]"), version.stdout
    freeze = subprocess.run([str(node.venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert {canonical(pin) for pin in pinned(ROLE_PACKAGES)} <= {canonical(line) for line in freeze}, freeze

    manifest = node.venv / "collections" / "ansible_collections" / "hpc" / "ldms" / "MANIFEST.json"
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    assert json.loads(manifest.read_text())["collection_info"]["version"] == version
    assert (manifest.parent / "playbooks" / "reconcile.yml").is_file()

    assert node.cluster_dest.read_text() == node.cluster.read_text()
    environment = (node.config_dir / "env").read_text().splitlines()
    assert 'LDMS_PREFIX="%s"' % LDMS_PREFIX in environment
    assert 'ANSIBLE_COLLECTIONS_PATH="%s/collections"' % node.venv in environment
    inventory = yaml.safe_load((node.config_dir / "inventory.yaml").read_text())
    assert inventory == {"plugin": "hpc.ldms.cluster", "ldms_config": str(node.cluster_dest)}

    assert cron_entry(node.cron_file) == (
        "*/2 * * * * root LDMS_PREFIX=%s ANSIBLE_COLLECTIONS_PATH=%s/collections %s hpc.ldms.reconcile "
        "-i %s/inventory.yaml -e ldms_state_dir=%s -e ldms_dead_after=3 "
        "-e '{\"ldms_etcd_endpoints\": [\"127.0.0.1:%d\"], \"ldms_state_backend\": \"etcd\"}' >> %s 2>&1"
        % (LDMS_PREFIX, node.venv, playbook, node.config_dir, node.state_dir, node.etcd_client, node.log))


def test_etcd_package_configuration(node):
    assert node.first.returncode == 0, node.first.stdout + node.first.stderr
    settings = [line for line in node.etcd_config.read_text().splitlines() if not line.startswith("#")]
    client, peer = "http://127.0.0.1:%d" % node.etcd_client, "http://127.0.0.1:%d" % node.etcd_peer
    assert settings == [
        'ETCD_NAME="localhost"',
        'ETCD_DATA_DIR="%s"' % node.vars["maestro_etcd_data_dir"],
        'ETCD_LISTEN_CLIENT_URLS="%s"' % client,
        'ETCD_ADVERTISE_CLIENT_URLS="%s"' % client,
        'ETCD_LISTEN_PEER_URLS="%s"' % peer,
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="%s"' % peer,
        'ETCD_INITIAL_CLUSTER="localhost=%s"' % peer,
        'ETCD_INITIAL_CLUSTER_TOKEN="hpc-ldms"',
        'ETCD_INITIAL_CLUSTER_STATE="new"',
    ]
    data_dir = os.stat(node.vars["maestro_etcd_data_dir"])
    assert (data_dir.st_mode & 0o777, data_dir.st_uid) == (0o700, pwd.getpwnam(ETCD_USER).pw_uid)


def test_the_cron_job_runs_the_reconcile_from_the_venv_on_etcd(node):
    """etcd started from the written configuration as the service would; then the cron job, as cron runs it."""
    node.start_etcd_from_config()
    try:
        wait_healthy(node.etcd_client)
        job = cron_entry(node.cron_file).split(None, 6)[6]
        cron_env = {"PATH": "/usr/bin:/bin", "HOME": os.path.expanduser("~"), "SHELL": "/bin/sh",
                    "LOGNAME": getpass.getuser()}
        subprocess.run(["/bin/sh", "-c", job], env=cron_env, cwd=cron_env["HOME"], timeout=300, check=False)
        log = node.log.read_text()
        assert "TASK [Probe, assign, apply and report]" in log, log
        report = json.loads((node.state_dir / "reconcile-report.json").read_text())
        assert report["alive"] + report["dead"] == ["l1-1"], report
        import etcd3gw

        values = etcd3gw.client(host="127.0.0.1", port=node.etcd_client).get("/hpc-ldms/cluster/state")
        assert json.loads(values[0])["failures"] == {"l1-1": 1}
        assert not (node.state_dir / "reconcile-state.json").exists()  # the state is in etcd, not in a file
    finally:
        node.stop_etcd()


def test_a_second_run_changes_nothing(node):
    second = node.run()
    assert second.returncode == 0 and changed_count(second) == 0, second.stdout


@needs_podman
def test_etcd_in_a_container(node, etcd_image):
    first = node.run(**node.container_vars(etcd_image))
    assert first.returncode == 0, first.stdout + first.stderr
    container = inspect(node.etcd_container)
    assert container["State"]["Running"]
    assert container["HostConfig"]["NetworkMode"] == "host"
    assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    mounts = {mount["Destination"]: mount["Source"] for mount in container["Mounts"]}
    assert mounts["/var/lib/etcd"] == node.container_vars(etcd_image)["maestro_etcd_data_dir"]
    wait_healthy(node.etcd_client)
    second = node.run(**node.container_vars(etcd_image))
    assert second.returncode == 0 and changed_count(second) == 0, second.stdout
    assert inspect(node.etcd_container)["Id"] == container["Id"]


def test_absent_removes_the_node_and_keeps_the_state(node):
    etcd = {"maestro_etcd": "container"} if PODMAN else {}
    result = node.run(maestro_state="absent", **etcd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hpc.ldms reconcile" not in (node.cron_file.read_text() if node.cron_file.exists() else "")
    for path in (node.venv, node.config_dir / "env", node.config_dir / "inventory.yaml", node.cluster_dest):
        assert not path.exists(), path
    if not PODMAN:
        assert not node.etcd_config.exists()
    else:
        assert inspect(node.etcd_container) is None
    assert (node.state_dir / "reconcile-report.json").exists()


@needs_podman
def test_upstream_maestro_container(tmp_path):
    """Upstream Maestro from an image archive, with the cluster file as its ldms_cfg.yaml; re-created
    when the file changes and only then. A small image of a shell stands in for ovishpc/ldms-maestro."""
    suffix = uuid.uuid4().hex[:8]
    name, repository = "hpc-ldms-test-maestro-%s" % suffix, "localhost/hpc-ldms-test-maestro"
    image = "%s:%s" % (repository, suffix)
    node = RolePlay(tmp_path)
    cluster_dest = tmp_path / "etc" / "ldms" / "cluster.yaml"
    cron_file = tmp_path / "etc" / "cron.d" / "hpc-ldms-reconcile"
    cron_file.write_text("#Ansible: hpc.ldms reconcile\n* * * * * root true\n")  # a reconcile left from before
    node.vars = {
        "maestro_upstream": True,
        "maestro_upstream_image_name": repository,
        "maestro_upstream_image_tag": suffix,
        "maestro_upstream_command": ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
        "maestro_upstream_container_name": name,
        "maestro_image_archive": str(tmp_path / "maestro-image.tar"),
        "maestro_image_cache_dir": str(tmp_path / "var" / "cache" / "hpc-ldms"),
        "maestro_cluster_dest": str(cluster_dest),
        "maestro_cron_file": str(cron_file),
    }
    import_image(image, ["/bin/sh", shutil.which("sleep"), shutil.which("cat")], tmp_path)
    podman("save", "-o", node.vars["maestro_image_archive"], image)
    podman("rmi", image)  # the archive must bring it back
    try:
        first = node.run()
        assert first.returncode == 0, first.stdout + first.stderr
        assert podman("image", "exists", image, check=False).returncode == 0
        container = inspect(name)
        assert container["State"]["Running"] and container["ImageName"] == image
        assert container["HostConfig"]["NetworkMode"] == "host"
        assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        mounts = {mount["Destination"]: (mount["Source"], mount["RW"]) for mount in container["Mounts"]}
        assert mounts["/etc/ldms_cfg.yaml"] == (str(cluster_dest), False)
        assert podman("exec", name, "cat", "/etc/ldms_cfg.yaml").stdout == node.cluster.read_text()
        assert not cron_file.exists() or "hpc.ldms reconcile" not in cron_file.read_text()

        unchanged = node.run()
        assert unchanged.returncode == 0 and changed_count(unchanged) == 0, unchanged.stdout
        assert inspect(name)["Id"] == container["Id"]

        node.cluster.write_text(node.cluster.read_text().replace("interval: 1s, config", "interval: 2s, config"))
        edited = node.run()
        assert edited.returncode == 0 and changed_count(edited) == 2, edited.stdout  # the copy and the container
        recreated = inspect(name)
        assert recreated["Id"] != container["Id"] and recreated["State"]["Running"]
        assert podman("exec", name, "cat", "/etc/ldms_cfg.yaml").stdout == node.cluster.read_text()

        removed = node.run(maestro_state="absent")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert inspect(name) is None and not cluster_dest.exists()
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
        podman("rmi", image, check=False)


def test_upstream_maestro_with_etcd_is_refused(tmp_path):
    node = RolePlay(tmp_path)
    node.vars = {"maestro_upstream": True, "maestro_etcd": "container",
                 "maestro_cluster_dest": str(tmp_path / "cluster-copy.yaml")}
    result = node.run()
    assert result.returncode != 0
    assert "maestro_upstream runs its own etcd inside the ldms-maestro container" in result.stdout
    assert not (tmp_path / "cluster-copy.yaml").exists()
