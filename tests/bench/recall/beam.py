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

import chats

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

parse_time = chats.parse_time


class Conversation(chats.Conversation):
    """One BEAM chat (chats.Conversation): user 'beam-<id>', BEAM's
    categories only."""

    set = 'beam'
    match_chars = MATCH_CHARS
    categories = CATEGORIES
    evidence_checked = False  # counted over the evidence some turn holds, as before


def load(path, ids=None, answers=None):
    """The chats of a BEAM file (all, or those whose id is in ids, in the
    file's order); ValueError when an id asked for is not there. answers:
    {chat id: {question: answer text}} (answers.load_beam_answers), or None."""
    try:
        return chats.load(Conversation, path, ids, answers)
    except ValueError as e:
        raise ValueError(str(e).replace('no chat', 'no BEAM chat', 1))
