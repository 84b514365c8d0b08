# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: common options and repository references.

Not a public API; it may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, InvalidReference

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit

# How to reach docker, notary and the Notary server: the options every module accepts, documented
# once in the openbanking.content_trust.common doc fragment.
CONNECTION_ARGUMENT_SPEC = dict(
    docker_cli=dict(type='str', default='docker'),
    notary_cli=dict(type='str', default='notary'),
    docker_host=dict(type='str'),
    docker_config=dict(type='path', default='~/.docker'),
    server=dict(type='str'),
    timeout=dict(type='int', default=120),
)
# The root and repository passphrases (the openbanking.content_trust.common.passphrases doc fragment):
# only the modules that write trust data take them.
PASSPHRASE_ARGUMENT_SPEC = dict(
    root_passphrase=dict(type='str', no_log=True),
    repository_passphrase=dict(type='str', no_log=True),
)
COMMON_ARGUMENT_SPEC = dict(CONNECTION_ARGUMENT_SPEC, **PASSPHRASE_ARGUMENT_SPEC)

SIGNER_NAME_RE = re.compile(r'\A[a-z0-9][a-z0-9_-]*\Z')
# TUF's top-level roles and docker's releases role: a signer of one of these names would be
# taken for that role (trust_key would find, and remove, the root or repository keys).
RESERVED_SIGNER_NAMES = ('root', 'targets', 'snapshot', 'timestamp', 'releases')
DEFAULT_REGISTRY = 'docker.io'
DOCKER_HUB_NOTARY = 'https://notary.docker.io'

# Docker's reference grammar (distribution/reference), without digests.
_COMPONENT = r'[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*'
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN = r'(?:%s(?:\.%s)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?' % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_PATH_RE = re.compile(r'\A%s(?:/%s)*\Z' % (_COMPONENT, _COMPONENT))
_DOMAIN_RE = re.compile(r'\A%s\Z' % _DOMAIN)
TAG_RE = re.compile(r'\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z')


class Reference(object):
    """A repository (GUN) and an optional tag, normalised as docker reads them."""

    def __init__(self, registry, path, tag=None, original=None):
        self.registry = registry
        self.path = path
        self.tag = tag
        self.original = original

    @property
    def gun(self):
        return '%s/%s' % (self.registry, self.path)

    def __str__(self):
        return self.gun + (':%s' % self.tag if self.tag else '')

    def with_tag(self, tag):
        return Reference(self.registry, self.path, tag)

    @property
    def registry_host(self):
        host = self.registry
        if host.startswith('['):
            return host[1:host.index(']')]
        return host.rsplit(':', 1)[0] if ':' in host else host

    def is_loopback(self):
        """Docker skips TLS verification of the Notary for loopback registries."""
        return is_loopback_host(self.registry_host)


def is_loopback_host(host):
    """Whether ``host`` is literally loopback: ``localhost``, an address in 127.0.0.0/8 or ``::1``.

    A name that merely resolves to a loopback address does not count: it may resolve elsewhere."""
    host = (host or '').strip('[]').lower()
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url):
    """The host of ``https://host[:port]`` (no brackets for IPv6)."""
    return urlsplit(url).hostname or ''


def docker_verifies_notary(reference):
    """docker checks the Notary's certificate unless the registry is loopback, wherever the Notary is."""
    return not reference.is_loopback()


def notary_tls_verified(reference, server):
    """Whether the Notary server's certificate must be verified before anything is sent to it.

    Skipped only when the Notary host is literally loopback AND docker would skip it too (loopback
    registry): a remote Notary is always verified, whatever the registry, so no credential or client
    certificate goes to a server nobody checked."""
    return docker_verifies_notary(reference) or not is_loopback_host(url_host(server))


# The signature formats, in the order checks and reports show them: one definition for modules, filters and reports.
FORMATS = ('notary', 'cosign', 'notation')


def parse_tags(tags, what='tags', empty=None):
    """The tags of a list option, each checked (``parse_tag``, naming ``what[i]``), each once, in order.  An empty
    or missing list fails with ``empty`` (default: ``what`` must list at least one tag)."""
    if not tags:
        raise InputError(empty or '%s must list at least one tag' % what)
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise InputError('%s must be a list of tags, not %s' % (what, type(tags).__name__))
    out = []
    for i, tag in enumerate(tags):
        parse_tag(tag, '%s[%d]' % (what, i))
        if tag not in out:
            out.append(tag)
    return out


def parse_tag(tag, what='tag'):
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise InvalidReference('%s %r is not a valid tag: expected 1 to 128 characters of '
                               'letters, digits, "_", "." and "-", not starting with "." or "-"' % (what, tag))
    return tag


def parse_reference(text, allow_tag=True, what='repository'):
    """Parse ``registry/path[:tag]`` the way docker does (short names mean docker.io)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference('%s must be a non-empty repository reference such as '
                               '"docker.io/openbanking/conformance-suite"' % what)
    original = text
    if '@' in text:
        raise InvalidReference('%s %r: digest references are not supported here; give a repository '
                               'and, where allowed, a tag' % (what, original))
    tag = None
    name = text
    last = text.rsplit('/', 1)[-1]
    if ':' in last:
        name, tag = text.rsplit(':', 1)
        if not allow_tag:
            raise InvalidReference('%s %r must not contain a tag; expected a repository such as '
                                   '"127.0.0.1:5000/acme/app"' % (what, original))
        parse_tag(tag, '%s %r: tag' % (what, original))
    parts = name.split('/', 1)
    if len(parts) == 2 and ('.' in parts[0] or ':' in parts[0] or parts[0] == 'localhost'
                            or parts[0] != parts[0].lower()):
        registry, path = parts
        if not _DOMAIN_RE.match(registry):
            raise InvalidReference('%s %r: %r is not a valid registry host[:port]' % (what, original, registry))
    else:
        registry, path = DEFAULT_REGISTRY, name
    if registry in ('index.docker.io', 'registry-1.docker.io'):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and '/' not in path:
        path = 'library/' + path
    if not _PATH_RE.match(path):
        raise InvalidReference('%s %r is not a valid repository name: expected lowercase path components '
                               'of letters, digits and separators (".", "_", "-") joined by "/"'
                               % (what, original))
    if len(registry) + 1 + len(path) > 255:
        raise InvalidReference('%s %r is longer than 255 characters' % (what, original))
    return Reference(registry, path, tag, original)


def validate_signer_name(name, what='name'):
    if not isinstance(name, str) or not SIGNER_NAME_RE.match(name):
        raise InputError('%s %r is not a valid signer name: expected lowercase letters, digits, "_" '
                         'and "-" (no "/"), starting with a letter or digit (^[a-z0-9][a-z0-9_-]*$)' % (what, name))
    if name in RESERVED_SIGNER_NAMES:
        raise InputError('%s "%s" is reserved: %s are the names of the repository\'s own roles, not of '
                         'signers; choose another signer name' % (what, name, ', '.join(RESERVED_SIGNER_NAMES)))
    return name


def notary_server_for(reference, server=None):
    """The Notary URL docker uses for a repository: option, else docker.io's, else the registry."""
    if server:
        return server.rstrip('/')
    if reference.registry == DEFAULT_REGISTRY:
        return DOCKER_HUB_NOTARY
    return 'https://' + reference.registry


def check_server_url(server):
    if server is None:
        return None
    if not re.match(r'\Ahttps://[^/\s]+/?\Z', server):
        raise InputError('server %r is not a Notary URL docker accepts: expected '
                         'https://host[:port] (docker refuses http:// for content trust)' % server)
    return server.rstrip('/')
