"""The client imports LDMS's communicator from the prefix it is given, and no other."""

import os
import sys

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError, load_communicator

SIMULATOR_PREFIX = os.path.join(os.path.dirname(__file__), "..", "..", "simulator", "prefix")


def test_the_communicator_comes_from_the_prefix(tmp_path):
    module = load_communicator(SIMULATOR_PREFIX)
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(SIMULATOR_PREFIX))
    assert load_communicator(SIMULATOR_PREFIX) is module


def test_a_communicator_of_another_prefix_is_refused_not_reused(tmp_path):
    load_communicator(SIMULATOR_PREFIX)
    other = tmp_path / "lib" / "python3.11" / "site-packages" / "ldmsd"
    other.mkdir(parents=True)
    (other / "ldmsd_communicator.py").write_text("")
    with pytest.raises(LdmsdError, match="already loaded from .*, not from %s" % tmp_path):
        load_communicator(str(tmp_path))
    assert str(other.parent) not in sys.path
