"""Unit tests of the recall benchmark's own code (locomo.py, beam.py, chats.py,
memdaily.py, madial.py, fetch_devdata.sh, beam_ranks.py, bench.py's pure parts,
its report and its import client, embedcache.py before a fake backend), offline: a hand-written LoCoMo conversation
and BEAM file, a few lines in MemDaily's and MADial-Bench's shapes, the audit's
corrections, and a stub of the import endpoint. With MEMPROXY_LOCOMO_DIR / MEMPROXY_BEAM_DIR
set, the import bodies of the real conversations are validated too. Python 3
standard library only.
"""

import argparse
import contextlib
import subprocess
import hashlib
import http.server
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402
import beam  # noqa: E402
import beam_answers  # noqa: E402
import beam_ranks  # noqa: E402
import bench  # noqa: E402
import chats  # noqa: E402
import locomo  # noqa: E402
import madial  # noqa: E402
import memdaily  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


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


BEAM = {'set': 'beam-dev', 'conversations': [
    {'id': 7, 'turns': [
        {'id': 0, 'role': 'user',
         'content': 'I set up Express v4.18.2 | port 3000 [dev] and\nSocket.io version 4.6.1 for chat.',
         'at': '2024-01-02T09:00:00Z'},
        {'id': 1, 'role': 'assistant', 'content': 'Certainly! Here is how to wire Socket.io into Express step by step.',
         'at': '2024-01-02T09:01:00Z'},
        {'id': 2, 'role': 'user', 'content': 'Thanks.', 'at': '2024-01-03T10:00:00+01:00'}],
     'questions': [{'q': 'Which port did I use?', 'evidence': [0], 'category': 'information_extraction'},
                   {'q': 'Summarize the setup.', 'evidence': [0, 1], 'category': 'summarization'}]},
    {'id': 8, 'turns': [{'id': 5, 'role': 'user', 'content': 'Other chat.', 'at': '2024-02-01T09:00:00Z'}],
     'questions': []}]}


def write_json(d, name, obj):
    path = os.path.join(d, name)
    with open(path, 'w') as f:
        json.dump(obj, f)
    return path


class TestBeam(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.path = write_json(self.tmp, beam.FILE, BEAM)

    def test_chats_as_turns_of_one_user(self):
        c, other = beam.load(self.path)
        self.assertEqual((c.id, c.user, other.id), ('7', 'beam-7', '8'))
        self.assertEqual(c.facts, [])
        self.assertEqual(c.items('facts'), [])
        self.assertEqual([t['role'] for t in c.items('turns')], ['user', 'assistant', 'user'])
        self.assertEqual([t['ids'] for t in c.turns], [{0}, {1}, {2}])
        self.assertEqual(len({t['id'] for t in c.turns + other.turns}), 4)  # import ids unique across chats
        self.assertEqual(c.turns[1]['content'], BEAM['conversations'][0]['turns'][1]['content'])
        self.assertEqual(c.covered('turns'), {0, 1, 2})
        self.assertEqual(c.questions[1], {'q': 'Summarize the setup.', 'cat': 'summarization', 'ev': [0, 1],
                                          'answer': None})
        self.assertEqual((c.match_chars, c.corrected, c.set), (60, False, 'beam'))

    def test_import_body_keeps_times_in_utc(self):
        c = beam.load(self.path, {'7'})[0]
        body = locomo.ndjson(locomo.import_lines(c, 'turns'))
        self.assertEqual(locomo.validate_ndjson(body), [])
        lines = [json.loads(ln) for ln in body.splitlines()]
        self.assertEqual([ln['at'] for ln in lines],
                         ['2024-01-02T09:00:00Z', '2024-01-02T09:01:00Z', '2024-01-03T09:00:00Z'])
        self.assertEqual(lines[0], {'type': 'message', 'id': 'beam-7-t0', 'role': 'user',
                                    'content': BEAM['conversations'][0]['turns'][0]['content'],
                                    'at': '2024-01-02T09:00:00Z'})

    def test_chats_asked_for(self):
        self.assertEqual([c.id for c in beam.load(self.path, {'8'})], ['8'])
        with self.assertRaises(ValueError):
            beam.load(self.path, {'7', '9'})

    def test_bad_chats_refused(self):
        for change in ({'category': 'abstention'}, {'role': 'system'}, {'id': 1}, {'at': '2024-01-02 09:00'}):
            data = json.loads(json.dumps(BEAM))
            if 'category' in change:
                data['conversations'][0]['questions'][0].update(change)
            else:
                data['conversations'][0]['turns'][0].update(change)
            with self.assertRaises(ValueError, msg=change):
                beam.load(write_json(self.tmp, 'bad.json', data))

    def test_match_rule_takes_60_characters_through_the_blocks_escapes(self):
        c = beam.load(self.path, {'7'})[0]
        m = locomo.Matcher(c.turns, c.match_chars)
        text = c.turns[0]['content']
        escaped = text.replace('|', '/').replace('[', '(').replace(']', ')').replace('\n', ' ')
        self.assertEqual(m.found(['user: ' + escaped[:70] + '\u2026']), [0])
        n = locomo.normalize(text)
        self.assertEqual(m.found([n[:59]]), [])             # 59 characters: not enough for BEAM
        self.assertEqual(locomo.Matcher(c.turns).found([n[:59]]), [0])  # LoCoMo's 48 would count it

    @unittest.skipUnless(os.environ.get('MEMPROXY_BEAM_DIR'), 'MEMPROXY_BEAM_DIR not set')
    def test_real_chats_import_bodies(self):
        for c in beam.load(os.path.join(os.environ['MEMPROXY_BEAM_DIR'], beam.FILE)):
            self.assertEqual(locomo.validate_ndjson(locomo.ndjson(locomo.import_lines(c, 'turns'))), [], c.id)
            self.assertTrue(c.questions and all(q['ev'] for q in c.questions), c.id)


def corrections():
    return [{'conversation': 't', 'question': 'What did Caroline attend?', 'category': 4,
             'cited_evidence': ['D1:1'], 'correct_evidence': ['D1:3'], 'error_type': 'WRONG_CITATION'},
            {'conversation': 't', 'question': 'When did Melanie go camping?', 'category': 2,
             'cited_evidence': ['D2:1; D1:2'], 'correct_evidence': ['D1:2', 'D2:1'], 'error_type': 'AMBIGUOUS'},
            {'conversation': 'other', 'question': 'What did Caroline attend?', 'category': 4,
             'cited_evidence': ['D1:1'], 'correct_evidence': ['D9:9'], 'error_type': 'WRONG_CITATION'}]


class TestAnswers(unittest.TestCase):
    """The answer judge (answers.py) and the BEAM answers file's generator
    (beam_answers.py)."""

    PROBING = {
        'information_extraction': [{'question': 'Which port did I use?', 'answer': 'You used port 3000.',
                                    'rubric': ['LLM response should mention: 3000']}],
        'summarization': [{'question': 'Summarize the setup.',
                           'ideal_summary': 'Express with Socket.io, wired step by step.'}],
        'instruction_following': [{'question': 'Summarize the setup.',
                                   'instruction_being_tested': 'Always answer in bullets.'}],
        'abstention': [{'question': 'What is my dog called?', 'ideal_response': 'Not said.'}],
    }

    def test_terms_fold_drop_stop_words_and_strip_suffixes(self):
        self.assertEqual(answers.terms('The Hotel was BOOKED on April 10; bookings?'),
                         {'hotel', 'book', 'april', '10'})
        self.assertEqual(answers.stem('runs'), 'run')
        self.assertEqual(answers.stem('is'), 'is')  # too short to strip
        self.assertEqual(answers.stem('2023s'), '2023s')

    def test_key_terms_are_the_answers_words_the_question_lacks(self):
        self.assertEqual(answers.key_terms('When did Caroline book the hotel?', 'She booked it on 7 May 2023'),
                         {'she', 'it', '7', 'may', '2023'} - answers.STOP)
        self.assertEqual(answers.key_terms('Which port?', None), frozenset())
        self.assertEqual(answers.key_terms('Which port?', 3000), {'3000'})  # LoCoMo answers may be numbers
        self.assertEqual(answers.key_terms('What port did I use?', 'The port'), frozenset())

    def test_share_found_in_the_injected_parts(self):
        keys = answers.key_terms('When did she go?', 'on 7 May 2023 to Lisbon')
        got = answers.injected_terms(locomo.haystack(['(2023-05-07, user) I flew to Lisbon', 'the 7th of may']))
        self.assertAlmostEqual(answers.share_found(keys, got), 3 / 4)  # not "7": "07" and "7th" are other words
        self.assertIsNone(answers.share_found(frozenset(), got))

    def test_beam_answer_takes_each_categorys_text(self):
        pick = {c: answers.beam_answer(c, recs[0]) for c, recs in self.PROBING.items() if c != 'abstention'}
        self.assertEqual(pick['information_extraction'], 'You used port 3000.')
        self.assertEqual(pick['summarization'], 'Express with Socket.io, wired step by step.')
        self.assertEqual(pick['instruction_following'], 'Always answer in bullets.')
        with self.assertRaises(ValueError):
            answers.beam_answer('x', {'question': 'q', 'answer': '  '})
        with self.assertRaises(ValueError):  # no answer to judge by (the dev split has none)
            answers.beam_answer('abstention', self.PROBING['abstention'][0])

    def test_generator_matches_questions_by_text_and_category(self):
        got = beam_answers.answers_of(self.PROBING, BEAM['conversations'][0]['questions'], 7)
        self.assertEqual(got, {'Which port did I use?': 'You used port 3000.',
                               'Summarize the setup.': 'Express with Socket.io, wired step by step.'})
        with self.assertRaises(ValueError):  # not there
            beam_answers.answers_of({}, BEAM['conversations'][0]['questions'], 7)
        twice = dict(self.PROBING, summarization=self.PROBING['summarization'] * 2)
        with self.assertRaises(ValueError):  # there twice
            beam_answers.answers_of(twice, BEAM['conversations'][0]['questions'], 7)

    def test_generator_writes_a_file_the_loader_reads(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        src = os.path.join(tmp, 'chats', '500K', '7', 'probing_questions')
        os.makedirs(src)
        write_json(src, 'probing_questions.json', self.PROBING)
        dev = write_json(tmp, 'dev.json', {'conversations': [BEAM['conversations'][0]]})
        out = os.path.join(tmp, 'answers.json')
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(beam_answers.main(['beam_answers.py', tmp, dev, out]), 0)
        loaded = answers.load_beam_answers(out)
        self.assertEqual(loaded['7']['Which port did I use?'], 'You used port 3000.')
        c = beam.load(write_json(tmp, beam.FILE, BEAM), {'7'}, loaded)[0]
        self.assertEqual([q['answer'] for q in c.questions],
                         ['You used port 3000.', 'Express with Socket.io, wired step by step.'])
        write_json(tmp, 'bad.json', {'chats': {'7': ['not a map']}})
        with self.assertRaises(ValueError):
            answers.load_beam_answers(os.path.join(tmp, 'bad.json'))

    def test_committed_answers_file(self):
        data = answers.load_beam_answers()
        self.assertEqual(sorted(data), [str(i) for i in range(1, 9)])
        self.assertEqual(sum(len(v) for v in data.values()), 142)
        self.assertTrue(all(a.strip() for v in data.values() for a in v.values()))

    @unittest.skipUnless(os.environ.get('MEMPROXY_BEAM_DIR'), 'MEMPROXY_BEAM_DIR not set')
    def test_every_dev_question_has_an_answer_with_key_terms(self):
        chats = beam.load(os.path.join(os.environ['MEMPROXY_BEAM_DIR'], beam.FILE), None,
                          answers.load_beam_answers())
        qs = [q for c in chats for q in c.questions]
        self.assertEqual(len(qs), 142)
        self.assertTrue(all(answers.key_terms(q['q'], q['answer']) for q in qs))


NEEDLES = {'set': 'needles-dev', 'conversations': [
    {'id': 'en', 'lang': 'en', 'turns': [
        {'id': 'en-1', 'role': 'user', 'content': 'My dentist is Dr. Lee.', 'at': '2025-02-03T18:22:00Z'},
        {'id': 'en-2', 'role': 'user', 'content': 'Lunch was pasta.', 'at': '2025-02-04T12:00:00Z'}],
     'questions': [{'q': 'Who is my dentist?', 'evidence': ['en-1'], 'category': 'en'}]},
    {'id': 'zh', 'lang': 'zh', 'turns': [
        {'id': 'zh-1', 'role': 'user', 'content': '我女儿的钢琴老师姓王。', 'at': '2025-03-01T08:00:00+08:00'}],
     'questions': [{'q': '钢琴老师姓什么？', 'evidence': ['zh-1'], 'category': 'zh'}]}]}

# Two trajectories in MemDaily's shape (messages_and_QAs/*_items.json).
MEMDAILY_ITEMS = [
    {'tid': 0, 'message_list': [
        {'mid': 0, 'message': '我穿的运动鞋是亚瑟士。', 'time': '2024年04月01日 周一 08:42', 'place': '广东深圳'},
        {'mid': 1, 'message': ' 亚瑟士真心不错。 ', 'time': '2024年04月02日 周二 07:48', 'place': '广东深圳'},
        {'mid': 2, 'message': '我住的小区叫绿洲家园。', 'time': '2024年04月02日 周二 13:50', 'place': '广东深圳'}],
     'question_list': [{'qid': 0, 'question': '我穿的运动鞋是什么牌子的呢？', 'answer': '亚瑟士',
                        'target_step_id': [0, 1], 'choices': {'A': '亚瑟士'}, 'ground_truth': 'A',
                        'time': '2024年04月03日 周三 18:40'}]},
    {'tid': 1, 'message_list': [
        {'mid': 0, 'message': '我用的手机是小米12。', 'time': '2024年04月01日 周一 08:09', 'place': '上海'}],
     'question_list': [{'qid': 0, 'question': '我的手机是什么型号？', 'answer': '小米12',
                        'target_step_id': [0], 'choices': {}, 'ground_truth': 'A',
                        'time': '2024年04月03日 周三 08:15'}]}]

MADIAL_MEMORY = '\n'.join(json.dumps(x, ensure_ascii=False) for x in [
    {'1': {'time': '2023-12-25', 'scene': '活动类', 'emotion': '开心', 'event': 'Bart在圣诞节晚会上跳舞。',
           'user-id': 1, 'id': '1'}},
    {'3': {'time': '2023-03-07', 'scene': '活动类', 'emotion': '开心', 'event': 'Bart获得一百米第一名。',
           'user-id': 1, 'id': '3'}},
    {'5': {'time': '2023-05-20', 'scene': '喜好类', 'emotion': '开心', 'event': 'Lisa做了生态球。',
           'user-id': 2, 'id': '5'}}]) + '\n'
MADIAL_DIALOGUE = json.dumps({'dialogue': [
    '<BOD>\n', '<Bart>:"元旦晚会我要表演魔术！"\n', '<Assistant>:"真是太棒了！"\n',
    '<Bart>:"我要穿什么好呢？"\n', '<Assistant>:"你记得去年圣诞节晚会上你跳舞吗？"\n',
    '<Bart>:"记得！"\n', '<EOD>\n'], 'test-turn': [4], 'relevant-id': [1], 'user-id': 1, 'id': 0},
    ensure_ascii=False) + '\n'


class TestChats(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_needles_load_as_one_user_per_language(self):
        en, zh = chats.load(bench.Needles, write_json(self.tmp, 'n.json', NEEDLES))
        self.assertEqual((en.user, zh.user, zh.lang), ('needles-en', 'needles-zh', 'zh'))
        self.assertEqual([t['id'] for t in en.turns], ['needles-en-ten-1', 'needles-en-ten-2'])
        self.assertEqual(locomo.rfc3339(zh.turns[0]['at']), '2025-03-01T00:00:00Z')  # +08:00 read as UTC
        self.assertEqual(zh.questions, [dict(q='钢琴老师姓什么？', cat='zh', ev=['zh-1'], answer=None)])
        self.assertEqual(zh.covered('turns'), {'zh-1'})
        self.assertEqual([c.id for c in chats.load(bench.Needles, os.path.join(self.tmp, 'n.json'), {'zh'})], ['zh'])
        with self.assertRaises(ValueError):
            chats.load(bench.Needles, os.path.join(self.tmp, 'n.json'), {'ja'})

    def test_record_last_takes_the_newest_user_messages_of_the_new_sets_only(self):
        en, zh = chats.load(bench.Needles, write_json(self.tmp, 'n.json', NEEDLES))
        a = argparse.Namespace(record_last=1)
        self.assertEqual(bench.record_split(a, en, 'turns'), ['needles-en-ten-2'])
        a.record_last = 5
        self.assertEqual(bench.record_split(a, en, 'turns'), ['needles-en-ten-1', 'needles-en-ten-2'])
        self.assertEqual(bench.record_split(a, en, 'facts'), [])
        a.record_last = 0
        self.assertEqual(bench.record_split(a, zh, 'turns'), [])
        beam_conv = argparse.Namespace(set='beam', turns=en.turns)  # LoCoMo's and BEAM's digests stay
        self.assertEqual(bench.record_split(argparse.Namespace(record_last=1), beam_conv, 'turns'), [])

    def test_evidence_naming_no_turn_or_empty_turn_refused(self):
        for bad in ({'evidence': ['en-9']}, None):
            data = json.loads(json.dumps(NEEDLES['conversations'][0]))
            if bad:
                data['questions'][0].update(bad)
            else:
                data['turns'][1]['content'] = ''
            with self.assertRaises(ValueError, msg=bad):
                bench.Needles(data)

    def test_dump_is_what_load_reads(self):
        path = os.path.join(self.tmp, 'd.json')
        chats.dump('x', NEEDLES['conversations'], path)
        with open(path, encoding='utf-8') as f:
            self.assertEqual(json.load(f), dict(NEEDLES, set='x'))


class TestMemDaily(unittest.TestCase):
    def test_time_is_china_standard_time(self):
        self.assertEqual(memdaily.parse_time('2024年04月01日 周一 08:42'), '2024-04-01T00:42:00Z')
        self.assertEqual(memdaily.parse_time('2024年04月01日 周一 05:00'), '2024-03-31T21:00:00Z')
        for bad in ('2024-04-01 08:42', '2024年04月01日', ''):
            with self.assertRaises(ValueError, msg=bad):
                memdaily.parse_time(bad)

    def test_file_becomes_one_archive_in_time_order(self):
        c = memdaily.convert('01_simple_items', MEMDAILY_ITEMS)
        self.assertEqual(c['id'], '01_simple_items')
        self.assertEqual([(t['id'], t['at']) for t in c['turns']],
                         [('t1m0', '2024-04-01T00:09:00Z'), ('t0m0', '2024-04-01T00:42:00Z'),
                          ('t0m1', '2024-04-01T23:48:00Z'), ('t0m2', '2024-04-02T05:50:00Z')])
        self.assertEqual(c['turns'][2]['content'], '亚瑟士真心不错。')
        self.assertTrue(all(t['role'] == 'user' for t in c['turns']))
        self.assertEqual(c['questions'], [
            dict(q='我穿的运动鞋是什么牌子的呢？', evidence=['t0m0', 't0m1'], category='items'),
            dict(q='我的手机是什么型号？', evidence=['t1m0'], category='items')])
        conv = memdaily.Conversation(c)  # the benchmark reads it
        self.assertEqual(conv.user, 'memdaily-01_simple_items')

    def test_evidence_outside_its_trajectory_refused(self):
        bad = json.loads(json.dumps(MEMDAILY_ITEMS))
        bad[1]['question_list'][0]['target_step_id'] = [2]  # mid 2 is trajectory 0's
        with self.assertRaises(ValueError):
            memdaily.convert('01_simple_items', bad)

    def test_only_the_development_files(self):
        self.assertEqual(len(memdaily.FILES), 14)
        self.assertTrue(all(memdaily.kind(f) in memdaily.CATEGORIES for f in memdaily.FILES))
        for judged in ('01_simple_roles', '02_conditional_hybrid'):
            with self.assertRaises(ValueError):
                memdaily.kind(judged)
        with open(os.path.join(HERE, 'fetch_devdata.sh'), encoding='utf-8') as f:
            script = f.read()
        sums = script.split("MEMSIM_SUMS='", 1)[1].split("'", 1)[0].split('\n')
        self.assertEqual([ln.split()[1] for ln in sums], [f + '.json' for f in memdaily.FILES])

    def test_convert_dir_and_main(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        for f in memdaily.FILES[:-1]:
            write_json(d, f + '.json', MEMDAILY_ITEMS)
        out = os.path.join(d, 'out.json')
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(memdaily.main([d, out]), 1)  # a file missing
        write_json(d, memdaily.FILES[-1] + '.json', MEMDAILY_ITEMS)
        self.assertEqual(memdaily.main([d, out]), 0)
        convs = chats.load(memdaily.Conversation, out)
        self.assertEqual([c.id for c in convs], memdaily.FILES)
        self.assertEqual(convs[0].questions[0]['cat'], 'events')


class TestMADial(unittest.TestCase):
    def test_question_is_what_the_user_said_before_the_test_turn(self):
        d = json.loads(MADIAL_DIALOGUE)
        self.assertEqual(madial.speaker_line('<Bart>:"记得！"\n'), ('Bart', '记得！'))
        self.assertIsNone(madial.speaker_line('<BOD>\n'))
        self.assertEqual(madial.question(d['dialogue'], 4), '元旦晚会我要表演魔术！ 我要穿什么好呢？')

    def test_one_chat_per_user_memories_as_turns(self):
        u1, u2 = madial.convert(madial.json_lines(MADIAL_MEMORY), madial.json_lines(MADIAL_DIALOGUE))
        self.assertEqual([(t['id'], t['at']) for t in u1['turns']],
                         [('m3', '2023-03-07T12:00:00Z'), ('m1', '2023-12-25T12:00:00Z')])
        self.assertEqual(u1['questions'], [dict(q='元旦晚会我要表演魔术！ 我要穿什么好呢？', evidence=['m1'],
                                                category='dialogue')])
        self.assertEqual((u2['id'], u2['questions']), ('2', []))
        self.assertEqual(madial.Conversation(u1).user, 'madial-1')

    def test_relevant_memory_of_another_user_refused(self):
        d = json.loads(MADIAL_DIALOGUE)
        d['relevant-id'] = [5]
        with self.assertRaises(ValueError):
            madial.convert(madial.json_lines(MADIAL_MEMORY), [d])


class TestRealDevData(unittest.TestCase):
    """With MEMPROXY_MEMDAILY_DIR / MEMPROXY_MADIAL_DIR (the directories
    fetch_devdata.sh writes: data/memdaily-dev, data/madial-dev), the
    converters on the fetched files, and the converted file against them."""

    @unittest.skipUnless(os.environ.get('MEMPROXY_MEMDAILY_DIR'), 'MEMPROXY_MEMDAILY_DIR not set')
    def test_memdaily(self):
        d = os.environ['MEMPROXY_MEMDAILY_DIR']
        convs = memdaily.convert_dir(os.path.join(d, 'src'))
        self.assertEqual([sum(len(c[k]) for c in convs) for k in ('turns', 'questions')], [5536, 1000])
        self.assertEqual(sum(len(q['evidence']) for c in convs for q in c['questions']), 2100)
        self.assertEqual([c.id for c in chats.load(memdaily.Conversation, os.path.join(d, memdaily.FILE))],
                         memdaily.FILES)

    @unittest.skipUnless(os.environ.get('MEMPROXY_MADIAL_DIR'), 'MEMPROXY_MADIAL_DIR not set')
    def test_madial(self):
        d = os.environ['MEMPROXY_MADIAL_DIR']
        convs = madial.convert_dir(os.path.join(d, 'src'))
        self.assertEqual([(c['id'], len(c['turns']), len(c['questions'])) for c in convs],
                         [('1', 83, 76), ('2', 88, 84)])
        self.assertEqual(sum(len(q['evidence']) for c in convs for q in c['questions']), 405)
        self.assertEqual(len(chats.load(madial.Conversation, os.path.join(d, madial.FILE))), 2)

@unittest.skipUnless(shutil.which('git') and shutil.which('sha256sum'), 'git or sha256sum missing')
class TestFetch(unittest.TestCase):
    def test_checksum_mismatch_fails_and_converts_nothing(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        repo = os.path.join(d, 'repo')
        os.makedirs(os.path.join(repo, 'data', 'ch'))
        with open(os.path.join(repo, 'data', 'ch', madial.MEMORY), 'w') as f:
            f.write(MADIAL_MEMORY)
        with open(os.path.join(repo, 'data', 'ch', madial.DIALOGUE), 'w') as f:
            f.write(MADIAL_DIALOGUE)
        env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t', GIT_COMMITTER_NAME='t',
                   GIT_COMMITTER_EMAIL='t@t')
        for cmd in (['init', '-q'], ['add', '.'], ['commit', '-qm', 'x']):
            subprocess.run(['git', '-C', repo] + cmd, check=True, env=env, capture_output=True)
        r = subprocess.run([os.path.join(HERE, 'fetch_devdata.sh'), 'madial', '--out', os.path.join(d, 'data'),
                            '--from-git', 'hejunqing/MADial-Bench=' + repo], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)  # the pinned commit is not in this clone
        self.assertIn('cannot read data/ch/', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, 'data', 'madial-dev', madial.FILE)))


class TestBeamRanks(unittest.TestCase):
    def test_evidence_ranked_by_bm25_per_category(self):
        texts = ['We planned the kayak trip for June.', 'Lunch was pasta again.',
                 'The kayak needs a new paddle, kayak shop.', 'Remind me about the dentist.']
        chat = beam.Conversation({
            'id': 1,
            'turns': [dict(id=10 + i, role='user', content=t, at='2024-01-01T00:00:00Z')
                      for i, t in enumerate(texts)],
            'questions': [{'q': 'What about my kayak?', 'evidence': [10, 12, 99],
                           'category': 'information_extraction'},
                          {'q': 'When is the dentist?', 'evidence': [13],
                           'category': 'temporal_reasoning'}]})
        ranks = beam_ranks.ranks_of(chat)
        # turn 12 holds "kayak" twice: first; turn 10 once: second; an id no turn has is
        # not counted; ties (no question word) keep turn order, behind every match.
        self.assertEqual(ranks['information_extraction'], [2, 1])
        self.assertEqual(ranks['temporal_reasoning'], [1])


class TestCorrections(unittest.TestCase):
    def test_listed_questions_take_the_corrected_evidence(self):
        c = locomo.Conversation('t', CONV)
        self.assertEqual(locomo.apply_corrections([c], corrections()), {'t': (2, 1)})
        self.assertTrue(c.corrected)
        self.assertEqual([(q['ev'], q['ev_corrected']) for q in c.questions],
                         [(['D1:1'], ['D1:3']), (['D2:1', 'D1:2'], ['D1:2', 'D2:1'])])

    def test_unmatched_or_twice_corrected_questions_refused(self):
        for extra in ({'conversation': 't', 'question': 'What did Caroline attend', 'correct_evidence': []},
                      corrections()[0]):
            with self.assertRaises(ValueError, msg=extra):
                locomo.apply_corrections([locomo.Conversation('t', CONV)], corrections() + [extra])
        twice = dict(CONV, qa=CONV['qa'] + CONV['qa'][:1])
        with self.assertRaises(ValueError):
            locomo.apply_corrections([locomo.Conversation('t', twice)], corrections())

    def test_file_shape_checked(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        self.assertEqual(locomo.load_corrections(write_json(d, 'c.json', corrections())), corrections())
        with self.assertRaises(ValueError):
            locomo.load_corrections(write_json(d, 'bad.json', {'conversation': 't'}))

    def test_questions_only_corrected_evidence_asks_come_last(self):
        c = locomo.Conversation('t', CONV)
        # facts hold D1:1, D1:2, D1:3, D2:1: pretend the first question's original evidence is held by none
        c.questions[0]['ev'] = ['D7:7']
        locomo.apply_corrections([c], [dict(corrections()[0], correct_evidence=['D1:3'])])
        c.questions[0]['ev'] = ['D7:7']
        order = bench.ask_order(c, 'facts')
        self.assertEqual([(q['q'], ev) for q, ev in order],
                         [('When did Melanie go camping?',
                           {'original': ['D2:1', 'D1:2'], 'corrected': ['D2:1', 'D1:2']}),
                          ('What did Caroline attend?', {'original': [], 'corrected': ['D1:3']})])
        c.questions[0]['ev_corrected'] = ['D8:8']
        self.assertEqual(len(bench.ask_order(c, 'facts')), 1)  # no evidence any item holds: not asked


def fake_cell(versions, hits, cat, nq=1, tokens=1000, seed=b'', share=None):
    """A cell as run_cell returns it: per version (hit, total) of one
    category, one hit fewer found whole (none below 0), share of the answer
    found."""
    by = {}
    for v, (h, t) in zip(versions, hits):
        by[v] = bench.new_score()
        bench.count(by[v], cat, h, max(h - 1, 0), ['e'] * t, tokens, 0.5, share)
        by[v]['nq'] = nq
        by[v]['tokens'] = tokens * nq
    cell = dict(by=by, tokens_from={'header'}, load='{}', stored=(0, 3), digest=hashlib.sha256(seed),
                digest_more=hashlib.sha256())
    return cell


class TestReport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.a = bench.parse_args([self.tmp, '--budgets', '1500', '--retrieval', 'relevant', '--beam', 'none'])
        self.a.memproxy = 'memproxy'
        self.a.corrections = os.path.join(self.tmp, locomo.CORRECTIONS_FILE)
        self.lc = locomo.Conversation('t', CONV)
        locomo.apply_corrections([self.lc], corrections())
        self.bc = beam.load(write_json(self.tmp, beam.FILE, BEAM), {'7'})[0]
        self.res = {
            ('locomo', 't', 'facts', 'relevant', 1500): fake_cell(['original', 'corrected'], [(3, 4), (1, 4)], 4),
            ('locomo', 't', 'turns', 'relevant', 1500): fake_cell(['original', 'corrected'], [(1, 2), (2, 2)], 2,
                                                                  seed=b'locomo'),
            ('beam', '7', 'turns', 'relevant', 1500): fake_cell(['original'], [(1, 5)], 'summarization', seed=b'beam',
                                                                share=0.25),
        }

    def rows(self, text, title):
        part = text.split('## ' + title + '\n\n', 1)[1].split('\n\n', 1)[0]
        return [[x.strip() for x in ln.strip('|').split('|')] for ln in part.splitlines()]

    def table(self, text, title):
        """The first table under the heading '### title'."""
        lines = text.split('### ' + title + '\n\n', 1)[1].splitlines()
        start = next(i for i, ln in enumerate(lines) if ln.startswith('|'))
        end = next((i for i, ln in enumerate(lines[start:], start) if not ln.startswith('|')), len(lines))
        return [[x.strip() for x in ln.strip('|').split('|')] for ln in lines[start:end]]

    def test_pooled_table_has_a_set_column(self):
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        rows = self.rows(text, 'Pooled')
        self.assertEqual(rows[0][:4], ['set', 'measure', 'retrieval', 'recall @1,500'])
        self.assertEqual([r[:4] for r in rows[2:]],
                         [['locomo original', 'facts', 'relevant', '75.0'],
                          ['locomo corrected', 'facts', 'relevant', '25.0'],
                          ['locomo original', 'turns', 'relevant', '50.0'],
                          ['locomo corrected', 'turns', 'relevant', '100.0'],
                          ['beam', 'turns', 'relevant', '20.0']])
        self.assertEqual(rows[-1][4], '1000')  # mean injected tokens

    def test_whole_items_table_counts_what_reached_whole(self):
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        rows = self.rows(text, 'Pooled, items found whole')
        self.assertEqual([r for r in rows if r[0] == 'beam'], [['beam', 'turns', 'relevant', '0.0']])
        self.assertIn(['locomo original', 'facts', 'relevant', '50.0'], rows)

    def test_per_conversation_category_and_corrections_tables(self):
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        conv = self.rows(text, 'Per conversation')
        self.assertIn(['beam', '7', 'turns', 'relevant', '1', '5', '{}', '0, 3', '20.0'], conv)
        self.assertIn(['locomo corrected', 't', 'facts', 'relevant', '1', '4', '{}', '0, 3', '25.0'], conv)
        cats = self.rows(text, 'Per question category (pooled)')
        beam_cats = [r[3] for r in cats if r[0] == 'beam']
        self.assertEqual(beam_cats, beam.CATEGORIES)
        self.assertIn(['beam', 'turns', 'relevant', 'summarization', '5', '20.0', '25.0'], cats)
        self.assertIn(['locomo original', 'facts', 'relevant', '4 single-hop', '4', '75.0', 'n/a'], cats)
        self.assertEqual(self.rows(text, 'Corrected evidence (LoCoMo)')[2:],
                         [['t', '2', '1'], ['all', '2', '1']])
        self.assertIn('Match rule check (beam turns): 0 of 2', text)

    def test_answer_terms_table_averages_the_judged_questions(self):
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        rows = self.rows(text, 'Answer terms found (mean per question)')
        self.assertEqual(rows[0], ['set', 'measure', 'retrieval', 'questions', '@1,500'])
        self.assertIn(['beam', 'turns', 'relevant', '1', '25.0'], rows)
        self.assertIn(['locomo original', 'facts', 'relevant', '0', 'n/a'], rows)  # none judged

    def test_locomo_digest_ignores_beam_and_corrected_only_questions(self):
        only = {k: v for k, v in self.res.items() if k[0] == 'locomo'}
        with_beam = bench.digest(self.res, 'locomo')
        self.assertEqual(with_beam, bench.digest(only, 'locomo'))
        whole = hashlib.sha256()  # the digest of the report before BEAM: cell digests in key order
        for k in sorted((k[1:] for k in only)):
            whole.update(only[('locomo',) + k]['digest'].digest())
        self.assertEqual(with_beam, whole.hexdigest())
        self.res[('locomo', 't', 'facts', 'relevant', 1500)]['digest_more'].update(b'more')
        self.assertEqual(bench.digest(self.res, 'locomo'), with_beam)
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        self.assertIn('LoCoMo `%s`' % with_beam, text)
        self.assertIn('BEAM `%s`' % bench.digest(self.res, 'beam'), text)

    def test_without_corrections_no_corrected_rows(self):
        res = {k: v for k, v in self.res.items() if k[0] == 'beam'}
        res[('locomo', 't', 'facts', 'relevant', 1500)] = fake_cell(['original'], [(3, 4)], 4)
        text = bench.report(self.a, [('locomo', [locomo.Conversation('t', CONV)]), ('beam', [self.bc])], res, [])
        self.assertEqual([r[0] for r in self.rows(text, 'Pooled')[2:]], ['locomo original', 'beam'])
        self.assertNotIn('## Corrected evidence', text)

    def extra(self):
        """The needles (en, zh) and a MemDaily file run at 300 and 1,500
        tokens, the result of report_extra's input."""
        self.a.budgets = [300, 1500]
        needles = chats.load(bench.Needles, write_json(self.tmp, 'n.json', NEEDLES))
        md = [memdaily.Conversation(memdaily.convert('01_simple_items', MEMDAILY_ITEMS))]
        self.a.extra = {'needles': (self.tmp, True), 'memdaily': (self.tmp, True)}
        res = dict(self.res)
        for b, (en, zh, m) in ((300, (8, 0, 1)), (1500, (9, 1, 2))):
            res[('needles', 'en', 'turns', 'relevant', b)] = fake_cell(['original'], [(en, 10)], 'en', seed=b'en')
            res[('needles', 'zh', 'turns', 'relevant', b)] = fake_cell(['original'], [(zh, 10)], 'zh', seed=b'zh')
            res[('memdaily', '01_simple_items', 'turns', 'relevant', b)] = fake_cell(['original'], [(m, 4)], 'items')
        return [('needles', needles[::-1]), ('memdaily', md)], res

    def test_every_language_and_set_beside_english(self):
        extras, res = self.extra()
        text = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], res, [], {'t': (2, 1)}, (),
                            extras, [])
        needles = self.table(text, 'needles')
        self.assertEqual(needles[0][:7], ['language', 'retrieval', 'questions', 'evidence', '@300', '@1,500',
                                          'vs en @300'])
        self.assertEqual([r[:7] for r in needles[2:]],
                         [['en', 'relevant', '1', '10', '80.0', '90.0', '+0.0'],  # English first
                          ['zh', 'relevant', '1', '10', '0.0', '10.0', '-80.0'],
                          ['all', 'relevant', '2', '20', '40.0', '50.0', '-40.0']])
        md = self.table(text, 'memdaily')
        self.assertEqual(md[0][4:7], ['@300', '@1,500', 'vs en @1,500'])  # --budgets applies to every set
        self.assertEqual([r[:7] for r in md[2:]],
                         [['01_simple_items', 'relevant', '1', '4', '25.0', '50.0', '-40.0'],
                          ['all', 'relevant', '1', '4', '25.0', '50.0', '-40.0']])
        goal = self.table(text, 'Every set at its goal budget, beside English')
        self.assertEqual([r[:5] for r in goal[2:]],
                         [['needles en', 'relevant', '300', '10', '80.0'],
                          ['needles all', 'relevant', '300', '20', '40.0'],
                          ['memdaily', 'relevant', '1,500', '4', '50.0'],
                          ['locomo original (English)', 'relevant', '1,500', '2', '50.0'],
                          ['beam (English)', 'relevant', '1,500', '5', '20.0']])
        self.assertIn('needles `%s`' % bench.digest(res, 'needles'), text)

    def test_locomo_and_beam_report_unchanged_by_the_other_sets(self):
        extras, res = self.extra()
        before = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], self.res, [], {'t': (2, 1)})
        after = bench.report(self.a, [('locomo', [self.lc]), ('beam', [self.bc])], res, ['x failed'],
                             {'t': (2, 1)}, (), extras, ['madial not run: no file.'])
        self.assertTrue(after.startswith(before), after[:len(before) + 200])  # byte for byte, then the new sets
        self.assertIn('madial not run: no file.', after)
        self.assertTrue(after.endswith('## INVALID: failures\n\n- x failed\n'))  # failures stay last

    def test_category_rows_only_when_a_set_has_several(self):
        extras, res = self.extra()
        md = memdaily.convert('01_simple_places', MEMDAILY_ITEMS)
        conv = memdaily.Conversation(md)
        rows = bench.extra_rows('memdaily', extras[1][1] + [conv], res, 'relevant', [300], 'category')
        self.assertEqual([r[0] for r in rows], ['01_simple_items', '01_simple_places', 'category: items',
                                                'category: places', 'all'])
        self.assertEqual([r[0] for r in bench.extra_rows('needles', extras[0][1], res, 'relevant', [300], 'c')],
                         ['en', 'zh', 'all'])

    def test_floors(self):
        self.a.min_facts, self.a.min_turns, self.a.min_beam = 75, 50, 20
        self.assertEqual(bench.goals(self.a, self.res), [])  # the original LoCoMo evidence counts
        self.a.min_facts, self.a.min_beam = 75.1, 20.1
        self.assertEqual(len(bench.goals(self.a, self.res)), 2)


class TestOptions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.env = os.environ.pop('MEMPROXY_BEAM_DIR', None)
        if self.env is not None:
            self.addCleanup(os.environ.__setitem__, 'MEMPROXY_BEAM_DIR', self.env)

    def parse(self, *args):
        with contextlib.redirect_stderr(io.StringIO()):
            return bench.parse_args([self.tmp] + list(args))

    def test_short_is_locomo_30_and_beam_1(self):
        a = self.parse('--short')
        self.assertEqual((a.convs, a.beam_convs, a.budgets), (['30'], ['1'], [1500]))
        self.assertEqual(self.parse('--short', '--beam-convs', '2,3').beam_convs, ['2', '3'])

    def test_other_sets_long_mode_only_unless_named(self):
        a = self.parse()
        self.assertEqual(sorted(a.extra), ['madial', 'memdaily', 'needles'])
        self.assertEqual(a.extra['needles'], (os.path.join(bench.ROOT, 'data', 'ml-dev'), False))
        self.assertEqual((bench.extra_budgets(a, 'needles'), bench.extra_budgets(a, 'memdaily')),
                         ([300, 500, 1500, 3000], [500, 1500, 3000]))
        self.assertEqual(self.parse('--short').extra, {})
        a = self.parse('--short', '--needles', self.tmp, '--needles-langs', 'en,ja')
        self.assertEqual((a.extra, a.needles_langs), ({'needles': (self.tmp, True)}, ['en', 'ja']))
        self.assertEqual(bench.extra_budgets(a, 'needles'), [300])  # --short: the set's goal budget
        self.assertNotIn('memdaily', self.parse('--memdaily', 'none').extra)
        for args in (['--measures', 'facts'], ['--load', 'put']):
            self.assertEqual(self.parse(*args).extra, {}, args)

    def test_other_set_missing_skipped_unless_named(self):
        a = self.parse('--needles', self.tmp, '--memdaily', os.path.join(self.tmp, 'nowhere'))
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            bench.load_extra(a)  # the named MemDaily directory holds no file
        a.extra['memdaily'] = (a.extra['memdaily'][0], False)
        write_json(self.tmp, 'needles-dev.json', NEEDLES)
        a.needles_langs = ['zh']
        with contextlib.redirect_stderr(io.StringIO()):
            sets, notes = bench.load_extra(a)
        self.assertEqual([(ds, [c.id for c in cl]) for ds, cl in sets if ds == 'needles'], [('needles', ['zh'])])
        self.assertTrue(any(n.startswith('memdaily not run: no ') for n in notes))

    def test_beam_skipped_when_asked_or_not_measurable(self):
        for args in (['--beam', 'none'], ['--measures', 'facts'], ['--load', 'put']):
            self.assertIsNone(self.parse(*args).beam, args)
        with self.assertRaises(SystemExit):
            self.parse('--beam', 'none', '--min-beam', '40')
        with self.assertRaises(SystemExit):
            self.parse('--budgets', '500', '--min-beam', '40')

    def test_default_beam_directory_missing_is_skipped_a_named_one_is_an_error(self):
        a = self.parse('--beam', os.path.join(self.tmp, 'nowhere'))
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            bench.load_beam(a)
        a.beam_required = False
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(bench.load_beam(a)[0], [])
        write_json(self.tmp, beam.FILE, BEAM)
        a = self.parse('--beam', self.tmp, '--beam-convs', '8')
        self.assertEqual([c.id for c in bench.load_beam(a)[0]], ['8'])

    def test_corrections_file_is_no_conversation(self):
        write_json(self.tmp, 't.json', CONV)
        write_json(self.tmp, locomo.CORRECTIONS_FILE, corrections())
        a = self.parse()
        self.assertEqual([c for c, _ in bench.find_convs(a)], ['t'])
        self.assertEqual(a.corrections, os.path.join(self.tmp, locomo.CORRECTIONS_FILE))
        self.assertIsNone(self.parse('--corrections', 'none').corrections)
        convs = [locomo.load(p, c) for c, p in bench.find_convs(a)]
        self.assertEqual(bench.load_corrections(a, convs), {'t': (2, 1)})


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
        convs = []
        for name in sorted(f for f in os.listdir(d) if f.endswith('.json') and f != locomo.CORRECTIONS_FILE):
            c = locomo.load(os.path.join(d, name), name[:-5])
            convs.append(c)
            for measure in ('facts', 'turns'):
                self.assertEqual(locomo.validate_ndjson(locomo.ndjson(locomo.import_lines(c, measure))), [],
                                 (name, measure))
        path = os.path.join(d, locomo.CORRECTIONS_FILE)
        if os.path.isfile(path):  # every correction of these conversations names one question
            listed = locomo.apply_corrections(convs, locomo.load_corrections(path))
            self.assertEqual(sum(x[0] for x in listed.values()),
                             sum(str(x['conversation']) in listed for x in locomo.load_corrections(path)))


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

    def test_whole_rule_refuses_a_cut_text(self):
        m = locomo.Matcher([{'value': self.LONG, 'ids': set()}], locomo.WHOLE_TEXT)
        self.assertEqual(m.found(['k: ' + self.LONG[:60] + '\u2026']), [])
        self.assertEqual(m.found(['k: ' + self.LONG + ' (as of 2023-05-08)']), [0])

    def test_short_text_needs_word_boundaries(self):
        m = locomo.Matcher([{'content': 'Mel: Thanks so much, Caroline', 'ids': set()}])
        self.assertEqual(m.found(['Mel: Thanks so much, Carolineee']), [])
        self.assertEqual(m.found(['Pamel: Thanks so much, Caroline']), [])
        self.assertEqual(m.found(['x | Mel: thanks so much, Caroline! | y']), [0])

    def test_tiny_text_must_be_the_whole_part(self):
        m = locomo.Matcher([{'content': 'Gina: ;)', 'ids': set()}])
        self.assertEqual(m.found(['Gina: Hey Jon!']), [])
        self.assertEqual(m.found(['Gina: ;-)']), [0])

    def test_short_message_found_as_a_whole_past_message_of_the_block(self):
        m = locomo.Matcher([{'content': '趣跑购物节的持续时间是八个周。', 'ids': set()},
                            {'content': '好的', 'ids': set()}])
        line = ('[Relevant past conversation]: (2024-04-02, user) 我将要参加趣跑购物节。 | '
                '(user) 趣跑购物节的持续时间是八个周。 | (assistant) 好的，我记住了。')
        self.assertEqual(m.found([line]), [])  # the plain rule: a short text must be the whole line
        self.assertEqual(chats.block_items([line]), ['我将要参加趣跑购物节。', '趣跑购物节的持续时间是八个周。',
                                                     '好的，我记住了。'])
        self.assertEqual(m.found([line] + chats.block_items([line])), [0])  # 好的 is only the start of one
        self.assertEqual(chats.block_items(['k: a | b: c']), [])  # facts are no past messages

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


class FakeEmbeddings(http.server.BaseHTTPRequestHandler):
    """A backend for embedcache.py: each call's vectors carry the call's
    number, so that a vector served twice from the backend would differ;
    fail set: 500."""
    calls = []
    fail = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        FakeEmbeddings.calls.append((self.path, req))
        if FakeEmbeddings.fail:
            body, status = b'{"error": {"message": "down"}}', 500
        else:
            n = len(FakeEmbeddings.calls)
            data = [{'object': 'embedding', 'index': i, 'embedding': [n + 0.125, i / 3.0, -len(t)]}
                    for i, t in enumerate(req['input'])]
            body, status = json.dumps({'object': 'list', 'data': data, 'model': req['model'],
                                       'usage': {'prompt_tokens': 10 * len(data), 'total_tokens': 10 * len(data)}
                                       }).encode(), 200
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TestCompare(unittest.TestCase):
    def test_rows_difference_and_flags(self):
        lex = {('locomo original', 'facts', 'relevant', 'all'): {300: [50, 100], 1500: [90, 100]},
               ('needles', 'turns', 'relevant', 'ko'): {300: [9, 18], 1500: [18, 18]},
               ('beam', 'turns', 'relevant', 'all'): {300: [1, 10]}}
        hyb = {('locomo original', 'facts', 'relevant', 'all'): {300: [60, 100], 1500: [88, 100]},
               ('needles', 'turns', 'relevant', 'ko'): {300: [9, 18], 1500: [18, 18]}}
        rows = bench.compare_rows(lex, hyb, [300, 1500])
        self.assertEqual(rows, [(('locomo original', 'facts', 'relevant', 'all'), 100,
                                 [(300, 50.0, 60.0, 10.0), (1500, 90.0, 88.0, -2.0)]),
                                (('needles', 'turns', 'relevant', 'ko'), 18,
                                 [(300, 50.0, 50.0, 0.0), (1500, 100.0, 100.0, 0.0)])])
        self.assertEqual(bench.flagged(rows), [(('locomo original', 'facts', 'relevant', 'all'), 1500, 90.0, 88.0,
                                                -2.0)])

    def test_per_conversation_cells_flagged(self):
        a = bench.parse_args(['--compare', '--budgets', '300', '--measures', 'turns'])
        chat = argparse.Namespace(id='1')

        def cell(h, cats):
            return {'by': {'original': {'hit': h, 'tot': 4, 'cats': cats}}}
        lex = {('beam', '1', 'turns', 'relevant', 300): cell(3, {'instruction_following': [3, 4]})}
        hyb = {('beam', '1', 'turns', 'relevant', 300): cell(3, {'instruction_following': [2, 4], 'summarization': [1, 1]})}
        rows = bench.compare_rows(bench.conv_slices(a, [('beam', [chat])], lex),
                                  bench.conv_slices(a, [('beam', [chat])], hyb), [300])
        self.assertEqual(bench.flagged(rows), [(('beam', 'turns', 'relevant', 'conversation 1: instruction_following'),
                                                300, 75.0, 50.0, -25.0)])

    def test_embeddings_config_only_when_on(self):
        a = bench.parse_args(['--budgets', '300'])
        self.assertEqual((a.embeddings, a.compare, a.retrievals), ('none', False, ['recent', 'relevant']))
        procs = bench.Procs(a, '/tmp', 'entity', 300, 'relevant')
        procs.fake_port, procs.port, procs.admin_port = 1, 2, 3
        self.assertNotIn('[embeddings]', procs.config())
        a = bench.parse_args(['--compare'])
        self.assertEqual((a.budgets, a.retrievals), ([300, 500, 1500], ['relevant']))
        a.embed_url = 'http://127.0.0.1:9/v1'
        procs = bench.Procs(a, '/tmp', 'entity', 300, 'relevant')
        procs.fake_port, procs.port, procs.admin_port = 1, 2, 3
        self.assertIn('[embeddings]\nbase_url = http://127.0.0.1:9/v1\nmodel = multilingual-e5-small-q4\n'
                      'input_type_field = input_type\ntimeout_ms = 5000\nbatch_items = 4\n', procs.config())


class TestEmbedCache(unittest.TestCase):
    """tests/bench/recall/embedcache.py as bench.py runs it (a process
    printing its port), in front of a fake backend (--upstream)."""

    def setUp(self):
        FakeEmbeddings.calls, FakeEmbeddings.fail = [], False
        self.backend = http.server.ThreadingHTTPServer(('127.0.0.1', 0), FakeEmbeddings)
        threading.Thread(target=self.backend.serve_forever, daemon=True).start()
        self.tmp = tempfile.mkdtemp(prefix='embedcache-test-')
        self.cache = os.path.join(self.tmp, 'cache.sqlite')
        self.proc = self.start()

    def start(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'embedcache.py'), '--cache', self.cache,
                                 '--batch', '2', '--upstream',
                                 'http://127.0.0.1:%d/v1' % self.backend.server_address[1]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stdout.readline().decode().split()
        self.assertEqual(line[0], 'PORT')
        self.port = int(line[1])
        return proc

    def stop(self):
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err.decode()

    def tearDown(self):
        if self.proc.poll() is None:
            self.stop()
        self.backend.shutdown()
        self.backend.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def post(self, texts, input_type='passage', model='m-small'):
        body = {'model': model, 'input': texts}
        if input_type is not None:
            body['input_type'] = input_type
        return bench.request(self.port, 'POST', '/v1/embeddings', json.dumps(body).encode(),
                             {'Content-Type': 'application/json'})

    def test_miss_goes_to_the_backend_a_hit_gives_the_same_bytes(self):
        st, first = self.post(['a beagle', 'a cat', 'a beagle', 'a hamster'])
        self.assertEqual(st, 200)
        # the three distinct misses, deduplicated, in batches of --batch 2, with model and type
        self.assertEqual([(p, r['model'], r['input_type'], r['input']) for p, r in FakeEmbeddings.calls],
                         [('/v1/embeddings', 'm-small', 'passage', ['a beagle', 'a cat']),
                          ('/v1/embeddings', 'm-small', 'passage', ['a hamster'])])
        ans = json.loads(first)
        self.assertEqual([d['index'] for d in ans['data']], [0, 1, 2, 3])
        self.assertEqual(ans['data'][0]['embedding'], ans['data'][2]['embedding'])
        self.assertEqual(ans['data'][3]['embedding'], [2.125, 0.0, -9.0])
        self.assertEqual(ans['usage']['prompt_tokens'], 12 + 8 + 12 + 10)  # a batch's 20 tokens split 8:5 by bytes
        st, again = self.post(['a beagle', 'a cat', 'a beagle', 'a hamster'])
        self.assertEqual((st, again), (200, first))
        self.assertEqual(len(FakeEmbeddings.calls), 2)
        # a mixed request sends its miss only; the hits keep their bytes
        st, mixed = self.post(['a cat', 'a parrot'])
        self.assertEqual(FakeEmbeddings.calls[-1][1]['input'], ['a parrot'])
        self.assertEqual(json.loads(mixed)['data'][0]['embedding'], ans['data'][1]['embedding'])

    def test_key_is_model_type_and_exact_text(self):
        self.post(['a beagle'])
        for texts, itype, model in ((['a beagle'], 'query', 'm-small'), (['a beagle'], 'passage', 'm-large'),
                                    (['a Beagle'], 'passage', 'm-small'), (['a beagle'], None, 'm-small')):
            n = len(FakeEmbeddings.calls)
            self.assertEqual(self.post(texts, itype, model)[0], 200)
            self.assertEqual(len(FakeEmbeddings.calls), n + 1, (texts, itype, model))
        self.assertNotIn('input_type', FakeEmbeddings.calls[-1][1])

    def test_cache_persists_across_runs_and_exit_says_hits_and_misses(self):
        _, first = self.post(['a beagle'])
        self.post(['a beagle'])
        self.assertIn('1 hits, 1 misses (1 backend calls', self.stop())
        self.proc = self.start()
        self.assertEqual(self.post(['a beagle']), (200, first))
        self.assertEqual(len(FakeEmbeddings.calls), 1)

    def test_backend_failure_is_a_502_and_nothing_is_cached(self):
        FakeEmbeddings.fail = True
        st, body = self.post(['a beagle'])
        self.assertEqual(st, 502)
        self.assertIn('backend', json.loads(body)['error']['message'])
        FakeEmbeddings.fail = False
        self.assertEqual(self.post(['a beagle'])[0], 200)
        self.assertEqual(len(FakeEmbeddings.calls), 2)

    def test_bad_requests_refused(self):
        for body in (b'not json', b'{"input": ["x"]}', b'{"model": "m", "input": []}',
                     b'{"model": "m", "input": [1, 2]}', b'{"model": "m", "input": "x", "input_type": 3}'):
            st, _ = bench.request(self.port, 'POST', '/v1/embeddings', body, {'Content-Type': 'application/json'})
            self.assertEqual(st, 400, body)
        self.assertEqual(FakeEmbeddings.calls, [])


if __name__ == '__main__':
    unittest.main()
