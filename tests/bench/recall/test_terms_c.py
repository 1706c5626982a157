"""The Python port of core/recall/terms.c and lang.c (reference/terms_c.py) against the C, word
for word: each line of terms-fixture.txt (every script and rule: apostrophes, elision, digits,
NFKC forms, tashkeel, Han and Kana by dictionary with inner bigrams, Hangul bigrams, Thai, Lao,
Khmer and Burmese by ICU, long words and runs, the stop lists, language identification) is
read by tests/bench/terms_dump (the C) and by terms_c.dump(); the language and every (position,
word, term) must be the same. Also: the English stop list terms.c compiles is reference/
stopwords.txt (what the port reads), a changed Han method is caught, and to_locomo.py's
conversion reads back through data.py.

Usage: test_terms_c.py TERMS_DUMP   (meson passes build/tests/bench/terms_dump).
Needs Debian's python3-icu and python3-stemmer (reference/terms_c.py).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(HERE, 'reference'))
try:
    import terms_c  # noqa: E402
except ImportError as e:  # the port's libraries: a setup error, said plainly
    sys.exit('test_terms_c.py: %s; install python3-icu and python3-stemmer '
             '(scripts/install-deps.sh --test)' % e)
import data  # noqa: E402
import to_locomo  # noqa: E402
import verify_terms  # noqa: E402

DUMP = None  # the C tool, from the command line
FIXTURE = os.path.join(HERE, 'terms-fixture.txt')


def fixture():
    with open(FIXTURE, encoding='utf-8') as f:
        return [ln.rstrip('\n') for ln in f if not ln.startswith('#')]


def c_dump(lines, *opts):
    out = subprocess.run([DUMP, *opts], input=''.join(ln + '\n' for ln in lines).encode('utf-8'),
                         stdout=subprocess.PIPE, check=True).stdout
    return out.decode('utf-8').splitlines()


class Agreement(unittest.TestCase):
    def assert_same(self, lines):
        c, py = c_dump(lines), terms_c.dump(lines)
        for k, (a, b) in enumerate(zip(c, py)):
            n = int(a.split(' ', 1)[0])
            self.assertEqual(a, b, 'line %d of the fixture (%r): C %r, Python %r (dump line %d)'
                             % (n, lines[n][:60], a, b, k))
        self.assertEqual(len(c), len(py), 'C and Python give a different number of words')

    def test_fixture_word_for_word(self):
        self.assert_same(fixture())

    def test_fixture_as_questions(self):
        """relevance_words.c's question (verify_terms.question_words, parse_raw): the words that
        make groups with their surface forms, date terms, temporal flag, time expressions."""
        lines = fixture() + ['When did Caroline go to the LGBTQ support group in May 2023?',
                             'How long has she lived in Leipzig? what year; since when',
                             'may I ask what the 1999 july trip cost?', 'WHEN was it',
                             ' '.join('z' + a + b for a in 'abcdefghij' for b in 'abcdefgh')]
        c, py = c_dump(lines, '-q'), verify_terms.question_dump(lines)
        for a, b in zip(c, py):
            self.assertEqual(a, b)
        self.assertEqual(len(c), len(py))
        n = len(fixture())
        self.assertIn('%d dates @may @2023 temporal 1 timex 1' % n, c)  # exercised: a date, "when"
        self.assertIn('%d dates temporal 1 timex 1' % (n + 1), c)  # "how long"
        self.assertIn('%d dates @1999 temporal 0 timex 1' % (n + 2), c)  # "may", "july": no capital
        self.assertIn('%d dates temporal 1 timex 0' % (n + 3), c)  # "WHEN"
        self.assertEqual(sum(ln.startswith('%d q ' % (n + 4)) for ln in c), 64)  # 80 words, 64 groups

    def test_fixture_covers_every_path(self):
        """What the fixture must exercise, read from the C's own output, so that agreement on
        it means agreement on each rule."""
        out = '\n'.join(c_dump(fixture()))
        langs = set(re.findall(r'^\d+ lang (\S+)$', out, re.M))
        self.assertTrue({'en', 'de', 'fr', 'it', 'tr', 'es', 'pt', 'da', 'nl', 'fi', 'hu', 'sv', 'no',
                         'ru', 'ar', 'hi', 'el', 'zh', 'ja', 'ko', 'th', 'he'} <= langs, langs)
        for word, term in [('杭州市', '杭州市'), ('杭州', '杭州'), ('州市', '州市'),  # inner bigrams
                           ('대전', '대전'), ('2023', '2023'), ('年', '年'), ('iphone', 'iphon'),
                           ("caroline's", 'carolin'), ('3.50', '3.50'), ('strassencafé', 'strassencafé'),
                           ('abc', 'abc'), ("l'hôtel", 'hôtel'), ("ayşe'nin", 'ayşe')]:
            self.assertTrue(re.search(r'(?m)^\d+ \d+ %s %s$' % (re.escape(word), re.escape(term)), out),
                            'no word %s with term %s' % (word, term))
        self.assertTrue(re.search(r'(?m)^\d+ \d+ the -$', out), 'no stop word')
        self.assertTrue(re.search(r'(?m)^\d+ \d+ [\u0E00-\u0E7F]+ [\u0E00-\u0E7F]+$', out), 'no Thai word')

    def test_english_stop_list_is_the_references(self):
        with open(os.path.join(terms_c.STOP_DIR, 'english.txt'), encoding='utf-8') as f:
            words = {ln.split('|')[0].strip() for ln in f}
        self.assertEqual(words - {''}, terms_c.EN_STOP)

    def test_every_stop_word_agrees(self):
        """Each language's stop list, one line each (read as that language or another: the
        two must agree either way)."""
        lines = [' '.join(sorted(terms_c.EN_STOP))]
        for f in sorted(os.listdir(terms_c.STOP_DIR)):
            if f.endswith('.txt'):
                with open(os.path.join(terms_c.STOP_DIR, f), encoding='utf-8') as fh:
                    ws = [ln.split('|')[0].strip() for ln in fh]
                lines.append(' '.join(w for w in ws if w))
        self.assert_same(lines)

    def test_a_changed_han_method_is_caught(self):
        """Lucene's overlapping bigrams in place of the dictionary words (one function): the
        comparison must fail on the fixture."""
        saved = terms_c.cjk_terms
        terms_c.cjk_terms = lambda s, lang=None: terms_c.bigrams([ord(c) for c in s])
        try:
            with self.assertRaises(AssertionError):
                self.assert_same(fixture())
        finally:
            terms_c.cjk_terms = saved


class ToLocomo(unittest.TestCase):
    """A plain-shape chat in LoCoMo's shape, as data.py (and locomo_check) read it back."""

    def test_sessions_by_day_and_evidence(self):
        chat = dict(id='x', turns=[
            dict(id='a', role='user', content='Ich war in Leipzig.', at='2025-02-03T18:22:00Z'),
            dict(id='b', role='assistant', content='Schön!', at='2025-02-03T23:59:00Z'),
            dict(id='c', role='user', content='我在杭州市。', at='2025-02-04T00:01:00+00:00'),
            dict(id='d', role='user', content='Back home.', at='2025-03-01T00:00:00Z')],
            questions=[dict(q='Wo war ich?', evidence=['a', 'c', 'gone'], category='de')])
        d = to_locomo.convert(chat)
        self.assertEqual(d['session_1_date_time'], '6:22 pm on 3 February, 2025')
        self.assertEqual(d['session_3_date_time'], '12:00 am on 1 March, 2025')
        self.assertEqual([t['dia_id'] for t in d['session_1']], ['D1:1', 'D1:2'])
        self.assertEqual(d['session_1'][1]['speaker'], 'Assistant')
        self.assertEqual(d['qa'], [dict(question='Wo war ich?', category=1, evidence=['D1:1', 'D2:1', 'gone'])])
        with tempfile.NamedTemporaryFile('w', suffix='.json', encoding='utf-8') as f:
            json.dump(d, f, ensure_ascii=False)
            f.flush()
            c = data.load(None, path=f.name)
        self.assertEqual([(t['session'], t['content'], t['key']) for t in c['turns']],
                         [(1, 'Ich war in Leipzig.', 'User'), (1, 'Schön!', 'Assistant'),
                          (2, '我在杭州市。', 'User'), (3, 'Back home.', 'User')])
        self.assertEqual(c['qs'][0]['ev'], ['D1:1', 'D2:1'])
        self.assertEqual(c['turns'][2]['time'].strftime('%Y-%m-%d %H:%M'), '2025-02-04 00:01')


if __name__ == '__main__':
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        print('usage: test_terms_c.py TERMS_DUMP', file=sys.stderr)
        sys.exit(2)
    DUMP = sys.argv.pop(1)
    unittest.main()
