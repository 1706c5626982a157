#!/usr/bin/env python3
"""`meson install` into a temporary DESTDIR puts the binary, the man page
and the sample configuration (with the dashboard and the alerting rules)
where the build's prefix says, byte for byte, and installs no test
program; the installed binary runs.

Usage: install.py SOURCE_ROOT BUILD_ROOT"""

import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile


def option(opts, name):
    for o in opts:
        if o['name'] == name:
            return o['value']
    raise KeyError(name)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    root, build = sys.argv[1:]
    meson = shutil.which('meson')
    if meson is None:
        print('FAIL: meson is not on PATH')
        print('install: 0 passed, 1 failed')
        return 1
    opts = json.loads(subprocess.run([meson, 'introspect', '--buildoptions', build], check=True,
                                     capture_output=True, text=True).stdout)
    prefix = option(opts, 'prefix')

    def under(dirname):
        d = option(opts, dirname)
        return d if os.path.isabs(d) else os.path.join(prefix, d)

    doc = os.path.join(under('datadir'), 'doc', 'memproxy')
    want = {
        os.path.join(under('bindir'), 'memproxy'): None,   # the build's binary
        os.path.join(under('mandir'), 'man8', 'memproxy.8'): 'docs/memproxy.8',
        os.path.join(doc, 'examples', 'memproxy.ini'): 'conf/memproxy.ini',
        os.path.join(doc, 'examples', 'grafana', 'memproxy.json'): 'conf/grafana/memproxy.json',
        os.path.join(doc, 'examples', 'prometheus', 'alerts.yaml'): 'conf/prometheus/alerts.yaml',
        os.path.join(doc, 'examples', 'prometheus', 'prometheus.yml'): 'conf/prometheus/prometheus.yml',
    }
    failed = []
    with tempfile.TemporaryDirectory(prefix='memproxy-install-') as dest:
        r = subprocess.run([meson, 'install', '-C', build, '--no-rebuild', '--destdir', dest],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            failed.append('meson install exited %d:\n%s%s' % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
        installed = set()
        for d, _, files in os.walk(dest):
            installed |= {'/' + os.path.relpath(os.path.join(d, f), dest) for f in files}
        for path, source in want.items():
            got = os.path.join(dest, path.lstrip('/'))
            if path not in installed:
                failed.append('%s not installed (installed: %s)' % (path, sorted(installed)))
            elif source is not None and not filecmp.cmp(got, os.path.join(root, source), shallow=False):
                failed.append('%s differs from %s' % (path, source))
        tests = sorted(p for p in installed
                       if os.path.basename(p).startswith(('test_', 'fuzz_', 'fake_upstream')) or p.endswith('.a'))
        if tests:
            failed.append('test programs or libraries installed: %s' % tests)
        binary = os.path.join(dest, list(want)[0].lstrip('/'))
        if os.path.exists(binary):
            v = subprocess.run([binary, '--version'], capture_output=True, text=True, timeout=30)
            if v.returncode != 0 or not v.stdout.startswith('memproxy '):
                failed.append('the installed memproxy --version: exit %d, %r' % (v.returncode, v.stdout))
    for f in failed:
        print('FAIL: ' + f)
    for path in want:
        print('want %s' % path)
    print('install: %d passed, %d failed' % (0 if failed else 1, 1 if failed else 0))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
