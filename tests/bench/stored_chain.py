#!/usr/bin/env python3
"""Where memory goes on a Responses request the provider stores, and what
the prompt cache keeps of it (docs/memory-conversations.md "Responses: the
provider stores the input"), measured whole: one memproxy (4 workers, a new
connection a request, hybrid mode) in front of the fake upstream, which
stores a Responses request's input items and carries them into the turns
that continue it as OpenAI does (docs/fake-upstream-wires.md "Stored
responses"). A user with 10 facts and a summary asks 6 questions with a
5,000-byte "instructions", as a previous_response_id chain (--client chain)
or as a client that resends its history (--client resend), with "store"
absent or false (--store). Prints a Markdown table a turn: memproxy's bytes
in "input", the memory blocks the model sees (a head and a tail count one
each: "instructions", the provider's stored items and "input"), the bytes of
"instructions" the turn shares with the last, the prompt's tokens, the
cached ones and the billed input (cached at a tenth); then the totals and,
for a chain, what the provider stored. A benchmark, not a test: it asserts
nothing.

Usage: tests/bench/stored_chain.py [--build DIR] [--client chain|resend]
[--store absent|false] (MEMPROXY_BIN overrides the build's memproxy: an
older one gives the "before")."""

import argparse
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))

INSTRUCTIONS = ('You are a careful assistant for a search company. ' * 100).strip()
FACTS = [('vector_db', 'Qdrant'), ('language', 'Rust'), ('city', 'Lyon'), ('team_size', '6'),
         ('deploy', 'Kubernetes on Hetzner'), ('editor', 'Helix'), ('db', 'PostgreSQL 16'),
         ('pet', 'a cat named Miso'), ('coffee', 'flat white'), ('os', 'Fedora')]
QUESTIONS = ['Which vector DB do I use?', 'What language is my service written in?',
             'Where do I deploy it?', 'Which editor do I use?', 'What is my pet called?',
             'What coffee do I like?']


def common(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def blocks(mh, text):
    return text.count(mh.INTRO[:40]) + text.count(mh.TAIL_INTRO[:40])


def body_of(a, q, prev, history):
    body = {'model': 'gpt-4o-mini', 'instructions': INSTRUCTIONS}
    if a.store == 'false':
        body['store'] = False
    if a.client == 'chain':
        body['input'] = q
        if prev is not None:
            body['previous_response_id'] = prev
    else:
        body['input'] = history + [{'role': 'user', 'content': q}]
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--client', choices=('chain', 'resend'), default='chain')
    ap.add_argument('--store', choices=('absent', 'false'), default='absent')
    a = ap.parse_args()
    os.environ.setdefault('MEMPROXY_BIN', os.path.join(a.build, 'proxy', 'memproxy'))
    os.environ.setdefault('FAKE_UPSTREAM_BIN',
                          os.path.join(a.build, 'tests', 'fake_upstream', 'fake_upstream'))
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'proxy'))
    import harness
    import memhelpers as mh

    fake = harness.FakeUpstream().start()
    proxy = harness.Proxy(fake.base_url, workers=4, sections={'admin': {'token': mh.ADMIN_TOKEN}},
                          memory={'mode': 'hybrid', 'buffer_messages': 8,
                                  'summarize_at': 100}).start()
    try:
        user = mh.uid('bench')
        r = mh.import_lines(proxy, user, [mh.fact(k, v, '2023-05-08T10:00:00Z') for k, v in FACTS])
        assert r.status == 200, r
        assert mh.send(proxy, user, 'I am building a search service for legal documents.').status == 200
        mh.wait_memory(proxy, user, lambda m: m['summary']['text'] is not None, what='a summary')
        prev, last, history, total = None, None, [], [0, 0, 0.0]
        print('%s, "store" %s, %s\n' % (a.client, a.store, os.environ['MEMPROXY_BIN']))
        print('| turn | memproxy\'s bytes in input | memory blocks seen | instructions bytes '
              '| shared with the last turn | prompt tokens | cached | billed |')
        print('|---|---|---|---|---|---|---|---|')
        for k, q in enumerate(QUESTIONS):
            body = body_of(a, q, prev, history)
            raw = json.dumps(body).encode()
            tag = uuid.uuid4().hex
            resp = proxy.request('POST', '/v1/responses', mh.chat_headers(user, tag=tag), raw,
                                 timeout=30)
            assert resp.status == 200, resp
            up = json.loads(mh.upstream_body(fake, mh.Sent(tag, raw, None, resp)))
            chain = []
            if prev is not None and a.client == 'chain':
                got = harness.request(fake.port, 'GET', '/_fake/stored?id=' + prev)
                chain = got.json()['items'] if got.status == 200 else []
            ins = up.get('instructions') or ''
            u = resp.json()['usage']
            prompt, cached = u['input_tokens'], u['input_tokens_details']['cached_tokens']
            billed = prompt - cached + cached / 10
            total[0] += prompt
            total[1] += cached
            total[2] += billed
            print('| %d | %d | %d | %d | %s | %d | %d | %.0f |' % (
                k + 1, len(json.dumps(up['input'])) - len(json.dumps(body['input'])),
                blocks(mh, json.dumps([ins, chain, up['input']])), len(ins.encode()),
                '-' if last is None else common(ins, last), prompt, cached, billed))
            last, prev = ins, resp.json()['id']
            if a.client == 'resend':
                history = body['input'] + [{'role': 'assistant', 'content': mh.REPLY}]
            mh.wait_for(lambda q=q: any(m['content'] == q for m in
                                        mh.admin_memory(proxy, user).json()['buffer']),
                        what='the turn recorded')
        print('\ntotal: prompt %d tokens, cached %d (%.2f), billed %.0f'
              % (total[0], total[1], total[1] / total[0], total[2]))
        if a.client == 'chain':
            got = harness.request(fake.port, 'GET', '/_fake/stored?id=' + prev)
            if got.status == 200:
                text = json.dumps(got.json()['items'])
                print('stored upstream: %d items, %d memory blocks, %d fact values'
                      % (len(got.json()['items']), blocks(mh, text),
                         sum(text.count(v) for _, v in FACTS)))
    finally:
        proxy.stop()
        fake.stop()


if __name__ == '__main__':
    main()
