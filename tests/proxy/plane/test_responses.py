"""The Responses API (POST /v1/responses): when the upstream stores the
request ("store" absent or true) or holds the conversation
(previous_response_id, conversation) memory goes into "instructions" after
the client's text, the head's bytes first and the same on every turn of a
chain, "input" is untouched and nothing is replayed from the buffer; a
request the upstream does not store ("store": false) gets memory as one
developer message at the start of "input" (after leading system/developer
items), a string input becoming the equivalent array, "instructions" left
alone; the client's other bytes are untouched; the same user id, X-Memory,
headers and error rules as chat completions (core/wire/responses.c)."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402

RESPONSES = '/v1/responses'
SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN},
            'governance': {'retention_days': 0, 'pii_retention_days': 0}}
MEMORY = {'mode': 'hybrid', 'buffer_messages': 4, 'summarize_at': 100}
AT = '2023-05-08T10:00:00Z'
FACT = ('vector_db', 'Qdrant')


def send(proxy, user, body, x_memory=None, extra_headers=(), fake=None):
    """POSTs body (a dict, or bytes as they are) to /v1/responses: Sent."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    tag = uuid.uuid4().hex
    h = mh.chat_headers(user, 'default', x_memory, fake, tag, extra_headers)
    return mh.Sent(tag, raw, None, proxy.request('POST', RESPONSES, h, raw, timeout=30.0))


class Responses(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': SECTIONS, 'memory': MEMORY}

    def seed(self, user, buffered=()):
        """A fact and, imported as archive, earlier messages; buffered: the
        messages a turn left in the buffer (recorded through chat)."""
        r = import_lines(self.proxy, user, [fact(FACT[0], FACT[1], AT)])
        self.assertEqual(r.status, 200, r)
        for text in buffered:
            self.assertOK(mh.send(self.proxy, user, text))
        if buffered:
            mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2 * len(buffered),
                           what='the buffered turns')

    def upstream(self, sent):
        return mh.upstream_body(self.fake, sent)

    def block_of(self, item):
        self.assertEqual(item.get('role'), 'developer', item)
        self.assertIsInstance(item.get('content'), str, item)
        return mh.Block(item['content'])

    def test_string_input_becomes_an_array_with_the_block_first(self):
        user = mh.uid('rs')
        self.seed(user)
        body = {'model': 'gpt-4o-mini', 'instructions': 'Be brief.', 'store': False,
                'input': 'What vector DB do I use? \u00e9'}
        s = send(self.proxy, user, body, x_memory='read')
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(s.mode(), 'hybrid')
        self.assertGreater(s.tokens(), 0)
        up = self.upstream(s)
        # the client's bytes around "input"'s string are untouched, the
        # string itself is carried over byte for byte as the user's content
        raw = s.body
        key = b'"input": '
        at = raw.index(key) + len(key)
        end = len(raw) - 1  # the closing brace
        self.assertEqual(up[:at], raw[:at])
        self.assertEqual(up[len(up) - 1:], raw[end:])
        doc = json.loads(up)
        self.assertEqual(doc['instructions'], 'Be brief.')
        items = doc['input']
        self.assertIsInstance(items, list)
        self.assertEqual(items[-1], {'role': 'user', 'content': body['input']})
        self.assertIn(raw[at:end], up, 'the input string is not carried over byte for byte')
        block = self.block_of(items[0])
        self.assertIn(FACT, [(k, v) for k, v, _ in block.facts()])

    def test_array_input_block_after_leading_system_and_developer(self):
        user = mh.uid('ra')
        self.seed(user)
        lead = [{'role': 'system', 'content': 'S'},
                {'type': 'message', 'role': 'developer',
                 'content': [{'type': 'input_text', 'text': 'D'}]}]
        rest = [{'role': 'user', 'content': [{'type': 'input_text', 'text': 'which vector db?'},
                                              {'type': 'input_image', 'image_url': 'data:image/png;base64,AAAA'}]}]
        body = {'model': 'gpt-4o-mini', 'input': lead + rest, 'store': False,
                'tools': [{'type': 'function', 'name': 'f'}]}
        s = send(self.proxy, user, body, x_memory='read')
        self.assertEqual(s.status, 200, s.resp)
        raw = s.body
        k = raw.index(b'{"role": "user"') - 2  # just past the developer item, before its ', '
        els = mh.injected_elements(raw, k, self.upstream(s))
        self.assertIsNotNone(els, 'nothing injected')
        block = self.block_of(els[0])
        self.assertIn(FACT, [(k2, v) for k2, v, _ in block.facts()])

    def test_buffer_replayed_unless_the_upstream_stores_or_holds_the_conversation(self):
        user = mh.uid('rb')
        self.seed(user, buffered=['My favourite colour is teal.'])
        fresh = send(self.proxy, user, {'model': 'm', 'input': 'and now?', 'store': False},
                     x_memory='read')
        self.assertEqual(fresh.status, 200, fresh.resp)
        items = json.loads(self.upstream(fresh))['input']
        # the turn whole in the notes, right before the question; no item of its own
        self.assertEqual([i['role'] for i in items[-2:]], ['developer', 'user'], items)
        self.assertIn(mh.turn_in_notes('My favourite colour is teal.', mh.REPLY), items[-2]['content'])
        self.assertEqual([i for i in items if i['role'] in ('user', 'assistant')], items[-1:], items)
        for state in ({'previous_response_id': 'resp_123'}, {'conversation': 'conv_123'}):
            body = dict({'model': 'm', 'input': 'and now?'}, **state)
            s = send(self.proxy, user, body, x_memory='read')
            self.assertEqual(s.status, 200, s.resp)
            doc = json.loads(self.upstream(s))
            self.assertEqual(doc['input'], 'and now?', 'memory went into the stored input')
            # (the summary may say it: in hybrid mode the extraction call folds the newest turns)
            unsummarized = '\n'.join(ln for ln in doc['instructions'].split('\n')
                                     if not ln.startswith(mh.SUMMARY_HEAD))
            self.assertNotIn('My favourite colour is teal.', unsummarized,
                             'the buffer was replayed although the upstream holds the conversation')
            # the profile still goes in (a head with the summary, and a tail)
            parts = doc['instructions'].split('\n\n')
            blocks = [mh.Block(parts[0])] + [mh.Block(p, tail=True) for p in parts[1:]]
            self.assertTrue(any(b.facts() for b in blocks), doc['instructions'])
            for k2, v in state.items():
                self.assertEqual(doc[k2], v)
        # a request the upstream stores without a chain yet: the turn whole in
        # the notes, which go in "instructions"; its input stays as sent
        for state in ({}, {'store': True}, {'store': None}):
            body = dict({'model': 'm', 'input': 'and now?'}, **state)
            s = send(self.proxy, user, body, x_memory='read')
            self.assertEqual(s.status, 200, s.resp)
            doc = json.loads(self.upstream(s))
            self.assertEqual(doc['input'], 'and now?', 'memory went into the stored input')
            self.assertIn(mh.turn_in_notes('My favourite colour is teal.', mh.REPLY),
                          doc['instructions'])

    def instructions_block(self, sent, client_text):
        """The upstream's body for sent: its bytes around the spliced
        "instructions" string are the client's, "input" is the client's
        exactly, and instructions is client_text, "\n\n" and a block (or
        the block alone when client_text is None): the block, parsed."""
        up, raw = self.upstream(sent), sent.body
        doc, mine = json.loads(up), json.loads(raw)
        self.assertEqual(doc['input'], mine['input'], 'memory went into the stored input')
        ins = doc['instructions']
        if client_text is None:
            return mh.Block(ins)
        cut = raw.index(b'"instructions": ') + len(b'"instructions": ')
        end = cut + len(json.dumps(client_text).encode()) - 1  # before the closing quote
        self.assertEqual(up[:end], raw[:end], 'the client\'s instructions are not byte for byte')
        self.assertEqual(up[len(up) - (len(raw) - end):], raw[end:])
        self.assertTrue(ins.startswith(client_text + '\n\n'), ins[:200])
        return mh.Block(ins[len(client_text) + 2:])

    def test_upstream_state_memory_in_instructions_never_in_input(self):
        user = mh.uid('ri')
        self.seed(user)
        client = 'Be "brief" \u00e9\u2713 \\ tabs\tand\nlines \U0001f600'
        items = [{'role': 'user', 'content': [{'type': 'input_text', 'text': 'which vector db?'}]}]
        cases = [({'previous_response_id': 'resp_1', 'store': True, 'instructions': client}, client),
                 ({'conversation': 'conv_1', 'instructions': client}, client),
                 ({'conversation': {'id': 'conv_1'}}, None),
                 ({'previous_response_id': 'resp_1', 'instructions': None}, None)]
        for state, client_text in cases:
            for stream in (False, True):
                with self.subTest(state=state, stream=stream):
                    body = dict({'model': 'm', 'input': items, 'stream': stream}, **state)
                    s = send(self.proxy, user, body, x_memory='read')
                    self.assertEqual(s.status, 200, s.resp)
                    self.assertGreater(s.tokens(), 0)
                    self.assertIsNone(s.resp.header('X-Memory-Error'))
                    block = self.instructions_block(s, client_text)
                    self.assertIn(FACT, [(k, v) for k, v, _ in block.facts()])

    def test_upstream_state_instructions_not_a_string(self):
        user = mh.uid('rx')
        self.seed(user)
        before = self.proxy.metric('memproxy_memory_errors_total') or 0
        for ins in ([{'role': 'developer', 'content': 'x'}], 42):
            body = {'model': 'm', 'previous_response_id': 'resp_1', 'instructions': ins,
                    'input': 'which vector db?'}
            s = send(self.proxy, user, body, x_memory='read')
            self.assertEqual(s.resp.header('X-Memory-Error'), 'instructions_not_string', s.resp.headers)
            self.assertEqual(s.tokens(), 0)
            self.assertEqual(self.upstream(s), s.body, 'not forwarded as is')
        self.assertEqual(self.proxy.metric('memproxy_memory_errors_total'), before + 2)

    def test_upstream_state_records_the_input_not_the_instructions(self):
        user = mh.uid('rw')
        self.seed(user)
        body = {'model': 'm', 'previous_response_id': 'resp_1', 'store': True,
                'instructions': 'Be brief.', 'input': 'I moved to Lyon.'}
        s = send(self.proxy, user, body)
        self.assertEqual(s.status, 200, s.resp)
        self.instructions_block(s, 'Be brief.')
        mh.wait_memory(self.proxy, user,
                       lambda m: mh.buffer_pairs(m) == [('user', 'I moved to Lyon.'),
                                                        ('assistant', mh.REPLY)],
                       what='the turn recorded from input alone')

    def test_unparseable_body_goes_upstream_unchanged(self):
        user = mh.uid('rj')
        self.seed(user)
        for raw in (b'{"model":"m","input":', b'{"model":"m"}', b'{"model":"m","input":7}'):
            s = send(self.proxy, user, raw)
            self.assertEqual(s.resp.header('X-Memory-Error'), 'invalid_json', (raw, s.resp.headers))
            self.assertEqual(self.upstream(s), raw)

    def test_memory_off_and_no_user(self):
        user = mh.uid('ro')
        self.seed(user)
        body = {'model': 'm', 'input': 'which vector db?'}
        s = send(self.proxy, user, body, x_memory='off')
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(self.upstream(s), s.body)
        self.assertEqual(s.mode(), 'off')
        s = send(self.proxy, None, body)
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(self.upstream(s), s.body)

    def test_invalid_user_id_is_refused_in_openai_shape(self):
        s = send(self.proxy, 'a' * 257, {'model': 'm', 'input': 'hi'})
        self.assertEqual(s.status, 400, s.resp)
        err = s.resp.json()['error']
        self.assertEqual(err['code'], 'invalid_user_id')
        before = mh.client_request_numbers(self.fake)
        s = send(self.proxy, None, {'model': 'm', 'input': 'hi', 'user': '{{user}}'})
        self.assertEqual(s.status, 400, s.resp)
        self.assertEqual(s.resp.json()['error']['code'], 'invalid_user_id')
        self.assertEqual(mh.client_request_numbers(self.fake), before, 'forwarded with an invalid user id')
        s = send(self.proxy, 'u', {'model': 'm', 'input': 'hi'}, x_memory='sometimes')
        self.assertEqual(s.status, 400, s.resp)
        self.assertEqual(s.resp.json()['error']['code'], 'invalid_memory_header')

    def test_other_responses_paths_are_forwarded(self):
        user = mh.uid('rf')
        self.seed(user)
        r = self.proxy.request('GET', RESPONSES + '/resp_123', mh.chat_headers(user), b'')
        self.assertNotEqual(r.status, 404)
        self.assertFalse(r.has_header('X-Memory-Mode'), r.headers)


class Conversation(Responses):
    """A conversation resent in "input" (docs/memory-conversations.md#conversations): the
    tail is a developer item right before the newest user item, the
    client's earlier items and the head before it byte for byte."""

    # head_share 0: with no summary there is no head, every fact in the tail
    PROXY_CONFIG = {'workers': 2, 'sections': SECTIONS, 'memory': dict(MEMORY, head_share=0)}

    def test_tail_before_the_newest_user_item(self):
        user = mh.uid('rc')
        self.seed(user)
        items = [{'role': 'developer', 'content': 'Be brief.'},
                 {'role': 'user', 'content': 'Hello there.'},
                 {'type': 'function_call', 'call_id': 'c1', 'name': 'lookup', 'arguments': '{}'},
                 {'type': 'function_call_output', 'call_id': 'c1', 'output': 'ok'},
                 {'role': 'assistant', 'content': 'Hi!'}]
        bodies = []
        for stream in (False, True):
            q = {'role': 'user', 'content': 'What vector DB do I use?'}
            body = {'model': 'gpt-4o-mini', 'input': items + [q], 'stream': stream, 'store': False}
            s = send(self.proxy, user, body, x_memory='read')
            self.assertEqual(s.status, 200, s.resp)
            up = self.upstream(s)
            got = json.loads(up)['input']
            self.assertEqual(got[:len(items)], items)  # no head (no summary): the client's items first
            self.assertEqual(got[-1], q)
            tail = got[-2]
            self.assertEqual(tail['role'], 'developer')
            self.assertTrue(tail['content'].startswith(mh.INTRO), tail)
            self.assertIn('vector_db: Qdrant', tail['content'])
            bodies.append(up[:up.index(b'"What vector DB')])
        # every byte up to the tail is the client's, stream or not
        raw = json.dumps(items)[:-1].encode()
        for b in bodies:
            self.assertIn(raw[1:40], b)


class StoredChain(mh.MemCase):
    """A stored conversation (docs/memory-conversations.md "Responses: the
    provider stores the input"): its first turn ("store" absent) and the
    turns that continue it (previous_response_id) get memory in
    "instructions" alone, the head's bytes first and the same on every
    turn; what the provider stores of the chain (the fake keeps it as OpenAI
    does) is the client's items and the replies, nothing of memproxy's. 4
    workers, a new connection a request."""

    # hybrid: the extraction folds a summary after each turn, so a head
    # built again would differ from the first turn's
    PROXY_CONFIG = {'workers': 4, 'sections': SECTIONS, 'memory': MEMORY}
    seed = Responses.seed

    def setUp(self):
        super().setUp()
        self.p = self.proxy  # the proxy the helpers talk to

    def upstream(self, sent):
        return mh.upstream_body(self.fake, sent)

    def seed_summary(self, user):
        """The fact, and a summary folded from a turn through chat."""
        r = import_lines(self.p, user, [fact(FACT[0], FACT[1], AT)])
        self.assertEqual(r.status, 200, r)
        self.assertOK(mh.send(self.p, user, 'I am building a search service.'))
        mh.wait_memory(self.p, user, lambda m: m['summary']['text'] is not None,
                       what='a summary')

    def wait_recorded(self, user, q, k):
        """Until the turn of q is recorded (with its reply's id, which the
        next turn continues) and folded into the summary (a head built
        again from now on would differ from the kept one): the rule of the
        conversation it was recorded in."""
        rule = mh.wait_for(lambda: self.recorded(mh.admin_memory(self.p, user).json(), q),
                           what='turn %d recorded' % k)
        mh.wait_memory(self.p, user, lambda m: q in (m['summary']['text'] or ''),
                       what='the summary with %r' % q)
        return rule

    @staticmethod
    def recorded(mem, q):
        """The rule of the conversation the user message q was recorded in
        (in the buffer, or already in the archive); None: not recorded."""
        return next((m.get('conversation_rule') for m in mem['buffer'] + mem.get('archive', [])
                     if m['role'] == 'user' and m['content'] == q), None)

    def explained(self, user, body):
        """The admin explain of body (a Responses request) for user."""
        r = mh.admin_request(self.p, 'POST', '/admin/users/%s/explain?api=responses' % mh.qid(user),
                             json.dumps(body).encode(), 'application/json')
        self.assertEqual(r.status, 200, r)
        return r.json()

    def stored(self, reply_id):
        r = harness.request(self.fake.port, 'GET', '/_fake/stored?id=' + reply_id)
        self.assertEqual(r.status, 200, r)
        return r.json()['items']

    def turn(self, user, body, client_text):
        """Sends a turn: the head (the bytes of "instructions" after the
        client's text, before the tail), the tail, the reply's id."""
        s = send(self.p, user, body)
        self.assertEqual(s.status, 200, s.resp)
        self.assertIsNone(s.resp.header('X-Memory-Error'))
        self.assertGreater(s.tokens(), 0)
        up = self.upstream(s)
        doc = json.loads(up)
        self.assertEqual(doc['input'], body['input'], 'memory went into the stored input')
        raw_input = json.dumps(body['input']).encode()
        self.assertIn(b'"input": ' + raw_input, up, 'the input is not the client\'s bytes')
        for marker in (mh.INTRO, mh.TAIL_INTRO, FACT[1]):
            self.assertNotIn(marker, json.dumps(doc['input']))
        ins = doc['instructions']
        self.assertTrue(ins.startswith(client_text + '\n\n'), ins[:200])
        rest = ins[len(client_text) + 2:]
        head, sep, tail = rest.partition('\n\n' + mh.TAIL_INTRO)
        if body.get('stream'):
            rid = next(json.loads(d)['response']['id'] for d in s.resp.data_payloads()
                       if json.loads(d).get('type') == 'response.completed')
        else:
            rid = s.resp.json()['id']
        return head, (mh.TAIL_INTRO + tail) if sep else '', rid

    def chain(self, user, first_rule):
        """A stored chain's first three turns: nothing of memproxy's in
        input, the head's bytes kept, nothing of memproxy's stored
        upstream; its first turn recorded under first_rule."""
        client = 'Be brief.'
        questions = ['Which vector DB do I use?', 'And what does my service do?',
                     'Which vector DB again?']
        heads, rids, rules = [], [], []
        prev = None
        for k, q in enumerate(questions):
            body = {'model': 'gpt-4o-mini', 'instructions': client, 'input': q, 'stream': k == 2}
            if prev is not None:
                body['previous_response_id'] = prev
            else:  # explain shows the head the first turn gets: its own, not the session's
                ex = self.explained(user, body)
            head, tail, prev = self.turn(user, body, client)
            if k == 0:
                self.assertEqual((ex['conversation']['session'], ex['conversation']['kept_head']),
                                 (False, False), ex['conversation'])
                self.assertEqual(ex['sections']['head']['block'], head)
            heads.append(head)
            rids.append(prev)
            block = mh.Block(head)
            self.assertIsNotNone(block.summary, head)
            facts = [(k2, v) for k2, v, _ in block.facts()]
            if tail:
                facts += [(k2, v) for k2, v, _ in mh.Block(tail, tail=True).facts()]
            self.assertIn(FACT, facts, 'the fact went nowhere on turn %d' % (k + 1))
            rules.append(self.wait_recorded(user, q, k + 1))
        # a lone first turn, then the chain its reply begins
        self.assertEqual(rules, [first_rule, 'chain', 'chain'])
        self.assertEqual(heads[1], heads[0], 'the head changed on the second turn')
        self.assertEqual(heads[2], heads[0], 'the head changed on the third turn')
        # what the provider keeps of the chain: the client's items and the replies
        kept = self.stored(rids[-1])
        self.assertEqual([i.get('role') for i in kept], ['user', 'assistant'] * 3)
        self.assertEqual([i['content'] for i in kept if i['role'] == 'user'], questions)
        text = json.dumps(kept)
        for marker in (mh.INTRO, mh.TAIL_INTRO, FACT[1], mh.SUMMARY_HEAD):
            self.assertNotIn(marker, text, 'memproxy\'s text is stored upstream')

    def test_a_stored_chain_keeps_memory_out_of_input_and_the_head_byte_for_byte(self):
        user = mh.uid('rk')
        self.seed_summary(user)
        self.chain(user, 'first_turn')

    def test_a_chain_of_a_user_shown_sending_newest_alone(self):
        # the user's other client sends its newest message alone (two lone
        # messages in a row: its session), yet a request the upstream stores
        # is never the session's: its lone first turn is keyed by its leading
        # messages, as the chain that goes on from it (plane/convlook.h)
        self.p = self.start_proxy(workers=1, sections=SECTIONS, memory=MEMORY)
        user = mh.uid('rl')
        self.seed_summary(user)
        for text in ('I like tea.', 'And green tea most.'):
            self.assertOK(mh.send(self.p, user, text))
        mh.wait_memory(self.p, user, lambda m: 'And green tea most.' in (m['summary']['text'] or ''),
                       what='the summary with both lone messages')
        mh.wait_idle(self.p)
        doc = mh.admin_memory(self.p, user).json()
        rules = [x['conversation_rule'] for x in doc['archive'] if x['role'] == 'user']
        self.assertEqual(rules[-1], 'session', 'the user shows no session')
        self.chain(user, 'first_turn')

    def test_a_resending_client_the_provider_stores_keeps_the_head(self):
        # a client that resends its history and lets the provider store
        # each request (the API's default): its lone first turn kept its
        # state for a chain; its second turn, keyed by its leading
        # messages, takes it over
        user = mh.uid('rr')
        self.seed_summary(user)
        client = 'Be brief.'
        history, heads = [], []
        for k, q in enumerate(['Which vector DB do I use?', 'And what does my service do?',
                               'Which vector DB again?']):
            items = history + [{'role': 'user', 'content': q}]
            body = {'model': 'gpt-4o-mini', 'instructions': client,
                    'input': q if k == 0 else items}
            head, _, _ = self.turn(user, body, client)
            heads.append(head)
            self.assertIsNotNone(mh.Block(head).summary, head)
            history = items + [{'role': 'assistant', 'content': mh.REPLY}]
            self.wait_recorded(user, q, k + 1)
        self.assertEqual(heads[1], heads[0], 'the head changed on the second turn')
        self.assertEqual(heads[2], heads[0], 'the head changed on the third turn')

    def test_store_false_keeps_memory_in_input(self):
        user = mh.uid('rn')
        self.seed(user)
        body = {'model': 'm', 'instructions': 'Be brief.', 'input': 'Which vector DB?',
                'store': False}
        s = send(self.p, user, body, x_memory='read')
        self.assertEqual(s.status, 200, s.resp)
        doc = json.loads(self.upstream(s))
        self.assertEqual(doc['instructions'], 'Be brief.')
        self.assertEqual(doc['input'][-1], {'role': 'user', 'content': 'Which vector DB?'})
        self.assertTrue(doc['input'][0]['content'].startswith(mh.INTRO), doc['input'][0])
        r = harness.request(self.fake.port, 'GET', '/_fake/stored?id=' + s.resp.json()['id'])
        self.assertEqual(r.status, 404, 'the fake stored a "store": false response')


class Recording(mh.MemCase):
    """What a completed /v1/responses turn leaves in the buffer: the new user
    texts and the reply's output_text, from a body or a stream; a failed,
    cut, queued or erroring turn records nothing."""

    PROXY_CONFIG = {'workers': 2, 'sections': SECTIONS, 'memory': dict(MEMORY, mode='buffer')}

    def recorded(self, user, want):
        mh.wait_memory(self.proxy, user, lambda m: mh.buffer_pairs(m) == want,
                       what='the buffer %r' % (want,))

    def nothing_recorded(self, user):
        """After a control turn through chat completions, the buffer holds
        that turn only."""
        self.assertOK(mh.send(self.proxy, user, 'control'))
        self.recorded(user, [('user', 'control'), ('assistant', mh.REPLY)])

    def test_json_reply_recorded(self):
        user = mh.uid('rr')
        s = send(self.proxy, user, {'model': 'm', 'input': 'Remember: my dog is Rex.', 'store': False})
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(s.resp.json()['object'], 'response')
        self.recorded(user, [('user', 'Remember: my dog is Rex.'), ('assistant', mh.REPLY)])

    def test_stream_recorded_from_the_deltas(self):
        user = mh.uid('rs')
        body = {'model': 'm', 'stream': True,
                'input': [{'role': 'user', 'content': [{'type': 'input_text', 'text': 'first'},
                                                       {'type': 'input_file', 'file_id': 'file-1'},
                                                       {'type': 'input_text', 'text': 'second'}]}]}
        s = send(self.proxy, user, body)
        self.assertEqual(s.status, 200, s.resp)
        types = [json.loads(d)['type'] for d in s.resp.data_payloads()]
        self.assertEqual(types[-1], 'response.completed')
        self.recorded(user, [('user', 'first\nsecond'), ('assistant', mh.STREAM_REPLY3)])

    def test_only_the_new_user_messages_after_tool_output(self):
        user = mh.uid('rt')
        body = {'model': 'm', 'tools': [{'type': 'function', 'name': 'weather'}],
                'input': [{'role': 'user', 'content': 'weather in Paris?'},
                          {'type': 'function_call', 'call_id': 'c1', 'name': 'weather', 'arguments': '{}'},
                          {'type': 'function_call_output', 'call_id': 'c1', 'output': 'sunny'},
                          {'role': 'user', 'content': 'and tomorrow?'}]}
        self.assertEqual(send(self.proxy, user, body).status, 200)
        self.recorded(user, [('user', 'and tomorrow?'), ('assistant', mh.REPLY)])

    def test_failed_cut_queued_and_erroring_turns_record_nothing(self):
        user = mh.uid('rn')
        cases = [({'model': 'm', 'input': 'queued', 'background': True}, None),
                 ({'model': 'm', 'input': 'failed'}, 'failed'),
                 ({'model': 'm', 'input': 'failed stream', 'stream': True}, 'failed'),
                 ({'model': 'm', 'input': 'error event', 'stream': True}, 'error_after=2'),
                 ({'model': 'm', 'input': 'error then failed', 'stream': True}, 'error_after=1,failed'),
                 ({'model': 'm', 'input': 'cut mid-stream', 'stream': True}, 'reset_after=6'),
                 ({'model': 'm', 'input': 'cut mid-event', 'stream': True}, 'reset_after=5,inside'),
                 ({'model': 'm', 'input': 'upstream 500'}, 'status=500')]
        for body, fake in cases:
            with self.subTest(fake=fake, body=body['input']):
                s = send(self.proxy, user, body, fake=fake)
                self.assertIn(s.status, (200, 500, 502), s.resp)
        self.nothing_recorded(user)

    def test_a_stream_cut_inside_an_event_relays_whole_events_only(self):
        body = {'model': 'm', 'input': 'cut inside', 'stream': True}
        # the fake really cuts inside the event: its raw bytes end mid-event
        conn = harness.HTTPConn(self.fake.port, timeout=10)
        try:
            conn.send(harness.build_request('POST', RESPONSES, [('Content-Type', 'application/json'),
                                                                 ('X-Fake-Behavior', 'reset_after=5,inside')],
                                            json.dumps(body).encode()))
            try:
                raw = conn.read_until_closed(10)
            except (ConnectionError, OSError):
                raw = bytes(conn.buf)
        finally:
            conn.close()
        tail = raw[raw.rfind(b'event: '):]
        self.assertTrue(tail.startswith(b'event: response.output_text.delta'), raw[-300:])
        self.assertNotIn(b'\n\n', tail, 'the fake sent the cut event whole')
        user = mh.uid('rc')
        s = send(self.proxy, user, body, fake='reset_after=5,inside')
        self.assertEqual(s.status, 200, s.resp)
        payloads = s.resp.data_payloads()
        for d in payloads:
            json.loads(d)  # every relayed event is whole
        self.assertEqual(json.loads(payloads[-1])['error']['code'], 'upstream_reset')
        self.nothing_recorded(user)

    def test_a_fact_taught_in_one_conversation_reaches_a_new_one(self):
        user = mh.uid('rf')
        self.assertEqual(send(self.proxy, user, {'model': 'm', 'input': 'I use Qdrant.'}).status, 200)
        self.recorded(user, [('user', 'I use Qdrant.'), ('assistant', mh.REPLY)])
        s = send(self.proxy, user, {'model': 'm', 'input': 'Which vector DB do I use?', 'store': False})
        items = json.loads(mh.upstream_body(self.fake, s))['input']
        self.assertEqual(items[0]['role'], 'developer')
        self.assertTrue(items[0]['content'].startswith(mh.INTRO), items[0])
        self.assertIn(mh.turn_in_notes('I use Qdrant.', mh.REPLY), items[0]['content'])
        pairs = [(i['role'], i['content']) for i in items[1:]]
        self.assertEqual(pairs, [('user', 'Which vector DB do I use?')])


if __name__ == '__main__':
    harness.main('proxy_responses')
