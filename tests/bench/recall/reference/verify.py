"""Evaluate the clean recall.py exactly as the harness does (no lab code)."""
import data, recall

def run(kind, P, budgets=(500, 1500, 3000)):
    hit = {B: 0 for B in budgets}; tot = 0; toks = {B: 0 for B in budgets}; nq = 0
    for c in data.CONVS:
        C = data.load(c); items = C[kind]; ix = recall.Index(items)
        cover = set().union(*[it['ids'] for it in items])
        for q in C['qs']:
            ev = [e for e in q['ev'] if e in cover]
            if not ev: continue
            s = recall.score(ix, q['q'], None, P); tot += len(ev); nq += 1
            for B in budgets:
                sel, used = recall.pack(ix, s, B, P)
                got = set()
                for i in sel: got |= items[i]['ids']
                hit[B] += sum(e in got for e in ev); toks[B] += used
    return {B: round(100.0 * hit[B] / tot, 1) for B in budgets}, {B: round(toks[B] / nq) for B in budgets}

if __name__ == '__main__':
    print('facts', run('facts', recall.FACTS))
    print('turns', run('turns', recall.TURNS))
