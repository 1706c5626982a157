"""Unit tests of the cross-language recall bench (xlang.py) and of its set
(xlang/L.json), offline: the committed files' shape, a hand-written needles
fixture against which validate() must catch every kind of mismatch, the
questions each archive is asked, and the report's figures, gap and goal
from made-up cells. With ml-dev's needles at $MEMPROXY_ML_DEV (else
data/ml-dev/needles-dev.json) the committed set is checked against them too.
Python 3 standard library only.
"""

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xlang  # noqa: E402

LANGS = ['ar', 'de', 'es', 'fr', 'hi', 'it', 'ja', 'ko', 'pt', 'ru', 'tr', 'zh']
NO_DICT = {'zh', 'ko'}


def q(text, ev):
    return {'q': text, 'evidence': ev, 'category': 'x'}


def turns(lang, n):
    return [{'id': '%s-%d' % (lang, i), 'role': 'user', 'content': 'message %d of %s' % (i, lang),
             'at': '2025-01-%02dT10:00:00Z' % i} for i in range(1, n + 1)]


ML = {'en': {'id': 'en', 'lang': 'en', 'turns': turns('en', 4),
             'questions': [q('Where did Jess move to?', ['en-1']), q('What is the plumber day?', ['en-2', 'en-3'])]},
      'xx': {'id': 'xx', 'lang': 'xx', 'turns': turns('xx', 4),
             'questions': [q('Wo wohnt Jess?', ['xx-1']), q('Wann kommt der Klempner?', ['xx-4'])]}}

SET = {'xx': {'set': 'xlang-dev', 'lang': 'xx', 'dictionaries': ['dict-freedict-xx-eng'],
              'to_en': [{'q': 'Where does Jess live?', 'source': 'Wo wohnt Jess?', 'evidence': ['xx-1']},
                        {'q': 'When is the plumber coming?', 'source': 'Wann kommt der Klempner?',
                         'evidence': ['xx-4']}],
              'from_en': [{'q': 'Wohin ist Jess gezogen?', 'source': 'Where did Jess move to?',
                           'evidence': ['en-1']},
                          {'q': 'Welcher Tag, Klempner?', 'source': 'What is the plumber day?',
                           'evidence': ['en-2', 'en-3']}]}}


def cell(cats):
    """A made-up cell of bench.run_cell: {category: [hits, evidence]}."""
    return {'by': {'original': {'cats': {k: list(v) for k, v in cats.items()}}}, 'digest': hashlib.sha256(b'x')}


class TestCommittedSet(unittest.TestCase):
    def setUp(self):
        self.files = xlang.load_set(xlang.DEFAULT_SET)

    def test_every_language_of_the_needles_but_english(self):
        self.assertEqual(sorted(self.files), LANGS)

    def test_shape(self):
        en_sources = None
        for lang, f in self.files.items():
            self.assertEqual(f['lang'], lang)
            self.assertEqual(f['set'], 'xlang-dev')
            self.assertEqual(len(f['to_en']), 15, lang)
            self.assertEqual(len(f['from_en']), 15, lang)
            for key, prefix in (('to_en', lang + '-'), ('from_en', 'en-')):
                for x in f[key]:
                    self.assertTrue(x['q'].strip() and x['q'] != x['source'], (lang, x))
                    self.assertTrue(x['evidence'] and all(e.startswith(prefix) for e in x['evidence']), (lang, x))
                self.assertEqual(len({x['q'] for x in f[key]}), 15, (lang, key))
            srcs = [x['source'] for x in f['from_en']]
            if en_sources is None:
                en_sources = srcs
            self.assertEqual(srcs, en_sources, '%s.json: from_en are not the English questions' % lang)

    def test_dictionaries(self):
        for lang, f in self.files.items():
            self.assertEqual(bool(f['dictionaries']), lang not in NO_DICT, lang)
            for d in f['dictionaries']:
                self.assertRegex(d, r'^dict-freedict-[a-z]{3}-[a-z]{3}$')

    def test_to_en_is_english_and_from_en_is_not(self):
        """Questions asked in English hold an English question word; those
        asked in a non-Latin language hold its script."""
        scripts = {'ru': r'[\u0400-\u04ff]', 'ar': r'[\u0600-\u06ff]', 'hi': r'[\u0900-\u097f]',
                   'ja': r'[\u3040-\u30ff\u4e00-\u9fff]', 'zh': r'[\u4e00-\u9fff]', 'ko': r'[\uac00-\ud7af]'}
        for lang, f in self.files.items():
            for x in f['to_en']:
                self.assertRegex(x['q'], r'\b(?i:what|which|where|when|who|whose|how|is)\b.*\?$', (lang, x['q']))
            if lang in scripts:
                for x in f['from_en']:
                    self.assertRegex(x['q'], scripts[lang], (lang, x['q']))

    def test_against_ml_dev_when_there(self):
        path = os.environ.get('MEMPROXY_ML_DEV') or os.path.join(xlang.ROOT, xlang.DEFAULT_ML)
        if not os.path.isfile(path):
            self.skipTest('no ml-dev needles at %s' % path)
        self.assertEqual(xlang.validate(xlang.load_ml(path), self.files), [])


class TestValidate(unittest.TestCase):
    def test_fixture_fits(self):
        self.assertEqual(xlang.validate(ML, SET), [])

    def complaint(self, edit):
        s = copy.deepcopy(SET)
        edit(s['xx'])
        errs = xlang.validate(ML, s)
        self.assertEqual(len(errs), 1, errs)
        return errs[0]

    def test_source_changed(self):
        self.assertIn('source', self.complaint(lambda f: f['to_en'][1].update(source='Wann kommt er?')))

    def test_evidence_changed(self):
        self.assertIn('evidence', self.complaint(lambda f: f['from_en'][1].update(evidence=['en-2'])))

    def test_question_count(self):
        self.assertIn('holds 1 questions', self.complaint(lambda f: f['to_en'].pop()))

    def test_question_is_its_source(self):
        self.assertIn('no question of its own',
                      self.complaint(lambda f: f['from_en'][0].update(q='Where did Jess move to?')))

    def test_wrong_lang(self):
        self.assertIn('"lang"', self.complaint(lambda f: f.update(lang='yy')))

    def test_language_not_in_the_needles(self):
        s = copy.deepcopy(SET)
        s['yy'] = dict(s['xx'], lang='yy')
        self.assertEqual(len(xlang.validate(ML, s)), 1)

    def test_load_set_names_missing_language(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'xx.json'), 'w') as f:
                json.dump(SET['xx'], f)
            self.assertEqual(sorted(xlang.load_set(d)), ['xx'])
            with self.assertRaises(ValueError):
                xlang.load_set(d, ['xx', 'yy'])


class TestArchives(unittest.TestCase):
    def test_questions_asked_of_each_archive(self):
        arch = dict(xlang.archives(ML, SET, ['xx']))
        self.assertEqual(list(arch), ['xx', 'en'])
        self.assertEqual([(x['q'], x['category']) for x in arch['xx']['questions']],
                         [('Wo wohnt Jess?', 'same#0'), ('Wann kommt der Klempner?', 'same#1'),
                          ('Where does Jess live?', 'en#0'), ('When is the plumber coming?', 'en#1')])
        self.assertEqual([(x['q'], x['category']) for x in arch['en']['questions']],
                         [('Where did Jess move to?', 'same#0'), ('What is the plumber day?', 'same#1'),
                          ('Wohin ist Jess gezogen?', 'xx#0'), ('Welcher Tag, Klempner?', 'xx#1')])
        self.assertEqual(arch['en']['questions'][3]['evidence'], ['en-2', 'en-3'])
        self.assertIs(arch['xx']['turns'], ML['xx']['turns'])
        conv = xlang.XConv(arch['en'])  # the benchmark's conversation takes it
        self.assertEqual(conv.user, 'xlang-en')
        self.assertEqual(len(conv.questions), 4)


class TestReport(unittest.TestCase):
    def args(self, budgets=(300, 1500)):
        return argparse.Namespace(budgets=list(budgets), langs=['xx', 'zz'], memproxy='/nonexistent/memproxy',
                                  ml='ml.json', set='/elsewhere/xlang', retrieval='relevant', record_last=0,
                                  misses=True)

    def res(self):
        # xx: en->xx 1/2 of 2/2 at 1,500 (gap 50), xx->en 3/3 of 3/3 (gap 0);
        # zz (no dictionary): en->zz 0/2, zz->en 2/3.
        r = {}
        for b in (300, 1500):
            r[('xx', b)] = cell({'same#0': [1, 1], 'same#1': [1, 1], 'en#0': [1, 1], 'en#1': [0, 1]})
            r[('zz', b)] = cell({'same#0': [2, 2], 'en#0': [0, 2]})
            r[('en', b)] = cell({'same#0': [1, 1], 'same#1': [2, 2], 'xx#0': [1, 1], 'xx#1': [2, 2],
                                 'zz#0': [0, 1], 'zz#1': [2, 2]})
        r[('xx', 300)]['by']['original']['cats']['same#1'] = [0, 1]
        return r

    FILES = {'xx': {'dictionaries': ['dict-freedict-xx-eng']}, 'zz': {'dictionaries': []}}

    def test_pairs_and_gaps(self):
        rows = {r[0]: r for r in xlang.pairs(self.res(), ['xx', 'zz'], [300, 1500], self.FILES)}
        self.assertEqual(list(rows), ['en→xx', 'xx→en', 'en→zz', 'zz→en'])
        name, ql, ml, has, same, cross = rows['en→xx']
        self.assertEqual((ql, ml, has), ('en', 'xx', True))
        self.assertEqual(same, {300: [1, 2], 1500: [2, 2]})
        self.assertEqual(cross[1500], [1, 2])
        self.assertAlmostEqual(xlang.gap(same, cross), 50.0)
        self.assertEqual(xlang.verdict(True, 50.0), 'missed')
        self.assertEqual(xlang.verdict(True, xlang.gap(rows['xx→en'][4], rows['xx→en'][5])), 'met')
        self.assertEqual(xlang.verdict(False, 10.0), 'no dictionary')
        self.assertEqual(xlang.verdict(True, 15.0), 'met')
        self.assertEqual(xlang.verdict(True, 15.1), 'missed')

    def test_report(self):
        text = xlang.report(self.args(), self.FILES, self.res(), xlang.archives(
            {'en': ML['en'], 'xx': ML['xx'], 'zz': {'questions': [q('z?', ['zz-1'])], 'turns': []}},
            dict(SET, zz={'to_en': [{'q': 'Z?', 'evidence': ['zz-1']}],
                          'from_en': [{'q': 'Zwei?', 'evidence': ['en-1']}, {'q': 'Zz?', 'evidence': ['en-2']}]}),
            ['xx', 'zz']), [], 1.0)
        self.assertIn('| en→xx | yes | 50.0 / 100.0 | 50.0 / 50.0 | 50.0 | missed |', text)
        self.assertIn('| xx→en | yes | 100.0 / 100.0 | 100.0 / 100.0 | 0.0 | met |', text)
        self.assertIn('| en→zz | none | 100.0 / 100.0 | 0.0 / 0.0 | 100.0 | no dictionary |', text)
        self.assertIn('| zz→en | none | 100.0 / 100.0 | 66.7 / 66.7 | 33.3 | no dictionary |', text)
        # pooled over the dictionary pairs only: same 4/5, 5/5; cross 4/5, 4/5
        self.assertIn('| every pair with a dictionary (pooled) | | 80.0 / 100.0 | 80.0 / 80.0 | 20.0 | |', text)
        self.assertIn('Goal: 1 of 2 pairs with a dictionary within 15 points at 1,500 tokens (missed: en→xx).',
                      text)
        self.assertIn('- en→xx: When is the plumber coming? (0/1)', text)
        self.assertIn('- en→zz: Z? (0/2)', text)
        self.assertNotIn('Where does Jess live?', text.split('## Cross-language')[1])

    def test_baseline(self):
        a = self.args()
        a.baseline, a.misses = '/base', False
        base = self.res()
        base[('xx', 1500)]['by']['original']['cats']['en#1'] = [0, 1]  # the same
        base[('en', 1500)]['by']['original']['cats']['same#0'] = [0, 1]  # same-language moves: 2/3 then
        base[('xx', 300)]['by']['original']['cats']['en#0'] = [0, 1]  # cross gains 50 at 300
        text = xlang.report(a, self.FILES, self.res(), [], [], 1.0, base)
        self.assertIn('| en→xx | 0.0 / 0.0 | +50.0 / 0.0 | 50.0 → 50.0 |', text)
        self.assertIn('| xx→en | 0.0 / +33.3 | 0.0 / 0.0 | 100.0 → 100.0 |', text)
        self.assertIn('Same-language: moved more than 0.5 point in xx→en, zz→en.', text)
        text = xlang.report(a, self.FILES, self.res(), [], [], 1.0, self.res())
        self.assertIn('(the same bodies as this build\'s)', text)
        self.assertIn('Same-language: within 0.5 point of the baseline in every pair and budget.', text)

    def test_compare(self):
        hyb = self.res()
        hyb[('xx', 1500)]['by']['original']['cats']['en#1'] = [1, 1]  # en->xx gains its miss at 1,500
        hyb[('en', 300)]['by']['original']['cats']['zz#1'] = [0, 2]  # zz->en loses 2 at 300
        orig, xlang.version = xlang.version, lambda a: 'v'
        try:
            text = xlang.compare_report(self.args(), self.FILES, {'lexical': (self.res(), []), 'hybrid': (hyb, [])},
                                        '/tmp/x')
        finally:
            xlang.version = orig
        self.assertIn('| en→xx | yes | cross-language | 50.0 | 50.0 | 0.0 | 50.0 | 100.0 | +50.0 | 50.0 → 0.0 | met |',
                      text)
        self.assertIn('| zz→en | none | cross-language | 66.7 | 0.0 | **-66.7** | 66.7 | 66.7 | 0.0 | 33.3 → 33.3 | '
                      'missed |', text)
        self.assertIn('| every pair without one (pooled) | | cross-language | 40.0 | 0.0 | -40.0 |', text)
        self.assertIn('Goal: 2 of 4 pairs within 10 points of same-language at 1,500 tokens (hybrid).', text)
        self.assertIn('- zz→en cross-language @300: lexical 66.7, hybrid 0.0 (-66.7)', text)

    def test_goal_not_judged_without_1500(self):
        res = {k: v for k, v in self.res().items() if k[1] == 300}
        text = xlang.report(self.args((300,)), self.FILES, res, [], [], 1.0)
        self.assertIn('Goal not judged', text)
        self.assertIn('| en→xx | yes | 50.0 | 50.0 | n/a | n/a |', text)


class TestArgs(unittest.TestCase):
    def test_short_and_defaults(self):
        a = xlang.parse_args(['--short', '--build', '/b'])
        self.assertEqual(a.langs, xlang.SHORT_LANGS)
        self.assertEqual(a.budgets, [300, 500, 1500])
        self.assertEqual((a.load, a.retrievals, a.postgres), ('import', ['relevant'], None))
        a = xlang.parse_args(['--langs', 'fr', '--budgets', '1500'])
        self.assertEqual((a.langs, a.budgets), (['fr'], [1500]))
        self.assertTrue(all(x in LANGS for x in xlang.SHORT_LANGS))
        self.assertTrue(re.search(r'xlang$', xlang.DEFAULT_SET))


if __name__ == '__main__':
    unittest.main()
