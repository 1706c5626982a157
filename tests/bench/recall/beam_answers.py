#!/usr/bin/env python3
"""Writes tests/bench/recall/beam-dev-answers.json, the answer texts of the
BEAM development split's questions, from a checkout of BEAM's data
(mohammadtavakoli78/BEAM, CC BY-SA 4.0: chats/500K/<chat>/probing_questions/
probing_questions.json). Each question of the dev split is found in its
chat's probing questions by its exact text and category; the answer text is
answers.beam_answer's choice. Fails, writing nothing, when a question is
missing or found twice.

Usage: beam_answers.py BEAM_CHECKOUT DEV_SPLIT_JSON [OUT]
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402

SOURCE = 'BEAM (mohammadtavakoli78/BEAM), chats/500K/<chat>/probing_questions/probing_questions.json'
LICENSE = 'CC BY-SA 4.0 (the source data\'s licence; this file is derived from it)'


def answers_of(probing, dev_questions, chat):
    """{question: answer text} for dev_questions ([{"q", "category"}]) from
    one chat's probing questions ({category: [records]}); ValueError when a
    question is not there exactly once."""
    by_text = {}
    for cat, recs in probing.items():
        for rec in recs:
            by_text.setdefault(rec['question'].strip(), []).append((cat, rec))
    out = {}
    for q in dev_questions:
        found = [(c, r) for c, r in by_text.get(q['q'].strip(), []) if c == q['category']]
        if len(found) != 1:
            raise ValueError('chat %s: question %r found %d times' % (chat, q['q'][:60], len(found)))
        out[q['q']] = answers.beam_answer(found[0][0], found[0][1])
    return out


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    src, dev = argv[1], argv[2]
    out_path = argv[3] if len(argv) == 4 else answers.ANSWERS_FILE
    with open(dev, encoding='utf-8') as f:
        split = json.load(f)
    chats = {}
    for conv in split['conversations']:
        path = os.path.join(src, 'chats', '500K', str(conv['id']), 'probing_questions', 'probing_questions.json')
        with open(path, encoding='utf-8') as f:
            chats[str(conv['id'])] = answers_of(json.load(f), conv['questions'], conv['id'])
    tmp = out_path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump({'source': SOURCE, 'license': LICENSE, 'chats': chats}, f, indent=1, ensure_ascii=False,
                  sort_keys=True)
        f.write('\n')
    os.replace(tmp, out_path)
    print('%s: %d questions of %d chats' % (out_path, sum(len(v) for v in chats.values()), len(chats)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
