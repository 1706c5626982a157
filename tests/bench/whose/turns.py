"""The "whose words" benchmark's pure parts (issue 63, requirement 4): the
development sets as a user's sessions (LoCoMo and BEAM through the cache
bench's replay.py, ml-dev's messages cut into sessions), the requests of
the two clients (a full-history client, a stateless app), and how the
user turns sent compare with the user messages memproxy stored. No I/O
beyond reading the data files; tested by test_whose.py. See
tests/bench/README.md "Whose words".
"""

import difflib
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'cache'))
import replay  # noqa: E402  (LoCoMo and BEAM as sessions; also puts recall/ on the path)

MODEL = 'gpt-4o-mini'
CANNED = 'Noted, thanks. Tell me more whenever you like.'  # ml-dev's assistant: a short canned reply

# The full-history client's system prompt: about 300 tokens (1,250 bytes) of
# the cache bench's rules. The stateless app's: another app, its own rules.
SYSTEM_FULL = ' '.join('%d. %s' % (i + 1, r) for i, r in enumerate(replay._RULES[:14]))
SYSTEM_STATELESS = ('You are Pocket, the assistant of a journaling app. ' +
                    ' '.join('%d. %s' % (i + 1, r) for i, r in enumerate(replay._RULES[14:])))

SHAPES = ('full', 'stateless', 'structured')
SHAPE_NAMES = {'full': 'full history', 'stateless': 'stateless app', 'structured': 'structured app'}
# The structured app's answer form: a journaling app that has every entry
# answered, titled and tagged as JSON. Its schema names tasks ("title",
# "tags", "summary"): the person's words under it must still be theirs
# (docs/memory-whose-words.md "Client tasks", by shape).
STRUCTURED = {'type': 'json_schema', 'json_schema': {'name': 'journal_entry', 'strict': True, 'schema': {
    'type': 'object', 'additionalProperties': False, 'required': ['reply', 'title', 'tags', 'summary'],
    'properties': {'reply': {'type': 'string'}, 'title': {'type': 'string', 'description': 'the entry\'s title'},
                   'tags': {'type': 'array', 'items': {'type': 'string'}},
                   'summary': {'type': 'string', 'description': 'a summary of the entry'}}}}}


# --- the sets ------------------------------------------------------------------------------


def load_locomo(path, cid, sessions=None):
    """A LoCoMo conversation: speaker_a's turns are the user's,
    speaker_b's the assistant's replies (replay.load_locomo)."""
    return replay.load_locomo(path, cid).head(sessions)


def load_beam(path, ids=None, sessions=None):
    """BEAM's chats (all, or those of ids), each cut to its first
    `sessions` sessions (days)."""
    return [c.head(sessions) for c in replay.load_beam(path, ids)]


def load_ml(path, langs=None, per_session=10, messages=None):
    """ml-dev's languages (all, or those of langs): each a replay.Chat of
    the user's messages (the first `messages` of them, None: all) in
    sessions of per_session messages, each answered by CANNED."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    out = []
    for c in data['conversations']:
        lang = c.get('lang') or c['id']
        if langs is not None and lang not in langs:
            continue
        chat = replay.Chat('ml', str(c['id']), None)
        chat.lang = lang
        mine = [t for t in c['turns'] if t['role'] == 'user'][:messages]
        for n, t in enumerate(mine):
            if n % per_session == 0:
                chat.sessions.append([])
            chat.add(len(chat.sessions) - 1, 'user', t['content'], t['id'])
            chat.add(len(chat.sessions) - 1, 'assistant', CANNED, '%s/reply' % t['id'])
        out.append(chat)
    return out


def group_of(chat):
    """The report's row a chat counts in: its set, ml-dev by language."""
    return 'ml-dev %s' % chat.lang if chat.dataset == 'ml' else chat.dataset


# --- the requests ---------------------------------------------------------------------------


class Turn:
    """One user turn sent: its set, chat, client shape, the source turn
    ids it holds, its text; filled in when sent (rid: memproxy's request
    id, X-Memproxy-Request-Id; error: X-Memory-Error) and compared
    (status: verbatim, changed, dropped, unrecorded; stored: the stored
    text of a changed turn)."""

    def __init__(self, chat, shape, session, ids, text):
        self.set, self.conv, self.group, self.shape = chat.dataset, chat.id, group_of(chat), shape
        self.session, self.tid, self.text = session, '+'.join(str(i) for i in ids), text
        self.rid = self.error = self.status = self.stored = self.repeat_of = None


def user_id(chat, shape):
    """The memproxy user of a chat replayed by a client shape: one each,
    so that the clients' records never meet."""
    return 'whose-%s-%s-%s' % (shape, chat.dataset, chat.id)


def requests(chat, shape):
    """[(Turn, messages, headers, reply or None)], one per user message in
    order. full: the session's earlier messages with the dataset's replies
    and the newest user message after a system prompt of about 300 tokens,
    every session a conversation of its own (session-id: <conv>-<session>);
    stateless: the newest user message alone under one fixed system
    prompt, no session header; structured: the stateless app's request
    with its answer's form fixed (response_format STRUCTURED). reply: the assistant message that follows
    the user's in the dataset (the fake upstream is told to answer it), None
    when the session ends with the user's."""
    out, seen = [], {}
    answers = replay.replies(chat)
    for n, (s, i, msgs) in enumerate(replay.user_turns(chat)):
        m = msgs[i]
        turn = Turn(chat, shape, s, m['ids'], m['content'])
        if shape == 'full':
            messages = [{'role': 'system', 'content': SYSTEM_FULL}] + [replay.plain(x) for x in msgs[:i + 1]]
            headers = {'session-id': '%s-%d' % (chat.id, s + 1)}
        else:
            messages = [{'role': 'system', 'content': SYSTEM_STATELESS}, replay.plain(m)]
            headers = {}
        body = body_of(messages, STRUCTURED if shape == 'structured' else None)
        # memproxy records a byte-identical body of the same user once
        # ([memory] idempotency_hours): the client knows when it sends one
        turn.repeat_of = seen.get(body)
        seen.setdefault(body, turn.tid)
        out.append((turn, body, headers, answers[n]))
    return out


def body_of(messages, response_format=None):
    """The request body of messages, as the clients send it."""
    body = {'model': MODEL, 'messages': messages}
    if response_format is not None:
        body['response_format'] = response_format
    return json.dumps(body, ensure_ascii=False).encode('utf-8')


# --- what was stored ------------------------------------------------------------------------


def stored_user_messages(pages, buffer):
    """[(request id or None, text)] of the user messages of the archive's
    pages and the buffer, each once (a buffered message may be archived
    too: the same request id and text is one message)."""
    out, seen = [], set()
    for m in [x for p in pages for x in p] + list(buffer):
        if m.get('role') != 'user':
            continue
        key = (m.get('request_id'), m.get('content'))
        if key in seen:
            continue
        seen.add(key)
        out.append((m.get('request_id'), m.get('content') or ''))
    return out


def compare(turns, stored):
    """Sets each Turn's status against stored ([(request id, text)], one
    user's): verbatim when a stored message of its request, else any stored
    message not claimed by another turn, equals its text (both stripped of
    whitespace at their ends); changed when a stored message of its request
    differs (a part was cut), or one contains its text and more; unrecorded
    when the request answered X-Memory-Error; else dropped (also a turn
    whose text is stored only as another turn's: a repeat recorded once)."""
    items = [[rid, text.strip(), False] for rid, text in stored]
    by_rid = {}
    for it in items:
        if it[0] is not None:
            by_rid.setdefault(it[0], []).append(it)
    for t in turns:
        t.status = t.stored = None
        for it in by_rid.get(t.rid, []) if t.rid else []:
            if not it[2] and it[1] == t.text.strip():
                it[2], t.status = True, 'verbatim'
                break
    by_text = {}
    for it in items:
        if not it[2]:
            by_text.setdefault(it[1], []).append(it)
    for t in turns:
        free = by_text.get(t.text.strip(), []) if t.status is None else []
        for it in free:
            if not it[2]:
                it[2], t.status = True, 'verbatim'
                break
    for t in turns:
        if t.status is not None:
            continue
        mine = by_rid.get(t.rid, []) if t.rid else []
        wider = [it for it in items if t.text.strip() in it[1] and it[1] != t.text.strip()]
        if mine or wider:
            t.status, t.stored = 'changed', (mine or wider)[0][1]
        else:
            t.status = 'unrecorded' if t.error else 'dropped'
    return turns


def left_out(sent, stored):
    """What memproxy cut of sent: the stretches of sent that stored lacks
    (difflib's deleted and replaced parts, in order, joined by ' ... '),
    stripped; '' when nothing was."""
    a, b = sent.strip(), stored.strip()
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    cut = [a[i1:i2].strip() for tag, i1, i2, _, _ in ops if tag in ('delete', 'replace')]
    return ' ... '.join(c for c in cut if c)


def likely_rule(turn, cut, texts):
    """Which of memproxy's rules most likely took a turn's words (a guess
    from the client side, for the report: the metrics of its replay say
    which rules fired): 'idempotency' (the same request body sent before:
    not the recognition of client text), 'structure' (the part cut holds a
    fenced block or a tag at a line's start), 'repetition' (a paragraph of
    what was cut, or of the turn, of 48 bytes or more is in one of texts:
    the same user's other turns), else '?'."""
    if turn.status == 'dropped' and turn.repeat_of is not None:
        return 'idempotency'
    if '```' in cut or re.search(r'(^|\n)[ \t]*<[A-Za-z]', cut):
        return 'structure'
    for para in re.split(r'\n\s*\n', cut or turn.text):
        para = para.strip()
        if len(para.encode('utf-8')) >= 48 and any(para in t for t in texts):
            return 'repetition'
    return '?'


def tally(turns):
    """{(group, shape): {'turns', 'verbatim', 'changed', 'dropped',
    'unrecorded', 'repeats'}} (repeats: turns whose request body the same
    user had sent before)."""
    out = {}
    for t in turns:
        c = out.setdefault((t.group, t.shape), dict.fromkeys(
            ('turns', 'verbatim', 'changed', 'dropped', 'unrecorded', 'repeats'), 0))
        c['turns'] += 1
        c[t.status] += 1
        c['repeats'] += t.repeat_of is not None
    return out


# --- metrics -------------------------------------------------------------------------------

METRICS = ('memproxy_client_text_total', 'memproxy_client_text_undone_total', 'memproxy_inserted_context_total',
           'memproxy_inserted_context_only_turns_total', 'memproxy_client_tasks_total',
           'memproxy_turns_unrecorded_total')


def parse_metrics(text):
    """{name: {labels text: value}} of METRICS on a Prometheus page; a
    name the page does not declare is left out (absent)."""
    out = {}
    for ln in text.splitlines():
        if ln.startswith('# TYPE '):
            parts = ln.split()
            if len(parts) >= 3 and parts[2] in METRICS:
                out.setdefault(parts[2], {})
            continue
        if not ln or ln.startswith('#'):
            continue
        name, _, rest = ln.partition('{')
        if not rest:
            name, _, value = ln.partition(' ')
            labels = ''
        else:
            labels, _, value = rest.partition('} ')
        if name in METRICS:
            out.setdefault(name, {})[labels] = float(value.split()[0])
    return out


def metrics_delta(before, after):
    """after - before per series, for the names after has."""
    out = {}
    for name, series in after.items():
        old = before.get(name, {})
        out[name] = {k: v - old.get(k, 0.0) for k, v in series.items()}
    return out


def metric_cell(delta, name):
    """'absent', or the total and its non-zero labels: '3 (how="file" 2,
    how="repeated" 1)'."""
    if name not in delta:
        return 'absent'
    series = delta[name]
    total = sum(series.values())
    parts = ['%s %g' % (k, v) for k, v in sorted(series.items()) if v and k]
    return '%g' % total + (' (%s)' % ', '.join(parts) if parts else '')
