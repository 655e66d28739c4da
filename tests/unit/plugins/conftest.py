"""Ansible's controller machinery, set up once: its collection loader finds hpc.ldms where tests/conftest.py linked it.

Other tests import the collection as plain namespace packages; Ansible's
loader needs the packages it makes itself (they carry the collection's
metadata), so those few package entries are dropped for it to make again.
Modules already imported stay as they are.
"""

import os
import sys

import pytest

from ansible.plugins.loader import init_plugin_loader

import ansible_collections.hpc.ldms.plugins as collection_plugins


def collection_root():
    """The directory holding ansible_collections/hpc/ldms (the link, not the checkout it points at)."""
    path = list(collection_plugins.__path__)[0]
    for _level in ("plugins", "ldms", "hpc", "ansible_collections"):
        path = os.path.dirname(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def collection_loader():
    root = collection_root()
    for name in [name for name, module in sys.modules.items()
                 if name.split(".")[0] == "ansible_collections" and getattr(module, "__file__", None) is None]:
        del sys.modules[name]
    init_plugin_loader([root])
