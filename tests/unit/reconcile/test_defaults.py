"""Each reconcile setting has one default, in reconcile/defaults.py: no playbook, role or doc defines another."""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.defaults import DEFAULTS
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.engine import Options
from ansible_collections.hpc.ldms.plugins.modules import ldms_reconcile

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOKS = [ROOT / "playbooks" / "reconcile.yml", ROOT / "playbooks" / "tasks" / "reconcile.yml"]
# A setting's playbook variable, as users pass it with -e.
VARIABLES = {"state_dir": "ldms_state_dir", "dead_after": "ldms_dead_after", "timeout": "ldms_probe_timeout",
             "workers": "ldms_workers", "settle": "ldms_settle", "lock_wait": "ldms_lock_wait",
             "state_backend": "ldms_state_backend", "etcd_endpoints": "ldms_etcd_endpoints"}
# Roles that take a setting under their own name: the paths they create have a default (the reconcile's),
# the others are passed on only when set.
ROLE_PATHS = [("reconcile_schedule", "reconcile_schedule_state_dir", "state_dir"),
              ("maestro", "maestro_state_dir", "state_dir")]
ROLE_PASSED_ON = [("reconcile_schedule", "reconcile_schedule_dead_after"), ("maestro", "maestro_dead_after")]


def reconcile_tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from reconcile_tasks(item)
    elif isinstance(node, dict):
        if "hpc.ldms.ldms_reconcile" in node:
            yield node["hpc.ldms.ldms_reconcile"]
        for value in node.values():
            yield from reconcile_tasks(value)


def test_the_module_doc_states_the_defaults():
    options = yaml.safe_load(ldms_reconcile.DOCUMENTATION)["options"]
    assert {name: options[name].get("default") for name in DEFAULTS} == DEFAULTS


def test_options_default_to_the_defaults():
    options = Options()
    assert {name: getattr(options, name) for name in ("dead_after", "timeout", "workers", "settle")} == {
        name: DEFAULTS[name] for name in ("dead_after", "timeout", "workers", "settle")}


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda path: path.name)
def test_playbooks_pass_a_setting_only_when_set(path):
    plays = yaml.safe_load(path.read_text())
    tasks = list(reconcile_tasks(plays))
    assert tasks
    for task in tasks:
        for name, variable in VARIABLES.items():
            assert task.get(name) == "{{ %s | default(omit) }}" % variable, (path.name, name, task.get(name))
    defined = {variable for play in plays for variable in (play.get("vars") or {})}
    assert not defined & set(VARIABLES.values()), path.name


def role_files(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return defaults, spec["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role, variable, setting", ROLE_PATHS)
def test_role_paths_default_to_the_reconciles(role, variable, setting):
    defaults, options = role_files(role)
    assert defaults[variable] == options[variable]["default"] == DEFAULTS[setting]


@pytest.mark.parametrize("role, variable", ROLE_PASSED_ON)
def test_roles_define_no_default_of_their_own(role, variable):
    defaults, options = role_files(role)
    assert variable not in defaults and "default" not in options[variable]


def test_readme_states_the_defaults():
    readme = (ROOT / "README.md").read_text()
    for name in ("dead_after", "lock_wait", "settle"):
        stated = re.search(r"`%s`[^.]*?default (\d+)" % VARIABLES[name], readme, re.S)
        assert stated and float(stated.group(1)) == DEFAULTS[name], name
