"""Self test of the fake upstream's embeddings (docs/fake-upstream-wires.md,
"Embeddings"): POST /v1/embeddings in OpenAI's shape, the vectors' rules
(unit length, deterministic, the synonym table), the log of
GET /_fake/embeddings, the refusals, and each misbehaviour of
POST /_fake/embedmode with its exact shape. It drives the fake directly, over
real sockets. Python 3 standard library only.

Usage: selftest_embed.py path/to/fake_upstream
"""

import http.client
import json
import math
import re
import socket
import subprocess
import sys
import time
import unittest

FAKE = None
PORT = None


def start_fake(path):
    proc = subprocess.Popen([path, '--port', '0', '--quiet'], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline()
    m = re.match(rb'^PORT (\d+)\n$', line)
    if not m:
        proc.kill()
        raise SystemExit('fake upstream printed no PORT line: %r' % line)
    return proc, int(m.group(1))


def call(path, body=None, method='POST', timeout=10):
    """One request on a fresh connection: (status, headers, body bytes)."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={'Content-Type': 'application/json'})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def embed(body, **kw):
    status, headers, raw = call('/v1/embeddings', body, **kw)
    return status, headers, raw


def vectors(texts, **extra):
    body = dict({'model': 'm', 'input': texts}, **extra)
    status, _, raw = embed(body)
    assert status == 200, (status, raw[:300])
    return [d['embedding'] for d in json.loads(raw)['data']]


def cos(a, b):
    return sum(x * y for x, y in zip(a, b))


def set_mode(mode):
    status, _, raw = call('/_fake/embedmode?mode=' + mode)
    assert status == 200 and json.loads(raw) == {'mode': mode}, (status, raw)


def log():
    status, _, raw = call('/_fake/embeddings', method='GET')
    assert status == 200, status
    return json.loads(raw)


class Base(unittest.TestCase):
    def setUp(self):
        status, _, _ = call('/_fake/reset')
        self.assertEqual(status, 200)


class ShapeTest(Base):
    def test_one_string(self):
        status, headers, raw = embed({'model': 'e5', 'input': 'We adopted a beagle last spring'})
        self.assertEqual(status, 200)
        self.assertEqual(headers['content-type'], 'application/json')
        j = json.loads(raw)
        self.assertEqual(set(j), {'object', 'data', 'model', 'usage'})
        self.assertEqual(j['object'], 'list')
        self.assertEqual(j['model'], 'e5')
        self.assertEqual(j['usage'], {'prompt_tokens': 6, 'total_tokens': 6})  # six words
        self.assertEqual(len(j['data']), 1)
        d = j['data'][0]
        self.assertEqual((d['object'], d['index']), ('embedding', 0))
        self.assertEqual(len(d['embedding']), 64)
        self.assertAlmostEqual(math.sqrt(cos(d['embedding'], d['embedding'])), 1.0, places=6)

    def test_batch_order_determinism_case(self):
        texts = ['alpha beta', 'Beagle', 'beagle', '', '!!!', 'alpha beta']
        status, _, raw = embed({'input': texts, 'encoding_format': 'float'})
        self.assertEqual(status, 200)
        j = json.loads(raw)
        self.assertEqual(j['model'], 'fake-embed')  # no model asked
        self.assertEqual([d['index'] for d in j['data']], list(range(6)))
        v = [d['embedding'] for d in j['data']]
        self.assertEqual(v[0], v[5])
        self.assertEqual(v[1], v[2])  # lower-cased
        self.assertEqual(v[3], v[4])  # no word: the empty word's vector
        self.assertEqual(v, vectors(texts))  # the same next time
        # a word without a field's tokens still costs one
        self.assertEqual(j['usage']['prompt_tokens'], 2 + 1 + 1 + 1 + 1 + 2)

    def test_dimensions(self):
        for n in (1, 16, 384, 4096):
            v = vectors(['one two three'], dimensions=n)[0]
            self.assertEqual(len(v), n)
            self.assertAlmostEqual(math.sqrt(cos(v, v)), 1.0, places=6)

    def test_meaning_without_a_shared_word(self):
        q = 'query: What pets do I have?'
        passages = ['passage: We adopted a beagle last spring',
                    'passage: The quarterly report is due on Friday',
                    'passage: I moved to Berlin in 2019',
                    'passage: My favourite colour is green']
        v = vectors([q] + passages, input_type='passage')
        sims = [cos(v[0], p) for p in v[1:]]
        self.assertGreater(sims[0], 0.3, sims)
        self.assertGreater(sims[0], max(sims[1:]) + 0.2, sims)
        for a, b in (('pets', 'beagle'), ('my dog', 'a kitten'), ('car', 'truck'), ('job', 'employer'),
                     ('dinner', 'lunch'), ('vacation', 'flight')):
            x, y = vectors([a, b])
            self.assertGreater(cos(x, y), 0.5, (a, b))

    def test_log(self):
        embed({'model': 'e5', 'input': ['a', 'b'], 'input_type': 'passage', 'dimensions': 8})
        embed({'model': 'e5', 'input': 'c', 'input_type': 'query'})
        embed({'input': 'd'})
        j = log()
        self.assertEqual((j['mode'], j['requests'], j['inputs']), ('ok', 3, 4))
        r = j['recent']
        self.assertEqual([x['inputs'] for x in r], [['a', 'b'], ['c'], ['d']])
        self.assertEqual([x['input_type'] for x in r], ['passage', 'query', None])
        self.assertEqual([x['model'] for x in r], ['e5', 'e5', None])
        self.assertEqual([x['dimensions'] for x in r], [8, None, None])
        self.assertEqual([x['answered_dims'] for x in r], [8, 64, 64])
        self.assertEqual([x['n'] for x in r], [1, 2, 3])
        # /_fake/requests has them as every /v1 request
        status, _, raw = call('/_fake/requests', method='GET')
        reqs = json.loads(raw)
        self.assertEqual([x['path'] for x in reqs], ['/v1/embeddings'] * 3)
        self.assertEqual(json.loads(reqs[0]['body'])['input'], ['a', 'b'])
        call('/_fake/reset')
        self.assertEqual(log(), {'mode': 'ok', 'requests': 0, 'inputs': 0, 'recent': []})

    def test_log_keeps_the_last_64(self):
        for i in range(70):
            embed({'input': 'w%d' % i})
        j = log()
        self.assertEqual((j['requests'], j['inputs'], len(j['recent'])), (70, 70, 64))
        self.assertEqual(j['recent'][0]['inputs'], ['w6'])

    def test_refusals(self):
        bad = [(b'not json', None), ({'model': 'm'}, 'input'), ({'input': []}, 'input'),
               ({'input': [1, 2]}, 'input'), ({'input': ['x'] * 2049}, 'input'),
               ({'input': 'x' * 65537}, 'input'), ({'input': 'x', 'dimensions': 0}, 'dimensions'),
               ({'input': 'x', 'dimensions': 4097}, 'dimensions'),
               ({'input': 'x', 'dimensions': '8'}, 'dimensions'),
               ({'input': 'x', 'encoding_format': 'base64'}, 'encoding_format'),
               ({'input': 'x', 'model': 5}, 'model'), ({'input': 'x', 'input_type': 1}, 'input_type')]
        set_mode('status500')  # a refusal comes before any mode
        for body, param in bad:
            status, _, raw = embed(body)
            self.assertEqual(status, 400, body)
            e = json.loads(raw)['error']
            self.assertEqual((e['type'], e['param']), ('invalid_request_error', param), body)
            self.assertTrue(e['message'].startswith('fake: '))
        self.assertEqual(log()['requests'], 0)  # refusals are not logged
        status, _, raw = call('/v1/embeddings', method='GET')
        self.assertEqual(status, 405)
        self.assertEqual(json.loads(raw)['error']['type'], 'invalid_request_error')

    def test_mode_endpoint(self):
        status, _, raw = call('/_fake/embedmode', method='GET')
        self.assertEqual((status, json.loads(raw)), (200, {'mode': 'ok'}))
        for q in ('?mode=bogus', '', '?mode=', '?m=ok', '?mode=NaN'):
            status, _, raw = call('/_fake/embedmode' + q)
            self.assertEqual(status, 400, q)
            self.assertIn('usage', json.loads(raw)['error'])
        set_mode('fewer')
        self.assertEqual(log()['mode'], 'fewer')
        call('/_fake/reset')
        self.assertEqual(log()['mode'], 'ok')


class ModeTest(Base):
    TEXTS = ['first text', 'second text', 'third text']

    def answer(self, mode, texts=None, **extra):
        set_mode(mode)
        body = dict({'model': 'e5', 'input': texts or self.TEXTS}, **extra)
        status, headers, raw = embed(body)
        self.assertEqual(log()['requests'], 1, 'every mode logs the request')
        return status, headers, raw

    def test_wrong_dims(self):
        status, _, raw = self.answer('wrong_dims')
        self.assertEqual(status, 200)
        self.assertEqual([len(d['embedding']) for d in json.loads(raw)['data']], [32] * 3)
        call('/_fake/reset')
        status, _, raw = self.answer('wrong_dims', dimensions=16)
        self.assertEqual([len(d['embedding']) for d in json.loads(raw)['data']], [8] * 3)

    def test_nan(self):
        status, _, raw = self.answer('nan')
        self.assertEqual(status, 200)
        self.assertEqual(raw.count(b'NaN'), 1)
        self.assertEqual(raw.count(b'1e999'), 1)
        self.assertTrue(re.search(rb'"embedding":\[NaN,', raw), raw[:200])
        self.assertTrue(re.search(rb',1e999\]\}\],"model"', raw), raw[-200:])
        d = json.loads(raw)['data']  # Python's json reads both
        self.assertTrue(math.isnan(d[0]['embedding'][0]))
        self.assertTrue(math.isinf(d[2]['embedding'][63]))
        self.assertTrue(all(math.isfinite(x) for x in d[1]['embedding']))

    def test_fewer(self):
        status, _, raw = self.answer('fewer')
        j = json.loads(raw)
        self.assertEqual(status, 200)
        self.assertEqual([d['index'] for d in j['data']], [0, 1])
        self.assertEqual(j['usage']['prompt_tokens'], 6)  # every input counted
        call('/_fake/reset')
        status, _, raw = self.answer('fewer', texts='only one')
        self.assertEqual(json.loads(raw)['data'], [])

    def test_huge(self):
        status, headers, raw = self.answer('huge')
        self.assertEqual(status, 200)
        self.assertGreater(len(raw), 1024 * 1024)
        self.assertEqual(int(headers['content-length']), len(raw))
        j = json.loads(raw)
        self.assertEqual(len(j['x_fake_padding']), 1024 * 1024 + 64)
        self.assertEqual(len(j['data']), 3)

    def test_status429(self):
        status, headers, raw = self.answer('status429')
        self.assertEqual(status, 429)
        self.assertEqual(headers['retry-after'], '1')
        self.assertEqual(headers['retry-after-ms'], '1000')
        self.assertEqual(json.loads(raw)['error']['type'], 'rate_limit_exceeded')

    def test_status500(self):
        status, headers, raw = self.answer('status500')
        self.assertEqual(status, 500)
        self.assertNotIn('retry-after', headers)
        self.assertEqual(json.loads(raw)['error']['type'], 'server_error')

    def test_hang(self):
        set_mode('hang')
        s = socket.create_connection(('127.0.0.1', PORT))
        body = json.dumps({'input': 'x'}).encode()
        s.sendall(b'POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n%s' % (len(body), body))
        s.settimeout(1.0)
        with self.assertRaises(socket.timeout):  # nothing comes: the fake never answers
            s.recv(1)
        self.assertEqual(log()['requests'], 1)
        s.close()

    def test_slow(self):
        t0 = time.monotonic()
        status, _, raw = self.answer('slow')
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)  # never sooner than 2 s
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(raw)['data']), 3)

    def test_model_changed(self):
        before = vectors(self.TEXTS)
        call('/_fake/reset')
        status, _, raw = self.answer('model_changed')
        j = json.loads(raw)
        self.assertEqual(j['model'], 'e5-v2')
        after = [d['embedding'] for d in j['data']]
        self.assertEqual([len(v) for v in after], [64] * 3)
        for a, b in zip(before, after):
            self.assertNotEqual(a, b)
            self.assertAlmostEqual(math.sqrt(cos(b, b)), 1.0, places=6)

    def test_vectors_changed(self):
        before = vectors(self.TEXTS)
        call('/_fake/reset')
        status, _, raw = self.answer('vectors_changed')
        j = json.loads(raw)
        self.assertEqual(j['model'], 'e5')
        for a, b in zip(before, [d['embedding'] for d in j['data']]):
            self.assertNotEqual(a, b)


def main():
    global FAKE, PORT
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    FAKE, PORT = start_fake(sys.argv[1])
    try:
        prog = unittest.main(argv=sys.argv[:1], exit=False, verbosity=1)
    finally:
        FAKE.terminate()
        FAKE.wait(5)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
