"""BEAM's user-assistant chats as memproxy sees them, for
tests/bench/recall/bench.py: the turns each chat stores (one user's past
messages with their times) and its questions with their evidence turn ids.
A Conversation here has the interface of locomo.Conversation (.id .user
.turns .facts .questions .items() .covered() .match_chars), so
the benchmark imports, asks and counts it as LoCoMo's turns. Pure: no
processes, no network. Python 3 standard library only.

The file (the dev split's README): {"set", "conversations": [{"id", "turns":
[{"id", "role", "content", "at"}], "questions": [{"q", "evidence": [turn
ids], "category"}]}]}.
"""

import datetime
import json

FILE = 'beam-500k-dev.json'

# BEAM's abilities, in the order the report lists them (abstention is not in
# the file: its questions have no evidence).
CATEGORIES = ['information_extraction', 'multi_session_reasoning', 'knowledge_update', 'temporal_reasoning',
              'event_ordering', 'summarization', 'preference_following', 'instruction_following',
              'contradiction_resolution']

# The dataset's README counts a turn by its first 60 characters; the
# comparison is locomo.normalize's (memproxy's block rewrites '|', '[' and
# line breaks, which the README's "whitespace folded, lower case" would not
# see through).
MATCH_CHARS = 60


def parse_time(at):
    """An RFC 3339 time as a naive UTC datetime (what locomo.rfc3339 writes
    back); ValueError when it is not one."""
    t = datetime.datetime.fromisoformat(at.replace('Z', '+00:00'))
    if t.tzinfo is None:
        raise ValueError('time without an offset: %r' % at)
    return t.astimezone(datetime.timezone.utc).replace(tzinfo=None)


class Conversation:
    """One BEAM chat: .turns (dicts as locomo's: id, ids, role, content, at),
    .questions ({"q", "cat", "ev", "answer"}: the answer from answers, {question:
    text}, or None), .facts (none), .user."""

    set = 'beam'
    match_chars = MATCH_CHARS
    corrected = False  # BEAM has one evidence version

    def __init__(self, data, answers=None):
        self.id = str(data['id'])
        self.user = 'beam-%s' % self.id
        self.facts = []
        self.turns = []
        seen = set()
        for t in data['turns']:
            if t['id'] in seen:
                raise ValueError('chat %s: turn id %r given twice' % (self.id, t['id']))
            if t['role'] not in ('user', 'assistant'):
                raise ValueError('chat %s, turn %r: role %r' % (self.id, t['id'], t['role']))
            seen.add(t['id'])
            self.turns.append(dict(id='%s-t%s' % (self.user, t['id']), ids={t['id']}, role=t['role'],
                                   content=t['content'], at=parse_time(t['at'])))
        self.questions = []
        for q in data['questions']:
            if q['category'] not in CATEGORIES:
                raise ValueError('chat %s: unknown category %r' % (self.id, q['category']))
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


def load(path, ids=None, answers=None):
    """The chats of a BEAM file (all, or those whose id is in ids, in the
    file's order); ValueError when an id asked for is not there. answers:
    {chat id: {question: answer text}} (answers.load_beam_answers), or None."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    out = [Conversation(c, (answers or {}).get(str(c['id'])))
           for c in data['conversations'] if ids is None or str(c['id']) in ids]
    missing = set(ids or ()) - {c.id for c in out}
    if missing:
        raise ValueError('no BEAM chat %s in %s' % (', '.join(sorted(missing)), path))
    return out
