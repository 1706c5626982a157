"""A user's conversations as clients really hold them (issue 50): agents in
tool loops on the three chat APIs, streamed and not. Every request that
reached the fake upstream must be one the provider accepts (no memory
between a tool call and its result, nothing before Anthropic's tool_result
blocks), the tail must stay with the user message that began the loop, and
each round's request must begin with the previous round's bytes (the
prefix the provider cached)."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

MESSAGES = '/v1/messages'
RESPONSES = '/v1/responses'
NEEDLE = 'heron-7'
QUESTION = 'Deploy the vector store change to the staging cluster and check it is healthy.'
SYSTEM = 'You are a coding agent. Use the tools to do what the user asks. ' * 20
TOOLS_CHAT = [{'type': 'function', 'function': {
    'name': 'run', 'description': 'Runs a shell command.',
    'parameters': {'type': 'object', 'properties': {'cmd': {'type': 'string'}}}}}]
TOOLS_ANTHROPIC = [{'name': 'run', 'description': 'Runs a shell command.',
                    'input_schema': {'type': 'object', 'properties': {'cmd': {'type': 'string'}}}}]
TOOLS_RESPONSES = [{'type': 'function', 'name': 'run', 'description': 'Runs a shell command.',
                    'parameters': {'type': 'object', 'properties': {'cmd': {'type': 'string'}}}}]
# facts about the question's words, more than the head's share holds
FACTS = [('staging_cluster', 'the staging cluster is called %s' % NEEDLE),
         ('vector_store', 'the team deploys Weaviate as its vector store')] + [
    ('deploy_note_%02d' % i, 'deploy note %d: the staging cluster health check runs on port %d '
     'after every vector store change' % (i, 9000 + i)) for i in range(24)]


def anthropic_root(fake):
    return fake.base_url[:-len('/v1')]


def is_memory(text):
    return text.startswith(mh.INTRO) or text.startswith(mh.TAIL_INTRO)


# ---- what each API's provider refuses ---------------------------------------

def chat_problems(doc):
    """The chat completions rules: an assistant's tool_calls answered by
    tool messages right after it."""
    msgs = doc['messages']
    out = []
    for i, m in enumerate(msgs):
        ids = [c['id'] for c in m.get('tool_calls') or []]
        j = i + 1
        while ids and j < len(msgs) and msgs[j]['role'] == 'tool':
            if msgs[j]['tool_call_id'] in ids:
                ids.remove(msgs[j]['tool_call_id'])
            j += 1
        if ids:
            out.append('messages[%d]: tool_calls %s not answered right after' % (i, ids))
        if m['role'] == 'tool' and (i == 0 or msgs[i - 1]['role'] not in ('tool', 'assistant')):
            out.append('messages[%d]: a tool message after %s' % (i, msgs[i - 1]['role']))
    return out


def anthropic_problems(doc):
    """Anthropic's rules: an assistant's tool_use blocks answered by
    tool_result blocks first in the next message; at most 4 breakpoints."""
    msgs = doc['messages']
    out = []
    for i, m in enumerate(msgs):
        if m['role'] != 'assistant' or not isinstance(m['content'], list):
            continue
        ids = [b['id'] for b in m['content'] if b.get('type') == 'tool_use']
        if not ids:
            continue
        nxt = msgs[i + 1]['content'] if i + 1 < len(msgs) else []
        lead = []
        for b in nxt if isinstance(nxt, list) else []:
            if b.get('type') != 'tool_result':
                break
            lead.append(b['tool_use_id'])
        if sorted(lead) != sorted(ids) and not set(ids) <= set(lead):
            out.append('messages[%d]: tool_result blocks not first (%s)' % (i + 1, nxt))
    if json.dumps(doc).count('cache_control') > 4:
        out.append('more than 4 cache_control breakpoints')
    return out


def responses_problems(doc):
    """The Responses rules: a function_call's output before any other
    message item."""
    items = doc['input'] if isinstance(doc['input'], list) else []
    out = []
    open_calls = []
    for i, it in enumerate(items):
        kind = it.get('type', 'message')
        if kind == 'function_call':
            open_calls.append(it['call_id'])
        elif kind == 'function_call_output':
            if it['call_id'] not in open_calls:
                out.append('input[%d]: an output with no call before it' % i)
            else:
                open_calls.remove(it['call_id'])
        elif open_calls:
            out.append('input[%d]: a %s item between a call and its output' % (i, it.get('role')))
    return out + ['a call never answered: %s' % c for c in open_calls]


# ---- one agent, per API -------------------------------------------------------

class Agent:
    """The request one API's agent sends on each round of its loop: the
    conversation so far (messages last, so a round's body without its
    closing "]}" is the next round's prefix)."""

    def __init__(self, api, stream, earlier):
        self.api, self.stream, self.earlier = api, stream, earlier

    def body(self, rounds):
        if self.api == 'chat':
            msgs = [{'role': 'system', 'content': SYSTEM}]
            for u, a in self.earlier:
                msgs += [{'role': 'user', 'content': u}, {'role': 'assistant', 'content': a}]
            msgs.append({'role': 'user', 'content': QUESTION})
            for k in range(rounds):
                call = 'call_%d' % k
                msgs += [{'role': 'assistant', 'content': None, 'tool_calls': [{
                    'id': call, 'type': 'function',
                    'function': {'name': 'run', 'arguments': json.dumps({'cmd': 'step %d' % k})}}]},
                    {'role': 'tool', 'tool_call_id': call, 'content': 'output of step %d' % k}]
            d = {'model': 'gpt-4o-mini', 'tools': TOOLS_CHAT}
            key = 'messages'
        elif self.api == 'messages':
            msgs = []
            for u, a in self.earlier:
                msgs += [{'role': 'user', 'content': u}, {'role': 'assistant', 'content': a}]
            msgs.append({'role': 'user', 'content': QUESTION})
            for k in range(rounds):
                tid = 'toolu_%d' % k
                msgs += [{'role': 'assistant', 'content': [
                    {'type': 'text', 'text': 'Running step %d.' % k},
                    {'type': 'tool_use', 'id': tid, 'name': 'run', 'input': {'cmd': 'step %d' % k}}]},
                    {'role': 'user', 'content': [{'type': 'tool_result', 'tool_use_id': tid,
                                                  'content': 'output of step %d' % k}]}]
            d = {'model': 'claude-sonnet-4-5', 'max_tokens': 256,
                 'system': [{'type': 'text', 'text': SYSTEM, 'cache_control': {'type': 'ephemeral'}}],
                 'tools': TOOLS_ANTHROPIC}
            key = 'messages'
        else:
            msgs = []
            for u, a in self.earlier:
                msgs += [{'role': 'user', 'content': u},
                         {'type': 'message', 'role': 'assistant',
                          'content': [{'type': 'output_text', 'text': a}]}]
            msgs.append({'role': 'user', 'content': QUESTION})
            for k in range(rounds):
                call = 'call_%d' % k
                msgs += [{'type': 'function_call', 'call_id': call, 'name': 'run',
                          'arguments': json.dumps({'cmd': 'step %d' % k})},
                         {'type': 'function_call_output', 'call_id': call,
                          'output': 'output of step %d' % k}]
            d = {'model': 'gpt-4o-mini', 'instructions': SYSTEM, 'tools': TOOLS_RESPONSES}
            key = 'input'
        if self.stream:
            d['stream'] = True
        d[key] = msgs
        return json.dumps(d).encode()

    def path(self):
        return {'chat': mh.CHAT, 'messages': MESSAGES, 'responses': RESPONSES}[self.api]

    def headers(self, user, tag):
        h = [('Content-Type', 'application/json'), ('X-User-Id', user), ('X-Test-Req', tag)]
        if self.api == 'messages':
            return h + [('x-api-key', 'sk-ant-%s' % user), ('anthropic-version', '2023-06-01')]
        return h + [('Authorization', mh.auth_of(user))]

    def problems(self, doc):
        return {'chat': chat_problems, 'messages': anthropic_problems,
                'responses': responses_problems}[self.api](doc)

    def question_memory(self, doc):
        """The memory that went with the question's message (the tail), or
        None: chat and Responses, the system/developer message right
        before it; Messages, a text block in its content."""
        items = doc['input'] if self.api == 'responses' else doc['messages']
        at = next(i for i, m in enumerate(items)
                  if m.get('role') == 'user' and (m['content'] == QUESTION or (
                      isinstance(m['content'], list) and
                      any(b.get('text') == QUESTION for b in m['content']))))
        if self.api == 'messages':
            content = items[at]['content']
            texts = [b['text'] for b in content if b.get('type') == 'text' and is_memory(b['text'])]
            return texts[0] if texts else None
        prev = items[at - 1] if at > 0 else None
        if prev is not None and prev.get('role') in ('system', 'developer') and \
                isinstance(prev['content'], str) and is_memory(prev['content']):
            return prev['content']
        return None


BACKEND = os.environ.get('MPTEST_BACKEND', 'lmdb')


class ConvCase(mh.MemCase):
    """A proxy of each test's own on the backend MPTEST_BACKEND names: LMDB
    (the default), or PostgreSQL on a throwaway cluster of the class's
    (tests/proxy/meson.build runs this file on both)."""

    PROXY_CONFIG = {'workers': 1}  # the class's proxy goes unused: tests start their own

    @classmethod
    def setUpClass(cls):
        cls.pg = None
        if BACKEND == 'postgres':
            from test_postgres import Cluster
            cls.pg = Cluster()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.pg is not None:
            cls.pg.stop()

    def own_proxy(self, workers=1, memory=None, **kw):
        memory = dict({'mode': 'hybrid'}, **(memory or {}))
        sections = dict({'anthropic': {'base_url': anthropic_root(self.fake)}},
                        **kw.pop('sections', {}))
        if self.pg is not None:
            kw['storage'] = {'backend': 'postgres', 'postgres_url': self.pg.url}
            memory.setdefault('job_lease_seconds', 5)
        return self.start_proxy(workers=workers, memory=memory, sections=sections, **kw)


class AgentLoops(ConvCase):
    """An agent's tool loop of four rounds on each API, streamed and not,
    on its conversation's first turn and on a later one, for a user whose
    matching memory is larger than the head's share."""

    def setUp(self):
        super().setUp()
        self.p = self.own_proxy()

    def remember(self, user):
        for key, value in FACTS:
            r = self.p.request('PUT', '/v1/memory/entities/' + key, [
                ('X-User-Id', user), ('Content-Type', 'application/json')],
                json.dumps({'value': value}).encode())
            self.assertIn(r.status, (200, 201), r)

    def learn_elsewhere(self, user):
        """A fact for the loop's question, extracted from another chat of
        the user's: a new tail would take it, the loop's rounds keep theirs."""
        sent = mh.send(self.p, user, 'remember that the vector store change deploy check on '
                       'the staging cluster is owned by Ivo Lindqvist')
        self.assertEqual(sent.status, 200)
        mh.wait_memory(self.p, user, lambda m: 'Ivo Lindqvist' in json.dumps(m),
                       what='the fact from the other chat')

    def loop(self, api, stream, earlier):
        agent = Agent(api, stream, earlier)
        user = mh.uid('agent')
        self.remember(user)
        before = None
        tails = []
        for rounds in range(4):
            tag = uuid.uuid4().hex
            r = self.p.request('POST', agent.path(), agent.headers(user, tag), agent.body(rounds))
            self.assertEqual(r.status, 200, r)
            up = mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))['body'].encode()
            doc = json.loads(up)
            self.assertEqual(agent.problems(doc), [], 'round %d: %s' % (rounds, doc))
            tail = agent.question_memory(doc)
            self.assertIsNotNone(tail, 'round %d: no memory with the question' % rounds)
            self.assertIn(NEEDLE, up.decode(), 'round %d' % rounds)
            tails.append(tail)
            self.assertEqual(up.count(NEEDLE.encode()), 1, 'round %d: the needle twice' % rounds)
            if rounds == 1:  # memory grows meanwhile, from another conversation
                self.learn_elsewhere(user)
            if before is not None:  # the previous round's bytes, then this round's new turns
                if not up.startswith(before[:-2]):
                    n = next(i for i in range(len(before)) if up[i:i + 1] != before[i:i + 1])
                    self.fail('round %d does not start with round %d: from byte %d, %r instead of %r'
                              % (rounds, rounds - 1, n, up[n - 80:n + 300], before[n - 80:n + 300]))
            before = up
        self.assertEqual(len(set(tails)), 1, 'the tail changed between rounds')

    def test_loops_on_a_first_turn(self):
        for api in ('chat', 'messages', 'responses'):
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    self.loop(api, stream, [])

    def test_loops_on_a_later_turn(self):
        earlier = [('Hi, I am setting up the deploy pipeline today.', 'Great, tell me what you need.')]
        for api in ('chat', 'messages', 'responses'):
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    self.loop(api, stream, earlier)


def tail_start(body, question):
    """Where memory for the question begins in an upstream chat body (its
    tail message right before the question's message), or where the
    question's message does when it has none."""
    q = body.rindex(b'{"role":"user","content":%s' % json.dumps(question).encode())
    openers = [body.rfind(o, 0, q) for o in mh.TAIL_OPENERS]
    at = max(openers)
    return at if at >= 0 and body[q - 1:q] == b',' else q


class WhatHappensMeanwhile(ConvCase):
    """What memory learns while a conversation is open reaches its next
    turn through the tail, and the bytes before the tail stay what the
    previous turn sent (the prefix the provider cached)."""

    def chat(self, user, msgs, chat_id=None):
        tag = uuid.uuid4().hex
        extra = [('X-OpenWebUI-Chat-Id', chat_id)] if chat_id else []
        body, _ = mh.build_chat(msgs)
        r = self.p.request('POST', mh.CHAT, mh.chat_headers(user, tag=tag, extra=extra), body)
        self.assertEqual(r.status, 200, r)
        reply = r.json()['choices'][0]['message']['content']
        return mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))['body'].encode(), reply

    def test_a_summary_folded_later_reaches_the_tail(self):
        self.p = self.own_proxy(memory={'buffer_messages': 2, 'summarize_at': 2})
        user = mh.uid('fold')
        self.chat(user, [mh.user_msg('I use ChromaDB as my vector store.')])
        mh.wait_memory(self.p, user, lambda m: 'ChromaDB' in (m['summary']['text'] or ''),
                       what='the first summary')
        system = {'role': 'system', 'content': 'You are a helpful assistant.'}
        msgs = [system, mh.user_msg('Hello there.')]
        _, reply = self.chat(user, msgs, 'chat-b')
        msgs += [mh.asst_msg(reply), mh.user_msg('Which vector store do I use?')]
        before, reply = self.chat(user, msgs, 'chat-b')
        self.assertIn(b'ChromaDB', before)
        # meanwhile, in another chat: the summary folds on
        self.chat(user, [mh.user_msg('I moved to Lisbon last spring.')])
        mh.wait_memory(self.p, user, lambda m: 'Lisbon' in (m['summary']['text'] or ''),
                       what='the summary folded on')
        msgs += [mh.asst_msg(reply), mh.user_msg('Where do I live now?')]
        after, _ = self.chat(user, msgs, 'chat-b')
        cut = tail_start(before, 'Which vector store do I use?')
        self.assertEqual(after[:cut], before[:cut], 'the bytes before the tail changed')
        tail = after[tail_start(after, 'Where do I live now?'):]
        self.assertIn(b'Lisbon', tail, 'the new summary did not reach the tail')
        self.assertNotIn(b'Lisbon', after[:cut])


if __name__ == '__main__':
    harness.main('proxy_conversations')
