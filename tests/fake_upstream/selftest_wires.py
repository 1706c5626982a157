"""Self test of the fake upstream's other chat APIs (docs/fake-upstream.md):
the Responses API and the Anthropic Messages API, their streams, their
errors and misbehaviour, memory jobs over Messages; and on every chat API
(chat completions included) the `tool_use` directive, the named call of
X-Fake-Tool-Call, the reply shapes (`audio`, `refusal`, `no_text`) and the
providers' refusals of a broken tool loop; the probes of the root and the
model list. It drives the fake directly, over real
sockets. Python 3 standard library only.

Usage: selftest_wires.py path/to/fake_upstream
"""

import http.client
import json
import re
import socket
import subprocess
import sys
import time
import unittest

FAKE = None
PORT = None


def start_fake(path, *options):
    proc = subprocess.Popen([path, '--port', '0', '--quiet'] + list(options), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline()
    m = re.match(rb'^PORT (\d+)\n$', line)
    if not m:
        proc.kill()
        raise SystemExit('fake upstream printed no PORT line: %r' % line)
    return proc, int(m.group(1))


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def call(path, body=None, fake=None, headers=(), method='POST', port=None):
    """One request on a fresh connection (to PORT unless port); the body is
    JSON-encoded unless bytes."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    h = {'Content-Type': 'application/json'}
    if fake is not None:
        h['X-Fake-Behavior'] = fake
    h.update(dict(headers))
    c = http.client.HTTPConnection('127.0.0.1', port or PORT, timeout=10)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


def raw_call(path, body, fake):
    """The bytes of the answer as sent, read until the fake closes or resets;
    returns (bytes, reset)."""
    body = json.dumps(body).encode()
    s = socket.create_connection(('127.0.0.1', PORT), timeout=10)
    s.sendall(b'POST %s HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nX-Fake-Behavior: %s\r\n'
              b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s'
              % (path.encode(), fake.encode(), len(body), body))
    data = b''
    reset = False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except ConnectionResetError:
        reset = True
    finally:
        s.close()
    return data, reset


def events(body, eol=b'\n'):
    """The SSE events of a stream as (event name or None, parsed data)."""
    out = []
    for block in body.split(eol + eol):
        if not block:
            continue
        name = None
        data = None
        for line in block.split(eol):
            if line.startswith(b'event: '):
                name = line[7:].decode()
            elif line.startswith(b'data: '):
                data = line[6:].decode()
            else:
                raise AssertionError('unexpected SSE line %r' % line)
        out.append((name, json.loads(data)))
    return out


def control(path):
    return call(path, method='POST' if path == '/_fake/reset' else 'GET')


def requests_log():
    return control('/_fake/requests').json()


def _el(v):
    if isinstance(v, dict):
        v = {k: x for k, x in v.items() if k != 'cache_control'}
    return json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=False) + '\n'


def _each(v):
    return ''.join(_el(x) for x in v) if isinstance(v, list) else ('' if v is None else _el(v))


def canonical(body):
    """The fake's canonical prompt (docs/fake-upstream-wires.md, "Prompt caching")."""
    if 'max_tokens' in body:  # Messages (the tests' chat requests have none)
        return _each(body.get('tools')) + _each(body.get('system')) + ''.join(
            m['role'] + '\n' + _each(m['content']) for m in body['messages'])
    if 'input' in body:
        return _each(body.get('instructions')) + _each(body.get('tools')) + _each(body['input'])
    return _each(body.get('tools')) + _each(body['messages'])


def tokens(body):
    return (len(canonical(body).encode()) + 3) // 4


class ResponsesTest(unittest.TestCase):
    BODY = {'model': 'gpt-5-mini', 'input': [
        {'role': 'user', 'content': [{'type': 'input_text', 'text': 'hi'}]}]}

    def stream(self, fake=None):
        body = dict(self.BODY, stream=True)
        r = call('/v1/responses', body, fake)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('content-type'), 'text/event-stream')
        evs = events(r.body)
        for i, (name, data) in enumerate(evs):
            self.assertEqual(name, data['type'])
            self.assertEqual(data['sequence_number'], i)
        return r, evs

    def test_json_reply_is_a_completed_response(self):
        r = call('/v1/responses', self.BODY)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('content-type'), 'application/json')
        n = int(r.header('x-request-id')[len('fake-'):])
        self.assertEqual(r.json(), {
            'id': 'resp_%d' % n, 'object': 'response', 'created_at': 1700000000,
            'status': 'completed', 'model': 'gpt-5-mini',
            'output': [{'type': 'message', 'id': 'msg_%d' % n, 'status': 'completed',
                        'role': 'assistant',
                        'content': [{'type': 'output_text', 'text': 'Hello from fake upstream',
                                     'annotations': []}]}],
            'usage': {'input_tokens': tokens(self.BODY), 'output_tokens': 4,
                      'input_tokens_details': {'cached_tokens': 0},
                      'total_tokens': tokens(self.BODY) + 4}})

    def test_stream_events_in_order_and_deltas_join_to_the_text(self):
        r, evs = self.stream('events=4')
        n = int(r.header('x-request-id')[len('fake-'):])
        self.assertEqual([e[0] for e in evs], [
            'response.created', 'response.in_progress', 'response.output_item.added',
            'response.content_part.added'] + ['response.output_text.delta'] * 4 + [
            'response.output_text.done', 'response.content_part.done',
            'response.output_item.done', 'response.completed'])
        deltas = [d for name, d in evs if name == 'response.output_text.delta']
        for d in deltas:
            self.assertEqual((d['item_id'], d['output_index'], d['content_index']),
                             ('msg_%d' % n, 0, 0))
        text = ''.join(d['delta'] for d in deltas)
        self.assertEqual(text, 'tok0 tok1 tok2 tok3 ')
        done = dict(evs)
        self.assertEqual(done['response.output_text.done']['text'], text)
        self.assertEqual(done['response.content_part.done']['part']['text'], text)
        self.assertEqual(done['response.created']['response']['status'], 'in_progress')
        completed = done['response.completed']['response']
        whole = call('/v1/responses', self.BODY).json()
        self.assertEqual(sorted(completed), sorted(whole))
        self.assertEqual(completed['status'], 'completed')
        self.assertEqual(completed['id'], 'resp_%d' % n)
        self.assertEqual(completed['output'][0]['content'][0]['text'], text)
        self.assertEqual(completed['output'], [done['response.output_item.done']['item']])
        self.assertEqual(completed['usage']['output_tokens'], 4)

    def test_background_is_queued_without_output(self):
        r = call('/v1/responses', dict(self.BODY, background=True))
        self.assertEqual(r.status, 200)
        got = r.json()
        self.assertEqual((got['status'], got['output'], got['object']), ('queued', [], 'response'))
        self.assertNotIn('Hello', r.body.decode())

    def test_error_event_after_some_deltas_ends_the_stream(self):
        _, evs = self.stream('events=5,error_after=2')
        self.assertEqual([e[0] for e in evs][4:], ['response.output_text.delta'] * 2 + ['error'])
        self.assertEqual(evs[-1][1], {'type': 'error', 'code': 'server_error',
                                      'message': 'fake error event', 'param': None,
                                      'sequence_number': 6})

    def test_failed_replaces_completed(self):
        _, evs = self.stream('events=2,failed')
        self.assertEqual(evs[-2][0], 'response.output_item.done')
        name, data = evs[-1]
        self.assertEqual(name, 'response.failed')
        self.assertEqual(data['response']['status'], 'failed')
        self.assertEqual(data['response']['error'],
                         {'code': 'server_error', 'message': 'fake response failed'})
        self.assertNotIn('response.completed', [e[0] for e in evs])

    def test_failed_after_some_deltas(self):
        _, evs = self.stream('events=5,error_after=1,failed')
        self.assertEqual([e[0] for e in evs][3:],
                         ['response.content_part.added', 'response.output_text.delta',
                          'response.failed'])

    def test_http_error_is_openai_error_json(self):
        r = call('/v1/responses', dict(self.BODY, stream=True), 'status=429')
        self.assertEqual(r.status, 429)
        self.assertEqual(r.header('retry-after'), '1')
        self.assertEqual(r.json(), {'error': {'message': 'fake error 429', 'type': 'fake_error',
                                              'param': None, 'code': 'fake_429'}})

    def test_crlf_and_padding_apply_to_every_line(self):
        r = call('/v1/responses', dict(self.BODY, stream=True), 'events=2,crlf,event_bytes=400')
        self.assertNotIn(b'\n', r.body.replace(b'\r\n', b''))
        blocks = r.body.split(b'\r\n\r\n')[:-1]
        deltas = [b for b in blocks if b.startswith(b'event: response.output_text.delta\r\n')]
        self.assertEqual([len(b) + 4 for b in deltas], [400, 400])
        self.assertEqual(len(events(r.body, b'\r\n')), 10)

    def test_reset_after_counts_every_event(self):
        data, reset = raw_call('/v1/responses', dict(self.BODY, stream=True), 'events=3,reset_after=5')
        self.assertTrue(reset)
        body = data.split(b'\r\n\r\n', 1)[1]
        self.assertEqual(body.count(b'event: '), 5)
        self.assertEqual(body.count(b'response.output_text.delta'), 2)  # event name and type

    def test_recorded_with_its_path_and_headers(self):
        call('/v1/responses?x=1', self.BODY, headers={'OpenAI-Beta': 'responses=v1'})
        last = requests_log()[-1]
        self.assertEqual(last['path'], '/v1/responses?x=1')
        self.assertEqual(last['headers']['openai-beta'], 'responses=v1')
        self.assertEqual(json.loads(last['body']), self.BODY)
        self.assertIsNone(last['job'])


class MessagesTest(unittest.TestCase):
    BODY = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': [
        {'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}]}
    HEADERS = {'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01',
               'anthropic-beta': 'interleaved-thinking-2025-05-14'}

    def stream(self, fake=None):
        r = call('/v1/messages', dict(self.BODY, stream=True), fake, self.HEADERS)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('content-type'), 'text/event-stream')
        evs = events(r.body)
        for name, data in evs:
            self.assertEqual(name, data['type'])
        return r, evs

    def test_json_reply_is_a_message(self):
        r = call('/v1/messages', self.BODY, headers=self.HEADERS)
        self.assertEqual(r.status, 200)
        n = int(r.header('x-request-id')[len('fake-'):])
        self.assertEqual(r.json(), {
            'id': 'msg_%d' % n, 'type': 'message', 'role': 'assistant',
            'model': 'claude-sonnet-4-5',
            'content': [{'type': 'text', 'text': 'Hello from fake upstream'}],
            'stop_reason': 'end_turn', 'stop_sequence': None,
            'usage': {'input_tokens': tokens(self.BODY), 'output_tokens': 4,
                      'cache_creation_input_tokens': 0, 'cache_read_input_tokens': 0}})

    def test_stream_events_in_order_and_deltas_join_to_the_text(self):
        r, evs = self.stream('events=3')
        n = int(r.header('x-request-id')[len('fake-'):])
        self.assertEqual([e[0] for e in evs], [
            'message_start', 'ping', 'content_block_start'] + ['content_block_delta'] * 3 + [
            'content_block_stop', 'message_delta', 'message_stop'])
        start = evs[0][1]['message']
        self.assertEqual((start['id'], start['content'], start['stop_reason']),
                         ('msg_%d' % n, [], None))
        self.assertEqual(evs[2][1], {'type': 'content_block_start', 'index': 0,
                                     'content_block': {'type': 'text', 'text': ''}})
        deltas = [d for name, d in evs if name == 'content_block_delta']
        self.assertEqual({(d['index'], d['delta']['type']) for d in deltas}, {(0, 'text_delta')})
        self.assertEqual(''.join(d['delta']['text'] for d in deltas), 'tok0 tok1 tok2 ')
        self.assertEqual(evs[-2][1], {'type': 'message_delta',
                                      'delta': {'stop_reason': 'end_turn', 'stop_sequence': None},
                                      'usage': {'output_tokens': 3}})

    def test_thinking_and_tool_use_blocks_around_the_text(self):
        got = call('/v1/messages', self.BODY, 'thinking,tool_use').json()
        self.assertEqual([b['type'] for b in got['content']], ['thinking', 'text', 'tool_use'])
        thinking, text, tool = got['content']
        self.assertEqual(sorted(thinking), ['signature', 'thinking', 'type'])
        self.assertTrue(thinking['thinking'] and thinking['signature'])
        self.assertEqual(text['text'], 'Hello from fake upstream')
        self.assertTrue(tool['id'].startswith('toolu_'))
        self.assertEqual((tool['name'], tool['input']), ('get_weather', {'city': 'Paris'}))
        self.assertEqual(got['stop_reason'], 'tool_use')

    def test_thinking_and_tool_use_streamed_as_their_own_blocks(self):
        _, evs = self.stream('events=2,thinking,tool_use')
        blocks = {}
        for name, d in evs:
            if name == 'content_block_start':
                blocks[d['index']] = dict(d['content_block'])
            elif name == 'content_block_delta':
                b, delta = blocks[d['index']], d['delta']
                kind = delta['type']
                if kind == 'input_json_delta':
                    b['partial'] = b.get('partial', '') + delta['partial_json']
                else:
                    field = {'text_delta': 'text', 'thinking_delta': 'thinking',
                             'signature_delta': 'signature'}[kind]
                    b[field] += delta[field]
        self.assertEqual(sorted(blocks), [0, 1, 2])
        self.assertEqual(blocks[0]['type'], 'thinking')
        self.assertEqual(blocks[1], {'type': 'text', 'text': 'tok0 tok1 '})
        self.assertEqual(blocks[2]['type'], 'tool_use')
        self.assertEqual(json.loads(blocks[2]['partial']), {'city': 'Paris'})
        whole = call('/v1/messages', self.BODY, 'thinking,tool_use').json()['content']
        self.assertEqual(blocks[0]['thinking'], whole[0]['thinking'])
        self.assertEqual(blocks[0]['signature'], whole[0]['signature'])
        self.assertEqual(evs[-2][1]['delta']['stop_reason'], 'tool_use')
        self.assertEqual([n for n, _ in evs if n == 'content_block_stop'], ['content_block_stop'] * 3)

    def test_error_event_after_some_deltas_ends_the_stream(self):
        _, evs = self.stream('events=4,error_after=2')
        self.assertEqual([e[0] for e in evs][2:], ['content_block_start', 'content_block_delta',
                                                   'content_block_delta', 'error'])
        self.assertEqual(evs[-1][1], {'type': 'error', 'error': {'type': 'overloaded_error',
                                                                 'message': 'Overloaded'}})

    def test_http_errors_are_anthropic_error_json(self):
        for status, kind in ((400, 'invalid_request_error'), (429, 'rate_limit_error'),
                             (500, 'api_error'), (529, 'overloaded_error')):
            r = call('/v1/messages', dict(self.BODY, stream=True), 'status=%d' % status)
            self.assertEqual(r.status, status)
            self.assertEqual(r.header('content-type'), 'application/json')
            self.assertEqual(r.json(), {'type': 'error', 'error': {
                'type': kind, 'message': 'fake error %d' % status}})

    def test_count_tokens(self):
        body = {'model': 'claude-sonnet-4-5', 'max_tokens': 8,
                'messages': [{'role': 'user', 'content': 'hello'}]}
        r = call('/v1/messages/count_tokens', body, headers=self.HEADERS)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {'input_tokens': tokens(body)})
        self.assertEqual(call('/v1/messages', body).json()['usage']['input_tokens'], tokens(body))
        r = call('/v1/messages/count_tokens', dict(body, stream=True))
        self.assertEqual(r.header('content-type'), 'application/json')
        self.assertEqual(call('/v1/messages/count_tokens', body, 'status=401').json()['error']['type'],
                         'authentication_error')

    def test_headers_recorded_unchanged(self):
        self.stream()
        last = requests_log()[-1]
        self.assertEqual(last['path'], '/v1/messages')
        for k, v in self.HEADERS.items():
            self.assertEqual(last['headers'][k], v)

    def test_split_and_reset_after_apply(self):
        data, reset = raw_call('/v1/messages', dict(self.BODY, stream=True), 'events=2,split=5,reset_after=4')
        self.assertTrue(reset)
        body = data.split(b'\r\n\r\n', 1)[1]
        self.assertEqual(re.findall(rb'event: (\w+)', body),
                         [b'message_start', b'ping', b'content_block_start', b'content_block_delta'])


EXTRACT_SYSTEM = ('You extract durable facts about the user from one conversation turn. Answer with '
                  'one JSON object and nothing else, of exactly this form: {"entities":[{"key":'
                  '"...","value":"...","confidence":0.0}]}. JSON only.')
SUMMARY_SYSTEM = ('Fold the previous summary and the new messages into one updated summary of at '
                  'most %d words. Answer with the summary only.')
TURN = ("Conversation turn:\nuser: Hi, my name is Ada Lovelace. I live in London.\n"
        "assistant: My name is Bot.\n")
FOLD = ('Previous summary:\nSummary: user: My name is Ada. / user: I live in London.\n\n'
        'New messages:\nuser: I use ChromaDB as my vector store because it is fast.\n'
        'assistant: Good choice! Anything else?\n')
FACTS = {'entities': [{'key': 'name', 'value': 'Ada Lovelace', 'confidence': 0.9},
                      {'key': 'city', 'value': 'London', 'confidence': 0.9}]}


def job_body(system, user, user_as_blocks=False):
    content = [{'type': 'text', 'text': user}] if user_as_blocks else user
    return {'model': 'claude-haiku-4-5', 'max_tokens': 1024, 'system': system,
            'messages': [{'role': 'user', 'content': content}]}


class MessagesJobTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(control('/_fake/reset').json(), {'reset': True})

    def tearDown(self):
        control('/_fake/reset')

    def text_of(self, r):
        self.assertEqual(r.status, 200)
        got = r.json()
        self.assertEqual((got['type'], got['stop_reason']), ('message', 'end_turn'))
        self.assertEqual(len(got['content']), 1)
        self.assertEqual(got['content'][0]['type'], 'text')
        return got['content'][0]['text']

    def test_extraction_answered_in_messages_shape(self):
        text = self.text_of(call('/v1/messages', job_body(EXTRACT_SYSTEM, TURN)))
        self.assertEqual(json.loads(text), FACTS)
        blocks = job_body([{'type': 'text', 'text': EXTRACT_SYSTEM}], TURN, user_as_blocks=True)
        self.assertEqual(json.loads(self.text_of(call('/v1/messages', blocks))), FACTS)
        self.assertEqual(control('/_fake/jobs').json(), {'extract': 2, 'summarize': 0})
        self.assertEqual([r['job'] for r in requests_log()], ['extract', 'extract'])

    def test_summarization_answered_in_messages_shape(self):
        text = self.text_of(call('/v1/messages', job_body(SUMMARY_SYSTEM % 150, FOLD)))
        self.assertEqual(text, 'Summary: user: My name is Ada. / user: I live in London. / user: '
                               'I use ChromaDB as my vector store because it is fast. / '
                               'assistant: Good choice!')
        text = self.text_of(call('/v1/messages', job_body(SUMMARY_SYSTEM % 13, FOLD)))
        self.assertEqual(text, 'Summary: user: My name is Ada. / user: I live in London.')
        self.assertEqual(control('/_fake/jobs').json(), {'extract': 0, 'summarize': 2})

    def test_same_text_as_over_chat_completions(self):
        chat = {'model': 'm', 'response_format': {'type': 'json_object'}, 'messages': [
            {'role': 'system', 'content': EXTRACT_SYSTEM}, {'role': 'user', 'content': TURN}]}
        over_chat = call('/v1/chat/completions', chat).json()['choices'][0]['message']['content']
        over_messages = self.text_of(call('/v1/messages', job_body(EXTRACT_SYSTEM, TURN)))
        self.assertEqual(over_messages, over_chat)

    def test_not_jobs(self):
        injected = job_body('Notes from earlier conversations with this user.\n'
                            '[Conversation history summary]: Summary: user: hi', 'hi')
        no_system = {'model': 'm', 'messages': [{'role': 'user', 'content': 'a summary please'}]}
        for path, body, fake in (
                ('/v1/messages', injected, None),
                ('/v1/messages', no_system, None),
                ('/v1/messages', dict(job_body(EXTRACT_SYSTEM, TURN), stream=True), 'events=1'),
                ('/v1/messages/count_tokens', job_body(SUMMARY_SYSTEM % 10, FOLD), None),
                ('/v1/responses', job_body(EXTRACT_SYSTEM, TURN), None)):
            r = call(path, body, fake)
            self.assertEqual(r.status, 200)
            self.assertNotIn(b'Summary:', r.body)
            self.assertNotIn(b'entities', r.body)
        self.assertEqual(control('/_fake/jobs').json(), {'extract': 0, 'summarize': 0})

    def test_job_modes_apply(self):
        mode = call('/_fake/jobmode?extract=fenced&summarize=status500', method='POST')
        self.assertEqual(mode.json(), {'extract': 'fenced', 'summarize': 'status500'})
        text = self.text_of(call('/v1/messages', job_body(EXTRACT_SYSTEM, TURN)))
        self.assertTrue(text.startswith('Here is the JSON you asked for:\n```json\n{"entities":'))
        r = call('/v1/messages', job_body(SUMMARY_SYSTEM % 50, FOLD))
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json(), {'type': 'error', 'error': {'type': 'api_error',
                                                               'message': 'fake error 500'}})
        self.assertEqual(control('/_fake/jobs').json(), {'extract': 1, 'summarize': 1})


def common_tokens(a, b):
    """Tokens of the longest common byte prefix of two canonical prompts."""
    a, b = canonical(a).encode(), canonical(b).encode()
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n // 4


class CacheTest(unittest.TestCase):
    """Prompt caching as the providers do it (docs/fake-upstream.md)."""
    SYSTEM = 'You are terse. ' * 300  # ~1,100 tokens
    BP = {'type': 'ephemeral'}

    def setUp(self):
        self.assertEqual(call('/_fake/cache', method='POST').json()['prompts'], 0)

    def chat(self, msgs, model='gpt-4o', **extra):
        body = dict({'model': model, 'messages': list(msgs)}, **extra)
        r = call('/v1/chat/completions', body)
        self.assertEqual(r.status, 200)
        return body, r.json()['usage']

    def test_openai_prefix_from_1024_in_steps_of_128(self):
        msgs = [{'role': 'system', 'content': self.SYSTEM}, {'role': 'user', 'content': 'q0'}]
        first, u = self.chat(msgs)
        self.assertEqual(u['prompt_tokens_details'], {'cached_tokens': 0})
        self.assertEqual(u['prompt_tokens'], tokens(first))
        msgs += [{'role': 'assistant', 'content': 'a0'}, {'role': 'user', 'content': 'q1 ' * 200}]
        second, u = self.chat(msgs)
        shared = common_tokens(first, second)
        self.assertGreaterEqual(shared, 1024)
        self.assertEqual(u['prompt_tokens_details']['cached_tokens'], shared // 128 * 128)
        self.assertEqual(u['total_tokens'], u['prompt_tokens'] + u['completion_tokens'])
        # the same prompt again: all of it but the last token, in steps of 128
        _, u = self.chat(msgs)
        self.assertEqual(u['prompt_tokens_details']['cached_tokens'],
                         (tokens(second) - 1) // 128 * 128)
        # another model, an early change, a short prompt: nothing cached
        self.assertEqual(self.chat(msgs, model='gpt-4.1')[1]['prompt_tokens_details'],
                         {'cached_tokens': 0})
        changed = [{'role': 'system', 'content': 'Hi. ' + self.SYSTEM}] + msgs[1:]
        self.assertEqual(self.chat(changed)[1]['prompt_tokens_details']['cached_tokens'], 0)
        short = [{'role': 'user', 'content': 'hi'}]
        self.chat(short)
        self.assertEqual(self.chat(short)[1]['prompt_tokens_details']['cached_tokens'], 0)
        call('/_fake/cache', method='POST')
        self.assertEqual(self.chat(msgs)[1]['prompt_tokens_details']['cached_tokens'], 0)

    def test_chat_stream_usage_only_when_asked(self):
        msgs = [{'role': 'system', 'content': self.SYSTEM}, {'role': 'user', 'content': 'q'}]
        self.chat(msgs)
        r = call('/v1/chat/completions', {'model': 'gpt-4o', 'messages': msgs, 'stream': True},
                 'events=3')
        self.assertNotIn(b'usage', r.body)
        r = call('/v1/chat/completions', {'model': 'gpt-4o', 'messages': msgs, 'stream': True,
                                          'stream_options': {'include_usage': True}}, 'events=3')
        last = events(r.body.replace(b'data: [DONE]\n\n', b''))[-1][1]
        self.assertEqual(last['choices'], [])
        self.assertEqual(last['usage']['completion_tokens'], 3)
        self.assertEqual(last['usage']['prompt_tokens_details']['cached_tokens'],
                         (tokens({'messages': msgs}) - 1) // 128 * 128)

    def test_responses_cached_tokens_body_and_stream(self):
        body = {'model': 'gpt-5', 'instructions': self.SYSTEM, 'input': 'hello'}
        self.assertEqual(call('/v1/responses', body).json()['usage']['input_tokens_details'],
                         {'cached_tokens': 0})
        longer = dict(body, input=[{'role': 'user', 'content': 'hello'},
                                   {'role': 'user', 'content': 'more ' * 100}], stream=True)
        done = dict(events(call('/v1/responses', longer).body))['response.completed']
        u = done['response']['usage']
        self.assertEqual(u['input_tokens'], tokens(longer))
        self.assertEqual(u['input_tokens_details']['cached_tokens'],
                         common_tokens(body, longer) // 128 * 128)
        self.assertGreater(u['input_tokens_details']['cached_tokens'], 0)

    def messages(self, system, msgs, stream=False):
        body = {'model': 'claude-sonnet-4-5', 'max_tokens': 8, 'system': system, 'messages': msgs}
        if stream:
            evs = dict(events(call('/v1/messages', dict(body, stream=True)).body))
            return body, evs['message_start']['message']['usage'], evs['message_delta']['usage']
        r = call('/v1/messages', body)
        self.assertEqual(r.status, 200, r.body)
        return body, r.json()['usage']

    def test_anthropic_breakpoints_write_then_read(self):
        system = [{'type': 'text', 'text': self.SYSTEM, 'cache_control': self.BP}]
        turn1 = [{'role': 'user', 'content': [{'type': 'text', 'text': 'q1', 'cache_control': self.BP}]}]
        body, u = self.messages(system, turn1)
        whole = tokens(body)
        sys_end = len((_each(system)).encode()) // 4
        end1 = len(canonical(body).encode()) // 4
        self.assertEqual(u['cache_read_input_tokens'], 0)
        self.assertEqual(u['cache_creation_input_tokens'], end1)
        self.assertEqual(u['input_tokens'], whole - end1)
        self.assertGreater(sys_end, 1024)
        # next turn, the breakpoint moved to the newest message: reads turn 1's prefix
        turn2 = [{'role': 'user', 'content': [{'type': 'text', 'text': 'q1'}]},
                 {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a1'}]},
                 {'role': 'user', 'content': [{'type': 'text', 'text': 'q2', 'cache_control': self.BP}]}]
        body2, start, delta = self.messages(system, turn2, stream=True)
        end2 = len(canonical(body2).encode()) // 4
        self.assertEqual(start['cache_read_input_tokens'], end1)
        self.assertEqual(start['cache_creation_input_tokens'], end2 - end1)
        self.assertEqual(start['input_tokens'], tokens(body2) - end2)
        self.assertIn('output_tokens', delta)
        # a change in the system prompt misses both
        other = [{'type': 'text', 'text': 'New. ' + self.SYSTEM, 'cache_control': self.BP}]
        self.assertEqual(self.messages(other, turn2)[1]['cache_read_input_tokens'], 0)

    def test_anthropic_short_prefix_and_too_many_breakpoints(self):
        short = [{'type': 'text', 'text': 'short', 'cache_control': self.BP}]
        msgs = [{'role': 'user', 'content': 'hi'}]
        for _ in range(2):
            _, u = self.messages(short, msgs)
            self.assertEqual((u['cache_read_input_tokens'], u['cache_creation_input_tokens']), (0, 0))
        five = [{'type': 'text', 'text': 'b%d' % i, 'cache_control': self.BP} for i in range(5)]
        r = call('/v1/messages', {'model': 'claude-sonnet-4-5', 'max_tokens': 8, 'system': five,
                                  'messages': msgs})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {'type': 'error', 'error': {
            'type': 'invalid_request_error',
            'message': 'A maximum of 4 blocks with cache_control may be provided. Found 5.'}})

    def test_stats_sum_what_was_reported(self):
        system = [{'type': 'text', 'text': self.SYSTEM, 'cache_control': self.BP}]
        msgs = [{'role': 'user', 'content': 'hi'}]
        got = [self.messages(system, msgs)[1] for _ in range(2)]
        st = call('/_fake/cache', method='GET').json()
        self.assertEqual(st, call('/_fake/cache', method='GET').json())  # GET keeps it
        self.assertEqual(st['requests'], 2)
        self.assertEqual(st['prefixes'], 1)
        for k in ('input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'):
            self.assertEqual(st[k], sum(u[k] for u in got), k)


class StoredResponsesTest(unittest.TestCase):
    """What the Responses API stores of a request and carries into the
    turns that continue it (docs/fake-upstream-wires.md, "Stored
    responses")."""
    REPLY = {'type': 'message', 'role': 'assistant',
             'content': [{'type': 'output_text', 'text': 'Hello from fake upstream'}]}

    def turn(self, **body):
        r = call('/v1/responses', dict({'model': 'gpt-5', 'instructions': 'Be brief.'}, **body))
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def stored(self, rid):
        return control('/_fake/stored?id=' + rid)

    def test_a_chain_is_kept_and_carried_without_instructions(self):
        first = self.turn(input='first')
        kept = self.stored(first['id'])
        self.assertEqual(kept.status, 200, kept.body)
        items = [{'role': 'user', 'content': 'first'}, self.REPLY]
        self.assertEqual(kept.json(), {'id': first['id'], 'items': items})
        second_input = [{'role': 'user', 'content': [{'type': 'input_text', 'text': 'second'}]}]
        second = self.turn(previous_response_id=first['id'], input=second_input)
        self.assertEqual(self.stored(second['id']).json()['items'],
                         items + second_input + [self.REPLY])
        # the provider's prompt: instructions, then the chain's items, then the input
        seen = {'instructions': 'Be brief.', 'input': items + second_input}
        self.assertEqual(second['usage']['input_tokens'], tokens(seen))
        # store false: nothing kept, the prompt still continues the chain
        third = self.turn(previous_response_id=second['id'], input='third', store=False)
        self.assertEqual(self.stored(third['id']).status, 404)
        seen = {'instructions': 'Be brief.',
                'input': items + second_input + [self.REPLY, {'role': 'user', 'content': 'third'}]}
        self.assertEqual(third['usage']['input_tokens'], tokens(seen))

    def test_unknown_ids_and_bad_queries(self):
        lone = self.turn(previous_response_id='resp_999999', input='alone')
        self.assertEqual(self.stored(lone['id']).json()['items'],
                         [{'role': 'user', 'content': 'alone'}, self.REPLY])
        self.assertEqual(self.stored('resp_999999').status, 404)
        self.assertEqual(control('/_fake/stored').status, 400)
        self.assertEqual(control('/_fake/stored?x=1').status, 400)


class NoPromptCacheTest(unittest.TestCase):
    """--no-prompt-cache: usage from the body's bytes, nothing cached, no
    body parsed (docs/fake-upstream.md)."""

    def setUp(self):
        self.proc, self.port = start_fake(FAKE, '--no-prompt-cache')
        self.addCleanup(self.stop)

    def stop(self):
        self.proc.terminate()
        self.assertEqual(self.proc.wait(timeout=10), 0)
        self.assertEqual(self.proc.stderr.read(), b'')

    def test_usage_counts_bytes_and_caches_nothing(self):
        body = json.dumps({'model': 'gpt-4o', 'messages': [
            {'role': 'system', 'content': CacheTest.SYSTEM}, {'role': 'user', 'content': 'q'}]}).encode()
        for _ in range(2):  # the same long prompt twice: cached the second time with caching on
            r = call('/v1/chat/completions', body, port=self.port)
            self.assertEqual(r.status, 200)
            u = r.json()['usage']
            self.assertEqual(u['prompt_tokens'], (len(body) + 3) // 4)
            self.assertEqual(u['prompt_tokens_details'], {'cached_tokens': 0})
        stats = call('/_fake/cache', method='GET', port=self.port).json()
        self.assertEqual((stats['prompts'], stats['requests']), (0, 0))
        # a body that is no JSON at all is answered the same way: nothing reads it
        r = call('/v1/chat/completions', b'not json', port=self.port)
        self.assertEqual((r.status, r.json()['usage']['prompt_tokens']), (200, 2))

    def test_tool_loops_still_validated(self):
        r = call('/v1/chat/completions', {'model': 'm', 'messages': [tool('call_x')]}, port=self.port)
        self.assertEqual((r.status, r.json()), (400, openai_refusal(STRAY_TOOL, 'messages.[0].role')))
        ok = {'model': 'm', 'messages': [user(), calls('call_a'), tool('call_a')]}
        r = call('/v1/chat/completions', ok, port=self.port)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()['usage']['prompt_tokens'], (len(json.dumps(ok)) + 3) // 4)
        self.assertEqual(call('/_fake/stats', method='GET', port=self.port).json()['invalid'], 1)
        self.assertEqual(call('/_fake/cache', method='GET', port=self.port).json()['requests'], 0)


def _fnv(h, data):
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def route_home(body, machines):
    """The machine a request's route hashes to (docs/fake-upstream.md,
    "Routing"): FNV-1a 64 of the model, NUL, the canonical prompt's first
    1,024 bytes, NUL, prompt_cache_key, then splitmix64's finalizer."""
    h = _fnv(14695981039346656037, body['model'].encode() + b'\0')
    h = _fnv(h, canonical(body).encode()[:1024] + b'\0')
    h = _fnv(h, body.get('prompt_cache_key', '').encode())
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & 0xFFFFFFFFFFFFFFFF
    return (h ^ (h >> 31)) % machines


class RoutingTest(unittest.TestCase):
    """OpenAI's routing by prefix and prompt_cache_key over machines with a
    cache each, overflow past a route's rate, idle prompts dropped, on the
    virtual clock of X-Fake-Now-Ms (docs/fake-upstream-wires.md, "Routing")."""
    M, R = 4, 3

    def setUp(self):
        self.proc, self.port = start_fake(FAKE, '--machines', str(self.M), '--route-rate', str(self.R))
        self.addCleanup(self.stop)

    def stop(self):
        self.proc.terminate()
        self.assertEqual(self.proc.wait(timeout=10), 0)
        self.proc.stdout.close()
        with self.proc.stderr:
            self.assertEqual(self.proc.stderr.read(), b'')

    def routing(self):
        return call('/_fake/routing', method='GET', port=self.port).json()

    def body(self, question, key=None, system=CacheTest.SYSTEM):
        b = {'model': 'gpt-4o', 'messages': [{'role': 'system', 'content': system},
                                             {'role': 'user', 'content': question}]}
        if key is not None:
            b['prompt_cache_key'] = key
        return b

    def send(self, body, now_ms):
        """(machine that served it, cached tokens) of body sent at now_ms."""
        before = self.routing()['requests']
        r = call('/v1/chat/completions', body, headers=[('X-Fake-Now-Ms', str(now_ms))], port=self.port)
        self.assertEqual(r.status, 200, r.body)
        after = self.routing()['requests']
        served = [m for m in range(self.M) if after[m] != before[m]]
        self.assertEqual(len(served), 1)
        return served[0], r.json()['usage']['prompt_tokens_details']['cached_tokens']

    def test_off_by_default(self):
        st = call('/_fake/routing', method='GET').json()  # the shared fake: no option given
        self.assertEqual((st['machines'], st['requests'], st['prompts']), (0, [], []))
        call('/_fake/cache', method='POST')
        b = self.body('q')
        for t in (0, 10 ** 12):  # years of the clock apart: one cache, nothing dropped
            r = call('/v1/chat/completions', b, headers=[('X-Fake-Now-Ms', str(t))])
            self.assertEqual(r.status, 200)
        self.assertGreaterEqual(r.json()['usage']['prompt_tokens_details']['cached_tokens'], 1024)

    def test_a_route_stays_home_up_to_its_rate_then_overflows_in_turn(self):
        home = route_home(self.body('q0'), self.M)
        got = [self.send(self.body('q%d' % i), 1000 * i) for i in range(7)]
        # the first R at home (the first misses, the next read it), then the other machines
        # in turn, each missing until it saw the prompt once
        self.assertEqual([m for m, _ in got], [home] * 3 + [(home + k) % self.M for k in (1, 2, 3, 1)])
        self.assertEqual([c > 0 for _, c in got], [False, True, True, False, False, False, True])
        st = self.routing()
        self.assertEqual((st['home'], st['overflow'], st['routes'], st['now_ms']), (3, 4, 1, 6000))
        # the window is the last 60 s: at 60,000 the request at 0 has left it, one place frees
        self.assertEqual(self.send(self.body('q7'), 60000)[0], home)
        self.assertEqual(self.send(self.body('q8'), 60000)[0], (home + 2) % self.M)
        self.assertEqual(self.send(self.body('q9'), 61000)[0], home)

    def test_the_route_is_model_prefix_and_key(self):
        homes = set()
        for k in range(16):
            b = self.body('q', key='user-%d' % k)
            m, _ = self.send(b, 0)
            self.assertEqual(m, route_home(b, self.M))
            homes.add(m)
        self.assertGreater(len(homes), 1)  # the key moves the route
        # past the first 1,024 bytes the prompt does not route: one route, whatever follows
        long = 'S' * 1100
        self.assertEqual(len(canonical(self.body('a', system=long)).encode()[:1024]), 1024)
        firsts = {self.send(self.body(q, system=long), 1000)[0] for q in ('a', 'b', 'c')}
        self.assertEqual(firsts, {route_home(self.body('a', system=long), self.M)})
        self.assertEqual(self.routing()['overflow'], 0)
        self.assertEqual(self.send(self.body('d', system=long), 1000)[0],
                         (route_home(self.body('a', system=long), self.M) + 1) % self.M)

    def test_idle_prompts_are_dropped(self):
        b = self.body('q')
        self.assertEqual(self.send(b, 0)[1], 0)
        self.assertGreater(self.send(b, 299999)[1], 0)  # read: warm for 5 more minutes
        self.assertGreater(self.send(b, 599998)[1], 0)
        self.assertEqual(self.send(b, 899998)[1], 0)  # 300,000 ms unused: dropped
        self.assertEqual(self.routing()['dropped'], 1)

    def test_a_prompt_read_stays_warm(self):
        a, b = self.body('qa'), self.body('qb')
        home = self.send(a, 0)[0]
        self.assertGreater(self.send(b, 200000)[1], 0)  # b reads a's prefix: both kept, a used now
        self.send(self.body('x', system='short'), 450000)  # a written at 0, read at 200000: kept
        st = self.routing()
        self.assertEqual((st['dropped'], st['prompts'][home]), (0, 2))
        self.send(self.body('x', system='short'), 500000)
        self.assertEqual(self.routing()['dropped'], 2)

    def test_clock_control_and_reset(self):
        self.send(self.body('q'), 5000)
        self.send(self.body('q'), 10)  # the clock never goes back
        self.assertEqual(self.routing()['now_ms'], 5000)
        r = call('/v1/chat/completions', self.body('q'), headers=[('X-Fake-Now-Ms', '-1')], port=self.port)
        self.assertEqual((r.status, r.json()['error']['type']), (400, 'fake_bad_behavior'))
        call('/_fake/reset', port=self.port)  # settings stay; clock, routes and counts go
        st = self.routing()
        self.assertEqual((st['machines'], st['rate'], st['idle_ms'], st['now_ms'], st['home'], st['requests']),
                         (self.M, self.R, 300000, 0, 0, [0] * self.M))
        st = call('/_fake/routing?machines=2&rate=0&idle_ms=0', port=self.port).json()
        self.assertEqual((st['machines'], st['rate'], st['idle_ms'], st['requests']), (2, 0, 0, [0, 0]))
        self.assertEqual(call('/_fake/routing?machines=65', port=self.port).status, 400)
        self.assertEqual(call('/_fake/routing?speed=1', port=self.port).status, 400)
        self.assertEqual(self.routing()['machines'], 2)


def request_n(r):
    return int(r.header('x-request-id')[len('fake-'):])


def chat_events(body):
    """The JSON chunks of a chat completions stream, [DONE] checked and left out."""
    assert body.endswith(b'data: [DONE]\n\n'), body[-60:]
    return [d for _, d in events(body[:-len(b'data: [DONE]\n\n')])]


def chat_assistant(chunks):
    """The assistant message a chat completions stream builds, as a client
    joins the deltas, and the finish reason."""
    msg = {'role': 'assistant', 'content': ''}
    finish = None
    for c in chunks:
        choice = c['choices'][0]
        delta = choice['delta']
        msg['content'] += delta.get('content') or ''
        for tc in delta.get('tool_calls', []):
            calls = msg.setdefault('tool_calls', [])
            if tc['index'] == len(calls):
                calls.append({'id': tc['id'], 'type': tc['type'],
                              'function': {'name': tc['function']['name'], 'arguments': ''}})
            calls[tc['index']]['function']['arguments'] += tc['function']['arguments']
        finish = choice['finish_reason'] or finish
    return msg, finish


class ToolUseDirectiveTest(unittest.TestCase):
    """`tool_use` on chat completions and Responses (Messages: MessagesTest)."""
    CHAT = {'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'weather?'}]}
    RESP = {'model': 'gpt-5-mini', 'input': 'weather?'}
    ARGS = '{"city": "Paris"}'

    def test_chat_json_has_one_tool_call(self):
        r = call('/v1/chat/completions', self.CHAT, 'tool_use')
        self.assertEqual(r.status, 200)
        choice = r.json()['choices'][0]
        self.assertEqual(choice, {'index': 0, 'finish_reason': 'tool_calls', 'message': {
            'role': 'assistant', 'content': 'Hello from fake upstream', 'tool_calls': [
                {'id': 'call_fake%d' % request_n(r), 'type': 'function',
                 'function': {'name': 'get_weather', 'arguments': self.ARGS}}]}})
        plain = call('/v1/chat/completions', self.CHAT).json()['choices'][0]
        self.assertEqual((plain['finish_reason'], sorted(plain['message'])),
                         ('stop', ['content', 'role']))

    def test_chat_stream_sends_the_call_as_openai_does(self):
        r = call('/v1/chat/completions', dict(self.CHAT, stream=True), 'tool_use,events=2')
        chunks = chat_events(r.body)
        deltas = [c['choices'][0]['delta'] for c in chunks]
        n = request_n(r)
        self.assertEqual(deltas, [
            {'content': 'tok0 '}, {'content': 'tok1 '},
            {'tool_calls': [{'index': 0, 'id': 'call_fake%d' % n, 'type': 'function',
                             'function': {'name': 'get_weather', 'arguments': ''}}]},
            {'tool_calls': [{'index': 0, 'function': {'arguments': '{"city":'}}]},
            {'tool_calls': [{'index': 0, 'function': {'arguments': ' "Paris"}'}}]},
            {}])
        self.assertEqual([c['choices'][0]['finish_reason'] for c in chunks],
                         [None] * 5 + ['tool_calls'])
        msg, _ = chat_assistant(chunks)
        whole = call('/v1/chat/completions', self.CHAT, 'tool_use').json()['choices'][0]['message']
        self.assertEqual(msg['tool_calls'][0]['function'], whole['tool_calls'][0]['function'])

    def test_chat_stream_error_sends_no_call(self):
        r = call('/v1/chat/completions', dict(self.CHAT, stream=True), 'tool_use,events=3,error_after=1')
        self.assertNotIn(b'tool_calls', r.body)
        self.assertIn(b'fake error event', r.body)

    def test_responses_json_has_a_function_call_after_the_message(self):
        r = call('/v1/responses', self.RESP, 'tool_use')
        self.assertEqual(r.status, 200)
        out = r.json()['output']
        n = request_n(r)
        self.assertEqual([o['type'] for o in out], ['message', 'function_call'])
        self.assertEqual(out[0]['content'][0]['text'], 'Hello from fake upstream')
        self.assertEqual(out[1], {'type': 'function_call', 'id': 'fc_%d' % n,
                                  'call_id': 'call_fake%d' % n, 'name': 'get_weather',
                                  'arguments': self.ARGS, 'status': 'completed'})

    def test_responses_stream_events_in_order(self):
        r = call('/v1/responses', dict(self.RESP, stream=True), 'tool_use,events=1')
        evs = events(r.body)
        n = request_n(r)
        self.assertEqual([e[0] for e in evs][7:], [
            'response.output_item.done', 'response.output_item.added',
            'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
            'response.function_call_arguments.done', 'response.output_item.done',
            'response.completed'])
        self.assertEqual([d['sequence_number'] for _, d in evs], list(range(len(evs))))
        added, d1, d2, done, item_done = [d for _, d in evs[8:13]]
        self.assertEqual((added['output_index'], added['item']),
                         (1, {'type': 'function_call', 'id': 'fc_%d' % n, 'call_id': 'call_fake%d' % n,
                              'name': 'get_weather', 'arguments': '', 'status': 'in_progress'}))
        for d in (d1, d2, done):
            self.assertEqual((d['item_id'], d['output_index']), ('fc_%d' % n, 1))
        self.assertEqual(d1['delta'] + d2['delta'], self.ARGS)
        self.assertEqual(done['arguments'], self.ARGS)
        self.assertEqual(item_done['item'], dict(added['item'], arguments=self.ARGS, status='completed'))
        completed = evs[-1][1]['response']
        self.assertEqual(completed['output'], [evs[7][1]['item'], item_done['item']])

    def test_responses_error_or_failed_sends_no_call(self):
        r = call('/v1/responses', dict(self.RESP, stream=True), 'tool_use,events=3,error_after=1')
        self.assertNotIn(b'function_call', r.body)
        r = call('/v1/responses', self.RESP, 'tool_use,failed')
        self.assertEqual(r.json()['output'], [])


def openai_refusal(message, param):
    return {'error': {'message': message, 'type': 'invalid_request_error', 'param': param,
                      'code': None}}


def anthropic_refusal(message):
    return {'type': 'error', 'error': {'type': 'invalid_request_error', 'message': message}}


UNANSWERED = ("An assistant message with 'tool_calls' must be followed by tool messages responding "
              "to each 'tool_call_id'. The following tool_call_ids did not have response messages: ")
STRAY_TOOL = ("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
              "message with 'tool_calls'.")


def calls(*ids):
    return {'role': 'assistant', 'content': None, 'tool_calls': [
        {'id': i, 'type': 'function', 'function': {'name': 'f', 'arguments': '{}'}} for i in ids]}


def tool(i):
    return {'role': 'tool', 'tool_call_id': i, 'content': 'ok'}


def user(text='q'):
    return {'role': 'user', 'content': text}


def uses(*ids):
    return {'role': 'assistant', 'content': [{'type': 'text', 'text': 'let me see'}] + [
        {'type': 'tool_use', 'id': i, 'name': 'f', 'input': {}} for i in ids]}


def result(i):
    return {'type': 'tool_result', 'tool_use_id': i, 'content': 'ok'}


def fcall(i):
    return {'type': 'function_call', 'call_id': i, 'name': 'f', 'arguments': '{}'}


def fout(i):
    return {'type': 'function_call_output', 'call_id': i, 'output': 'ok'}


class ReplyShapeDirectivesTest(unittest.TestCase):
    """`audio`, `refusal` and `no_text`: the words where each API puts a
    voice reply's, a refusal's, or none; the same in one body as in a
    stream's pieces joined."""
    CHAT = {'model': 'gpt-4o-audio-preview', 'messages': [{'role': 'user', 'content': 'hi'}]}
    RESP = {'model': 'gpt-5-mini', 'input': 'hi'}
    MSGS = {'model': 'claude-sonnet-4-5', 'max_tokens': 64,
            'messages': [{'role': 'user', 'content': 'hi'}]}

    def stream(self, path, body, fake):
        r = call(path, dict(body, stream=True), fake + ',events=2')
        self.assertEqual(r.status, 200)
        return [d for _, d in events(r.body.replace(b'data: [DONE]\n\n', b''))]

    def test_chat(self):
        msg = call('/v1/chat/completions', self.CHAT, 'audio').json()['choices'][0]['message']
        self.assertIsNone(msg['content'])
        self.assertEqual(msg['audio']['transcript'], 'Hello from fake upstream')
        self.assertTrue(msg['audio']['data'] and msg['audio']['id'])
        choice = call('/v1/chat/completions', self.CHAT, 'refusal').json()['choices'][0]
        self.assertEqual((choice['message']['content'], choice['message']['refusal']),
                         (None, 'Hello from fake upstream'))
        choice = call('/v1/chat/completions', self.CHAT, 'no_text').json()['choices'][0]
        self.assertEqual(choice['message'], {'role': 'assistant', 'content': None, 'refusal': None})
        self.assertEqual(choice['finish_reason'], 'content_filter')
        for fake, field in (('audio', 'transcript'), ('refusal', 'refusal')):
            deltas = [c['choices'][0]['delta'] for c in self.stream('/v1/chat/completions',
                                                                      self.CHAT, fake)]
            words = ''.join((d.get('audio') or {}).get('transcript', '') if fake == 'audio'
                            else d.get('refusal') or '' for d in deltas)
            self.assertEqual(words, 'tok0 tok1 ', field)
            self.assertFalse(any(d.get('content') for d in deltas))
        chunks = self.stream('/v1/chat/completions', self.CHAT, 'no_text')
        self.assertEqual([c['choices'][0] for c in chunks],
                         [{'index': 0, 'delta': {}, 'finish_reason': 'content_filter'}])

    def test_responses(self):
        for fake, part in (('audio', {'type': 'output_audio', 'data': 'UklGRiQAAABXQVZF',
                                      'transcript': 'Hello from fake upstream'}),
                           ('refusal', {'type': 'refusal', 'refusal': 'Hello from fake upstream'})):
            out = call('/v1/responses', self.RESP, fake).json()['output']
            self.assertEqual([i['content'] for i in out], [[part]], fake)
        out = call('/v1/responses', self.RESP, 'no_text').json()['output']
        self.assertEqual([i['type'] for i in out], ['reasoning', 'image_generation_call'])
        for fake, delta in (('audio', 'response.audio.transcript.delta'),
                            ('refusal', 'response.refusal.delta')):
            evs = self.stream('/v1/responses', self.RESP, fake)
            self.assertEqual(''.join(d['delta'] for d in evs if d['type'] == delta), 'tok0 tok1 ')
            self.assertFalse([d for d in evs if d['type'] == 'response.output_text.delta'])
            done = evs[-1]['response']['output'][0]['content'][0]
            self.assertEqual(done.get('transcript', done.get('refusal')), 'tok0 tok1 ')
        evs = self.stream('/v1/responses', self.RESP, 'no_text')
        self.assertEqual([(d['type'], d.get('item', {}).get('type')) for d in evs[2:]],
                         [('response.output_item.added', 'reasoning'),
                          ('response.output_item.done', 'reasoning'),
                          ('response.output_item.added', 'image_generation_call'),
                          ('response.output_item.done', 'image_generation_call'),
                          ('response.completed', None)])

    def test_messages(self):
        got = call('/v1/messages', self.MSGS, 'refusal').json()
        self.assertEqual((got['content'], got['stop_reason']), ([], 'refusal'))
        got = call('/v1/messages', self.MSGS, 'no_text').json()
        self.assertEqual([b['type'] for b in got['content']], ['redacted_thinking'])
        self.assertEqual(call('/v1/messages', self.MSGS, 'audio').json()['content'],
                         call('/v1/messages', self.MSGS).json()['content'])
        evs = self.stream('/v1/messages', self.MSGS, 'refusal')
        self.assertEqual([d['type'] for d in evs],
                         ['message_start', 'ping', 'message_delta', 'message_stop'])
        self.assertEqual(evs[2]['delta']['stop_reason'], 'refusal')
        evs = self.stream('/v1/messages', self.MSGS, 'no_text')
        self.assertEqual([d.get('content_block', {}).get('type') for d in evs
                          if d['type'] == 'content_block_start'], ['redacted_thinking'])
        self.assertFalse([d for d in evs if d['type'] == 'content_block_delta'])


class ValidationTest(unittest.TestCase):
    """The providers' refusals of a broken tool loop, and the loops they
    accept (docs/fake-upstream-wires.md, "Request validation")."""

    def setUp(self):
        control('/_fake/reset')

    def invalid(self):
        return control('/_fake/stats').json()['invalid']

    def refused(self, path, body, want, fake=None):
        before = self.invalid()
        for stream in (False, True):
            r = call(path, dict(body, stream=True) if stream else body, fake)
            self.assertEqual((r.status, r.header('content-type')), (400, 'application/json'), r.body)
            self.assertEqual(r.json(), want)
        self.assertEqual(self.invalid(), before + 2)

    def accepted(self, path, body):
        for stream in (False, True):
            r = call(path, dict(body, stream=True) if stream else body)
            self.assertEqual(r.status, 200, r.body)

    def chat(self, msgs, want=None):
        body = {'model': 'gpt-4o', 'messages': msgs}
        if want is None:
            return self.accepted('/v1/chat/completions', body)
        self.refused('/v1/chat/completions', body, openai_refusal(*want))

    def messages(self, msgs, want=None, **extra):
        body = dict({'model': 'claude-sonnet-4-5', 'max_tokens': 8, 'messages': msgs}, **extra)
        if want is None:
            return self.accepted('/v1/messages', body)
        self.refused('/v1/messages', body, anthropic_refusal(want))

    def responses(self, items, want=None, **extra):
        body = dict({'model': 'gpt-5-mini', 'input': items}, **extra)
        if want is None:
            return self.accepted('/v1/responses', body)
        self.refused('/v1/responses', body, openai_refusal(want, 'input'))

    def test_chat_calls_answered_by_the_tool_messages_right_after(self):
        self.chat([user(), calls('call_a', 'call_b'), tool('call_b'), tool('call_a'), user()])
        self.chat([user(), calls('call_a'), tool('call_a')])
        self.chat([user(), {'role': 'assistant', 'content': 'hi', 'tool_calls': []}, user()])

    def test_chat_unanswered_calls_refused(self):
        self.chat([user(), calls('call_a', 'call_b'), tool('call_a'), user()],
                  (UNANSWERED + 'call_b', 'messages.[1].role'))
        self.chat([user(), user(), calls('call_a', 'call_b')],
                  (UNANSWERED + 'call_a, call_b', 'messages.[2].role'))

    def test_chat_message_between_calls_and_answers_refused(self):
        self.chat([user(), calls('call_x'), {'role': 'system', 'content': 'memory'}, tool('call_x')],
                  (UNANSWERED + 'call_x', 'messages.[1].role'))

    def test_chat_tool_message_without_its_call_refused(self):
        self.chat([user(), tool('call_x')], (STRAY_TOOL, 'messages.[1].role'))
        self.chat([user(), calls('call_a'), tool('call_b')], (STRAY_TOOL, 'messages.[2].role'))
        self.chat([user(), calls('call_a'), tool('call_a'), user(), tool('call_a')],
                  (STRAY_TOOL, 'messages.[4].role'))

    def test_messages_results_first_in_the_next_message(self):
        self.messages([user(), uses('toolu_a', 'toolu_b'),
                       {'role': 'user', 'content': [result('toolu_b'), result('toolu_a'),
                                                    {'type': 'text', 'text': 'and?'}]}])

    def test_messages_text_before_the_results_refused(self):
        self.messages([user(), uses('toolu_a'), {'role': 'user', 'content': [
            {'type': 'text', 'text': 'memory'}, result('toolu_a')]}],
            'messages.2: Did not find 1 `tool_result` block(s) at the beginning of this message. '
            'Messages following `tool_use` blocks must begin with a matching number of '
            '`tool_result` blocks.')
        self.messages([user(), uses('toolu_a', 'toolu_b'), user()],
                      'messages.2: Did not find 2 `tool_result` block(s) at the beginning of this '
                      'message. Messages following `tool_use` blocks must begin with a matching '
                      'number of `tool_result` blocks.')

    def test_messages_missing_results_refused(self):
        tail = ('. Each `tool_use` block must have a corresponding `tool_result` block in the next '
                'message.')
        head = 'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: '
        self.messages([user(), uses('toolu_a', 'toolu_b', 'toolu_c'),
                       {'role': 'user', 'content': [result('toolu_b')]}],
                      head + 'toolu_a, toolu_c' + tail)
        self.messages([user(), uses('toolu_a'),
                       {'role': 'user', 'content': [result('toolu_b'), result('toolu_a')]}],
                      'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: '
                      'toolu_b. Each `tool_result` block must have a corresponding `tool_use` block '
                      'in the previous message.')
        self.messages([user(), uses('toolu_a')], head + 'toolu_a' + tail)

    def test_messages_result_without_its_call_refused(self):
        self.messages([{'role': 'user', 'content': [{'type': 'text', 'text': 'q'}, result('toolu_z')]}],
                      'messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks: '
                      'toolu_z. Each `tool_result` block must have a corresponding `tool_use` block '
                      'in the previous message.')

    def test_messages_at_most_4_cache_controls(self):
        bp = {'type': 'ephemeral'}
        tools = [{'name': 't', 'input_schema': {'type': 'object'}, 'cache_control': bp}]
        system = [{'type': 'text', 'text': 's', 'cache_control': bp}] * 2
        four = [{'role': 'user', 'content': [{'type': 'text', 'text': 'q', 'cache_control': bp},
                                             {'type': 'text', 'text': 'r', 'cache_control': None}]}]
        self.messages(four, tools=tools, system=system)
        six = [{'role': 'user', 'content': [{'type': 'text', 'text': 'q', 'cache_control': bp}]},
               {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a', 'cache_control': bp}]},
               {'role': 'user', 'content': [{'type': 'text', 'text': 'q', 'cache_control': bp}]}]
        self.messages(six, 'A maximum of 4 blocks with cache_control may be provided. Found 6.',
                      tools=tools, system=system)

    def test_responses_outputs_answer_earlier_calls(self):
        self.responses([user(), fcall('call_a'), fcall('call_b'), fout('call_b'),
                        {'type': 'message', 'role': 'assistant', 'content': 'hm'}, fout('call_a'),
                        user()])
        self.responses([fout('call_x')], previous_response_id='resp_1')
        self.responses([fout('call_x')], conversation='conv_1')
        self.responses('function_call_output')

    def test_responses_output_without_its_call_refused(self):
        self.responses([user(), fout('call_x')],
                       'No tool call found for function call output with call_id call_x.')
        self.responses([user(), fout('call_a'), fcall('call_a')],
                       'No tool call found for function call output with call_id call_a.')

    def test_responses_call_without_its_output_refused(self):
        self.responses([user(), fcall('call_x'), {'role': 'developer', 'content': 'memory'},
                        fout('call_x')], 'No tool output found for function call call_x.')
        self.responses([user(), fcall('call_a'), fout('call_a'), fcall('call_b')],
                       'No tool output found for function call call_b.')

    def test_refusal_beats_directives_and_jobs(self):
        broken = [user(), tool('call_x')]
        r = call('/v1/chat/completions', {'model': 'm', 'messages': broken}, 'status=503,echo')
        self.assertEqual((r.status, r.json()), (400, openai_refusal(STRAY_TOOL, 'messages.[1].role')))
        self.assertIsNone(r.header('retry-after'))
        r = call('/v1/chat/completions', {'model': 'm', 'messages': broken}, 'status=9')
        self.assertEqual(r.json()['error']['type'], 'fake_bad_behavior')  # bad directive first
        job = {'model': 'm', 'response_format': {'type': 'json_object'}, 'messages': [
            {'role': 'system', 'content': EXTRACT_SYSTEM}] + broken}
        self.assertEqual(call('/v1/chat/completions', job).status, 400)
        r = call('/v1/messages', dict(job_body(EXTRACT_SYSTEM, TURN), messages=[
            {'role': 'user', 'content': [result('toolu_x')]}]))
        self.assertEqual(r.status, 400)
        self.assertEqual(control('/_fake/jobs').json(), {'extract': 0, 'summarize': 0})
        self.assertEqual([e['job'] for e in requests_log()], [None] * 4)
        self.assertEqual(self.invalid(), 3)
        self.assertEqual(control('/_fake/stats').json()['requests'], 4)
        control('/_fake/reset')
        self.assertEqual(self.invalid(), 0)

    def test_refusal_leaves_the_reply_waiting(self):
        call('/_fake/reply', b'kept', headers={'Content-Type': 'text/plain'})
        self.assertEqual(call('/v1/chat/completions', {'model': 'm', 'messages': [tool('c')]}).status, 400)
        r = call('/v1/chat/completions', {'model': 'm', 'messages': [user()]})
        self.assertEqual(r.json()['choices'][0]['message']['content'], 'kept')

    def test_chat_loop_of_two_rounds_on_the_directive(self):
        for stream in (False, True):
            msgs = [user('weather in Paris, then in Lyon?')]
            ids = []
            for _ in range(2):
                body = {'model': 'gpt-4o', 'messages': msgs, 'stream': stream}
                r = call('/v1/chat/completions', body, 'tool_use')
                self.assertEqual(r.status, 200, r.body)
                if stream:
                    msg, finish = chat_assistant(chat_events(r.body))
                else:
                    msg, finish = r.json()['choices'][0]['message'], r.json()['choices'][0]['finish_reason']
                self.assertEqual(finish, 'tool_calls')
                ids.append(msg['tool_calls'][0]['id'])
                msgs += [msg, tool(ids[-1])]
            r = call('/v1/chat/completions', {'model': 'gpt-4o', 'messages': msgs, 'stream': stream})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(len(set(ids)), 2)
        self.assertEqual(self.invalid(), 0)

    def test_messages_loop_of_two_rounds_on_the_directive(self):
        for stream in (False, True):
            msgs = [user('weather in Paris, then in Lyon?')]
            for _ in range(2):
                body = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': msgs,
                        'stream': stream}
                r = call('/v1/messages', body, 'tool_use')
                self.assertEqual(r.status, 200, r.body)
                content = r.json()['content'] if not stream else self.streamed_blocks(r.body)
                self.assertEqual([b['type'] for b in content], ['text', 'tool_use'])
                msgs += [{'role': 'assistant', 'content': content},
                         {'role': 'user', 'content': [result(content[1]['id'])]}]
            body = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': msgs, 'stream': stream}
            self.assertEqual(call('/v1/messages', body).status, 200)
        self.assertEqual(self.invalid(), 0)

    @staticmethod
    def streamed_blocks(body):
        blocks = []
        for name, d in events(body):
            if name == 'content_block_start':
                blocks.append(dict(d['content_block']))
            elif name == 'content_block_delta' and d['delta']['type'] == 'text_delta':
                blocks[d['index']]['text'] += d['delta']['text']
            elif name == 'content_block_delta':
                b = blocks[d['index']]
                b['json'] = b.get('json', '') + d['delta']['partial_json']
        for b in blocks:
            if 'json' in b:
                b['input'] = json.loads(b.pop('json'))
        return blocks

    def test_responses_loop_of_two_rounds_on_the_directive(self):
        for stream in (False, True):
            items = [user('weather in Paris, then in Lyon?')]
            for _ in range(2):
                body = {'model': 'gpt-5-mini', 'input': items, 'stream': stream}
                r = call('/v1/responses', body, 'tool_use')
                self.assertEqual(r.status, 200, r.body)
                out = (dict(events(r.body))['response.completed']['response'] if stream
                       else r.json())['output']
                self.assertEqual([o['type'] for o in out], ['message', 'function_call'])
                items += out + [fout(out[1]['call_id'])]
            body = {'model': 'gpt-5-mini', 'input': items + [user('thanks')], 'stream': stream}
            self.assertEqual(call('/v1/responses', body).status, 200)
        self.assertEqual(self.invalid(), 0)


class SetReplyTest(unittest.TestCase):
    """POST /_fake/reply: the next answer in one body on a chat API says the
    text, once; streams, memory jobs and other paths leave it waiting
    (docs/fake-upstream.md)."""

    CHAT = {'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'hi'}]}
    TEXT = 'Caroline said "yes"\n\u00e9t\u00e9 \\ tab\t'

    def setUp(self):
        control('/_fake/reset')

    def set_reply(self, text):
        r = call('/_fake/reply', text.encode('utf-8'), headers={'Content-Type': 'text/plain'})
        self.assertEqual((r.status, r.json()), (200, {'reply': True}))

    def chat_text(self):
        r = call('/v1/chat/completions', self.CHAT)
        self.assertEqual(r.status, 200)
        return r.json()['choices'][0]['message']['content']

    def test_next_chat_answer_says_it_once(self):
        self.set_reply(self.TEXT)
        self.assertEqual(self.chat_text(), self.TEXT)
        self.assertEqual(self.chat_text(), 'Hello from fake upstream')

    def test_each_chat_api_takes_it(self):
        self.set_reply('for responses')
        r = call('/v1/responses', {'model': 'gpt-5-mini', 'input': 'hi'}).json()
        self.assertEqual(r['output'][0]['content'][0]['text'], 'for responses')
        self.set_reply('for messages')
        r = call('/v1/messages', {'model': 'claude', 'max_tokens': 8,
                                  'messages': [{'role': 'user', 'content': 'hi'}]}).json()
        self.assertEqual(r['content'], [{'type': 'text', 'text': 'for messages'}])

    def test_streams_jobs_and_other_paths_leave_it_waiting(self):
        self.set_reply('kept')
        r = call('/v1/chat/completions', dict(self.CHAT, stream=True))
        self.assertNotIn(b'kept', r.body)
        job = {'model': 'm', 'response_format': {'type': 'json_object'}, 'messages': [
            {'role': 'system', 'content': 'Extract entities as JSON.'},
            {'role': 'user', 'content': 'user: my name is Ada'}]}
        r = call('/v1/chat/completions', job).json()
        self.assertIn('Ada', r['choices'][0]['message']['content'])
        self.assertEqual(call('/v1/models', method='GET').status, 200)
        self.assertEqual(self.chat_text(), 'kept')

    def test_a_second_post_replaces_it_and_reset_clears_it(self):
        self.set_reply('first')
        self.set_reply('second')
        self.assertEqual(self.chat_text(), 'second')
        self.set_reply('gone')
        control('/_fake/reset')
        self.assertEqual(self.chat_text(), 'Hello from fake upstream')

    def test_only_post(self):
        self.assertEqual(call('/_fake/reply', method='GET').status, 405)


class NamedToolCallTest(unittest.TestCase):
    """X-Fake-Tool-Call: a call of the named tool with the given arguments
    where the request offers that tool and does not end with a tool result;
    a real agent's loop runs on it (docs/fake-upstream.md)."""

    HEADER = 'Bash {"command": "ls -a", "timeout": 5}'
    ARGS = '{"command":"ls -a","timeout":5}'
    CHAT_TOOLS = [{'type': 'function', 'function': {'name': 'Bash', 'parameters': {'type': 'object'}}}]
    TOOLS = [{'name': 'Read', 'input_schema': {'type': 'object'}}, {'name': 'Bash', 'input_schema': {'type': 'object'}}]
    RESP_TOOLS = [{'type': 'function', 'name': 'Bash', 'parameters': {'type': 'object'}}]

    def setUp(self):
        control('/_fake/reset')

    def named(self, path, body, header=None):
        return call(path, body, headers={'X-Fake-Tool-Call': self.HEADER if header is None else header})

    def chat(self, msgs, stream=False, tools=None):
        return {'model': 'gpt-4o', 'messages': msgs, 'tools': self.CHAT_TOOLS if tools is None else tools,
                'stream': stream}

    def messages(self, msgs, stream=False, tools=None):
        return {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': msgs,
                'tools': self.TOOLS if tools is None else tools, 'stream': stream}

    def responses(self, items, stream=False, tools=None):
        return {'model': 'gpt-5.5', 'input': items, 'tools': self.RESP_TOOLS if tools is None else tools,
                'stream': stream}

    def test_chat_calls_the_named_tool(self):
        r = self.named('/v1/chat/completions', self.chat([user('list')]))
        choice = r.json()['choices'][0]
        self.assertEqual((r.status, choice['finish_reason']), (200, 'tool_calls'))
        self.assertEqual(choice['message']['tool_calls'], [{
            'id': 'call_fake%d' % request_n(r), 'type': 'function',
            'function': {'name': 'Bash', 'arguments': self.ARGS}}])
        msg, finish = chat_assistant(chat_events(self.named('/v1/chat/completions',
                                                            self.chat([user('list')], True)).body))
        self.assertEqual((finish, msg['tool_calls'][0]['function']), ('tool_calls', {'name': 'Bash',
                                                                                     'arguments': self.ARGS}))

    def test_messages_calls_the_named_tool(self):
        r = self.named('/v1/messages', self.messages([user('list')]))
        body = r.json()
        self.assertEqual((r.status, body['stop_reason']), (200, 'tool_use'))
        self.assertEqual(body['content'][1], {'type': 'tool_use', 'id': 'toolu_fake%d' % request_n(r),
                                              'name': 'Bash', 'input': json.loads(self.ARGS)})
        r = self.named('/v1/messages', self.messages([user('list')], True))
        blocks = ValidationTest.streamed_blocks(r.body)
        self.assertEqual((blocks[1]['name'], blocks[1]['input']), ('Bash', json.loads(self.ARGS)))

    def test_responses_calls_the_named_tool(self):
        r = self.named('/v1/responses', self.responses('list'))
        out = r.json()['output']
        self.assertEqual(out[1], {'type': 'function_call', 'id': 'fc_%d' % request_n(r),
                                  'call_id': 'call_fake%d' % request_n(r), 'name': 'Bash',
                                  'arguments': self.ARGS, 'status': 'completed'})
        evs = events(self.named('/v1/responses', self.responses('list', True)).body)
        deltas = [d['delta'] for n, d in evs if n == 'response.function_call_arguments.delta']
        self.assertEqual(len(deltas), 2)
        self.assertEqual(''.join(deltas), self.ARGS)
        self.assertEqual(evs[-1][1]['response']['output'][1]['name'], 'Bash')

    def test_no_call_without_the_tool_or_after_a_tool_result(self):
        """A title request (no tools), a tool not offered, or the round
        that carries the tool's output: the plain answer."""
        plain = [
            self.named('/v1/chat/completions', self.chat([user('title?')], tools=[])),
            self.named('/v1/chat/completions', self.chat([user('list')]), 'Read {}'),
            self.named('/v1/chat/completions', self.chat([user('list'), calls('c1'), tool('c1')])),
            self.named('/v1/messages', {'model': 'c', 'max_tokens': 8, 'messages': [user('title?')]}),
            self.named('/v1/messages', self.messages([user('list'), uses('t1'),
                                                      {'role': 'user', 'content': [result('t1'), {
                                                          'type': 'text', 'text': '<system-reminder>'}]}])),
            self.named('/v1/responses', self.responses([user('list'), fcall('c1'), fout('c1')])),
        ]
        for r in plain:
            self.assertEqual(r.status, 200, r.body)
            self.assertNotIn(b'Bash', r.body)
            self.assertNotIn(b'get_weather', r.body)
        self.assertEqual(control('/_fake/stats').json()['invalid'], 0)

    def test_a_loop_runs_to_its_end_on_every_api(self):
        """The header on every request of an agent's session: the call,
        then the text that ends the loop; valid all along."""
        for stream in (False, True):
            r = self.named('/v1/chat/completions', self.chat([user('list')], stream))
            msg = chat_assistant(chat_events(r.body))[0] if stream else r.json()['choices'][0]['message']
            r = self.named('/v1/chat/completions', self.chat([user('list'), msg,
                                                              tool(msg['tool_calls'][0]['id'])], stream))
            self.assertNotIn(b'tool_calls', r.body)
            r = self.named('/v1/messages', self.messages([user('list')], stream))
            content = ValidationTest.streamed_blocks(r.body) if stream else r.json()['content']
            r = self.named('/v1/messages', self.messages([user('list'), {'role': 'assistant', 'content': content},
                                                          {'role': 'user', 'content': [result(content[1]['id'])]}],
                                                         stream))
            self.assertNotIn(b'tool_use', r.body)
            r = self.named('/v1/responses', self.responses([user('list')], stream))
            out = (dict(events(r.body))['response.completed']['response'] if stream else r.json())['output']
            r = self.named('/v1/responses', self.responses([user('list')] + out + [fout(out[1]['call_id'])], stream))
            self.assertNotIn(b'function_call', r.body)
        self.assertEqual(control('/_fake/stats').json()['invalid'], 0)

    def test_arguments_split_at_a_character(self):
        header = 'Bash {"q":"\u00e9\u00e9\u00e9\u00e9\u00e9"}'.encode('utf-8').decode('latin-1')
        r = call('/v1/chat/completions', self.chat([user('list')], True), headers={'X-Fake-Tool-Call': header})
        args = [c['choices'][0]['delta']['tool_calls'][0]['function']['arguments']
                for c in chat_events(r.body) if 'tool_calls' in c['choices'][0]['delta']]
        self.assertEqual(args[1:], ['{"q":"\u00e9', '\u00e9\u00e9\u00e9\u00e9"}'])

    def test_a_bad_header_is_a_400(self):
        for header in ('', 'Bash', 'Bash []', 'Bash {"a":', 'B@sh {}', 'x' * 65 + ' {}',
                       'Bash {"a":"%s"}' % ('x' * 4100)):
            with self.subTest(header=header[:40]):
                r = self.named('/v1/chat/completions', self.chat([user('list')]), header)
                self.assertEqual((r.status, r.json()['error']['type']), (400, 'fake_bad_behavior'))


class ProbesTest(unittest.TestCase):
    """What clients ask besides the chat APIs: the base URL's root (Claude
    Code's HEAD /) and the model list."""

    def test_root_answers_200(self):
        r = call('/', method='HEAD')
        self.assertEqual((r.status, r.body), (200, b''))
        r = call('/', method='GET')
        self.assertEqual((r.status, r.json()), (200, {'ok': True}))

    def test_model_list_for_both_providers(self):
        r = call('/v1/models', method='GET')
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertEqual((body['object'], body['has_more']), ('list', False))
        self.assertEqual([(m['id'], m['object'], m['type']) for m in body['data']], [('fake', 'model', 'model')])
        r = call('/v1/models?limit=20', method='GET', fake='status=401')
        self.assertEqual((r.status, r.json()['error']['code']), (401, 'fake_401'))


def main():
    global PORT, FAKE
    if len(sys.argv) != 2:
        raise SystemExit('usage: selftest_wires.py path/to/fake_upstream')
    FAKE = sys.argv[1]
    proc, PORT = start_fake(FAKE)
    try:
        prog = unittest.main(argv=sys.argv[:1], exit=False, verbosity=1)
        ok = prog.result.wasSuccessful()
    finally:
        proc.terminate()
        rc = proc.wait(timeout=10)
        err = proc.stderr.read()
    if rc != 0 or err:
        print('fake upstream exit %r, stderr: %r' % (rc, err))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
