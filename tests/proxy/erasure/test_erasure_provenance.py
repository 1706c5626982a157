"""Erasure follows provenance (issue 65, requirements 1 and 6;
docs/governance.md#erasure): deleting a fact erases every turn that told
any value it ever had, not only the current value's. The report, as a new
user makes it: "My favorite city is Paris." ... "My favorite city is Porto
now." ... DELETE /v1/memory/entities/favorite_city, and the next new chat
still got "(user) My favorite city is Paris." as a relevant past message.
Now nothing of either value is left: not in the memory (buffer, archive,
summary, facts, history values), not found by the search (the user API,
the MCP tool, the admin's), not in explain, not in what the next chat sends
upstream, not in what the memory model is sent afterwards. Deleting a
message retracts a fact that rested on it alone, and the history says so;
a statement a stored value keeps out is written down, logged and counted.

MPTEST_BACKEND=postgres (tests/proxy/meson.build runs this file on both)
puts two proxies on one PostgreSQL database: one records the turns and
runs the memory jobs, the other erases and reads
(test_erasure_race.EraseBase), so each check holds across processes."""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402
from test_erasure_race import EraseBase  # noqa: E402

QUESTION = 'Which city is my favorite city? Tell me about my favorite city.'


class Provenance(EraseBase):
    """On the backend MPTEST_BACKEND names; self.jobs records and extracts,
    self.eraser erases and reads (one proxy on LMDB)."""

    MEMORY = {'mode': 'hybrid'}

    # -- reading -------------------------------------------------------------

    def history(self, key=None):
        r = mh.admin_request(self.eraser, 'GET', '/admin/users/%s/history' % mh.qid(self.user))
        self.assertEqual(r.status, 200, r)
        return [h for h in r.json()['history'] if key is None or h.get('key') == key]

    def user_search(self, q):
        r = self.eraser.request('GET', '/v1/memory/search?q=' + urllib.parse.quote(q),
                                [('X-User-Id', self.user)])
        self.assertEqual(r.status, 200, r)
        return r.json()['results']

    def admin_search(self, q):
        r = mh.admin_request(self.eraser, 'GET', '/admin/users/%s/search?q=%s'
                             % (mh.qid(self.user), urllib.parse.quote(q)))
        self.assertEqual(r.status, 200, r)
        return r.json()['results']

    def explain(self, question):
        body = {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': question}]}
        r = mh.admin_request(self.eraser, 'POST', '/admin/users/%s/explain' % mh.qid(self.user),
                             json.dumps(body).encode(), 'application/json')
        self.assertEqual(r.status, 200, r)
        return json.dumps(r.json(), ensure_ascii=False)

    def upstream_of_new_chat(self, question):
        """What a new chat's request (memory read, nothing recorded) sent upstream."""
        s = send(self.jobs, self.user, question, x_memory='read')
        self.assertOK(s)
        return mh.upstream_body(self.fake, s).decode('utf-8')

    def assertNowhere(self, *words):
        """None of words anywhere: the memory, the searches, explain."""
        text, _ = self.memory_text()
        for w in words:
            self.assertNotIn(w.lower(), text.lower(), '%r is still in the memory: %s' % (w, text))
            self.assertEqual(self.user_search(w), [], w)
            self.assertEqual(self.admin_search(w), [], w)
        doc = self.explain(QUESTION)
        for w in words:
            self.assertNotIn(w.lower(), doc.lower(), '%r is still in explain: %s' % (w, doc))

    # -- the report ----------------------------------------------------------

    def test_paris_then_porto_then_delete_leaves_neither(self):
        self.learn('My name is Zed.', 'name', 'Zed')
        self.learn('My favorite city is Paris.', 'favorite_city', 'Paris')
        self.learn('I use Neovim.', 'tools', 'Neovim')
        self.learn('My favorite city is Porto now.', 'favorite_city', 'Porto now')
        # the report's premise: a new chat about the favorite city gets the
        # superseded value's turn (else this test could prove nothing)
        self.assertIn('Paris', self.upstream_of_new_chat(QUESTION))
        self.assertNotEqual(self.user_search('Paris'), [])
        r = self.eraser.request('DELETE', '/v1/memory/entities/favorite_city', [('X-User-Id', self.user)])
        self.assertEqual(r.status, 204, r)
        self.assertNowhere('Paris', 'Porto')
        # the next new chat, on the other proxy: neither value, nor its turns' words
        up = self.upstream_of_new_chat(QUESTION)
        for w in ('Paris', 'Porto'):
            self.assertNotIn(w.lower(), up.lower(), '%r was sent upstream' % w)
        mem = self.assertGone('Paris', 'Porto', kept='name: Zed')
        self.assertNotIn('favorite_city', mh.entity_map(mem))
        self.assertEqual(mh.entity_map(mem).get('tools'), 'Neovim')
        # the history: no value of the key left, the erasure's entries say why
        hist = self.history('favorite_city')
        self.assertTrue(hist)
        self.assertEqual([h for h in hist if 'value' in h], [], hist)
        msgs = [h for h in self.history() if h['event'] == 'deleted' and h['item'] == 'messages']
        self.assertEqual([(h['actor'], h.get('reason'), h['count']) for h in msgs],
                         [('user', 'fact_erased', 4)], msgs)
        # and the memory model is never sent them afterwards: the next
        # batch (which folds the summary, asks for search keys) reads none
        n0 = mh.last_n(self.fake)
        self.learn('My favorite color is teal.', 'favorite_color', 'teal')
        jobs = mh.job_requests(self.fake, 'extract', after=n0)
        self.assertTrue(jobs, 'no extraction after the erasure')
        for req in jobs:
            for w in ('Paris', 'Porto'):
                self.assertNotIn(w.lower(), req['body'].lower(), 'the memory model was sent %r' % w)
        r = self.eraser.request('DELETE', '/v1/memory/entities/favorite_city', [('X-User-Id', self.user)])
        self.assertEqual(r.status, 404, r)  # erased already: nothing of it is kept

    # -- a message erased ------------------------------------------------------

    def test_a_message_erased_retracts_the_fact_it_alone_told(self):
        self.learn('My name is Zed.', 'name', 'Zed')
        self.learn('My favorite color is teal.', 'favorite_color', 'teal')
        self.erase_message('favorite color teal')
        _, mem = self.memory_text()
        self.assertNotIn('favorite_color', mh.entity_map(mem))
        self.assertEqual(mh.entity_map(mem).get('name'), 'Zed')
        gone = [h for h in self.history('favorite_color') if h['event'] == 'deleted']
        self.assertEqual([(h['actor'], h.get('reason')) for h in gone], [('user', 'sources_erased')], gone)
        self.assertGone('teal', kept='name: Zed')

    # -- newest wins, never silently -------------------------------------------

    def test_a_statement_kept_out_by_a_newer_value_is_written_down(self):
        at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 12 * 3600))
        r = mh.import_lines(self.eraser, self.user, [mh.fact('favorite_city', 'Lisbon', at)])
        self.assertEqual(r.status, 200, r)
        before = self.jobs.metric('memproxy_memory_statements_kept_out_total', reason='newer')
        log_from = self.jobs.log_count()
        self.assertOK(send(self.jobs, self.user, 'My favorite city is Rome.'))
        mh.wait_for(lambda: any(h['event'] == 'kept' for h in self.history('favorite_city')),
                    what='the statement kept out written down')
        kept = [h for h in self.history('favorite_city') if h['event'] == 'kept']
        self.assertEqual([(h['actor'], h.get('reason'), h.get('value')) for h in kept],
                         [('extractor', 'newer', 'Rome')], kept)
        _, mem = self.memory_text()
        self.assertEqual(mh.entity_map(mem).get('favorite_city'), 'Lisbon')
        self.jobs.wait_metric('memproxy_memory_statements_kept_out_total', lambda v: v >= before + 1,
                              mh.WAIT, reason='newer')
        line = self.jobs.wait_log(lambda o: str(o.get('msg', '')).startswith('user statements kept out')
                                  and o.get('reason') == 'newer', 5, start=log_from)
        self.assertIsNotNone(line, 'no log line for the statement kept out')
        self.assertEqual(line.get('facts'), 1, line)
        for w in ('Rome', 'favorite_city', self.user):
            self.assertNotIn(w, json.dumps(line))  # ids and counts only


if __name__ == '__main__':
    harness.main('proxy_erasure_provenance')
