"""Writes the chats of a plain-shape file (tests/bench/recall/chats.py: BEAM, the multilingual
needles, MemDaily, MADial-Bench) as LoCoMo-shaped files, one per chat, so that the reference
(verify_terms.py, through data.py) and the C port (locomo_check) read every development set
through one loader each.

A chat's turns become LoCoMo turns (speaker "User" or "Assistant" by role, text the content)
in sessions by UTC day (a session's date: its first turn's time; data.py and locomo_check
date a turn at its session's time plus 30 s per turn before it), turn j of session s has
dia_id "D<s>:<j+1>"; every question is a category-1 question whose evidence is the dia_ids of
its evidence turns (an evidence id no turn has is kept as is: no item covers it). No session
observations: the chat has turns only.

Usage: to_locomo.py IN.json OUT_DIR   (writes OUT_DIR/<chat id>.json; prints their paths)
"""
import datetime
import json
import os
import sys

MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
          'October', 'November', 'December']


def parse_time(at):
    t = datetime.datetime.fromisoformat(at.replace('Z', '+00:00'))
    return t.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def locomo_date(t):
    """'1:56 pm on 8 May, 2023'"""
    h = t.hour % 12 or 12
    return '%d:%02d %s on %d %s, %d' % (h, t.minute, 'pm' if t.hour >= 12 else 'am', t.day,
                                        MONTHS[t.month - 1], t.year)


def convert(chat):
    out = dict(speaker_a='User', speaker_b='Assistant')
    ids, s, day = {}, 0, None
    for t in chat['turns']:
        at = parse_time(t['at'])
        if at.date() != day:
            s, day = s + 1, at.date()
            out['session_%d' % s] = []
            out['session_%d_date_time' % s] = locomo_date(at)
        turns = out['session_%d' % s]
        dia = 'D%d:%d' % (s, len(turns) + 1)
        ids[t['id']] = dia
        turns.append(dict(speaker='User' if t['role'] == 'user' else 'Assistant', dia_id=dia,
                          text=t['content']))
    out['qa'] = [dict(question=q['q'], category=1, evidence=[ids.get(e, e) for e in q['evidence']])
                 for q in chat['questions']]
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 1
    with open(argv[0], encoding='utf-8') as f:
        chats = json.load(f)['conversations']
    os.makedirs(argv[1], exist_ok=True)
    for c in chats:
        path = os.path.join(argv[1], '%s.json' % c['id'])
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(convert(c), f, ensure_ascii=False)
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
