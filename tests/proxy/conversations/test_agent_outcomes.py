"""An agent's outcome is remembered (issue 51, requirement 2): in a tool
loop the turn is the user's request and the assistant's final answer. On
each API (chat completions, Anthropic Messages, Responses resending its
input, continuing with previous_response_id or in a "conversation"), streamed and
not, a loop of three rounds: the user's request, answered with text and a
tool call; the tool's result, answered with text and another call; the
next result, answered with the final answer. The user's memory (the memory
API's buffer and archive) then holds the request once and the final answer
as its reply: never the intermediate text, never a tool's result or a
call's arguments; the extraction model is asked about the final answer; a
loop the client abandons after its first round keeps the request. Every
request that reached the fake upstream is one its provider accepts. Runs on
LMDB and, as proxy_agent_outcomes_postgres, on PostgreSQL
(test_conversations.ConvCase)."""

import json
import os
import signal
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import BACKEND, ConvCase  # noqa: E402

MESSAGES = '/v1/messages'
RESPONSES = '/v1/responses'
TOOL_OUTPUT = 'TOOLPAYLOAD: 3 jobs failed, npm ci says the lockfile is out of date'
ARGS_WORD = 'Paris'  # in the fake's tool call's arguments
FIRST = "I'll check the CI logs."
SECOND = 'The logs point at the lockfile; I will regenerate it.'
FINAL = 'fixed: the lockfile was stale, regenerated it and CI is green again.'
# a stream says "tok0 tok1 ..." as many pieces as events= asks
STREAM_TEXT = {2: 'tok0 tok1 ', 3: 'tok0 tok1 tok2 ', 5: 'tok0 tok1 tok2 tok3 tok4 '}
APIS = ('chat', 'messages', 'responses', 'responses_prev', 'responses_conv')


def sse_events(body):
    """The JSON data of each SSE event of a stream's body."""
    out = []
    for line in body.decode().split('\n'):
        line = line.rstrip('\r')
        if line.startswith('data: {'):
            out.append(json.loads(line[6:]))
    return out


class Reply:
    """What the client read from one reply: its text, its tool calls (id,
    name, arguments as JSON text) and its response id (Responses)."""

    def __init__(self):
        self.text, self.calls, self.id = '', [], None


def read_chat(r, stream):
    out = Reply()
    if not stream:
        msg = r.json()['choices'][0]['message']
        out.text = msg.get('content') or ''
        out.calls = [(c['id'], c['function']['name'], c['function']['arguments'])
                     for c in msg.get('tool_calls') or []]
        return out
    calls = {}
    for ev in sse_events(r.body):
        for ch in ev.get('choices') or []:
            d = ch.get('delta') or {}
            out.text += d.get('content') or ''
            for c in d.get('tool_calls') or []:
                cur = calls.setdefault(c['index'], ['', '', ''])
                cur[0] = c.get('id') or cur[0]
                cur[1] = (c.get('function') or {}).get('name') or cur[1]
                cur[2] += (c.get('function') or {}).get('arguments') or ''
    out.calls = [tuple(v) for _, v in sorted(calls.items())]
    return out


def read_messages(r, stream):
    out = Reply()
    blocks = r.json()['content'] if not stream else []
    if stream:
        for ev in sse_events(r.body):
            if ev['type'] == 'content_block_start':
                blocks.append(dict(ev['content_block'], partial=''))
            elif ev['type'] == 'content_block_delta':
                d = ev['delta']
                if d['type'] == 'text_delta':
                    blocks[-1]['text'] += d['text']
                elif d['type'] == 'input_json_delta':
                    blocks[-1]['partial'] += d['partial_json']
    out.text = '\n'.join(b['text'] for b in blocks if b['type'] == 'text')
    out.calls = [(b['id'], b['name'], b.get('partial') or json.dumps(b['input']))
                 for b in blocks if b['type'] == 'tool_use']
    return out


def read_responses(r, stream):
    out = Reply()
    if stream:
        resp = [ev['response'] for ev in sse_events(r.body) if ev['type'] == 'response.completed'][0]
    else:
        resp = r.json()
    out.id = resp['id']
    for item in resp['output']:
        if item['type'] == 'message':
            out.text += ''.join(p['text'] for p in item['content'] if p['type'] == 'output_text')
        elif item['type'] == 'function_call':
            out.calls.append((item['call_id'], item['name'], item['arguments']))
    return out


class Agent:
    """One API's agent client: the conversation it keeps and resends (or,
    responses_prev and responses_conv, continue what the upstream holds)."""

    def __init__(self, case, api, stream, user):
        self.case, self.api, self.stream, self.user = case, api, stream, user
        self.items = []        # the conversation as this API spells it
        self.prev = None       # responses_prev: the last response's id

    def ask(self, text):
        if self.api == 'messages':
            self.items.append({'role': 'user', 'content': [{'type': 'text', 'text': text}]})
        else:
            self.items.append({'role': 'user', 'content': text})

    def answered(self, reply):
        """The reply joins the conversation, and each call its tool's result."""
        if self.api == 'chat':
            msg = {'role': 'assistant', 'content': reply.text or None}
            if reply.calls:
                msg['tool_calls'] = [{'id': i, 'type': 'function',
                                      'function': {'name': n, 'arguments': a}}
                                     for i, n, a in reply.calls]
            self.items.append(msg)
            self.items += [{'role': 'tool', 'tool_call_id': i, 'content': TOOL_OUTPUT}
                           for i, _, _ in reply.calls]
        elif self.api == 'messages':
            content = [{'type': 'text', 'text': reply.text}] if reply.text else []
            content += [{'type': 'tool_use', 'id': i, 'name': n, 'input': json.loads(a)}
                        for i, n, a in reply.calls]
            self.items.append({'role': 'assistant', 'content': content})
            if reply.calls:
                self.items.append({'role': 'user', 'content': [
                    {'type': 'tool_result', 'tool_use_id': i, 'content': TOOL_OUTPUT}
                    for i, _, _ in reply.calls]})
        else:
            outputs = [{'type': 'function_call_output', 'call_id': i, 'output': TOOL_OUTPUT}
                       for i, _, _ in reply.calls]
            if self.api != 'responses':  # the upstream keeps the rest
                self.prev, self.items = reply.id, outputs
                return
            if reply.text:
                self.items.append({'type': 'message', 'role': 'assistant',
                                   'content': [{'type': 'output_text', 'text': reply.text}]})
            self.items += [{'type': 'function_call', 'call_id': i, 'name': n, 'arguments': a}
                           for i, n, a in reply.calls]
            self.items += outputs

    def body(self):
        if self.api == 'chat':
            d = {'model': 'gpt-4o-mini', 'tools': TOOLS_CHAT,
                 'messages': [{'role': 'system', 'content': 'You are a coding agent.'}] + self.items}
        elif self.api == 'messages':
            d = {'model': 'claude-sonnet-4-5', 'max_tokens': 256, 'system': 'You are a coding agent.',
                 'tools': TOOLS_ANTHROPIC, 'messages': self.items}
        else:
            d = {'model': 'gpt-4o-mini', 'instructions': 'You are a coding agent.',
                 'tools': TOOLS_RESPONSES, 'input': self.items}
            if self.api == 'responses_prev' and self.prev is not None:
                d['previous_response_id'] = self.prev
            if self.api == 'responses_conv':
                d['conversation'] = 'conv_' + self.user
        if self.stream:
            d['stream'] = True
        return json.dumps(d).encode()

    def round(self, says, calls_tool, x_memory=None):
        """One round: the upstream's reply says `says` (a stream: that many
        pieces) and calls a tool or not. The reply as the client read it."""
        behavior = []
        if self.stream:
            behavior.append('events=%d' % says)
        else:
            self.case.reply_next(says)
        if calls_tool:
            behavior.append('tool_use')
        tag = uuid.uuid4().hex
        h = [('Content-Type', 'application/json'), ('X-User-Id', self.user), ('X-Test-Req', tag)]
        if behavior:
            h.append(('X-Fake-Behavior', ','.join(behavior)))
        if x_memory is not None:
            h.append(('X-Memory', x_memory))
        if self.api == 'messages':
            h += [('x-api-key', 'sk-ant-%s' % self.user), ('anthropic-version', '2023-06-01')]
            path = MESSAGES
        else:
            h.append(('Authorization', mh.auth_of(self.user)))
            path = mh.CHAT if self.api == 'chat' else RESPONSES
        r = self.case.p.request('POST', path, h, self.body())
        self.case.assertEqual(r.status, 200, r)
        self.case.assertIsNone(r.header('x-memory-error'), r.headers)
        mh.upstream_of(self.case.fake, mh.Sent(tag, b'', None, None))  # it reached the fake
        reply = {'chat': read_chat, 'messages': read_messages}.get(
            self.api, read_responses)(r, self.stream)
        self.case.assertEqual(bool(reply.calls), calls_tool, 'round: %r' % reply.__dict__)
        self.last = reply
        return reply


TOOLS_CHAT = [{'type': 'function', 'function': {
    'name': 'get_weather', 'description': 'Runs the tool.',
    'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}}]
TOOLS_ANTHROPIC = [{'name': 'get_weather', 'description': 'Runs the tool.',
                    'input_schema': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}]
TOOLS_RESPONSES = [{'type': 'function', 'name': 'get_weather', 'description': 'Runs the tool.',
                    'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}]


class AgentOutcomes(ConvCase):
    """Tool loops on every API, streamed and not, on a proxy of the class's
    own, its memory jobs on their own key (an Anthropic user lends none)."""

    def setUp(self):
        super().setUp()
        # extraction waits for more turns, as by default (20 s): a loop's
        # rounds come within it, so its first round's call does not run
        # while the loop goes on (an answer that lands while the call is out
        # is issue 51's erasure race, requirement 4); settle() makes the
        # batch due once the loop is over
        self.p = self.own_proxy(memory={'api_key': 'sk-memory-jobs', 'extract_idle_seconds': 20},
                                sections={'admin': {'token': mh.ADMIN_TOKEN}})

    def settle(self):
        """POST /admin/extract (pending batches due now, as if their users
        had been quiet extract_idle_seconds) until no memory work is left."""
        def idle():
            r = mh.admin_request(self.p, 'POST', '/admin/extract')
            self.assertEqual(r.status, 200, r)
            return self.p.metric('memproxy_memory_queue_depth') == 0
        mh.wait_for(idle, what='memory queue depth 0 after POST /admin/extract')

    def reply_next(self, text):
        """The fake's next non-stream answer says text."""
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], text.encode())
        self.assertEqual(r.status, 200, r)

    def says(self, agent, text, pieces):
        """What a round says: text in one body, pieces tok<i> in a stream."""
        return pieces if agent.stream else text

    def said(self, agent, text, pieces):
        return STREAM_TEXT[pieces] if agent.stream else text

    def archive(self, user):
        return [(m['role'], m['content']) for m in mh.get_memory(self.p, user)['archive']]

    def no_payload(self, mem):
        dump = json.dumps(mem)
        self.assertNotIn('TOOLPAYLOAD', dump, 'a tool result was recorded')
        self.assertNotIn(ARGS_WORD, dump, "a tool call's arguments were recorded")

    def extraction_of(self, question):
        """The newest extraction request that carries the question."""
        found = [r for r in mh.job_requests(self.fake, 'extract') if question in r['body']]
        return found[-1]['body'] if found else None

    def loop(self, api, stream, first_text=True):
        user = mh.uid('agent')
        question = 'Why does CI fail on main? (%s)' % user
        agent = Agent(self, api, stream, user)
        agent.ask(question)
        replaced = mh.jobs_metric(self.p, 'record', 'replaced')
        first = agent.round(self.says(agent, FIRST if first_text else '', 2 if first_text else 0),
                            True)
        want_first = self.said(agent, FIRST, 2) if first_text else ''
        self.assertEqual(first.text, want_first)
        # the request is recorded at once, with what the first round said
        settled = [('user', question)] + ([('assistant', want_first)] if first_text else [])
        mh.wait_memory(self.p, user, lambda m: [(x['role'], x['content']) for x in m['archive']]
                       == settled, what='the first round recorded')
        agent.answered(first)
        second = agent.round(self.says(agent, SECOND, 3), True)
        agent.answered(second)
        final = agent.round(self.says(agent, FINAL, 5), False)
        want = self.said(agent, FINAL, 5)
        self.assertEqual(final.text, want)
        mem = mh.wait_memory(self.p, user, lambda m: want in json.dumps(m['archive']),
                             what='the final answer recorded')
        self.settle()
        mem = mh.get_memory(self.p, user)
        self.assertEqual(self.archive(user), [('user', question), ('assistant', want)],
                         'the archive is not the request and its final answer')
        self.assertEqual(mh.buffer_pairs(mem), [('user', question), ('assistant', want)])
        self.no_payload(mem)
        # one reply replaced when the first round said something, none else
        self.assertEqual(mh.jobs_metric(self.p, 'record', 'replaced'),
                         replaced + (1 if first_text else 0))
        # the extraction model is asked about the final answer, not the first words
        body = mh.wait_for(lambda: (lambda b: b if b is not None and want in b else None)(
            self.extraction_of(question)), what='an extraction with the final answer')
        self.assertNotIn(self.said(agent, SECOND, 3) if not stream else SECOND, body)
        if not stream:
            self.assertNotIn(FIRST, body)
        self.assertNotIn('TOOLPAYLOAD', body, 'a tool result went to extraction')
        self.assertEqual(body.count(question), 1, 'the request went to extraction twice')
        return user, agent

    def test_the_final_answer_supersedes_the_first_words(self):
        for api in APIS:
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    self.loop(api, stream)

    def test_a_loop_that_began_without_words_gets_its_answer(self):
        for api in APIS:
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    self.loop(api, stream, first_text=False)

    def test_an_abandoned_loop_keeps_the_request(self):
        for api in APIS:
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    user = mh.uid('gone')
                    question = 'Please bump the SDK version (%s)' % user
                    agent = Agent(self, api, stream, user)
                    agent.ask(question)
                    agent.round(self.says(agent, '', 0), True)  # a call alone, then nothing
                    mem = mh.wait_memory(self.p, user, lambda m: m['archive'],
                                         what='the request recorded')
                    self.settle()
                    self.assertEqual(self.archive(user), [('user', question)])
                    self.no_payload(mem)

    def test_a_loop_begun_without_memory_is_recorded_at_its_end(self):
        """A loop whose first round recorded nothing (X-Memory: read then):
        its final round records the request, which it carries, with the
        answer; continuing upstream, with the answer alone, nothing."""
        for api in APIS:
            with self.subTest(api=api):
                user = mh.uid('late')
                question = 'Tidy up the imports (%s)' % user
                agent = Agent(self, api, False, user)
                agent.ask(question)
                agent.answered(agent.round(FIRST, True, x_memory='read'))
                final = agent.round(FINAL, False)
                self.settle()
                want = [('user', question), ('assistant', final.text)] \
                    if api in ('chat', 'messages', 'responses') else []
                self.assertEqual(self.archive(user), want)

    def test_a_later_question_is_a_turn_of_its_own(self):
        """After the loop, the client's next question (its conversation
        resent, or continued from the final response) is a turn of its
        own: the loop's turn stays as it was."""
        for api in APIS:
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    user, agent = self.loop(api, stream)
                    before = self.archive(user)
                    agent.answered(agent.last)
                    question = 'Thanks! Now open a PR for it.'
                    agent.ask(question)
                    reply = agent.round(self.says(agent, 'Opened PR 42.', 3), False)
                    mh.wait_memory(self.p, user, lambda m: reply.text in json.dumps(m['archive']),
                                   what='the next turn recorded')
                    self.settle()
                    self.assertEqual(self.archive(user),
                                     before + [('user', question), ('assistant', reply.text)])


class ParkedLoop(mh.MemCase):
    """A loop's rounds parked at a drain deadline (memory/park.h) keep
    what they are: after the next start, the request with its final answer.
    On LMDB (a park file lives in the storage directory)."""

    def test_parked_rounds_are_recorded_as_a_loop(self):
        if BACKEND != 'lmdb':
            return  # the same test as on LMDB: nothing of the backend's
        data = self.storage_dir()
        memory = {'mode': 'buffer', 'durable_ack': 'false'}
        self.p = self.start_proxy(workers=1, server={'drain_timeout_ms': 300}, memory=memory,
                                  storage={'path': data},  # no commit ends before the drain
                                  env={'MEMPROXY_TEST_COMMIT_DELAY_MS': '5000'})
        user = mh.uid('parked')
        question = 'Rotate the deploy keys (%s)' % user
        agent = Agent(self, 'responses_prev', False, user)  # a link among the rounds
        agent.ask(question)
        agent.answered(agent.round(FIRST, True))
        agent.answered(agent.round(SECOND, True))
        final = agent.round(FINAL, False)
        self.p.signal(signal.SIGTERM)
        self.assertEqual(self.p.wait_exit(10), 0)
        self.assertEqual(self.p.stop(), [])
        parked = sum(o['turns'] for o in self.p.log_objects()
                     if o.get('msg') == 'drain deadline: queued turns parked for the next start')
        self.assertGreaterEqual(parked, 2, 'the rounds were not parked: the test shows nothing')
        q = self.start_proxy(workers=1, memory=memory, storage={'path': data})
        self.assertIsNotNone(q.wait_log(lambda o: o.get('msg') == 'parked turns recorded', 5))
        self.assertEqual([(m['role'], m['content']) for m in mh.get_memory(q, user)['archive']],
                         [('user', question), ('assistant', final.text)])

    def reply_next(self, text):
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], text.encode())
        self.assertEqual(r.status, 200, r)


if __name__ == '__main__':
    harness.main('proxy_agent_outcomes')
