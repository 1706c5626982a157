"""Real clients (issue 9): the official SDKs for Node (npm "openai" and
"@anthropic-ai/sdk", pinned in tests/sdk/package.json, installed by
scripts/test.sh) drive memproxy through chat.completions.create and
responses.create, and messages.create and messages.stream, streaming and
not: the application gets the upstream's text, the turn is recorded, and a
fact taught in one conversation reaches the next one's request upstream."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

SDK_DIR = os.path.join(os.environ.get('MEMPROXY_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..', '..')),
                       'tests', 'sdk')
TEACH = 'I keep my notes in Obsidian.'
ASK = 'Where do I keep my notes?'


class SDKCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'buffer', 'buffer_messages': 4}}
    SCRIPT = None  # the client script in tests/sdk
    PACKAGE = None  # the npm package it needs

    @classmethod
    def setUpClass(cls):
        node = shutil.which('node')
        if node is None or not os.path.isdir(os.path.join(SDK_DIR, 'node_modules', cls.PACKAGE)):
            raise RuntimeError('%s is not installed: run "npm ci --prefix tests/sdk" '
                               '(scripts/test.sh does) with Node.js 18 or newer' % cls.PACKAGE)
        cls.node = node
        super().setUpClass()

    def env(self):
        return {'OPENAI_BASE_URL': 'http://127.0.0.1:%d/v1' % self.proxy.port}

    def sdk(self, kind, user, text, headers=None):
        """Runs one SDK call; (the text the SDK returned, the tag of the request)."""
        tag = uuid.uuid4().hex
        env = dict(os.environ, MEMPROXY_USER=user, MEMPROXY_TAG=tag, MEMPROXY_HEADERS=json.dumps(headers or {}),
                   **self.env())
        out = subprocess.run([self.node, os.path.join(SDK_DIR, self.SCRIPT), kind, text],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])['text'], tag

    def upstream_doc(self, tag):
        sent = mh.Sent(tag, b'', None, None)
        return json.loads(mh.upstream_body(self.fake, sent))

    def check(self, kind, reply):
        user = mh.uid('sdk')
        got, _ = self.sdk(kind, user, TEACH)
        self.assertEqual(got, reply)
        mh.wait_memory(self.proxy, user, lambda m: mh.buffer_pairs(m) == [('user', TEACH), ('assistant', reply)],
                       what='the taught turn in the buffer')
        got, tag = self.sdk(kind, user, ASK)
        self.assertEqual(got, reply)
        self.check_upstream(self.upstream_doc(tag), reply)

    def check_task(self, kind, text, headers=None):
        """A client task sent as the SDK sends it (issue 31): after a taught
        turn, the task goes upstream without memory and is not recorded."""
        user = mh.uid('sdktask')
        got, _ = self.sdk(kind, user, TEACH)
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the taught turn')
        before = self.proxy.metric('memproxy_client_tasks_total')
        got, tag = self.sdk(kind, user, text, headers)
        self.assertEqual(got, mh.REPLY)
        doc = self.upstream_doc(tag)
        self.assertNotIn(mh.INTRO, json.dumps(doc, ensure_ascii=False), 'memory was injected into a task')
        self.assertEqual(self.proxy.metric('memproxy_client_tasks_total'), before + 1)
        mh.wait_idle(self.proxy)
        self.assertEqual(len(mh.get_memory(self.proxy, user)['buffer']), 2, 'the task was recorded')


class OpenAISDK(SDKCase):
    SCRIPT, PACKAGE = 'openai_client.mjs', 'openai'

    def check_upstream(self, doc, reply):
        if 'input' in doc:
            # the SDK's responses.create stores the request (no "store": the
            # API's default): nothing of memproxy's in the stored input, the
            # SDK's string as it wrote it. Recent turns are replayed as
            # messages, which only "input" takes: none here (buffer mode has
            # nothing else to give), and the taught turn only ever in
            # "instructions"
            self.assertEqual(doc['input'], ASK, 'memory went into the stored input')
            self.assertNotIn(TEACH, json.dumps(doc['input']))
            return
        items = doc['messages']
        self.assertIsInstance(items, list, doc)
        self.assertIn(items[0]['role'], ('system', 'developer'))
        self.assertTrue(items[0]['content'].startswith(mh.INTRO), items[0])
        self.assertIn(mh.turn_in_notes(TEACH, reply), items[0]['content'])  # the turn, whole
        self.assertEqual([(i['role'], i['content']) for i in items[1:]], [('user', ASK)])

    def test_chat_completions(self):
        self.check('chat', mh.REPLY)

    def test_chat_completions_stream(self):
        self.check('chat-stream', mh.STREAM_REPLY3)

    def test_responses(self):
        self.check('responses', mh.REPLY)

    def test_responses_stream(self):
        self.check('responses-stream', mh.STREAM_REPLY3)

    def test_open_webui_title_request_is_a_task(self):
        self.check_task('chat', '### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the '
                                'chat history.\n### Chat History:\n<chat_history>\nUSER: notes\n</chat_history>')


class OpenAISDKUpstreamState(OpenAISDK):
    """Issue 32, requirement 4: responses.create continuing upstream state
    (previous_response_id with the application's instructions, or a
    conversation), as the SDK sends it: the upstream gets "input" exactly as
    the SDK wrote it, and "instructions" as the application's text, "\\n\\n"
    and the memory block; the turn is recorded from "input"."""
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid', 'buffer_messages': 4, 'head_share': 0},
                    'sections': {'admin': {'token': mh.ADMIN_TOKEN}}}
    # OpenAISDK's round trips ran above; this class runs only its own
    test_chat_completions = test_chat_completions_stream = test_responses = None
    test_responses_stream = test_open_webui_title_request_is_a_task = None

    def continued(self, kind, reply, client_instructions, want_input):
        user = mh.uid('sdks')
        r = mh.import_lines(self.proxy, user, [mh.fact('notes_app', 'Obsidian', '2023-05-08T10:00:00Z')])
        self.assertEqual(r.status, 200, r)
        got, tag = self.sdk(kind, user, ASK)
        self.assertEqual(got, reply)
        doc = self.upstream_doc(tag)
        self.assertEqual(doc['input'], want_input, 'memory went into the stored input')
        ins = doc['instructions']
        if client_instructions is not None:
            self.assertTrue(ins.startswith(client_instructions + '\n\n'), ins[:200])
            ins = ins[len(client_instructions) + 2:]
        block = mh.Block(ins)
        self.assertIn(('notes_app', 'Obsidian'), [(k, v) for k, v, _ in block.facts()])
        mh.wait_memory(self.proxy, user, lambda m: mh.buffer_pairs(m) == [('user', ASK), ('assistant', reply)],
                       what='the turn recorded from input')
        return doc

    def test_chat_resent_conversation_tail_before_the_question(self):
        """Issue 32, requirement 3: a conversation the SDK resends keeps its
        bytes; memory for the question goes right before it."""
        user = mh.uid('sdkh')
        r = mh.import_lines(self.proxy, user, [mh.fact('notes_app', 'Obsidian', '2023-05-08T10:00:00Z')])
        self.assertEqual(r.status, 200, r)
        got, tag = self.sdk('chat-history', user, ASK)
        self.assertEqual(got, mh.REPLY)
        items = self.upstream_doc(tag)['messages']
        self.assertEqual([(i['role'], i['content']) for i in items[:3]],
                         [('system', 'You are terse.'), ('user', 'Hello.'), ('assistant', 'Hi.')])
        self.assertEqual(items[3]['role'], 'system')
        self.assertIn(('notes_app', 'Obsidian'),
                      [(k, v) for k, v, _ in mh.Block(items[3]['content']).facts()])
        self.assertEqual(items[4], {'role': 'user', 'content': ASK})

    def test_responses_previous_response_id(self):
        doc = self.continued('responses-continue', mh.REPLY, 'You are terse.', ASK)
        self.assertEqual((doc['previous_response_id'], doc['store']), ('resp_prev', True))

    def test_responses_conversation_stream(self):
        doc = self.continued('responses-conversation-stream', mh.STREAM_REPLY3, None,
                             [{'role': 'user', 'content': ASK}])
        self.assertEqual(doc['conversation'], {'id': 'conv_sdk'})


class AnthropicSDK(SDKCase):
    SCRIPT, PACKAGE = 'anthropic_client.mjs', os.path.join('@anthropic-ai', 'sdk')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy.stop()
        cls.proxy = harness.Proxy(cls.fake.base_url, memory=cls.PROXY_CONFIG['memory'],
                                  sections={'anthropic': {'base_url': cls.fake.base_url[:-len('/v1')]}}).start()

    def env(self):
        return {'ANTHROPIC_BASE_URL': 'http://127.0.0.1:%d' % self.proxy.port}

    def check_upstream(self, doc, reply):
        # buffer mode: no head, so "system" stays the client's; the recent
        # turn goes in the notes, a text block first in the question's content
        self.assertEqual(doc['system'], [{'type': 'text', 'text': 'You are terse.',
                                          'cache_control': {'type': 'ephemeral'}}])
        self.assertEqual(len(doc['messages']), 1, doc['messages'])
        q = doc['messages'][0]
        self.assertEqual(q['role'], 'user')
        notes = q['content'][0]['text']
        self.assertTrue(notes.startswith(mh.INTRO + '\n' + mh.PAST_HEAD), notes)
        self.assertTrue(notes.endswith(mh.turn_in_notes(TEACH, reply)), notes)
        self.assertEqual(q['content'][1], {'type': 'text', 'text': ASK})

    def test_messages_create(self):
        self.check('create', mh.REPLY)

    def test_messages_create_stream(self):
        self.check('create-stream', mh.STREAM_REPLY3)

    def test_messages_stream(self):
        self.check('stream', mh.STREAM_REPLY3)

    def test_claude_code_auxiliary_request_is_a_task(self):
        self.check_task('create', 'Summarize this in five words.', {'x-claude-code-request-class': 'auxiliary'})


class AnthropicSDKAuthToken(AnthropicSDK):
    """Issue 31, requirement 4: the SDK's authToken (Authorization: Bearer)
    reaches Anthropic and never the OpenAI upstream the memory jobs
    (default [memory] llm = openai) go to: with no key configured for them,
    the turn's job is held."""
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'entity'}}
    TOKEN = 'sk-ant-oat01-sdk-token'
    # AnthropicSDK's round trips ran above; this class runs only its own
    test_messages_create = test_messages_create_stream = test_messages_stream = None
    test_claude_code_auxiliary_request_is_a_task = None

    def env(self):
        return dict(super().env(), MEMPROXY_AUTH_TOKEN=self.TOKEN)

    def test_auth_token_never_reaches_the_openai_upstream(self):
        user = mh.uid('sdkt')
        got, tag = self.sdk('create', user, 'My name is Tokenia.')
        self.assertEqual(got, mh.REPLY)
        req = mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))
        self.assertEqual((req['path'], mh.req_header(req, 'Authorization'), mh.req_header(req, 'x-api-key')),
                         ('/v1/messages', 'Bearer ' + self.TOKEN, None))
        self.assertEqual(self.proxy.wait_metric('memproxy_memory_jobs_held', lambda v: v == 1,
                                                reason='no_credential'), 1)
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the recorded turn')
        time.sleep(1.2)  # a scheduling pass more
        for r in mh.fake_requests(self.fake):
            if mh.job_kind(r) is not None:
                self.assertNotIn(self.TOKEN, json.dumps(r.get('headers')), r['path'])
                self.assertNotIn('Tokenia', r.get('body') or '')


class McpSDK(SDKCase):
    """The official MCP TypeScript SDK's client (npm
    "@modelcontextprotocol/sdk") over Streamable HTTP (issue 36): it
    connects (initialize), lists the tools, adds, searches, lists, reads
    the profile and deletes; one user never sees another's memory; the
    same session with SSE answers."""
    SCRIPT, PACKAGE = 'mcp_client.mjs', os.path.join('@modelcontextprotocol', 'sdk')
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}, 'sections': {'mcp': {'enabled': 'true'}}}

    def mcp(self, user, calls, sse=False):
        env = dict(os.environ, MEMPROXY_MCP_URL='http://127.0.0.1:%d/mcp' % self.proxy.port,
                   MEMPROXY_USER=user, MEMPROXY_SSE='1' if sse else '0')
        out = subprocess.run([self.node, os.path.join(SDK_DIR, self.SCRIPT), json.dumps(calls)],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    def session(self, sse):
        alice, bob = mh.uid('mcpa'), mh.uid('mcpb')
        sse_before = self.proxy.metric('memproxy_mcp_requests_total', method='initialize', result='ok')
        out = self.mcp(alice, [['add_memory', {'key': 'city', 'value': 'Graz'}],
                               ['add_memory', {'note': 'Keeps notes in Obsidian.'}],
                               ['search_memory', {'query': 'Where do I keep my notes?'}],
                               ['list_memories', {'limit': 1}],
                               ['get_profile', {}]], sse)
        self.assertEqual(out['server']['name'], 'memproxy')
        self.assertEqual(out['protocolVersion'], '2025-11-25')
        self.assertEqual(out['tools'], ['search_memory', 'add_memory', 'list_memories', 'delete_memory',
                                        'get_profile'])
        want = 'text/event-stream' if sse else 'application/json'
        self.assertEqual({t.split(';')[0] for t in out['contentTypes']}, {want}, out['contentTypes'])
        self.assertEqual(len(out['contentTypes']), 7)  # initialize, tools/list, five calls
        added, note, found, page, profile = out['results']
        self.assertFalse(added['isError'], added)
        self.assertEqual(added['structuredContent']['id'], 'fact:city')
        hit = found['structuredContent']['results'][0]
        self.assertEqual((hit['id'], hit['text']), (note['structuredContent']['id'], 'Keeps notes in Obsidian.'))
        self.assertTrue(found['content'][0]['text'].startswith(mh.INTRO), found)
        self.assertEqual(len(page['structuredContent']['memories']), 1)
        self.assertIsNotNone(page['structuredContent']['next_cursor'])
        self.assertIn('city: Graz', profile['content'][0]['text'])
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, alice))['city'], 'Graz')
        self.assertGreater(self.proxy.metric('memproxy_mcp_requests_total', method='initialize', result='ok'),
                           sse_before)
        # bob's session sees none of alice's memory, and cannot delete it
        other = self.mcp(bob, [['search_memory', {'query': 'Where do I keep my notes?'}],
                               ['list_memories', {}], ['get_profile', {}],
                               ['delete_memory', {'id': 'fact:city'}]], sse)
        self.assertNotIn('Obsidian', json.dumps(other['results']))
        self.assertNotIn('Graz', json.dumps(other['results']))
        self.assertTrue(other['results'][3]['isError'])
        gone = self.mcp(alice, [['delete_memory', {'id': 'fact:city'}]], sse)['results'][0]
        self.assertFalse(gone['isError'], gone)
        self.assertNotIn('city', mh.entity_map(mh.get_memory(self.proxy, alice)))

    def test_mcp_session_json(self):
        self.session(sse=False)

    def test_mcp_session_sse(self):
        self.session(sse=True)


if __name__ == '__main__':
    harness.main('proxy_sdk')
