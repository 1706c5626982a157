"""Bodies as providers take them (issue 51, requirement 7): with the default
[server] max_body_bytes (64 MiB), a chat turn carrying two 4 MB base64
images (what Open WebUI resends every turn) reaches the upstream byte for
byte around the memory memproxy splices in, on chat completions and on
Anthropic's Messages; only the text parts are recorded; and a body over
the limit still gets the documented 413 in the API's shape."""

import base64
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

CHAT = '/v1/chat/completions'
MESSAGES = '/v1/messages'
DEFAULT_MAX_BODY = 64 << 20
IMAGE_BYTES = 4 << 20  # each image's base64 text


def image_b64(seed):
    """IMAGE_BYTES of base64 (a pseudo-photo), distinct per seed."""
    raw = (seed.encode() * (3 * IMAGE_BYTES // 4 // len(seed) + 1))[:3 * IMAGE_BYTES // 4]
    return base64.b64encode(raw).decode()


def openai_turn(text, images):
    parts = [{'type': 'text', 'text': text}]
    parts += [{'type': 'image_url', 'image_url': {'url': 'data:image/jpeg;base64,' + b}} for b in images]
    doc = {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': parts}]}
    return json.dumps(doc, separators=(',', ':')).encode()


def anthropic_turn(text, images):
    parts = [{'type': 'image', 'source': {'type': 'base64', 'media_type': 'image/jpeg', 'data': b}}
             for b in images]
    parts.append({'type': 'text', 'text': text})
    doc = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': [{'role': 'user', 'content': parts}]}
    return json.dumps(doc, separators=(',', ':')).encode()


class Images(harness.ProxyTestCase):
    """One worker, buffer mode (nothing but the turns: no memory-model calls
    that would race the fake's last request), [anthropic] on."""

    def setUp(self):
        super().setUp()
        root = self.fake.base_url[:-len('/v1')]
        self.p = self.start_proxy(workers=1, memory={'mode': 'buffer', 'buffer_messages': 8},
                                  sections={'anthropic': {'base_url': root}})

    def headers(self, user, anthropic):
        h = [('Content-Type', 'application/json'), ('X-User-Id', user), ('X-Test-Req', uuid.uuid4().hex)]
        if anthropic:
            return h + [('x-api-key', 'sk-ant-client'), ('anthropic-version', '2023-06-01')]
        return h + [('Authorization', mh.auth_of(user))]

    def teach(self, user, anthropic, text):
        if anthropic:
            raw = json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64,
                              'messages': [{'role': 'user', 'content': text}]}).encode()
        else:
            raw = openai_turn(text, [])
        r = self.p.request('POST', MESSAGES if anthropic else CHAT, self.headers(user, anthropic), raw)
        self.assertEqual(r.status, 200, r)
        mh.wait_memory(self.p, user, lambda m: mh.buffer_pairs(m) == [('user', text), ('assistant', mh.REPLY)],
                       what='the taught turn')

    def turn_with_images(self, anthropic):
        """A taught turn, then one with two 4 MB images: the upstream got the
        client's bytes (images intact, in one piece with what is between
        them) with the memory block added, and the turn's text alone is
        recorded."""
        user = mh.uid('img')
        taught = 'My cat is called Tom.'
        self.teach(user, anthropic, taught)
        images = [image_b64('first photo %s' % user), image_b64('second photo %s' % user)]
        question = 'What is in these two photos?'
        raw = (anthropic_turn if anthropic else openai_turn)(question, images)
        self.assertGreater(len(raw), 8 << 20)  # over the old 8 MiB default
        r = self.p.request('POST', MESSAGES if anthropic else CHAT, self.headers(user, anthropic), raw,
                           timeout=60)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('X-Memory-Mode'), 'buffer')
        self.assertIsNone(r.header('X-Memory-Error'))
        self.assertGreater(int(r.header('X-Memory-Injected-Tokens')), 0)
        _, _, up = self.fake.last_parsed()
        up = bytes(up)
        # the client's bytes from the first image to the last, as sent
        first = raw.index(images[0].encode())
        last = raw.index(images[1].encode()) + len(images[1])
        self.assertEqual(up.count(raw[first:last]), 1, 'the images did not reach the upstream intact')
        # the rest of the client's body is there around it, in order
        self.assertTrue(up.startswith(raw[:raw.index(b'"messages":[') + 12]), up[:200])
        self.assertTrue(up.endswith(raw[last:]), up[-200:])
        self.assertIn(taught.encode(), up)  # the memory (the replayed turn)
        self.assertGreater(len(up), len(raw))
        doc = json.loads(up)
        self.assertEqual(doc['messages'][-1]['role'], 'user')
        want = [('user', taught), ('assistant', mh.REPLY), ('user', question), ('assistant', mh.REPLY)]
        mh.wait_memory(self.p, user, lambda m: mh.buffer_pairs(m) == want, what='the image turn recorded')
        stored = json.dumps(mh.get_memory(self.p, user))
        self.assertNotIn(images[0][:64], stored)
        self.assertNotIn(images[1][:64], stored)
        self.assertNotIn('base64', stored)
        return len(raw)

    def test_chat_completions_two_4mb_images(self):
        self.turn_with_images(anthropic=False)

    def test_anthropic_messages_two_4mb_images(self):
        self.turn_with_images(anthropic=True)


class OverLimit(harness.ProxyTestCase):
    """The default limit (no max_body_bytes in the configuration)."""

    def setUp(self):
        super().setUp()
        root = self.fake.base_url[:-len('/v1')]
        self.p = self.start_proxy(workers=1, sections={'anthropic': {'base_url': root}})

    def announce(self, path, extra, length):
        with harness.HTTPConn(self.p.port) as c:
            c.send(('POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s'
                    'Content-Length: %d\r\n\r\n{"model":' % (path, extra, length)).encode())
            return c.read_response(timeout=harness.WAIT)

    def test_over_the_default_is_413_in_each_apis_shape(self):
        before = self.fake.stats()['requests']
        r = self.announce(CHAT, '', DEFAULT_MAX_BODY + 1)
        self.assertOpenAIError(r, 413, 'body_too_large')
        r = self.announce(MESSAGES, 'x-api-key: k\r\nanthropic-version: 2023-06-01\r\n', DEFAULT_MAX_BODY + 1)
        self.assertEqual(r.status, 413, r)
        doc = r.json()
        self.assertEqual((doc['type'], doc['error']['type'], doc['error']['code']),
                         ('error', 'request_too_large', 'body_too_large'), doc)
        self.assertEqual(self.fake.stats()['requests'], before, 'an over-limit body reached the upstream')

    def test_a_body_of_exactly_the_default_is_forwarded(self):
        pad = DEFAULT_MAX_BODY - len(b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":""}]}')
        raw = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b'a' * pad + b'"}]}'
        self.assertEqual(len(raw), DEFAULT_MAX_BODY)
        r = self.p.request('POST', CHAT, [('Content-Type', 'application/json')], raw, timeout=120)
        self.assertEqual(r.status, 200, r)


class BodyBuffer(harness.ProxyTestCase):
    """A body with a Content-Length is read into a buffer of its size, not
    of the next power of two: a 1.2 MiB body does not take 2 MiB (issue 73,
    requirement 5: many large bodies at once, each doubling's unused half
    made resident by the arena's later reuse). tests/proxy/passlog.c,
    preloaded, logs every realloc(3) of 1 MiB or more."""

    def test_a_content_length_body_gets_a_buffer_of_its_size(self):
        env, path = harness.preload_env(self, 'MPTEST_PASSLOG_LIB', 'reallocs',
                                        lambda path: {'MPTEST_PASSLOG_FILE': path,
                                                      'MPTEST_PASSLOG_REALLOC_MIN': str(1 << 20)})
        p = self.start_proxy(workers=1, memory={'mode': 'off'}, env=env)
        raw = harness.chat_body(content='b' * (1200 * 1024))
        r = p.request('POST', CHAT, [('Content-Type', 'application/json')], raw, timeout=60)
        self.assertEqual(r.status, 200, r)
        with open(path) as f:
            sizes = [int(w[1]) for w in (line.split() for line in f) if w[0] == 'realloc']
        self.assertTrue(sizes, 'no large realloc logged: the test sees nothing')
        # the head is a few hundred bytes: the whole request, not 2 MiB
        self.assertLess(max(sizes), len(raw) + 4096, 'a %d-byte body took a buffer of %d'
                        % (len(raw), max(sizes)))


if __name__ == '__main__':
    harness.main('proxy_bodies')
