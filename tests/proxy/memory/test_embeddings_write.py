"""Retrieval by meaning, the write side (issue 71, requirements 1, 2, 4):
with [embeddings] base_url set, the memory worker gives every archived
message and fact its vector from the fake upstream's /v1/embeddings, in
batches of at most batch_items, in the background; each way the server can
answer badly leaves the items pending, counted, and the backfill completes
once it answers well again; a deleted fact's vector goes with it; the
embeddings key reaches the embeddings server only. Off (the default),
nothing is called."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

TOKEN = 'zqxsecret-emb-9a7c2e4f6b8d0a1c3e5f7b9d'
EMB_KEY = 'zqxsecret-embkey-5d1e9c3a7f2b6d4e8a0c'
BATCH = 3
MODES = ['status429', 'status500', 'wrong_dims', 'nan', 'fewer', 'huge', 'hang']
# the result each mode is counted as (memproxy_embeddings_calls_total)
RESULT = {'status429': 'rate_limited', 'status500': 'server_error', 'wrong_dims': 'dims',
          'nan': 'nonfinite', 'fewer': 'count', 'huge': 'too_big', 'hang': 'no_answer',
          'model_changed': 'model_changed'}


def emb_log(fake):
    r = fake._control('GET', '/_fake/embeddings')
    assert r.status == 200, r
    return r.json()


def set_mode(fake, mode):
    r = fake._control('POST', '/_fake/embedmode?mode=' + mode)
    assert r.status == 200, r


def status(p):
    r = mh.admin_request(p, 'GET', '/admin/status', headers=())
    assert r.status == 200, r
    return r.json()


def extract_now(p):
    r = mh.admin_request(p, 'POST', '/admin/extract')
    assert r.status == 200, r


def import_items(p, user):
    items = [mh.message('user', 'We adopted a beagle last spring', '2025-03-01T10:00:00Z'),
             mh.message('assistant', 'Lovely, what is its name?', '2025-03-01T10:00:05Z'),
             mh.message('user', 'I drive a blue sedan to the office', '2025-03-02T10:00:00Z'),
             mh.message('assistant', 'Noted.', '2025-03-02T10:00:05Z'),
             mh.fact('pet', 'a beagle', '2025-03-01T10:00:00Z'),
             mh.fact('car', 'blue sedan', '2025-03-02T10:00:00Z')]
    r = mh.import_lines(p, user, items)
    assert r.status == 200, r


class EmbeddingsOff(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': {'admin': {'token': mh.ADMIN_TOKEN}}}

    def test_off_by_default_calls_nothing(self):
        user = mh.uid('eoff')
        self.assertOK(send(self.proxy, user, 'My dog is called Rex.'))
        self.assertOK(send(self.proxy, user, 'I work at a bakery.'))
        import_items(self.proxy, mh.uid('eoffi'))
        extract_now(self.proxy)
        mh.wait_idle(self.proxy)
        st = status(self.proxy)
        self.assertEqual(st['embeddings']['enabled'], False)
        self.assertIsNone(st['embeddings']['pending'])
        self.assertEqual(st['embeddings']['vectors'], 0)
        self.assertEqual(emb_log(self.fake)['requests'], 0)
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['path'].endswith('/embeddings')],
                         [])
        self.assertEqual(self.proxy.metric('memproxy_embeddings_calls_total'), 0)


class EmbeddingsConfig(unittest.TestCase):
    def check(self, emb, env=None):
        p = harness.Proxy('http://127.0.0.1:9/v1', sections={'embeddings': emb}, env=env)
        try:
            return p.run(['--check-config'])
        finally:
            p.tmp.cleanup()

    def test_keys_are_checked_with_file_and_line(self):
        rc, out, err = self.check({'base_url': 'http://127.0.0.1:9/v1', 'batch_items': 0})
        self.assertNotEqual(rc, 0)
        self.assertRegex(out + err, r'memproxy\.ini:\d+: \[embeddings\] batch_items')
        rc, out, err = self.check({'dimensions': 9000})
        self.assertNotEqual(rc, 0)
        self.assertRegex(out + err, r'memproxy\.ini:\d+: \[embeddings\] dimensions')
        rc, out, err = self.check({'base_url': 'ftp://x'})
        self.assertNotEqual(rc, 0)
        self.assertIn('[embeddings] base_url', out + err)
        rc, out, err = self.check({'api_key': 'has space'})
        self.assertNotEqual(rc, 0)
        self.assertNotIn('has space', out + err)

    def test_prefixes_keep_their_space_and_env_names_work(self):
        rc, out, err = self.check({'query_prefix': '"query: "', 'document_prefix': '"passage: "',
                                   'input_type_field': 'input_type', 'dimensions': 384})
        self.assertEqual(rc, 0, out + err)
        rc, out, err = self.check({}, env={'MEMPROXY_EMBEDDINGS_BASE_URL': 'http://127.0.0.1:9/v1',
                                           'MEMPROXY_EMBEDDINGS_BATCH_ITEMS': '2000'})
        self.assertNotEqual(rc, 0)
        self.assertIn('MEMPROXY_EMBEDDINGS_BATCH_ITEMS', out + err)


class EmbeddingsOn(mh.MemCase):
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

    def start(self, **emb):
        conf = {'base_url': self.fake.base_url, 'model': 'fake-embed', 'api_key': EMB_KEY,
                'batch_items': BATCH}
        conf.update(emb)
        return self.start_proxy(sections={'admin': {'token': mh.ADMIN_TOKEN}, 'embeddings': conf},
                                env={'MEMPROXY_TEST_EMBED_TIMEOUT_MS': '1500'})

    def wait_done(self, p, what, vectors=1):
        """Until the backfill counted nothing pending and holds vectors at
        least (the count is a walk of the store at most every second: it
        may still be the one before the latest items)."""
        def done():
            extract_now(p)
            e = status(p)['embeddings']
            return e['pending'] == 0 and e['vectors'] >= vectors
        mh.wait_for(done, timeout=60, what=what, interval=0.3)
        return status(p)['embeddings']

    def test_backfill_batches_and_key_goes_only_to_embeddings(self):
        p = self.start()
        user = mh.uid('eon')
        self.assertOK(send(p, user, 'We adopted a beagle last spring.'))
        self.assertOK(send(p, user, 'I drive a blue sedan.'))
        imported = mh.uid('eoni')
        import_items(p, imported)
        # the import's 4 messages and 2 facts at least, and the turns': waited
        # for (a pending count of 0 may be the walk's before the import)
        e = self.wait_done(p, 'every item embedded', vectors=6)
        self.assertGreaterEqual(e['vectors'], 6)
        self.assertGreater(e['vector_bytes'], e['vectors'] * 64)
        log = emb_log(self.fake)
        self.assertGreaterEqual(log['requests'], 4)
        for r in log['recent']:
            self.assertLessEqual(len(r['inputs']), BATCH)
            self.assertEqual(r['model'], 'fake-embed')
        self.assertEqual(log['inputs'], sum(len(r['inputs']) for r in log['recent']))
        reqs = mh.fake_requests(self.fake)
        embs = [r for r in reqs if r['path'] == '/v1/embeddings']
        chats = [r for r in reqs if r['path'] != '/v1/embeddings']
        self.assertTrue(embs and chats)
        for r in embs:
            self.assertEqual(mh.req_header(r, 'Authorization'), 'Bearer ' + EMB_KEY)
        for r in chats:
            self.assertNotIn(EMB_KEY, json.dumps(r))
        self.assertEqual(p.metric('memproxy_embeddings_pending'), 0)
        self.assertGreater(p.metric('memproxy_embeddings_calls_total', result='ok'), 0)
        self.assertGreater(p.metric('memproxy_embeddings_tokens_total'), 0)
        for line in p.log_lines():
            self.assertNotIn(EMB_KEY, line)
        # a deleted fact's vector goes with it
        before = status(p)['embeddings']['vectors']
        r = mh.admin_request(p, 'DELETE', '/admin/users/%s/entities/pet' % mh.qid(imported))
        self.assertIn(r.status, (200, 204), r)
        self.assertLess(status(p)['embeddings']['vectors'], before)
        before = status(p)['embeddings']['vectors']
        # a changed model behind the same name: refused, counted, pending until it answers as before
        set_mode(self.fake, 'model_changed')
        c0 = p.metric('memproxy_embeddings_calls_total', result='model_changed')
        import_items(p, mh.uid('eonm'))
        mh.wait_for(lambda: (extract_now(p), p.metric('memproxy_embeddings_calls_total',
                                                       result='model_changed'))[1] > c0,
                    timeout=30, what='a changed model counted', interval=0.3)
        self.assertEqual(status(p)['embeddings']['vectors'], before)
        set_mode(self.fake, 'ok')
        self.wait_done(p, 'embedded once the model is the same again', vectors=before + 6)

    def test_a_changed_model_reembeds_in_the_background(self):
        import signal
        p = self.start()
        user = mh.uid('emod')
        import_items(p, user)
        e = self.wait_done(p, 'the first model\'s vectors', vectors=6)
        p.sections['embeddings']['model'] = 'fake-embed-2'
        p.write_config()
        before = p.metric('memproxy_config_reloads_total', result='ok')
        p.signal(signal.SIGHUP)
        p.wait_metric('memproxy_config_reloads_total', lambda x: x > before, 5, result='ok')

        def redone():
            extract_now(p)
            inputs = sum(len(r['inputs']) for r in emb_log(self.fake)['recent']
                         if r['model'] == 'fake-embed-2')
            return inputs >= e['vectors'] and status(p)['embeddings']['pending'] == 0
        mh.wait_for(redone, timeout=60, what='every item embedded by the new model', interval=0.3)
        self.assertEqual(status(p)['embeddings']['vectors'], e['vectors'])  # replaced, not added

    def test_bad_answers_leave_items_pending(self):
        p = self.start(dimensions=64)  # sent: wrong_dims answers 32
        user = mh.uid('ebad')
        for mode in MODES:
            with self.subTest(mode=mode):
                set_mode(self.fake, mode)
                n0 = emb_log(self.fake)['requests']
                c0 = p.metric('memproxy_embeddings_calls_total', result=RESULT[mode])
                if mode == MODES[0]:
                    import_items(p, user)
                extract_now(p)
                mh.wait_for(lambda: p.metric('memproxy_embeddings_calls_total',
                                             result=RESULT[mode]) > c0,
                            timeout=30, what='a %s answer counted' % mode, interval=0.2)
                self.assertGreater(emb_log(self.fake)['requests'], n0)
                self.assertEqual(status(p)['embeddings']['vectors'], 0, mode)
        self.assertEqual(p.metric('memproxy_embeddings_calls_total', result='ok'), 0)
        lines = [o for o in p.log_objects() if o.get('msg', o.get('message', '')).startswith(
            'embeddings call failed')]
        self.assertTrue(lines)
        for line in p.log_lines():
            self.assertNotIn('beagle', line)
        set_mode(self.fake, 'ok')
        self.wait_done(p, 'the backfill completes once the server answers well', vectors=6)
        self.assertTrue(all(r['dimensions'] == 64 for r in emb_log(self.fake)['recent']))


if __name__ == '__main__':
    unittest.main()
