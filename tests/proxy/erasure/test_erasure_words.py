"""Erasure takes what told the value, nothing more (issue 70, requirement 4;
docs/governance.md#erasure): deleting a fact erases the messages that
hold its value as whole words, never those that hold it only inside a
longer word, and the buffer and the archive (found through the search
index) agree on which go. The report: deleting "Go" erased "going",
"good", "ago" and "Cargo"; deleting "Porto" erased "Oporto" and
"Portobello"; and the buffer and archive disagreed.

Through the real binary: a user's chat turns recorded in `buffer` mode
(no memory model: the facts are the user's own, set with PUT), a buffer
that holds the last half of the turns, so each sentence is said once
where only the archive holds it and once where both do; then DELETE of each fact, and GET /v1/memory says what the
store holds."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

# (what the user said, the fact keys whose value it holds as a whole word)
BASE = [
    ('I write Go every day', {'lang'}),
    ('I am going home now', set()),
    ('good morning to you', set()),
    ('that was two days ago', set()),
    ('Cargo builds my crates', set()),
    ('I moved to Porto last year', {'city'}),
    ('we sailed past Oporto', set()),
    ('Portobello mushrooms for dinner', set()),
    ('I work in AI research', {'field'}),
    ('my old AIM handle', set()),
    ('she said it was fine', set()),
    ('I have 7 cats', {'cats'}),
    ('and 17 dogs', set()),
    ('we live on the 7th floor', set()),
    ('running version 7.5 of it', set()),
    ('Go, then, and AI too', {'lang', 'field'}),
    ('Gone fishing in Portugal', set()),
    ('seven is a lovely number', set()),
]
# each said twice: the first time it ends up in the archive alone, the
# second time in the buffer too
TURNS = BASE + [(text + ' (twice)', keys) for text, keys in BASE]
FACTS = {'lang': 'Go', 'city': 'Porto', 'field': 'AI', 'cats': '7'}


class ErasureWords(harness.ProxyTestCase):

    def setUp(self):
        self.user = mh.uid('words')
        self.p = self.start_proxy(workers=1, memory={'mode': 'buffer', 'buffer_messages': 2 * len(BASE),
                                                            'summarize_at': 2 * len(BASE)},
                                  sections={'admin': {'token': mh.ADMIN_TOKEN}})

    def memory(self):
        r = self.p.request('GET', '/v1/memory?limit=1000', [('X-User-Id', self.user)])
        self.assertEqual(r.status, 200, r)
        return r.json()

    def said(self, part):
        """The user's messages of a part of the memory (buffer or archive)."""
        return [m['content'] for m in part if m['role'] == 'user']

    def put(self, key, value):
        r = self.p.request('PUT', '/v1/memory/entities/' + key,
                           [('X-User-Id', self.user), ('Content-Type', 'application/json')],
                           json.dumps({'value': value}).encode())
        self.assertEqual(r.status, 200, r)

    def test_short_values_erase_whole_words_in_buffer_and_archive_alike(self):
        for text, _ in TURNS:
            self.assertEqual(send(self.p, self.user, text).status, 200)
        for key, value in FACTS.items():
            self.put(key, value)
        before = self.memory()
        # the premise: the first turns are in the archive alone, the last in both
        self.assertEqual(self.said(before['archive']), [t for t, _ in TURNS])
        buffered = self.said(before['buffer'])
        self.assertEqual(buffered, [t for t, _ in TURNS][-len(buffered):])
        self.assertEqual(buffered, [t for t, _ in TURNS[len(BASE):]])

        erased = set()
        for key in FACTS:
            r = self.p.request('DELETE', '/v1/memory/entities/' + key, [('X-User-Id', self.user)])
            self.assertEqual(r.status, 204, r)
            erased.add(key)
            mem = self.memory()
            want = [t for t, keys in TURNS if not keys & erased]
            archive, buffer = self.said(mem['archive']), self.said(mem['buffer'])
            self.assertEqual(archive, want, 'after erasing %s' % sorted(erased))
            # the buffer keeps exactly the kept messages it had: the two agree
            self.assertEqual(buffer, [t for t in buffered if t in want], 'after erasing %s' % sorted(erased))
            self.assertNotIn(key, [e['key'] for e in mem['entities']])
        # the replies told nothing and stay
        self.assertEqual(len([m for m in mem['archive'] if m['role'] == 'assistant']), len(TURNS))
        # the history counts what went: the holders, each once
        r = mh.admin_request(self.p, 'GET', '/admin/users/%s/history' % mh.qid(self.user))
        self.assertEqual(r.status, 200, r)
        went = [h['count'] for h in r.json()['history']
                if h['event'] == 'deleted' and h['item'] == 'messages']
        self.assertEqual(sum(went), len([t for t, keys in TURNS if keys]), went)


if __name__ == '__main__':
    harness.main('proxy_erasure_words')
