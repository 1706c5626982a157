"""Unit tests of the "whose words" benchmark's pure parts (turns.py): ml-dev
in sessions, the two clients' requests, how sent turns compare with the
stored user messages, what was left out, the likely rule, and the metrics
page. Offline, hand-written data. Python 3 standard library only.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import turns as T  # noqa: E402

ML = {'set': 'needles-dev', 'conversations': [
    {'id': 'de', 'lang': 'de', 'questions': [], 'turns': [
        {'id': 'de-%d' % n, 'role': 'user', 'content': 'Nachricht %d' % n, 'at': '2025-02-03T18:22:00Z'}
        for n in range(1, 6)]},
    {'id': 'ja', 'lang': 'ja', 'questions': [], 'turns': [
        {'id': 'ja-1', 'role': 'user', 'content': 'はい', 'at': '2025-02-03T18:22:00Z'}]}]}


def ml_chats(**kw):
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False, encoding='utf-8') as f:
        json.dump(ML, f)
    try:
        return T.load_ml(f.name, **kw)
    finally:
        os.unlink(f.name)


class Sets(unittest.TestCase):
    def test_ml_sessions_of_user_messages_each_answered(self):
        de = ml_chats(langs={'de'}, per_session=2)[0]
        self.assertEqual((de.dataset, de.id, de.lang, T.group_of(de)), ('ml', 'de', 'de', 'ml-dev de'))
        self.assertEqual([len(s) for s in de.sessions], [4, 4, 2])
        self.assertEqual([m['role'] for m in de.sessions[0]], ['user', 'assistant', 'user', 'assistant'])
        self.assertEqual(de.sessions[0][1]['content'], T.CANNED)

    def test_ml_first_messages(self):
        de = ml_chats(per_session=10, messages=3)[0]
        self.assertEqual([m['content'] for m in de.sessions[0] if m['role'] == 'user'],
                         ['Nachricht 1', 'Nachricht 2', 'Nachricht 3'])

    def test_system_prompts(self):
        self.assertTrue(1100 <= len(T.SYSTEM_FULL) <= 1400, len(T.SYSTEM_FULL))  # about 300 tokens
        self.assertNotEqual(T.SYSTEM_FULL, T.SYSTEM_STATELESS)


class Requests(unittest.TestCase):
    def test_full_history_resends_its_session_with_a_session_id(self):
        de = ml_chats(langs={'de'}, per_session=2)[0]
        reqs = T.requests(de, 'full')
        self.assertEqual(len(reqs), 5)
        turn, body, headers, reply = reqs[1]
        msgs = json.loads(body)['messages']
        self.assertEqual([m['role'] for m in msgs], ['system', 'user', 'assistant', 'user'])
        self.assertEqual(msgs[0]['content'], T.SYSTEM_FULL)
        self.assertEqual(msgs[-1]['content'], 'Nachricht 2')
        self.assertEqual(headers, {'session-id': 'de-1'})
        self.assertEqual(reply, T.CANNED)
        self.assertEqual((turn.tid, turn.text, turn.shape, turn.session), ('de-2', 'Nachricht 2', 'full', 0))
        self.assertEqual(reqs[2][2], {'session-id': 'de-2'})
        self.assertEqual(len(json.loads(reqs[2][1])['messages']), 2)

    def test_stateless_sends_the_newest_message_alone(self):
        de = ml_chats(langs={'de'}, per_session=2)[0]
        for turn, body, headers, _ in T.requests(de, 'stateless'):
            msgs = json.loads(body)['messages']
            self.assertEqual(msgs, [{'role': 'system', 'content': T.SYSTEM_STATELESS},
                                    {'role': 'user', 'content': turn.text}])
            self.assertEqual(headers, {})

    def test_structured_fixes_the_answers_form(self):
        de = ml_chats(langs={'de'}, per_session=2)[0]
        for (turn, body, headers, _), (_, plain, _, _) in zip(T.requests(de, 'structured'),
                                                             T.requests(de, 'stateless')):
            doc = json.loads(body)
            self.assertEqual(doc['response_format'], T.STRUCTURED)
            self.assertEqual(doc['messages'], json.loads(plain)['messages'])
            self.assertEqual(headers, {})

    def test_a_byte_identical_body_is_a_repeat(self):
        ja = ml_chats(langs={'ja'})[0]
        ja.sessions.append([dict(role='user', content='はい', ids=['ja-2'])])
        reqs = T.requests(ja, 'stateless')
        self.assertEqual([t.repeat_of for t, _, _, _ in reqs], [None, 'ja-1'])
        # the same first message in two chats: one body (only the session-id header differs)
        reqs = T.requests(ja, 'full')
        self.assertEqual([t.repeat_of for t, _, _, _ in reqs], [None, 'ja-1'])
        ja.sessions[1].insert(0, dict(role='assistant', content='Hi!', ids=['ja-2a']))
        reqs = T.requests(ja, 'full')
        self.assertEqual([t.repeat_of for t, _, _, _ in reqs], [None, None])

    def test_user_ids_per_shape(self):
        de = ml_chats(langs={'de'})[0]
        self.assertEqual({T.user_id(de, s) for s in T.SHAPES}, {'whose-full-ml-de', 'whose-stateless-ml-de',
                                                                   'whose-structured-ml-de'})


def turn(text, rid, error=None):
    de = ml_chats(langs={'de'})[0]
    t = T.Turn(de, 'full', 0, ['x'], text)
    t.rid, t.error = rid, error
    return t


class Compare(unittest.TestCase):
    def test_statuses(self):
        ts = [turn('yes', 'r1'), turn('yes', 'r2'), turn('  Hello there. ', 'r3'), turn('My code:\nx = 1\nWhy?', 'r4'),
              turn('gone', 'r5'), turn('lost', 'r6', error='queue_full'), turn('yes', 'r7')]
        stored = [('r1', 'yes'), ('r2', 'yes'), ('r3', 'Hello there.'), ('r4', 'Why?'), ('r9', 'yes')]
        T.compare(ts, stored)
        self.assertEqual([t.status for t in ts],
                         ['verbatim', 'verbatim', 'verbatim', 'changed', 'dropped', 'unrecorded', 'verbatim'])
        self.assertEqual(ts[3].stored, 'Why?')

    def test_a_repeat_recorded_once_is_dropped(self):
        ts = [turn('same words', 'r1'), turn('same words', 'r2')]
        T.compare(ts, [('r1', 'same words')])
        self.assertEqual([t.status for t in ts], ['verbatim', 'dropped'])

    def test_a_turn_stored_within_more_is_changed(self):
        ts = [turn('words', None)]
        T.compare(ts, [('r1', 'a client block\n\nwords')])
        self.assertEqual((ts[0].status, ts[0].stored), ('changed', 'a client block\n\nwords'))

    def test_stored_messages_once_users_only(self):
        page = [{'role': 'user', 'content': 'a', 'request_id': 'r1'},
                {'role': 'assistant', 'content': 'b', 'request_id': 'r1'}]
        buf = [{'role': 'user', 'content': 'a', 'request_id': 'r1'}, {'role': 'user', 'content': 'c',
                                                                       'request_id': 'r2'}]
        self.assertEqual(T.stored_user_messages([page], buf), [('r1', 'a'), ('r2', 'c')])

    def test_left_out(self):
        sent = 'Here is my code in main.py:\n```\nx = 1\n```\nWhy does it fail?'
        self.assertEqual(T.left_out(sent, 'Why does it fail?'), 'Here is my code in main.py:\n```\nx = 1\n```')
        self.assertEqual(T.left_out('same', ' same '), '')

    def test_likely_rule(self):
        t = turn('Here:\n```\nx\n```\nok?', 'r1')
        t.status = 'changed'
        self.assertEqual(T.likely_rule(t, 'Here:\n```\nx\n```', []), 'structure')
        self.assertEqual(T.likely_rule(t, '<env>\ncwd: /r\n</env>', []), 'structure')
        para = 'A paragraph of forty-eight bytes or more, repeated.'
        t = turn(para + '\n\nmine', 'r2')
        t.status = 'changed'
        self.assertEqual(T.likely_rule(t, para, ['other ' + para]), 'repetition')
        self.assertEqual(T.likely_rule(t, para, []), '?')
        t.status, t.repeat_of = 'dropped', 'x'
        self.assertEqual(T.likely_rule(t, '', []), 'idempotency')


class Metrics(unittest.TestCase):
    PAGE = '\n'.join([
        '# TYPE memproxy_client_text_total counter',
        'memproxy_client_text_total{how="file"} 3',
        'memproxy_client_text_total{how="tagged"} 0',
        '# TYPE memproxy_client_tasks_total counter',
        '# TYPE memproxy_inserted_context_only_turns_total counter',
        'memproxy_inserted_context_only_turns_total 2',
        'memproxy_requests_total{status="200",stream="false"} 9'])

    def test_parse_and_delta(self):
        m = T.parse_metrics(self.PAGE)
        self.assertEqual(m['memproxy_client_text_total'], {'how="file"': 3.0, 'how="tagged"': 0.0})
        self.assertEqual(m['memproxy_client_tasks_total'], {})
        self.assertNotIn('memproxy_requests_total', m)
        before = {'memproxy_client_text_total': {'how="file"': 1.0}}
        d = T.metrics_delta(before, m)
        self.assertEqual(T.metric_cell(d, 'memproxy_client_text_total'), '2 (how="file" 2)')
        self.assertEqual(T.metric_cell(d, 'memproxy_client_tasks_total'), '0')
        self.assertEqual(T.metric_cell(d, 'memproxy_inserted_context_only_turns_total'), '2')
        self.assertEqual(T.metric_cell(d, 'memproxy_client_text_undone_total'), 'absent')


if __name__ == '__main__':
    unittest.main()
