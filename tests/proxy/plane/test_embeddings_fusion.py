"""Retrieval by meaning, the read side's mechanics (issue 71, requirement
3), with the fake upstream's deterministic /v1/embeddings (its synonym
table relates "pets" and "beagle"): each chat request that reads memory
embeds its question once, within [embeddings] timeout_ms, and fuses the
user's nearest vectors with the lexical candidates; the answer says how
(X-Memory-Retrieval), a timeout or an error goes on by words alone,
counted, and the turn is recorded all the same; explain shows each item's
lexical rank, dense rank and similarity. The real model's scenarios are
test_embeddings_read.py's."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

PETS = 'What pets do I have?'
NO_RETENTION = {'retention_days': 0, 'pii_retention_days': 0}


def set_mode(fake, mode):
    r = fake._control('POST', '/_fake/embedmode?mode=' + mode)
    assert r.status == 200, r


def status(p):
    r = mh.admin_request(p, 'GET', '/admin/status', headers=())
    assert r.status == 200, r
    return r.json()


def seed(p, user):
    items = [mh.message('user', 'We adopted a beagle last spring', '2025-03-01T10:00:00Z'),
             mh.message('assistant', 'Lovely news.', '2025-03-01T10:00:05Z'),
             mh.message('user', 'I drive a blue sedan to the office', '2025-03-02T10:00:00Z'),
             mh.message('assistant', 'Noted.', '2025-03-02T10:00:05Z'),
             mh.message('user', 'My sister works as a nurse in Leeds', '2025-03-03T10:00:00Z'),
             mh.message('assistant', 'Good to know.', '2025-03-03T10:00:05Z'),
             mh.fact('companion_animal', 'a beagle named Biscuit', '2025-03-01T10:00:00Z'),
             mh.fact('car', 'blue sedan', '2025-03-02T10:00:00Z'),
             mh.fact('sister_job', 'nurse in Leeds', '2025-03-03T10:00:00Z')]
    r = mh.import_lines(p, user, items)
    assert r.status == 200, r


class Fusion(mh.MemCase):
    PROXY_CONFIG = {'workers': 2}

    def setUp(self):
        super().setUp()
        self.fake.reset()
        set_mode(self.fake, 'ok')

    def tearDown(self):
        try:
            set_mode(self.fake, 'ok')
        except Exception:
            pass
        super().tearDown()

    def start(self, admin=None, **emb):
        # a question waits for a loaded machine's fake as long as it takes (never timed here)
        conf = {'base_url': self.fake.base_url, 'model': 'fake-embed', 'timeout_ms': 20000}
        conf.update(emb)
        adm = {'token': mh.ADMIN_TOKEN}
        adm.update(admin or {})
        return self.start_proxy(sections={'admin': adm, 'embeddings': conf,
                                          'governance': NO_RETENTION},
                                memory={'mode': 'hybrid'})

    def backfilled(self, p):
        def done():
            mh.admin_request(p, 'POST', '/admin/extract')
            e = status(p)['embeddings']
            return e['pending'] == 0 and e['vectors'] >= 9
        mh.wait_for(done, timeout=60, what='every item embedded', interval=0.3)

    def test_a_question_sharing_no_word_finds_its_memory_by_meaning(self):
        p = self.start()
        user = mh.uid('fuse')
        seed(p, user)
        self.backfilled(p)
        n0 = len([r for r in mh.fake_requests(self.fake) if r['path'] == '/v1/embeddings'])
        s = send(p, user, PETS)
        self.assertOK(s)
        self.assertEqual(s.header('x-memory-retrieval'), 'hybrid')
        body = mh.upstream_body(self.fake, s)
        # the past message, by meaning alone; the others under the floors
        # (the facts are a small profile: the strongest go in whatever is asked)
        self.assertIn(b'We adopted a beagle', body)
        self.assertNotIn(b'I drive a blue sedan', body)
        self.assertNotIn(b'My sister works', body)
        embs = [r for r in mh.fake_requests(self.fake) if r['path'] == '/v1/embeddings'][n0:]
        asked = [r for r in embs if PETS in r['body']]
        self.assertEqual(len(asked), 1, 'the question embedded once')
        self.assertEqual(p.metric('memproxy_embeddings_queries_total', result='ok'), 1)
        # with the meaning list's weight at 0, the same question finds nothing by words
        p2 = self.start(dense_weight=0)
        user2 = mh.uid('fuse0')
        seed(p2, user2)
        self.backfilled(p2)
        s = send(p2, user2, PETS)
        self.assertOK(s)
        self.assertNotIn(b'We adopted a beagle', mh.upstream_body(self.fake, s))

    def test_timeout_and_error_go_on_by_words_and_record_the_turn(self):
        # the hang never answers, so the timeout is certain whatever the wait;
        # the 500 comes back well within it on any machine
        p = self.start(timeout_ms=3000)
        user = mh.uid('fusefail')
        seed(p, user)
        self.backfilled(p)
        for mode, why in (('hang', 'timeout'), ('status500', 'error')):
            set_mode(self.fake, mode)
            text = 'Tell me about my blue sedan, %s' % why
            s = send(p, user, text)
            self.assertOK(s)
            self.assertEqual(s.header('x-memory-retrieval'), 'lexical; reason=' + why)
            self.assertIn(b'sedan', mh.upstream_body(self.fake, s))  # words still find it
            self.assertEqual(p.metric('memproxy_embeddings_queries_total', result=why), 1)
            mh.wait_idle(p)
            pairs = mh.buffer_pairs(mh.get_memory(p, user))
            self.assertIn(('user', text), pairs, 'the turn was recorded')
        set_mode(self.fake, 'ok')
        # one line for a failing server (at most one per loop every 10 s), never the question
        lines = p.log_lines()
        self.assertTrue([ln for ln in lines if "a question's vector did not come" in ln], lines[-5:])
        for ln in lines:
            self.assertNotIn('blue sedan', ln)

    def test_explain_shows_both_ranks_and_the_similarity(self):
        p = self.start(admin={'explain_requests': 'true'})
        user = mh.uid('fusex')
        seed(p, user)
        self.backfilled(p)
        s = send(p, user, PETS, extra_headers=[('X-Memory-Explain', '1')])
        self.assertOK(s)
        eid = s.header('x-memory-explain-id')
        r = mh.admin_request(p, 'GET', '/admin/explain/' + eid)
        self.assertEqual(r.status, 200, r)
        items = {it['id']: it for sec in r.json()['sections'].values()
                 for it in sec.get('items', [])}
        pet = items['fact:companion_animal']
        self.assertTrue(pet['taken'], pet)
        self.assertEqual(pet['lexical_rank'], 0, pet)
        self.assertEqual(pet['dense_rank'], 1, pet)
        self.assertGreater(pet['similarity'], 0.3, pet)
        car = items['fact:car']
        self.assertGreater(car['dense_rank'], 1, car)
        self.assertLess(car['similarity'], pet['similarity'], json.dumps(items))

    def test_search_api_and_mcp_fuse_the_same_way(self):
        import urllib.parse
        p = self.start_proxy(sections={'admin': {'token': mh.ADMIN_TOKEN}, 'mcp': {'enabled': 'true'},
                                       'embeddings': {'base_url': self.fake.base_url,
                                                      'model': 'fake-embed', 'timeout_ms': 20000},
                                       'governance': NO_RETENTION},
                             memory={'mode': 'hybrid'})
        user = mh.uid('fuses')
        seed(p, user)
        self.backfilled(p)
        r = p.request('GET', '/v1/memory/search?q=' + urllib.parse.quote(PETS), [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['retrieval'], 'hybrid')
        ids = [x['id'] for x in doc['results']]
        self.assertEqual(ids[0], 'fact:companion_animal', doc)
        self.assertIn('message:1', ids, doc)  # "We adopted a beagle": by meaning alone
        self.assertNotIn('fact:car', ids, doc)  # under the dense floor
        top = doc['results'][0]
        self.assertEqual((top['lexical_rank'], top['dense_rank']), (0, 1), top)
        self.assertGreater(top['similarity'], 0.3)
        n = p.metric('memproxy_embeddings_queries_total', result='ok')
        body = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                'params': {'name': 'search_memory', 'arguments': {'query': PETS}}}
        r = p.request('POST', '/mcp', [('Content-Type', 'application/json'),
                                       ('Accept', 'application/json, text/event-stream'),
                                       ('X-User-Id', user)], json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        res = json.dumps(r.json()['result'])
        self.assertIn('Biscuit', res)
        self.assertIn('"dense_rank": 1', res)
        self.assertEqual(p.metric('memproxy_embeddings_queries_total', result='ok'), n + 1)
        # the server down: the search goes on by words alone, and says so
        set_mode(self.fake, 'status500')
        r = p.request('GET', '/v1/memory/search?q=sedan', [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['retrieval'], 'lexical; reason=error')
        self.assertLessEqual({'fact:car', 'message:3'}, {x['id'] for x in r.json()['results']})
        self.assertNotIn('dense_rank', r.json()['results'][0])

    def test_off_adds_no_header_and_no_call(self):
        p = self.start_proxy(sections={'admin': {'token': mh.ADMIN_TOKEN}},
                             memory={'mode': 'hybrid'})
        user = mh.uid('fuseoff')
        seed(p, user)
        s = send(p, user, PETS)
        self.assertOK(s)
        self.assertIsNone(s.header('x-memory-retrieval'))
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['path'] == '/v1/embeddings'],
                         [])


if __name__ == '__main__':
    harness.main('proxy_embeddings_fusion')
