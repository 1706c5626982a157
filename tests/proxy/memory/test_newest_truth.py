"""Newest truth wins, for what the user says (issue 51, requirement 3;
docs/governance.md "Stale versus fresh"): a value the user states in a turn
after a correction supersedes it and the history says so; an extraction of
a turn older than a correction is kept out (KEPT in the history); an
agent's MCP add_memory is stored with trust agent, below the user's own
words; the summary never carries a value a correction displaced or an
erasure removed, neither in the injected block nor in the next fold's
request to the memory model."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'conversations'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402
from test_conversations import ConvCase  # noqa: E402

NEVER = 3600  # extract_idle_seconds that never fires within a test


class NewestTruth(ConvCase):
    """On LMDB, and on PostgreSQL as proxy_newest_truth_postgres
    (test_conversations.ConvCase)."""
    # batches of two turns, folded in hybrid mode; a buffer big enough that
    # no fold trims it during a test
    SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN}, 'mcp': {'enabled': 'true'},
                'governance': {'retention_days': 0, 'pii_retention_days': 0}}
    MEMORY = {'mode': 'hybrid', 'extract_batch_turns': 2, 'buffer_messages': 40,
              'summarize_at': 40, 'extract_idle_seconds': NEVER}

    def setUp(self):
        super().setUp()
        # a proxy of the test's own on the backend MPTEST_BACKEND names
        self.proxy = self.own_proxy(workers=2, memory=self.MEMORY, sections=self.SECTIONS)

    def put(self, user, key, value):
        r = self.proxy.request('PUT', '/v1/memory/entities/' + key,
                               [('X-User-Id', user), ('Content-Type', 'application/json')],
                               json.dumps({'value': value}).encode())
        self.assertEqual(r.status, 200, r)
        time.sleep(0.01)  # the next turn's time is after the correction's, to the ms
        return r.json()

    def delete(self, user, key):
        r = self.proxy.request('DELETE', '/v1/memory/entities/' + key, [('X-User-Id', user)])
        self.assertIn(r.status, (200, 204), r)

    def add_memory(self, user, key, value):
        body = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                'params': {'name': 'add_memory', 'arguments': {'key': key, 'value': value}}}
        r = self.proxy.request('POST', '/mcp', [('X-User-Id', user), ('Content-Type', 'application/json'),
                                                ('Accept', 'application/json, text/event-stream'),
                                                ('MCP-Protocol-Version', '2025-11-25')],
                               json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        text = r.body.decode()
        doc = json.loads(text.split('data: ', 1)[1]) if text.startswith('event:') else json.loads(text)
        self.assertFalse(doc['result']['isError'], doc)

    def turns(self, user, texts):
        out = []
        for t in texts:
            s = send(self.proxy, user, t)
            self.assertOK(s)
            out.append(s)
        return out

    def history(self, user, key=None):
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/history' % user)
        self.assertEqual(r.status, 200, r)
        items = r.json()['history']
        return [h for h in items if key is None or h.get('key') == key]

    def fact(self, user, key):
        for e in mh.get_memory(self.proxy, user)['entities']:
            if e['key'] == key:
                return e
        return None

    def extract_jobs(self, user, after=0):
        return mh.user_jobs(self.fake, user, 'extract', after=after)

    def job_text(self, req):
        return mh.body_json(req)['messages'][-1]['content']

    # ---- facts ----

    def test_newer_statement_supersedes_a_correction(self):
        user = mh.uid('nt')
        self.put(user, 'city', 'Berlin')
        sent = self.turns(user, ['I live in Lisbon.', 'My favorite color is teal.'])
        mem = mh.wait_memory(self.proxy, user, lambda m: 'favorite_color' in mh.entity_map(m),
                             what='the batch extracted')
        # the memory model read the statement (what reached the upstream)
        self.assertIn('I live in Lisbon.', self.job_text(self.extract_jobs(user)[-1]))
        city = self.fact(user, 'city')
        self.assertEqual((city['value'], city['trust']), ('Lisbon', 'stated'), mem)
        self.assertEqual(city['source'], sent[0].header('X-Memproxy-Request-Id'))
        line = self.proxy.wait_log(lambda o: str(o.get('msg', '')).startswith('user statements superseded'), 5)
        self.assertIsNotNone(line, 'no log line for the superseded correction')
        self.assertNotIn('Lisbon', json.dumps(line))
        hist = [(h['event'], h['actor'], h.get('value'), h['trust']) for h in self.history(user, 'city')]
        self.assertEqual(hist, [('corrected', 'user', None, 'corrected'),
                                ('superseded', 'extractor', 'Berlin', 'corrected'),
                                ('added', 'extractor', None, 'stated')], hist)

    def test_extraction_of_an_older_turn_keeps_the_correction(self):
        user = mh.uid('ntold')
        first = self.turns(user, ['I live in Paris.'])
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the turn recorded')
        self.assertEqual(self.extract_jobs(user), [], 'the batch is not due yet')
        self.put(user, 'city', 'Berlin')
        self.turns(user, ['My favorite color is teal.'])
        mh.wait_memory(self.proxy, user, lambda m: 'favorite_color' in mh.entity_map(m),
                       what='the batch extracted')
        mh.wait_idle(self.proxy)
        # the extraction offered Paris (the fake found it in turn 1) ...
        self.assertIn('I live in Paris.', self.job_text(self.extract_jobs(user)[-1]))
        # ... and the newer correction was kept, the history says why
        city = self.fact(user, 'city')
        self.assertEqual((city['value'], city['trust']), ('Berlin', 'corrected'))
        hist = self.history(user, 'city')
        self.assertEqual([h['event'] for h in hist], ['corrected', 'kept'], hist)
        kept = hist[-1]
        self.assertEqual((kept['actor'], kept['value'], kept['trust'], kept['revision']),
                         ('extractor', 'Paris', 'stated', city['revision']))
        self.assertEqual(kept['request_id'], first[0].header('X-Memproxy-Request-Id'))
        # the worker said so, without a key or a value
        line = self.proxy.wait_log(lambda o: str(o.get('msg', '')).startswith('user statements kept out'), 5)
        self.assertIsNotNone(line, 'no log line for the statement kept out')
        self.assertEqual(line.get('facts'), 1, line)
        self.assertNotIn('Paris', json.dumps(line))
        self.assertNotIn('city', json.dumps(line))
        # and the batch's fold does not carry what was kept out
        summary = mh.get_memory(self.proxy, user)['summary']['text'] or ''
        self.assertNotIn('Paris', summary)
        self.assertIn('teal', summary)

    def test_agent_add_memory_is_below_a_newer_user_statement(self):
        user = mh.uid('ntmcp')
        self.add_memory(user, 'city', 'Graz')
        city = self.fact(user, 'city')
        self.assertEqual((city['value'], city['trust']), ('Graz', 'agent'))
        time.sleep(0.01)
        self.turns(user, ['I live in Linz.', 'My favorite color is teal.'])
        mh.wait_memory(self.proxy, user, lambda m: 'favorite_color' in mh.entity_map(m),
                       what='the batch extracted')
        city = self.fact(user, 'city')
        self.assertEqual((city['value'], city['trust']), ('Linz', 'stated'))
        hist = [(h['event'], h['actor'], h.get('value'), h['trust']) for h in self.history(user, 'city')]
        self.assertEqual(hist, [('added', 'user', None, 'agent'),
                                ('superseded', 'extractor', 'Graz', 'agent'),
                                ('added', 'extractor', None, 'stated')], hist)

    # ---- the summary ----

    def folded(self, user, texts):
        """Sends texts (an even number: whole batches); waits until they are
        extracted and folded. The memory."""
        n0 = len(self.extract_jobs(user))
        self.turns(user, texts)
        mh.wait_for(lambda: len(self.extract_jobs(user)) >= n0 + len(texts) // 2,
                    what='the batches sent')
        mh.wait_idle(self.proxy)
        return mh.get_memory(self.proxy, user)

    def summary_injected(self, user):
        """The summary line of the block a new question gets upstream."""
        s = send(self.proxy, user, 'What do you remember about me?', x_memory='read')
        self.assertOK(s)
        inj = self.injection(s)
        self.assertIsNotNone(inj.block.summary, 'no summary injected: %r' % inj.block.content)
        return inj.block

    def next_fold_request(self, user):
        """The memory model's request of the next batch (a fold)."""
        n0 = mh.last_n(self.fake)
        self.folded(user, ['I use Neovim.', 'My favorite food is soup.'])
        jobs = self.extract_jobs(user, after=n0)
        self.assertEqual(len(jobs), 1)
        self.assertIn('"summary"', mh.body_json(jobs[0])['messages'][0]['content'], 'no fold asked')
        return self.job_text(jobs[0])

    def test_summary_after_a_correction(self):
        user = mh.uid('ntsum')
        mem = self.folded(user, ['My name is Bea.', 'I live in Paris.'])
        self.assertIn('Paris', mem['summary']['text'], 'the fold did not take the turn: no test')
        self.assertEqual(mh.entity_map(mem)['city'], 'Paris')
        self.put(user, 'city', 'Berlin')
        # the stored summary lost the sentence, kept the rest
        summary = mh.get_memory(self.proxy, user)['summary']['text']
        self.assertNotIn('Paris', summary)
        self.assertIn('Bea', summary)
        filtered = [h for h in self.history(user) if h['event'] == 'filtered']
        self.assertEqual([(h['item'], h['actor'], h['count']) for h in filtered], [('summary', 'user', 1)])
        # what reached the upstream: the profile's Berlin, no Paris in the summary
        block = self.summary_injected(user)
        self.assertNotIn('Paris', block.summary)
        self.assertIn('Bea', block.summary)
        self.assertEqual(block.fact_dict()['city'], 'Berlin')
        self.assertIn('disagree, the newer wins.', block.content.split('\n')[0])
        # the next fold's request to the memory model does not carry it either
        text = self.next_fold_request(user)
        prev = text.split('Turn 1:')[0]
        self.assertIn('Bea', prev)
        self.assertNotIn('Paris', prev)
        self.assertNotIn('Paris', mh.get_memory(self.proxy, user)['summary']['text'])

    def test_summary_after_an_erasure(self):
        user = mh.uid('nterase')
        mem = self.folded(user, ['My name is Cy.', 'I live in Paris.'])
        self.assertIn('Paris', mem['summary']['text'], 'the fold did not take the turn: no test')
        self.delete(user, 'city')
        mem = mh.get_memory(self.proxy, user)
        self.assertNotIn('Paris', json.dumps(mem))
        # a new batch folds again; nothing of the erased value comes back
        text = self.next_fold_request(user)
        self.assertNotIn('Paris', text)
        block = self.summary_injected(user)
        self.assertNotIn('Paris', block.content)
        self.assertNotIn('city', block.fact_dict())

    def test_summary_after_an_admin_erasure(self):
        user = mh.uid('ntadm')
        mem = self.folded(user, ['My name is Di.', 'I live in Paris.'])
        self.assertIn('Paris', mem['summary']['text'], 'the fold did not take the turn: no test')
        r = mh.admin_request(self.proxy, 'DELETE', '/admin/users/%s/entities/city' % user)
        self.assertIn(r.status, (200, 204), r)
        text = self.next_fold_request(user)
        self.assertNotIn('Paris', text)
        block = self.summary_injected(user)
        self.assertNotIn('Paris', block.content)


if __name__ == '__main__':
    harness.main('proxy_newest_truth')
