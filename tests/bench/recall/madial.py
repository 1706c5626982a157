#!/usr/bin/env python3
"""MADial-Bench's Chinese set (hejunqing/MADial-Bench on GitHub, MIT) in
the benchmark's plain shape (chats.py), for tests/bench/recall/bench.py.

Read: data/ch/MADial-Bench-zh-memory.json (one JSON object a line, {"<id>":
{"time": "YYYY-MM-DD", "scene", "emotion", "event", "user-id", "id"}}: the
memory archive) and data/ch/MADial-Bench-zh-dialogue.json (one object a
line, {"dialogue": ["<BOD>\\n", "<Name>:\\"text\\"\\n", "<Assistant>:...",
..., "<EOD>\\n"], "test-turn": [line index...], "relevant-id": [memory
id...], "user-id", "id"}: at each test turn the assistant should recall the
relevant memories).

One user-id becomes one chat: its memories as user turns (the event text,
dated at noon UTC of the memory's day, in time order, ties by id; turn id
`m<id>`), and each dialogue one question: what the user said before the
first test turn (the user's lines, their `<Name>:` and quotes taken off,
joined by a blank), its evidence the relevant memories. One category,
`dialogue`.

Usage: madial.py SRC_DIR OUT.json (SRC_DIR holds the two files).
Python 3 standard library only.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chats  # noqa: E402

SET = 'madial-dev'
FILE = 'madial-dev.json'
MEMORY = 'MADial-Bench-zh-memory.json'
DIALOGUE = 'MADial-Bench-zh-dialogue.json'
LINE = re.compile(r'^\s*<([^>]+)>\s*[:：]\s*(.*?)\s*$', re.S)
DATE = re.compile(r'^\d{4}-\d{2}-\d{2}$')


def json_lines(text):
    """The objects of a file of one JSON object a line (blank lines skipped)."""
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def speaker_line(line):
    """(speaker, text) of a dialogue line '<Name>:"text"\\n'; None for
    <BOD>/<EOD> and lines of another form."""
    m = LINE.match(line)
    if m is None:
        return None
    text = m.group(2)
    if len(text) >= 2 and text[0] in '"“' and text[-1] in '"”':
        text = text[1:-1].strip()
    return m.group(1).strip(), text


def question(dialogue, test_turn):
    """What the user said before the test turn: the non-assistant lines,
    joined by a blank."""
    said = []
    for line in dialogue[:test_turn]:
        sl = speaker_line(line)
        if sl and sl[0].lower() != 'assistant' and sl[1]:
            said.append(sl[1])
    return ' '.join(said)


def convert(memories, dialogues):
    """The plain-shape chats (dicts), one per user-id, in user-id order."""
    users = {}
    for obj in memories:
        for key, m in obj.items():
            if str(m['id']) != str(key):
                raise ValueError('memory %s: id %r' % (key, m['id']))
            if not DATE.match(m['time']):
                raise ValueError('memory %s: time %r' % (key, m['time']))
            u = users.setdefault(m['user-id'], dict(turns=[], ids=set(), questions=[]))
            if str(key) in u['ids']:
                raise ValueError('memory %s given twice' % key)
            u['ids'].add(str(key))
            u['turns'].append(dict(id='m%s' % key, role='user', content=m['event'].strip(),
                                   at='%sT12:00:00Z' % m['time']))
    for d in dialogues:
        u = users.get(d['user-id'])
        if u is None or not d['test-turn'] or not d['relevant-id']:
            raise ValueError('dialogue %s: no memories of user %s, or no test turn or relevant id' % (
                d['id'], d['user-id']))
        if any(str(r) not in u['ids'] for r in d['relevant-id']):
            raise ValueError('dialogue %s: a relevant id is not a memory of user %s' % (d['id'], d['user-id']))
        q = question(d['dialogue'], min(d['test-turn']))
        if not q:
            raise ValueError('dialogue %s: the user says nothing before the test turn' % d['id'])
        u['questions'].append(dict(q=q, evidence=['m%s' % r for r in d['relevant-id']],
                                   category='dialogue'))
    out = []
    for uid in sorted(users):
        u = users[uid]
        turns = sorted(u['turns'], key=lambda t: (t['at'], int(t['id'][1:])))
        out.append(dict(id=str(uid), lang='zh', turns=turns, questions=u['questions']))
    return out


def convert_dir(src):
    with open(os.path.join(src, MEMORY), encoding='utf-8') as f:
        memories = json_lines(f.read())
    with open(os.path.join(src, DIALOGUE), encoding='utf-8') as f:
        dialogues = json_lines(f.read())
    return convert(memories, dialogues)


class Conversation(chats.Conversation):
    """One MADial-Bench user as the benchmark replays it: user 'madial-<id>'."""

    set = 'madial'


def main(argv):
    return chats.convert_main('madial.py', SET, convert_dir, argv)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
