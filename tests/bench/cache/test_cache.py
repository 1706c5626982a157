"""Unit tests of the prompt-cache benchmark's pure parts (replay.py):
loading LoCoMo and BEAM into sessions, the requests of each client (a
new chat per session too), where each question is asked, how far back its
evidence lies, the usage arithmetic and what counts as inserted.
Offline, hand-written data. Python 3 standard library only.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replay  # noqa: E402


def turn(speaker, dia, text):
    return {'speaker': speaker, 'dia_id': dia, 'text': text}


LOCOMO = {
    'speaker_a': 'Ann', 'speaker_b': 'Bob',
    'session_1_date_time': '1:56 pm on 8 May, 2023',
    'session_1': [turn('Bob', 'D1:1', 'Hi Ann.'), turn('Ann', 'D1:2', 'I adopted a cat.'),
                  turn('Ann', 'D1:3', 'Her name is Luna.'), turn('Bob', 'D1:4', 'I ran a marathon.'),
                  turn('Ann', 'D1:5', 'Well done!')],
    'session_2_date_time': '2:00 pm on 9 May, 2023',
    'session_2': [turn('Ann', 'D2:1', 'Luna broke a vase.'), turn('Bob', 'D2:2', 'Oh no.')],
    'session_3_date_time': '2:00 pm on 10 May, 2023',
    'session_3': [turn('Ann', 'D3:1', 'Hello again.')],
    'qa': [{'question': 'What is the cat called?', 'answer': 'Luna', 'evidence': ['D1:3'], 'category': 4},
           {'question': 'What broke?', 'answer': 'a vase', 'evidence': ['D2:1'], 'category': 1},
           {'question': 'Last words?', 'answer': 'x', 'evidence': ['D3:1'], 'category': 4},
           {'question': 'Unknown?', 'answer': 'x', 'evidence': ['D9:1'], 'category': 2},
           {'question': 'Adversarial?', 'answer': 'x', 'evidence': ['D1:2'], 'category': 5}],
}

BEAM = {'set': 'dev', 'conversations': [
    {'id': 7, 'questions': [], 'turns': [
        {'id': 1, 'role': 'user', 'content': 'Plan my week.', 'at': '2024-01-02T09:00:00Z'},
        {'id': 2, 'role': 'assistant', 'content': 'Here is a plan.', 'at': '2024-01-02T09:01:00Z'},
        {'id': 3, 'role': 'user', 'content': 'Thanks.', 'at': '2024-01-02T09:02:00Z'},
        {'id': 4, 'role': 'user', 'content': 'New day.', 'at': '2024-01-03T09:00:00Z'}]},
    {'id': 8, 'questions': [], 'turns': [
        {'id': 1, 'role': 'user', 'content': 'Other chat.', 'at': '2024-01-02T09:00:00Z'}]}]}


def write(tmp, name, obj):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        json.dump(obj, f)
    return path


class Load(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def test_locomo_speaker_a_is_the_user_and_turns_merge_by_role(self):
        chat = replay.load_locomo(write(self.tmp, '5.json', LOCOMO), '5')
        self.assertEqual(chat.user, 'cache-locomo-5')
        s1 = chat.sessions[0]
        self.assertEqual([m['role'] for m in s1], ['assistant', 'user', 'assistant', 'user'])
        self.assertEqual(s1[1]['content'], 'I adopted a cat.\nHer name is Luna.')
        self.assertEqual(s1[1]['ids'], ['D1:2', 'D1:3'])
        self.assertEqual(chat.role_of['D1:4'], 'assistant')
        self.assertEqual(chat.session_of['D2:1'], 1)
        self.assertEqual([q['q'] for q in chat.questions][-1], 'Unknown?')  # category 5 left out

    def test_beam_sessions_are_days(self):
        chats = replay.load_beam(write(self.tmp, 'b.json', BEAM), {'7'})
        self.assertEqual([c.id for c in chats], ['7'])
        self.assertEqual([len(s) for s in chats[0].sessions], [3, 1])
        self.assertEqual(chats[0].sessions[1][0]['content'], 'New day.')

    def test_head_cuts_sessions(self):
        chat = replay.load_locomo(write(self.tmp, '5.json', LOCOMO), '5').head(2)
        self.assertEqual(len(chat.sessions), 2)


class Requests(unittest.TestCase):
    def setUp(self):
        self.chat = replay.load_locomo(write(tempfile.mkdtemp(), '5.json', LOCOMO), '5')

    def test_full_history_resends_the_session_with_real_replies(self):
        reqs = replay.full_history(self.chat)
        self.assertEqual([s for s, _ in reqs], [0, 0, 1, 2])
        s, msgs = reqs[1]
        self.assertEqual(msgs[0], {'role': 'system', 'content': replay.SYSTEM_PROMPT})
        self.assertEqual([m['content'] for m in msgs[1:]],
                         ['Hi Ann.', 'I adopted a cat.\nHer name is Luna.', 'I ran a marathon.', 'Well done!'])
        self.assertEqual([m['content'] for m in reqs[2][1][1:]], ['Luna broke a vase.'])  # a new session

    def test_lifetime_history_resends_every_earlier_session(self):
        reqs = replay.lifetime_history(self.chat)
        last = reqs[-1][1]
        self.assertEqual(len(last), 1 + 4 + 2 + 1)  # system, sessions 1 and 2 (merged by role), newest
        self.assertEqual(last[-1]['content'], 'Hello again.')
        self.assertEqual(last[-2]['content'], 'Oh no.')

    def test_lifetime_window_drops_the_oldest_sessions_whole(self):
        saved, replay.SYSTEM_PROMPT = replay.SYSTEM_PROMPT, 'S'
        try:
            full = replay.lifetime_history(self.chat)[-1][1]
            self.assertEqual(replay._tokens(full), 26)  # 105 bytes
            self.assertEqual(replay.lifetime_history(self.chat, 26)[-1][1], full)
            # over 25: sessions dropped until at most 12 (session 2 and the newest: 37 bytes, 9)
            cut = replay.lifetime_history(self.chat, 25)[-1][1]
            self.assertEqual([m['content'] for m in cut[1:]], ['Luna broke a vase.', 'Oh no.', 'Hello again.'])
            cut = replay.lifetime_history(self.chat, 8)[-1][1]
            self.assertEqual([m['content'] for m in cut], ['S', 'Hello again.'])
            # four sessions of one 40-byte message: the fourth request (161 bytes, 40 tokens) is
            # over 30, and goes down to 15 or less (not just 30): the system and its own message
            chat = replay.Chat('t', '1', 'u')
            for k in range(4):
                chat.sessions.append([])
                chat.add(k, 'user', str(k) * 40, k)
            self.assertEqual([replay._tokens(m) for _, m in replay.lifetime_history(chat)], [10, 20, 30, 40])
            self.assertEqual([m['content'] for m in replay.lifetime_history(chat, 30)[-1][1]], ['S', '3' * 40])
        finally:
            replay.SYSTEM_PROMPT = saved

    def test_newest_only_sends_one_message(self):
        reqs = replay.newest_only(self.chat)
        self.assertEqual([len(m) for _, m in reqs], [2, 2, 2, 2])
        self.assertEqual(reqs[2][1][1]['content'], 'Luna broke a vase.')

    def test_replies_are_the_messages_that_follow_each_request(self):
        # one per request, in full_history's and newest_only's order; a session that
        # ends with the user's message has no reply to record
        self.assertEqual(replay.replies(self.chat), ['I ran a marathon.', None, 'Oh no.', None])
        self.assertEqual(len(replay.replies(self.chat)), len(replay.full_history(self.chat)))
        self.assertEqual(len(replay.replies(self.chat)), len(replay.newest_only(self.chat)))

    def test_system_prompt_is_about_600_tokens(self):
        self.assertTrue(560 <= len(replay.SYSTEM_PROMPT) / 4 <= 640)

    def test_questions_go_to_the_session_after_their_evidence(self):
        slots = replay.question_slots(self.chat)
        self.assertEqual({s: [q['q'] for q in qs] for s, qs in slots.items()},
                         {1: ['What is the cat called?'], 2: ['What broke?']})


class SessionChats(unittest.TestCase):
    def setUp(self):
        self.chat = replay.load_locomo(write(tempfile.mkdtemp(), '5.json', LOCOMO), '5')

    def test_a_new_chat_each_session_resending_only_that_session(self):
        reqs = replay.session_chats(self.chat)
        self.assertEqual([(s, m) for s, m, _ in reqs], replay.full_history(self.chat))
        ids = [c for _, _, c in reqs]
        self.assertEqual(ids[0], ids[1])  # both requests of session 1: one chat
        self.assertEqual(len(set(ids)), 3)  # sessions 1, 2 and 3: three chats
        self.assertEqual(ids, [c for _, _, c in replay.session_chats(self.chat)])  # the same every run
        self.assertFalse(any(c.startswith('local:') for c in ids))  # no temporary chat

    def test_chat_ids_differ_per_user(self):
        other = replay.load_locomo(write(tempfile.mkdtemp(), '6.json', LOCOMO), '6')
        self.assertNotEqual(replay.chat_id(self.chat, 0), replay.chat_id(other, 0))


class Distance(unittest.TestCase):
    def setUp(self):
        self.chat = replay.Chat('t', '1', 'u')
        for k in range(5):
            self.chat.sessions.append([])
            self.chat.add(k, 'user', 'turn %d' % k, 'D%d' % k)

    def test_sessions_back(self):
        self.assertEqual([replay.distance(self.chat, 4, 'D%d' % k) for k in range(5)],
                         ['older', 'older', '2', '1', 'same'])

    def test_tally_counts_turns_by_distance_and_questions_by_the_nearest(self):
        t = {}
        # asked in session 5 (index 4): evidence 1 and 3 back, only the 1-back found
        replay.tally_distance(t, self.chat, 4, ['D3', 'D1'], {'D3'})
        self.assertEqual(t, {'1': [1, 1], 'older': [0, 1], 'q1': [1, 1], 'q2': [1, 1]})
        # evidence 1 and 2 back, the 2-back missed: the previous session's all found, the two's not
        replay.tally_distance(t, self.chat, 4, ['D3', 'D2'], {'D3'})
        self.assertEqual(t, {'1': [2, 2], '2': [0, 1], 'older': [0, 1], 'q1': [2, 2], 'q2': [1, 2]})
        # evidence 2 back only: no previous-session question; the same session's turn counts apart
        replay.tally_distance(t, self.chat, 4, ['D2', 'D4'], {'D2', 'D4'})
        self.assertEqual(t, {'1': [2, 2], '2': [1, 2], 'older': [0, 1], 'same': [1, 1],
                             'q1': [2, 2], 'q2': [2, 3]})

    def test_slotted_questions_lie_a_session_back(self):
        chat = replay.load_locomo(write(tempfile.mkdtemp(), '5.json', LOCOMO), '5')
        t = {}
        for s, qs in replay.question_slots(chat).items():
            for q in qs:
                replay.tally_distance(t, chat, s, q['ev'], set())
        self.assertEqual(t, {'1': [0, 2], 'q1': [0, 2], 'q2': [0, 2]})


class Usage(unittest.TestCase):
    def test_billed_counts_cached_at_a_tenth(self):
        self.assertAlmostEqual(replay.billed(2048, 1024), 1024 + 102.4)
        self.assertEqual(replay.billed(500, 0), 500)

    def test_usage_of_reads_cached_tokens(self):
        body = json.dumps({'usage': {'prompt_tokens': 1500, 'completion_tokens': 9,
                                     'prompt_tokens_details': {'cached_tokens': 1280}}})
        self.assertEqual(replay.usage_of(body), (1500, 1280))
        self.assertEqual(replay.usage_of(json.dumps({'usage': {'prompt_tokens': 7}})), (7, 0))


class Inserted(unittest.TestCase):
    SENT = [{'role': 'system', 'content': 'Be kind.'}, {'role': 'user', 'content': 'Hi'},
            {'role': 'assistant', 'content': 'Hello'}, {'role': 'user', 'content': 'Q?'}]

    def test_client_messages_are_not_inserted(self):
        self.assertEqual(replay.inserted_parts(self.SENT, self.SENT), [])

    def test_a_block_after_the_system_prompt_and_a_tail(self):
        got = [self.SENT[0],
               {'role': 'system', 'content': replay.INTRO + ' (from memory):\n- Ann adopted a cat\n'
                + replay.SUMMARY_LINE + ' Summary: Hi / Hello'}] + self.SENT[1:3] + \
              [{'role': 'system', 'content': 'user: Her name is Luna.'}, self.SENT[3]]
        self.assertEqual(replay.inserted_parts(self.SENT, got), ['- Ann adopted a cat', 'user: Her name is Luna.'])

    def test_text_added_to_a_client_message(self):
        got = [{'role': 'system', 'content': 'Be kind.\n\nuser: I adopted a cat.'}] + self.SENT[1:]
        self.assertEqual(replay.inserted_parts(self.SENT, got), ['user: I adopted a cat.'])


class ManyUsers(unittest.TestCase):
    def test_interleave_sends_each_users_requests_in_order_and_ends_them_together(self):
        counts = [300, 100, 600]
        order = replay.interleave(counts, seed=3)
        self.assertEqual(order, replay.interleave(counts, seed=3))  # the same every run
        self.assertNotEqual(order, replay.interleave(counts, seed=4))
        for u, n in enumerate(counts):
            self.assertEqual([i for v, i in order if v == u], list(range(n)))
        # in proportion to what is left: every user still sending in the last tenth
        self.assertEqual({u for u, _ in order[-100:]}, {0, 1, 2})
        self.assertEqual({u for u, _ in order[:100]}, {0, 1, 2})
        self.assertEqual(replay.interleave([0, 2]), [(1, 0), (1, 1)])

    def test_send_times_are_evenly_spaced_at_the_rate(self):
        self.assertEqual([replay.send_ms(i, 30) for i in range(4)], [0, 2000, 4000, 6000])
        self.assertEqual(replay.send_ms(7, 600), 700)
        self.assertEqual(replay.send_ms(1, 7), 8571)

    def test_keys_are_keyed_hashes_per_user_or_conversation(self):
        chat, other = replay.Chat('locomo', '1', 'cache-locomo-1'), replay.Chat('locomo', '2', 'cache-locomo-2')
        self.assertIsNone(replay.strategy_key('none', chat, 0))
        user = replay.strategy_key('user', chat, 0)
        self.assertRegex(user, r'^[0-9a-f]{32}$')
        self.assertEqual(user, replay.strategy_key('user', chat, 5))  # every session alike
        self.assertNotEqual(user, replay.strategy_key('user', other, 0))
        self.assertNotIn('locomo', user)  # the user id does not show
        conv = [replay.strategy_key('conversation', chat, s) for s in (0, 1, 0)]
        self.assertEqual((conv[0] == conv[2], conv[0] == conv[1], conv[0] == user), (True, False, False))
        import hashlib
        import hmac
        self.assertEqual(user, hmac.new(b'memproxy-cache-bench', b'cache-locomo-1',
                                        hashlib.sha256).hexdigest()[:32])

    def test_a_longer_system_prompt(self):
        self.assertEqual(replay.system_prompt(), replay.SYSTEM_PROMPT)
        long = replay.system_prompt(2000)
        self.assertTrue(8000 <= len(long) < 8200)
        self.assertTrue(long.startswith(replay.SYSTEM_PROMPT[:500]))


if __name__ == '__main__':
    unittest.main()
