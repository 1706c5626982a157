"""Whose words (issue 63, requirements 1 to 4; docs/memory-whose-words.md "Whose
words"): a client this suite knows nothing of, through a real memproxy of
four workers, a new connection every request, on the three chat APIs.

- Its text in no shape structure tells (a plain part it adds to every
  turn) is recorded at its first sight; at its second, in another
  conversation beside the user's words, it is left out and undone where
  it was recorded: the message written again without it, the index and
  search without it, the fact only it told retracted, a history entry of
  actor client_text, counted.
- Its side request (a lone request quoting the turn it is about, under
  instructions of its own) is never recorded, whether it comes after or
  before that turn; its instructions are learned, and the next one goes
  upstream byte for byte with X-Memory-Skipped, nothing read or recorded.
- Nothing of the person is lost to it: the same words alone in two
  chats, a stateless app's turns under one system prompt quoting each
  other, "yes" beside a template.
- Erasing the user forgets what their client taught."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

MEMORY = {'mode': 'hybrid', 'buffer_messages': 40, 'summarize_at': 80, 'extract_idle_seconds': 0}
NOTES = ('Workspace notes from the Acme agent for this project. Remember that the deploy target '
         'is plover-9. The CI cluster is named kestrel-4.')
ACME_SYSTEM = ('You are the Acme agent. Help the user with their work; answer briefly and never '
               'invent facts about the project.')
LABEL_SYSTEM = ('Produce a short sidebar label (at most five words) for the exchange below. Reply '
                'with the label only, no punctuation and no quotes around it.')


def anthropic_body(messages, system=None, stream=False):
    d = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': messages}
    if system is not None:
        d['system'] = system
    if stream:
        d['stream'] = True
    return json.dumps(d).encode()


def responses_body(items, instructions=None, stream=False):
    d = {'model': 'gpt-4o-mini', 'input': items}
    if instructions is not None:
        d['instructions'] = instructions
    if stream:
        d['stream'] = True
    return json.dumps(d).encode()


def parts(*texts, kind='text'):
    return [{'type': kind, 'text': t} for t in texts]


class WhoseWords(mh.MemCase):
    def setUp(self):
        super().setUp()
        self.p = self.start_proxy(workers=4, memory=dict(MEMORY, api_key='sk-memory'), sections={
            'admin': {'token': mh.ADMIN_TOKEN},
            'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]}})

    def post(self, path, user, body, extra=()):
        tag = uuid.uuid4().hex
        h = mh.chat_headers(user, 'default', None, None, tag, extra)
        if path == '/v1/messages':
            h.append(('anthropic-version', '2023-06-01'))
        sent = mh.Sent(tag, body, None, self.p.request('POST', path, h, body, timeout=30.0))
        self.assertOK(sent)
        return sent

    def chat(self, user, messages, stream=False, extra=()):
        raw, _ = mh.build_chat(messages, stream=stream)
        return self.post('/v1/chat/completions', user, raw, extra)

    def archive(self, user):
        r = mh.admin_memory(self.p, user, '?limit=1000')
        if r.status == 404:
            return []
        self.assertEqual(r.status, 200, r)
        m = r.json()
        return [x['content'] for x in m.get('archive', [])] + [x['content'] for x in m['buffer']]

    def archived(self, user):
        """The user's archive alone: every recorded message once."""
        r = mh.admin_memory(self.p, user, '?limit=1000')
        self.assertEqual(r.status, 200, r)
        return [x['content'] for x in r.json().get('archive', [])]

    def facts(self, user):
        r = mh.admin_memory(self.p, user)
        return {} if r.status == 404 else {e['key']: e['value'] for e in r.json()['entities']}

    def history(self, user):
        r = mh.admin_request(self.p, 'GET', '/admin/users/%s/history' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        return r.json()['history']

    def search(self, user, q):
        r = self.p.request('GET', '/v1/memory/search?q=' + q, [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        return r.json()

    def held_out(self, user, text):
        """No stored message of user holds text, nor does any fact."""
        for c in self.archive(user):
            self.assertNotIn(text, c, 'client text kept as the user\'s words')
        for k, v in self.facts(user).items():
            self.assertNotIn(text, v, 'a fact from client text: %s' % k)

    def test_a_template_at_its_second_sight_is_undone(self):
        """Conversation 1 (chat completions): the notes part beside the
        user's words, recorded (nothing tells it yet), a fact drawn from it.
        Conversation 2 (Responses, streamed): the same notes beside other
        words: left out, and undone in conversation 1's message.
        Conversation 3 (Messages): left out at once. Each conversation is
        named by its client (a session id, as agents send): a client that
        sends only its newest message without one is in the user's session,
        one conversation until an idle gap."""
        user = mh.uid('tmpl')
        first = 'I prefer Rust for services and Go for small tools.'
        self.chat(user, [mh.user_msg(parts(NOTES, first))], extra=[('session-id', 'conv-1')])
        mh.wait_idle(self.p)
        mh.wait_for(lambda: 'the_deploy_target' in self.facts(user), what='the fact from the notes')
        self.assertTrue(any('plover-9' in c for c in self.archive(user)), 'first sight: kept')
        self.assertTrue(self.search(user, 'plover')['results'], 'first sight: searchable')
        before = self.p.metric('memproxy_client_text_undone_total', what='messages')
        self.post('/v1/responses', user, responses_body(
            [{'role': 'user', 'content': parts(NOTES, 'Which language do I use for small tools?',
                                              kind='input_text')}], stream=True),
                  extra=[('session-id', 'conv-2')])
        mh.wait_idle(self.p)
        self.held_out(user, 'plover-9')
        self.held_out(user, 'kestrel-4')
        self.assertIn(first, self.archive(user), 'the user\'s words of conversation 1 stay')
        self.assertIn('Which language do I use for small tools?', self.archive(user))
        self.assertNotIn('the_deploy_target', self.facts(user))
        self.assertEqual(self.search(user, 'plover')['results'], [])
        self.assertTrue(self.search(user, 'rust')['results'])
        self.assertTrue(any(h.get('actor') == 'client_text' and h.get('event') == 'deleted'
                            for h in self.history(user)), 'no history entry says why')
        self.assertGreater(self.p.metric('memproxy_client_text_undone_total', what='messages'), before)
        self.assertGreaterEqual(self.p.metric('memproxy_client_text_undone_total', what='facts'), 1)
        self.post('/v1/messages', user, anthropic_body(
            [{'role': 'user', 'content': parts(NOTES, 'Remind me what I use for services.')}]),
                  extra=[('session-id', 'conv-3')])
        mh.wait_idle(self.p)
        self.held_out(user, 'plover-9')
        self.assertGreaterEqual(self.p.metric('memproxy_client_text_total', how='repeated'), 2)

    def test_a_side_request_after_its_turn(self):
        """The label request quotes the user's turn under instructions of
        its own: not recorded; learned, the next goes upstream byte for byte
        (streamed) without memory, whatever it quotes."""
        user = mh.uid('side')
        said = 'I am planning a trip to Porto in May with my sister.'
        self.chat(user, [{'role': 'system', 'content': ACME_SYSTEM}, mh.user_msg(said)])
        label = 'Exchange:\nUser: %s\nAssistant: Lovely.\n\nLabel:' % said
        self.chat(user, [{'role': 'system', 'content': LABEL_SYSTEM}, mh.user_msg(label)])
        mh.wait_idle(self.p)
        self.held_out(user, 'Label:')
        self.assertIn(said, self.archive(user))
        self.assertGreaterEqual(self.p.metric('memproxy_client_text_total', how='side_request'), 1)
        # other label requests: known before any memory is read, on every
        # API, streamed and not
        other = 'Exchange:\nUser: What should I pack for Porto?\nAssistant: Layers.\n\nLabel:'
        for stream in (False, True):
            chat, _ = mh.build_chat([{'role': 'system', 'content': LABEL_SYSTEM},
                                     mh.user_msg(other)], stream=stream)
            for path, raw in (('/v1/chat/completions', chat),
                              ('/v1/responses', responses_body(other, LABEL_SYSTEM, stream)),
                              ('/v1/messages', anthropic_body([{'role': 'user', 'content': other}],
                                                              LABEL_SYSTEM, stream))):
                with self.subTest(path=path, stream=stream):
                    sent = self.post(path, user, raw)
                    self.assertTrue((sent.header('x-memory-skipped') or '').startswith(
                        'client_task:'), sent.resp.headers)
                    self.assertEqual(sent.mode(), 'off')
                    self.assertEqual(mh.upstream_body(self.fake, sent), raw, 'not byte for byte')
        mh.wait_idle(self.p)
        self.held_out(user, 'pack for Porto')

    def test_a_side_request_before_its_turn(self):
        """Messages API: the title request first (as Claude Code and
        opencode send theirs), recorded; the turn it quotes undoes it."""
        user = mh.uid('first')
        said = 'My allotment is on the north side of the river by the old mill.'
        title = '<exchange>\n%s\n</exchange>\n\nWrite a title for the exchange above.' % said
        self.post('/v1/messages', user, anthropic_body(
            [{'role': 'user', 'content': title}], system=LABEL_SYSTEM))
        mh.wait_idle(self.p)
        self.assertTrue(any('<exchange>' in c for c in self.archive(user)), 'recorded at first')
        self.post('/v1/messages', user, anthropic_body(
            [{'role': 'user', 'content': said}], system=ACME_SYSTEM, stream=True))
        mh.wait_idle(self.p)
        self.held_out(user, '<exchange>')
        self.held_out(user, 'Write a title')
        self.assertIn(said, self.archive(user))
        self.assertGreaterEqual(self.p.metric('memproxy_client_text_undone_total', what='turns'), 1)

    def test_the_persons_words_are_kept(self):
        """The same question alone in two chats; a stateless app's turns
        under one system prompt, the second quoting the first; a short
        "yes" beside the notes of a known template: all the person's."""
        user = mh.uid('keep')
        q = 'What is a good name for a grey kitten that likes boxes?'
        self.chat(user, [mh.user_msg(q)], extra=[('X-OpenWebUI-Chat-Id', 'chat-a')])
        self.chat(user, [mh.user_msg(q)], extra=[('X-OpenWebUI-Chat-Id', 'chat-b')])
        said = 'My favourite editor is Helix and I live in Lisbon.'
        self.chat(user, [{'role': 'system', 'content': ACME_SYSTEM}, mh.user_msg(said)])
        again = said + ' I moved there in 2019 with my dog.'
        self.chat(user, [{'role': 'system', 'content': ACME_SYSTEM}, mh.user_msg(again)])
        mh.wait_idle(self.p)
        kept = self.archived(user)
        self.assertEqual(kept.count(q), 2)  # the same words in two chats: twice
        self.assertIn(said, kept)
        self.assertIn(again, kept)

    def test_erasure_forgets_what_the_client_taught(self):
        user = mh.uid('erase')
        said = 'I am learning the cello and practise every morning before work.'
        self.chat(user, [{'role': 'system', 'content': ACME_SYSTEM}, mh.user_msg(said)])
        label = 'Exchange:\nUser: %s\n\nLabel:' % said
        self.chat(user, [{'role': 'system', 'content': LABEL_SYSTEM}, mh.user_msg(label)])
        mh.wait_idle(self.p)
        probe = [{'role': 'system', 'content': LABEL_SYSTEM},
                 mh.user_msg('Exchange:\nUser: anything at all here\n\nLabel:')]
        self.assertIsNotNone(self.chat(user, probe).header('x-memory-skipped'))
        r = self.p.request('DELETE', '/v1/memory', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        mh.wait_idle(self.p)
        mh.wait_for(lambda: self.chat(user, probe).header('x-memory-skipped') is None,
                    what='the learned side request forgotten with the user')


if __name__ == '__main__':
    harness.main('whose_words')
