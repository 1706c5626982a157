"""Inserted context (issue 51, requirements 1 and 8): the text a client puts
into a user message (Open WebUI's file and web-search context, Claude Code's
<system-reminder> blocks, Cline's and Roo Code's <environment_details> and
@-mention wrappers, LobeChat's <files_info>), each in the shape its source
builds it, goes upstream as sent but is neither archived as the user's words
nor read by extraction, nor asked as relevance's question; a message of
nothing else records nothing of the user; a conversation resent with or without that context never gets its own
first message replayed; an operator's pattern file extends or empties the
list, and a bad one fails --check-config with its line."""

import json
import os
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

MESSAGES = '/v1/messages'
HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, '..', '..', '..', 'conf', 'inserted-context.conf')

# A colleague's CV: what must never become the user's facts.
CV = 'My name is Boris. I live in Varna. My favorite color is ochre.'

# Open WebUI: DEFAULT_RAG_TEMPLATE (backend/open_webui/config.py) with the
# sources as utils/middleware.py renders them, put before the user's text
# (add_or_update_user_message(..., append=False): template, "\n", text).
OWUI_TEMPLATE = (
    '### Task:\nRespond to the user query using the provided context, incorporating inline citations in '
    'the format [id] **only when the <source> tag includes an explicit id attribute** (e.g., <source '
    'id="1">).\n\n### Guidelines:\n- If you don\'t know the answer, clearly state that.\n- If uncertain, '
    'ask the user for clarification.\n- Respond in the same language as the user\'s query.\n\n### Output:\n'
    'Provide a clear and direct response to the user\'s query, including inline citations in the format '
    '[id] only when the <source> tag with id attribute is present in the context.\n\n<context>\n%s\n'
    '</context>\n')
# The 0.5 - 0.6 template that ends with the query again.
OWUI_QUERY_TEMPLATE = (
    '### Task:\nRespond to the user query using the provided context, incorporating inline citations in '
    'the format [source_id] **only when the <source_id> tag is explicitly provided** in the context.\n\n'
    '<context>\n%s\n</context>\n\n<user_query>\n%s\n</user_query>\n')


def owui_rag(sources, text):
    return OWUI_TEMPLATE % sources + '\n' + text


def owui_source(i, name, doc):
    return '<source id="%d" name="%s">%s</source>' % (i, name, doc)


# Claude Code 2.x: its reminders as text blocks of their own around the user's.
REMINDER_MD = ('<system-reminder>\nAs you answer the user\'s questions, you can use the following context:\n'
               '# claudeMd\nCodebase and user instructions are shown below.\n' + CV +
               '\n</system-reminder>')
REMINDER_IDE = '<system-reminder>\nThe user opened the file /src/cv.md in the IDE.\n</system-reminder>'

# Cline 3.89: the task, then the environment, as text parts of one message.
CLINE_ENV = ('<environment_details>\n# VSCode Visible Files\ncv.md\n\n# Current Time\n1/1/2026, 9:00:00 AM\n'
             '\n# Current Working Directory (/home/u/app) Files\ncv.md\n' + CV + '\n</environment_details>')
CLINE_FILE = '<file_content path="cv.md">\n' + CV + '\n</file_content>'

# Roo Code 3.52: a slash command's file after the user's words.
ROO_COMMAND = '<command name="review">\nDescription: review a CV\n\n' + CV + '\n</command>'

# LobeChat 1.x (src/services/chat.ts, getContent): the text, a blank line, the files.
LOBE_FILES = ('<files_info>\n<files_docstring>here are user upload files and images you can refer to'
              '</files_docstring>\n\n<files>\n<files_docstring>here are user upload files you can refer to'
              '</files_docstring>\n<file id="file_1" name="cv.pdf" type="pdf" size="2048">' + CV +
              '</file>\n</files>\n</files_info>')

AT = '2024-03-01T10:00:00Z'
MEMORY = {'mode': 'hybrid', 'buffer_messages': 40, 'summarize_at': 80}


def text_parts(*texts):
    return [{'type': 'text', 'text': t} for t in texts]


class InsertedContext(mh.MemCase):
    PROXY_CONFIG = {'workers': 1}

    def setUp(self):
        super().setUp()
        self.n0 = mh.last_n(self.fake)  # the fake's requests before this test

    def own(self, **memory):
        # a memory key of its own: Claude Code's turns (Anthropic's route) lend
        # no credential to the memory model's provider, and the jobs would wait
        return self.start_proxy(workers=1, memory=dict(MEMORY, api_key='sk-memory', **memory), sections={
            'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]}})

    def jobs(self, kind=None):
        return mh.job_requests(self.fake, kind, after=self.n0)

    def chat(self, p, user, messages, extra=()):
        body, k = mh.build_chat(messages)
        tag = uuid.uuid4().hex
        sent = mh.Sent(tag, body, k, p.request('POST', mh.CHAT, mh.chat_headers(user, tag=tag, extra=extra),
                                                body, timeout=30.0))
        self.assertOK(sent)
        return sent

    def claude(self, p, user, messages, session, tools=None, extra=()):
        req = {'model': 'claude-sonnet-4-5', 'max_tokens': 256,
               'system': [{'type': 'text', 'text': 'You are Claude Code.'}], 'messages': messages}
        if tools:
            req['tools'] = tools
        body = json.dumps(req).encode()
        tag = uuid.uuid4().hex
        h = [('Content-Type', 'application/json'), ('X-User-Id', user), ('X-Test-Req', tag),
             ('x-api-key', 'sk-ant-' + user), ('anthropic-version', '2023-06-01'),
             ('x-claude-code-session-id', session)] + list(extra)
        sent = mh.Sent(tag, body, None, p.request('POST', MESSAGES, h, body, timeout=30.0))
        self.assertOK(sent)
        return sent

    def user_texts(self, p, user, n):
        """The user's recorded texts once the buffer holds n messages."""
        mh.wait_memory(p, user, lambda m: len(m['buffer']) >= n, what='%d messages recorded' % n)
        mh.wait_idle(p)
        mem = mh.get_memory(p, user)
        return [m['content'] for m in mem['buffer'] if m['role'] == 'user'], mem

    def assertNotRemembered(self, p, user, *needles):
        """Nothing of the needles in the user's memory (buffer, archive,
        facts, summary) nor in any memory job the fake received for them."""
        mh.wait_idle(p)
        mem = json.dumps(mh.get_memory(p, user), ensure_ascii=False)
        archive = json.dumps(mh.archive_pages(p, user, 50, admin=False), ensure_ascii=False)
        jobs = [mh.body_json(r) for r in self.jobs()]
        for needle in needles:
            self.assertNotIn(needle, mem, 'inserted context in the memory')
            self.assertNotIn(needle, archive, 'inserted context in the archive')
            for job in jobs:
                self.assertNotIn(needle, json.dumps(job, ensure_ascii=False), 'inserted context in a job')

    def test_open_webui_file_context(self):
        p = self.own()
        user = mh.uid('owui')
        words = 'I live in Lyon. Which of his skills fit my team?'
        text = owui_rag(owui_source(1, 'cv.pdf', CV), words)
        sent = self.chat(p, user, [{'role': 'system', 'content': 'You are helpful.'}, mh.user_msg(text)])
        self.assertTransparent(sent)  # a new user: nothing to inject, the body as sent
        texts, _ = self.user_texts(p, user, 2)
        self.assertEqual(texts, [words])
        mem = mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('city') == 'Lyon', what='city: Lyon')
        self.assertNotIn('name', mh.entity_map(mem), 'the CV\'s name became the user\'s')
        jobs = self.jobs('extract')
        self.assertTrue(jobs, 'no extraction ran')
        self.assertIn(words, json.dumps(mh.body_json(jobs[-1]), ensure_ascii=False))
        self.assertNotRemembered(p, user, 'Boris', 'Varna', 'ochre', 'Respond to the user query')
        self.assertGreaterEqual(p.metric('memproxy_inserted_context_total', client='open_webui'), 1)

    def test_context_escaped_as_go_writes_it(self):
        """A client in Go (encoding/json) writes '<' and '>' as \\u003c and
        \\u003e: the blocks are found all the same."""
        p = self.own()
        user = mh.uid('goesc')
        words = 'I live in Porto. Fix cv.md.'
        body, _ = mh.build_chat([mh.user_msg(words + '\n\n' + CLINE_ENV)])
        body = body.replace(b'<', b'\\u003c').replace(b'>', b'\\u003e')
        tag = uuid.uuid4().hex
        self.assertOK(mh.Sent(tag, body, None, p.request('POST', mh.CHAT, mh.chat_headers(user, tag=tag),
                                                         body, timeout=30.0)))
        texts, _ = self.user_texts(p, user, 2)
        self.assertEqual(texts, [words])
        self.assertNotRemembered(p, user, 'Boris', 'environment_details')

    def test_open_webui_two_turns_with_files(self):
        """Open WebUI keeps the context out of its history: turn 2 resends
        turn 1's words alone, with new context (the older template, the
        query inside it too) on the newest message. Turn 1 is never
        replayed into turn 2, and turn 2 records its words once. (The
        buffer mode: what would come back is a replayed message, not a
        summary's line.)"""
        p = self.own(mode='buffer')
        user = mh.uid('owui2')
        first = 'Here is the CV of a candidate for my team.'
        second = 'Does he know Rust? I use Rust at work.'
        sys_msg = {'role': 'system', 'content': 'You are helpful.'}
        s1 = self.chat(p, user, [sys_msg, mh.user_msg(owui_rag(owui_source(1, 'cv.pdf', CV), first))])
        reply = s1.resp.json()['choices'][0]['message']['content']
        self.user_texts(p, user, 2)
        rag2 = OWUI_QUERY_TEMPLATE % (owui_source(1, 'cv.pdf', 'Boris writes Go and Rust.'), second)
        s2 = self.chat(p, user, [sys_msg, mh.user_msg(first), mh.asst_msg(reply),
                                 mh.user_msg(rag2 + '\n' + second)])
        up = mh.upstream_body(self.fake, s2).decode()
        self.assertIn(json.dumps(rag2 + '\n' + second)[1:-1], up, 'the user message was changed')
        self.assertEqual(up.count(first), 1, 'turn 1 came back to its own conversation: ' + up)
        self.assertEqual(up.count(reply), 1, 'turn 1\'s reply came back to its own conversation')
        texts, _ = self.user_texts(p, user, 4)
        self.assertEqual(texts, [first, second])
        self.assertNotRemembered(p, user, 'Boris', 'Varna', '<user_query>')

    def test_a_chat_that_begins_with_a_file_stays_one_conversation(self):
        """A returning Open WebUI user (their client resent a chat lately)
        opens a chat with a file: its first turn is keyed by its leading
        messages, and so is the second, which resends the first message
        without the file's context. Both are one conversation, known by
        the user's own words: the head kept at the first turn goes in
        again, byte for byte."""
        p = self.own(head_share=45)
        user = mh.uid('lead')
        sys_msg = {'role': 'system', 'content': 'You are helpful.'}
        first = self.chat(p, user, [sys_msg, mh.user_msg('I live in Lyon.')])
        reply = first.resp.json()['choices'][0]['message']['content']
        self.chat(p, user, [sys_msg, mh.user_msg('I live in Lyon.'), mh.asst_msg(reply),
                            mh.user_msg('I keep bees.')])  # a chat it resends
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('city') == 'Lyon', what='city: Lyon')
        words = 'Here is the CV of a candidate for my team.'
        s1 = self.chat(p, user, [sys_msg, mh.user_msg(owui_rag(owui_source(1, 'cv.pdf', CV), words))])
        reply = s1.resp.json()['choices'][0]['message']['content']
        self.user_texts(p, user, 6)
        reused = p.metric('memproxy_conversation_heads_total', result='reused')
        s2 = self.chat(p, user, [sys_msg, mh.user_msg(words), mh.asst_msg(reply), mh.user_msg('Thanks!')])
        self.assertGreater(s2.tokens(), 0)
        self.assertEqual(p.metric('memproxy_conversation_heads_total', result='reused'), reused + 1,
                         'the second turn is another conversation than the first')

    def test_claude_code_reminders_resumed_session(self):
        """Claude Code resends its turns with their reminders; resumed under
        a new session id (another conversation for memproxy), the first
        message is still known as already there by its own words."""
        p = self.own(mode='buffer')
        user = mh.uid('cc')
        words = 'My name is Dana and the build is broken.'
        m1 = {'role': 'user', 'content': text_parts(REMINDER_MD, words, REMINDER_IDE)}
        s1 = self.claude(p, user, [m1], 'sess-1-' + user)
        self.assertTransparent(s1)
        reply = s1.resp.json()['content'][0]['text']
        texts, _ = self.user_texts(p, user, 2)
        self.assertEqual(texts, [words])
        second = 'Try again with the lockfile removed.'
        s2 = self.claude(p, user, [m1, {'role': 'assistant', 'content': reply},
                                   {'role': 'user', 'content': text_parts(REMINDER_IDE, second)}],
                         'sess-2-' + user)
        up = mh.upstream_body(self.fake, s2).decode()
        self.assertEqual(up.count(json.dumps(REMINDER_MD)[1:-1]), 1, 'the reminder was changed or copied')
        self.assertEqual(up.count(words), 1, 'the resent first message was replayed as memory')
        texts, _ = self.user_texts(p, user, 4)
        self.assertEqual(texts, [words, second])
        self.assertNotRemembered(p, user, 'Boris', 'claudeMd', 'opened the file')
        self.assertGreaterEqual(p.metric('memproxy_inserted_context_total', client='claude_code'), 3)

    def test_agents_and_lobechat(self):
        """Cline's environment and @-mentioned file (its <task> wrapper is
        the user's and stays), Roo Code's command file, LobeChat's files:
        each recorded as the user's words alone, the body upstream as sent."""
        p = self.own()
        cases = [
            ('cline', [{'role': 'user', 'content': text_parts(
                '<task>\nI live in Porto. Fix \'cv.md\' (see below for file content)\n</task>\n\n' + CLINE_FILE,
                CLINE_ENV)}],
             '<task>\nI live in Porto. Fix \'cv.md\' (see below for file content)\n</task>', 2),
            ('roo_code', [{'role': 'user', 'content': text_parts(
                '<user_message>\nI live in Porto. Run /review on cv.md\n</user_message>\n\n' + ROO_COMMAND,
                CLINE_ENV)}],
             '<user_message>\nI live in Porto. Run /review on cv.md\n</user_message>', 1),
            ('lobechat', [mh.user_msg('I live in Porto. Summarise this CV.\n\n' + LOBE_FILES)],
             'I live in Porto. Summarise this CV.', 1),
        ]
        for client, messages, words, blocks in cases:
            with self.subTest(client=client):
                user = mh.uid(client)
                before = p.metric('memproxy_inserted_context_total', client=client)
                sent = self.chat(p, user, messages)
                self.assertTransparent(sent)
                texts, _ = self.user_texts(p, user, 2)
                self.assertEqual(texts, [words])
                mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('city') == 'Porto', what='city: Porto')
                self.assertNotRemembered(p, user, 'Boris', 'Varna', 'environment_details', 'ochre')
                self.assertEqual(p.metric('memproxy_inserted_context_total', client=client) - before, blocks)

    def test_only_inserted_context_records_nothing_of_the_user(self):
        p = self.own()
        user = mh.uid('only')
        before = p.metric('memproxy_inserted_context_only_turns_total')
        records = sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record')
        sent = self.chat(p, user, [mh.user_msg(owui_rag(owui_source(1, 'cv.pdf', CV), ''))])
        self.assertTransparent(sent)
        p.wait_metric('memproxy_inserted_context_only_turns_total', lambda v: v == before + 1)
        mh.wait_idle(p)
        self.assertEqual(mh.get_memory(p, user)['buffer'], [], 'a turn without the user\'s words was recorded')
        self.assertEqual(sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record'), records)
        # two new user messages, one of them only context: the other is the turn
        words = 'I live in Lyon.'
        self.chat(p, user, [mh.user_msg(CLINE_ENV), mh.user_msg(words)])
        mem = mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', words), ('assistant', mh.REPLY)])
        self.assertEqual(p.metric('memproxy_inserted_context_only_turns_total'), before + 1)
        self.assertNotRemembered(p, user, 'Boris', 'Varna')

    def test_a_loop_round_with_only_a_reminder_is_not_an_only_context_turn(self):
        """Claude Code sends a reminder beside its tool results: that round
        of the loop is not a turn of only inserted context (the metric
        stays), while a message of only a reminder is."""
        p = self.own()
        user = mh.uid('ccloop')
        session = 'sess-loop-' + user
        tools = [{'name': 'get_weather', 'description': 'Runs the tool.',
                  'input_schema': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}]
        only = p.metric('memproxy_inserted_context_only_turns_total')
        blocks = p.metric('memproxy_inserted_context_total', client='claude_code')
        ask = {'role': 'user', 'content': text_parts('Run the tests, please.')}
        first = self.claude(p, user, [ask], session, tools, [('X-Fake-Behavior', 'tool_use')])
        calls = [b for b in first.resp.json()['content'] if b['type'] == 'tool_use']
        self.assertEqual(len(calls), 1, first.resp.json())
        # the next round: the tool's result and a reminder, answered with another call
        results = {'role': 'user', 'content': [
            {'type': 'tool_result', 'tool_use_id': calls[0]['id'], 'content': 'tests: 3 failed'},
            {'type': 'text', 'text': REMINDER_IDE}]}
        self.claude(p, user, [ask, {'role': 'assistant', 'content': first.resp.json()['content']}, results],
                    session, tools, [('X-Fake-Behavior', 'tool_use')])
        p.wait_metric('memproxy_inserted_context_total', lambda v: v == blocks + 1, client='claude_code')
        # then a message of only a reminder, no tool result: that turn counts
        self.claude(p, mh.uid('cconly'), [{'role': 'user', 'content': text_parts(REMINDER_IDE)}],
                    'sess-only-' + user)
        p.wait_metric('memproxy_inserted_context_total', lambda v: v == blocks + 2, client='claude_code')
        p.wait_metric('memproxy_inserted_context_only_turns_total', lambda v: v == only + 1)
        mh.wait_idle(p)
        self.assertEqual(p.metric('memproxy_inserted_context_only_turns_total'), only + 1,
                         'a loop round with a reminder counted as a turn of only inserted context')

    def test_operator_pattern_file(self):
        """The shipped file plus Continue's commented pattern and one of the
        operator's own; then an empty file, reloaded: nothing removed."""
        with open(SHIPPED) as f:
            shipped = f.read()
        with tempfile.TemporaryDirectory(prefix='memproxy-inserted-') as d:
            path = os.path.join(d, 'inserted.conf')
            with open(path, 'w') as f:
                f.write(shipped.replace('# continue lead', 'continue lead') +
                        '\n# our intranet search\nacme anywhere <acme-search> ... </acme-search>\n')
            p = self.own(inserted_context_patterns=path)
            user = mh.uid('ops')
            # Continue 1.3: each context item a text part before the user's, a fence with the file's path
            sent = self.chat(p, user, [{'role': 'user', 'content': text_parts(
                '```src/cv.md\n' + CV + '\n```\n', 'I live in Lyon. Is this CV complete?')}])
            self.assertTransparent(sent)
            self.chat(p, user, [mh.user_msg('<acme-search>' + CV + '</acme-search> I work at Acme.')])
            texts, _ = self.user_texts(p, user, 4)
            self.assertEqual(texts, ['I live in Lyon. Is this CV complete?', 'I work at Acme.'])
            self.assertNotRemembered(p, user, 'Boris')
            self.assertEqual(p.metric('memproxy_inserted_context_total', client='continue'), 1)
            self.assertEqual(p.metric('memproxy_inserted_context_total', client='other'), 1)
            with open(path, 'w') as f:
                f.write('# nothing is inserted context here\n')
            self.hup(p, inserted_context_patterns=path)
            user = mh.uid('empty')
            words = REMINDER_IDE + '\nI live in Lyon.'
            self.chat(p, user, [mh.user_msg(words)])
            texts, _ = self.user_texts(p, user, 2)
            self.assertEqual(texts, [words])

    def test_the_question_is_the_users_words(self):
        """Relevance asks the user's words, not the attached file: explain's
        question (the last 320 bytes of the newest user message's text)
        of a LobeChat message whose files come after the words, and which
        past message scores for it."""
        p = self.start_proxy(workers=1, memory=dict(MEMORY, api_key='sk-memory'),
                             sections={'admin': {'token': mh.ADMIN_TOKEN}})
        user = mh.uid('ask')
        r = mh.import_lines(p, user, [mh.message('user', 'My beehive stands behind the shed.', AT),
                                      mh.message('user', 'Varna has a lovely beach.', AT)])
        self.assertEqual(r.status, 200, r)
        words = 'Where does my beehive stand?'
        body = json.dumps({'model': 'gpt-4o-mini', 'messages': [mh.user_msg(words + '\n\n' + LOBE_FILES)]})
        r = mh.admin_request(p, 'POST', '/admin/users/%s/explain' % mh.qid(user), body.encode(),
                             'application/json')
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['question'], words)
        terms = {it['text']: it['terms'] for it in doc['sections']['past']['items']}
        self.assertIn('beehiv', terms['My beehive stands behind the shed.'])
        self.assertEqual(terms.get('Varna has a lovely beach.', []), [],
                         'the attached file was asked as the question')

    def test_bad_pattern_file_fails_check_config(self):
        with tempfile.TemporaryDirectory(prefix='memproxy-inserted-') as d:
            patterns = os.path.join(d, 'inserted.conf')
            ini = os.path.join(d, 'memproxy.ini')
            with open(ini, 'w') as f:
                f.write('[upstream]\nbase_url = http://127.0.0.1:9/v1\n[memory]\n'
                        'inserted_context_patterns = %s\n' % patterns)
            cases = [('# mine\nclaude_code anywhere <system-reminder> ... </system-reminder>\n'
                      'acme anywhere <acme-search> </acme-search>\n',
                      ['%s:3' % patterns, 'inserted_context_patterns',
                       'expected <client> <place> <open> ... <close>']),
                     ('acme anywhere <a ... </a>\n', ['%s:1' % patterns, 'marker shorter than 3 bytes']),
                     (None, ['cannot open'])]
            for text, says in cases:
                if text is None:
                    os.remove(patterns)
                else:
                    with open(patterns, 'w') as f:
                        f.write(text)
                r = subprocess.run([harness.MEMPROXY_BIN, '-c', ini, '--check-config'], env=harness.child_env(),
                                   capture_output=True, timeout=20, cwd=d)
                err = r.stderr.decode('utf-8', 'replace')
                self.assertEqual(r.returncode, 1, err)
                for said in says:
                    self.assertIn(said, err)


if __name__ == '__main__':
    harness.main('inserted_context')
