"""LoCoMo conversations as memproxy sees them, for tests/bench/recall/bench.py:
the items each measure stores (facts: the session observations; turns: the
turns), the NDJSON import body that stores them, its validation, and the rule
that decides whether an item was injected. Pure: no processes, no network.

The items are built as reference/data.py builds them (same speakers, roles,
session dates, turn times, observation order, evidence ids), so the figures
compare with the reference's. Python 3 standard library only.
"""

import datetime
import json
import re
import unicodedata

MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
          'september', 'october', 'november', 'december']
CATEGORIES = {1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop'}

# "1:56 pm on 8 May, 2023" (LoCoMo's session_N_date_time).
SESSION_DATE = re.compile(r'^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$',
                          re.I)
RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$')

# memproxy's caps on what the import may carry (core/memory/usermem.h, docs/admin-api.md).
KEY_MAX = 64
VALUE_MAX = 512
IMPORT_MAX = 32 << 20

# The match rule: an item counts as injected when the first MATCH_CHARS
# characters of its normalized text (all of it when shorter, then followed by
# a word boundary) occur, starting at a word boundary, in the normalized text
# of one injected part; a text shorter than WHOLE_CHARS ("Gina: ;)" is
# "gina") only when it is the whole part. See normalize() and Matcher.
MATCH_CHARS = 48
# The stricter rule: the whole text (an excerpt of a long item, recall_excerpt.h,
# counts only by the rule above).
WHOLE_TEXT = 1 << 30
WHOLE_CHARS = 16


def parse_session_date(text):
    """A session's date and time as a naive UTC datetime; ValueError when
    the text is not LoCoMo's form. 12 am is midnight, 12 pm noon."""
    m = SESSION_DATE.match(text)
    if m is None:
        raise ValueError('not a session date: %r' % text)
    h, mi, ap, d, mon, y = m.groups()
    if mon.lower() not in MONTHS:
        raise ValueError('unknown month in %r' % text)
    h = int(h)
    if not 1 <= h <= 12:
        raise ValueError('hour out of range in %r' % text)
    h = h % 12 + (12 if ap.lower() == 'pm' else 0)
    return datetime.datetime(int(y), MONTHS.index(mon.lower()) + 1, int(d), h, int(mi))


def rfc3339(dt):
    """'2023-05-08T13:56:00Z' for a naive UTC datetime."""
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


def norm_ids(ev):
    """Evidence ids as 'D<session>:<turn>' (the data also writes 'D:1:3',
    several ids in one string, separated by ';', ',' or blanks)."""
    out = []
    for e in ev:
        for part in re.split(r'[;,\s]+', e):
            m = re.fullmatch(r'D:?(\d+):(\d+)', part.strip())
            if m:
                out.append('D%s:%s' % m.groups())
    return out


def normalize_key(key):
    """mp_usermem_normalize_key() in Python: letters and digits kept (ASCII
    lower-cased), every other run becomes one '_', none at the ends; None when
    empty or longer than KEY_MAX bytes."""
    out = []
    sep = False
    for ch in key:
        if ch.isalnum():
            if sep and out:
                out.append('_')
            sep = False
            out.append(ch.lower() if ch.isascii() else ch)
        else:
            sep = True
    k = ''.join(out)
    if not k or len(k.encode('utf-8')) > KEY_MAX:
        return None
    return k


class Conversation:
    """One LoCoMo file: .facts and .turns (lists of dicts, in sequence
    order), .questions (category 1-4), the speakers .a and .b, .user (the
    memproxy user id the benchmark uses), .match_chars (the match rule's
    prefix length for its items), .corrected (apply_corrections ran: every
    question has 'ev_corrected')."""

    set = 'locomo'
    match_chars = MATCH_CHARS
    corrected = False

    def __init__(self, conv_id, data, captions=False):
        self.id = conv_id
        self.user = 'locomo-%s' % conv_id
        self.a, self.b = data['speaker_a'], data['speaker_b']
        sessions = sorted(int(k.split('_')[1]) for k in data
                          if re.fullmatch(r'session_\d+', k) and data[k])
        self.turns = []
        turn_pos = {}
        for s in sessions:
            self._add_turns(s, data, captions, turn_pos)
        self.facts = []
        keys = set()
        for s in sessions:
            self._add_facts(s, data, turn_pos, keys)
        self.questions = [dict(q=q['question'], cat=q['category'], ev=norm_ids(q['evidence']), answer=q.get('answer'))
                          for q in data['qa'] if q['category'] in CATEGORIES]

    def _add_turns(self, s, data, captions, turn_pos):
        when = parse_session_date(data['session_%d_date_time' % s])
        for j, t in enumerate(data['session_%d' % s]):
            body = t['text']
            if captions and t.get('blip_caption'):
                body += ' [image: %s]' % t['blip_caption']
            turn_pos[t['dia_id']] = (len(self.turns), t['dia_id'])
            self.turns.append(dict(
                id='%s-%s' % (self.user, t['dia_id']), ids={t['dia_id']},
                role='user' if t['speaker'] == self.a else 'assistant',
                content='%s: %s' % (t['speaker'], body),
                at=when + datetime.timedelta(seconds=30 * j), session=s))

    def _add_facts(self, s, data, turn_pos, keys):
        name = 'session_%d_observation' % s
        if name not in data:
            return
        when = parse_session_date(data['session_%d_date_time' % s])
        rows = []
        for speaker, lst in data[name].items():
            for text, ids in lst:
                ids = norm_ids([ids] if isinstance(ids, str) else ids)
                first = min((turn_pos[i] for i in ids if i in turn_pos), default=None)
                rows.append((first[0] if first else 10**9, len(rows), speaker, text, ids, first))
        rows.sort(key=lambda r: r[0])  # sequence = order of the source turns
        for _, k, speaker, text, ids, first in rows:
            key = self._fact_key(speaker, s, first, k, keys)
            self.facts.append(dict(id='%s-%s' % (self.user, key), ids=set(ids), speaker=speaker,
                                   key=key, value=text, at=when, session=s))

    @staticmethod
    def _fact_key(speaker, s, first, k, keys):
        """'<speaker>_d<S>t<T>' after the dia_id of the observation's first
        source turn (one term for memproxy's tokenizer, which no question word
        matches), 'n2', 'n3'... added when taken; '<speaker>_s<S>o<k>' without
        a source turn (k: its place in the session's observations). Unique
        after normalization."""
        if first:
            base = '%s_d%st%s' % ((speaker,) + tuple(first[1][1:].split(':')))
        else:
            base = '%s_s%do%d' % (speaker, s, k)
        key, n = base, 1
        while normalize_key(key) in keys:
            n += 1
            key = '%sn%d' % (base, n)
        keys.add(normalize_key(key))
        return key

    def items(self, measure):
        return self.facts if measure == 'facts' else self.turns

    def covered(self, measure):
        """The evidence ids some item of the measure holds (the reference
        counts only those; a question with none is left out)."""
        out = set()
        for it in self.items(measure):
            out |= it['ids']
        return out


def load(path, conv_id, captions=False):
    with open(path, encoding='utf-8') as f:
        return Conversation(conv_id, json.load(f), captions)



# --- corrected evidence (the audit) -----------------------------------------------------

CORRECTIONS_FILE = 'audit-corrections.json'  # in the LoCoMo directory (its README, "Corrected evidence")


def load_corrections(path):
    """The audit's corrections: [{"conversation", "question", "correct_evidence", ...}]."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, list) or not all(
            isinstance(x, dict) and {'conversation', 'question', 'correct_evidence'} <= set(x) for x in data):
        raise ValueError('%s: not a list of {conversation, question, correct_evidence}' % path)
    return data


def apply_corrections(convs, corrections):
    """Gives every question of convs its corrected evidence, 'ev_corrected':
    the audit's correct_evidence for a question it lists (matched by
    conversation id and question text), else its own evidence. Corrections
    of other conversations are ignored. Returns {conv id: (listed, changed)}:
    the questions the audit lists, and those whose evidence it changes.
    ValueError when a correction names no question of its conversation, or
    more than one, or one that another correction named."""
    by_id = {c.id: c for c in convs}
    for c in convs:
        c.corrected = True
        for q in c.questions:
            q['ev_corrected'] = list(q['ev'])
    out = {c.id: [0, 0] for c in convs}
    done = set()
    for x in corrections:
        c = by_id.get(str(x['conversation']))
        if c is None:
            continue
        qs = [i for i, q in enumerate(c.questions) if q['q'] == x['question']]
        if len(qs) != 1:
            raise ValueError('conversation %s: %d questions read %r' % (c.id, len(qs), x['question']))
        if (c.id, qs[0]) in done:
            raise ValueError('conversation %s: %r corrected twice' % (c.id, x['question']))
        done.add((c.id, qs[0]))
        q = c.questions[qs[0]]
        q['ev_corrected'] = norm_ids(x['correct_evidence'])
        out[c.id][0] += 1
        out[c.id][1] += set(q['ev_corrected']) != set(q['ev'])
    return {k: tuple(v) for k, v in out.items()}

# --- the import body ---------------------------------------------------------------


def import_lines(conv, measure):
    """The items of a measure as import objects, one per item, in sequence
    order (docs of POST /admin/users/{user}/import)."""
    if measure == 'facts':
        return [{'type': 'fact', 'id': it['id'], 'key': it['key'], 'value': it['value'],
                 'at': rfc3339(it['at']), 'confidence': 0.9} for it in conv.facts]
    return [{'type': 'message', 'id': it['id'], 'role': it['role'], 'content': it['content'],
             'at': rfc3339(it['at'])} for it in conv.turns]


def ndjson(objs):
    """JSON Lines: one compact object per line, each line ended by '\\n'.
    json.dumps escapes line breaks inside strings, so no object spans lines."""
    return ''.join(json.dumps(o, ensure_ascii=False, separators=(',', ':')) + '\n'
                   for o in objs).encode('utf-8')


def _check_time(at):
    if not isinstance(at, str) or not RFC3339.match(at):
        return 'at is not RFC 3339'
    try:
        datetime.datetime.fromisoformat(at.replace('Z', '+00:00'))
    except ValueError:
        return 'at is not a real date'
    return None


def _check_item(o, keys):
    """What is wrong with one import object, or None."""
    if not isinstance(o, dict):
        return 'not an object'
    why = _check_time(o.get('at'))
    if why:
        return why
    if o.get('type') == 'message':
        if o.get('role') not in ('user', 'assistant'):
            return 'role is not user or assistant'
        if not isinstance(o.get('content'), str) or not o['content']:
            return 'content is not a non-empty string'
        return None
    if o.get('type') != 'fact':
        return 'type is not message or fact'
    key = normalize_key(o['key']) if isinstance(o.get('key'), str) else None
    if key is None:
        return 'key does not normalize to 1..%d letters/digits' % KEY_MAX
    if key in keys:
        return 'key %s given twice (the second would replace the first)' % key
    keys.add(key)
    v = o.get('value')
    if not isinstance(v, str) or not v or len(v.encode('utf-8')) > VALUE_MAX:
        return 'value is not a string of 1..%d bytes' % VALUE_MAX
    c = o.get('confidence')
    if not isinstance(c, (int, float)) or isinstance(c, bool) or not 0 <= c <= 1:
        return 'confidence is not a number in 0..1'
    return None


def validate_ndjson(body):
    """Problems with an import body (bytes), as 'line N: why' strings; []
    when it is one valid item per line with unique ids and fact keys."""
    errs = []
    if len(body) > IMPORT_MAX:
        errs.append('body is %d bytes, over %d' % (len(body), IMPORT_MAX))
    if not body.endswith(b'\n'):
        errs.append('body does not end with a line feed')
    ids, keys = set(), set()
    for n, raw in enumerate(body.split(b'\n')[:-1], 1):
        try:
            o = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            errs.append('line %d: not one JSON value (%s)' % (n, e))
            continue
        why = _check_item(o, keys)
        if why is None and 'id' in o:
            if not isinstance(o['id'], str) or not o['id']:
                why = 'id is not a non-empty string'
            elif o['id'] in ids:
                why = 'id %s given twice' % o['id']
            ids.add(o['id'])
        if why:
            errs.append('line %d: %s' % (n, why))
    return errs


# --- did memproxy inject it? ---------------------------------------------------------


def normalize(text):
    """The text compared: NFKC, case-folded, every run of characters other
    than letters and digits one space (so memproxy's escapes, '[' -> '(',
    '|' -> '/', '<' -> U+2039, control characters -> ' ', JSON escaping and
    a trailing ellipsis, change nothing)."""
    t = unicodedata.normalize('NFKC', text).casefold()
    return ' '.join(re.findall(r'[^\W_]+', t))


def match_key(text, chars=MATCH_CHARS):
    """(needle, exact): what the rule looks for in ' ' + normalized part +
    ' ': the normalized prefix of `chars` characters (blank first), the
    whole normalized text between blanks, or, when exact, that must be the
    whole of it."""
    n = normalize(text)
    if len(n) > chars:
        return ' ' + n[:chars], False
    return ' ' + n + ' ', len(n) < WHOLE_CHARS


def _has(key, hay):
    return hay == key[0] if key[1] else key[0] in hay


def item_text(it):
    """The text of an item the rule looks for: a fact's value (the
    observation), a turn's content ('Name: text')."""
    return it['value'] if 'value' in it else it['content']


def haystack(parts):
    """Injected parts as the rule searches them: normalized, between blanks."""
    return [' ' + normalize(p) + ' ' for p in parts]


class Matcher:
    """Which items of a list were injected, by the rule above, against
    injected parts (strings: a line of the memory block, an injected
    message). chars: the prefix compared (MATCH_CHARS; BEAM's is longer)."""

    def __init__(self, items, chars=MATCH_CHARS):
        self.keys = [match_key(item_text(it), chars) for it in items]
        self.items = items

    def found(self, parts):
        """The indexes of the items found in parts."""
        return self.found_in(haystack(parts))

    def found_in(self, hay):
        """found() of parts already made a haystack (haystack(parts)), for
        several matchers over the same parts."""
        return [i for i, k in enumerate(self.keys) if any(_has(k, h) for h in hay)]

    def ambiguous(self, wanted):
        """Indexes in wanted whose needle also matches another item's text:
        a hit on them may come from that other item."""
        texts = [' ' + normalize(item_text(it)) + ' ' for it in self.items]
        return [i for i in wanted
                if any(j != i and _has(self.keys[i], t) for j, t in enumerate(texts))]
