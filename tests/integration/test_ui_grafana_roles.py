"""The ldms_ui and grafana roles run their containers with podman, idempotently.

The real ovishpc/ldms-ui and ovishpc/ldms-grafana images cannot be pulled
here, so the local base image stands in for both, with a command that only
waits; what is checked is what the roles control: the rendered files, the
mounts, the environment, the network, the restart policy, the image loaded
from an archive, recreation on a changed file, and removal.
"""

import json
import os
import py_compile
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
BASE_IMAGE = "localhost/hpc-ldms-node:bookworm"
# Exits at once on SIGTERM, so that stopping the container does not wait for the kill.
WAIT_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not on PATH")


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=check)


def inspect(name):
    return json.loads(podman("container", "inspect", name).stdout)[0]


def exists(kind, name):
    return podman(kind, "exists", name, check=False).returncode == 0


def run_play(tmp_path, play, *args):
    collections = tmp_path / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True, exist_ok=True)
    if not (collections / "ldms").exists():
        os.symlink(REPO, collections / "ldms")
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play, indent=1))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), str(path), "-e", "ansible_python_interpreter=" + sys.executable,
                           *args], env=env, capture_output=True, text=True, timeout=180, check=False)


def recap(result):
    line = [line for line in result.stdout.splitlines() if line.startswith("localhost ")][-1]
    return {key: int(value) for key, value in (field.split("=") for field in line.split()[2:])}


@pytest.fixture
def site(tmp_path):
    """Unique names, secrets and ports for one test; whatever is left is removed afterwards."""
    if not exists("image", BASE_IMAGE):
        pytest.fail("%s is missing: build it with molecule/resources/base_image.yml" % BASE_IMAGE)
    token = uuid.uuid4().hex[:8]
    names = {
        "ui": "test-ldms-ui-" + token,
        "grafana": "test-ldms-grafana-" + token,
        "volume": "test-ldms-grafana-data-" + token,
        "archived": "localhost/test-ldms-ui-archived",
        "archived_tag": token,
        "secret": "ui-secret-" + token,
        "password": "Gr;af#ana-" + token,
        "ui_port": 18000 + int(token[:3], 16) % 1000,
        "grafana_port": 13000 + int(token[3:6], 16) % 1000,
        "tmp": tmp_path,
    }
    yield names
    for container in (names["ui"], names["grafana"]):
        podman("rm", "-f", "-t", "0", container, check=False)
    podman("volume", "rm", "-f", names["volume"], check=False)
    podman("rmi", "%s:%s" % (names["archived"], names["archived_tag"]), check=False)


def play_for(site, state="present", servers=("agg-2",), grafana_port=None, archive="", roles=("ldms_ui", "grafana")):
    tmp = site["tmp"]
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"ldms_deploy_mode": "podman"},
        "roles": [
            {"role": "hpc.ldms.ldms_ui", "vars": {
                "ldms_ui_state": state,
                "ldms_ui_image": site["archived"],
                "ldms_ui_image_tag": site["archived_tag"],
                "ldms_ui_image_archive": archive,
                "ldms_ui_image_archive_dir": str(tmp / "image-cache"),
                "ldms_ui_command": WAIT_COMMAND,
                "ldms_ui_container_name": site["ui"],
                "ldms_ui_config_dir": str(tmp / "ldms-ui"),
                "ldms_ui_port": site["ui_port"],
                "ldms_ui_secret_key": site["secret"],
                "ldms_ui_dsosd_servers": list(servers),
                "ldms_ui_allowed_hosts": ["localhost", "ui.example"],
                "ldms_ui_env": {"LDMS_UI_TEST": 1},
            }},
            {"role": "hpc.ldms.grafana", "vars": {
                "grafana_state": state,
                "grafana_image": BASE_IMAGE.rsplit(":", 1)[0],
                "grafana_image_tag": BASE_IMAGE.rsplit(":", 1)[1],
                "grafana_image_pull": False,
                "grafana_command": WAIT_COMMAND,
                "grafana_container_name": site["grafana"],
                "grafana_config_dir": str(tmp / "ldms-grafana"),
                "grafana_data_volume": site["volume"],
                "grafana_http_port": grafana_port or site["grafana_port"],
                "grafana_admin_password": site["password"],
                "grafana_datasource_url": "http://ui.example:%d/grafana" % site["ui_port"],
            }},
        ],
    }]
    play[0]["roles"] = [role for role in play[0]["roles"] if role["role"].rsplit(".", maxsplit=1)[-1] in roles]
    return play


def mounts(info):
    return {mount["Destination"]: mount for mount in info["Mounts"]}


def in_container(name, path):
    return podman("exec", name, "cat", path).stdout


def test_deploy_check_idempotence_reconfigure_and_remove(site):
    tmp = site["tmp"]
    ui_dir, grafana_dir = tmp / "ldms-ui", tmp / "ldms-grafana"
    archived = "%s:%s" % (site["archived"], site["archived_tag"])

    # The UI image exists only in an archive, as at a site without a registry.
    podman("tag", BASE_IMAGE, archived)
    archive = tmp / "ldms-ui-image.tar"
    podman("save", "-o", str(archive), archived)
    podman("rmi", archived)
    assert not exists("image", archived)

    # Check mode: reports the changes (files, archive, load), makes none.
    check = run_play(tmp, play_for(site, archive=str(archive), roles=("ldms_ui",)), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert recap(check)["changed"] >= 5
    assert not exists("container", site["ui"]) and not ui_dir.exists() and not exists("image", archived)

    first = run_play(tmp, play_for(site, archive=str(archive)), "-v", "--diff")
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    assert site["password"] not in output and site["secret"] not in output
    assert exists("image", archived), "the archive was not loaded"
    assert (tmp / "image-cache" / archive.name).is_file()

    ui = inspect(site["ui"])
    assert ui["State"]["Running"] and ui["ImageName"] == archived
    assert ui["HostConfig"]["NetworkMode"] == "host"
    assert ui["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert "LDMS_UI_TEST=1" in ui["Config"]["Env"]
    ui_mounts = mounts(ui)
    assert ui_mounts["/opt/ovis/etc/dsosd.conf"]["Source"] == str(ui_dir / "dsosd.conf")
    assert ui_mounts["/opt/ovis/ui/sosgui/settings.py"]["Source"] == str(ui_dir / "settings.py")
    assert not ui_mounts["/opt/ovis/etc/dsosd.conf"]["RW"] and not ui_mounts["/opt/ovis/ui/sosgui/settings.py"]["RW"]
    assert in_container(site["ui"], "/opt/ovis/etc/dsosd.conf").splitlines()[-1] == "agg-2"

    settings = (ui_dir / "settings.py").read_text()
    assert 'SECRET_KEY = "%s"' % site["secret"] in settings
    assert 'DSOS_ROOT = "/store/"' in settings
    assert 'DSOS_CONF = "/opt/ovis/etc/dsosd.conf"' in settings
    assert 'ALLOWED_HOSTS = ["localhost", "ui.example"]' in settings
    assert "DEBUG = False" in settings
    py_compile.compile(str(ui_dir / "settings.py"), cfile=str(tmp / "settings.pyc"), doraise=True)
    assert oct((ui_dir / "settings.py").stat().st_mode & 0o777) == "0o640"
    assert oct((ui_dir / "dsosd.conf").stat().st_mode & 0o777) == "0o644"

    grafana = inspect(site["grafana"])
    assert grafana["State"]["Running"] and grafana["ImageName"] == BASE_IMAGE
    assert grafana["HostConfig"]["NetworkMode"] == "host"
    assert grafana["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert {"GF_PATHS_CONFIG=/etc/grafana/grafana.ini", "GF_PATHS_PROVISIONING=/etc/grafana/provisioning",
            "GF_PATHS_DATA=/var/lib/grafana"} <= set(grafana["Config"]["Env"])
    grafana_mounts = mounts(grafana)
    assert grafana_mounts["/etc/grafana/grafana.ini"]["Source"] == str(grafana_dir / "grafana.ini")
    assert not grafana_mounts["/etc/grafana/grafana.ini"]["RW"]
    assert grafana_mounts["/etc/grafana/provisioning/datasources"]["Source"] == str(grafana_dir / "provisioning" / "datasources")
    assert not grafana_mounts["/etc/grafana/provisioning/datasources"]["RW"]
    assert grafana_mounts["/var/lib/grafana"]["Type"] == "volume"
    assert grafana_mounts["/var/lib/grafana"]["Name"] == site["volume"]

    ini = (grafana_dir / "grafana.ini").read_text()
    assert "http_port = %d\n" % site["grafana_port"] in ini
    assert "admin_user = admin\n" in ini
    # ; and # start comments in grafana.ini, so the password is triple-quoted.
    assert 'admin_password = """%s"""\n' % site["password"] in ini
    assert "allow_loading_unsigned_plugins = dsosds\n" in ini
    assert oct((grafana_dir / "grafana.ini").stat().st_mode & 0o777) == "0o640"
    assert in_container(site["grafana"], "/etc/grafana/grafana.ini") == ini
    source = yaml.safe_load(in_container(site["grafana"], "/etc/grafana/provisioning/datasources/hpc-ldms-sos.yaml"))
    assert source["datasources"] == [{
        "name": "SOS", "type": "dsosds", "access": "proxy", "url": "http://ui.example:%d/grafana" % site["ui_port"],
        "uid": "hpc-ldms-sos", "isDefault": True, "editable": False, "jsonData": {"sosVersion": "dsos"}}]

    # Nothing to do the second time: no reload, no recreation.
    second = run_play(tmp, play_for(site, archive=str(archive)))
    assert second.returncode == 0 and recap(second)["changed"] == 0, second.stdout
    assert inspect(site["ui"])["Id"] == ui["Id"] and inspect(site["grafana"])["Id"] == grafana["Id"]

    # A changed setting rewrites the file and recreates the container that reads it.
    third = run_play(tmp, play_for(site, servers=("agg-2", "agg-3"), grafana_port=site["grafana_port"] + 1,
                                   archive=str(archive)))
    assert third.returncode == 0, third.stdout + third.stderr
    assert (ui_dir / "dsosd.conf").read_text().splitlines()[-2:] == ["agg-2", "agg-3"]
    assert "http_port = %d\n" % (site["grafana_port"] + 1) in (grafana_dir / "grafana.ini").read_text()
    ui_after, grafana_after = inspect(site["ui"]), inspect(site["grafana"])
    assert ui_after["Id"] != ui["Id"] and ui_after["State"]["Running"]
    assert grafana_after["Id"] != grafana["Id"] and grafana_after["State"]["Running"]
    assert in_container(site["ui"], "/opt/ovis/etc/dsosd.conf").splitlines()[-1] == "agg-3"
    assert "http_port = %d\n" % (site["grafana_port"] + 1) in in_container(site["grafana"], "/etc/grafana/grafana.ini")

    # Removal: containers and configuration go; the image and Grafana's data stay.
    gone = run_play(tmp, play_for(site, state="absent"))
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not exists("container", site["ui"]) and not exists("container", site["grafana"])
    assert not ui_dir.exists() and not grafana_dir.exists()
    assert exists("volume", site["volume"]) and exists("image", archived)


def test_dashboards_are_provisioned_idempotently(site):
    """The dashboards of the example cluster land in the provisioning directories Grafana reads."""
    tmp = site["tmp"]
    grafana_dir = tmp / "ldms-grafana"
    example = os.path.join(REPO, "examples", "cluster.yaml")
    play = play_for(site, roles=("grafana",))
    play[0]["roles"][0]["vars"]["grafana_dashboards_cluster_file"] = example
    first = run_play(tmp, play)
    assert first.returncode == 0, first.stdout + first.stderr
    names = sorted(path.name for path in (grafana_dir / "dashboards").iterdir())
    assert names == ["hpc-ldms-group-l1-agg-1-4-596d4a56a0.json", "hpc-ldms-group-l2-agg.json",
                     "hpc-ldms-schema-ldms_data-meminfo.json", "hpc-ldms-schema-ldms_data-vmstat.json"]
    provider = yaml.safe_load((grafana_dir / "provisioning" / "dashboards" / "hpc-ldms.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards/hpc-ldms"
    assert provider["providers"][0]["folder"] == "LDMS" and provider["providers"][0]["type"] == "file"
    grafana = inspect(site["grafana"])
    grafana_mounts = mounts(grafana)
    assert grafana_mounts["/etc/grafana/provisioning/dashboards"]["Source"] == str(grafana_dir / "provisioning" / "dashboards")
    assert grafana_mounts["/etc/grafana/dashboards/hpc-ldms"]["Source"] == str(grafana_dir / "dashboards")
    # Grafana, inside the container, sees the provider and every dashboard, naming the provisioned data source.
    assert in_container(site["grafana"], "/etc/grafana/provisioning/dashboards/hpc-ldms.yaml") == \
        (grafana_dir / "provisioning" / "dashboards" / "hpc-ldms.yaml").read_text()
    meminfo = json.loads(in_container(site["grafana"], "/etc/grafana/dashboards/hpc-ldms/hpc-ldms-schema-ldms_data-meminfo.json"))
    source = yaml.safe_load(in_container(site["grafana"], "/etc/grafana/provisioning/datasources/hpc-ldms-sos.yaml"))
    uid = source["datasources"][0]["uid"]
    assert {target["datasource"]["uid"] for panel in meminfo["panels"] for target in panel.get("targets", [])} == {uid}

    second = run_play(tmp, play)
    assert second.returncode == 0 and recap(second)["changed"] == 0, second.stdout
    assert inspect(site["grafana"])["Id"] == grafana["Id"]

    # A stale generated dashboard goes; another file in the directory stays.
    (grafana_dir / "dashboards" / "hpc-ldms-group-gone.json").write_text("{}")
    (grafana_dir / "dashboards" / "site-own.json").write_text("{}")
    third = run_play(tmp, play)
    assert third.returncode == 0, third.stdout + third.stderr
    assert not (grafana_dir / "dashboards" / "hpc-ldms-group-gone.json").exists()
    assert (grafana_dir / "dashboards" / "site-own.json").exists()


def test_missing_secrets_are_refused(site):
    play = play_for(site, roles=("grafana",))
    play[0]["roles"][0]["vars"]["grafana_admin_password"] = ""
    result = run_play(site["tmp"], play)
    assert result.returncode != 0
    assert "grafana_admin_password must be set" in result.stdout
    assert not exists("container", site["grafana"]) and not (site["tmp"] / "ldms-grafana").exists()

    play = play_for(site, roles=("ldms_ui",))
    play[0]["roles"][0]["vars"]["ldms_ui_secret_key"] = ""
    result = run_play(site["tmp"], play)
    assert result.returncode != 0
    assert "ldms_ui_secret_key must be set" in result.stdout
    assert not exists("container", site["ui"]) and not (site["tmp"] / "ldms-ui").exists()
