"""Load LoCoMo dev conversations into the item lists the selector sees."""
import json, os, re, datetime

# The LoCoMo conversations (JSON files 26.json ... 43.json): MEMPROXY_LOCOMO_DIR.
DATA_DIR = os.environ.get('MEMPROXY_LOCOMO_DIR', 'locomo-dev')
CONVS = ['26', '30', '41', '42', '43']
MONTHS = {m: i + 1 for i, m in enumerate(
    ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
     'september', 'october', 'november', 'december'])}


def parse_date(s):
    # "1:56 pm on 8 May, 2023"
    m = re.search(r'(\d+):(\d+)\s*(am|pm)\s+on\s+(\d+)\s+(\w+),?\s+(\d{4})', s)
    h, mi, ap, d, mon, y = m.groups()
    h = int(h) % 12 + (12 if ap == 'pm' else 0)
    return datetime.datetime(int(y), MONTHS[mon.lower()], int(d), h, int(mi))


def norm_ids(ev):
    out = []
    for e in ev:
        for part in re.split(r'[;,\s]+', e):
            m = re.fullmatch(r'D:?(\d+):(\d+)', part.strip())
            if m:
                out.append('D%s:%s' % m.groups())
    return out


def tokens_of(text):
    b = len(text.encode('utf-8'))
    return 4 + (b + 3) // 4


def load(conv, captions=False, path=None):
    """A conversation by name (DATA_DIR/<conv>.json) or, with path, the LoCoMo-shaped file
    there (verify_terms.py's other sets, written by to_locomo.py)."""
    with open(path or '%s/%s.json' % (DATA_DIR, conv), encoding='utf-8') as f:
        d = json.load(f)
    a, bname = d['speaker_a'], d['speaker_b']
    sess = sorted(int(k.split('_')[1]) for k in d if re.fullmatch(r'session_\d+', k) and d[k])
    turns, facts = [], []
    turn_index = {}
    for s in sess:
        dt = parse_date(d['session_%d_date_time' % s])
        for j, t in enumerate(d['session_%d' % s]):
            role = 'user' if t['speaker'] == a else 'assistant'
            body = t['text']
            if captions and t.get('blip_caption'):
                body += ' [image: %s]' % t['blip_caption']
            content = '%s: %s' % (t['speaker'], body)
            text = '(%s, %s) %s' % (dt.strftime('%Y-%m-%d'), role, content)
            it = dict(kind='turn', ids={t['dia_id']}, time=dt + datetime.timedelta(seconds=30 * j),
                      session=s, role=role, speaker=t['speaker'], content=body,
                      key=t['speaker'], text=text, tokens=tokens_of(text))
            turn_index[t['dia_id']] = len(turns)
            turns.append(it)
    for s in sess:
        k = 'session_%d_observation' % s
        if k not in d:
            continue
        dt = parse_date(d['session_%d_date_time' % s])
        rows = []
        for sp, lst in d[k].items():
            for txt, ids in lst:
                ids = norm_ids([ids] if isinstance(ids, str) else ids)
                rows.append((min(turn_index.get(i, 10**9) for i in ids) if ids else 10**9, sp, txt, ids))
        rows.sort(key=lambda r: r[0])  # sequence = order of source turns
        for pos, sp, txt, ids in rows:
            key = sp
            text = '%s: %s (as of %s)' % (key, txt, dt.strftime('%Y-%m-%d'))
            facts.append(dict(kind='fact', ids=set(ids), time=dt, session=s,
                              role='user' if sp == a else 'assistant', speaker=sp,
                              key=key, content=txt, text=text, tokens=tokens_of(text)))
    for i, it in enumerate(facts):
        it['seq'] = i
    for i, it in enumerate(turns):
        it['seq'] = i
    qs = []
    for q in d['qa']:
        if q['category'] == 5:
            continue
        qs.append(dict(q=q['question'], cat=q['category'], ev=norm_ids(q['evidence'])))
    return dict(conv=conv, a=a, b=bname, facts=facts, turns=turns, qs=qs,
                now=max(t['time'] for t in turns))
