"""The cluster inventory through real ansible-inventory: hosts, or one error and a non-zero exit."""

import json
import os
import subprocess

import pytest

from test_render_playbook import BIN, EXAMPLE, REPO, ansible_env  # noqa: F401 pylint: disable=unused-import

DATA = os.path.join(REPO, "tests", "unit", "cluster", "data")


def inventory(env, path, *args):
    return subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(path), *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def wrapper(tmp_path, cluster_text, extra=""):
    (tmp_path / "ldms.yaml").write_text(cluster_text)
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms.yaml\n" + extra)
    return path


def errors_of(result):
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("[ERROR]")]


def hosts_of(result):
    return json.loads(result.stdout)["ldms_daemons"]["hosts"]


def ldms_block_generic():
    with open(os.path.join(DATA, "block_generic.yaml")) as stream:
        return stream.read()


def test_ldms_block_generic_lists_its_hosts(ansible_env, tmp_path):
    """LDMS's test cluster as written, `offset: -100000` a bare integer, gives every daemon.

    Its admin nodes run a sampler and an aggregator that both listen on
    0.0.0.0:20412: that works only in separate network namespaces, so it is a
    warning, not an error.
    """
    path = wrapper(tmp_path, ldms_block_generic())
    graph = inventory(ansible_env, path, "--graph", "ldms_aggregators")
    assert graph.returncode == 0, graph.stderr
    assert "cnadmin1-agg" in graph.stdout and "SourceInt" not in graph.stderr
    assert "daemons 'cnadmin1-agg' and 'cnadmin1' both listen on host cnadmin1 port 20412 (sock) on every address" \
        in " ".join(graph.stderr.split())
    listed = inventory(ansible_env, path, "--list")
    assert listed.returncode == 0, listed.stderr
    assert len(hosts_of(listed)) == 1540


def test_two_daemons_on_one_address_is_one_error(ansible_env, tmp_path):
    text = ldms_block_generic().replace("    bind_all: True\n", "    bind_all: False\n")
    result = inventory(ansible_env, wrapper(tmp_path, text), "--graph")
    assert result.returncode != 0
    assert errors_of(result) == [
        "[ERROR]: hpc.ldms.cluster: %s: daemons[1].endpoints: daemons 'cnadmin1-agg' and 'cnadmin1' both listen on "
        "host cnadmin1 port 20412 (sock)" % (tmp_path / "ldms.yaml")]


def example_with(old, new):
    with open(EXAMPLE) as stream:
        text = stream.read()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("name, text, expected", [
    ("inf", lambda: example_with('offset: "0s"', "offset: .inf"), "plugins.meminfo1.offset: inf is not a time"),
    ("nan", lambda: example_with('offset: "0s"', "offset: .nan"), "plugins.meminfo1.offset: nan is not a time"),
    ("recursion", lambda: "daemons: " + "[" * 3000 + "]" * 3000, "bad YAML: nested too deeply"),
    ("typo", lambda: example_with("    interval: 1.0s\n", "    intervall: 1.0s\n"),
     "plugins.meminfo1.intervall: unknown key 'intervall' (did you mean 'interval'?)"),
    ("section", lambda: example_with("samplers:", "sampler:"),
     "sampler: unknown top-level key 'sampler' (did you mean 'samplers'?)"),
])
def test_every_failure_is_one_error_and_no_inventory(ansible_env, tmp_path, name, text, expected):
    body = text()
    path = wrapper(tmp_path, body.replace("plugin: hpc.ldms.cluster\n", ""))
    result = inventory(ansible_env, path, "--graph")
    assert result.returncode != 0, result.stdout
    errors = errors_of(result)
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("[ERROR]: hpc.ldms.cluster: %s" % (tmp_path / "ldms.yaml"))
    assert expected in errors[0]


def test_binary_cluster_file_is_one_error(ansible_env, tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms.bin\n")
    (tmp_path / "ldms.bin").write_bytes(bytes(range(256)) * 20)
    result = inventory(ansible_env, path, "--graph")
    assert result.returncode != 0
    assert errors_of(result) == ["[ERROR]: hpc.ldms.cluster: %s: not a text file (byte 128 is not UTF-8)" % (tmp_path / "ldms.bin")]


def test_bare_integer_offsets_and_ldms_strict_false(ansible_env, tmp_path):
    body = example_with('offset: "0s"', "offset: 0").replace("plugin: hpc.ldms.cluster\n", "")
    body = body.replace("    interval: 1.0s\n", "    interval: 1.0s\n    intervall: 10s\n", 1)
    result = inventory(ansible_env, wrapper(tmp_path, body, "ldms_strict: false\n"), "--list")
    assert result.returncode == 0, result.stderr
    assert len(hosts_of(result)) == 15
    assert "plugins.meminfo1.intervall: unknown key 'intervall' ignored (did you mean 'interval'?)" in result.stderr
    assert "Unsupported" not in result.stderr and "unsupported" not in result.stderr


def test_inline_cluster_file_keeps_working(ansible_env):
    result = inventory(ansible_env, EXAMPLE, "--graph", "ldms_samplers")
    assert result.returncode == 0, result.stderr
    assert "sampler-1" in result.stdout
