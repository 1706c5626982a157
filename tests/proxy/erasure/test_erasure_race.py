"""Erasure is final (issue 51, requirement 4): a memory-model call that read
a turn is held in flight by the fake upstream (POST /_fake/hold,
docs/fake-upstream.md), the user erases what it read, the call is released:
nothing its answer holds comes back, neither in the store (the memory API,
the search) nor in what the next chat request sends upstream. One test per
erasure the product offers (docs/governance.md#erasure): a fact through
the user API, the admin API and the MCP tool, a message through the MCP
tool, a reply regenerated (the rejected one is erased), the whole memory
through the user API and the admin API; and a summary job's call across a
message's erasure. The summary has no erasure of its own: each case checks
that no fold written from what was erased is stored or injected.

MPTEST_BACKEND=postgres (tests/proxy/meson.build runs this file on both)
puts two proxies on one PostgreSQL database: the call is held in one, the
erasure goes through the other, so the check holds across processes."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'conversations'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402
from test_conversations import ConvCase  # noqa: E402

DROPPED = 'memory job result dropped: erased during the call'
ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}, 'mcp': {'enabled': 'true'}}


class EraseBase(ConvCase):
    """On the backend MPTEST_BACKEND names (ConvCase: a PostgreSQL cluster
    of the class's when it is postgres); proxies of each test's own, with
    [memory] MEMORY."""

    MEMORY = {'mode': 'hybrid'}
    KIND = 'extract'  # the memory-model calls held

    def setUp(self):
        super().setUp()
        self.user = mh.uid('erase')
        memory = dict(self.MEMORY, job_lease_seconds=20)
        if self.pg is None:
            self.jobs = self.eraser = self.start_proxy(workers=1, memory=memory, sections=ADMIN)
        else:
            st = {'backend': 'postgres', 'postgres_url': self.pg.url}
            up = {'api_key': 'sk-zqxsecret-erase-51'}  # proxies sharing a store have one
            self.jobs = self.start_proxy(workers=1, memory=memory, storage=st, upstream=up,
                                         sections=ADMIN)
            # the other proxy erases and reads; it runs no batch of its own
            self.eraser = self.start_proxy(workers=1, storage=st, upstream=up, sections=ADMIN,
                                           memory=dict(memory, extract_idle_seconds=3600))
        # a failed test leaves no call held for the proxies' drain (cleanups run last first)
        self.addCleanup(self.fake._control, 'POST', '/_fake/release')

    # -- driving the call ---------------------------------------------------

    def held(self):
        return self.fake._control('GET', '/_fake/hold').json()['held']

    def learn(self, text, key, value):
        """A turn whose extraction runs at once: key = value is stored."""
        self.assertOK(send(self.jobs, self.user, text))
        mh.wait_memory(self.eraser, self.user, lambda m: mh.entity_map(m).get(key) == value,
                       what='%s extracted' % key)
        mh.wait_idle(self.jobs)

    def hold_turn(self, text):
        """Sends the turn with the fake holding memory-model answers:
        returns once its call (an extraction, which folds the summary and
        asks for search keys; or a summary job) is in flight, held."""
        r = self.fake._control('POST', '/_fake/hold')
        self.assertEqual(r.json()['holding'], True, r)
        n0 = mh.last_n(self.fake)
        self.assertOK(send(self.jobs, self.user, text))
        mh.wait_for(lambda: self.held() == 1, what='the memory-model call held')
        req = mh.job_requests(self.fake, self.KIND, after=n0)
        self.assertEqual(len(req), 1, req)
        return req[0]['body']

    def erased_count(self):
        return mh.jobs_metric(self.jobs, self.KIND, 'erased')

    def release(self, expect_dropped=True, before=0.0):
        """Lets the held answer go; with expect_dropped, waits until the job
        proxy dropped it (the metric and the log line), then until its
        re-run is over."""
        log_from = self.jobs.log_count()
        r = self.fake._control('POST', '/_fake/release')
        self.assertEqual(r.status, 200, r)
        if expect_dropped:
            self.jobs.wait_metric('memproxy_memory_jobs_total', lambda v: v >= before + 1, mh.WAIT,
                                  kind=self.KIND, result='erased')
            self.assertEqual(self.erased_count(), before + 1)
            line = self.jobs.wait_log(lambda o: o.get('msg') == DROPPED, 5, start=log_from)
            self.assertIsNotNone(line, 'no log line says the result was dropped')
            self.assertEqual((line.get('kind'), line.get('turns')), (self.KIND, 1), line)
            self.assertNotIn(self.user, json.dumps(line))  # no user, no memory content
        mh.wait_idle(self.jobs)
        self.assertEqual(self.held(), 0)

    # -- checking what is left ---------------------------------------------

    def memory_text(self):
        r = self.eraser.request('GET', '/v1/memory?limit=1000', [('X-User-Id', self.user)])
        if r.status == 404:
            return '', {'entities': [], 'summary': {'text': None}, 'buffer': [], 'archive': []}
        self.assertEqual(r.status, 200, r)
        return json.dumps(r.json(), ensure_ascii=False), r.json()

    def mcp(self, proxy, tool, args):
        body = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                'params': {'name': tool, 'arguments': args}}
        r = proxy.request('POST', '/mcp', [('Content-Type', 'application/json'),
                                           ('Accept', 'application/json, text/event-stream'),
                                           ('X-User-Id', self.user)], json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        return r.json()['result']

    def assertGone(self, *words, kept=None):
        """None of words is in the user's memory (facts, summary, buffer,
        archive), found by the search (facts, messages, search keys), or
        sent upstream with the next chat request, which still gets what was
        not erased (kept: a fact's value) in its memory block."""
        text, mem = self.memory_text()
        for w in words:
            self.assertNotIn(w.lower(), text.lower(), 'erased %r is back in the memory: %s' % (w, text))
            found = self.mcp(self.eraser, 'search_memory', {'query': w})
            self.assertEqual(found['structuredContent']['results'], [], (w, found))
        s = send(self.jobs, self.user, 'What do you remember about me?')
        self.assertOK(s)
        up = mh.upstream_body(self.fake, s).decode('utf-8')
        for w in words:
            self.assertNotIn(w.lower(), up.lower(), 'erased %r was sent upstream' % w)
        if kept is not None:
            self.assertIn(kept, json.dumps(self.injection(s).elements, ensure_ascii=False))
        return mem

    def erase_message(self, words):
        """Erases the one archived message the search finds for words, that
        holds its last word, through the MCP tool."""
        found = self.mcp(self.eraser, 'search_memory', {'query': words, 'types': ['messages']})
        res = [x for x in found['structuredContent']['results'] if words.split()[-1] in x['text']]
        self.assertEqual(len(res), 1, found)
        gone = self.mcp(self.eraser, 'delete_memory', {'id': res[0]['id']})
        self.assertFalse(gone['isError'], gone)

    def reply_next(self, text):
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], text.encode())
        self.assertEqual(r.status, 200, r)


class ExtractionCalls(EraseBase):
    """An extraction batch in flight (hybrid: it folds the summary and asks
    for search keys) across each erasure."""

    # -- the erasures ----------------------------------------------------------

    def fact_case(self, erase):
        """city = Oslo learnt; a turn saying it again is in flight when the
        fact is erased: neither the fact nor the fold nor the turn's text
        comes back; the name, told apart, stays."""
        self.learn('My name is Zed.', 'name', 'Zed')
        self.learn('I live in Oslo.', 'city', 'Oslo')
        before = self.erased_count()
        held = self.hold_turn('Oslo again: I live in Oslo, near the fjord.')
        self.assertIn('near the fjord', held)
        erase()
        _, mem = self.memory_text()
        self.assertNotIn('city', mh.entity_map(mem))
        self.release(before=before)
        mem = self.assertGone('Oslo', 'fjord', kept='name: Zed')
        self.assertNotIn('city', mh.entity_map(mem))

    def test_a_fact_erased_by_the_user(self):
        def erase():
            r = self.eraser.request('DELETE', '/v1/memory/entities/city', [('X-User-Id', self.user)])
            self.assertEqual(r.status, 204, r)
        self.fact_case(erase)

    def test_a_fact_erased_by_an_admin(self):
        def erase():
            r = mh.admin_request(self.eraser, 'DELETE',
                                 '/admin/users/%s/entities/city' % mh.qid(self.user))
            self.assertEqual(r.status, 204, r)
        self.fact_case(erase)

    def test_a_fact_erased_through_mcp(self):
        def erase():
            res = self.mcp(self.eraser, 'delete_memory', {'key': 'city'})
            self.assertFalse(res['isError'], res)
        self.fact_case(erase)

    def test_a_message_erased_through_mcp(self):
        """The held turn's message erased: the fact it tells, the fold that
        read it (the summary, covering only the turn before, is not dropped
        by the erasure) and its search keys are not written."""
        self.learn('My name is Zed.', 'name', 'Zed')
        _, mem = self.memory_text()
        self.assertIsNotNone(mem['summary']['text'])  # hybrid: the first batch folded
        before = self.erased_count()
        skipped = mh.jobs_metric(self.jobs, self.KIND, 'skipped')
        held = self.hold_turn('My favorite color is teal and my daughter plays the piano.')
        self.assertIn('teal', held)
        self.erase_message('favorite color teal')
        _, mem = self.memory_text()
        self.assertIsNotNone(mem['summary']['text'])  # the erasure kept it: it covers none of it
        self.release(before=before)
        # its re-run has no words left to send: the job is over (skipped), no longer stored
        self.assertEqual(mh.jobs_metric(self.jobs, self.KIND, 'skipped'), skipped + 1)
        r = mh.admin_request(self.eraser, 'GET', '/admin/jobs?user=' + mh.qid(self.user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['jobs'], [], r.json())
        mem = self.assertGone('teal', 'piano', 'instrument', kept='name: Zed')
        self.assertNotIn('favorite_color', mh.entity_map(mem))
        self.assertIn('Zed', mem['summary']['text'] or '')

    def test_a_reply_regenerated_during_the_call(self):
        """A regenerated reply erases the reply it replaces
        (docs/memory-recording.md#regenerated-replies): the held call's fold, written
        from the rejected reply, is not stored; the re-run folds the kept one."""
        self.learn('My name is Zed.', 'name', 'Zed')
        ask = 'Name a bird I could see by the river.'
        before = self.erased_count()
        self.reply_next('The grey heron stalks the reeds at dawn.')
        self.hold_turn(ask)
        self.reply_next('A kingfisher flashes orange over the stream.')
        self.assertOK(send(self.eraser, self.user, ask))  # the same request again
        text, _ = self.memory_text()
        self.assertNotIn('heron', text)
        self.assertIn('kingfisher', text)
        self.release(before=before)
        self.assertGone('heron', 'reeds', kept='name: Zed')
        mh.wait_memory(self.eraser, self.user,
                       lambda m: 'kingfisher' in (m['summary']['text'] or ''),
                       what='the kept reply folded')

    def forget_case(self, erase):
        """Everything erased while the call is in flight: nothing comes
        back, and the user is not made again. In one process the erasure
        cancels its running call; across processes the call's answer comes
        and is dropped."""
        self.learn('My name is Zed.', 'name', 'Zed')
        before = self.erased_count()
        self.hold_turn('I live in Oslo, near the fjord.')
        erase()
        self.release(expect_dropped=self.pg is not None, before=before)
        text, mem = self.memory_text()
        self.assertEqual(mem['entities'], [], text)
        self.assertIsNone(mem['summary']['text'], text)
        self.assertEqual(mem['archive'], [], text)
        self.assertGone('Oslo', 'fjord', 'Zed')

    def test_everything_erased_by_the_user(self):
        def erase():
            r = self.eraser.request('DELETE', '/v1/memory', [('X-User-Id', self.user)])
            self.assertEqual(r.status, 204, r)
        self.forget_case(erase)

    def test_everything_erased_by_an_admin(self):
        def erase():
            r = mh.admin_request(self.eraser, 'DELETE', '/admin/users/%s/memory' % mh.qid(self.user))
            self.assertEqual(r.status, 204, r)
        self.forget_case(erase)

    def test_a_call_with_nothing_erased_is_applied(self):
        """The control: the same held call, no erasure meanwhile (a turn
        recorded meanwhile does not count): its answer is written once."""
        self.learn('My name is Zed.', 'name', 'Zed')
        before = self.erased_count()
        self.hold_turn('I live in Oslo.')
        self.assertOK(send(self.jobs, self.user, 'My favorite color is teal.'))
        self.release(expect_dropped=False)
        mem = mh.wait_memory(self.eraser, self.user,
                             lambda m: mh.entity_map(m).get('favorite_color') == 'teal',
                             what='the later turn extracted')
        self.assertEqual(mh.entity_map(mem).get('city'), 'Oslo')
        self.assertEqual(self.erased_count(), before)


class SummaryCalls(EraseBase):
    """A summary job in flight (summary mode) across a message's erasure."""

    MEMORY = {'mode': 'summary', 'buffer_messages': 4, 'summarize_at': 4}
    KIND = 'summarize'

    def test_a_message_erased_during_the_summary_call(self):
        self.assertOK(send(self.jobs, self.user, 'My favorite color is teal.'))
        mh.wait_memory(self.eraser, self.user, lambda m: len(m['buffer']) == 2, what='turn 1')
        before = self.erased_count()
        # the buffer reaches summarize_at: its oldest half, turn 1, is folded
        self.assertIn('teal', self.hold_turn('I like green tea.'))
        self.erase_message('favorite color teal')
        self.release(before=before)
        mem = mh.wait_memory(self.eraser, self.user, lambda m: m['summary']['text'] is not None,
                             what='the summary of what is left')
        self.assertNotIn('teal', mem['summary']['text'])
        self.assertGone('teal')


if __name__ == '__main__':
    harness.main('proxy_erasure_race')
