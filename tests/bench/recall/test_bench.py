"""Unit tests of the recall benchmark's own code (locomo.py, beam.py,
beam_ranks.py, bench.py's pure parts, its report and its import client), offline: a
hand-written LoCoMo conversation and BEAM file, the audit's corrections, and
a stub of the import endpoint. With MEMPROXY_LOCOMO_DIR / MEMPROXY_BEAM_DIR
set, the import bodies of the real conversations are validated too. Python 3
standard library only.
"""

import argparse
import contextlib
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
