"""Temporary chats (issue 50, requirement 7): Open WebUI's temporary chat
(X-OpenWebUI-Chat-Id: local:<socket id>) gets the user's memory injected as
any chat, records nothing of its turn (no buffer, no archive, no memory
job), answers X-Memory-Skipped: temporary_chat and counts in
memproxy_temporary_chats_total, on chat completions (streamed or not),
Anthropic Messages and Responses; a saved chat's id is recorded; [memory]
record_temporary_chats = true records temporary chats, reloaded both ways;
a client task in a temporary chat stays a client task."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import ConvCase  # noqa: E402

MEMORY = {'mode': 'hybrid', 'buffer_messages': 20, 'summarize_at': 40, 'extract_batch_turns': 1,
          'extract_idle_seconds': 0}
SEED = 'I keep bees in Lyon.'
TEMP = 'local:pZ2bJ4y0aF1kLqAAAAB'  # Open WebUI: "local:" and the browser's socket id
SAVED = '3f1c0b9e-7d7e-4c2b-9a55-1f0f2a6c8e11'  # Open WebUI: a saved chat's UUID


def chat_id(value):
    return [('X-OpenWebUI-Chat-Id', value)]


class TemporaryChats(ConvCase):
    """On the backend MPTEST_BACKEND names (test_conversations.ConvCase):
    LMDB, and PostgreSQL as proxy_temporary_chats_postgres."""

    def own(self, **memory):
        return self.own_proxy(memory=dict(MEMORY, **memory))

    def post(self, p, path, user, body, extra=()):
        tag = uuid.uuid4().hex
        h = mh.chat_headers(user, 'default', None, None, tag, extra)
        if path == '/v1/messages':
            h.append(('anthropic-version', '2023-06-01'))
        raw = json.dumps(body).encode()
        return mh.Sent(tag, raw, None, p.request('POST', path, h, raw, timeout=30.0))

    def chat(self, p, user, text, stream=False, extra=()):
        raw, k = mh.build_chat([mh.user_msg(text)], stream=stream)
        tag = uuid.uuid4().hex
        h = mh.chat_headers(user, 'default', None, None, tag, extra)
        return mh.Sent(tag, raw, k, p.request('POST', '/v1/chat/completions', h, raw, timeout=30.0))

    def seed(self, p, user):
        """A recorded turn and its jobs done: memory to inject, a state to compare."""
        self.assertOK(self.chat(p, user, SEED))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the seed turn')
        mh.wait_idle(p)
        return mh.get_memory(p, user)

    def assertRead(self, sent):
        """Memory went in: the seed reached the upstream, not in the client's body."""
        self.assertOK(sent)
        self.assertEqual(sent.mode(), 'hybrid', sent.resp.headers)
        self.assertGreater(sent.tokens(), 0, sent.resp.headers)
        got = mh.upstream_body(self.fake, sent)
        self.assertNotIn(b'bees in Lyon', sent.body)
        self.assertIn(b'bees in Lyon', got, 'the user\'s memory was not injected')

    def assertTemporary(self, sent):
        self.assertRead(sent)
        self.assertEqual(sent.header('x-memory-skipped'), 'temporary_chat', sent.resp.headers)

    def assertRecorded(self, p, user, text):
        mh.wait_memory(p, user, lambda m: any(x['content'] == text for x in m['buffer']),
                       what='%r recorded' % text)

    def assertUnchanged(self, p, user, before, jobs_before, texts):
        """Nothing of texts was recorded: the memory is as it was once the
        worker is idle, no job ran for the user; then a later ordinary turn
        is recorded and still none of texts is there (buffer or archive)."""
        mh.wait_idle(p)
        self.assertEqual(mh.get_memory(p, user), before, 'a temporary chat changed the memory')
        self.assertEqual(len(mh.user_jobs(self.fake, user)), jobs_before, 'a temporary chat ran a job')
        later = 'Later, an ordinary turn %s.' % uuid.uuid4().hex[:8]
        s = self.chat(p, user, later, extra=chat_id(SAVED))
        self.assertOK(s)
        self.assertIsNone(s.header('x-memory-skipped'), s.resp.headers)
        self.assertRecorded(p, user, later)
        mem = json.dumps(mh.get_memory(p, user))
        for t in texts:
            self.assertNotIn(t, mem, 'a temporary chat\'s words were recorded')

    def test_chat_completions_read_not_recorded(self):
        p = self.own()
        user = mh.uid('tmp')
        before = self.seed(p, user)
        jobs = len(mh.user_jobs(self.fake, user))
        self.assertGreater(jobs, 0, 'the seed turn ran no memory job: the check below proves nothing')
        records = mh.jobs_metric(p, 'record', 'ok')
        texts = ['Temporary question one about hives.', 'Temporary question two, streamed.']
        self.assertTemporary(self.chat(p, user, texts[0], extra=chat_id(TEMP)))
        s = self.chat(p, user, texts[1], stream=True, extra=chat_id(TEMP))
        self.assertTemporary(s)
        self.assertIn(b'[DONE]', s.resp.body)
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 2)
        self.assertUnchanged(p, user, before, jobs, texts)
        self.assertEqual(mh.jobs_metric(p, 'record', 'ok'), records + 1, 'only the later turn was recorded')

    def test_saved_chat_is_recorded(self):
        p = self.own()
        user = mh.uid('saved')
        self.seed(p, user)
        for value in (SAVED, 'Local:x', 'channel:c1'):
            text = 'A saved chat\'s turn %s.' % value
            s = self.chat(p, user, text, extra=chat_id(value))
            self.assertRead(s)
            self.assertIsNone(s.header('x-memory-skipped'), s.resp.headers)
            self.assertRecorded(p, user, text)
        # Claude Code's or Codex's session id saying "local:" is not Open WebUI's chat id
        text = 'A Claude Code turn.'
        s = self.chat(p, user, text, extra=[('x-claude-code-session-id', 'local:1')])
        self.assertIsNone(s.header('x-memory-skipped'), s.resp.headers)
        self.assertRecorded(p, user, text)
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 0)

    def test_messages_and_responses(self):
        p = self.own()
        user = mh.uid('apis')
        before = self.seed(p, user)
        jobs = len(mh.user_jobs(self.fake, user))
        texts = ['A temporary Messages question.', 'A temporary Responses question.',
                 'A streamed temporary Messages question.']
        self.assertTemporary(self.post(p, '/v1/messages', user, {
            'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'system': 'be brief',
            'messages': [mh.user_msg(texts[0])]}, chat_id(TEMP)))
        self.assertTemporary(self.post(p, '/v1/responses', user, {
            'model': 'gpt-4o-mini', 'input': [mh.user_msg(texts[1])]}, chat_id(TEMP)))
        s = self.post(p, '/v1/messages', user, {
            'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'stream': True,
            'messages': [mh.user_msg(texts[2])]}, chat_id(TEMP))
        self.assertTemporary(s)
        self.assertIn(b'message_stop', s.resp.body)
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 3)
        self.assertUnchanged(p, user, before, jobs, texts)

    def test_setting_records_them_reloaded_both_ways(self):
        p = self.own()
        user = mh.uid('rec')
        self.seed(p, user)
        self.hup(p, record_temporary_chats='true')
        text = 'A temporary chat kept on purpose.'
        s = self.chat(p, user, text, extra=chat_id(TEMP))
        self.assertRead(s)
        self.assertIsNone(s.header('x-memory-skipped'), s.resp.headers)
        self.assertRecorded(p, user, text)
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 0)
        self.hup(p, record_temporary_chats='false')
        mh.wait_idle(p)
        before = mh.get_memory(p, user)
        jobs = len(mh.user_jobs(self.fake, user))
        gone = 'A temporary chat forgotten again.'
        self.assertTemporary(self.chat(p, user, gone, extra=chat_id(TEMP)))
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 1)
        self.assertUnchanged(p, user, before, jobs, [gone])

    def test_tasks_and_x_memory_come_first(self):
        p = self.own()
        user = mh.uid('first')
        before = self.seed(p, user)
        # a client task from a temporary chat is a client task: nothing read
        s = self.chat(p, user, 'Name this chat.', extra=chat_id(TEMP) + [('X-Memory-Task', 'title')])
        self.assertOK(s)
        self.assertEqual(s.header('x-memory-skipped'), 'client_task:title')
        self.assertTransparent(s)
        # X-Memory: read records nothing anyway: not counted as skipped by the rule
        raw, _ = mh.build_chat([mh.user_msg('Read only, temporary.')])
        r = p.request('POST', '/v1/chat/completions',
                      mh.chat_headers(user, x_memory='read', extra=chat_id(TEMP)), raw)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header('x-memory-skipped'))
        # X-Memory: write in a temporary chat: nothing to read, nothing recorded
        s = mh.send(p, user, 'Write only, temporary.', x_memory='write', extra_headers=chat_id(TEMP))
        self.assertOK(s)
        self.assertEqual(s.mode(), 'off', s.resp.headers)
        self.assertEqual(s.header('x-memory-skipped'), 'temporary_chat')
        self.assertTransparent(s)
        self.assertEqual(p.metric('memproxy_temporary_chats_total'), 1)
        mh.wait_idle(p)
        self.assertEqual(mh.get_memory(p, user), before)


if __name__ == '__main__':
    harness.main('temporary_chats')
