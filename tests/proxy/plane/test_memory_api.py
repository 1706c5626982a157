"""The user's own memory (issue 3, requirement 8; docs/http-api.md):
GET /v1/memory, DELETE /v1/memory (pending jobs included),
PUT and DELETE /v1/memory/entities/{key}, and the user id rules."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send  # noqa: E402

ISO = r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$'


class UserApi(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2}}

    def h(self, user, json_body=False):
        out = [('X-User-Id', user)]
        if json_body:
            out.append(('Content-Type', 'application/json'))
        return out

    def put(self, user, key, value, raw=None):
        body = raw if raw is not None else json.dumps({'value': value}).encode()
        return self.proxy.request('PUT', '/v1/memory/entities/' + key, self.h(user, True), body)

    def delete_entity(self, user, key):
        return self.proxy.request('DELETE', '/v1/memory/entities/' + key, self.h(user))

    def full_user(self):
        user = mh.uid('api')
        self.assertOK(send(self.proxy, user, 'My name is Gus. I live in Graz.'))
        mem = mh.wait_memory(self.proxy, user, lambda m: m['summary']['text'] is not None and
                             len(m['entities']) == 2 and len(m['buffer']) == 1, what='summary, facts, buffer')
        return user, mem

    # -- GET ------------------------------------------------------------------

    def test_get_shape(self):
        user, _ = self.full_user()
        r = self.proxy.request('GET', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'), r.headers)
        self.assertTrue(r.header('x-request-id'))
        doc = r.json()
        self.assertEqual(set(doc.keys()),
                         {'user', 'summary', 'buffer', 'entities', 'entities_next_cursor', 'archive',
                          'archive_next_cursor'}, doc)
        self.assertIsNone(doc['archive_next_cursor'])
        for m in doc['archive']:
            self.assertEqual(set(m.keys()), {'role', 'content', 'at'}, m)
        self.assertEqual(doc['archive'][-1], doc['buffer'][-1])
        self.assertEqual(doc['user'], user)
        self.assertEqual(set(doc['summary'].keys()), {'text', 'updated_at'}, doc['summary'])
        self.assertIsInstance(doc['summary']['text'], str)
        self.assertRegex(doc['summary']['updated_at'], ISO)
        self.assertIsInstance(doc['buffer'], list)
        self.assertEqual(len(doc['buffer']), 1)
        for m in doc['buffer']:
            self.assertEqual(set(m.keys()), {'role', 'content', 'at'}, m)
            self.assertIn(m['role'], ('user', 'assistant'))
            self.assertIsInstance(m['content'], str)
            self.assertRegex(m['at'], ISO)
        self.assertEqual(doc['buffer'][0]['content'], REPLY)
        self.assertIsInstance(doc['entities'], list)
        self.assertEqual(len(doc['entities']), 2)
        required = {'key', 'value', 'confidence', 'observed_at', 'source', 'pii'}
        for e in doc['entities']:
            # docs/http-api.md names these; extensions (trust, revision, ...) are allowed.
            self.assertTrue(required <= set(e.keys()), 'entity misses %s: %r' % (required - set(e.keys()), e))
            self.assertIsInstance(e['key'], str)
            self.assertIsInstance(e['value'], str)
            self.assertIsInstance(e['confidence'], (int, float))
            self.assertFalse(isinstance(e['confidence'], bool))
            self.assertTrue(0.0 <= e['confidence'] <= 1.0, e)
            self.assertRegex(e['observed_at'], ISO)
            self.assertIsInstance(e['source'], str)
            self.assertIsInstance(e['pii'], bool)
        self.assertEqual(mh.entity_map(doc), {'name': 'Gus', 'city': 'Graz'})

    def test_get_unknown_user_is_empty(self):
        user = mh.uid('nobody')
        r = self.proxy.request('GET', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'user': user, 'summary': {'text': None, 'updated_at': None},
                                    'buffer': [], 'entities': [], 'entities_next_cursor': None, 'archive': [],
                                    'archive_next_cursor': None})

    def test_get_with_unicode_user_id(self):
        user = 'ユーザー-' + mh.uid('x')
        self.assertOK(send(self.proxy, user, 'My name is Yuki.'))
        mem = mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m).get('name') == 'Yuki', what='name: Yuki')
        self.assertEqual(mem['user'], user)

    # -- DELETE /v1/memory ------------------------------------------------------

    def test_delete_forgets_everything(self):
        user, _ = self.full_user()
        r = self.proxy.request('DELETE', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(bytes(r.body), b'')
        self.assertEqual(mh.get_memory(self.proxy, user), {'user': user, 'summary': {'text': None, 'updated_at': None},
                                                           'buffer': [], 'entities': [], 'entities_next_cursor': None, 'archive': [],
                                    'archive_next_cursor': None})
        s = send(self.proxy, user, 'Who am I?', x_memory='read')
        self.assertOK(s)
        self.assertTransparent(s)
        # Deleting again, or a user that never existed: still 204.
        r = self.proxy.request('DELETE', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 204, r)

    def test_delete_cancels_pending_jobs(self):
        user = mh.uid('delstall')
        mh.wait_idle(self.proxy)  # no earlier test's job is left to stall for good
        mh.set_jobmode(self.fake, extract='stall', summarize='stall')
        n0 = mh.last_n(self.fake)
        self.assertOK(send(self.proxy, user, 'My name is Dag. I live in Delft.'))
        mh.wait_for(lambda: mh.user_jobs(self.fake, user, 'extract', after=n0), what='the stalled extraction')
        r = self.proxy.request('DELETE', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 204, r)
        mh.set_jobmode(self.fake, extract='ok', summarize='ok')
        n1 = mh.last_n(self.fake)
        mh.wait_idle(self.proxy)
        time.sleep(1.5)   # past a scheduler tick and a first retry backoff
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(mem, {'user': user, 'summary': {'text': None, 'updated_at': None},
                               'buffer': [], 'entities': [], 'entities_next_cursor': None, 'archive': [],
                                    'archive_next_cursor': None}, 'memory came back after DELETE')
        self.assertEqual(mh.user_jobs(self.fake, user, after=n1), [], 'a job of a deleted user ran')

    def test_delete_then_new_turns_start_fresh(self):
        user, _ = self.full_user()
        self.assertEqual(self.proxy.request('DELETE', '/v1/memory', self.h(user)).status, 204)
        self.assertOK(send(self.proxy, user, 'I live in Oulu.'))
        mem = mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m) == {'city': 'Oulu'} and
                             m['summary']['text'] is not None, what='memory rebuilt from the new turn only')
        self.assertNotIn('Gus', json.dumps(mem))

    # -- entities -----------------------------------------------------------------

    def test_put_entity_visible_and_injected(self):
        user = mh.uid('put')
        r = self.put(user, 'favorite_editor', 'Helix')
        self.assertEqual(r.status, 200, r)
        e = r.json()
        self.assertEqual((e['key'], e['value'], e['confidence']), ('favorite_editor', 'Helix', 1.0))
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(mh.entity_map(mem), {'favorite_editor': 'Helix'})
        self.assertEqual(mem['entities'][0]['confidence'], 1.0)
        s = send(self.proxy, user, 'Which editor?')
        self.assertOK(s)
        inj = self.injection(s)
        self.assertEqual(inj.block.fact_dict(), {'favorite_editor': 'Helix'})

    def test_put_key_normalized(self):
        user = mh.uid('putnorm')
        self.assertEqual(self.put(user, 'Vector%20DB', 'ChromaDB').status, 200)
        self.assertEqual(self.put(user, 'vector-db', 'Qdrant').status, 200)
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(mh.entity_map(mem), {'vector_db': 'Qdrant'})
        self.assertEqual(self.delete_entity(user, 'Vector_DB').status, 204)
        self.assertEqual(mh.get_memory(self.proxy, user)['entities'], [])

    def test_put_invalid(self):
        user = mh.uid('putbad')
        for raw in (b'', b'not json', b'{}', b'{"value":""}', b'{"value":42}', b'{"value":null}',
                    json.dumps({'value': 'x' * 513}).encode()):
            with self.subTest(body=raw[:40]):
                self.assertOpenAIError(self.put(user, 'k', None, raw=raw), 400, 'invalid_value')
        self.assertOpenAIError(self.put(user, '%20%20', 'v'), 400, 'invalid_key')
        self.assertOpenAIError(self.put(user, 'k' * 65, 'v'), 400, 'invalid_key')
        self.assertEqual(mh.get_memory(self.proxy, user)['entities'], [])

    def test_delete_entity_then_404(self):
        user = mh.uid('delent')
        self.assertEqual(self.put(user, 'city', 'Cork').status, 200)
        self.assertEqual(self.put(user, 'name', 'Cian').status, 200)
        r = self.delete_entity(user, 'city')
        self.assertEqual(r.status, 204, r)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'name': 'Cian'})
        r = self.delete_entity(user, 'city')
        self.assertOpenAIError(r, 404, 'fact_not_found')
        self.assertEqual(r.json()['error']['message'], "No fact with key 'city' is kept for this user.")
        self.assertOpenAIError(self.delete_entity(user, 'never'), 404, 'fact_not_found')
        self.assertOpenAIError(self.delete_entity(mh.uid('ghost'), 'city'), 404, 'fact_not_found')
        s = send(self.proxy, user, 'Where?', x_memory='read')
        self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Cian'})

    def test_a_change_reaches_the_requests_after_it(self):
        """Each worker keeps the facts it injected (under their stamp): a
        correction and an erasure through this API, written by another
        thread, reach every request after them, on every worker."""
        user = mh.uid('change')
        self.assertEqual(self.put(user, 'city', 'Cork').status, 200)
        self.assertEqual(self.put(user, 'name', 'Cian').status, 200)
        steps = ((None, {'city': 'Cork', 'name': 'Cian'}),
                 (lambda: self.put(user, 'city', 'Dublin'), {'city': 'Dublin', 'name': 'Cian'}),
                 (lambda: self.delete_entity(user, 'name'), {'city': 'Dublin'}))
        for change, want in steps:
            if change is not None:
                self.assertIn(change().status, (200, 204))
            for i in range(6):  # new connections: both workers, their kept facts
                s = send(self.proxy, user, 'Where do I live? (%d)' % i, x_memory='read')
                self.assertEqual(self.injection(s).block.fact_dict(), want, (want, i))

    # -- user id ------------------------------------------------------------------

    def test_no_user_id_400(self):
        for method, path, body in (('GET', '/v1/memory', b''), ('DELETE', '/v1/memory', b''),
                                   ('PUT', '/v1/memory/entities/city', b'{"value":"x"}'),
                                   ('DELETE', '/v1/memory/entities/city', b'')):
            with self.subTest(method=method, path=path):
                r = self.proxy.request(method, path, [('Content-Type', 'application/json')] if body else [], body)
                self.assertEqual(r.status, 400, r)
                self.assertIn(r.json()['error']['code'], ('missing_user_id', 'invalid_user_id'), r)

    def test_invalid_user_id_400(self):
        for bad in ('{{user_id}}', 'x' * 257):
            with self.subTest(user=bad[:20]):
                r = self.proxy.request('GET', '/v1/memory', [('X-User-Id', bad)])
                self.assertOpenAIError(r, 400, 'invalid_user_id')

    def test_users_do_not_see_each_other(self):
        a, b = mh.uid('sa'), mh.uid('sb')
        self.assertEqual(self.put(a, 'secret', 'alpha-only').status, 200)
        self.assertEqual(mh.get_memory(self.proxy, b)['entities'], [])
        self.assertOpenAIError(self.delete_entity(b, 'secret'), 404, 'fact_not_found')
        self.assertEqual(self.proxy.request('DELETE', '/v1/memory', self.h(b)).status, 204)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, a)), {'secret': 'alpha-only'})

    def test_other_methods_and_paths(self):
        user = mh.uid('meth')
        for method, path, allow in (('POST', '/v1/memory', 'GET, DELETE'),
                                    ('GET', '/v1/memory/entities/city', 'PUT, DELETE'),
                                    ('DELETE', '/v1/memory/settings', 'GET, PUT'),
                                    ('POST', '/v1/memory/search', 'GET')):
            with self.subTest(method=method, path=path):
                r = self.proxy.request(method, path, self.h(user, True), b'{}')
                self.assertOpenAIError(r, 405, 'method_not_allowed')
                self.assertEqual(r.header('allow'), allow)
        n0 = mh.last_n(self.fake)
        r = self.proxy.request('GET', '/v1/memory', self.h(user))
        self.assertEqual(r.status, 200)
        self.assertEqual([x for x in mh.fake_requests(self.fake) if x['n'] > n0], [],
                         '/v1/memory was forwarded upstream')

    def test_refused_entity_request_logs_the_route_not_the_key(self):
        user = mh.uid('logkey')
        key = 'zqxcanarykey' + mh.uid('k').replace('-', '')
        start = len(self.proxy.log_lines())
        r = self.proxy.request('GET', '/v1/memory/entities/' + key, self.h(user))
        self.assertEqual(r.status, 405, r)
        line = self.proxy.wait_log(lambda o: o.get('status') == 405, 5.0, start)
        self.assertIsNotNone(line, 'no request log line for the refused request')
        self.assertEqual(line.get('path'), '/v1/memory/entities/{key}')
        self.assertNotIn(key, '\n'.join(self.proxy.log_lines()[start:]))

    def test_api_works_in_mode_off(self):
        # The user's own memory stays reachable when injection is switched off.
        p = self.start_proxy(memory={'mode': 'off'})
        user = mh.uid('offapi')
        r = p.request('PUT', '/v1/memory/entities/city', self.h(user, True), b'{"value":"Bari"}')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.entity_map(mh.get_memory(p, user)), {'city': 'Bari'})
        self.assertEqual(p.request('DELETE', '/v1/memory', self.h(user)).status, 204)
        self.assertEqual(mh.get_memory(p, user)['entities'], [])


if __name__ == '__main__':
    harness.main('proxy_memory_api')
