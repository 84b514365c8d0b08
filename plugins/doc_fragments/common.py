# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # What every module of openbanking.content_trust takes: where the docker configuration is (credentials,
    # the trust directory, TLS files) and how long one command may take.  A module that runs docker or notary
    # also extends NOTARY; one that runs neither (keys, cosign, Notation) extends NOTARY_IGNORED instead.
    DOCUMENTATION = r'''
options:
  docker_config:
    description:
      - The docker configuration directory (C(DOCKER_CONFIG)) holding registry credentials.
      - The trust directory is C(<docker_config>/trust); the CA of the Notary server is read from
        C(<docker_config>/tls/<host:port>/ca.crt).
    type: path
    default: ~/.docker
  timeout:
    description:
      - Seconds each command the module runs (docker, notary, cosign, notation) or each request it makes may take
        before it is stopped and the task fails.
    type: int
    default: 120
notes:
  - Passphrases are never put in argv, results or logs. Every passphrase option must be printable text of at
    most 4095 bytes (control characters such as ^U, ^W, DEL or a newline cannot be typed on the terminal docker
    and notary read passphrases from); one that protects a new key needs at least 8 characters.
'''

    # How to reach docker, notary and the Notary server: the modules that run them.
    NOTARY = r'''
options:
  docker_cli:
    description:
      - Name or path of the docker CLI to run.
      - Its C(docker trust) command is detected at start (built in up to CLI 28, the C(docker-trust)
        plugin from CLI 29); signing never relies on C(DOCKER_CONTENT_TRUST=1 docker push).
    type: str
    default: docker
  notary_cli:
    description:
      - Name or path of the notary CLI (Debian package C(notary)), used where C(docker trust) falls short.
    type: str
    default: notary
  docker_host:
    description:
      - Docker daemon socket to use, as C(DOCKER_HOST). Only pushing and pulling need a daemon.
    type: str
  server:
    description:
      - URL of the Notary server, as C(DOCKER_CONTENT_TRUST_SERVER). Must be C(https://).
      - When not set, docker's default applies - C(https://notary.docker.io) for docker.io (shut down on
        2026-12-08), otherwise C(https://<registry host>). Set it to your own Notary server.
      - Its TLS certificate is verified against C(<docker_config>/tls/<host:port>/ca.crt) or the system CAs,
        unless both its host and the registry are literally loopback (C(localhost), 127.0.0.0/8, C(::1)). docker
        itself skips verification for any loopback registry; for a Notary elsewhere the modules then check the
        certificate first and refuse a server whose certificate does not verify.
    type: str
requirements:
  - docker CLI, any version; C(docker trust) is used where the CLI has it (CLI 28 or older, or CLI 29 with the
    docker-trust plugin) and is not needed - on CLI 29 without the plugin the modules read, sign, revoke and
    change signers with the notary CLI (and push with the Docker SDK)
  - notary CLI (for signer removal and daemonless signing, and for everything on CLI 29 without the plugin)
notes:
  - Temporary docker configurations and copies of (encrypted) keys live under C(<docker_config>/trust/.views)
    (0700) while a task runs, and go when it ends, also on SIGTERM; those of a killed run go at the next run.
'''

    # The Notary connection options on the modules that run neither docker nor notary: accepted, so that
    # module_defaults for the collection's action group (which sets them for every module) keep working.
    NOTARY_IGNORED = r'''
options:
  docker_cli:
    description:
      - Accepted and ignored, so that C(module_defaults) for the action group C(openbanking.content_trust.content_trust)
        can set it for every module; this module does not run docker.
    type: str
    default: docker
  notary_cli:
    description: Accepted and ignored, as O(docker_cli); this module does not run notary.
    type: str
    default: notary
  docker_host:
    description: Accepted and ignored, as O(docker_cli); this module does not use the docker daemon.
    type: str
  server:
    description: Accepted and ignored, as O(docker_cli); this module does not talk to a Notary server.
    type: str
'''

    # The passphrases of a repository's root and repository (targets) keys: only the modules that
    # write trust data (trust_push, trust_revoke, trust_signer, trust_migrate) take them.
    PASSPHRASES = r'''
options:
  root_passphrase:
    description:
      - Passphrase of the root key; needed to initialize a repository's trust data.
      - Never passed on a command line; given to docker or notary on a pty when they ask.
    type: str
  repository_passphrase:
    description:
      - Passphrase of the repository (targets) key; needed to change who may sign a repository.
      - Docker also falls back to it for signer keys when no signer passphrase is given.
    type: str
'''

    # The same two options on the modules that never read them: accepted (the action group's shared options, so
    # module_defaults can set them once for the group) and ignored, without a warning.
    IGNORED_PASSPHRASES = r'''
options:
  root_passphrase:
    description:
      - Accepted and ignored; this module never reads it. It is one of the options of the
        C(openbanking.content_trust.content_trust) action group, so C(module_defaults) can set it once for every module.
      - Read by M(openbanking.content_trust.trust_signer) and M(openbanking.content_trust.trust_migrate).
    type: str
  repository_passphrase:
    description:
      - Accepted and ignored; this module never reads it. It is one of the options of the
        C(openbanking.content_trust.content_trust) action group, so C(module_defaults) can set it once for every module.
      - Read by M(openbanking.content_trust.trust_push), M(openbanking.content_trust.trust_revoke),
        M(openbanking.content_trust.trust_signer) and M(openbanking.content_trust.trust_migrate).
    type: str
'''
