"""Memory search (issue 36, requirement 1; docs/http-memory-api.md "Search"):
GET /v1/memory/search ranks the caller's facts and archived messages with
injection's scoring, pages them with a cursor, refuses an empty or
oversized query, and follows the data plane's identity rules; the admin
API's GET /admin/users/{id}/search is the same search for any user."""

import hashlib
import hmac
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402

ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
NO_RETENTION = {'governance': {'retention_days': 0, 'pii_retention_days': 0}}
AT = '2024-03-01T10:00:00Z'

FACTS = [fact('notes_app', 'Obsidian for all my notes', AT),
         fact('city', 'Graz in Austria', AT),
         fact('pet', 'a grey cat named Miso', AT),
         fact('editor', 'Neovim with a dark theme', AT),
         fact('sport', 'bouldering twice a week', AT)]
MESSAGES = [message('user', 'I moved my notes from Evernote last spring.', '2024-01-02T10:00:00Z'),
            message('assistant', 'Good choice for notes, Obsidian is fast.', '2024-01-02T10:00:05Z'),
            message('user', 'My cat Miso hates the vacuum cleaner.', '2024-01-05T10:00:00Z'),
            message('user', 'Planning a bouldering trip to Fontainebleau.', '2024-02-01T10:00:00Z')]


def sections(*more):
    out = {}
    for s in (ADMIN, NO_RETENTION) + more:
        for name, kv in s.items():
            out.setdefault(name, {}).update(kv)
    return out


class SearchCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': sections(), 'memory': {'mode': 'hybrid'}}

    def seed(self, user=None, facts=FACTS, messages=MESSAGES, proxy=None):
        user = user or mh.uid('search')
        r = import_lines(proxy or self.proxy, user, list(messages) + list(facts))
        self.assertEqual(r.status, 200, r)
        return user

    def search(self, user, q, extra='', headers=(), proxy=None):
        path = '/v1/memory/search?q=' + urllib.parse.quote(q, safe='') + extra
        h = ([('X-User-Id', user)] if user is not None else []) + list(headers)
        return (proxy or self.proxy).request('GET', path, h)

    def ok(self, user, q, extra='', **kw):
        r = self.search(user, q, extra, **kw)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def assertError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json()['error']['code'], code, r)


class SearchApi(SearchCase):
    def test_search_ranks_facts_and_messages_with_provenance(self):
        user = self.seed()
        doc = self.ok(user, 'Where do I keep my notes?')
        self.assertEqual(set(doc), {'results', 'next_cursor'}, doc)
        res = doc['results']
        kinds = {r['kind'] for r in res}
        self.assertEqual(kinds, {'fact', 'message'}, res)
        self.assertEqual(res[0]['id'], 'fact:notes_app', res)
        self.assertEqual(res[0]['text'], 'Obsidian for all my notes')
        texts = [r['text'] for r in res]
        # the messages about notes outrank the facts that only their
        # session's smoothing reaches (as in injection's scoring)
        self.assertLess(texts.index('I moved my notes from Evernote last spring.'), texts.index('Graz in Austria'))
        self.assertNotIn('My cat Miso hates the vacuum cleaner.', texts)
        scores = [r['score'] for r in res]
        self.assertEqual(scores, sorted(scores, reverse=True), res)
        self.assertTrue(all(s > 0 for s in scores), res)
        for r in res:
            self.assertEqual(set(r), {'id', 'kind', 'text', 'time', 'score', 'provenance'}, r)
            self.assertRegex(r['time'], r'^\d{4}-\d{2}-\d{2}T')
        f = res[0]['provenance']
        self.assertEqual(f['key'], 'notes_app')
        self.assertIn('trust', f)
        self.assertIn('revision', f)
        m = [r for r in res if r['kind'] == 'message'][0]
        self.assertRegex(m['id'], r'^message:\d+$')
        self.assertIn(m['provenance']['role'], ('user', 'assistant'))
        self.assertEqual(m['time'][:10], '2024-01-02')

    def test_search_types(self):
        user = self.seed()
        facts = self.ok(user, 'notes', '&types=facts')['results']
        self.assertTrue(facts and all(r['kind'] == 'fact' for r in facts), facts)
        msgs = self.ok(user, 'notes', '&types=messages')['results']
        self.assertTrue(msgs and all(r['kind'] == 'message' for r in msgs), msgs)
        both = self.ok(user, 'notes', '&types=messages,facts')['results']
        self.assertEqual(len(both), len(facts) + len(msgs))
        for bad in ('', 'facts,facts', 'summary', 'facts,'):
            self.assertError(self.search(user, 'notes', '&types=' + bad), 400, 'invalid_parameter')

    def test_search_pages_with_a_cursor(self):
        user = self.seed()
        whole = self.ok(user, 'notes cat bouldering Miso Obsidian', '&limit=100')
        self.assertIsNone(whole['next_cursor'])
        self.assertGreaterEqual(len(whole['results']), 5, whole)
        got, cursor, pages = [], None, 0
        while True:
            extra = '&limit=2' + ('' if cursor is None else '&cursor=' + cursor)
            doc = self.ok(user, 'notes cat bouldering Miso Obsidian', extra)
            self.assertLessEqual(len(doc['results']), 2)
            got.extend(doc['results'])
            pages += 1
            cursor = doc['next_cursor']
            if cursor is None:
                break
            self.assertLess(pages, 20)
        self.assertEqual(got, whole['results'])
        self.assertEqual(self.ok(user, 'notes', '&limit=10')['results'][:1],
                         self.ok(user, 'notes', '&limit=1')['results'])
        for bad in ('x', '-1', '99999999', '1.5'):
            self.assertError(self.search(user, 'notes', '&cursor=' + bad), 400, 'invalid_parameter')

    def test_search_refuses_an_empty_or_oversized_query(self):
        user = self.seed()
        self.assertError(self.search(user, ''), 400, 'invalid_query')
        r = self.proxy.request('GET', '/v1/memory/search', [('X-User-Id', user)])
        self.assertError(r, 400, 'invalid_query')
        self.assertError(self.search(user, 'x' * 1025), 400, 'invalid_query')
        self.assertEqual(self.search(user, 'notes ' + 'x' * 1018).status, 200)
        r = self.proxy.request('POST', '/v1/memory/search?q=notes', [('X-User-Id', user)], b'{}')
        self.assertError(r, 405, 'method_not_allowed')
        before = self.proxy.metric('memproxy_memory_searches_total', result='invalid')
        self.search(user, '')
        self.assertEqual(self.proxy.metric('memproxy_memory_searches_total', result='invalid'), before + 1)

    def test_search_counts_by_result(self):
        user = self.seed()
        hit = self.proxy.metric('memproxy_memory_searches_total', result='hit')
        miss = self.proxy.metric('memproxy_memory_searches_total', result='miss')
        self.ok(user, 'notes')
        self.assertEqual(self.ok(user, 'zebra quantum')['results'], [])
        self.assertEqual(self.ok(mh.uid('nobody'), 'notes'), {'results': [], 'next_cursor': None})
        self.assertEqual(self.proxy.metric('memproxy_memory_searches_total', result='hit'), hit + 1)
        self.assertEqual(self.proxy.metric('memproxy_memory_searches_total', result='miss'), miss + 2)

    def test_search_sees_only_the_callers_memory(self):
        a = self.seed()
        b = self.seed(facts=[fact('notes_app', 'Logseq for every note', AT)], messages=[])
        ra = self.ok(a, 'notes')['results']
        rb = self.ok(b, 'notes')['results']
        self.assertIn('Obsidian for all my notes', [r['text'] for r in ra])
        self.assertEqual([r['text'] for r in rb], ['Logseq for every note'])
        self.assertError(self.search(None, 'notes'), 400, 'missing_user_id')
        self.assertError(self.search('{{user}}', 'notes'), 400, 'invalid_user_id')

    def test_search_from_the_body_user(self):
        user = self.seed()
        r = self.proxy.request('GET', '/v1/memory/search?q=notes', [('Content-Type', 'application/json')],
                               json.dumps({'user': user}).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['results'][0]['id'], 'fact:notes_app')

    def test_search_ranks_as_injection_matches(self):
        """The facts a search finds are the facts the relevant strategy
        took as matched: with a profile share for one fact, that fact is
        search's best."""
        user = self.seed()
        best = self.ok(user, 'What is the name of my cat?', '&types=facts')['results']
        self.assertEqual(best[0]['id'], 'fact:pet', best)
        self.assertGreater(best[0]['score'], 1.5 * best[1]['score'], best)
        sent = mh.send(self.proxy, user, 'What is the name of my cat?')
        self.assertOK(sent)
        block = self.injection(sent).block
        self.assertEqual(block.facts()[0][:2], ('pet', 'a grey cat named Miso'), block.facts())

    def test_admin_search(self):
        user = self.seed()
        path = '/admin/users/%s/search?q=notes&limit=1' % mh.qid(user)
        r = mh.admin_request(self.proxy, 'GET', path)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['results'][0]['id'], 'fact:notes_app')
        self.assertIn('request_id', doc['results'][0]['provenance'])  # the admin's detail
        self.assertIsNotNone(doc['next_cursor'])
        r = harness.request(self.proxy.admin_port, 'GET', path, [])
        self.assertEqual(r.status, 401, r)
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/search?q=' % mh.qid(user))
        self.assertError(r, 400, 'invalid_query')
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/search?q=%s' % (mh.qid(user), 'y' * 1025))
        self.assertError(r, 400, 'invalid_query')
        r = mh.admin_request(self.proxy, 'DELETE', '/admin/users/%s/search?q=x' % mh.qid(user))
        self.assertEqual(r.status, 405, r)


SIGN_KEY = '5d2a9e0c7f1b4836a9c2e7d0b1f4a683'


class SearchSigned(SearchCase):
    PROXY_CONFIG = {'workers': 1, 'sections': sections({'security': {'user_signature_key': SIGN_KEY}}),
                    'memory': {'mode': 'hybrid'}}

    def test_search_needs_the_users_signature(self):
        user = self.seed()
        sig = hmac.new(SIGN_KEY.encode(), user.encode(), hashlib.sha256).hexdigest()
        self.assertEqual(self.ok(user, 'notes', headers=[('X-User-Signature', sig)])['results'][0]['id'],
                         'fact:notes_app')
        r = self.search(user, 'notes')
        self.assertEqual(r.status, 401, r)
        r = self.search(user, 'notes', headers=[('X-User-Signature', '0' * 64)])
        self.assertEqual(r.status, 401, r)


class SearchTenants(SearchCase):
    PROXY_CONFIG = {'workers': 1, 'sections': sections({'security': {'tenant_from': 'api_key'}}),
                    'memory': {'mode': 'hybrid'}}

    def test_search_stays_in_the_tenant(self):
        user = mh.uid('tenant')
        key_a = [('Authorization', 'Bearer sk-tenant-a')]
        r = self.proxy.request('PUT', '/v1/memory/entities/notes_app',
                               [('X-User-Id', user), ('Content-Type', 'application/json')] + key_a,
                               json.dumps({'value': 'Obsidian notes'}).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ok(user, 'notes', headers=key_a)['results'][0]['text'], 'Obsidian notes')
        other = self.ok(user, 'notes', headers=[('Authorization', 'Bearer sk-tenant-b')])
        self.assertEqual(other['results'], [])
        self.assertError(self.search(user, 'notes'), 401, 'missing_api_key')


if __name__ == '__main__':
    harness.main('proxy_memory_search')
