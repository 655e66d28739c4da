# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host:
    description: Host of the ldmsd control endpoint.
    type: str
    default: localhost
  port:
    description: Port of the ldmsd control endpoint.
    type: int
  xprt:
    description: LDMS transport.
    type: str
    default: sock
  auth:
    description: Authentication plugin (C(none), C(munge), C(ovis)).
    type: str
    default: none
  auth_opts:
    description: Options of the authentication plugin, for example C(conf=/etc/ldms/secret.conf) for ovis.
    type: dict
  timeout:
    description: Seconds to wait to connect and for each reply.
    type: float
    default: 5.0
  ldms_prefix:
    description:
      - Where LDMS is installed; its Python package C(ldmsd.ldmsd_communicator) is searched in
        C(<prefix>/lib*/python3*/site-packages).
      - Defaults to the environment variable C(LDMS_PREFIX), then C(/opt/ovis).
    type: path
"""

    RESOURCE = r"""
options:
  config:
    description: The objects, as items whose keys are ldmsd's own attribute names.
    type: list
    elements: dict
  state:
    description:
      - C(merged) adds what is missing and changes what differs; C(replaced) makes the listed objects exactly
        as given; C(overridden) also deletes unlisted objects whose name matches O(scope); C(deleted) removes
        the listed objects; C(gathered) reads the current objects; C(rendered) returns the commands offline
        in ldmsd config-file syntax.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered]
    default: merged
  scope:
    description: With O(state=overridden), a regular expression; only objects whose name matches it are deleted.
    type: str
  predict_absent:
    description:
      - In check mode, a daemon that cannot be reached is taken to have no objects yet, and the plan is made from
        scratch (everything added), with a warning, instead of failing. For a daemon that the same run would
        start, as the P(hpc.ldms.ldmsd#role) role does when it would deploy it.
      - Ignored outside check mode, where an unreachable daemon is always an error.
    type: bool
    default: false
attributes:
  check_mode:
    description: Computes the same commands as a real run and sends none; RV(after) is predicted.
    support: full
  diff_mode:
    description:
      - Shows the objects before and after as the ldmsd config lines that create them, one object after another,
        sorted by name, so that C(--diff) prints a unified diff.
    support: full
  platform:
    description: Runs where it can reach the daemon over the LDMS transport.
    support: full
    platforms: posix
notes:
  - ldmsd has no modify request; a changed object is stopped, deleted, added and started, in that order.
  - Times are compared in microseconds, whatever unit was written.
"""
