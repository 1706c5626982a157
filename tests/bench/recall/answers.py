"""The answer judge of tests/bench/recall/bench.py: how much of a question's
answer reached the model in what memproxy injected, for the packing changes
the evidence rules cannot judge (a long turn cut to the sentences that
matched counts as found by its opening whether or not the kept sentences
answer; by the whole rule never).

A question's key terms are the content words of its answer (LoCoMo's
`answer`; BEAM's from tests/bench/recall/beam-dev-answers.json) that its
question does not hold: lower-cased, stop words dropped, a light suffix
strip (plural, -ed, -ing, -ly) so that "booked" finds "bookings". The
measure is the share of a question's key terms found anywhere in the
injected parts, averaged over the questions that have key terms. It is a
proxy, not a grader: it says whether the words an answer needs arrived,
not whether a model would use them. Pure: no processes, no network. Python
3 standard library only.
"""

import json
import os

import locomo

ANSWERS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'beam-dev-answers.json')

# Function words and the words every answer template uses; short, so that
# an answer's names, numbers and topic words are what is counted.
STOP = frozenset('''
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
s t d m ll re ve don mention mentioned include includes including llm response state states
said told notice clarify contradictory information correct please
'''.split())

_SUFFIXES = ('ing', 'ed', 'es', 's', 'ly')


def stem(word):
    """word without its common suffixes (at most two: "bookings" is "book"),
    each stripped when at least three letters stay; a word with a digit is
    kept as it is."""
    if any(ch.isdigit() for ch in word):
        return word
    for _ in range(2):
        for suf in _SUFFIXES:
            if word.endswith(suf) and len(word) - len(suf) >= 3:
                word = word[:-len(suf)]
                break
        else:
            break
    return word


def _terms_of(normalized):
    return {stem(w) for w in normalized.split() if w not in STOP}


def terms(text):
    """The stemmed content words of text, as a set."""
    return _terms_of(locomo.normalize(text))


def key_terms(question, answer):
    """The terms of answer that question does not hold (a frozenset; empty
    when the answer adds nothing or there is none)."""
    if answer is None:
        return frozenset()
    return frozenset(terms(str(answer)) - terms(question))


def share_found(keys, injected_terms):
    """The share (0..1) of keys in injected_terms; None without keys."""
    if not keys:
        return None
    return len(keys & injected_terms) / len(keys)


def injected_terms(hay):
    """terms() of every injected part together, from the parts as the match
    rule searches them (locomo.haystack: normalized already)."""
    out = set()
    for h in hay:
        out |= _terms_of(h)
    return out


def beam_answer(cat, src):
    """The text a BEAM question's answer is judged by, from its source
    record: what the memory must carry for the response BEAM grades
    (its answer; a summary's ideal summary; the instruction or preference a
    response must follow; the contradiction's ideal answer)."""
    for field in ('answer', 'ideal_summary', 'ideal_answer', 'instruction_being_tested',
                  'preference_being_tested'):
        if isinstance(src.get(field), str) and src[field].strip():
            return src[field]
    raise ValueError('%s question %r: no answer text' % (cat, src.get('question', '')[:60]))


def load_beam_answers(path=ANSWERS_FILE):
    """{chat id: {question: answer}} from the answers file; ValueError when
    it is malformed."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    chats = data.get('chats')
    if not isinstance(chats, dict):
        raise ValueError('%s: no "chats" object' % path)
    out = {}
    for cid, qs in chats.items():
        if not isinstance(qs, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in qs.items()):
            raise ValueError('%s: chat %s is not {question: answer}' % (path, cid))
        out[str(cid)] = qs
    return out
