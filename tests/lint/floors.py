#!/usr/bin/env python3
"""Rooms in order: the floors of core/, storage/ and proxy/ (tests/lint/floors.txt)
against the code's #include "..." lines.

A room is a folder (core/wire, storage/ops, proxy/admin); a file at the root of a
layer may be named alone (proxy/server) when it sits on another floor than its
folder. Layers are ordered (floors.txt: layers); inside a layer a room may include
rooms on its own floor or below. It fails on:
  - an include that runs upward (to a higher floor, or a later layer);
  - a circle between rooms (A includes B and B includes A, directly or through
    others), counted over the includes that are not allow-listed;
  - a file whose room has no floor, or a floor whose room has no file;
  - a line of tests/lint/floors_allow.txt that no longer names a violation: its
    include is gone, or neither runs upward nor closes a circle over the includes
    that are not allow-listed (the list only shrinks).
Quoted includes are resolved as the compiler does: beside the including file first,
then by the path's ending (headers are unique by name across the rooms); an include
of no file of the tree (generated, system) is left out.

usage: floors.py ROOT            check ROOT (floors.txt and floors_allow.txt beside
                                 this script, or --floors/--allow)
       floors.py --self-test     check a small fake tree with known violations
"""
import os
import re
import sys
import tempfile

INC_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
ALLOW_RE = re.compile(r'^(\S+)\s*->\s*(\S+)\s+#(\d+)\s+(\S.*)$')


class Floors:
    """floors.txt: `layers A B C` once, then `PATH FLOOR WHAT IT HOLDS` a line."""

    def __init__(self, path):
        self.layers = []
        self.rooms = {}  # path -> (layer index, floor)
        self.errors = []
        for n, raw in enumerate(open(path, encoding='utf-8'), 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split(None, 2)
            if parts[0] == 'layers':
                self.layers = line.split()[1:]
                continue
            if len(parts) < 3 or not parts[1].isdigit():
                self.errors.append(f'{path}:{n}: want "ROOM FLOOR what it holds": {line}')
                continue
            layer = parts[0].split('/')[0]
            if layer not in self.layers:
                self.errors.append(f'{path}:{n}: {parts[0]}: layer {layer} not in "layers"')
                continue
            if parts[0] in self.rooms:
                self.errors.append(f'{path}:{n}: {parts[0]} twice')
            self.rooms[parts[0]] = (self.layers.index(layer), int(parts[1]))

    def room_of(self, rel):
        stem = os.path.splitext(rel)[0]
        if stem in self.rooms:
            return stem
        return os.path.dirname(rel)


def read_allow(path):
    """floors_allow.txt: `FROM -> TO #ISSUE reason` a line (paths of files)."""
    allow, errors = {}, []
    if not os.path.exists(path):
        return allow, errors
    for n, raw in enumerate(open(path, encoding='utf-8'), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        m = ALLOW_RE.match(line)
        if m is None:
            errors.append(f'{path}:{n}: want "FROM -> TO #ISSUE reason": {line}')
            continue
        allow[(m.group(1), m.group(2))] = n
    return allow, errors


def scan(root, layers):
    files = []
    for layer in layers:
        for d, dirs, names in os.walk(os.path.join(root, layer)):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(('.c', '.h')):
                    files.append(os.path.relpath(os.path.join(d, name), root))
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    fileset = set(files)
    includes = []  # (from file, line, to file)
    errors = []
    for f in files:
        with open(os.path.join(root, f), encoding='utf-8', errors='replace') as fh:
            for n, line in enumerate(fh, 1):
                m = INC_RE.match(line)
                if m is None:
                    continue
                inc = m.group(1)
                beside = os.path.normpath(os.path.join(os.path.dirname(f), inc))
                if beside in fileset:
                    includes.append((f, n, beside))
                    continue
                cands = [c for c in by_name.get(os.path.basename(inc), [])
                         if c == inc or c.endswith('/' + inc)]
                if len(cands) == 1:
                    includes.append((f, n, cands[0]))
                elif len(cands) > 1:
                    errors.append(f'{f}:{n}: "{inc}" names {len(cands)} files: '
                                  + ', '.join(cands) + ' (name its room)')
    return files, includes, errors


def circles(edges):
    """Strongly connected sets of more than one room (Tarjan), over room -> room edges."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def reaches(edges, src, dst):
    """Whether room dst is reached from room src over edges."""
    todo, seen = [src], {src}
    while todo:
        v = todo.pop()
        if v == dst:
            return True
        for a, b in edges:
            if a == v and b not in seen:
                seen.add(b)
                todo.append(b)
    return False


def check(root, floors_path, allow_path):
    """The list of failures of the tree at ROOT (empty: it holds)."""
    fl = Floors(floors_path)
    allow, errors = read_allow(allow_path)
    errors = fl.errors + errors
    files, includes, scan_errors = scan(root, fl.layers)
    errors += scan_errors
    used = set()
    for f in files:
        r = fl.room_of(f)
        if r not in fl.rooms:
            errors.append(f'{f}: room {r} has no floor in {floors_path}')
        used.add(r)
    for r in sorted(set(fl.rooms) - used):
        errors.append(f'{floors_path}: {r} holds no file: remove its line')
    if errors:
        return errors

    def rank(r):
        return fl.rooms[r]

    cross = [(f, n, t, fl.room_of(f), fl.room_of(t)) for f, n, t in includes
             if fl.room_of(f) != fl.room_of(t)]
    seen = {}
    for f, n, t, a, b in cross:
        seen.setdefault((f, t), []).append((n, a, b))
    upward = {(f, t) for f, n, t, a, b in cross if rank(b) > rank(a)}

    for f, n, t, a, b in cross:
        if (f, t) in allow:
            continue
        if (f, t) in upward:
            errors.append(f'{f}:{n}: includes {t}: runs upward ({a} floor '
                          f'{fl.layers[rank(a)[0]]}/{rank(a)[1]} -> {b} floor '
                          f'{fl.layers[rank(b)[0]]}/{rank(b)[1]})')
    open_edges = {(a, b) for f, n, t, a, b in cross if (f, t) not in allow}
    for comp in circles(open_edges):
        members = set(comp)
        ties = sorted({f'{f}:{n} -> {t}' for f, n, t, a, b in cross
                       if a in members and b in members and (f, t) not in allow})
        errors.append('circle between rooms ' + ' <-> '.join(comp) + ':\n    '
                      + '\n    '.join(ties))
    for (f, t), n in sorted(allow.items(), key=lambda kv: kv[1]):
        hits = seen.get((f, t))
        if hits is None:
            errors.append(f'{allow_path}:{n}: {f} no longer includes {t}: remove the line')
            continue
        a, b = hits[0][1], hits[0][2]
        circled = reaches(open_edges, b, a)
        if (f, t) not in upward and not circled:
            errors.append(f'{allow_path}:{n}: {f} -> {t} is no longer a violation '
                          '(neither upward nor in a circle): remove the line')
    return errors


FAKE = {
    'floors.txt': '''layers low high
low/base 1 what all use
low/a 2 one room
low/b 2 another room on the same floor
low/top 3 the top of low
high/x 1 the only room of high
''',
    'allow.txt': '''# the fake allow-list
low/base/u.h -> low/top/t.h #1 allowed and still there
low/a/old.c -> low/base/u.h #2 downward: not a violation, so stale
''',
    'low/base/u.h': '#include "t.h"\n',
    'low/base/v.h': '#include "w.h"\n',
    'low/base/w.h': '#include "../../high/x/h.h"\n',
    'low/a/old.c': '#include "u.h"\n',
    'low/a/p.c': '#include "q.h"\n#include "u.h"\n#include "gen.h"\n',
    'low/b/q.h': '#include "r.h"\n',
    'low/b/r.h': '#include "p.h"\n',
    'low/a/p.h': '#include "u.h"\n',
    'low/top/t.h': '#include "p.h"\n',
    'high/x/h.h': '\n',
}


def self_test():
    with tempfile.TemporaryDirectory() as d:
        for rel, text in FAKE.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)) or d, exist_ok=True)
            with open(os.path.join(d, rel), 'w') as fh:
                fh.write(text)
        errors = check(d, os.path.join(d, 'floors.txt'), os.path.join(d, 'allow.txt'))
        text = '\n'.join(errors)
        want = [
            ('the upward include', 'low/base/w.h:1: includes high/x/h.h: runs upward'),
            ('the circle on one floor', 'circle between rooms low/a <-> low/b'),
            ('the stale allow line', 'low/a/old.c -> low/base/u.h is no longer a violation'),
        ]
        bad = [what for what, needle in want if needle not in text]
        if 'low/base/u.h:1' in text:
            bad.append('the allowed include was reported')
        if 'gen.h' in text:
            bad.append('an include of no file of the tree was reported')
        if len(errors) != len(want):
            bad.append(f'{len(errors)} failures, want {len(want)}')
        # A clean tree passes.
        os.remove(os.path.join(d, 'low/base/w.h'))
        with open(os.path.join(d, 'low/base/v.h'), 'w') as fh:
            fh.write('\n')
        with open(os.path.join(d, 'low/b/r.h'), 'w') as fh:
            fh.write('\n')
        with open(os.path.join(d, 'allow.txt'), 'w') as fh:
            fh.write('low/base/u.h -> low/top/t.h #1 allowed and still there\n')
        clean = check(d, os.path.join(d, 'floors.txt'), os.path.join(d, 'allow.txt'))
        if clean:
            bad.append('the clean tree failed: ' + '; '.join(clean))
    if bad:
        print('floors self-test failed: ' + '; '.join(bad))
        print(text)
        return 1
    print('floors self-test ok')
    return 0


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    args = argv[1:]
    if args and args[0] == '--self-test':
        return self_test()
    root = args[0] if args else os.path.join(here, '..', '..')
    floors = os.path.join(here, 'floors.txt')
    allow = os.path.join(here, 'floors_allow.txt')
    errors = check(root, floors, allow)
    for e in errors:
        print(e)
    if errors:
        print(f'floors: {len(errors)} failure(s); the floors are tests/lint/floors.txt, '
              'the known exceptions tests/lint/floors_allow.txt')
        return 1
    print('floors ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
