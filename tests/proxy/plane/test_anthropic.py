"""Anthropic's Messages API (issue 9): /v1/messages and below go to
[anthropic] base_url with the client's x-api-key and anthropic-* headers as
they are (or [anthropic] api_key replacing x-api-key), answer 404 in
Anthropic's error shape while it is unset, and every error memproxy makes
on them (refusals, an unreachable upstream, an upstream that breaks a
stream) takes Anthropic's shape; count_tokens passes through. Memory on
POST /v1/messages: the block appended to the end of "system" (the
client's system bytes, cache_control blocks included, unchanged), the
replay first in "messages"; the reply's text blocks recorded, from a body
or a stream; an erroring or failed turn records nothing."""

import json
import os
import re
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

MESSAGES = '/v1/messages'
VERSION = '2023-06-01'


def anthropic_root(fake):
    """The fake's root URL ([anthropic] base_url takes the host: the client's
    whole path is appended)."""
    return fake.base_url[:-len('/v1')]


def body(text='hi', stream=False, **extra):
    d = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': [{'role': 'user', 'content': text}]}
    if stream:
        d['stream'] = True
    d.update(extra)
    return json.dumps(d).encode()


def headers(key='sk-ant-client', tag=None, user=None, extra=()):
    h = [('Content-Type', 'application/json'), ('x-api-key', key), ('anthropic-version', VERSION),
         ('anthropic-beta', 'prompt-caching-2024-07-31')]
    if tag is not None:
        h.append(('X-Test-Req', tag))
    if user is not None:
        h.append(('X-User-Id', user))
    return h + list(extra)


class AnthropicCase(harness.ProxyTestCase):
    def assertAnthropicError(self, r, status, code, etype):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'))
        self.assertTrue(r.header('x-request-id'))
        doc = r.json()
        self.assertEqual(doc['type'], 'error', doc)
        self.assertEqual(doc['error']['type'], etype, doc)
        self.assertEqual(doc['error']['code'], code, doc)
        self.assertIsInstance(doc['error']['message'], str)
        self.assertNotIn('param', doc['error'])

    def fake_req(self, tag):
        return mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))


class Off(AnthropicCase):
    """[anthropic] base_url unset (the default)."""

    def test_routes_answer_404_in_anthropic_shape(self):
        before = self.fake.stats()['requests']
        for method, path in (('POST', MESSAGES), ('POST', MESSAGES + '/count_tokens'),
                             ('GET', MESSAGES + '/batches?limit=1')):
            with self.subTest(path=path):
                r = self.proxy.request(method, path, headers(), body() if method == 'POST' else b'')
                self.assertAnthropicError(r, 404, 'not_found', 'not_found_error')
        self.assertEqual(self.fake.stats()['requests'], before)
        # an OpenAI route keeps OpenAI's shape
        r = self.proxy.request('GET', '/nope', headers(), b'')
        self.assertOpenAIError(r, 404, 'not_found')


class On(AnthropicCase):
    def own(self, **anthropic):
        return self.start_proxy(sections={'anthropic': dict({'base_url': anthropic_root(self.fake)},
                                                            **anthropic)})

    def test_forwarded_with_the_clients_headers(self):
        p = self.own()
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES + '?beta=true', headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['type'], 'message')
        self.assertEqual(r.json()['content'][0]['text'], mh.REPLY)
        req = self.fake_req(tag)
        self.assertEqual(req['path'], MESSAGES + '?beta=true')  # the query passes too
        self.assertEqual(mh.req_header(req, 'x-api-key'), 'sk-ant-client')
        self.assertEqual(mh.req_header(req, 'anthropic-version'), VERSION)
        self.assertEqual(mh.req_header(req, 'anthropic-beta'), 'prompt-caching-2024-07-31')
        self.assertIsNone(mh.req_header(req, 'authorization'))

    def test_memproxy_headers_stay_home(self):
        p = self.own()
        tag = uuid.uuid4().hex
        own = [('X-Memory', 'auto'), ('X-User-Signature', 'cd' * 32), ('X-Memory-Task', 'title')]
        r = p.request('POST', MESSAGES, headers(tag=tag, user=mh.uid('hh'), extra=own), body())
        self.assertEqual(r.status, 200, r)
        req = self.fake_req(tag)
        for name in ('X-User-Id', 'X-Memory', 'X-User-Signature', 'X-Memory-Task'):
            self.assertIsNone(mh.req_header(req, name), name)
        self.assertEqual(mh.req_header(req, 'x-api-key'), 'sk-ant-client')

    def test_api_key_replaces_the_clients(self):
        p = self.own(api_key='sk-ant-configured')
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES, headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.req_header(self.fake_req(tag), 'x-api-key'), 'sk-ant-configured')

    def test_stream_and_count_tokens_pass_through(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(), body(stream=True))
        self.assertEqual(r.status, 200, r)
        types = [json.loads(d)['type'] for d in r.data_payloads()]
        self.assertEqual(types[0], 'message_start')
        self.assertEqual(types[-1], 'message_stop')
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES + '/count_tokens', headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertGreater(r.json()['input_tokens'], 0)
        self.assertEqual(self.fake_req(tag)['path'], MESSAGES + '/count_tokens')

    def test_upstream_errors_pass_through_and_proxy_errors_take_anthropics_shape(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(extra=[('X-Fake-Behavior', 'status=529')]), body())
        self.assertEqual(r.status, 529, r)
        self.assertEqual(r.json()['error']['type'], 'overloaded_error')  # the upstream's own body
        # an unreachable upstream
        dead = self.start_proxy(sections={'anthropic': {'base_url': 'http://127.0.0.1:%d' % harness.free_port()}})
        r = dead.request('POST', MESSAGES, headers(), body())
        self.assertAnthropicError(r, 502, 'upstream_unreachable', 'api_error')
        # a path memproxy refuses before routing it
        r = p.request('POST', MESSAGES + '/%2e%2e/x', headers(), body())
        self.assertAnthropicError(r, 400, 'bad_request', 'invalid_request_error')

    def test_a_stream_the_upstream_breaks_ends_with_anthropics_error_event(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(extra=[('X-Fake-Behavior', 'reset_after=4')]),
                      body(stream=True))
        self.assertEqual(r.status, 200, r)
        evs = r.events()
        last = evs[-1].decode() if isinstance(evs[-1], bytes) else evs[-1]
        self.assertTrue(last.startswith('event: error\n'), last)
        data = json.loads(last.split('data: ', 1)[1])
        self.assertEqual(data['type'], 'error')
        self.assertEqual(data['error']['code'], 'upstream_reset')


class Memory(AnthropicCase):
    def setUp(self):
        super().setUp()
        self.p = self.start_proxy(memory={'mode': 'buffer', 'buffer_messages': 4},
                                  sections={'anthropic': {'base_url': anthropic_root(self.fake)}})

    def send(self, user, raw, fake=None, x_memory=None):
        tag = uuid.uuid4().hex
        extra = []
        if fake:
            extra.append(('X-Fake-Behavior', fake))
        if x_memory:
            extra.append(('X-Memory', x_memory))
        r = self.p.request('POST', MESSAGES, headers(tag=tag, user=user, extra=extra), raw)
        return r, tag

    def upstream(self, tag):
        return self.fake_req(tag)['body'].encode()

    def recorded(self, user, want):
        mh.wait_memory(self.p, user, lambda m: mh.buffer_pairs(m) == want, what='the buffer %r' % (want,))

    def teach(self, user, text='I keep my notes in Obsidian.'):
        r, _ = self.send(user, body(text))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('X-Memory-Mode'), 'buffer')
        self.recorded(user, [('user', text), ('assistant', mh.REPLY)])
        return text

    def test_recent_turn_goes_with_the_question_in_the_notes(self):
        """Buffer mode: the recent turn is memory for the newest question, a
        tail: whole in the notes, a text block first in the question's
        message, never a user message of its own (Anthropic would merge two
        in a row); "system" stays the client's (no head: nothing but the
        tail), so the next turn's prefix is this one's."""
        user = mh.uid('am')
        taught = self.teach(user)
        raw = body('Where are my notes?', system='Be brief.')
        r, tag = self.send(user, raw)
        self.assertEqual(r.status, 200, r)
        self.assertGreater(int(r.header('X-Memory-Injected-Tokens')), 0)
        doc = json.loads(self.upstream(tag))
        self.assertEqual(doc['system'], 'Be brief.')
        self.assertEqual(len(doc['messages']), 1, doc['messages'])
        q = doc['messages'][0]
        self.assertEqual(q['role'], 'user')
        notes = q['content'][0]['text']
        self.assertTrue(notes.startswith(mh.INTRO + '\n' + mh.PAST_HEAD), notes)
        self.assertTrue(notes.endswith(mh.turn_in_notes(taught, mh.REPLY)), notes)
        self.assertEqual(q['content'][1], {'type': 'text', 'text': 'Where are my notes?'})

    def test_cache_control_blocks_stay_byte_identical(self):
        user = mh.uid('ac')
        self.teach(user)
        client_system = b'[{"type":"text","text":"Long instructions.","cache_control":{"type":"ephemeral"}}]'
        raw = (b'{"model":"claude-sonnet-4-5","max_tokens":64,"system":' + client_system +
               b',"messages":[{"role":"user","content":"Where are my notes?"}]}')
        r, tag = self.send(user, raw)
        self.assertEqual(r.status, 200, r)
        up = self.upstream(tag)
        head = raw[:raw.index(client_system) + len(client_system)]
        self.assertTrue(up.startswith(head), up[:300])  # the client's system, byte for byte
        doc = json.loads(up)
        self.assertEqual(doc['system'], json.loads(client_system))
        self.assertTrue(doc['messages'][-1]['content'][0]['text'].startswith(mh.INTRO))

    def test_no_system_gets_one_only_for_a_head(self):
        user = mh.uid('an')
        self.teach(user)
        r, tag = self.send(user, body('Where are my notes?'))
        doc = json.loads(self.upstream(tag))
        self.assertNotIn('system', doc)  # the replay alone: no head
        self.assertTrue(doc['messages'][-1]['content'][0]['text'].startswith(mh.INTRO))
        p = self.start_proxy(memory={'mode': 'hybrid', 'head_share': 100},
                             sections={'anthropic': {'base_url': anthropic_root(self.fake)}})
        r = p.request('PUT', '/v1/memory/entities/notes_app', [
            ('X-User-Id', user), ('Content-Type', 'application/json')],
            json.dumps({'value': 'Obsidian'}).encode())
        self.assertIn(r.status, (200, 201), r)
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES, headers(tag=tag, user=user),
                      body('Hi again', messages=[{'role': 'user', 'content': 'Hi'},
                                                 {'role': 'assistant', 'content': 'Hello'},
                                                 {'role': 'user', 'content': 'Which notes app?'}]))
        self.assertEqual(r.status, 200, r)
        doc = json.loads(self.upstream(tag))
        self.assertTrue(doc['system'].startswith(mh.INTRO), doc)

    def test_stream_recorded_text_blocks_only(self):
        user = mh.uid('as')
        r, _ = self.send(user, body('stream me', stream=True), fake='thinking,tool_use')
        self.assertEqual(r.status, 200, r)
        self.recorded(user, [('user', 'stream me'), ('assistant', mh.STREAM_REPLY3)])
        user2 = mh.uid('at')
        r, _ = self.send(user2, body('json me'), fake='thinking,tool_use')
        self.assertEqual(r.status, 200, r)
        self.recorded(user2, [('user', 'json me'), ('assistant', mh.REPLY)])

    def test_tool_use_stream_cut_at_every_byte_reaches_the_client_whole(self):
        """An agent loop's stream (Claude Code: text, then a tool_use block
        whose input comes as input_json_delta events, each with its event:
        line), every event written in two pieces cut at offset k, for every
        k: the client gets the upstream's bytes exactly, and each turn
        records the text the user saw."""
        raw = body('What is the weather in Paris?', stream=True)
        direct = self.fake.direct('POST', MESSAGES, headers(extra=[('X-Fake-Behavior', 'tool_use')]),
                                  raw, timeout=30)
        self.assertEqual(direct.status, 200, direct)
        sent = bytes(direct.body)
        self.assertIn(b'"input_json_delta"', sent)
        longest = max(len(e) for e in sent.split(b'\n\n'))

        def ids(b):  # the fake numbers its answers: msg_<n>, toolu_fake<n>
            return re.sub(rb'(msg_|toolu_fake)\d+', rb'\1N', b)

        def one(k):
            user = mh.uid('split%d' % k)
            r, _ = self.send(user, raw, fake='tool_use,split=%d' % k)
            return k, user, r

        failures, users = [], []
        with ThreadPoolExecutor(max_workers=8) as ex:
            for k, user, r in ex.map(one, range(1, longest + 1)):
                if r.status != 200 or ids(bytes(r.body)) != ids(sent):
                    failures.append('split=%d: status %r, %d bytes of %d' % (k, r.status, len(r.body),
                                                                              len(sent)))
                users.append(user)
        self.assertEqual(failures, [], '%d of %d cuts broken' % (len(failures), longest))
        for user in users:
            self.recorded(user, [('user', 'What is the weather in Paris?'), ('assistant', mh.STREAM_REPLY3)])

    def test_failed_turns_record_nothing(self):
        user = mh.uid('af')
        for raw, fake in ((body('err', stream=True), 'error_after=1'), (body('busy'), 'status=529'),
                          (body('cut', stream=True), 'reset_after=4'),
                          (body('cut inside', stream=True), 'reset_after=4,inside')):
            r, _ = self.send(user, raw, fake=fake)
            self.assertIn(r.status, (200, 529), r)
        self.teach(user, 'control')  # the buffer holds this turn only

    def test_errors_and_controls(self):
        user = mh.uid('ae')
        self.teach(user)
        raw = body('Where are my notes?', system='S')
        r, tag = self.send(user, raw, x_memory='off')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.upstream(tag), raw)
        bad = b'{"model":"c","system":null,"messages":[{"role":"user","content":"x"}]}'
        r, tag = self.send(user, bad)
        self.assertEqual(r.header('X-Memory-Error'), 'invalid_json')
        self.assertEqual(self.upstream(tag), bad)
        r, _ = self.send('a' * 257, raw)
        self.assertAnthropicError(r, 400, 'invalid_user_id', 'invalid_request_error')
        r, _ = self.send(user, raw, x_memory='sometimes')
        self.assertAnthropicError(r, 400, 'invalid_memory_header', 'invalid_request_error')


class Conversation(AnthropicCase):
    """The tail in the newest user turn (docs/memory-conversations.md#conversations): the
    client's system and its earlier turns stay byte for byte, so its
    cache_control breakpoints keep caching turn after turn; memproxy adds
    no breakpoint."""

    SYSTEM = 'You are a careful, terse assistant for a gardener. ' * 110

    def test_breakpoints_keep_caching(self):
        # head_share 0: no summary, so no head; the fact goes in the tail
        p = self.start_proxy(memory={'mode': 'hybrid', 'head_share': 0},
                             sections={'anthropic': {'base_url': anthropic_root(self.fake)}})
        for stream in (False, True):
            with self.subTest(stream=stream):
                user = mh.uid('acv')
                r = p.request('PUT', '/v1/memory/entities/door_code', [
                    ('X-User-Id', user), ('Content-Type', 'application/json')],
                    json.dumps({'value': 'the shed door code is 4417'}).encode())
                self.assertIn(r.status, (200, 201), r)
                system = [{'type': 'text', 'text': self.SYSTEM, 'cache_control': {'type': 'ephemeral'}}]
                msgs = [{'role': 'user', 'content': 'Hi.'}]
                reads = []
                for i, q in enumerate(('What is the shed code?', 'And again?', 'Once more?')):
                    answer = {'role': 'assistant', 'content': [
                        {'type': 'text', 'text': 'Noted. ' * 300 + str(i),
                         'cache_control': {'type': 'ephemeral'}}]}
                    msgs = [dict(m, content=[{'type': 'text', 'text': c['text']} for c in m['content']])
                            if isinstance(m['content'], list) else m for m in msgs]
                    msgs += [answer, {'role': 'user', 'content': q}]
                    raw = body(system=system, messages=msgs, stream=stream)
                    tag = uuid.uuid4().hex
                    r = p.request('POST', MESSAGES, headers(tag=tag, user=user,
                                                            extra=[('X-Memory', 'read')]), raw)
                    self.assertEqual(r.status, 200, r)
                    up = self.fake_req(tag)['body'].encode()
                    doc = json.loads(up)
                    self.assertEqual(doc['system'], system)  # no head: the system as sent
                    newest = doc['messages'][-1]['content']
                    self.assertTrue(newest[0]['text'].startswith(mh.INTRO), newest)
                    self.assertIn('4417', newest[0]['text'])
                    self.assertEqual(newest[1], {'type': 'text', 'text': q})
                    self.assertEqual(up.count(b'cache_control'), raw.count(b'cache_control'))
                    # everything before the newest turn is the client's bytes
                    cut = raw.rindex(b'{"role": "user"')
                    self.assertEqual(up[:len(raw[:cut])], raw[:cut])
                    if stream:
                        text = bytes(r.body).decode()
                        start = json.loads(next(l[6:] for l in text.split('\n')
                                                if l.startswith('data: ') and 'message_start' in l))
                        reads.append(start['message']['usage']['cache_read_input_tokens'])
                    else:
                        reads.append(r.json()['usage']['cache_read_input_tokens'])
                # the third turn reads the system and the first answer from the cache
                self.assertGreater(reads[2], len(self.SYSTEM) // 4 + 300, reads)


class MemoryModel(AnthropicCase):
    """[memory] llm = anthropic: summaries and extraction go to Anthropic's
    Messages API, so a deployment with only an Anthropic key works end to end."""

    def own(self, **anthropic):
        return self.start_proxy(memory={'mode': 'hybrid', 'llm': 'anthropic', 'buffer_messages': 2,
                                        'summarize_at': 2},
                                sections={'anthropic': dict({'base_url': anthropic_root(self.fake)},
                                                            **anthropic)})

    def jobs_at_messages(self, user):
        return [r for r in mh.fake_requests(self.fake)
                if r['path'] == MESSAGES and r.get('job') and user in (r.get('body') or '')]

    def test_extraction_and_summary_through_messages(self):
        p = self.own(api_key='sk-ant-jobs')
        user = mh.uid('llm')
        raw = body('My name is Ada. I use Qdrant as my vector store.')
        r = p.request('POST', MESSAGES, headers(user=user), raw)
        self.assertEqual(r.status, 200, r)
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('name') == 'Ada',
                       what='the fact extracted through Messages')
        mh.wait_memory(p, user, lambda m: (m.get('summary') or {}).get('text'),
                       what='the summary written through Messages')
        jobs = [r for r in mh.fake_requests(self.fake) if r.get('job')]
        self.assertTrue(jobs, 'no memory job reached the fake')
        for j in jobs:
            self.assertEqual(j['path'], MESSAGES, j)
            self.assertEqual(mh.req_header(j, 'x-api-key'), 'sk-ant-jobs')
            self.assertEqual(mh.req_header(j, 'anthropic-version'), '2023-06-01')
            doc = json.loads(j['body'])
            self.assertIsInstance(doc['system'], str)
            self.assertEqual([m['role'] for m in doc['messages']], ['user'])
            self.assertGreater(doc['max_tokens'], 0)
            self.assertNotIn('response_format', doc)
        # hybrid: the extraction call folds the summary too (issue 33)
        self.assertEqual({j['job'] for j in jobs}, {'extract'})

    def test_jobs_borrow_the_users_x_api_key(self):
        p = self.own()
        user = mh.uid('llk')
        r = p.request('POST', MESSAGES, headers(key='sk-ant-user-key', user=user),
                      body('My name is Grace.'))
        self.assertEqual(r.status, 200, r)
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('name') == 'Grace',
                       what='the fact extracted with the user\'s key')
        jobs = [r for r in mh.fake_requests(self.fake) if r.get('job') == 'extract']
        self.assertIn('sk-ant-user-key', [mh.req_header(j, 'x-api-key') for j in jobs])


if __name__ == '__main__':
    harness.main('proxy_anthropic')
