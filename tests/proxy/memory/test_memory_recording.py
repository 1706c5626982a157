"""Recording (issue 3, requirement 4): after a completed 2xx the turn's new
user messages and the assistant's reply are recorded; a stream only once it
reached [DONE] or a finish_reason; failed, cut or aborted turns and client
retries record nothing (more)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import CHAT, REPLY, STREAM_REPLY3, asst_msg, send, user_msg  # noqa: E402


class Recording(mh.MemCase):
    # Buffer mode (no jobs), a buffer big enough that nothing leaves it, and
    # a short idle timeout for the stalled-stream case.
    PROXY_CONFIG = {'workers': 2,
                    'memory': {'mode': 'buffer', 'buffer_messages': 50, 'summarize_at': 100},
                    'upstream': {'idle_timeout_ms': 1000}}

    def buffer(self, user):
        return mh.buffer_pairs(mh.get_memory(self.proxy, user))

    def assertNothingRecorded(self, user, before=(), conn=None):
        """A recorded barrier turn after the request under test (same
        connection when given): once it is in the buffer, the buffer holds
        what it held before plus the barrier, nothing else."""
        mh.wait_idle(self.proxy)
        text = 'barrier ' + mh.uid('b')
        s = send(self.proxy, user, text, conn=conn)
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: text in [x['content'] for x in m['buffer']],
                             what='the barrier turn')
        self.assertEqual(mh.buffer_pairs(mem), list(before) + [('user', text), ('assistant', REPLY)],
                         'something besides the barrier turn was recorded')

    # -- what a completed turn records ---------------------------------------

    def test_non_stream_records_trailing_user_messages_and_reply(self):
        user = mh.uid('rec')
        msgs = [{'role': 'system', 'content': 'Be brief.'}, user_msg('old question'), asst_msg('old answer'),
                user_msg('new one'), user_msg('new two')]
        s = send(self.proxy, user, msgs)
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 3, what='the turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'new one'), ('user', 'new two'), ('assistant', REPLY)])
        for m in mem['buffer']:
            self.assertRegex(m['at'], r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$')

    def test_after_tool_messages_only_the_new_user_message(self):
        user = mh.uid('tool')
        msgs = [user_msg('what is 6*7?'),
                {'role': 'assistant', 'content': None,
                 'tool_calls': [{'id': 'c1', 'type': 'function',
                                 'function': {'name': 'calc', 'arguments': '{"x":"6*7"}'}}]},
                {'role': 'tool', 'tool_call_id': 'c1', 'content': '42'},
                user_msg('thanks, and 7*8?')]
        s = send(self.proxy, user, msgs)
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'thanks, and 7*8?'), ('assistant', REPLY)])

    def test_multimodal_content_text_parts_only(self):
        user = mh.uid('mm')
        content = [{'type': 'text', 'text': 'part one'},
                   {'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,iVBORw0KGgo='}},
                   {'type': 'text', 'text': 'part two'}]
        s = send(self.proxy, user, [{'role': 'user', 'content': content}])
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'part one\npart two'), ('assistant', REPLY)])

    def test_stream_recorded_only_after_done(self):
        # the stream's end is 6 s after its first event: the check below
        # falls inside it however slowly this test runs (a proxy of its own:
        # the class's idle timeout is 1 s)
        p = self.start_proxy(workers=2, memory=self.PROXY_CONFIG['memory'], upstream={'idle_timeout_ms': 30000})
        user = mh.uid('st')
        body, _ = mh.build_chat([user_msg('stream me')], stream=True)
        with p.conn(timeout=harness.WAIT) as c:
            c.send_request('POST', CHAT, mh.chat_headers(user, fake='events=3,event_delay_ms=3000'), body)
            r = c.read_head()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('x-memory-mode'), 'buffer')
            c.read_more(timeout=harness.WAIT, until=lambda x: b'tok0' in bytes(x.body))
            self.assertIn(b'tok0', bytes(r.body))
            time.sleep(0.2)
            self.assertEqual(mh.buffer_pairs(mh.get_memory(p, user)), [], 'a stream was recorded before it finished')
            c.read_more(timeout=harness.WAIT)
            self.assertTrue(r.complete, r)
        mem = mh.wait_memory(p, user, lambda m: len(m['buffer']) >= 2, what='the stream turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'stream me'), ('assistant', STREAM_REPLY3)])

    def test_stream_with_finish_reason_but_no_done_recorded(self):
        user = mh.uid('nd')
        s = send(self.proxy, user, 'no done please', stream=True, fake='no_done,events=2')
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the stream turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'no done please'), ('assistant', 'tok0 tok1 ')])

    def test_stream_split_crlf_deltas_concatenated(self):
        user = mh.uid('split')
        s = send(self.proxy, user, 'split me', stream=True, fake='events=5,crlf,split=7')
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the stream turn')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'split me'), ('assistant', 'tok0 tok1 tok2 tok3 tok4 ')])

    def test_message_over_the_stored_maximum_recorded_cut(self):
        # storage keeps at most 16384 bytes of one message (usermem.h
        # MP_MESSAGE_CONTENT_MAX): a longer one is cut at a UTF-8 boundary, not lost.
        user = mh.uid('long')
        big = 'Привет, мир! ' * 1000   # 22000 bytes
        self.assertOK(send(self.proxy, user, big))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, timeout=5,
                             what='a turn whose user message is over 16 KB')
        (role, content), reply = mh.buffer_pairs(mem)
        self.assertEqual((role, reply), ('user', ('assistant', REPLY)))
        self.assertLess(len(content.encode('utf-8')), len(big.encode('utf-8')))
        self.assertLessEqual(len(content.encode('utf-8')), 16384 + 64)
        self.assertTrue(big.startswith(content[:4000]), content[:100])
        self.assertNotIn('\ufffd', content)

    # -- what records nothing -------------------------------------------------

    def assertCutStreamRecordsNothing(self, text, fake, *relayed):
        """A stream the upstream breaks (fake: X-Fake-Behavior): a 200
        holding each of relayed but no [DONE], and nothing recorded."""
        user = mh.uid('cut')
        s = send(self.proxy, user, text, stream=True, fake=fake)
        self.assertEqual(s.status, 200, s.resp)
        for b in relayed:
            self.assertIn(b, bytes(s.resp.body))
        self.assertNotIn(b'[DONE]', bytes(s.resp.body))
        self.assertNothingRecorded(user)

    def test_cut_stream_records_nothing(self):
        self.assertCutStreamRecordsNothing('cut me', 'events=5,reset_after=2')

    def test_stream_cut_after_all_content_before_finish_records_nothing(self):
        # Every content event arrives, then a reset before the finish event.
        self.assertCutStreamRecordsNothing('cut late', 'events=3,reset_after=3', b'tok2')

    def test_close_delimited_stream_closed_inside_done_records_nothing(self):
        # A close-delimited stream whose close falls inside [DONE], after the
        # finish event: the answer is broken (an error event ends it), not a
        # turn to record.
        self.assertCutStreamRecordsNothing('cut in done', 'events=2,close_after=3,inside',
                                           b'"finish_reason":"stop"', b'upstream_reset')

    def test_stalled_stream_idle_timeout_records_nothing(self):
        user = mh.uid('stall')
        s = send(self.proxy, user, 'stall me', stream=True, fake='events=5,stall_after=2', timeout=20)
        self.assertEqual(s.status, 200, s.resp)
        self.assertIn(b'upstream_timeout', bytes(s.resp.body))
        self.assertNothingRecorded(user)

    def test_client_disconnect_mid_stream_records_nothing(self):
        user = mh.uid('disc')
        before = self.proxy.metric('memproxy_client_disconnects_total')
        body, _ = mh.build_chat([user_msg('I leave early')], stream=True)
        c = self.proxy.conn(timeout=10)
        c.send_request('POST', CHAT, mh.chat_headers(user, fake='events=4,event_delay_ms=300'), body)
        r = c.read_head()
        self.assertEqual(r.status, 200, r)
        c.read_more(timeout=harness.WAIT, until=lambda x: b'tok0' in bytes(x.body))
        c.abort()
        self.proxy.wait_metric('memproxy_client_disconnects_total', lambda v: v > before, 5)
        time.sleep(1.6)   # past the time the stream would have finished
        self.assertNothingRecorded(user)

    def test_upstream_errors_record_nothing(self):
        user = mh.uid('err')
        with self.proxy.conn() as c:
            for fake, stream in (('status=500', False), ('status=429', False), ('status=503', True),
                                 ('status=400', False)):
                with self.subTest(fake=fake, stream=stream):
                    s = send(self.proxy, user, 'fail %s' % fake, stream=stream, fake=fake, conn=c)
                    self.assertEqual(s.status, int(fake.split('=')[1]), s.resp)
            self.assertNothingRecorded(user, conn=c)

    def test_cut_non_stream_body_records_nothing(self):
        user = mh.uid('cutjson')
        # The client sees a cut response (or, if memproxy had not flushed the
        # head yet, a closed connection): never a complete one.
        s = send(self.proxy, user, 'cut json', fake='reset_after=60')
        self.assertIn(s.status, (None, 200, 502, 504), s.resp)
        self.assertFalse(s.status == 200 and s.resp.complete, s.resp)
        s = send(self.proxy, user, 'stall json', fake='stall_after=60', timeout=20)
        self.assertIn(s.status, (None, 200, 502, 504), s.resp)
        self.assertFalse(s.status == 200 and s.resp.complete, s.resp)
        self.assertNothingRecorded(user)

    def test_accept_encoding_dropped_only_when_recorded(self):
        # docs/memory-recording.md: a request that will be recorded goes upstream without its
        # Accept-Encoding (the reply must come readable); the one header
        # memproxy changes on that route. Any other request keeps it.
        ae = ('Accept-Encoding', 'gzip, br')
        user = mh.uid('ae')
        recorded = send(self.proxy, user, 'compress me not', extra_headers=[ae, ('X-Other', 'kept')])
        self.assertOK(recorded)
        up = mh.upstream_of(self.fake, recorded)
        self.assertIsNone(mh.req_header(up, 'Accept-Encoding'), 'Accept-Encoding reached the upstream of a '
                          'recorded request: %r' % up['headers'])
        self.assertEqual(mh.req_header(up, 'X-Other'), 'kept')
        self.assertEqual(mh.req_header(up, 'Authorization'), mh.auth_of(user))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the recorded turn')
        for label, sent in (('X-Memory: read', send(self.proxy, user, 'read only', x_memory='read',
                                                     extra_headers=[ae])),
                            ('X-Memory: off', send(self.proxy, user, 'off', x_memory='off', extra_headers=[ae])),
                            ('no user id', send(self.proxy, None, 'anonymous', extra_headers=[ae]))):
            with self.subTest(case=label):
                self.assertOK(sent)
                self.assertEqual(mh.req_header(mh.upstream_of(self.fake, sent), 'Accept-Encoding'), 'gzip, br')
        r = self.proxy.request('GET', '/v1/models', [ae, ('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.fake.last_parsed()
        self.assertEqual(harness.headers_get(headers, 'accept-encoding'), ['gzip, br'])

    def test_non_chat_routes_not_recorded(self):
        user = mh.uid('emb')
        h = [('Content-Type', 'application/json'), ('X-User-Id', user)]
        r = self.proxy.request('POST', '/v1/embeddings', h, b'{"model":"e","input":"My name is Emb."}')
        self.assertEqual(r.status, 200, r)
        r = self.proxy.request('POST', '/v1/completions', h, b'{"model":"c","prompt":"My name is Emb.","user":"%s"}'
                               % user.encode())
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.has_header('x-memory-mode'), 'memory headers on a route memory does not touch')
        self.assertNothingRecorded(user)

    # -- retries -----------------------------------------------------------------

    def test_identical_retry_records_once(self):
        user = mh.uid('idem')
        body, k = mh.build_chat([user_msg('say it once')])
        before = mh.jobs_metrics(self.proxy)
        s1 = send(self.proxy, user, None, body=body, k=k)
        self.assertOK(s1)
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the first attempt')
        s2 = send(self.proxy, user, None, body=body, k=k)   # the client's retry, byte for byte
        self.assertOK(s2)
        self.proxy.wait_metric('memproxy_memory_jobs_total', lambda v: v >= before.get(('record', 'skipped'), 0) + 1,
                               mh.WAIT, kind='record', result='skipped')
        mh.wait_idle(self.proxy)
        after = mh.jobs_metrics(self.proxy)
        self.assertEqual(after[('record', 'ok')] - before.get(('record', 'ok'), 0), 1)
        self.assertEqual(after[('record', 'skipped')] - before.get(('record', 'skipped'), 0), 1)
        self.assertEqual(self.buffer(user), [('user', 'say it once'), ('assistant', REPLY)])
        # The same for a stream.
        sbody, sk = mh.build_chat([user_msg('stream it once')], stream=True)
        for _ in range(2):
            self.assertOK(send(self.proxy, user, None, body=sbody, k=sk))
        self.proxy.wait_metric('memproxy_memory_jobs_total', lambda v: v >= before.get(('record', 'skipped'), 0) + 2,
                               mh.WAIT, kind='record', result='skipped')
        mh.wait_idle(self.proxy)
        self.assertEqual(self.buffer(user), [('user', 'say it once'), ('assistant', REPLY),
                                             ('user', 'stream it once'), ('assistant', STREAM_REPLY3)])

    def test_retry_after_failure_records_once(self):
        user = mh.uid('retry')
        body, k = mh.build_chat([user_msg('third time lucky')])
        s = send(self.proxy, user, None, body=body, k=k, fake='status=500')
        self.assertEqual(s.status, 500)
        s = send(self.proxy, user, None, body=body, k=k, fake='reset_after=30')
        self.assertFalse(s.status == 200 and s.resp.complete, s.resp)
        s = send(self.proxy, user, None, body=body, k=k)
        self.assertOK(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the successful attempt')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'third time lucky'), ('assistant', REPLY)])
        self.assertNothingRecorded(user, before=[('user', 'third time lucky'), ('assistant', REPLY)])

    def test_same_text_in_a_new_request_is_a_new_turn(self):
        # Not a retry: the history differs, so the same question is recorded again.
        user = mh.uid('again')
        self.assertOK(send(self.proxy, user, 'ping'))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='turn 1')
        self.assertOK(send(self.proxy, user, [user_msg('ping'), asst_msg(REPLY), user_msg('ping')]))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 4, what='turn 2')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'ping'), ('assistant', REPLY)] * 2)


if __name__ == '__main__':
    harness.main('proxy_memory_recording')
