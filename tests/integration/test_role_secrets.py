"""Secrets never reach Ansible's output (-v, --diff, --check) nor a container label.

The tasks that touch a secret run on localhost, into a temporary directory:
the ldmsd role's munge key, and the grafana and ldms_ui configurations whose
digests become container labels.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)


def run_play(tmp_path, tasks, *args):
    collections = tmp_path / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True, exist_ok=True)
    if not (collections / "ldms").exists():
        os.symlink(REPO, collections / "ldms")
    path = tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], indent=1))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path),
                          "-e", "ansible_python_interpreter=" + sys.executable, *args],
                         env=env, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


@pytest.fixture
def secret():
    return "s3cr3t-" + uuid.uuid4().hex


def assert_hidden(output, *secrets):
    for value in secrets:
        assert value not in output
        assert hashlib.sha256(value.encode()).hexdigest() not in output


def munge_key_task(tmp_path, key_src):
    return {"name": "munge key", "ansible.builtin.include_role": {"name": "hpc.ldms.ldmsd", "tasks_from": "files"},
            "vars": {"ldmsd_config_dir": str(tmp_path / "etc"), "ldmsd_log_dir": str(tmp_path / "log"),
                     "ldmsd_run_dir": str(tmp_path / "run"), "ldms_cluster_file": "cluster.yaml",
                     "ldmsd_config_text": "load name=meminfo\n", "ldmsd_munge_mode": "key",
                     "ldmsd_munge_key_src": str(key_src)}}


def test_the_munge_key_is_never_shown(tmp_path, secret):
    key_src = tmp_path / "munge.key"
    key_src.write_text(secret + "\n")
    task = munge_key_task(tmp_path, key_src)
    for args in (["--check", "--diff", "-vvv"], ["--diff", "-vvv"]):
        assert_hidden(run_play(tmp_path, [task], *args), secret)
    installed = tmp_path / "etc" / "munge.key"
    assert installed.read_text() == secret + "\n" and oct(installed.stat().st_mode & 0o777) == "0o600"
    key_src.write_text(secret + "-changed\n")  # a changed key: the diff would show both
    assert_hidden(run_play(tmp_path, [task], "--diff", "-vvv"), secret, secret + "-changed")
    assert installed.read_text() == secret + "-changed\n"


def digest_task(role, variables, fact):
    return [{"name": "config", "ansible.builtin.include_role": {"name": "hpc.ldms." + role, "tasks_from": "config"},
             "vars": variables},
            {"name": "show digest", "ansible.builtin.debug": {"msg": "DIGEST=%s" % ("{{ %s }}" % fact)}}]


def digest_of(output):
    return [line.split("DIGEST=")[1].strip().strip('"') for line in output.splitlines() if "DIGEST=" in line][0]


def grafana_vars(tmp_path, password, secret_key, port=3000, smtp="smtp-pass"):
    return {"grafana_config_dir": str(tmp_path / "grafana"), "grafana_admin_password": password,
            "grafana_secret_key": secret_key, "grafana_http_port": port,
            "grafana_ini_extra": {"smtp": {"enabled": True, "password": smtp}},
            "grafana_config_owner": str(os.getuid()), "grafana_config_group": str(os.getgid())}


def test_the_grafana_label_discloses_no_secret(tmp_path, secret):
    secrets = grafana_vars(tmp_path, secret, secret + "-key", smtp=secret + "-smtp")
    first = run_play(tmp_path, digest_task("grafana", secrets, "grafana_config_digest"), "--diff", "-vvv")
    ini = (tmp_path / "grafana" / "grafana.ini").read_text()
    assert "admin_password = %s\n" % secret in ini and "password = %s-smtp\n" % secret in ini
    assert_hidden(first, secret, secret + "-key", secret + "-smtp", ini)
    assert hashlib.sha256(ini.encode()).hexdigest() not in first
    # Other secrets give the same label: it carries nothing of them.
    other = run_play(tmp_path, digest_task("grafana", grafana_vars(tmp_path, "other", "other-key", smtp="x"),
                                           "grafana_config_digest"))
    assert digest_of(other) == digest_of(first)
    # A setting that is not a secret still changes it.
    moved_vars = grafana_vars(tmp_path, "other", "other-key", port=3001, smtp="x")
    moved = run_play(tmp_path, digest_task("grafana", moved_vars, "grafana_config_digest"))
    assert digest_of(moved) != digest_of(first)


def ui_vars(tmp_path, secret_key, servers=("agg-2",)):
    return {"ldms_ui_config_dir": str(tmp_path / "ui"), "ldms_ui_secret_key": secret_key,
            "ldms_ui_dsosd_servers": list(servers)}


def test_the_ldms_ui_label_discloses_no_secret(tmp_path, secret):
    first = run_play(tmp_path, digest_task("ldms_ui", ui_vars(tmp_path, secret), "ldms_ui_config_digest"),
                     "--diff", "-vvv")
    settings = (tmp_path / "ui" / "settings.py").read_text()
    assert secret in settings
    assert_hidden(first, secret, settings)
    other = run_play(tmp_path, digest_task("ldms_ui", ui_vars(tmp_path, "other"), "ldms_ui_config_digest"))
    assert digest_of(other) == digest_of(first)
    moved = run_play(tmp_path, digest_task("ldms_ui", ui_vars(tmp_path, "other", ("agg-3",)),
                                           "ldms_ui_config_digest"))
    assert digest_of(moved) != digest_of(first)
