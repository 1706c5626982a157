"""Nothing lost silently (issue 51, requirement 6): a malformed memory-model
answer is tried again, then its batch is kept as failed (counted by reason,
logged, shown in /admin/status) and POST /admin/extract runs it again; 429
and 5xx storms keep the batch until it succeeds or job_retry_horizon_seconds
passes; a reply over 1 MiB or holding \\u0000 still records the user's words
and the reply's text; a turn that is not recorded is counted by reason and
says so in X-Memory-Error."""

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

TOKEN = 'zqxsecret-silent-loss-51a2b3c4d5e6f7'
ADMIN = [('Authorization', 'Bearer ' + TOKEN)]
FAST_RETRY = {'mode': 'entity', 'extract_idle_seconds': 0, 'job_retry_backoff_ms': 50,
              'job_retry_backoff_max_ms': 200}


def extract_count(fake, user):
    return len(mh.user_jobs(fake, user, 'extract'))


def rerun(case, user, pred, what):
    """POST /admin/extract (it answers 200), then waits until the user's
    memory meets pred; returns the admin answer."""
    r = case.proxy.admin('/admin/extract', 'POST', ADMIN)
    case.assertEqual(r.status, 200, r)
    mh.wait_memory(case.proxy, user, pred, what=what)
    return r


def failed_metric(proxy, reason, kind='extract'):
    return proxy.metric('memproxy_memory_jobs_failed_total', kind=kind, reason=reason)


class FailedBatches(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': dict(FAST_RETRY, job_retry_horizon_seconds=3600),
                    'sections': {'admin': {'token': TOKEN}}}

    def turn(self, user, text):
        s = send(self.proxy, user, text)
        self.assertOK(s)
        return s

    def test_malformed_once_is_tried_again_and_applied(self):
        user = mh.uid('mal1')
        failed0 = failed_metric(self.proxy, 'malformed')
        mh.set_jobmode(self.fake, extract='invalid')
        # the unusable answer is built and held: the mode is ok again before
        # memproxy reads it, so its retry (50 ms later) gets a good one
        self.addCleanup(self.fake._control, 'POST', '/_fake/release')
        self.assertEqual(self.fake._control('POST', '/_fake/hold').status, 200)
        self.turn(user, 'My name is Olga.')
        mh.wait_for(lambda: self.fake._control('GET', '/_fake/hold').json()['held'] == 1, mh.WAIT,
                    'the first extraction call held')
        mh.set_jobmode(self.fake, extract='ok')
        self.assertEqual(self.fake._control('POST', '/_fake/release').json()['released'], 1)
        mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m) == {'name': 'Olga'},
                       what='the fact from the second try')
        self.assertEqual(extract_count(self.fake, user), 2, 'one unusable answer, one retry')
        self.assertEqual(failed_metric(self.proxy, 'malformed'), failed0)

    def test_malformed_always_kept_failed_then_rerun(self):
        user = mh.uid('mal3')
        mh.set_jobmode(self.fake, extract='invalid')
        self.turn(user, 'My name is Pavel.')
        self.proxy.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v >= 1, mh.WAIT,
                               kind='extract', reason='malformed')
        self.assertEqual(extract_count(self.fake, user), 3, 'one answer and two more tries')
        self.assertEqual(self.proxy.metric('memproxy_memory_jobs_failed'), 1)
        self.assertEqual(self.proxy.metric('memproxy_memory_queue_depth'), 0,
                         'a failed batch is no pending work')
        st = json.loads(bytes(self.proxy.admin('/admin/status', 'GET', ADMIN).body))
        self.assertEqual(st['queue']['failed_jobs'], 1, st)
        logs = self.proxy.log_objects()
        kept = [x for x in logs if x.get('msg', '').startswith('memory job failed: kept')]
        self.assertTrue(kept, 'no log line for the failed batch')
        self.assertEqual(kept[-1].get('reason'), 'malformed')
        self.assertNotIn('Pavel', json.dumps(logs), 'a log line holds the user\'s words')
        time.sleep(0.6)
        self.assertEqual(extract_count(self.fake, user), 3, 'a failed batch was tried a fourth time')
        self.assertEqual(mh.get_memory(self.proxy, user)['entities'], [])

        # The user's later turns are not blocked behind it.
        mh.set_jobmode(self.fake, extract='ok')
        self.turn(user, 'I live in Brno.')
        mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m) == {'city': 'Brno'},
                       what='the later turn extracted')
        self.assertEqual(self.proxy.metric('memproxy_memory_jobs_failed'), 1)

        # The model is fixed: a re-run extracts the failed turn too.
        r = rerun(self, user, lambda m: mh.entity_map(m) == {'city': 'Brno', 'name': 'Pavel'},
                  'the failed turn extracted by the re-run')
        self.assertGreaterEqual(json.loads(bytes(r.body))['due'], 1)
        self.assertEqual(self.proxy.metric('memproxy_memory_jobs_failed'), 0)
        last = mh.user_jobs(self.fake, user, 'extract')[-1]
        self.assertIn('My name is Pavel.', mh.body_json(last)['messages'][-1]['content'])

    def test_storm_longer_than_six_attempts_is_ridden_out(self):
        for mode in ('status429', 'status500'):
            with self.subTest(mode=mode):
                user = mh.uid('storm')
                failed0 = [failed_metric(self.proxy, r) for r in ('rate_limited', 'upstream_error')]
                mh.set_jobmode(self.fake, extract=mode)
                self.turn(user, 'I use Vim.')
                mh.wait_for(lambda: extract_count(self.fake, user) >= 9, mh.WAIT,
                            'nine failed calls (today\'s code gave up after six)')
                self.assertEqual([failed_metric(self.proxy, r) for r in ('rate_limited', 'upstream_error')],
                                 failed0, 'the storm gave up within the horizon')
                mh.set_jobmode(self.fake, extract='ok')
                mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m) == {'tools': 'Vim'},
                               what='the fact once the storm ends')


class FailedTurnLeavesTheBuffer(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': dict(FAST_RETRY, buffer_messages=2),
                    'sections': {'admin': {'token': TOKEN}}}

    def test_rerun_reads_a_trimmed_turn_from_the_archive(self):
        user = mh.uid('trim')
        mh.set_jobmode(self.fake, extract='invalid')
        self.assertOK(send(self.proxy, user, 'My name is Sven.'))
        self.proxy.wait_metric('memproxy_memory_jobs_failed', lambda v: v >= 1, mh.WAIT)
        mh.set_jobmode(self.fake, extract='ok')
        # the failed turn holds the trim up to 4 x buffer_messages messages
        for i in range(6):
            self.assertOK(send(self.proxy, user, 'Filler number %d.' % i))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) <= 8 and
                             all('Sven' not in x['content'] for x in m['buffer']),
                             what='the failed turn trimmed past the bound')
        self.assertLessEqual(len(mem['buffer']), 8, 'the buffer grew past the bound')
        rerun(self, user, lambda m: mh.entity_map(m).get('name') == 'Sven',
              'the trimmed turn extracted from the archive')


class Horizon(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': dict(FAST_RETRY, job_retry_horizon_seconds=0),
                    'sections': {'admin': {'token': TOKEN}}}

    def test_past_the_horizon_kept_failed_and_counted(self):
        user = mh.uid('hor')
        mh.set_jobmode(self.fake, extract='status429')
        self.assertOK(send(self.proxy, user, 'My name is Rita.'))
        self.proxy.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v >= 1, mh.WAIT,
                               kind='extract', reason='rate_limited')
        self.assertEqual(extract_count(self.fake, user), 6)
        t = [r['t_ms'] / 1000.0 for r in mh.user_jobs(self.fake, user, 'extract')]
        gaps = [b - a for a, b in zip(t, t[1:])]
        self.assertGreaterEqual(min(gaps), 0.95, 'Retry-After: 1 not honoured over a 200 ms backoff: %r' % gaps)
        self.assertEqual(self.proxy.metric('memproxy_memory_jobs_failed'), 1)
        mh.set_jobmode(self.fake, extract='ok')
        rerun(self, user, lambda m: mh.entity_map(m) == {'name': 'Rita'},
              'the re-run after the horizon')


class Recording(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'buffer'}}

    def set_reply(self, text):
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], text.encode())
        self.assertEqual(r.status, 200, r)

    def test_two_mib_reply_records_the_turn(self):
        user = mh.uid('big')
        self.set_reply('Big answer. ' + 'x' * (2 << 20))
        s = send(self.proxy, user, 'Draw me a very large picture.')
        self.assertOK(s)
        self.assertGreater(len(s.resp.body), 2 << 20)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the big turn')
        self.assertEqual(mem['buffer'][0]['content'], 'Draw me a very large picture.')
        reply = mem['buffer'][1]['content']
        self.assertTrue(reply.startswith('Big answer. xxx'), reply[:40])
        self.assertLessEqual(len(reply.encode()), 16 * 1024 + 3, 'the reply is cut as long turns are')

    def test_padded_two_mib_body_and_stream(self):
        user = mh.uid('pad')
        s = send(self.proxy, user, 'A padded reply, please.', fake='body_bytes=2200000')
        self.assertOK(s)
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the padded turn')
        s = send(self.proxy, user, 'A long stream, please.', stream=True,
                 fake='events=10000,event_bytes=220')
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 4, what='the stream turn')
        self.assertEqual(mem['buffer'][2]['content'], 'A long stream, please.')
        self.assertTrue(mem['buffer'][3]['content'].startswith('tok0 tok1 '))
        self.assertEqual(self.proxy.metric('memproxy_turns_unrecorded_total', reason='reply_too_big'), 0)

    def test_nul_in_the_reply_is_recorded(self):
        user = mh.uid('nul')
        self.set_reply('before\u0000after')
        self.assertOK(send(self.proxy, user, 'Say it with a NUL.'))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the NUL turn')
        self.assertEqual(mem['buffer'][1]['content'], 'before\ufffdafter')
        self.assertOK(send(self.proxy, user, 'user text with a \u0000 in it'))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 4, what='the user NUL turn')
        self.assertEqual(mem['buffer'][2]['content'], 'user text with a \ufffd in it')


class BigStreamUpstream:
    """An upstream that answers every chat request with a stream whose text
    is 2 MiB (the fake's pieces stay far below 1 MiB of text): 128 deltas
    of 16 KiB, then [DONE]."""

    PIECE = 'y' * (16 * 1024)

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                events = [{'choices': [{'index': 0, 'delta': {'role': 'assistant', 'content': 'Long: '}}]}]
                events += [{'choices': [{'index': 0, 'delta': {'content': BigStreamUpstream.PIECE}}]}] * 128
                events += [{'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]}]
                body = b''.join(b'data: ' + json.dumps(e).encode() + b'\n\n' for e in events)
                body += b'data: [DONE]\n\n'
                self.send_response(200)
                self.send_header('Content-Type', 'text/event-stream')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = 'http://127.0.0.1:%d/v1' % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ImageStreamUpstream:
    """An upstream that answers every Responses request with an image
    generation's stream, as OpenAI's Responses API sends it: the partial
    image whole in one event (3 MiB of base64), a line of text, then
    response.completed, which carries the image again."""

    IMAGE = base64.b64encode(os.urandom(3 * 1024 * 1024 * 3 // 4)).decode()

    def __init__(self):
        import http.server
        import threading

        up = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                img = ImageStreamUpstream.IMAGE
                item = {'type': 'image_generation_call', 'id': 'ig_1', 'status': 'completed', 'result': img}
                msg = {'type': 'message', 'id': 'msg_1', 'role': 'assistant', 'status': 'completed',
                       'content': [{'type': 'output_text', 'text': 'Here is your lighthouse.'}]}
                events = [
                    ('response.created', {'type': 'response.created',
                                          'response': {'id': 'resp_img1', 'status': 'in_progress', 'output': []}}),
                    ('response.image_generation_call.partial_image',
                     {'type': 'response.image_generation_call.partial_image', 'item_id': 'ig_1',
                      'output_index': 0, 'partial_image_index': 0, 'partial_image_b64': img}),
                    ('response.output_item.done', {'type': 'response.output_item.done', 'output_index': 0,
                                                   'item': item}),
                    ('response.output_text.delta', {'type': 'response.output_text.delta', 'item_id': 'msg_1',
                                                    'output_index': 1, 'content_index': 0,
                                                    'delta': 'Here is your lighthouse.'}),
                    ('response.completed', {'type': 'response.completed', 'response': {
                        'id': 'resp_img1', 'status': 'completed', 'output': [item, msg],
                        'usage': {'input_tokens': 20, 'output_tokens': 1500, 'total_tokens': 1520}}}),
                ]
                body = b''.join(b'event: ' + n.encode() + b'\ndata: ' + json.dumps(e).encode() + b'\n\n'
                                for n, e in events)
                up.sent = body
                self.send_response(200)
                self.send_header('Content-Type', 'text/event-stream')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.sent = None
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = 'http://127.0.0.1:%d/v1' % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ImageStream(mh.MemCase):
    def test_image_generation_stream_relayed_whole_and_recorded(self):
        """A Responses stream whose events carry a 3 MiB image each reaches
        the client byte for byte (one event over 1 MiB used to cut the
        chat), and the turn is recorded: the user's words and the text."""
        up = ImageStreamUpstream()
        self.addCleanup(up.close)
        p = self.start_proxy(upstream_url=up.base_url, memory={'mode': 'buffer'}, workers=1)
        user = mh.uid('imgs')
        body = json.dumps({'model': 'gpt-4.1', 'stream': True, 'tools': [{'type': 'image_generation'}],
                           'input': [{'role': 'user', 'content': 'Draw a lighthouse at dusk.'}]}).encode()
        r = p.request('POST', '/v1/responses', [('Content-Type', 'application/json'),
                                                ('Authorization', 'Bearer sk-test'),
                                                ('X-User-Id', user)], body, timeout=30)
        self.assertEqual(r.status, 200, bytes(r.body)[:300])
        self.assertGreater(len(up.sent), 3 * (3 << 20))
        self.assertEqual(bytes(r.body), up.sent, 'every event relayed whole, as the upstream sent it')
        self.assertIsNone(r.header('x-memory-error'))
        mem = mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the image turn')
        self.assertEqual(mem['buffer'][0]['content'], 'Draw a lighthouse at dusk.')
        self.assertEqual(mem['buffer'][1]['content'], 'Here is your lighthouse.')


class BigStream(mh.MemCase):
    def test_stream_of_two_mib_text_recorded_cut(self):
        up = BigStreamUpstream()
        self.addCleanup(up.close)
        p = self.start_proxy(upstream_url=up.base_url, memory={'mode': 'buffer'}, workers=1)
        user = mh.uid('bigs')
        s = send(p, user, 'Tell me everything.', stream=True)
        self.assertOK(s)
        self.assertGreater(len(s.resp.body), 2 << 20)
        mem = mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the 2 MiB stream turn')
        self.assertEqual(mem['buffer'][0]['content'], 'Tell me everything.')
        reply = mem['buffer'][1]['content']
        self.assertTrue(reply.startswith('Long: yyyy'), reply[:20])
        self.assertLessEqual(len(reply.encode()), 16 * 1024 + 3, 'the reply is cut as long turns are')


class QueueFull(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'entity', 'queue_max': 1,
                                             'extract_idle_seconds': 3600}}

    def test_unrecorded_turn_counted_and_said(self):
        user = mh.uid('qf')
        self.assertOK(send(self.proxy, user, 'My name is Quinn.'))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='turn 1')
        before = self.proxy.metric('memproxy_turns_unrecorded_total', reason='queue_full')
        s = send(self.proxy, user, 'I live in Quito.')
        self.assertOK(s)
        self.assertIn('queue_full', s.header('X-Memory-Error') or '')
        self.proxy.wait_metric('memproxy_turns_unrecorded_total', lambda v: v >= before + 1, 5,
                               reason='queue_full')
        time.sleep(0.3)
        self.assertEqual(len(mh.get_memory(self.proxy, user)['buffer']), 2, 'the refused turn was recorded')
        logs = self.proxy.log_objects()
        self.assertTrue([x for x in logs if x.get('msg') == 'turn not recorded'
                         and x.get('reason') == 'queue_full'], 'no log line for the refused turn')


if __name__ == '__main__':
    harness.main('proxy_silent_loss')
