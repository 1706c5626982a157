"""The C port against the reference on every development set, hit for hit: runs
tests/bench/locomo_check (-S 0: every candidate scored, as the reference does) and
verify_terms.py --terms-c --prf-c (recall.py with terms.c's words and the C port's
feedback round) on the same LoCoMo-shaped files, and prints a Markdown table: per set, per
conversation (the needles: per language), per budget, the evidence found by each, and the
cells where they differ. Exit 0 when every cell agrees, 1 when one differs, 2 on a usage or
run error.

The sets (git-ignored data/, tests/bench/recall/README.md): LoCoMo (data/locomo-dev, facts
and turns), BEAM (data/beam-dev), the multilingual needles (data/ml-dev), MemDaily
(data/memdaily-dev) and MADial-Bench (data/madial-dev) as turns, converted by to_locomo.py
into OUT (default data/ref-dev). A set whose file is missing is skipped, saying so.

Usage (from the repository root, after ninja -C build tests/bench/locomo_check):
    /usr/bin/python3 tests/bench/recall/reference/agreement.py [--sets a,b] [--out DIR]
        [--locomo-check PATH]
"""
import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..'))
LOCOMO_CONVS = ['26', '30', '41', '42', '43']
# set -> (plain-shape file, or None for LoCoMo's own files; budgets: the C bench's, bench.py)
SETS = {
    'locomo': (None, [500, 1500, 3000]),
    'beam': ('data/beam-dev/beam-500k-dev.json', [500, 1500, 3000]),
    'needles': ('data/ml-dev/needles-dev.json', [300, 500, 1500, 3000]),
    'memdaily': ('data/memdaily-dev/memdaily-dev.json', [500, 1500, 3000]),
    'madial': ('data/madial-dev/madial-dev.json', [500, 1500, 3000]),
}


def parse(out):
    """{(file, kind): (evidence, [hits per budget])} of locomo_check's / verify_terms.py's lines."""
    res = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or f[1] not in ('facts', 'turns'):
            continue
        hits = []
        for cell in f[3:]:
            if ':' not in cell or '(' not in cell:
                break
            hits.append(int(cell[cell.index('(') + 1:cell.index(')')]))
        res[(f[0], f[1])] = (int(f[2]), hits)
    return res


def files_of(name, src, out):
    if src is None:
        return [os.path.join(ROOT, 'data', 'locomo-dev', c + '.json') for c in LOCOMO_CONVS]
    d = os.path.join(out, name)
    subprocess.run([sys.executable, os.path.join(HERE, 'to_locomo.py'), os.path.join(ROOT, src), d],
                   check=True, stdout=subprocess.DEVNULL)
    return sorted(glob.glob(os.path.join(d, '*.json')))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sets', default=','.join(SETS))
    p.add_argument('--out', default=os.path.join(ROOT, 'data', 'ref-dev'))
    p.add_argument('--locomo-check', default=os.path.join(ROOT, 'build', 'tests', 'bench', 'locomo_check'))
    a = p.parse_args(argv)
    differ = 0
    print('| set | conversation | kind | evidence | budgets | reference: % (hits) | C port |')
    print('|---|---|---|---:|---|---|---|')
    for name in a.sets.split(','):
        if name not in SETS:
            print('agreement.py: no set %s' % name, file=sys.stderr)
            return 2
        src, budgets = SETS[name]
        need = os.path.join(ROOT, src or 'data/locomo-dev/26.json')
        if not os.path.exists(need):
            print('agreement.py: %s skipped: no %s' % (name, need), file=sys.stderr)
            continue
        files = files_of(name, src, a.out)
        b = ','.join(str(x) for x in budgets)
        c = parse(subprocess.run([a.locomo_check, '-S', '0', '-b', b] + files, check=True,
                                 capture_output=True, text=True).stdout)
        env = dict(os.environ, MEMPROXY_LOCOMO_DIR=os.path.join(ROOT, 'data', 'locomo-dev'))
        r = parse(subprocess.run([sys.executable, os.path.join(HERE, 'verify_terms.py'), '--terms-c',
                                  '--prf-c', '-b', b] + files, check=True, capture_output=True,
                                 text=True, env=env, cwd=HERE).stdout)
        for key in sorted(r, key=lambda k: (k[0] == 'all', k)):
            tot, rh = r[key]
            if tot == 0:
                continue
            ctot, ch = c.get(key, (None, []))
            bad = [k for k in range(len(budgets)) if ctot != tot or k >= len(ch) or ch[k] != rh[k]]
            differ += len(bad)
            print('| %s | %s | %s | %d | %s | %s | %s |' % (
                name, 'all' if key[0] == 'all' else key[0][:-5], key[1], tot,
                ' / '.join('{:,}'.format(B) for B in budgets),
                ' / '.join('%.1f (%d)' % (100.0 * h / tot, h) for h in rh),
                'the same' if not bad else ' / '.join(
                    '**%s**' % ('%d' % ch[k] if k < len(ch) else '-') if k in bad else '=' for k in range(len(budgets)))),
                flush=True)
    print('\n%s' % ('every cell agrees' if differ == 0 else '%d cells differ' % differ))
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
