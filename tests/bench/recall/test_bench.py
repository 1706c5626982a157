"""Unit tests of the recall benchmark's own code (locomo.py, bench.py's pure
parts and its import client), offline: a hand-written conversation, and a
stub of the import endpoint. With MEMPROXY_LOCOMO_DIR set, the import bodies
of the real conversations are validated too. Python 3 standard library only.
"""

import http.server
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import locomo  # noqa: E402


def turn(speaker, dia, text, caption=None):
    t = {'speaker': speaker, 'dia_id': dia, 'text': text}
    if caption:
        t['blip_caption'] = caption
    return t


CONV = {
    'speaker_a': 'Caroline', 'speaker_b': 'Melanie',
    'session_1_date_time': '1:56 pm on 8 May, 2023',
    'session_1': [turn('Caroline', 'D1:1', 'Hey Mel! I went to a support group yesterday.'),
                  turn('Melanie', 'D1:2', 'That sounds great. I painted a lake sunrise.', 'a painting of a lake'),
                  turn('Caroline', 'D1:3', 'I want to study counseling.\nIt matters to me.')],
    'session_2_date_time': '12:05 am on 1 January, 2024',
    'session_2': [turn('Melanie', 'D2:1', 'Happy new year! We went camping with the kids.')],
    'session_1_observation': {
        'Caroline': [['Caroline attended an LGBTQ support group.', 'D1:1'],
                     ['Caroline wants to study counseling.', ['D1:3']],
                     ['Caroline cares about mental health.', 'D1:3'],
                     ['Caroline is friends with Melanie.', []]],
        'Melanie': [['Melanie painted a lake sunrise.', 'D:1:2']]},
    'session_2_observation': {'Melanie': [['Melanie went camping with her kids.', 'D2:1']]},
    'qa': [{'question': 'What did Caroline attend?', 'answer': 'x', 'evidence': ['D1:1'], 'category': 4},
           {'question': 'When did Melanie go camping?', 'answer': 'x', 'evidence': ['D2:1; D1:2'], 'category': 2},
           {'question': 'Unanswerable?', 'answer': 'x', 'evidence': ['D1:1'], 'category': 5}],
}


class TestData(unittest.TestCase):
    def test_session_date_parsed_as_utc(self):
        self.assertEqual(locomo.rfc3339(locomo.parse_session_date('1:56 pm on 8 May, 2023')),
                         '2023-05-08T13:56:00Z')
        self.assertEqual(locomo.rfc3339(locomo.parse_session_date('12:05 am on 1 January, 2024')),
                         '2024-01-01T00:05:00Z')
        self.assertEqual(locomo.rfc3339(locomo.parse_session_date('12:30 pm on 25 December 2022')),
                         '2022-12-25T12:30:00Z')

    def test_session_date_rejects_other_forms(self):
        for bad in ('2023-05-08', '13:56 pm on 8 May, 2023', '1:56 pm on 8 Mai, 2023', ''):
            with self.assertRaises(ValueError, msg=bad):
                locomo.parse_session_date(bad)

    def test_turns_roles_contents_and_times(self):
        c = locomo.Conversation('t', CONV)
        self.assertEqual([t['role'] for t in c.turns], ['user', 'assistant', 'user', 'assistant'])
        self.assertEqual(c.turns[1]['content'], 'Melanie: That sounds great. I painted a lake sunrise.')
        self.assertEqual([locomo.rfc3339(t['at']) for t in c.turns[:3]],
                         ['2023-05-08T13:56:00Z', '2023-05-08T13:56:30Z', '2023-05-08T13:57:00Z'])

    def test_captions_only_when_asked(self):
        c = locomo.Conversation('t', CONV, captions=True)
        self.assertTrue(c.turns[1]['content'].endswith(' [image: a painting of a lake]'))
        self.assertNotIn('[image', c.turns[0]['content'])

    def test_questions_leave_out_category_5_and_normalize_evidence(self):
        c = locomo.Conversation('t', CONV)
        self.assertEqual([q['cat'] for q in c.questions], [4, 2])
        self.assertEqual(c.questions[1]['ev'], ['D2:1', 'D1:2'])

    def test_fact_keys_unique_and_after_first_source_turn(self):
        c = locomo.Conversation('t', CONV)
        keys = [f['key'] for f in c.facts]
        self.assertEqual(keys, ['Caroline_d1t1', 'Melanie_d1t2', 'Caroline_d1t3', 'Caroline_d1t3n2',
                                'Caroline_s1o3', 'Melanie_d2t1'])
        self.assertEqual(len({locomo.normalize_key(k) for k in keys}), len(keys))
        self.assertEqual(c.facts[1]['ids'], {'D1:2'})
        self.assertEqual(locomo.rfc3339(c.facts[-1]['at']), '2024-01-01T00:05:00Z')

    def test_covered_evidence(self):
        c = locomo.Conversation('t', CONV)
        self.assertEqual(c.covered('facts'), {'D1:1', 'D1:2', 'D1:3', 'D2:1'})


class TestImportBody(unittest.TestCase):
    def body(self, measure='facts'):
        return locomo.ndjson(locomo.import_lines(locomo.Conversation('t', CONV), measure))

    def test_one_valid_item_per_line(self):
        for measure, n in (('facts', 6), ('turns', 4)):
            b = self.body(measure)
            self.assertEqual(locomo.validate_ndjson(b), [])
            lines = b.split(b'\n')
            self.assertEqual((len(lines), lines[-1]), (n + 1, b''))
        turns = [json.loads(ln) for ln in self.body('turns').splitlines()]
        self.assertEqual(turns[2]['content'], 'Caroline: I want to study counseling.\nIt matters to me.')
        self.assertEqual(turns[2]['at'], '2023-05-08T13:57:00Z')
        self.assertEqual(turns[2]['id'], 'locomo-t-D1:3')

    def test_fact_item_shape(self):
        f = json.loads(self.body().split(b'\n')[0])
        self.assertEqual(f, {'type': 'fact', 'id': 'locomo-t-Caroline_d1t1', 'key': 'Caroline_d1t1',
                             'value': 'Caroline attended an LGBTQ support group.',
                             'at': '2023-05-08T13:56:00Z', 'confidence': 0.9})

    def bad(self, objs, raw=None):
        return locomo.validate_ndjson(raw if raw is not None else locomo.ndjson(objs))

    def test_validation_catches_mistakes(self):
        ok = {'type': 'message', 'role': 'user', 'content': 'hi', 'at': '2023-05-08T13:56:00Z', 'id': 'a'}
        fact = {'type': 'fact', 'key': 'Vector DB', 'value': 'x', 'at': '2023-05-08T13:56:00Z', 'confidence': 0.9}
        self.assertEqual(self.bad([ok]), [])
        cases = [
            [ok, ok],                                            # id twice
            [dict(ok, at='2023-05-08 13:56:00')],                # not RFC 3339
            [dict(ok, at='2023-02-30T10:00:00Z')],               # no such day
            [dict(ok, role='system')],
            [dict(ok, content='')],
            [fact, dict(fact, key='vector_db')],                 # same normalized key
            [dict(fact, key='--')],
            [dict(fact, value='x' * 513)],
            [dict(fact, confidence=1.5)],
            [dict(ok, type='summary')],
        ]
        for objs in cases:
            self.assertNotEqual(self.bad(objs), [], objs)
        two = json.dumps(ok).encode() + json.dumps(dict(ok, id='b')).encode() + b'\n'
        self.assertNotEqual(self.bad(None, two), [])
        self.assertNotEqual(self.bad(None, json.dumps(ok).encode()), [])  # no final line feed

    @unittest.skipUnless(os.environ.get('MEMPROXY_LOCOMO_DIR'), 'MEMPROXY_LOCOMO_DIR not set')
    def test_real_conversations_import_bodies(self):
        d = os.environ['MEMPROXY_LOCOMO_DIR']
        for name in sorted(f for f in os.listdir(d) if f.endswith('.json')):
            c = locomo.load(os.path.join(d, name), name[:-5])
            for measure in ('facts', 'turns'):
                self.assertEqual(locomo.validate_ndjson(locomo.ndjson(locomo.import_lines(c, measure))), [],
                                 (name, measure))


class TestMatch(unittest.TestCase):
    LONG = 'Caroline attended an LGBTQ support group recently and found the stories inspiring.'

    def test_escaped_text_is_found(self):
        m = locomo.Matcher([{'value': 'Likes [old] <b>maps</b> | charts', 'ids': set()}])
        self.assertEqual(m.found(['(User profile): k: Likes (old) \u2039b\u203amaps\u2039/b\u203a / charts']), [0])

    def test_cut_text_found_only_with_enough_of_it(self):
        m = locomo.Matcher([{'value': self.LONG, 'ids': set()}])
        n = locomo.normalize(self.LONG)
        self.assertEqual(m.found(['k: ' + self.LONG[:60] + '\u2026']), [0])
        self.assertEqual(m.found(['k: ' + n[:locomo.MATCH_CHARS - 1]]), [])

    def test_short_text_needs_word_boundaries(self):
        m = locomo.Matcher([{'content': 'Mel: Thanks so much, Caroline', 'ids': set()}])
        self.assertEqual(m.found(['Mel: Thanks so much, Carolineee']), [])
        self.assertEqual(m.found(['Pamel: Thanks so much, Caroline']), [])
        self.assertEqual(m.found(['x | Mel: thanks so much, Caroline! | y']), [0])

    def test_tiny_text_must_be_the_whole_part(self):
        m = locomo.Matcher([{'content': 'Gina: ;)', 'ids': set()}])
        self.assertEqual(m.found(['Gina: Hey Jon!']), [])
        self.assertEqual(m.found(['Gina: ;-)']), [0])

    def test_ambiguous_needles(self):
        items = [{'content': 'Mel: Thanks so much', 'ids': set()},
                 {'content': 'Mel: Thanks so much, Caroline', 'ids': set()}]
        self.assertEqual(locomo.Matcher(items).ambiguous([0, 1]), [0])


class TestUpstreamBody(unittest.TestCase):
    def test_injected_parts_leave_out_intro_and_summary(self):
        block = '\n'.join([bench.INTRO + ' ... wins.', '[User profile]: a: one | b: two',
                           '[Conversation history summary]: Summary: user: Mel: Thanks'])
        body = {'messages': [{'role': 'system', 'content': block},
                             {'role': 'assistant', 'content': 'Mel: Thanks'},
                             {'role': 'user', 'content': 'q?'}]}
        parts, est = bench.injected(body)
        self.assertEqual(parts, ['[User profile]: a: one | b: two', 'Mel: Thanks'])
        self.assertEqual(est, 4 + (len(block) + 3) // 4 + 4 + 3)

    def test_raw_request_bodies(self):
        self.assertEqual(bench.parse_raw_request(b'POST /v1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'), b'{}')
        chunked = b'POST /v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n'
        self.assertEqual(bench.parse_raw_request(chunked), b'{"a":1}')

    def test_ends_with(self):
        self.assertTrue(bench.ends_with({'messages': [{'role': 'user', 'content': 'q'}]}, 'q'))
        self.assertFalse(bench.ends_with({'messages': [{'role': 'user', 'content': 'q'},
                                                       {'role': 'assistant', 'content': 'q'}]}, 'q'))


class ImportStub(http.server.BaseHTTPRequestHandler):
    """POST /admin/users/{user}/import as specified: checks the token, the
    content type and every line; answers the counts or 400 naming the line."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        ImportStub.seen.append((self.path, self.headers.get('Authorization'), self.headers.get('Content-Type')))
        if self.headers.get('Authorization') != 'Bearer tok':
            return self.answer(401, {'error': {'code': 'invalid_admin_token'}})
        errs = locomo.validate_ndjson(body)
        if errs or self.headers.get('Content-Type') != 'application/x-ndjson':
            return self.answer(400, {'error': {'message': errs[0] if errs else 'content type'}})
        objs = [json.loads(ln) for ln in body.splitlines()]
        self.answer(200, {'messages': sum(o['type'] == 'message' for o in objs),
                          'facts': sum(o['type'] == 'fact' for o in objs), 'skipped': 0})

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


class TestImportClient(unittest.TestCase):
    def setUp(self):
        self.srv = http.server.HTTPServer(('127.0.0.1', 0), ImportStub)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.client = bench.Client(self.srv.server_address[1])
        self.conv = locomo.Conversation('t', CONV)
        ImportStub.seen = []

    def tearDown(self):
        self.client.close()
        self.srv.shutdown()
        self.srv.server_close()

    def test_import_posts_the_measure_as_ndjson(self):
        self.assertEqual(bench.load_import(self.client, self.conv, 'facts', 'tok'),
                         {'messages': 0, 'facts': 6, 'skipped': 0})
        self.assertEqual(bench.load_import(self.client, self.conv, 'turns', 'tok'),
                         {'messages': 4, 'facts': 0, 'skipped': 0})
        self.assertEqual(ImportStub.seen[0], ('/admin/users/locomo-t/import', 'Bearer tok', 'application/x-ndjson'))

    def test_import_refused_is_a_run_error(self):
        with self.assertRaises(bench.RunError):
            bench.load_import(self.client, self.conv, 'facts', 'wrong')


if __name__ == '__main__':
    unittest.main()
