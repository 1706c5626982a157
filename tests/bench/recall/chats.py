"""Chats in the benchmark's plain shape, for tests/bench/recall/bench.py: one
user's past messages with their times, and questions with the ids of their
evidence messages. BEAM's dev file (beam.py), the multilingual needles
(data/ml-dev), and the converted MemDaily (memdaily.py) and MADial-Bench
(madial.py) files all have it:

    {"set", "conversations": [{"id", "lang"?, "turns": [{"id", "role",
     "content", "at"}], "questions": [{"q", "evidence": [turn ids],
     "category"}]}]}

A Conversation has the interface of locomo.Conversation (.id .user .turns
.facts .questions .items() .covered() .match_chars), so the benchmark
imports, asks and counts it as LoCoMo's turns. Pure: no processes, no
network. Python 3 standard library only.
"""

import datetime
import json
import re
import sys

import locomo


def parse_time(at):
    """An RFC 3339 time as a naive UTC datetime (what locomo.rfc3339 writes
    back); ValueError when it is not one."""
    t = datetime.datetime.fromisoformat(at.replace('Z', '+00:00'))
    if t.tzinfo is None:
        raise ValueError('time without an offset: %r' % at)
    return t.astimezone(datetime.timezone.utc).replace(tzinfo=None)


# A past message of the memory block: "(YYYY-MM-DD, role) " or "(role) "
# before its text, the first of a line after its header (core/recall/memblock.c,
# put_past).
PAST_FRAME = re.compile(r'^(?:\[[^\]]*\]: )?\((?:[^()]*, )?(?:user|assistant)\) ')


def block_items(parts):
    """The past messages of the injected parts, each alone: a part cut at
    the block's separator ' | ', its frame taken off. A text shorter than
    locomo.WHOLE_CHARS counts when it is the whole of one of them (the
    match rule's "whole part"): a MemDaily message of 14 Chinese characters
    ("趣跑购物节的持续时间是八个周。") is a whole sentence, and the block writes
    many messages on one line. A message holding ' | ' itself (the block
    does not escape it in messages) is cut there too: a piece of it can only
    match a short text that says exactly that piece."""
    out = []
    for p in parts:
        for seg in p.split(' | '):
            m = PAST_FRAME.match(seg)
            if m is not None:
                out.append(seg[m.end():])
    return out


class Conversation:
    """One chat of a plain-shape file: .turns (dicts as locomo's: id, ids,
    role, content, at), .questions ({"q", "cat", "ev", "answer"}: the answer
    from answers, {question: text}, or None), .facts (none), .user
    ('<set>-<id>'), .lang (the file's "lang", or None). Subclasses set .set,
    .match_chars, .categories (None: any category) and .evidence_checked.
    whole_items: a short text is found as a whole past message of the block
    too (block_items), not only as a whole part; LoCoMo and BEAM keep the
    rule as it was (their figures stay comparable)."""

    set = 'chats'
    match_chars = locomo.MATCH_CHARS
    whole_items = True
    categories = None
    evidence_checked = True  # ValueError for an evidence id no turn has
    corrected = False  # one evidence version

    def __init__(self, data, answers=None):
        self.id = str(data['id'])
        self.lang = data.get('lang')
        self.user = '%s-%s' % (self.set, self.id)
        self.facts = []
        self.turns = []
        seen = set()
        for t in data['turns']:
            if t['id'] in seen:
                raise ValueError('chat %s: turn id %r given twice' % (self.id, t['id']))
            if t['role'] not in ('user', 'assistant'):
                raise ValueError('chat %s, turn %r: role %r' % (self.id, t['id'], t['role']))
            if not isinstance(t['content'], str) or not t['content']:
                raise ValueError('chat %s, turn %r: no content' % (self.id, t['id']))
            seen.add(t['id'])
            self.turns.append(dict(id='%s-t%s' % (self.user, t['id']), ids={t['id']}, role=t['role'],
                                   content=t['content'], at=parse_time(t['at'])))
        self.questions = []
        for q in data['questions']:
            if self.categories is not None and q['category'] not in self.categories:
                raise ValueError('chat %s: unknown category %r' % (self.id, q['category']))
            missing = [e for e in q['evidence'] if e not in seen]
            if missing and self.evidence_checked:
                raise ValueError('chat %s: question %r names no turn %s' % (self.id, q['q'][:40], missing[0]))
            self.questions.append(dict(q=q['q'], cat=q['category'], ev=list(q['evidence']),
                                       answer=(answers or {}).get(q['q'])))

    def items(self, measure):
        return self.facts if measure == 'facts' else self.turns

    def covered(self, measure):
        """The evidence ids some item of the measure holds."""
        out = set()
        for it in self.items(measure):
            out |= it['ids']
        return out


def load(cls, path, ids=None, answers=None):
    """The chats of a plain-shape file as cls (all, or those whose id is in
    ids, in the file's order); ValueError when an id asked for is not there.
    answers: {chat id: {question: answer text}}, or None."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    out = [cls(c, (answers or {}).get(str(c['id'])))
           for c in data['conversations'] if ids is None or str(c['id']) in ids]
    missing = set(ids or ()) - {c.id for c in out}
    if missing:
        raise ValueError('no chat %s in %s' % (', '.join(sorted(missing)), path))
    return out


def dump(name, conversations, path):
    """Writes conversations (plain-shape dicts) as the file of set name:
    sorted keys off, UTF-8 as is, one conversation a line (diffable)."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write('{"set": %s, "conversations": [\n' % json.dumps(name))
        f.write(',\n'.join(json.dumps(c, ensure_ascii=False) for c in conversations))
        f.write('\n]}\n')


def convert_main(prog, name, convert_dir, argv):
    """A converter's command line, `prog SRC_DIR OUT.json`: writes
    convert_dir(SRC_DIR) as the file of set name; 0, or 1 (said on stderr)."""
    if len(argv) != 2:
        print('usage: %s SRC_DIR OUT.json' % prog, file=sys.stderr)
        return 1
    try:
        dump(name, convert_dir(argv[0]), argv[1])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print('%s: %s' % (prog, e), file=sys.stderr)
        return 1
    return 0
