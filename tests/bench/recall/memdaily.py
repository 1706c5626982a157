#!/usr/bin/env python3
"""MemDaily (MemSim, nuster1128/MemSim on GitHub) in the benchmark's plain
shape (chats.py), for tests/bench/recall/bench.py.

Only the development files are read: the `*_events`, `*_items` and
`*_places` files of data_generation/final_dataset/messages_and_QAs/ (FILES;
the others are kept for judging). Each is a list of trajectories:

    [{"tid", "message_list": [{"mid", "message", "time", "place"}],
      "question_list": [{"qid", "question", "answer", "target_step_id":
      [mid...], "choices", "ground_truth", "time"}]}]

One file becomes one chat: one user's archive holding every trajectory's
messages (user turns, in time order; ties by trajectory, then message), and
every question asked against the whole archive, its evidence the messages
its target_step_id names in its own trajectory (turn id `t<tid>m<mid>`). The
category is the file's entity kind (events, items, places). Times are read
as China Standard Time (UTC+8; the data is written in China, with no zone).

Usage: memdaily.py SRC_DIR OUT.json (writes OUT.json from the files in
SRC_DIR). Python 3 standard library only.
"""

import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chats  # noqa: E402
import locomo  # noqa: E402

SET = 'memdaily-dev'
FILE = 'memdaily-dev.json'
# The development files, by question type: 03 and 04 have events only.
FILES = ['01_simple_events', '01_simple_items', '01_simple_places',
         '02_conditional_events', '02_conditional_items', '02_conditional_places',
         '03_comparative_events', '04_aggregative_events',
         '05_post_processing_events', '05_post_processing_items', '05_post_processing_places',
         '06_noisy_events', '06_noisy_items', '06_noisy_places']
CATEGORIES = ['events', 'items', 'places']
# "2024年04月01日 周一 08:42" (the weekday is not read).
TIME = re.compile(r'^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:周.\s*)?(\d{1,2}):(\d{2})\s*$')
UTC_OFFSET = datetime.timedelta(hours=8)


def parse_time(text):
    """A MemDaily time as RFC 3339 UTC; ValueError when it is not one."""
    m = TIME.match(text)
    if m is None:
        raise ValueError('not a MemDaily time: %r' % text)
    y, mo, d, h, mi = (int(x) for x in m.groups())
    return locomo.rfc3339(datetime.datetime(y, mo, d, h, mi) - UTC_OFFSET)


def kind(name):
    """The entity kind of a file name ('01_simple_items' -> 'items')."""
    k = name.rsplit('_', 1)[-1]
    if k not in CATEGORIES:
        raise ValueError('%s: not an events, items or places file' % name)
    return k


def convert(name, trajectories):
    """One file's trajectories as a plain-shape chat (a dict)."""
    cat = kind(name)
    rows, questions = [], []
    for t in trajectories:
        tid = t['tid']
        mids = set()
        for m in t['message_list']:
            if m['mid'] in mids:
                raise ValueError('%s, trajectory %s: message %s given twice' % (name, tid, m['mid']))
            mids.add(m['mid'])
            at = parse_time(m['time'])
            rows.append((at, tid, m['mid'], dict(id='t%sm%s' % (tid, m['mid']), role='user',
                                                 content=m['message'].strip(), at=at)))
        for q in t['question_list']:
            ev = list(q['target_step_id'])
            if not ev or any(e not in mids for e in ev):
                raise ValueError('%s, trajectory %s: question %s names no message of it' % (name, tid, q['qid']))
            questions.append(dict(q=q['question'], evidence=['t%sm%s' % (tid, e) for e in ev], category=cat))
    ids = [r[3]['id'] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError('%s: trajectory ids given twice' % name)
    rows.sort(key=lambda r: r[:3])
    return dict(id=name, lang='zh', turns=[r[3] for r in rows], questions=questions)


def convert_dir(src):
    """Every development file of src, converted, in FILES' order;
    ValueError when one is missing."""
    out = []
    for name in FILES:
        path = os.path.join(src, name + '.json')
        if not os.path.isfile(path):
            raise ValueError('no %s' % path)
        with open(path, encoding='utf-8') as f:
            out.append(convert(name, json.load(f)))
    return out


class Conversation(chats.Conversation):
    """One MemDaily file as the benchmark replays it: user
    'memdaily-<file>'."""

    set = 'memdaily'
    categories = CATEGORIES


def main(argv):
    return chats.convert_main('memdaily.py', SET, convert_dir, argv)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
