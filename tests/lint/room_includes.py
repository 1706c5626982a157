#!/usr/bin/env python3
"""Includes name their room (issue 67): a quoted include of a project header that
lives in a room folder names the room, relative to its layer: "recall/terms.h" for
core/recall/terms.h, "ops/store.h" for storage/ops/store.h, "plane/reqmem.h" for
proxy/plane/reqmem.h. A header at the root of a layer (core/status.h) is named
alone; generated headers (mp_commit.h, mp_version.h: the build directory) and the
tests' own headers are no project header of a room and stay as they are.

Usage: room_includes.py [--fix] [ROOT]
  check (the default): exit 1 and list every include --fix would change.
  --fix: rewrite those includes in place. Deterministic and idempotent: run it
  again after merging a branch that adds bare includes.
Headers are unique by name across the layers (floors.py relies on it too); a
name that more than one header carries is left alone and reported.
"""
import os
import re
import sys

LAYERS = ('core', 'ondemand', 'storage', 'tools', 'proxy')
SCANNED = LAYERS + ('tests',)
INC_RE = re.compile(r'^(\s*#\s*include\s*")([^"/]+)(".*)$')


def headers(root):
    """Basename -> the room form of every header in a room folder of a layer, and
    the basenames of more than one header (left alone)."""
    forms, seen, dup = {}, {}, set()
    for layer in LAYERS:
        base = os.path.join(root, layer)
        for d, dirs, names in os.walk(base):
            dirs.sort()
            for name in sorted(names):
                if not name.endswith('.h'):
                    continue
                rel = os.path.relpath(os.path.join(d, name), base).replace(os.sep, '/')
                path = layer + '/' + rel
                if name in seen:
                    dup.add(name)
                seen[name] = path
                if '/' in rel:
                    forms[name] = (rel, path)
    for name in dup:
        forms.pop(name, None)
    return forms, dup


def sources(root):
    for top in SCANNED:
        for d, dirs, names in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(('.c', '.h')):
                    yield os.path.relpath(os.path.join(d, name), root).replace(os.sep, '/')


def rewrite(root, f, forms):
    """The file's text with its bare includes named by room, and the changes."""
    with open(os.path.join(root, f), encoding='utf-8') as fh:
        lines = fh.read().split('\n')
    changes = []
    for n, line in enumerate(lines):
        m = INC_RE.match(line)
        if m is None or m.group(2) not in forms:
            continue
        form, path = forms[m.group(2)]
        # A file of that name beside the includer that is not the project header
        # (a test's own header) is what the compiler finds: leave it.
        beside = os.path.normpath(os.path.join(os.path.dirname(f), m.group(2)))
        if os.path.exists(os.path.join(root, beside)) and beside.replace(os.sep, '/') != path:
            continue
        lines[n] = m.group(1) + form + m.group(3)
        changes.append((n + 1, m.group(2), form))
    return '\n'.join(lines), changes


def main(argv):
    fix = '--fix' in argv
    args = [a for a in argv if a != '--fix']
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    forms, dup = headers(root)
    total, files = 0, 0
    for f in sources(root):
        text, changes = rewrite(root, f, forms)
        if not changes:
            continue
        total += len(changes)
        files += 1
        if fix:
            with open(os.path.join(root, f), 'w', encoding='utf-8') as fh:
                fh.write(text)
        else:
            for n, old, new in changes:
                print(f'{f}:{n}: #include "{old}" names no room: #include "{new}"')
    for name in sorted(dup):
        print(f'warning: {name} names more than one header; its includes are left alone',
              file=sys.stderr)
    if fix:
        print(f'room_includes: rewrote {total} includes in {files} files')
        return 0
    if total:
        print(f'room_includes: {total} includes in {files} files name no room; '
              'run tests/lint/room_includes.py --fix')
        return 1
    print('room_includes ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
