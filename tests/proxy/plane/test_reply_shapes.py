"""Every reply shape (issue 63, requirement 5): a reply whose words are not
in the usual text is recorded, and the user's words are recorded whatever
the reply holds. On each API, streamed and not, through a real memproxy to
the fake upstream (its `audio`, `refusal` and `no_text` directives):

- a voice reply (chat completions' message.audio.transcript and its
  stream's delta.audio.transcript; a Responses output_audio part and its
  response.audio.transcript.delta events): the transcript is the reply;
- a refusal (chat completions' message.refusal / delta.refusal; a Responses
  refusal part / response.refusal.delta): the refusal is the reply; an
  Anthropic refusal (stop_reason "refusal", no content): the user's words;
- a reply without words (a chat completion stopped by its content filter,
  a Responses output of reasoning and an image generation, an Anthropic
  reply of a redacted_thinking block): the user's words, no reply.

The same request again after a reply without words (a "regenerate") puts
its reply after the user's words. Each turn is checked in the user's
memory (GET /v1/memory) and in the reply's headers (X-Memory-Mode, no
X-Memory-Error), and none of them is counted in
memproxy_turns_unrecorded_total."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

PATHS = {'chat': '/v1/chat/completions', 'responses': '/v1/responses', 'messages': '/v1/messages'}
EVENTS = 3
STREAM_TEXT = 'tok0 tok1 tok2 '  # the fake's stream of EVENTS pieces


def request_body(api, text, stream):
    if api == 'responses':
        doc = {'model': 'gpt-4o-mini', 'input': text}
    elif api == 'messages':
        doc = {'model': 'claude-sonnet-4-5', 'max_tokens': 256,
               'messages': [{'role': 'user', 'content': text}]}
    else:
        doc = {'model': 'gpt-4o-audio-preview', 'modalities': ['text', 'audio'],
               'audio': {'voice': 'alloy', 'format': 'wav'},
               'messages': [{'role': 'user', 'content': text}]}
    if stream:
        doc['stream'] = True
    return json.dumps(doc).encode()


class ReplyShapes(mh.MemCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = harness.FakeUpstream().start()
        try:
            root = cls.fake.base_url[:-len('/v1')]
            cls.proxy = harness.Proxy(
                cls.fake.base_url, workers=1,
                memory={'mode': 'buffer', 'buffer_messages': 50, 'summarize_at': 100},
                sections={'anthropic': {'base_url': root}}).start()
        except BaseException:
            cls.fake.stop()
            raise

    def turn(self, api, stream, shape, user=None, text=None):
        """Sends one question (a new one unless user and text are given) in
        this shape ('' the usual text); returns (user, question, reply)."""
        user, text = user or mh.uid(api), text or 'question %s' % mh.uid('q')
        h = mh.chat_headers(user, fake='%s,events=%d' % (shape, EVENTS) if shape else None)
        if api == 'messages':
            h += [('x-api-key', 'sk-ant-%s' % user), ('anthropic-version', '2023-06-01')]
        r = self.proxy.request('POST', PATHS[api], h, request_body(api, text, stream), timeout=30)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-memory-mode'), 'buffer')
        self.assertIsNone(r.header('x-memory-error'), 'the turn is recorded')
        return user, text, r

    def assertRecorded(self, user, pairs):
        """The user's memory holds exactly pairs once the queue is idle."""
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= len(pairs),
                       what='the turn in memory')
        mh.wait_idle(self.proxy)
        self.assertEqual(mh.buffer_pairs(mh.get_memory(self.proxy, user)), pairs)

    def check(self, shape, apis, reply_of):
        """Each API, streamed and not: the turn recorded with reply_of(api,
        stream) as its reply (None: the user's words alone); nothing
        counted as unrecorded."""
        lost = self.proxy.metric('memproxy_turns_unrecorded_total')
        for api in apis:
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    user, text, _ = self.turn(api, stream, shape)
                    reply = reply_of(api, stream)
                    want = [('user', text)] + ([('assistant', reply)] if reply else [])
                    self.assertRecorded(user, want)
        self.assertEqual(self.proxy.metric('memproxy_turns_unrecorded_total'), lost)

    def test_voice_reply_records_its_transcript(self):
        self.check('audio', ('chat', 'responses'),
                   lambda api, stream: STREAM_TEXT if stream else mh.REPLY)

    def test_refusal_records_what_was_said(self):
        # Anthropic's refusal: stop_reason "refusal" and no content block
        self.check('refusal', ('chat', 'responses', 'messages'),
                   lambda api, stream: None if api == 'messages'
                   else STREAM_TEXT if stream else mh.REPLY)

    def test_reply_without_words_records_the_users_words(self):
        # a content filter's stop; reasoning and an image; redacted_thinking
        self.check('no_text', ('chat', 'responses', 'messages'), lambda api, stream: None)

    def test_regenerated_after_a_reply_without_words_records_the_new_reply(self):
        # the same request again (a front end's "regenerate"): the turn kept
        # the user's words alone, and the new reply follows them
        for api in ('chat', 'responses', 'messages'):
            for stream in (False, True):
                with self.subTest(api=api, stream=stream):
                    user, text, _ = self.turn(api, stream, 'no_text')
                    self.assertRecorded(user, [('user', text)])
                    self.turn(api, stream, '', user, text)
                    self.assertRecorded(user, [('user', text), ('assistant',
                                                                STREAM_TEXT if stream else mh.REPLY)])


if __name__ == '__main__':
    harness.main('proxy_reply_shapes')
