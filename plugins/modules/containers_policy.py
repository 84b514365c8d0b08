#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: containers_policy
short_description: Make podman, skopeo and CRI-O refuse images not signed with the inventory's cosign keys
version_added: 0.1.0
description:
  - Writes the containers policy (C(policy.json), containers-policy.json(5)) that podman, skopeo, buildah and CRI-O
    enforce on every pull or copy, whoever runs it, and a C(registries.d) file that makes them read cosign
    signatures from the registry (C(use-sigstore-attachments)).
  - "Each scope of O(scopes) (a repository, a namespace or a registry) gets a C(sigstoreSigned) requirement with its
    cosign public keys (a signature by any one of them is accepted) and C(signedIdentity: matchRepository), so a
    signature made for another repository does not admit an image. The tag is not checked - cosign's payload,
    which these tools verify, carries none (see C(docs/consumers.md))."
  - Each scope of O(unsigned) is accepted without a signature; everything else gets O(default).
  - Every other entry of the existing policy is kept (other transports, scopes the inventory does not manage). A
    scope this module wrote before and that is no longer given is removed; which scopes are the module's is
    recorded in its C(registries.d) file.
  - Before anything is written, each tool of O(tools) found on the host is probed (it must accept an image signed
    by a throwaway key, in the C(dir) transport, under a C(sigstoreSigned) policy) and then run against the
    candidate policy (each key set of O(scopes) must load, the whole file must parse). A tool that cannot verify
    sigstore signatures - Debian 12's podman 4.3 and skopeo 1.9 are built with sigstore disabled - or a policy
    the tools cannot use fails the task and leaves the existing files as they were (such a policy would refuse
    every image).
  - The policy is written atomically (a temp file renamed over it), after the C(registries.d) file, with a backup
    of the old one (O(backup)).
author:
  - Open Banking (@OpenBankingUK)
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  scopes:
    description:
      - The signed scopes. C(scope) is a repository (C(registry.example.com/acme/app)), a namespace
        (C(registry.example.com/acme)) or a registry (C(registry.example.com), C(127.0.0.1:5000)), fully qualified
        (Docker Hub is C(docker.io/library/NAME)), without tag or digest.
      - C(public_keys) are the cosign public keys accepted for it, each a PEM (C(cosign.pub)) or the absolute path of
        one on the host; all PEM or all paths for one scope. Without them, O(public_keys) apply.
    type: list
    elements: dict
    default: []
    suboptions:
      scope:
        description: Repository, namespace or registry.
        type: str
        required: true
      public_keys:
        description: Cosign public keys accepted for the scope (any one signature by them suffices).
        type: list
        elements: str
  public_keys:
    description: The cosign public keys of the scopes given without their own (PEM, or absolute paths on the host).
    type: list
    elements: str
    default: []
  unsigned:
    description:
      - Scopes whose images are accepted without a signature (C(insecureAcceptAnything)), for images the host needs
        that nobody here signs, such as a base image from a public registry.
    type: list
    elements: str
    default: []
  default:
    description:
      - What happens to images of every other scope. V(reject) fails closed; V(insecureAcceptAnything) lets them
        through unverified.
    type: str
    choices: [reject, insecureAcceptAnything]
    default: reject
  path:
    description: The containers policy file.
    type: path
    default: /etc/containers/policy.json
  registries_d:
    description:
      - The C(registries.d) directory of the tools. The module writes C(openbanking-content-trust.yaml) there and
        nothing else.
    type: path
    default: /etc/containers/registries.d
  tools:
    description:
      - The containers tools to check the host and the candidate policy with, names (looked up on C(PATH)) or paths.
        Those not found are skipped (RV(tools_skipped)); at least one must be found.
      - podman is run with a storage root of its own in a temporary directory, never the host's.
    type: list
    elements: str
    default: [skopeo, podman]
  backup:
    description: Keep a copy of the policy it replaces (C(<path>.<pid>.<date>~)), as RV(backup_file).
    type: bool
    default: true
  user_policies:
    description:
      - Per-user policy files to look for (C(~user/.config/containers/policy.json)). A user's own policy replaces the
        system policy for that user's podman and skopeo; each one found is returned in RV(user_policies) and warned
        about.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    details: Probes the tools and validates the candidate policy (in a temporary directory); writes nothing.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - OpenShift nodes are out of scope - their Machine Config Operator owns C(/etc/containers/policy.json).
  - cosign 3.x must sign with the signature form these tools read
    (O(openbanking.content_trust.cosign_sign#module:signature_form) V(containers)); Notation signatures are not read by
    them at all.
seealso:
  - module: openbanking.content_trust.cosign_sign
  - module: openbanking.content_trust.trust_pull
'''

EXAMPLES = r'''
- name: Only images signed with the release key run from acme's repositories; nothing else from anywhere
  openbanking.content_trust.containers_policy:
    scopes:
      - scope: registry.example.com/acme/app
      - scope: registry.example.com/acme/worker
        public_keys: ["{{ lookup('ansible.builtin.file', 'keys/worker-cosign.pub') }}"]
    public_keys: ["{{ lookup('ansible.builtin.file', 'keys/release-cosign.pub') }}"]
    unsigned: [docker.io/library/debian]
    default: reject
    user_policies: [~deploy/.config/containers/policy.json]
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, or the existing policy file, found before anything changed), V(bad_key) (a public
      key that is not one), V(missing_requirement) (no containers tool, or one that cannot verify sigstore
      signatures - the message names the fix), V(cli_failure) (the tools refused the candidate policy; nothing was
      written), V(timeout), or V(failed) (another failure).
  returned: failure
  type: str
  sample: missing_requirement
policy:
  description: The policy as written (as it would be, in check mode).
  returned: success
  type: dict
scopes:
  description: The scopes this module manages now, sorted.
  returned: success
  type: list
  elements: str
removed_scopes:
  description: Scopes it managed before that are no longer given, removed from the policy.
  returned: success
  type: list
  elements: str
tools:
  description: The tools that were probed and validated the candidate policy.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name given in O(tools).
      type: str
    path:
      description: The binary run.
      type: str
tools_skipped:
  description: Tools of O(tools) not found on the host.
  returned: success
  type: list
  elements: str
backup_file:
  description: The copy of the replaced policy.
  returned: when a policy was replaced and O(backup)
  type: str
user_policies:
  description: The per-user policy files of O(user_policies) that exist; they override this policy for their user.
  returned: success
  type: list
  elements: str
'''

import os
import re
import shutil
import tempfile

from ansible_collections.openbanking.content_trust.plugins.module_utils._containerspolicy import (
    PROBE_FILES, PROBE_PUBLIC_KEY, REGISTRIES_D_NAME, SIGSTORE_DISABLED, key_sets, managed_scopes, merge_policy,
    parse_policy, parse_scopes, policy_text, probe_policy, registries_d_text, validation_policy,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import CLIFailure, MissingRequirement
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import write_file_atomic
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, build_module, run

FIX = ('install podman and skopeo built with sigstore support (Debian 13 "trixie" and later, RHEL 9, Fedora), or '
       'name such binaries in tools')


def _read(path):
    try:
        with open(path, 'r') as f:
            return f.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise CLIFailure('cannot read %s: %s' % (path, exc))


def _last_lines(out):
    """The tool's own refusal: the last line that is not a warning, logrus's msg="..." unwrapped."""
    lines = [line.strip() for line in (out or '').splitlines() if line.strip() and 'level=warning' not in line]
    if not lines:
        return 'no output'
    m = re.search(r'msg="((?:[^"\\]|\\.)*)"', lines[-1])
    return m.group(1).replace('\\"', '"') if m else lines[-1]


def _named(tool):
    return tool['path'] if tool['name'] == tool['path'] else '%s (%s)' % (tool['name'], tool['path'])


class Tools(object):
    """The host's podman and skopeo, run on the probe image against a policy file in a private directory."""

    def __init__(self, cli, tools, module):
        self.cli = cli
        self.found, self.skipped = [], []
        for name in tools:
            path = name if os.sep in name else module.get_bin_path(name)
            if path and os.access(path, os.X_OK):
                self.found.append({'name': name, 'path': path})
            else:
                self.skipped.append(name)
        if not self.found:
            raise MissingRequirement('none of the containers tools %s is on this host (PATH); the policy can only be '
                                     'checked with one of them before it is installed: %s' % (', '.join(tools), FIX))
        # short: podman 4.x refuses a runroot path longer than 50 characters
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix='ctp-'))
        self.probe_key = os.path.join(self.tmp, 'probe.pub')
        with open(self.probe_key, 'w') as f:
            f.write(PROBE_PUBLIC_KEY)
        self.count = 0

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def probe_dir(self):
        """A fresh copy of the probe image (its own path: dir: scopes are paths)."""
        self.count += 1
        path = os.path.join(self.tmp, 'probe-%d' % self.count)
        os.mkdir(path)
        for name, data in PROBE_FILES.items():
            with open(os.path.join(path, name), 'wb') as f:
                f.write(data)
        return path

    def write_policy(self, policy):
        self.count += 1
        path = os.path.join(self.tmp, 'policy-%d.json' % self.count)
        with open(path, 'w') as f:
            f.write(policy_text(policy))
        return path

    def accepts(self, tool, policy_path, probe):
        """``(rc, output)`` of the tool copying (skopeo) or pulling (podman) the probe under the policy."""
        self.count += 1
        work = os.path.join(self.tmp, 'r%d' % self.count)
        os.mkdir(work)
        if os.path.basename(tool['path']).startswith('podman') or tool['name'].startswith('podman'):
            argv = [tool['path'], '--root', os.path.join(work, 'root'), '--runroot', os.path.join(work, 'rr'),
                    '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs',
                    '--network-config-dir', os.path.join(work, 'net'), '--tmpdir', os.path.join(work, 'tmp'),
                    'pull', '-q', '--signature-policy', policy_path, 'dir:' + probe]
        else:
            argv = [tool['path'], '--policy', policy_path, 'copy', '-q', 'dir:' + probe,
                    'dir:' + os.path.join(work, 'copy')]
        env = dict(self.cli.env(), PODMAN_IGNORE_CGROUPSV1_WARNING='1')
        try:
            return self.cli.run(argv, env=env, what='%s with the containers policy' % tool['name'])
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def probe(self, path):
        """Every tool found must verify a sigstore signature; a build with sigstore disabled fails here."""
        policy = self.write_policy(probe_policy())
        for tool in self.found:
            rc, out = self.accepts(tool, policy, self.probe_dir())
            if rc == 0:
                continue
            if SIGSTORE_DISABLED in out:
                raise MissingRequirement(
                    '%s cannot verify cosign (sigstore) signatures: it refused an image signed for the policy '
                    'with "%s". Its build has sigstore disabled (Debian 12\'s podman 4.3 and skopeo 1.9 are built so; '
                    'their version numbers do not show it), so a sigstoreSigned policy would refuse every image. %s '
                    'was not changed; %s.' % (_named(tool), _last_lines(out), path, FIX), output=out, rc=rc)
            raise MissingRequirement(
                '%s cannot verify cosign (sigstore) signatures: it refused a signed image under a sigstoreSigned '
                'policy (%s). %s was not changed; %s.' % (_named(tool), _last_lines(out), path, FIX),
                output=out, rc=rc)

    def validate(self, candidate, wanted, path):
        """Every tool must parse the candidate and load every key set of it (on a signed probe image)."""
        sets = key_sets(wanted) or [([], [])]
        probes = [(keys, self.probe_dir(), scopes) for keys, scopes in sets]
        policy = self.write_policy(validation_policy(candidate, [(k, d) for k, d, dummy in probes], self.probe_key))
        for tool in self.found:
            for dummy, probe, scopes in probes:
                rc, out = self.accepts(tool, policy, probe)
                if rc != 0:
                    raise CLIFailure(
                        'the containers policy generated for %s is not usable: %s refused it (%s)%s. A policy the '
                        'tools cannot use would refuse every image, so %s was left as it was.'
                        % (path, _named(tool), _last_lines(out),
                           (' with the keys of %s' % ', '.join(scopes)) if scopes else '', path), output=out, rc=rc)


class ContainersPolicy(Action):

    def inputs(self):
        p = self.params
        self.wanted = parse_scopes(p['scopes'], p['unsigned'], p['public_keys'])
        self.path = p['path']
        self.registries_file = os.path.join(p['registries_d'], REGISTRIES_D_NAME)

    def plan(self):
        p = self.params
        before_text = _read(self.path)
        existing = parse_policy(before_text, self.path)
        registries_before = _read(self.registries_file)
        policy, removed = merge_policy(existing, self.wanted, p['default'], managed_scopes(registries_before))
        registries_after = registries_d_text(self.wanted)
        policy_changed = existing != policy
        before_policy = policy_text(existing) if existing is not None else ''
        return dict(
            policy=policy, removed=removed, policy_changed=policy_changed,
            registries_after=registries_after, registries_changed=registries_before != registries_after,
            changed=policy_changed or registries_before != registries_after,
            diff=[dict(before=before_policy, after=policy_text(policy), before_header=self.path,
                       after_header=self.path),
                  dict(before=registries_before or '', after=registries_after, before_header=self.registries_file,
                       after_header=self.registries_file)],
            user_policies=[u for u in self.params['user_policies'] if os.path.exists(u)],
        )

    def preflight(self, plan):
        # Run in check mode too: it writes only in a private temporary directory, and a check-mode run that would
        # install an unusable policy must say so.
        self.tools = Tools(self.cli, self.params['tools'], self.module)
        try:
            self.tools.probe(self.path)
            if plan['changed']:
                self.tools.validate(plan['policy'], self.wanted, self.path)
        finally:
            self.tools.cleanup()

    def apply(self, plan):
        backup = None
        if plan['registries_changed']:
            os.makedirs(os.path.dirname(self.registries_file), exist_ok=True)
            write_file_atomic(self.registries_file, plan['registries_after'], 0o644)
        if plan['policy_changed']:
            if self.params['backup'] and os.path.exists(self.path):
                backup = self.module.backup_local(self.path)
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            mode = (os.stat(self.path).st_mode & 0o7777) if os.path.exists(self.path) else 0o644
            write_file_atomic(self.path, policy_text(plan['policy']), mode)
        return dict(backup_file=backup)

    def verify(self, plan, outcome):
        if parse_policy(_read(self.path), self.path) != plan['policy']:
            raise CLIFailure('%s does not hold the policy just written; another process changed it' % self.path)

    def result(self, plan, outcome):
        for user_policy in plan['user_policies']:
            self.module.warn('%s exists: podman and skopeo run by that user read it INSTEAD of %s, so the policy '
                             'written here does not protect their pulls' % (user_policy, self.path))
        result = dict(changed=plan['changed'], policy=plan['policy'], scopes=sorted(self.wanted),
                      removed_scopes=plan['removed'], tools=self.tools.found, tools_skipped=self.tools.skipped,
                      user_policies=plan['user_policies'], diff=[d for d in plan['diff'] if d['before'] != d['after']])
        if outcome and outcome.get('backup_file'):
            result['backup_file'] = outcome['backup_file']
        return result


def main():
    module = build_module(dict(
        scopes=dict(type='list', elements='dict', default=[], options=dict(
            scope=dict(type='str', required=True),
            public_keys=dict(type='list', elements='str', no_log=False),
        )),
        public_keys=dict(type='list', elements='str', default=[], no_log=False),
        unsigned=dict(type='list', elements='str', default=[]),
        default=dict(type='str', default='reject', choices=['reject', 'insecureAcceptAnything']),
        path=dict(type='path', default='/etc/containers/policy.json'),
        registries_d=dict(type='path', default='/etc/containers/registries.d'),
        tools=dict(type='list', elements='str', default=['skopeo', 'podman']),
        backup=dict(type='bool', default=True),
        user_policies=dict(type='list', elements='path', default=[]),
    ), passphrases='ignored')
    run(module, ContainersPolicy)


if __name__ == '__main__':
    main()
