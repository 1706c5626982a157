#!/usr/bin/env python3
"""Scans memproxy's logs, as kept by the integration tests, for canaries.

    scan_logs.py DIR        scan every file under DIR
    scan_logs.py --self-test

The security and governance tests (test_security.py, test_governance.py)
put canaries in everything memproxy must never log: fact values, message
texts, user ids, API keys, admin tokens, signature keys. Every one of them
starts with one of CANARY_PREFIXES. With MEMPROXY_TEST_LOG_DIR set, the
harness keeps each memproxy's stderr (and the output of the runs expected
to exit) in a file under that directory; this script then reads every file
there, case-insensitively, also after undoing JSON's \\uXXXX and \\xNN style
escapes, so an escaped copy counts too.

Exit status: 0 no canary found; 1 canaries found (each hit printed as
file:line: prefix); 2 DIR missing or holding no file at all (a scan of
nothing proves nothing), or bad usage. Python 3 standard library only."""

import os
import re
import sys
import tempfile

CANARY_PREFIXES = ('zqxcanary', 'zqxsecret')

_ESCAPES = re.compile(r'\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|%([0-9a-fA-F]{2})')


def _unescape(text):
    def rep(m):
        h = m.group(1) or m.group(2) or m.group(3)
        try:
            return chr(int(h, 16))
        except ValueError:
            return m.group(0)
    return _ESCAPES.sub(rep, text)


def scan_line(line):
    """The canary prefixes found in one line of text (str), in order."""
    forms = (line.lower(), _unescape(line).lower())
    return [p for p in CANARY_PREFIXES if any(p in f for f in forms)]


def log_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                out.append(path)
    return out


def scan(root):
    """(files scanned, [(path, line number, prefix)])."""
    files = log_files(root)
    hits = []
    for path in files:
        with open(path, 'rb') as f:
            for n, raw in enumerate(f, 1):
                for p in scan_line(raw.decode('utf-8', 'replace')):
                    hits.append((path, n, p))
    return files, hits


def main(argv):
    if len(argv) == 2 and argv[1] == '--self-test':
        return self_test()
    if len(argv) != 2 or argv[1].startswith('-'):
        sys.stderr.write('usage: scan_logs.py DIR | --self-test\n')
        return 2
    root = argv[1]
    if not os.path.isdir(root):
        sys.stderr.write('scan_logs: %s is not a directory\n' % root)
        return 2
    files, hits = scan(root)
    if not files:
        sys.stderr.write('scan_logs: no log file under %s: nothing was scanned\n' % root)
        return 2
    for path, n, p in hits:
        print('%s:%d: %s' % (path, n, p))
    if hits:
        sys.stderr.write('scan_logs: %d canary hit(s) in %d file(s) scanned\n' % (len(hits), len(files)))
        return 1
    print('scan_logs: %d file(s) scanned, no canary' % len(files))
    return 0


def self_test():
    """Checks the scanner on files it writes: each kind of hit is found at its
    line, a clean directory passes, an empty one is refused."""
    import io
    import contextlib
    with tempfile.TemporaryDirectory(prefix='scan-logs-selftest-') as d:
        def run():
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                rc = main(['scan_logs.py', d])
            return rc, buf.getvalue()

        rc, _ = run()
        assert rc == 2, 'an empty directory must exit 2, got %r' % rc
        clean = os.path.join(d, 'clean.log')
        with open(clean, 'w') as f:
            f.write('{"level":"info","msg":"listening","user":"3f2a9c"}\n')
        rc, _ = run()
        assert rc == 0, 'a clean log must exit 0, got %r' % rc
        dirty = os.path.join(d, 'sub', 'memproxy-1.log')
        os.makedirs(os.path.dirname(dirty))
        with open(dirty, 'w') as f:
            f.write('{"msg":"ok"}\n{"msg":"request","value":"ZQXCANARY-fact-abc"}\n'
                    '{"msg":"x","auth":"Bearer \\u007aqxsecret-key"}\n')
        rc, out = run()
        assert rc == 1, 'a log holding canaries must exit 1, got %r' % rc
        assert '%s:2: zqxcanary' % dirty in out, out
        assert '%s:3: zqxsecret' % dirty in out, out
        assert clean not in out, out
    print('scan_logs self-test: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
