"""Make ``ansible_collections.hpc.ldms`` importable from this checkout, uninstalled."""

import atexit
import os
import shutil
import sys
import tempfile

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ROOT = tempfile.mkdtemp(prefix="hpc-ldms-path-")
os.makedirs(os.path.join(_ROOT, "ansible_collections", "hpc"))
os.symlink(_REPO, os.path.join(_ROOT, "ansible_collections", "hpc", "ldms"))
sys.path.insert(0, _ROOT)
atexit.register(shutil.rmtree, _ROOT, True)
