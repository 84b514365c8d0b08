# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the life cycle every module shares.

Not a public API; it may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import (
    COMMON_ARGUMENT_SPEC, CONNECTION_ARGUMENT_SPEC,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import (
    HAS_PEXPECT, PEXPECT_IMPORT_ERROR, TrustCLI, TrustError, failure_lines,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    CRYPTOGRAPHY_IMPORT_ERROR, HAS_CRYPTOGRAPHY,
)


class InputError(ValueError):
    """Bad module input, found before anything changed."""


def build_module(argument_spec, passphrases=True, **kwargs):
    """The module with the common options; ``passphrases=False`` for modules that never write trust data."""
    spec = dict(COMMON_ARGUMENT_SPEC if passphrases else CONNECTION_ARGUMENT_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **kwargs)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(CRYPTOGRAPHY_IMPORT_ERROR))
    if not HAS_PEXPECT:
        module.fail_json(msg=missing_required_lib('pexpect'), exception=str(PEXPECT_IMPORT_ERROR))
    return module


def run(module, action):
    """Run ``action(module, cli)`` and exit with its result; user errors become fail_json."""
    cli = TrustCLI(module)
    try:
        result = action(module, cli)
    except TrustError as exc:
        extra = {}
        if exc.output:
            # The lines that explain the failure, whole; not a tail of debug log cut mid-line.
            extra['stdout'] = failure_lines(exc.output)
        if exc.rc is not None:
            extra['rc'] = exc.rc
        module.fail_json(msg=exc.msg, **extra)
    except ValueError as exc:  # InputError, ReferenceError, KeyError_ and friends
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pragma: no cover - a bug; still no secret in the message
        module.fail_json(msg='unexpected error: %s' % exc, exception=traceback.format_exc())
    finally:
        cli.cleanup()
    module.exit_json(**result)
