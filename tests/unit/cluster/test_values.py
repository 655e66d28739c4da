import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import parse_bool, parse_perm, parse_time_us


@pytest.mark.parametrize("text, micros", [
    ("1.0s", 1000000), ("20s", 20000000), ("0ms", 0), ("1ms", 1000), ("100ms", 100000),
    ("2m", 120000000), ("1h", 3600000000), ("1d", 86400000000), ("1.5S", 1500000),
    ("10us", 10), ("-100ms", -100000), ("1 s", 1000000), ("1e3ms", 1000000), ("1000000", 1000000),
    (1000000, 1000000), ("2.01s", 2010000), ("32.3ms", 32300),
])
def test_time_values_are_exact_microseconds(text, micros):
    assert parse_time_us(text, "x") == micros


def test_every_two_decimal_second_is_exact():
    for hundredths in range(2000):
        text = "%d.%02ds" % divmod(hundredths, 100)
        assert parse_time_us(text, "x") == hundredths * 10000


@pytest.mark.parametrize("text", ["${INTERVAL}", "$INTERVAL"])
def test_env_reference_passes_through(text):
    assert parse_time_us(text, "x") == text


@pytest.mark.parametrize("text", ["10min", "50s40us", "abc", "1.5", "0.5us", "$x{y}", True, [1]])
def test_bad_time_names_the_path(text):
    with pytest.raises(ClusterError) as info:
        parse_time_us(text, "plugins.meminfo1.interval")
    assert str(info.value).startswith("plugins.meminfo1.interval: ")


@pytest.mark.parametrize("text, octal", [
    ("0777", "0777"), ("644", "0644"), ("rw-r--r--", "0644"), ("rw-rw----", "0660"), ("0", "0000"), ("rwxr-xr-x", "0755"),
])
def test_permissions(text, octal):
    assert parse_perm(text, "x") == octal


def test_permission_ints_keep_their_written_digits():
    data = load_text("a: 0777\nb: 644\n")
    assert parse_perm(data["a"], "a") == "0777"
    assert parse_perm(data["b"], "b") == "0644"


@pytest.mark.parametrize("text", ["0o777", "6448", "rw-r--r-", "rwz------", True])
def test_bad_permissions(text):
    with pytest.raises(ClusterError, match="^stores.x.perm: "):
        parse_perm(text, "stores.x.perm")


def test_booleans():
    assert parse_bool("True", "x") is True and parse_bool("false", "x") is False and parse_bool(True, "x")
    with pytest.raises(ClusterError, match="daemons.0.stream_enable: expected true or false"):
        parse_bool("maybe", "daemons.0.stream_enable")
