"""Batched extraction (issue 33): one memory-model call extracts from all of
a user's pending turns once they are [memory] extract_batch_turns, the
oldest has waited extract_idle_seconds, or at drain; the prompt carries the
instructions once and each turn once, numbered, and the answer attributes
each fact to its turn (provenance per turn). In hybrid mode the same call
folds the summary. Pending turns are durable (kill -9), dropped when the
user turns memory off, and the facts are those one call per turn gives.
Memory-model usage is exported by job kind and model."""

import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

NEVER = 3600  # extract_idle_seconds that never fires within a test

TURNS = ['My name is Bea. I live in Paris.',
         'I use Neovim and I am building a sailing app.',
         'I live in Rome now.',
         'My favorite color is teal.']


def turn_texts(req):
    """The user lines of a job request's transcript, in order."""
    doc = mh.body_json(req)
    text = doc['messages'][-1]['content']
    return [line[len('user: '):] for line in text.split('\n') if line.startswith('user: ')]


def system_of(req):
    doc = mh.body_json(req)
    return doc['system'] if 'system' in doc else doc['messages'][0]['content']


class Batching(mh.MemCase):
    PROXY_CONFIG = {'workers': 2,
                    'memory': {'mode': 'entity', 'extract_batch_turns': 3,
                               'extract_idle_seconds': NEVER, 'extraction_model': 'ext-model-b'}}

    def turns(self, user, texts, proxy=None):
        sent = []
        for t in texts:
            s = send(proxy or self.proxy, user, t)
            self.assertOK(s)
            sent.append(s)
        return sent

    def test_batch_waits_for_extract_batch_turns(self):
        user = mh.uid('bt')
        n0 = mh.last_n(self.fake)
        sent = self.turns(user, TURNS[:2])
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 4, what='two turns recorded')
        self.assertEqual(mh.user_jobs(self.fake, user, 'extract', after=n0), [])
        self.assertEqual(mh.get_memory(self.proxy, user)['entities'], [])
        sent += self.turns(user, TURNS[2:3])
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['entities']) >= 4,
                             what='the batch of three turns extracted')
        jobs = mh.user_jobs(self.fake, user, 'extract', after=n0)
        self.assertEqual(len(jobs), 1, 'three turns took more than one call')
        self.assertEqual(turn_texts(jobs[0]), TURNS[:3])
        text = mh.body_json(jobs[0])['messages'][-1]['content']
        for k in (1, 2, 3):
            self.assertEqual(text.count('Turn %d:\n' % k), 1, text)
        self.assertNotIn('Turn 4:', text)
        self.assertEqual(system_of(jobs[0]).count('snake_case'), 1, 'the instructions are not sent once')
        self.assertEqual(mh.body_json(jobs[0])['model'], 'ext-model-b')
        # attribution: each fact's source is its own turn's request
        rid = [x.header('X-Memproxy-Request-Id') for x in sent]
        src = {e['key']: e['source'] for e in mem['entities']}
        self.assertEqual(src['name'], rid[0])
        self.assertEqual(src['tools'], rid[1])
        self.assertEqual(src['project'], rid[1])
        self.assertEqual(src['city'], rid[2], 'the newer city (turn 3) must supersede turn 1\'s')
        self.assertEqual(mh.entity_map(mem)['city'], 'Rome now')

    def test_newer_turn_supersedes_in_turn_order(self):
        user = mh.uid('bsup')
        self.turns(user, ['I live in Oslo.', 'I live in Bergen.', 'I live in Tromso.'])
        mem = mh.wait_memory(self.proxy, user, lambda m: 'city' in mh.entity_map(m), what='city')
        self.assertEqual(mh.entity_map(mem)['city'], 'Tromso')
        r = self.proxy.request('GET', '/v1/memory/history?key=city', [('X-User-Id', user)])
        if r.status == 200:
            values = [h.get('value') for h in r.json().get('history', r.json().get('entries', []))]
            self.assertIn('Oslo', json.dumps(values))

    def test_idle_trigger_extracts_a_lone_turn(self):
        # idle 5 s: no extraction before the check below however slowly it runs
        p = self.start_proxy(memory={'mode': 'entity', 'extract_batch_turns': 8,
                                     'extract_idle_seconds': 5})
        user = mh.uid('bidle')
        self.turns(user, ['My name is Ike.'], proxy=p)
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='turn recorded')
        self.assertEqual(mh.user_jobs(self.fake, user, 'extract'), [])
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('name') == 'Ike', timeout=10,
                       what='the lone turn extracted once the user was idle')
        self.assertEqual(len(mh.user_jobs(self.fake, user, 'extract')), 1)

    def test_failed_batch_retried_whole(self):
        user = mh.uid('bretry')
        mh.set_jobmode(self.fake, extract='status500')
        n0 = mh.last_n(self.fake)
        retry0 = mh.jobs_metric(self.proxy, 'extract', 'retry')
        self.turns(user, TURNS[:3])
        mh.wait_for(lambda: mh.jobs_metric(self.proxy, 'extract', 'retry') >= retry0 + 3,
                    what='the failed batch retried')
        mh.set_jobmode(self.fake, extract='ok')
        mh.wait_memory(self.proxy, user, lambda m: len(m['entities']) >= 4, timeout=10,
                       what='the retried batch extracted')
        for req in mh.user_jobs(self.fake, user, 'extract', after=n0):
            self.assertEqual(turn_texts(req), TURNS[:3], 'a retry must resend the same batch')

    def test_opt_out_drops_the_pending_batch(self):
        p = self.start_proxy(memory=self.PROXY_CONFIG['memory'])
        user = mh.uid('boff')
        self.turns(user, TURNS[:2], proxy=p)
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 4, what='two turns recorded')
        # the depth gauge settles after the write it counted lands: wait for it
        mh.wait_for(lambda: p.metric('memproxy_memory_queue_depth') == 2, what='two turns pending')
        h = [('X-User-Id', user), ('Content-Type', 'application/json')]
        r = p.request('PUT', '/v1/memory/settings', h, b'{"mode":"off"}')
        self.assertEqual(r.status, 200, r)
        mh.wait_idle(p, timeout=5)
        r = p.request('PUT', '/v1/memory/settings', h, b'{"mode":"auto"}')
        self.assertEqual(r.status, 200, r)
        self.turns(user, ['I drink coffee.'], proxy=p)
        mh.wait_for(lambda: p.metric('memproxy_memory_queue_depth') == 1, what='the turn after opting in')
        # two more turns make three: the two dropped ones are not pending any more
        self.assertEqual(mh.user_jobs(self.fake, user, 'extract'), [])
        self.turns(user, ['I use Vim.', 'My name is Bo.'], proxy=p)
        mem = mh.wait_memory(p, user, lambda m: 'name' in mh.entity_map(m), what='the next batch')
        jobs = mh.user_jobs(self.fake, user, 'extract')
        self.assertEqual(len(jobs), 1)
        self.assertEqual(turn_texts(jobs[0]), ['I drink coffee.', 'I use Vim.', 'My name is Bo.'])
        self.assertNotIn('city', mh.entity_map(mem), 'a dropped turn was extracted')

    def test_admin_extract_makes_pending_batches_due(self):
        token = 'zqxsecret-adm-batch-33a8f1c6e2d9b047'
        p = self.start_proxy(memory=self.PROXY_CONFIG['memory'], sections={'admin': {'token': token}})
        user = mh.uid('badm')
        self.turns(user, TURNS[:2], proxy=p)
        mh.wait_for(lambda: p.metric('memproxy_memory_jobs_held', reason='batch') == 2,
                    what='two turns held for their batch')
        self.assertEqual(p.metric('memproxy_memory_queue_depth'), 2)
        auth = [('Authorization', 'Bearer ' + token)]
        self.assertEqual(p.admin('/admin/extract', 'GET', auth).status, 405)
        self.assertEqual(p.admin('/admin/extract', 'POST').status, 401)
        r = p.admin('/admin/extract', 'POST', auth)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(bytes(r.body)), {'due': 2})
        mh.wait_memory(p, user, lambda m: len(m['entities']) >= 3, what='the batch made due')
        mh.wait_idle(p)
        self.assertEqual(p.metric('memproxy_memory_jobs_held', reason='batch'), 0)
        jobs = mh.user_jobs(self.fake, user, 'extract')
        self.assertEqual([turn_texts(j) for j in jobs], [TURNS[:2]])

    def test_usage_exported_by_kind_and_model(self):
        user = mh.uid('busage')
        labels = {'kind': 'extract', 'model': 'ext-model-b'}
        c0 = self.proxy.metric('memproxy_memory_model_calls_total', **labels)
        t0 = self.proxy.metric('memproxy_memory_model_input_tokens_total', **labels)
        self.turns(user, TURNS[:3])
        mh.wait_memory(self.proxy, user, lambda m: len(m['entities']) >= 4, what='the batch')
        mh.wait_for(lambda: self.proxy.metric('memproxy_memory_model_calls_total', **labels) == c0 + 1,
                    what='one call counted')
        self.assertGreater(self.proxy.metric('memproxy_memory_model_input_tokens_total', **labels), t0)
        self.assertGreater(self.proxy.metric('memproxy_memory_model_output_tokens_total', **labels), 0)
        self.assertIsNotNone(self.proxy.metric('memproxy_memory_model_cached_input_tokens_total', **labels))

    def test_same_facts_as_one_call_per_turn(self):
        """The fake's extractor gives the same facts batched as one call per turn."""
        one = self.start_proxy(memory={'mode': 'entity', 'extract_batch_turns': 1})
        user_a, user_b = mh.uid('bsame'), mh.uid('bsame')
        texts = TURNS + ['I use Postgres.', 'My email is bea@example.com', 'I am building a kite.']
        self.turns(user_a, texts, proxy=one)
        p = self.start_proxy(memory={'mode': 'entity', 'extract_batch_turns': len(texts),
                                     'extract_idle_seconds': NEVER})
        self.turns(user_b, texts, proxy=p)
        mh.wait_idle(one)
        mh.wait_idle(p)
        a = {(e['key'], e['value']) for e in mh.get_memory(one, user_a)['entities']}
        b = {(e['key'], e['value']) for e in mh.get_memory(p, user_b)['entities']}
        self.assertGreaterEqual(len(a), 6)
        self.assertEqual(a, b)
        self.assertEqual(len(mh.user_jobs(self.fake, user_a, 'extract')), len(texts))
        self.assertEqual(len(mh.user_jobs(self.fake, user_b, 'extract')), 1)


class Hybrid(mh.MemCase):
    PROXY_CONFIG = {'workers': 2,
                    'memory': {'mode': 'hybrid', 'extract_batch_turns': 3, 'buffer_messages': 4,
                               'summarize_at': 4, 'summary_max_words': 300,
                               'extract_idle_seconds': NEVER}}

    def test_pending_turns_are_injectable_at_once(self):
        user = mh.uid('bfresh')
        for t in TURNS[:2]:
            self.assertOK(send(self.proxy, user, t))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 4, what='two turns recorded')
        s = send(self.proxy, user, 'What am I building?', x_memory='read')
        self.assertOK(s)
        self.assertIn('sailing app', json.dumps(self.injection(s).elements))
        self.assertEqual(mh.user_jobs(self.fake, user), [], 'no call before the batch is due')

    def test_one_call_extracts_and_folds(self):
        user = mh.uid('bhy')
        texts = TURNS[:3] + ['I use Postgres.', 'I am building a kite.', 'My favorite food is soup.']
        for t in texts:
            self.assertOK(send(self.proxy, user, t))
        mem = mh.wait_memory(self.proxy, user, lambda m: 'favorite_food' in mh.entity_map(m),
                             what='two batches')
        mh.wait_idle(self.proxy)
        mem = mh.get_memory(self.proxy, user)
        jobs = mh.user_jobs(self.fake, user)
        self.assertEqual([mh.job_kind(j) for j in jobs], ['extract', 'extract'],
                         'hybrid: one call per batch, no separate summary job')
        self.assertIn('"summary"', system_of(jobs[0]))
        self.assertIn('at most 300 words', system_of(jobs[0]))
        sent = [t for j in jobs for t in turn_texts(j)]
        self.assertEqual(sent, texts, 'every turn sent once, in order')
        summary = mem['summary']['text']
        self.assertIn('Bea', summary)
        self.assertIn('soup', summary)
        second = mh.body_json(jobs[1])['messages'][-1]['content']
        self.assertTrue(second.startswith('Previous summary:\nSummary: '), second[:80])
        # the buffer's folded oldest half leaves, its newest turns kept verbatim
        self.assertLessEqual(len(mem['buffer']), 4)
        self.assertEqual(mem['buffer'][-2]['content'], texts[-1])


class AnthropicModel(mh.MemCase):
    """[memory] llm = anthropic: the batch goes to Messages, one call, the
    same numbered turns and attribution."""
    PROXY_CONFIG = {'workers': 1}

    def test_batch_through_messages(self):
        root = self.fake.base_url[:-len('/v1')]
        p = self.start_proxy(memory={'mode': 'hybrid', 'llm': 'anthropic', 'extract_batch_turns': 3,
                                     'extract_idle_seconds': NEVER, 'extraction_model': 'claude-x'},
                             sections={'anthropic': {'base_url': root, 'api_key': 'sk-ant-batch'}})
        user = mh.uid('bant')
        n0 = mh.last_n(self.fake)
        sent = [send(p, user, t) for t in TURNS[:3]]
        for s in sent:
            self.assertOK(s)
        mem = mh.wait_memory(p, user, lambda m: len(m['entities']) >= 4 and m['summary']['text'],
                             what='the batch through Messages')
        jobs = [r for r in mh.fake_requests(self.fake) if r.get('job') and r.get('n', 0) > n0]
        self.assertEqual([(j['path'], j['job']) for j in jobs], [('/v1/messages', 'extract')])
        doc = json.loads(jobs[0]['body'])
        self.assertEqual(doc['model'], 'claude-x')
        self.assertEqual(mh.req_header(jobs[0], 'x-api-key'), 'sk-ant-batch')
        self.assertEqual(turn_texts(jobs[0]), TURNS[:3])
        self.assertIn('"summary"', doc['system'])
        src = {e['key']: e['source'] for e in mem['entities']}
        rid = [x.header('X-Memproxy-Request-Id') for x in sent]
        self.assertEqual((src['name'], src['tools'], src['city']), (rid[0], rid[1], rid[2]))


class Restart(mh.MemCase):
    PROXY_CONFIG = {'workers': 1}

    def test_kill9_before_extraction_loses_nothing(self):
        data = self.storage_dir()
        mem = {'mode': 'entity', 'extract_batch_turns': 8, 'extract_idle_seconds': NEVER}
        up = {'api_key': 'sk-batch-restart'}
        p = self.start_proxy(storage={'path': data, 'sync': 'full'}, memory=mem, upstream=up)
        user = mh.uid('bkill')
        for t in TURNS[:2]:
            self.assertOK(send(p, user, t))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 4, what='turns committed')
        self.kill9(p)
        n0 = mh.last_n(self.fake)
        q = self.start_proxy(storage={'path': data, 'sync': 'full'}, memory=dict(mem, extract_idle_seconds=0),
                             upstream=up)
        got = mh.wait_memory(q, user, lambda m: len(m['entities']) >= 4, what='extracted after restart')
        self.assertEqual(mh.entity_map(got)['name'], 'Bea')
        jobs = mh.job_requests(self.fake, 'extract', after=n0)
        self.assertEqual(len(jobs), 1)
        self.assertEqual(turn_texts(jobs[0]), TURNS[:2])

    def test_drain_makes_the_batch_due(self):
        data = self.storage_dir()
        mem = {'mode': 'entity', 'extract_batch_turns': 8, 'extract_idle_seconds': NEVER}
        up = {'api_key': 'sk-batch-drain'}
        p = self.start_proxy(storage={'path': data}, memory=mem, upstream=up,
                             server={'drain_timeout_ms': 5000})
        user = mh.uid('bdrain')
        n0 = mh.last_n(self.fake)
        for t in TURNS[:2]:
            self.assertOK(send(p, user, t))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 4, what='turns committed')
        self.assertEqual(mh.user_jobs(self.fake, user, 'extract', after=n0), [])
        # a slow request in flight keeps the drain going while the batch is sent:
        # at the upstream already (an open connection may be the client's idle one)
        n1 = mh.last_n(self.fake)
        slow = threading.Thread(target=send, args=(p, mh.uid('bslow'), 'hi'),
                                kwargs={'x_memory': 'off', 'fake': 'delay_ms=3000'})
        slow.start()
        mh.wait_for(lambda: mh.last_n(self.fake) > n1, what='the slow request at the upstream')
        p.signal(signal.SIGTERM)
        mh.wait_for(lambda: mh.job_requests(self.fake, 'extract', after=n0), timeout=5,
                    what='the pending batch sent at drain')
        slow.join(10)
        self.stop_checked(p)


class SearchKeys(mh.MemCase):
    """Req 5: the extraction call also writes each turn's search keys, kept
    with the archived message and indexed as a low-weight field. The fake's
    keys come from a fixed word table (docs/fake-upstream.md): these tests
    show the mechanics, not a recall gain."""
    # a small budget: the past messages that fit are the scored ones, not all
    # head_share 0: the question's own block holds every fact and past message (a
    # lone question is a first turn, whose head would take a share of them)
    MEM = {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2, 'extract_batch_turns': 1,
           'extract_idle_seconds': 0, 'context_budget_tokens': 300, 'head_share': 0}
    SECTIONS = {'governance': {'retention_days': 0, 'pii_retention_days': 0},
                'admin': {'token': 'zqxsecret-adm-keys-33c9e1f07b5a4d28'}}
    PROXY_CONFIG = {'workers': 1, 'memory': MEM, 'sections': SECTIONS}
    RECITAL = 'I live in Vienna and my daughter played at her recital.'
    LATER = ['I repainted the kitchen walls in a warm yellow.', 'We bought new curtains for the hall.',
             'The neighbours asked to borrow our ladder.', 'Tomorrow the plumber comes for the sink.']
    QUESTION = 'Were there any performances lately?'  # no word, nor lexicon stem, of the turn

    def history(self, p, user):
        for t in [self.RECITAL] + self.LATER:
            self.assertOK(send(p, user, t))
        mh.wait_idle(p)

    def past(self, p, user):
        s = send(p, user, self.QUESTION, x_memory='read')
        self.assertOK(s)
        if mh.upstream_body(self.fake, s) == s.body:
            return []
        return [t for _, _, t in self.injection(s).block.past()]

    def test_a_key_finds_a_turn_with_no_word_in_common(self):
        user = mh.uid('keys')
        self.history(self.proxy, user)
        job = [j for j in mh.user_jobs(self.fake, user, 'extract') if self.RECITAL in j['body']][0]
        self.assertIn('"keys":[{"turn":1,"keys":', system_of(job))
        self.assertIn(self.RECITAL, self.past(self.proxy, user),
                      'the search key "performance" did not find the turn')
        # without keys the same question finds nothing of it
        p = self.start_proxy(workers=1, memory=dict(self.MEM, search_keys=False), sections=self.SECTIONS)
        other = mh.uid('nokeys')
        n0 = mh.last_n(self.fake)
        self.history(p, other)
        for j in mh.job_requests(self.fake, 'extract', after=n0):
            self.assertNotIn('"keys"', system_of(j))
        self.assertNotIn(self.RECITAL, self.past(p, other))

    def test_erasure_removes_the_keys(self):
        """Erasing the fact of the turn erases its messages, keys and all."""
        user = mh.uid('keyserase')
        self.history(self.proxy, user)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)).get('city'), 'Vienna')
        self.assertIn(self.RECITAL, self.past(self.proxy, user))
        r = self.proxy.request('DELETE', '/v1/memory/entities/city', [('X-User-Id', user)])
        self.assertIn(r.status, (200, 204), r)
        archive = [m['content'] for m in mh.get_memory(self.proxy, user)['archive']]
        self.assertNotIn(self.RECITAL, archive)
        self.assertIn(self.LATER[0], archive)
        self.assertNotIn(self.RECITAL, self.past(self.proxy, user))


if __name__ == '__main__':
    harness.main('proxy_memory_batch')
