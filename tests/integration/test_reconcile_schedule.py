"""The reconcile_schedule role writes one cron entry, idempotently."""

import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: hpc.ldms.reconcile_schedule
      vars:
        reconcile_schedule_cluster_file: /etc/ldms/cluster.yaml
        reconcile_schedule_state_dir: {tmp}/state
        reconcile_schedule_log: {tmp}/log/reconcile.log
        reconcile_schedule_period_minutes: 2
        reconcile_schedule_cron_file: {tmp}/cron.d/hpc-ldms-reconcile
        reconcile_schedule_ldms_prefix: /opt/ovis
        reconcile_schedule_ansible_playbook: /opt/hpc-ldms/bin/ansible-playbook
"""


def run_play(tmp_path, text):
    collections = tmp_path / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True, exist_ok=True)
    if not (collections / "ldms").exists():
        os.symlink(REPO, collections / "ldms")
    play = tmp_path / "play.yml"
    play.write_text(text)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play)], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cron_entry_and_second_run_changes_nothing(tmp_path):
    (tmp_path / "cron.d").mkdir()
    first = run_play(tmp_path, PLAY.format(tmp=tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    entry = (tmp_path / "cron.d" / "hpc-ldms-reconcile").read_text()
    assert "#Ansible: hpc.ldms reconcile" in entry
    assert ("*/2 * * * * root LDMS_PREFIX=/opt/ovis /opt/hpc-ldms/bin/ansible-playbook hpc.ldms.reconcile "
            "-i /etc/ldms/cluster.yaml -e ldms_state_dir=%s/state >> %s/log/reconcile.log 2>&1"
            % (tmp_path, tmp_path)) in entry
    assert (tmp_path / "state").is_dir() and (tmp_path / "log").is_dir()
    second = run_play(tmp_path, PLAY.format(tmp=tmp_path))
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout


def test_bad_period_is_refused(tmp_path):
    text = PLAY.format(tmp=tmp_path).replace("reconcile_schedule_period_minutes: 2", "reconcile_schedule_period_minutes: 90")
    result = run_play(tmp_path, text)
    assert result.returncode != 0
    assert "reconcile_schedule_period_minutes must be 1 to 59, got 90" in result.stdout
    assert not (tmp_path / "cron.d" / "hpc-ldms-reconcile").exists()


def test_dead_after_is_passed_only_when_set(tmp_path):
    """Unset (also when given as another role's unset variable), the run takes the reconcile's default."""
    (tmp_path / "cron.d").mkdir()
    play = PLAY.format(tmp=tmp_path)
    unset_var = "        reconcile_schedule_dead_after: \"{{ maestro_dead_after | default(none) }}\"\n"
    unset = run_play(tmp_path, play.replace("      vars:\n", "      vars:\n" + unset_var))
    assert unset.returncode == 0, unset.stdout + unset.stderr
    assert "ldms_dead_after" not in (tmp_path / "cron.d" / "hpc-ldms-reconcile").read_text()
    given = run_play(tmp_path, play.replace("      vars:\n", "      vars:\n        reconcile_schedule_dead_after: 3\n"))
    assert given.returncode == 0, given.stdout + given.stderr
    assert "-e ldms_state_dir=%s/state -e ldms_dead_after=3 >> " % tmp_path in (
        tmp_path / "cron.d" / "hpc-ldms-reconcile").read_text()
