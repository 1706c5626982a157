#!/usr/bin/env python3
"""The man page docs/memproxy.8 cannot rot: man --warnings renders it
without a warning, every option `memproxy --help` prints is under OPTIONS
(and every option of its usage line in the SYNOPSIS), and its title line
names the project's version. Runs a self-check first: a help text with an
option the page lacks must be reported.

Usage: manpage.py SOURCE_ROOT MEMPROXY_BIN VERSION"""

import os
import re
import subprocess
import sys

OPTION = re.compile(r'(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)')


def sections(troff):
    """{section name: its text}, troff escapes for hyphens and fonts removed."""
    out = {}
    name = None
    for line in troff.splitlines():
        if line.startswith('.\\"'):
            continue
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1).strip()
            out[name] = ''
            continue
        if name is not None:
            out[name] += plain(line) + '\n'
    return out


def plain(line):
    line = re.sub(r'\\f(\[[^\]]*\]|\(..|.)', '', line)
    line = line.replace('\\-', '-').replace('\\(hy', '-').replace('\\&', '').replace('\\ ', ' ')
    # a macro line's arguments run together when the macro alternates fonts
    m = re.match(r'^\.(B|I|BI|IB|BR|RB|IR|RI|TP|SS)\b\s*(.*)$', line)
    if m:
        args = re.findall(r'"([^"]*)"|(\S+)', m.group(2))
        words = [a or b for a, b in args]
        return (' ' if m.group(1) in ('B', 'I', 'TP', 'SS') else '').join(words)
    return line


def help_options(text):
    """(options of the whole help, options of its usage line)."""
    usage = next((ln for ln in text.splitlines() if ln.startswith('usage:')), '')
    return set(OPTION.findall(text)), set(OPTION.findall(usage))


def problems(troff, help_text, version):
    secs = sections(troff)
    out = []
    for need in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'CONFIGURATION', 'SIGNALS', 'EXIT STATUS',
                 'FILES', 'ENVIRONMENT', 'SEE ALSO'):
        if need not in secs:
            out.append('no section %s' % need)
    documented = set(OPTION.findall(secs.get('OPTIONS', '')))
    synopsis = set(OPTION.findall(secs.get('SYNOPSIS', '')))
    everything, usage = help_options(help_text)
    if not everything:
        out.append('memproxy --help printed no option')
    for opt in sorted(everything - documented):
        out.append('memproxy --help prints %s, which OPTIONS does not describe' % opt)
    for opt in sorted(usage - synopsis):
        out.append('the usage line has %s, which the SYNOPSIS lacks' % opt)
    th = next((ln for ln in troff.splitlines() if ln.startswith('.TH ')), '')
    if version not in th:
        out.append('the title line %r does not name version %s' % (th, version))
    return out


def self_check(troff, version):
    fake_help = 'usage: memproxy [-c FILE] [--frobnicate]\n  --frobnicate  does things\n'
    got = problems(troff, fake_help, version)
    want = ['memproxy --help prints --frobnicate, which OPTIONS does not describe',
            'the usage line has --frobnicate, which the SYNOPSIS lacks']
    for w in want:
        if w not in got:
            return 'self-check: %r not reported (got %r)' % (w, got)
    if not problems(troff, '', version) or not problems(troff, fake_help, '9.9.9'):
        return 'self-check: an empty help or a wrong version passed'
    if problems(troff.replace('.SH SIGNALS', '.SH SIGNAL'), '--help', version) == []:
        return 'self-check: a missing section passed'
    return None


def man_warnings(page):
    env = dict(os.environ, MANWIDTH='80', LC_ALL='C.UTF-8', MAN_KEEP_FORMATTING='0')
    env.pop('MANPAGER', None)
    env.pop('PAGER', None)
    try:
        r = subprocess.run(['man', '--warnings', '-l', page], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=env, timeout=60)
    except FileNotFoundError:
        return ['man is not installed (scripts/install-deps.sh --test installs man-db)']
    err = r.stderr.decode('utf-8', 'replace').strip()
    out = []
    if r.returncode != 0:
        out.append('man exited %d' % r.returncode)
    if err:
        out.append('man --warnings:\n' + err)
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    root, binary, version = sys.argv[1:]
    page = os.path.join(root, 'docs', 'memproxy.8')
    with open(page, encoding='utf-8') as f:
        troff = f.read()
    checks = []
    why = self_check(troff, version)
    checks.append(('self-check', [why] if why else []))
    r = subprocess.run([binary, '--help'], capture_output=True, text=True, timeout=30)
    checks.append(('memproxy --help', [] if r.returncode == 0 else ['memproxy --help exited %d' % r.returncode]))
    checks.append(('sections, options, version', problems(troff, r.stdout, version)))
    checks.append(('man --warnings', man_warnings(page)))
    failed = 0
    for name, found in checks:
        for p in found:
            print('FAIL (%s): %s' % (name, p))
        print('%s: %s' % (name, 'ok' if not found else 'FAILED'))
        failed += 1 if found else 0
    print('manpage: %d passed, %d failed' % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
