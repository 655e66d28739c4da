# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render every daemon's config on the controller, in one task."""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.fileio import read_regular_text
from ansible_collections.hpc.ldms.plugins.module_utils.render.plan_cache import loaded_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.summary import render_summary
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import (
    collector_paused,
    render_to_dir,
)

display = Display()
PROGRESS_AFTER = 1.0  # seconds; quicker renders print no progress

ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "prune": {"type": "bool", "default": True},
}
DIFF_FILES = 20  # diffs shown; a large cluster changes thousands of files at once


def _read(path):
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        return ""


def _file_diffs(dest, names, texts):
    """One unified diff per file: its current content against ``texts`` (missing: removed)."""
    return [{"before_header": os.path.join(dest, name), "after_header": os.path.join(dest, name),
             "before": _read(os.path.join(dest, name)), "after": texts.get(name, "")} for name in names[:DIFF_FILES]]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        args = validation.validated_parameters
        progress = Progress()
        try:
            # Usually loaded already by the inventory, in the process this worker was forked from.
            with collector_paused():
                loaded = loaded_cluster(args["src"])
                source, cluster = loaded.source, loaded.cluster
                progress.say("%d daemons loaded from %s" % (len(cluster.daemons), source))
                planner = loaded.boot_planner  # files keep the cluster file's balance, as the ldmsd role writes them
            progress.say("%d aggregator groups balanced" % len(cluster.aggregators))
            # In check mode the texts of the files shown stay in memory, to compare with those on disk.
            check_diff = self._task.check_mode and self._task.diff
            rendered = render_to_dir(cluster, source, args["dest"], check_mode=self._task.check_mode,
                                     prune=args["prune"], planner=planner,
                                     progress=lambda done, total: progress.say("%d of %d daemons rendered"
                                                                               % (done, total)),
                                     keep=DIFF_FILES if check_diff else 0)
            if check_diff:
                result["diff"] = _file_diffs(args["dest"], rendered.written + rendered.removed, rendered.files)
        except ClusterError as exc:
            raise AnsibleActionFail(str(exc))
        except OSError as exc:
            raise AnsibleActionFail("cannot write into %s: %s" % (args["dest"], exc))
        progress.say("%d files written, %d unchanged, %d removed" % (
            len(rendered.written), len(rendered.unchanged), len(rendered.removed)))
        result.update(
            changed=rendered.changed,
            dest=args["dest"],
            source=source,
            written=len(rendered.written),
            unchanged=len(rendered.unchanged),
            removed=rendered.removed,
            summary=render_summary(cluster, rendered.aggregator_plans),
        )
        if cluster.warnings:
            result["warnings"] = list(cluster.warnings)
        if self._task.diff and rendered.written and not self._task.check_mode:
            result["diff"] = [{"before_header": name, "after_header": name,
                               "after": read_regular_text(os.path.join(args["dest"], name)) or ""}
                              for name in rendered.written[:DIFF_FILES]]
        return result


class Progress:
    """Phase lines for a long render, shown once it has run for PROGRESS_AFTER seconds."""

    def __init__(self):
        self.started = time.monotonic()

    def say(self, message: str):
        elapsed = time.monotonic() - self.started
        if elapsed >= PROGRESS_AFTER:
            display.display("hpc.ldms.render_config: %s (%.1f s)" % (message, elapsed))
