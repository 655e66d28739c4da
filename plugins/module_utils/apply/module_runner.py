# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every ldmsd resource module does; each module only names its kind."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import CONNECTION_ARGSPEC, LdmsdClient, LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (
    STATES,
    apply_commands,
    config_text,
    normalize_config,
    plan_for,
    plan_from_scratch,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS


def argument_spec() -> dict:
    spec = dict(CONNECTION_ARGSPEC)
    # The items' attributes are documented from the kinds registry and checked by its
    # parsers, not by argspec options: one error names the item (config[3].port) and the value.
    spec.update(config={"type": "list", "elements": "dict"},
                state={"type": "str", "choices": list(STATES), "default": "merged"},
                scope={"type": "str"}, predict_absent={"type": "bool", "default": False})
    return spec


def run(kind: str):
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "overridden", ["scope"]),
                                        ("state", "merged", ["config"]), ("state", "replaced", ["config"]),
                                        ("state", "deleted", ["config"]), ("state", "rendered", ["config"])])
    params = module.params
    state = params["state"]
    try:
        wanted = normalize_config(kind, params["config"])
        if state == "overridden" and not wanted:
            module.fail_json(msg="state=overridden needs a non-empty config: it would delete every object in scope")
        if state == "rendered":
            commands = KINDS[kind].create_commands(wanted)
            module.exit_json(changed=False, rendered=[c.text() for c in commands], commands=[c.text() for c in commands])
        client = LdmsdClient.from_params(params)
        try:
            reachable = True
            if module.check_mode and params["predict_absent"] and state != "gathered":
                try:
                    client.connect()
                except LdmsdError as exc:
                    reachable = False
                    module.warn("check mode: predicted from scratch, as for a daemon this run starts: %s" % exc)
            plan = (plan_for(client, kind, state, wanted, scope=params["scope"]) if reachable
                    else plan_from_scratch(kind, state, wanted, scope=params["scope"]))
            if state == "gathered":
                module.exit_json(changed=False, gathered=plan.before, before=plan.before, after=plan.after, commands=[])
            commands = [command.text() for command in plan.commands]
            if plan.commands and not module.check_mode:
                apply_commands(client, plan.commands)
        finally:
            client.close()
    except LdmsdError as exc:
        module.fail_json(msg=str(exc), errcode=exc.errcode, command=exc.command,
                         applied=getattr(exc, "applied", []))
    result = {"changed": bool(commands), "commands": commands, "before": plan.before, "after": plan.after}
    if module._diff:
        where = "%s %s:%s" % (kind, params["host"], params["port"])
        result["diff"] = {"before": config_text(kind, plan.before), "after": config_text(kind, plan.after),
                          "before_header": where, "after_header": where}
    module.exit_json(**result)
