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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'process'))
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
            # the agent keeps its conversation: the upstream stores none of it
            d = {'model': 'gpt-4o-mini', 'instructions': SYSTEM, 'tools': TOOLS_RESPONSES,
                 'store': False}
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
    (the default), or PostgreSQL on a database of the class's own on a
    throwaway cluster the file's classes share (tests/proxy/meson.build runs
    this file on both)."""

    PROXY_CONFIG = {'workers': 1}  # the class's proxy goes unused: tests start their own

    @classmethod
    def setUpClass(cls):
        cls.pg = None
        if BACKEND == 'postgres':
            from test_postgres import Database
            cls.pg = Database()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls.pg is not None:
            cls.pg.stop()

    def setUp(self):
        super().setUp()
        self.invalid_before = self.fake.stats()['invalid']

    def tearDown(self):
        # every request that reached the fake was one its provider accepts
        self.assertEqual(self.fake.stats()['invalid'], self.invalid_before,
                         'the fake refused a request as its provider would')
        super().tearDown()

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
    matching memory is larger than the head's share. Four workers, each
    round on a connection of its own: the tail kept for the loop is the
    store's, the same on whichever worker the round lands."""

    def setUp(self):
        super().setUp()
        # head_share 45: the matching memory is larger than the head's share
        self.p = self.own_proxy(workers=4, memory={'head_share': 45})

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


STATEMENT = "I'm using Weaviate for the vector store, and my staging cluster is called heron-7."
ASK = 'What is my staging cluster called again?'


class Client:
    """A chat front end on one API: it resends its whole conversation each
    turn, with a system prompt, and names its chat as the front end does
    (chat_id: the X-OpenWebUI-Chat-Id header on chat completions,
    x-claude-code-session-id on Messages, "conversation" on Responses; None:
    no id, the conversation is known by its leading messages)."""

    def __init__(self, case, api, user, chat_id=None):
        self.case, self.api, self.user, self.chat_id = case, api, user, chat_id
        self.turns = []  # (user text, reply)

    def body(self, text):
        if self.api == 'chat':
            msgs = [{'role': 'system', 'content': 'You are a helpful assistant.'}]
            for u, a in self.turns:
                msgs += [mh.user_msg(u), mh.asst_msg(a)]
            return json.dumps({'model': 'gpt-4o-mini', 'messages': msgs + [mh.user_msg(text)]})
        if self.api == 'messages':
            msgs = []
            for u, a in self.turns:
                msgs += [{'role': 'user', 'content': u}, {'role': 'assistant', 'content': a}]
            return json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 256,
                               'system': 'You are a helpful assistant.',
                               'messages': msgs + [{'role': 'user', 'content': text}]})
        d = {'model': 'gpt-4o-mini', 'instructions': 'You are a helpful assistant.'}
        if self.chat_id is None:  # a client that keeps its history: the upstream stores none
            d['store'] = False
        if getattr(self, 'string_input', False) and not self.turns:
            d['input'] = text  # the SDK's shortest form, on the first turn
        elif self.chat_id is not None:  # the upstream holds the conversation: the newest input only
            d['conversation'] = self.chat_id
            d['input'] = [{'role': 'user', 'content': text}]
        else:
            items = []
            for u, a in self.turns:
                items += [{'role': 'user', 'content': u}, {'role': 'assistant', 'content': a}]
            d['input'] = items + [{'role': 'user', 'content': text}]
        return json.dumps(d)

    def say(self, text, headers=()):
        """One turn: the body that reached the fake, as text (the reply in
        self.response)."""
        tag = uuid.uuid4().hex
        h = [('Content-Type', 'application/json'), ('X-User-Id', self.user), ('X-Test-Req', tag)]
        h += list(headers)
        if self.api == 'messages':
            h += [('x-api-key', 'sk-ant-%s' % self.user), ('anthropic-version', '2023-06-01')]
            if self.chat_id is not None:
                h.append(('x-claude-code-session-id', self.chat_id))
            path = MESSAGES
        else:
            h.append(('Authorization', mh.auth_of(self.user)))
            if self.api == 'chat' and self.chat_id is not None:
                h.append(('X-OpenWebUI-Chat-Id', self.chat_id))
            path = mh.CHAT if self.api == 'chat' else RESPONSES
        r = self.case.p.request('POST', path, h, self.body(text).encode())
        self.case.assertEqual(r.status, 200, r)
        self.response = r
        doc = r.json()
        if self.api == 'chat':
            reply = doc['choices'][0]['message']['content']
        elif self.api == 'messages':
            reply = doc['content'][0]['text']
        else:
            reply = doc['output'][0]['content'][0]['text']
        self.turns.append((text, reply))
        return mh.upstream_of(self.case.fake, mh.Sent(tag, b'', None, None))['body']


class WordsCase(ConvCase):
    """A proxy of the test's own whose memory model extracts no fact: what
    reaches a chat is the words themselves."""

    def setUp(self):
        super().setUp()
        self.p = self.own_proxy()
        mh.set_jobmode(self.fake, extract='invalid')

    def tearDown(self):
        mh.set_jobmode(self.fake, extract='ok')
        super().tearDown()


class ManyChats(WordsCase):
    """A user with several chats: what they say in one reaches the others,
    before any extraction, on every API, with and without chat ids; a
    chat's own turns never come back to it as memory, and nothing goes in
    twice."""

    def settled(self, user):
        mh.wait_memory(self.p, user, lambda m: 'heron-7' in json.dumps(m['buffer']),
                       what='the statement recorded')

    def scenario(self, api, ids):
        user = mh.uid('chats')
        a = Client(self, api, user, 'chat-a-' + user if ids else None)
        b = Client(self, api, user, 'chat-b-' + user if ids else None)
        c = Client(self, api, user, 'chat-c-' + user if ids else None)
        b.say('Hi! Can you help me plan my week?')  # a chat already open
        a.say('Hello, new project today.')
        a.say(STATEMENT)
        self.settled(user)
        sent = c.say(ASK)  # a new chat, seconds later
        self.assertIn(NEEDLE, sent, 'the new chat did not get the other chat\'s statement')
        self.assertEqual(sent.count(NEEDLE), 1, 'the statement went in twice')
        sent = b.say(ASK)  # the chat that was open
        self.assertIn(NEEDLE, sent, 'the open chat did not get the other chat\'s statement')
        self.assertEqual(sent.count(NEEDLE), 1, 'the statement went in twice')
        sent = a.say('Thanks. ' + ASK)  # its own chat: the client resends it, once
        self.assertEqual(sent.count(NEEDLE), 1 if api != 'responses' or not ids else 0,
                         'a chat got its own turn back as memory')

    def test_open_chat_gets_the_other_chats_recent_turns(self):
        """As recent context, whatever the question: the turns just recorded
        in another chat go in with the tail, right before the question
        (replayed, or in its past line: the replay takes what the question's
        relevant items leave), after the chat's own turns, which stay the
        cached prefix; once."""
        for api in ('chat', 'messages', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('recent')
                r = self.p.request('PUT', '/v1/memory/entities/city', [
                    ('X-User-Id', user), ('Content-Type', 'application/json')],
                    json.dumps({'value': 'Izmir'}).encode())
                self.assertIn(r.status, (200, 201), r)
                a = Client(self, api, user, 'chat-a-' + user)
                b = Client(self, api, user)  # no chat id: known by its leading messages
                b.say('Good morning! Let us plan the week.')
                a.say('I just bought a red bicycle with a wicker basket.')
                mh.wait_memory(self.p, user, lambda m: 'wicker' in json.dumps(m['buffer']),
                               what='the other chat recorded')
                sent = b.say('Anything new?')
                said = 'I just bought a red bicycle with a wicker basket.'
                self.assertEqual(sent.count(said), 1, sent)
                own = sent.index('Good morning! Let us plan the week.')
                self.assertLess(own, sent.index(said), 'memory went before the chat\'s own turns')
                self.assertLess(sent.index(said), sent.index('Anything new?'), sent)

    def test_new_and_open_chats_get_what_another_chat_said(self):
        for api in ('chat', 'messages', 'responses'):
            for ids in (True, False):
                with self.subTest(api=api, chat_ids=ids):
                    self.scenario(api, ids)


class AfterExtraction(ConvCase):
    """The same once the memory model has run: a new chat gets the facts,
    each once, and the statement they came from at most once (counted
    once across head and tail), on two workers (whichever served which
    chat)."""

    STATED = 'I use Weaviate as my vector store. I live in Izmir.'

    def test_a_new_chat_gets_the_extracted_fact_once_on_two_workers(self):
        # the memory jobs' own key: Anthropic turns lend none by default
        self.p = self.own_proxy(workers=2, upstream={'api_key': 'sk-conv-jobs'})
        for api in ('chat', 'messages', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('facts')
                a = Client(self, api, user, 'chat-a-' + user)
                a.say(self.STATED)
                mh.wait_memory(self.p, user, lambda m: mh.entity_map(m).get('city') == 'Izmir',
                               what='the extracted facts')
                for n in range(4):  # new chats, on either worker
                    sent = Client(self, api, user, 'chat-%d-%s' % (n, user)).say(
                        'Which vector store do I use, and where do I live?')
                    self.assertEqual(sent.count('vector_store: Weaviate'), 1, sent)
                    self.assertEqual(sent.count('city: Izmir'), 1, sent)
                    self.assertLessEqual(sent.count(self.STATED), 1, sent)


class FactAndItsTurn(ConvCase):
    """A fact never hides the rest of its turn (issue 64; core/recall/recall.h,
    counted once; core/wire/there.h, rule 4): once extraction drew
    vector_store from a statement that also names the staging cluster, a new
    chat's head holds the fact, and its next question, about the cluster,
    gets the statement too, on every API; explain shows it taken, not
    in_head. And a question that matches nothing gets no past message
    (docs/memory-retrieval.md, "Retrieval": the floor)."""

    STATED = 'I use Weaviate as my vector store, and my staging cluster is called heron-7.'

    def setUp(self):
        super().setUp()
        admin = {'admin': {'token': mh.ADMIN_TOKEN, 'explain_requests': 'true'}}
        # four messages replayed: the statement leaves them after two more
        # turns; the memory jobs' own key (Anthropic turns lend none)
        self.p = self.own_proxy(memory={'buffer_messages': 4}, sections=admin,
                                upstream={'api_key': 'sk-conv-jobs'})

    def explained(self, client):
        eid = client.response.header('x-memory-explain-id')
        self.assertIsNotNone(eid, 'no explanation')
        r = mh.admin_request(self.p, 'GET', '/admin/explain/' + eid)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def scenario(self, api):
        user = mh.uid('turn')
        a = Client(self, api, user, None if api == 'responses' else 'chat-a-' + user)
        a.say(self.STATED)
        mh.wait_memory(self.p, user, lambda m: mh.entity_map(m).get('vector_store') == 'Weaviate',
                       what='the extracted fact')
        a.say('Thanks, noted.')
        a.say('Let us talk about it later.')
        mh.wait_idle(self.p)
        b = Client(self, api, user, None if api == 'responses' else 'chat-b-' + user)
        sent = b.say('Tell me about my vector store.')
        # the head: the fact; the statement adds no word of this question
        self.assertEqual(sent.count('vector_store: Weaviate'), 1, sent)
        self.assertNotIn(NEEDLE, sent)
        sent = b.say('And what is my staging cluster called?', [('X-Memory-Explain', '1')])
        self.assertEqual(sent.count('vector_store: Weaviate'), 1, sent)  # the head, again
        self.assertEqual(sent.count(NEEDLE), 1, 'the fact hid the rest of its turn: %s' % sent)
        doc = self.explained(b)
        stated = [it for name in ('head', 'tail', 'past')
                  for it in doc['sections'][name]['items'] if NEEDLE in it['text']]
        self.assertTrue(stated, doc)
        for it in stated:
            self.assertNotEqual(it['why'], 'in_head', it)
            self.assertTrue(it['taken'], it)
        self.assertIn('tail', {it.get('part') for it in stated}, doc)

    def test_a_new_chat_gets_the_fact_and_the_rest_of_its_turn(self):
        for api in ('chat', 'messages', 'responses'):
            with self.subTest(api=api):
                self.scenario(api)

    def test_a_question_that_matches_nothing_gets_no_past_message(self):
        # the demo's first session (scripts/demo.sh): the fourth request's
        # only word in memory is "use", held by a message the buffer
        # replays; the archived reply three turns back matched through it
        # before the floor
        user = mh.uid('floor')
        for text in ('Hi, my name is Ada.', "I'm building a recipe search app.",
                     'I use ChromaDB as my vector store.'):
            self.assertOK(mh.send(self.p, user, text))
            mh.wait_idle(self.p)
        s = mh.send(self.p, user, 'I use FastAPI for the backend.')
        self.assertOK(s)
        doc = json.loads(mh.upstream_body(self.fake, s))
        lines = [ln for m in doc['messages'] if m['role'] == 'system'
                 for ln in m['content'].split('\n') if ln.startswith(mh.PAST_HEAD)]
        # the past line holds the buffer's two turns (the recent turns, in the
        # notes) and no archived message besides
        self.assertEqual(len(lines), 1, doc)
        self.assertIn(mh.turn_in_notes('I use ChromaDB as my vector store.', mh.REPLY), lines[0])
        self.assertEqual(lines[0].count(' | ') + 1, 4, lines[0])
        self.assertNotIn('Ada', lines[0])


class CorrectionsReachOpenChats(ConvCase):
    """A correction and an erasure made while a chat is open reach its next
    turn: the new value goes in, the old never again."""

    def test_correction_then_erasure(self):
        self.p = self.own_proxy()
        for api in ('chat', 'messages', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('fix')
                put = [('X-User-Id', user), ('Content-Type', 'application/json')]
                r = self.p.request('PUT', '/v1/memory/entities/city', put,
                                   json.dumps({'value': 'Izmir'}).encode())
                self.assertIn(r.status, (200, 201), r)
                chat = Client(self, api, user, 'chat-' + user)
                self.assertIn('Izmir', chat.say('Where do I live?'))
                r = self.p.request('PUT', '/v1/memory/entities/city', put,
                                   json.dumps({'value': 'Lisbon'}).encode())
                self.assertIn(r.status, (200, 201), r)
                sent = chat.say('Where do I live now?')
                self.assertIn('Lisbon', sent)
                self.assertNotIn('Izmir', sent, 'the corrected value reached the upstream')
                r = self.p.request('DELETE', '/v1/memory/entities/city', [('X-User-Id', user)])
                self.assertIn(r.status, (200, 204), r)
                sent = chat.say('And where do I live?')
                self.assertNotIn('Lisbon', sent, 'the erased value reached the upstream')
                self.assertNotIn('Izmir', sent)


class StatelessApp(ConvCase):
    """An app that sends only its newest message keeps what it has: its
    own recent turns, whole in the notes right before the question,
    whatever other chats exist."""

    def test_recent_turns_in_the_notes(self):
        self.p = self.own_proxy()
        user = mh.uid('lone')
        self.assertEqual(mh.send(self.p, user, 'My dog is called Rex.').status, 200)
        mh.wait_memory(self.p, user, lambda m: len(m['buffer']) == 2, what='the turn')
        sent = mh.send(self.p, user, 'What is my dog called?')
        self.assertEqual(sent.status, 200)
        doc = json.loads(mh.upstream_body(self.fake, sent))
        said = [(m['role'], m['content']) for m in doc['messages']
                if m['role'] in ('user', 'assistant')]
        self.assertEqual(said, [('user', 'What is my dog called?')])  # nothing replayed
        notes = doc['messages'][-2]
        self.assertEqual(notes['role'], 'system')
        self.assertEqual(notes['content'].count(mh.turn_in_notes('My dog is called Rex.', mh.REPLY)),
                         1, notes)


def before_question(api, body):
    """The bytes of an upstream body before memory for its newest question
    (its tail) and before the question's message itself: what the next
    turn must begin with."""
    users = [body.rfind(p) for p in (b'{"role": "user"', b'{"role":"user"')]
    cut = max(users)
    if api == 'messages':
        return body[:cut]
    at = max(body.rfind(o, 0, cut) for o in mh.TAIL_OPENERS)  # the tail, the replay after it
    return body[:at] if at >= 0 else body[:cut]


class StableFromTheFirstTurn(ConvCase):
    """On every API, a conversation that starts with a lone message (no
    chat id) keeps its first turn's bytes before the tail: turn N+1
    begins with turn N's request up to its tail. The user has a summary,
    so the first turn has a head to keep."""

    def test_each_turn_begins_with_the_last(self):
        self.p = self.own_proxy(workers=4, memory={'buffer_messages': 2, 'summarize_at': 2})
        for api, string_input in (('chat', False), ('messages', False), ('responses', False),
                                  ('responses', True)):
            with self.subTest(api=api, string_input=string_input):
                user = mh.uid('stable')
                for key, value in FACTS[:6]:
                    r = self.p.request('PUT', '/v1/memory/entities/' + key, [
                        ('X-User-Id', user), ('Content-Type', 'application/json')],
                        json.dumps({'value': value}).encode())
                    self.assertIn(r.status, (200, 201), r)
                self.assertEqual(mh.send(self.p, user, 'I am moving the team to Rust.').status, 200)
                mh.wait_memory(self.p, user, lambda m: 'Rust' in (m['summary']['text'] or ''),
                               what='a summary')
                c = Client(self, api, user)
                c.string_input = string_input
                before = None
                for q in ('Which staging cluster do we deploy to?', 'And the vector store?',
                          'Which port does the health check use?'):
                    sent = c.say(q).encode()
                    self.assertIn(b'staging cluster', sent)
                    if before is not None and not sent.startswith(before):
                        n = next(i for i in range(len(before)) if sent[i:i + 1] != before[i:i + 1])
                        self.fail('turn does not begin with the last, from byte %d: %r, was %r'
                                  % (n, sent[n - 60:n + 200], before[n - 60:n + 200]))
                    before = before_question(api, sent)


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



CHAIN_FIRST = 'My dog is called Biscuit and he loves the beach.'
CHAIN_SECOND = 'Book the ferry to Aegina for Saturday; what is my staging cluster called?'


class ResponsesChains(ConvCase):
    """A Responses client that goes on with upstream state
    (previous_response_id: it sends its newest input only) while the same
    user talks in another chat: the chain is one conversation. Its later
    turns get what the other chat said, never their own earlier input back
    (the upstream holds it), and its turns are recorded with one digest."""

    def setUp(self):
        super().setUp()
        self.p = self.own_proxy(sections={'admin': {'token': mh.ADMIN_TOKEN}})
        mh.set_jobmode(self.fake, extract='invalid')  # no fact: the words themselves

    def tearDown(self):
        mh.set_jobmode(self.fake, extract='ok')
        super().tearDown()

    def turn(self, user, text, previous=None, stream=False):
        """One chain turn: (the reply's id, the body that reached the fake)."""
        tag = uuid.uuid4().hex
        d = {'model': 'gpt-4o-mini', 'input': [{'role': 'user', 'content': text}]}
        if previous is not None:
            d['previous_response_id'] = previous
        if stream:
            d['stream'] = True
        h = [('Content-Type', 'application/json'), ('X-User-Id', user), ('X-Test-Req', tag),
             ('Authorization', mh.auth_of(user))]
        r = self.p.request('POST', RESPONSES, h, json.dumps(d).encode())
        self.assertEqual(r.status, 200, r)
        if not stream:
            rid = r.json()['id']
        else:  # the id of the response.created event
            events = [json.loads(ln[5:]) for ln in r.body.decode().splitlines()
                      if ln.startswith('data:') and ln[5:].strip() != '[DONE]']
            rid = next(e['response']['id'] for e in events if e.get('type') == 'response.created')
        return rid, mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))['body']

    def recorded(self, user, text):
        mh.wait_memory(self.p, user, lambda m: text in json.dumps(m['buffer']),
                       what='%r recorded' % text)

    def test_a_chain_is_one_conversation_beside_another_chat(self):
        for stream in (False, True):
            with self.subTest(stream=stream):
                self.scenario(stream)

    def scenario(self, stream):
        user = mh.uid('chain')
        other = Client(self, 'chat', user, 'chat-o-' + user)
        r1, _ = self.turn(user, CHAIN_FIRST, stream=stream)
        other.say('Hello, new project today.')
        other.say(STATEMENT)
        self.recorded(user, CHAIN_FIRST)
        self.recorded(user, NEEDLE)
        r2, sent = self.turn(user, CHAIN_SECOND, r1, stream=stream)
        self.assertNotEqual(r2, r1, 'the fake gave two replies one id')
        self.assertIn(NEEDLE, sent, 'the chain did not get the other chat\'s statement')
        self.assertEqual(sent.count(NEEDLE), 1, 'the statement went in twice')
        self.assertNotIn('Biscuit', sent, 'the chain got its own first input back')
        self.recorded(user, CHAIN_SECOND)
        r3, sent = self.turn(user, ASK, r2, stream=stream)
        self.assertNotEqual(r3, r2)
        self.assertEqual(sent.count(NEEDLE), 1, 'the chain\'s third turn lost the statement')
        self.assertNotIn('Biscuit', sent, 'the chain got its first input back')
        self.assertNotIn('Aegina', sent, 'the chain got its second input back')
        self.recorded(user, ASK)
        r = mh.admin_memory(self.p, user)
        self.assertEqual(r.status, 200, r)
        convs = {}
        for m in r.json()['buffer']:
            convs.setdefault(m['content'], (m['conversation'], m['conversation_rule'],
                                            m['role'], m['reply_ref']))
        chain = {convs[t][:2] for t in (CHAIN_SECOND, ASK)}
        self.assertEqual(len(chain), 1, 'the chain\'s turns have more than one digest: %s' % convs)
        digest, rule = chain.pop()
        self.assertEqual(rule, 'chain')
        self.assertIsNotNone(digest)
        replies = [m for m in r.json()['buffer']
                   if m['role'] == 'assistant' and m['conversation'] == digest]
        self.assertEqual(len(replies), 3, 'the chain\'s replies, its first turn\'s too, keep its digest')
        self.assertTrue(all(m['reply_ref'] for m in replies), 'a chain reply kept no reference')
        # the first link, a lone first turn, is the chain's conversation from turn 1
        self.assertEqual(convs[CHAIN_FIRST][:2], (digest, 'first_turn'))
        self.assertNotEqual(convs[STATEMENT][0], digest)


if __name__ == '__main__':
    harness.main('proxy_conversations')
