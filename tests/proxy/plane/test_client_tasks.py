"""Client tasks (issue 31, requirements 1 to 3): a chat front end's or an
agent's background request (a title, tags, follow-ups, search queries,
autocomplete, a compaction), known by a hint header or by its default
prompt, goes upstream byte for byte with nothing injected or recorded,
answers X-Memory-Mode: off and X-Memory-Skipped: client_task:<kind>, and is
counted by kind, on all three APIs, streamed or not; an ordinary request
that talks about titles or tags is not one; [memory] task_detection = false
and an empty pattern file turn detection (or its patterns) off; a bad
pattern file fails --check-config with its line; Open WebUI's
<memory_context> block is never recorded as the user's words."""

import json
import os
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

OWUI_TITLE = ('### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n'
              '### Guidelines:\n- The title should clearly represent the main theme or subject of the '
              'conversation.\n### Output:\nJSON format: { "title": "your concise title here" }\n'
              '### Chat History:\n<chat_history>\nUSER: I live in Lyon and keep bees\n</chat_history>')
OWUI_TAGS = ('### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along '
             'with 1-3 more specific subtopic tags.\n### Chat History:\n<chat_history>\nUSER: bees\n'
             '</chat_history>')
OWUI_FOLLOW = ('### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might '
               'naturally ask next in this conversation as a **user**')
OWUI_QUERIES = ('### Task:\nAnalyze the chat history to determine the necessity of generating search '
                'queries, in the given language.')
OWUI_AUTOCOMPLETE = ('### Task:\nYou are an autocompletion system. Continue the text in `<text>` based on '
                     'the **completion type** in `<type>` and the given language.')
LIBRECHAT = ('Provide a concise, 5-word-or-less title for the conversation, using title case conventions. '
             'Only return the title itself.\n\nConversation:\nUser: I keep bees\nAI: Nice')
LOBE_SYSTEM = '你是一名擅长会话的助理，你需要将用户的会话总结为 10 个字以内的标题'
CONTINUE = ("Given the following... please reply with a title for the chat that is 3-4 words in length, "
            "all words used should be directly related to the content of the chat\n\nI keep bees")
OWUI_REVIEWER = "You are Open WebUI's private memory reviewer. Return only valid JSON."
CLAUDE_COMPACT = 'You are a helpful AI assistant tasked with summarizing conversations.'
CODEX_COMPACT = ('You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another '
                 'LLM that will resume the task.')
NEAR_MISSES = ['Generate a concise, 3-5 word title for my essay on beekeeping.',
               'Please summarize our chat and suggest tags for it.',
               'What is a good title for a talk about conversation summaries?']
# Title tasks in the structured and function-calling forms front ends send
# (in the shape of LibreChat's @librechat/agents title runnable, which asks
# for a JSON answer or forces a function, and of Open WebUI's tasks), each
# quoting a tool's output the user never said.
ANALYZE = ('Analyze this conversation and provide:\n1. The detected language of the conversation\n'
           '2. A concise title in the detected language (5 words or less, no punctuation or quotation)'
           '\n\nUser: what did the build tool print?\nAI: It printed SECRET_CODENAME=zebra.')
HISTORY = ('Read the chat history below and answer as the schema says.\n<chat_history>\nUSER: what did '
           'the build tool print?\nASSISTANT: It printed SECRET_CODENAME=zebra.\n</chat_history>')
TITLE_SCHEMA = {'type': 'object', 'properties': {'title': {'type': 'string'}}, 'required': ['title']}
# A client addressing an agent of its own about its own work (written for
# the test: a role in the second person, rules about its files, directories
# and tools, no person's words).
AGENT = ('You are now acting as the note keeper of a coding assistant.\n\nRules:\n'
         '- Read only the files under ~/.acme/notes/ and the project\'s NOTES.md.\n'
         '- Never write outside the notes directory.\n'
         '- Use the `write_file` tool once per note; SECRET_CODENAME=zebra is an example, not a note.\n'
         '- Keep each note under 200 words.\n\n'
         'When nothing is worth keeping, answer with the single word NONE and stop. Do not explain '
         'what was kept or why; the assistant reads the notes later.')
# A person giving a role, with rules about their own files: their words.
PERSON_ROLE = ('You are a senior Python developer. I need your help with my project:\n'
               '- src/app.py crashes on start\n- the tests folder has no tests\n'
               '- the config file is config.yaml\n- the build tool is make\n'
               'Please look at it and tell me what to change first, step by step, with the reasons '
               'for each step, so that I can learn from it as I go.')
MEMORY = {'mode': 'buffer', 'buffer_messages': 20, 'summarize_at': 40}


def anthropic_body(messages, system=None, stream=False, **extra):
    d = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': messages}
    if system is not None:
        d['system'] = system
    if stream:
        d['stream'] = True
    d.update(extra)
    return json.dumps(d).encode()


class ClientTasks(mh.MemCase):
    def own(self, **memory):
        return self.start_proxy(memory=dict(MEMORY, **memory), sections={
            'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]}})

    def post(self, p, path, user, raw, extra=()):
        tag = uuid.uuid4().hex
        h = mh.chat_headers(user, 'default', None, None, tag, extra)
        if path == '/v1/messages':
            h.append(('anthropic-version', '2023-06-01'))
        return mh.Sent(tag, raw, None, p.request('POST', path, h, raw, timeout=30.0))

    def chat(self, p, user, messages, stream=False, extra=()):
        if isinstance(messages, str):
            messages = [mh.user_msg(messages)]
        raw, _ = mh.build_chat(messages, stream=stream)
        return self.post(p, '/v1/chat/completions', user, raw, extra)

    def assertTask(self, sent, kind):
        self.assertOK(sent)
        self.assertEqual(sent.mode(), 'off', sent.resp.headers)
        self.assertEqual(sent.header('x-memory-skipped'), 'client_task:' + kind, sent.resp.headers)
        self.assertEqual(mh.upstream_body(self.fake, sent), sent.body,
                         'a task did not go upstream byte for byte')

    def assertNotTask(self, sent):
        self.assertOK(sent)
        self.assertEqual(sent.mode(), 'buffer')
        self.assertIsNone(sent.header('x-memory-skipped'), sent.resp.headers)

    def assertNothingRecorded(self, p, user, records_before):
        mh.wait_idle(p)
        self.assertEqual(mh.get_memory(p, user)['buffer'], [], 'a client task was recorded')
        records = sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record')
        self.assertEqual(records, records_before, 'a client task reached the memory worker')

    def assertOnlySeed(self, p, user, records_before):
        """Nothing but the seed turn recorded: no task reached the memory worker."""
        mh.wait_idle(p)
        self.assertEqual(self.records(p), records_before, 'a client task reached the memory worker')
        mem = mh.get_memory(p, user)
        self.assertEqual(len(mem['buffer']), 2, 'a client task was recorded')
        self.assertNotIn('zebra', json.dumps(mem))

    def seed(self, p, user):
        """A stored turn, so that a request that is not a task would get memory injected."""
        self.assertOK(self.chat(p, user, 'I keep bees in Lyon.'))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the seed turn')

    def records(self, p):
        return sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record')

    def test_hint_headers(self):
        p = self.own()
        user = mh.uid('hint')
        before = self.records(p)
        cases = [(('x-claude-code-request-class', 'auxiliary'), 'auxiliary'),
                 (('x-openai-subagent', 'compact'), 'compaction'),
                 (('X-OpenWebUI-Task', 'title_generation'), 'title'),
                 (('X-Memory-Task', 'tags'), 'tags'),
                 (('X-Memory-Task', 'anything else'), 'other')]
        for header, kind in cases:
            self.assertTask(self.chat(p, user, 'I keep bees in Lyon.', extra=[header]), kind)
        self.assertNothingRecorded(p, user, before)
        for kind in ('auxiliary', 'compaction', 'title', 'tags', 'other'):
            self.assertEqual(p.metric('memproxy_client_tasks_total', kind=kind), 1, kind)
        # Claude Code's main conversation, and an empty hint, are the user's
        for header in (('x-claude-code-request-class', 'main'), ('X-OpenWebUI-Task', ''),
                       ('X-Memory-Task', '')):
            self.assertNotTask(self.chat(p, mh.uid('main'), 'I keep bees.', extra=[header]))

    def test_default_patterns_on_three_apis(self):
        p = self.own()
        user = mh.uid('pat')
        self.seed(p, user)
        before = self.records(p)
        for text, kind in ((OWUI_TITLE, 'title'), (OWUI_TAGS, 'tags'), (OWUI_FOLLOW, 'follow_ups'),
                           (OWUI_QUERIES, 'search_queries'), (OWUI_AUTOCOMPLETE, 'autocomplete'),
                           (LIBRECHAT, 'title'), (CONTINUE, 'title')):
            self.assertTask(self.chat(p, user, text), kind)
        self.assertTask(self.chat(p, user, [{'role': 'system', 'content': LOBE_SYSTEM},
                                            mh.user_msg('user: 我养蜜蜂')]), 'title')
        # Open WebUI's memory reviewer: its system prompt, then the user's turns as a transcript
        self.assertTask(self.chat(p, user, [{'role': 'system', 'content': OWUI_REVIEWER},
                                            mh.user_msg('Review the completed conversation turn and decide '
                                                        'whether long-term memory should change.\n\n'
                                                        'Conversation:\nuser: I keep bees in Lyon.')]),
                        'memory_review')
        self.assertTask(self.chat(p, user, OWUI_TITLE, stream=True), 'title')
        # Responses: a string input; a stream; Codex's compaction as instructions
        for body in ({'model': 'm', 'input': OWUI_TAGS}, {'model': 'm', 'input': OWUI_TITLE, 'stream': True}):
            self.assertTask(self.post(p, '/v1/responses', user, json.dumps(body).encode()),
                            'tags' if body['input'] == OWUI_TAGS else 'title')
        codex = {'model': 'm', 'instructions': CODEX_COMPACT, 'tools': [{'type': 'function', 'name': 'sh'}],
                 'input': [mh.user_msg('fix the bug'), mh.asst_msg('done'), mh.user_msg('thanks')]}
        self.assertTask(self.post(p, '/v1/responses', user, json.dumps(codex).encode()), 'compaction')
        # Anthropic: the lone user message; Claude Code's compaction system block, streamed
        self.assertTask(self.post(p, '/v1/messages', user,
                                  anthropic_body([mh.user_msg(OWUI_TITLE)], system='be brief')), 'title')
        compact = anthropic_body([mh.user_msg('a'), mh.asst_msg('b'), mh.user_msg('Summarize now.')],
                                 system=[{'type': 'text', 'text': CLAUDE_COMPACT}], stream=True,
                                 tools=[{'name': 'Bash', 'input_schema': {'type': 'object'}}])
        s = self.post(p, '/v1/messages', user, compact)
        self.assertTask(s, 'compaction')
        self.assertIn(b'message_stop', s.resp.body)
        mh.wait_idle(p)
        self.assertEqual(self.records(p), before, 'a client task reached the memory worker')
        self.assertEqual(len(mh.get_memory(p, user)['buffer']), 2, 'a client task was recorded')
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='title'), 7)
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='compaction'), 2)
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='memory_review'), 1)

    def test_structured_and_function_title_tasks_on_three_apis(self):
        p = self.own()
        user = mh.uid('form')
        self.seed(p, user)
        before = self.records(p)
        fn = {'type': 'function', 'function': {'name': 'extract', 'description': 'the title',
                                                'parameters': TITLE_SCHEMA}}
        # chat completions: a function forced; a JSON schema
        raw, _ = mh.build_chat([mh.user_msg(ANALYZE)], extra={
            'tools': [fn], 'tool_choice': {'type': 'function', 'function': {'name': 'extract'}}})
        self.assertTask(self.post(p, '/v1/chat/completions', user, raw), 'title')
        raw, _ = mh.build_chat([mh.user_msg(HISTORY)], stream=True, extra={
            'response_format': {'type': 'json_schema',
                                'json_schema': {'name': 'chat_title', 'schema': TITLE_SCHEMA}}})
        self.assertTask(self.post(p, '/v1/chat/completions', user, raw), 'title')
        # Responses: text.format; a function required
        for body in ({'model': 'm', 'input': ANALYZE,
                      'text': {'format': {'type': 'json_schema', 'name': 't', 'schema': TITLE_SCHEMA}}},
                     {'model': 'm', 'input': [mh.user_msg(HISTORY)], 'tool_choice': 'required',
                      'tools': [{'type': 'function', 'name': 'set_title', 'parameters': TITLE_SCHEMA}]}):
            self.assertTask(self.post(p, '/v1/responses', user, json.dumps(body).encode()), 'title')
        # Messages: a tool forced
        self.assertTask(self.post(p, '/v1/messages', user, anthropic_body(
            [mh.user_msg(ANALYZE)], tools=[{'name': 'extract', 'input_schema': TITLE_SCHEMA}],
            tool_choice={'type': 'tool', 'name': 'extract'})), 'title')
        self.assertOnlySeed(p, user, before)
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='title'), 5)
        # a person's question under a schema, naming no conversation, is theirs
        raw, _ = mh.build_chat([mh.user_msg('What is a good title for my talk about bees?')], extra={
            'response_format': {'type': 'json_schema', 'json_schema': {'name': 'title', 'schema': TITLE_SCHEMA}}})
        s = self.post(p, '/v1/chat/completions', user, raw)
        self.assertNotTask(s)
        self.assertNotEqual(mh.upstream_body(self.fake, s), s.body, 'memory was not injected')

    def test_a_rewritten_title_template_is_a_task(self):
        """An operator's own title template (Open WebUI lets one replace its
        default, so no pattern names it), plain, on chat completions and
        Messages: a task by its shape, the quoted tool output not recorded."""
        p = self.own()
        user = mh.uid('custom')
        self.seed(p, user)
        before = self.records(p)
        custom = ('# Title Maker\n\nYour task is to write a short title for the chat history below.\n'
                  '- Keep it under six words.\n- Use the chat\'s language.\n\n<chat_history>\n'
                  'USER: what did the build tool print?\nASSISTANT: It printed SECRET_CODENAME=zebra.\n'
                  '</chat_history>')
        self.assertTask(self.chat(p, user, custom), 'title')
        self.assertTask(self.post(p, '/v1/messages', user, anthropic_body([mh.user_msg(custom)])), 'title')
        self.assertOnlySeed(p, user, before)

    def test_a_clients_agent_prompt_is_a_task(self):
        p = self.own()
        user = mh.uid('agent')
        self.seed(p, user)
        before = self.records(p)
        self.assertTask(self.post(p, '/v1/messages', user, anthropic_body(
            [mh.user_msg(AGENT)], system='You are a coding assistant.',
            tools=[{'name': 'write_file', 'input_schema': {'type': 'object'}}])), 'other')
        raw, _ = mh.build_chat([{'role': 'system', 'content': 'x'}, mh.user_msg(AGENT)])
        self.assertTask(self.post(p, '/v1/chat/completions', user, raw), 'other')
        body = {'model': 'm', 'input': AGENT + '\nKeep the memory of the project short.'}
        self.assertTask(self.post(p, '/v1/responses', user, json.dumps(body).encode()), 'memory_review')
        self.assertOnlySeed(p, user, before)
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='other'), 2)
        self.assertEqual(p.metric('memproxy_client_tasks_total', kind='memory_review'), 1)
        # a person's role prompt, and a client's prompt followed by the person's words, are theirs
        for messages in ([mh.user_msg(PERSON_ROLE)], [mh.user_msg(AGENT), mh.user_msg('Which notes?')]):
            s = self.chat(p, user, messages)
            self.assertNotTask(s)
            self.assertNotEqual(mh.upstream_body(self.fake, s), s.body, 'memory was not injected')
        mh.wait_memory(p, user, lambda m: any(x['content'] == PERSON_ROLE for x in m['buffer']),
                       what='the person\'s role prompt recorded as theirs')

    def test_near_misses_are_the_users_turns(self):
        p = self.own()
        user = mh.uid('near')
        self.seed(p, user)
        for text in NEAR_MISSES:
            s = self.chat(p, user, text)
            self.assertNotTask(s)
            self.assertNotEqual(mh.upstream_body(self.fake, s), s.body, 'memory was not injected')
        # the template's words in a conversation's later turn, or with tools
        s = self.chat(p, user, [mh.user_msg('hi'), mh.asst_msg('hello'), mh.user_msg(OWUI_TITLE)])
        self.assertNotTask(s)
        raw, _ = mh.build_chat([mh.user_msg(OWUI_TITLE)], extra={'tools': [{'type': 'function',
                                                                           'function': {'name': 'f'}}]})
        self.assertNotTask(self.post(p, '/v1/chat/completions', user, raw))
        mh.wait_memory(p, user, lambda m: any(x['content'] == NEAR_MISSES[0] for x in m['buffer']),
                       what='a near miss recorded as the user\'s turn')
        self.assertEqual(p.metric('memproxy_client_tasks_total'), 0)

    def test_detection_off_and_an_empty_pattern_file(self):
        p = self.own()
        user = mh.uid('off')
        self.hup(p, task_detection='false')
        self.assertNotTask(self.chat(p, user, OWUI_TITLE, extra=[('X-Memory-Task', 'title')]))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the title request recorded')
        empty = os.path.join(p.tmp.name, 'no-patterns.conf')
        with open(empty, 'w') as f:
            f.write('# no patterns\n')
        self.hup(p, task_detection='true', task_patterns=empty)
        # a template only its pattern names (no transcript quoted, no answer's form fixed)
        self.assertNotTask(self.chat(p, user, OWUI_FOLLOW))
        self.assertTask(self.chat(p, user, OWUI_FOLLOW, extra=[('X-Memory-Task', 'title')]), 'title')
        # the shape still tells a title task that quotes the conversation
        self.assertTask(self.chat(p, user, OWUI_TITLE), 'title')

    def test_memory_context_is_not_the_users_words(self):
        p = self.own()
        user = mh.uid('ctx')
        words = 'Which flowers do my bees like?'
        text = '<memory_context>\n[Relevant Context]\n- The user is allergic to wasps\n</memory_context>\n\n' + words
        self.assertNotTask(self.chat(p, user, [{'role': 'system', 'content': 'be kind'}, mh.user_msg(text)]))
        mem = mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the turn recorded')
        self.assertEqual(mem['buffer'][0]['content'], words)
        self.assertNotIn('wasps', json.dumps(mem))

    def test_bad_pattern_file_fails_check_config(self):
        with tempfile.TemporaryDirectory(prefix='memproxy-tasks-') as d:
            patterns = os.path.join(d, 'tasks.conf')
            with open(patterns, 'w') as f:
                f.write('# mine\ntitle prompt ### Task:\\nGenerate\ntitle user Generate a title\n')
            ini = os.path.join(d, 'memproxy.ini')
            with open(ini, 'w') as f:
                f.write('[upstream]\nbase_url = http://127.0.0.1:9/v1\n[memory]\ntask_patterns = %s\n' % patterns)
            r = subprocess.run([harness.MEMPROXY_BIN, '-c', ini, '--check-config'], env=harness.child_env(),
                               capture_output=True, timeout=20, cwd=d)
            err = r.stderr.decode('utf-8', 'replace')
            self.assertEqual(r.returncode, 1, err)
            self.assertIn('%s:3' % patterns, err)
            self.assertIn('scope must be prompt or system', err)
            os.remove(patterns)
            r = subprocess.run([harness.MEMPROXY_BIN, '-c', ini, '--check-config'], env=harness.child_env(),
                               capture_output=True, timeout=20, cwd=d)
            self.assertEqual(r.returncode, 1)
            self.assertIn('cannot open', r.stderr.decode('utf-8', 'replace'))


if __name__ == '__main__':
    harness.main('client_tasks')
