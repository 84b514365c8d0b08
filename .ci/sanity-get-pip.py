#!/usr/bin/env python
"""Write a stand-in for the get-pip script that ``ansible-test sanity`` bootstraps with.

ansible-test builds a virtualenv for each sanity test and bootstraps pip in it by
downloading ``get-pip-<version>.py`` from ci-files.testing.ansible.com, a host that
build machines often cannot reach; it does so with or without ``--requirements``.
It first looks in ``~/.ansible/test/cache/get_pip_<version>.py``, so we put a small
script there that bootstraps pip from the interpreter's own ``ensurepip`` and then
installs the pip version asked for from the package index.

ansible-test runs pip with an environment stripped to HOME, PATH and LC_ALL, so the
pip settings this machine gets from environment variables (certificate bundle,
find-links, extra indexes) are lost.  The stand-in writes the settings in force now
into the new virtualenv's own ``pip.conf``, which pip reads for every later install
in that virtualenv.

Usage: sanity-get-pip.py HOME   (the HOME that ansible-test will run with)
"""

from __future__ import annotations

import os
import subprocess
import sys
import types

KEPT_SETTINGS = ('index-url', 'extra-index-url', 'find-links', 'cert', 'client-cert', 'trusted-host')
# pip's own precedence: environment over per-user and site files.
SCOPE_ORDER = ('global', 'user', 'site', 'install', ':env:')

STAND_IN = '''\
"""Stand-in for get-pip.py, written by `make sanity` (.ci/sanity-get-pip.py)."""
import os
import subprocess
import sys

PIP_SETTINGS = %(settings)r


def main():
    if PIP_SETTINGS:
        with open(os.path.join(sys.prefix, 'pip.conf'), 'w') as conf:
            conf.write('[global]\\n')
            for key, value in sorted(PIP_SETTINGS.items()):
                conf.write('%%s = %%s\\n' %% (key, value))
    # In a child process: ensurepip.bootstrap() would set PIP_CONFIG_FILE=/dev/null
    # in this one, and every later pip run would ignore the pip.conf written above.
    subprocess.check_call([sys.executable, '-m', 'ensurepip'])
    own = ('--no-setuptools', '--no-wheel')
    args = [arg for arg in sys.argv[1:] if arg not in own]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args)
    if '--no-setuptools' in sys.argv[1:]:
        # ensurepip brings setuptools along; get-pip would not have.
        subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet', 'setuptools'])


main()
'''


def pip_settings():
    """The index, link and certificate settings pip uses here, as KEY=VALUE for pip.conf."""
    out = subprocess.run([sys.executable, '-m', 'pip', 'config', 'list'],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        name, sep, value = line.partition('=')
        scope, dot, key = name.rpartition('.')
        if not sep or not dot or key not in KEPT_SETTINGS:
            continue
        rank = SCOPE_ORDER.index(scope) if scope in SCOPE_ORDER else 0
        value = value.strip().strip('\'"')
        if key not in found or rank >= found[key][0]:
            found[key] = (rank, value)
    return {key: value for key, (rank, value) in found.items()}


def bootstrap_pip_version():
    """The pip version ansible-test asks get-pip for (it names the cache file)."""
    from ansible_test._internal.python_requirements import get_venv_packages
    python = types.SimpleNamespace(version='%d.%d' % sys.version_info[:2])
    return get_venv_packages(python)['pip']


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    cache = os.path.join(sys.argv[1], '.ansible', 'test', 'cache')
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, 'get_pip_%s.py' % bootstrap_pip_version().replace('.', '_'))
    with open(path, 'w') as script:
        script.write(STAND_IN % dict(settings=pip_settings()))
    print('sanity: pip bootstrap stand-in at %s' % path)


if __name__ == '__main__':
    main()
