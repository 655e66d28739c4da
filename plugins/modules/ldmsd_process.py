# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldmsd_process
short_description: Run ldmsd as a plain background process
version_added: 0.1.0
description:
  - Starts, stops or restarts one ldmsd as a background process with a pid file and a log file, for single-host
    demos, tests and hosts without a container engine or systemd.
  - The process is started as C(ldmsd -F -c CONFIG -l LOG) plus O(args), in a session of its own, with the
    library and plugin paths of O(ldms_prefix) in its environment.
  - It is restarted only when its command line, its environment or O(startup_digest) differ from what it was
    started with (recorded beside the pid file), so that runtime objects of a changed config file can be applied
    live instead.
options:
  name:
    description: Daemon name, for messages.
    type: str
    required: true
  config:
    description: The ldmsd config file (C(ldmsd -c)).
    type: path
    required: true
  pidfile:
    description: The pid file. C(<pidfile>.json) beside it records the start-up digest.
    type: path
    required: true
  log:
    description: The log file; ldmsd's output is appended to it.
    type: path
    required: true
  state:
    description: V(started) keeps it running, V(restarted) restarts it, V(stopped) stops it.
    type: str
    choices: [started, stopped, restarted]
    default: started
  ldms_prefix:
    description: The LDMS installation prefix. Defaults to the environment variable C(LDMS_PREFIX), else C(/opt/ovis).
    type: path
  args:
    description: Further ldmsd arguments, such as C([-v, ERROR]).
    type: list
    elements: str
    default: []
  environment:
    description: Extra environment variables. The rendered config sets C(COMPID) itself (C(env COMPID=<n>)), which wins over one given here.
    type: dict
    default: {}
  startup_digest:
    description: A digest of the start-up part of the config; a new value restarts the process.
    type: str
    default: ""
  ready_host:
    description: Host of the listener to wait for after a start.
    type: str
    default: localhost
  ready_port:
    description: Port of the listener to wait for after a start. Without it, a start does not wait.
    type: int
  timeout:
    description: Seconds to wait for the listener.
    type: float
    default: 30
attributes:
  check_mode:
    description: Reports whether it would start, stop or restart, and does nothing.
    support: full
  diff_mode:
    description: Shows the pid and digest before and after.
    support: full
  platform:
    description: Runs on the daemon's host.
    support: full
    platforms: posix
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Run the sampler daemon of this host
  hpc.ldms.ldmsd_process:
    name: sampler-1
    config: /etc/ldms/sampler-1.conf
    pidfile: /run/ldms/sampler-1.pid
    log: /var/log/ldms/sampler-1.log
    environment:
      COMPID: "1"
    ready_port: 10001
"""

RETURN = r"""
commands:
  description: What was done (or would be done), in order, such as C(stop 1234) and the started command line.
  returned: always
  type: list
  elements: str
  sample:
    - /opt/ovis/sbin/ldmsd -F -c /etc/ldms/sampler-1.conf -l /var/log/ldms/sampler-1.log -v ERROR
pid:
  description: The pid of the running process afterwards (in check mode, the current one), or null.
  returned: always
  type: int
  sample:
    4242
    ...
restarted:
  description: Whether a running process was stopped and started again.
  returned: always
  type: bool
  sample:
    false
    ...
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.ldms.plugins.module_utils.deploy.process import (
    ProcessError,
    ProcessSpec,
    ldms_runtime_env,
    plan,
    running,
    start,
    stop,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "config": {"type": "path", "required": True},
            "pidfile": {"type": "path", "required": True},
            "log": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["started", "stopped", "restarted"], "default": "started"},
            "ldms_prefix": {"type": "path"},
            "args": {"type": "list", "elements": "str", "default": []},
            "environment": {"type": "dict", "default": {}},
            "startup_digest": {"type": "str", "default": ""},
            "ready_host": {"type": "str", "default": "localhost"},
            "ready_port": {"type": "int"},
            "timeout": {"type": "float", "default": 30.0},
        },
        supports_check_mode=True,
    )
    params = module.params
    prefix = params["ldms_prefix"] or os.environ.get("LDMS_PREFIX") or "/opt/ovis"
    ldmsd = os.path.join(prefix, "sbin", "ldmsd")
    environment = ldms_runtime_env(prefix)
    environment.update({key: str(value) for key, value in params["environment"].items()})
    spec = ProcessSpec(argv=[ldmsd, "-F", "-c", params["config"], "-l", params["log"]] + params["args"],
                       environment=environment, pidfile=params["pidfile"], log=params["log"],
                       startup_digest=params["startup_digest"], ready_host=params["ready_host"],
                       ready_port=params["ready_port"], timeout=params["timeout"])
    if params["state"] != "stopped":
        if not os.access(ldmsd, os.X_OK):
            module.fail_json(msg="%s: no executable ldmsd at %s; set ldms_prefix (or LDMS_PREFIX) to the LDMS "
                                 "installation prefix" % (params["name"], ldmsd))
        if not os.path.isfile(params["config"]):
            if not module.check_mode:
                module.fail_json(msg="%s: config file %s does not exist" % (params["name"], params["config"]))
            # In check mode the task that writes it did not write it either.
            module.warn("%s: config file %s does not exist yet" % (params["name"], params["config"]))
    before = running(spec)
    actions = plan(spec, params["state"])
    commands = [action if action != "start" else " ".join(spec.argv) for action in actions]
    result = {"changed": bool(actions), "commands": commands, "pid": before["pid"] if before else None,
              "restarted": bool(before) and "start" in actions}
    if module._diff:
        result["diff"] = {"before": {"pid": before["pid"], "digest": before["digest"]} if before else {},
                          "after": {} if params["state"] == "stopped" else {"digest": spec.digest()}}
    if module.check_mode or not actions:
        module.exit_json(**result)
    try:
        for action in actions:
            if action.startswith("stop "):
                stop(spec, int(action.split()[1]))
                result["pid"] = None
            else:
                result["pid"] = start(spec)
    except (ProcessError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (params["name"], exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
