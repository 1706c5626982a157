"""Tests of the relevance lexicon's generator (reference/gen_wordnet.py) and of the committed
tables: the generator on a WordNet-format fixture (wordnet-fixture/: a few synsets with
pointers and sense counts), recall.py's loader, and that reference/lexicon.tsv and
core/recall/relevance_lex.c are exactly what the generators write from /usr/share/wordnet
(skipped, saying so, when wordnet-base is not installed). Needs Debian's
python3-snowballstemmer (recall.py's stemmer).
"""

import io
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, 'reference')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FIXTURE = os.path.join(HERE, 'wordnet-fixture')
WORDNET = os.environ.get('MEMPROXY_WORDNET_DIR', '/usr/share/wordnet')
sys.path.insert(0, REF)
import gen_wordnet  # noqa: E402
import recall  # noqa: E402

# Kind weights for the fixture, apart from the chosen ones so the test does not move with them.
W = dict(syn=1.0, hypo=0.6, hyper=0.0, deriv=0.4)


class Generator(unittest.TestCase):
    def test_relations_and_weights(self):
        lex = gen_wordnet.build(FIXTURE, W, min_share=0.1, cap=12, target_share=None)
        # dog: sense 1 (40 tags, f = 1): hyponym puppy 0.6, derivation (dog -> shadow, its
        # own lexical pointer) 0.4, domestic_dog (two words) dropped; sense 2 (10 tags,
        # f = 0.25): synonym hound; sense 3 (1 tag, under a tenth of 40): frank dropped.
        self.assertEqual(lex['dog'], [('hound', 25), ('puppi', 60), ('shadow', 40)])
        # animal: synonym beast, hyponym dog (not domestic_dog); no hypernyms
        self.assertEqual(lex['anim'], [('beast', 100), ('dog', 60)])
        self.assertEqual(lex['hound'], [('dog', 100)])
        # puppy has only a hypernym (off); beast, tail, shadow have no sense counts
        for h in ('puppi', 'beast', 'tail', 'shadow', 'frank'):
            self.assertNotIn(h, lex)

    def test_hypernyms_when_weighted(self):
        lex = gen_wordnet.build(FIXTURE, dict(W, hyper=0.5), min_share=0.1, cap=12, target_share=None)
        self.assertEqual(lex['dog'], [('anim', 50), ('beast', 50), ('hound', 25),
                                      ('puppi', 60), ('shadow', 40)])
        self.assertEqual(lex['puppi'], [('dog', 50)])

    def test_min_share_keeps_rarer_senses(self):
        lex = gen_wordnet.build(FIXTURE, W, min_share=0.0, cap=12, target_share=None)
        self.assertIn(('frank', 2), lex['dog'])  # 1 / 40 of the weight, rounded up to 2 / 100

    def test_target_share_weighs_the_target_word_sense(self):
        # hound -> dog through dog's sense 2 (10 of its best 40 tags): * 0.25; dog -> hound
        # through hound's only tagged sense: unchanged; beast, shadow: untagged, one sense each
        lex = gen_wordnet.build(FIXTURE, W, min_share=0.1, cap=12, target_share=0.1)
        self.assertEqual(lex['hound'], [('dog', 25)])
        self.assertEqual(lex['dog'], [('hound', 25), ('puppi', 60), ('shadow', 40)])
        self.assertEqual(lex['anim'], [('beast', 100), ('dog', 60)])
        # over 0.25: hound -> dog is dropped, and hound has nothing left
        self.assertNotIn('hound', gen_wordnet.build(FIXTURE, W, 0.1, 12, target_share=0.3))

    def test_cap_keeps_the_heaviest(self):
        lex = gen_wordnet.build(FIXTURE, W, min_share=0.1, cap=2, target_share=None)
        self.assertEqual(lex['dog'], [('puppi', 60), ('shadow', 40)])

    def test_kind_off(self):
        lex = gen_wordnet.build(FIXTURE, dict(W, hypo=0.0, deriv=0.0), min_share=0.1, cap=12, target_share=None)
        self.assertEqual(lex['dog'], [('hound', 25)])
        self.assertEqual(lex['anim'], [('beast', 100)])

    def test_written_file_loads_back(self):
        lex = gen_wordnet.build(FIXTURE, W, min_share=0.1, cap=12, target_share=None)
        out = io.StringIO()
        gen_wordnet.write(lex, out)
        with tempfile.NamedTemporaryFile('w', suffix='.tsv', delete=False) as f:
            f.write(out.getvalue())
        try:
            self.assertEqual(recall.load_lexicon(f.name), lex)
        finally:
            os.unlink(f.name)
        self.assertIn('dog\thound:25 puppi:60 shadow:40\n', out.getvalue())


class Committed(unittest.TestCase):
    def generated(self, script, *args):
        return subprocess.run([sys.executable, script, *args], cwd=REF, check=True,
                              capture_output=True, text=True).stdout

    def test_lexicon_tsv_is_what_its_command_writes(self):
        """lexicon.tsv's first line is the gen_wordnet.py command that wrote it: run again,
        it writes the same bytes."""
        with open(os.path.join(REF, 'lexicon.tsv'), encoding='utf-8') as f:
            committed = f.read()
        first = committed.split('\n', 1)[0].split()
        self.assertEqual(first[:2], ['#', 'gen_wordnet.py'])
        args = first[2:]
        if '--handwritten' not in args and not os.path.exists(os.path.join(WORDNET, 'cntlist.rev')):
            self.skipTest('no WordNet in %s (Debian wordnet-base): the committed lexicon.tsv '
                          'is not compared' % WORDNET)
        if '--handwritten' not in args:
            args = ['--wordnet', WORDNET] + args
        out = self.generated('gen_wordnet.py', *args)
        self.assertEqual(out.split('\n', 1)[1], committed.split('\n', 1)[1],
                         'lexicon.tsv is not what its command writes: regenerate it')

    def test_irregular_forms_reach_their_base_both_ways(self):
        # noun.exc: doggies -> dog (dog tagged: both ways, at the kind's weight); geese ->
        # goose (goose untagged: dropped); hounds -> hound (one stem: nothing to relate).
        lex = dict((h, dict(r)) for h, r in
                   gen_wordnet.build(FIXTURE, dict(W, exc=0.5), 0.1, 12, None).items())
        self.assertEqual(lex['doggi'], {'dog': 50})
        self.assertEqual(lex['dog']['doggi'], 50)
        self.assertNotIn('gees', lex)
        self.assertNotIn('hound', lex.get('hound', {}))
        self.assertNotIn('doggi', gen_wordnet.build(FIXTURE, W, 0.1, 12, None))

    def test_wordnet_files_are_read(self):
        """The generator on Debian's WordNet: a few relations of each kind, with weights."""
        if not os.path.exists(os.path.join(WORDNET, 'cntlist.rev')):
            self.skipTest('no WordNet in %s (Debian wordnet-base): the generator is not run '
                          'on it' % WORDNET)
        lex = dict((h, dict(r)) for h, r in gen_wordnet.build(WORDNET).items())
        self.assertIn('mom', lex['mother'])      # synonym (mother's best sense)
        self.assertIn('puppi', lex['dog'])       # hyponym
        self.assertIn('painter', lex['paint'])   # derivation
        self.assertNotIn('pet', lex['dog'])      # no hypernyms by default
        self.assertIn('buy', lex['bought'])      # irregular form (verb.exc)
        for h, r in lex.items():
            self.assertLessEqual(len(r), gen_wordnet.CAP)
            self.assertNotIn(h, r)
            self.assertTrue(all(1 <= q <= recall.LEX_Q for q in r.values()))

    def test_c_table_is_generated_from_lexicon_tsv(self):
        with open(os.path.join(ROOT, 'core', 'recall', 'relevance_lex.c'), encoding='utf-8') as f:
            committed = f.read()
        self.assertEqual(self.generated('gen_lexicon.py'), committed,
                         'core/recall/relevance_lex.c is not what gen_lexicon.py writes')

    def test_reference_applies_the_weight(self):
        """A relation of weight q / LEX_Q joins a question word's group at w0 * LEX_W * q / LEX_Q,
        as core/recall/relevance.c's add_word does (test_relevance.c checks the C side)."""
        saved = recall.LEXICON
        recall.LEXICON = gen_wordnet.build(FIXTURE, W, min_share=0.1, cap=12, target_share=None)
        try:
            groups = recall.query_groups(recall.Index([]), 'Which dog?', None, recall.FACTS)
        finally:
            recall.LEXICON = saved
        lw = recall.FACTS['LEX_W']
        self.assertEqual(groups, [{'dog': 1.0, 'hound': lw * 0.25, 'puppi': lw * 0.6,
                                   'shadow': lw * 0.4}])


if __name__ == '__main__':
    unittest.main()
