# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the life cycle every module shares, whatever the format.

Not a public API; it may change without notice.

Nothing here knows Notary: the modules that change trust data in Notary build on ``_notaryaction.NotaryAction``
(the publish transaction of a repository, several repositories under their locks), the cosign and Notation modules
on ``Action`` itself, with a ``ToolClient``.  Each module names the Python libraries it needs (``build_module``'s
``requires``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback
from importlib.util import find_spec

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import COMMON_ARGUMENT_SPEC
from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import ToolClient
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import (
    Terminated, failure_lines, handle_termination,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (  # pylint: disable=unused-import
    ContentTrustError, InputError, MissingRequirement,  # InputError: the modules import it from here
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._passphrases import passphrase_problem


def _strings(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        # a list of dicts too: trust_pull's signers may be {name, public_key}
        return [v for item in value for v in _strings(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _strings(item)]
    return []


class TrustModule(AnsibleModule):
    """AnsibleModule that never logs private key material, whatever option it was pasted into.

    AnsibleModule writes its invocation (every option not marked no_log) to syslog or the journal
    from its constructor, before a module could add a value to ``no_log_values``.  An option that
    holds a PEM private key is masked for this run here, just before that log line is written,
    and its values are scrubbed from the result as well."""

    def __init__(self, *args, **kwargs):
        # AnsibleModule checks the options against the argument spec in its constructor and fails through
        # fail_json: such a failure is bad input, and says so like every other (error_kind).
        self._checking_options = True
        super(TrustModule, self).__init__(*args, **kwargs)
        self._checking_options = False

    def fail_json(self, msg, **kwargs):
        if getattr(self, '_checking_options', False):
            kwargs.setdefault('error_kind', InputError.kind)
        super(TrustModule, self).fail_json(msg=msg, **kwargs)

    def _log_invocation(self):
        for name, value in list(self.params.items()):
            texts = [t for t in _strings(value) if 'PRIVATE KEY' in t]
            if texts:
                self.argument_spec[name] = dict(self.argument_spec.get(name) or {}, no_log=True)
                self.no_log_values.update(texts)
        super(TrustModule, self)._log_invocation()


def check_passphrases(module):
    """The passphrase policy, once for every module: every ``*passphrase`` option (all no_log) must be
    something the pty can carry to docker and notary; fails naming the option."""
    for name, spec in sorted(module.argument_spec.items()):
        if name.endswith('passphrase') and spec.get('no_log'):
            problem = passphrase_problem(module.params.get(name), name)
            if problem:
                module.fail_json(msg=problem, error_kind=InputError.kind)


# Every module of the action group takes the group's shared options, passphrases included: Ansible fails a module
# handed an option it does not take, so the README's module_defaults (passphrases set once) must run everywhere.
_PASSPHRASES = (True, 'ignored')


def check_aliases(module):
    """An option and its alias both set (no module has an alias today; the guard stays for one): AnsibleModule only
    warns and keeps one of the two values; which was meant is a guess, so refuse before anything changes."""
    validation = getattr(module, 'validation_result', None)
    for warning in getattr(validation, '_warnings', None) or []:
        if isinstance(warning, dict) and warning.get('alias'):
            module.fail_json(msg='both %s and its alias %s are set; set only %s'
                             % (warning['option'], warning['alias'], warning['option']), error_kind=InputError.kind)


REQUIREMENTS = ('cryptography', 'pexpect')


def check_requirements(module, requires):
    """Fail (``missing_requirement``) naming the first of ``requires`` (Python libraries, from ``REQUIREMENTS``)
    that is not installed on the host: the module's own list, as its DOCUMENTATION's ``requirements``."""
    for name in requires:
        if name not in REQUIREMENTS:
            raise ValueError('unknown requirement %r' % name)
        if find_spec(name) is None:
            module.fail_json(msg=missing_required_lib(name), exception='ImportError: No module named %s' % name,
                             error_kind=MissingRequirement.kind)


def build_module(argument_spec, passphrases=True, requires=(), **kwargs):
    """The module with the common options, root_passphrase and repository_passphrase included. ``passphrases``:
    True for modules that write trust data and read them; ``'ignored'`` for every other module of the action group,
    which accepts them without a word (documented by the openbanking.content_trust.common.ignored_passphrases
    fragment), so that module_defaults of the group can set them once.
    ``requires``: the Python libraries the module needs (``REQUIREMENTS``), checked before it runs."""
    if passphrases not in _PASSPHRASES:
        raise ValueError('passphrases must be one of %r, not %r' % (_PASSPHRASES, passphrases))
    spec = dict(COMMON_ARGUMENT_SPEC)
    spec.update(argument_spec)
    module = TrustModule(argument_spec=spec, supports_check_mode=True, **kwargs)
    check_aliases(module)
    check_passphrases(module)
    check_requirements(module, requires)
    return module


WITHHELD = '(withheld)'


def before_after(before, after, header=None, secrets=()):
    """A writer's ``diff``, the one shape every module returns: ``{before, after}`` (plain data - names, tags,
    digests, paths, modes, fingerprints - which Ansible shows line by line with ``--diff``), headed by what they
    are of (``before_header``/``after_header``).  A string holding one of ``secrets`` (the module's no_log values)
    or a PEM private key is replaced by ``WITHHELD``, whatever a caller put in: a diff is printed and logged."""
    secrets = [s for s in secrets if isinstance(s, str) and s]

    def clean(value):
        if isinstance(value, dict):
            return dict((k, clean(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, str) and ('PRIVATE KEY' in value or any(s in value for s in secrets)):
            return WITHHELD
        return value

    diff = dict(before=clean(before), after=clean(after))
    if header:
        diff.update(before_header=header, after_header=header)
    return diff


class Action(object):
    """The shape of a module's work: plan -> preflight -> apply -> verify -> result.

    ``run(module, ActionClass)`` builds the action with ``(module, client)`` (``client``: an instance of the class's
    ``client_class``, a ``ToolClient`` unless the module needs more) and calls, in this order:

    - ``inputs()``: checks of the options that need no state.
    - ``plan()``: read the current state and decide what changes; returns the plan (any object).
      ``changed(plan)`` says from the plan alone whether anything changes (default: ``plan['changed']``).
    - ``preflight(plan)``: checks that must pass before anything is touched (passphrases, keys, reachability).
    - ``apply(plan)``: make the change; returns an outcome. Not called in check mode, nor when nothing changes.
    - ``verify(plan, outcome)``: read again and raise if the change did not take.  Called after ``apply``.
    - ``result(plan, outcome)``: the module's result dict (``outcome`` is None when apply did not run).
      ``changed`` is set from the plan unless the result sets it.
    - ``close()``: always, last (connections the action opened).

    Check mode runs ``inputs``, ``plan`` and ``preflight`` only.  A writer's ``result`` puts ``self.diff(before,
    after, header)`` (``before_after``) in the result, in check mode too; ``run`` drops it unless the user asked
    for it (``--diff``).  ``_notaryaction.NotaryAction`` runs the same steps inside a
    repository's publish transaction, or for several repositories under their locks."""

    client_class = ToolClient

    def __init__(self, module, cli):
        self.module = module
        self.cli = cli
        self.params = module.params

    def inputs(self):
        pass

    def plan(self):
        raise NotImplementedError

    def changed(self, plan):
        return bool(plan['changed'])

    def preflight(self, plan):
        pass

    def apply(self, plan):
        raise NotImplementedError

    def verify(self, plan, outcome):
        pass

    def result(self, plan, outcome):
        raise NotImplementedError

    def close(self):
        pass

    def diff(self, before, after, header=None):
        """The result's ``diff`` (``before_after``), with the module's no_log values withheld."""
        return before_after(before, after, header, getattr(self.module, 'no_log_values', ()))

    def _steps(self):
        plan = self.plan()
        changed = self.changed(plan)
        self.preflight(plan)
        outcome = None
        if changed and not self.module.check_mode:
            outcome = self.apply(plan)
            self.verify(plan, outcome)
        return plan, changed, outcome

    def _run(self):
        """The steps after ``inputs``: ``(plan, changed, outcome)``."""
        return self._steps()

    def __call__(self):
        try:
            self.inputs()
            plan, changed, outcome = self._run()
            result = self.result(plan, outcome)
        finally:
            self.close()
        result.setdefault('changed', changed)
        return result


class Reader(Action):
    """A module that only reads trust data (``trust_info``, ``trust_verify``, ``cosign_verify``,
    ``notation_verify``): ``plan()`` reads and returns the result dict; nothing is applied.  ``changed`` is the
    result's own (``trust_verify`` pulls images it verifies when asked), else False."""

    def changed(self, plan):
        return bool(plan.get('changed', False))

    def _run(self):
        plan = self.plan()  # what a reader changes (a pull) it has changed by now: nothing to apply
        return plan, self.changed(plan), None

    def result(self, plan, outcome):
        return plan


def run(module, action):
    """Run ``action``, an ``Action`` subclass (see there), and exit with its result.

    The result's ``diff`` is returned only when the user asked for it (``--diff``, ``module._diff``).

    A ``ContentTrustError`` is the user's failure: its message, the lines of CLI output that
    explain it (``stdout``), the exit code (``rc``) and its kind (``error_kind``).  Anything else
    is a bug and says so: "unexpected error" with the traceback.

    SIGTERM, SIGHUP and SIGINT unwind the run like an error: the CLI it waits for is stopped and
    its views are removed before it exits."""
    handle_termination()
    terminated = None
    cli = None
    try:
        cli = action.client_class(module)
        result = action(module, cli)()
    except Terminated as exc:
        terminated = exc.signum
    except ContentTrustError as exc:
        extra = {'error_kind': exc.kind}
        if exc.output:
            # The lines that explain the failure, whole; not a tail of debug log cut mid-line.
            extra['stdout'] = failure_lines(exc.output)
        if exc.rc is not None:
            extra['rc'] = exc.rc
        # what a run that failed part-way did (no secret: tags, digests, flags), for the caller to undo it
        extra.update(getattr(exc, 'result', None) or {})
        module.fail_json(msg=exc.msg, **extra)
    except Exception as exc:  # a bug; still no secret in the message
        module.fail_json(msg='unexpected error: %s' % exc, exception=traceback.format_exc())
    finally:
        if cli is not None:
            cli.cleanup()
    if terminated is not None:
        module.fail_json(msg='stopped by signal %d; the temporary views were removed' % terminated,
                         rc=128 + terminated)
    if not getattr(module, '_diff', False):
        result.pop('diff', None)
    module.exit_json(**result)
