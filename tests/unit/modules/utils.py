"""Run a module's main() as Ansible would, and catch what it returns.

A module ends with exit_json or fail_json; both are patched to raise, with
the result, so that a test can look at it. The arguments reach
AnsibleModule the way the controller passes them (including check and diff
mode), through ansible-core's own helper where it has one.
"""

import contextlib
import json

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common import json as common_json

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19
    patch_module_args = None


class AnsibleExitJson(Exception):
    """exit_json was called; ``result`` is what the module returned."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


class AnsibleFailJson(Exception):
    """fail_json was called; ``result`` holds msg and the module's other keys."""

    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


def _as_returned(result):
    """The result after the trip to the controller: a module result must be JSON."""
    encoder = common_json.get_module_encoder("legacy", common_json.Direction.MODULE_TO_CONTROLLER)
    return json.loads(json.dumps(result, cls=encoder))


def _exit_json(module, **result):
    result.setdefault("changed", False)
    result["warnings"] = list(getattr(module, "_test_warnings", []))
    raise AnsibleExitJson(_as_returned(result))


def _fail_json(module, msg, **result):
    result.update(msg=msg, failed=True, warnings=list(getattr(module, "_test_warnings", [])))
    raise AnsibleFailJson(_as_returned(result))


def _warn(module, warning, **_kwargs):
    module.__dict__.setdefault("_test_warnings", []).append(warning)


@contextlib.contextmanager
def set_module_args(args, check_mode=False, diff=False):
    """The module arguments of one task, with the controller's check and diff flags."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
        yield


def run_module(main, args, check_mode=False, diff=False):
    """Run ``main`` with ``args``: the exit_json result, or AnsibleFailJson raised from fail_json."""
    with set_module_args(args, check_mode=check_mode, diff=diff), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", _warn):
        try:
            main()
        except AnsibleExitJson as done:
            return done.result
    raise AssertionError("the module returned without exit_json or fail_json")


def fail_module(main, args, check_mode=False, diff=False):
    """Run ``main`` with ``args`` and return the fail_json result; exiting normally is an error."""
    try:
        result = run_module(main, args, check_mode=check_mode, diff=diff)
    except AnsibleFailJson as failed:
        return failed.result
    raise AssertionError("the module did not fail: %r" % (result,))
