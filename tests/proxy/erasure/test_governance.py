"""Memory governance (docs/configuration.md [governance], docs/admin-api.md compaction;
docs/governance.md): retention with a moved clock, pii_mode store / redact /
drop and inject_pii, erasure followed by compaction (no byte of the deleted
text left in the storage files), and a user's correction outranking a later
extraction.

Retention is tested without sleeping: MEMPROXY_TEST_CLOCK_OFFSET_MS moves
memproxy's memory clock, so memory recorded by one process is "400 days
old" for the next one, whose sweeper runs once at start.

Canaries start with 'zqxcanary' and secrets with 'zqxsecret', for
tests/proxy/scan_logs.py."""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send, user_msg  # noqa: E402

CANARY = 'zqxcanary'
SECRET = 'zqxsecret'
_LETTERS = 'abcdefghjkmnpqrstuvwxyz'   # no digits: nothing a PII detector could take for a number
DAY_MS = 24 * 3600 * 1000


def rnd(n=10):
    return ''.join(random.choice(_LETTERS) for _ in range(n))


def canary(tag):
    return '%s%s%s' % (CANARY, tag, rnd())


def address(tag):
    """A canary e-mail address (the detector's EMAIL shape)."""
    return '%s.%s%s@example.com' % (CANARY, tag, rnd(8))


ADMIN_TOKEN = '%s-admin-%s' % (SECRET, rnd(16))
ADMIN_AUTH = [('Authorization', 'Bearer ' + ADMIN_TOKEN)]


def storage_hits(root, needles):
    """[(file, needle)] for each needle (bytes) found in a file under root."""
    hits = []
    files = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += 1
            with open(os.path.join(dirpath, name), 'rb') as f:
                data = f.read()
            hits.extend((os.path.relpath(os.path.join(dirpath, name), root), nd) for nd in needles if nd in data)
    if files == 0:
        raise AssertionError('no storage file under %s to scan' % root)
    return hits


def assert_not_on_disk(case, p, addr, why):
    """Neither the address nor its local part is in p's storage files."""
    local = addr.split('@')[0].encode()
    case.assertEqual(storage_hits(p.sections['storage']['path'], [addr.encode(), local]), [], why)


def put(p, user, key, value):
    r = p.request('PUT', '/v1/memory/entities/' + key, [('X-User-Id', user), ('Content-Type', 'application/json')],
                  json.dumps({'value': value}).encode())
    if r.status != 200:
        raise AssertionError('PUT %s for %s: %r' % (key, user, r))
    return r


def memory_or_empty(p, user):
    """GET /v1/memory: the document, or an empty one for a 404."""
    r = p.request('GET', '/v1/memory', [('X-User-Id', user)])
    if r.status == 404:
        return {'user': user, 'summary': {'text': None, 'updated_at': None}, 'buffer': [], 'entities': []}
    if r.status != 200:
        raise AssertionError('GET /v1/memory for %r: %r' % (user, r))
    return r.json()


def wait_swept(p):
    """Waits for the sweeper's first pass (it runs at start)."""
    v = p.wait_metric('memproxy_retention_sweeps_total', lambda x: x >= 1, mh.WAIT, result='ok')
    if v < 1:
        raise AssertionError('no retention sweep ran at start (memproxy_retention_sweeps_total{result="ok"} = %r)'
                             % v)


def wait_extracted(case, p, user, n0):
    """Waits until an extraction for user (after fake request n0) is done."""
    mh.wait_for(lambda: mh.user_jobs(case.fake, user, 'extract', after=n0), what='the extraction of %s' % user)
    mh.wait_idle(p)


# ---------------------------------------------------------------------------
# D. Retention
# ---------------------------------------------------------------------------

class Retention(mh.MemCase):
    PROXY_CONFIG = {'workers': 1}

    def start_at(self, data, days, **governance):
        gov = {'retention_days': 365, 'pii_retention_days': 30}
        gov.update(governance)
        env = {'MEMPROXY_TEST_CLOCK_OFFSET_MS': str(int(days * DAY_MS))} if days else None
        return self.start_proxy(storage={'path': data}, memory={'mode': 'hybrid'}, env=env,
                                sections={'governance': gov})

    def record(self, p, user, text):
        """One turn, its extraction done."""
        n0 = mh.last_n(self.fake)
        self.assertOK(send(p, user, text))
        wait_extracted(self, p, user, n0)

    def test_everything_expires_after_retention_days(self):
        data = self.storage_dir()
        user = canary('old')
        p = self.start_at(data, 0)
        put(p, user, 'note', canary('fact'))
        self.record(p, user, 'I live in Graz.')
        mem = mh.get_memory(p, user)
        self.assertEqual(mh.entity_map(mem)['city'], 'Graz')
        self.assertEqual(len(mem['buffer']), 2)
        self.stop_checked(p)

        p = self.start_at(data, 400)
        wait_swept(p)
        mem = memory_or_empty(p, user)
        self.assertEqual((mem['entities'], mem['buffer'], mem['summary']['text']), ([], [], None),
                         'memory older than retention_days survived the sweep')
        self.assertGreaterEqual(p.metric('memproxy_retention_purged_total', item='facts'), 2)
        self.assertGreaterEqual(p.metric('memproxy_retention_purged_total', item='messages'), 2)
        moved = [o for o in p.log_objects() if o.get('msg', '').startswith('memory clock moved')]
        self.assertEqual([o.get('offset_ms') for o in moved], [400 * DAY_MS],
                         'a moved memory clock must be logged at start')

    def test_pii_expires_after_pii_retention_days(self):
        data = self.storage_dir()
        user = canary('pii')
        addr = address('ret')
        plain = canary('plain')
        p = self.start_at(data, 0)
        put(p, user, 'note', plain)
        self.record(p, user, 'I live in Graz. My email is %s' % addr)
        mem = mh.get_memory(p, user)
        flags = {e['key']: e['pii'] for e in mem['entities']}
        self.assertEqual(flags, {'note': False, 'city': False, 'email': True}, mem['entities'])
        self.stop_checked(p)

        p = self.start_at(data, 31)
        wait_swept(p)
        mem = memory_or_empty(p, user)
        self.assertEqual(mh.entity_map(mem), {'note': plain, 'city': 'Graz'}, 'want only the PII fact gone')
        self.assertEqual(mh.buffer_pairs(mem), [('assistant', REPLY)],
                         'want the message holding the address gone, the reply kept')
        self.assertNotIn(addr, json.dumps(mem))
        self.assertGreaterEqual(p.metric('memproxy_retention_purged_total', item='facts'), 1)
        self.assertGreaterEqual(p.metric('memproxy_retention_purged_total', item='messages'), 1)

    def test_retention_zero_keeps_everything(self):
        data = self.storage_dir()
        user = canary('keep')
        addr = address('keep')
        plain = canary('plain')
        p = self.start_at(data, 0, retention_days=0, pii_retention_days=0)
        put(p, user, 'note', plain)
        self.record(p, user, 'I live in Graz. My email is %s' % addr)
        before = mh.get_memory(p, user)
        self.assertEqual(mh.entity_map(before), {'note': plain, 'city': 'Graz', 'email': addr})
        self.stop_checked(p)

        p = self.start_at(data, 4000, retention_days=0, pii_retention_days=0)
        wait_swept(p)
        after = mh.get_memory(p, user)
        self.assertEqual(mh.entity_map(after), mh.entity_map(before))
        self.assertEqual(mh.buffer_pairs(after), mh.buffer_pairs(before))
        self.assertEqual(p.metric('memproxy_retention_purged_total', item='facts'), 0)
        self.assertEqual(p.metric('memproxy_retention_purged_total', item='messages'), 0)

    def test_sweeper_runs_every_interval(self):
        p = self.start_proxy(sections={'governance': {'sweep_interval_seconds': 1}})
        wait_swept(p)
        v = p.wait_metric('memproxy_retention_sweeps_total', lambda x: x >= 3, 10, result='ok')
        self.assertGreaterEqual(v, 3, 'the sweeper did not run again every sweep_interval_seconds')


# ---------------------------------------------------------------------------
# E. PII modes
# ---------------------------------------------------------------------------

def export_records(p, user):
    r = p.admin('/admin/users/%s/export' % user, headers=ADMIN_AUTH)
    if r.status != 200:
        raise AssertionError('GET /admin/users/%s/export: %r' % (user, r))
    return [json.loads(ln) for ln in bytes(r.body).decode('utf-8').splitlines() if ln.strip()]


def dicts_holding(obj, text):
    """Every dict inside obj that has a string value containing text."""
    out = []
    if isinstance(obj, dict):
        if any(isinstance(v, str) and text in v for v in obj.values()):
            out.append(obj)
        for v in obj.values():
            out.extend(dicts_holding(v, text))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(dicts_holding(v, text))
    return out


class PiiModes(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'},
                    'sections': {'governance': {'pii_mode': 'store'}, 'admin': {'token': ADMIN_TOKEN}}}

    def start_mode(self, **governance):
        return self.start_proxy(memory={'mode': 'hybrid'}, sections={'governance': governance})

    def turn(self, p, user, messages):
        n0 = mh.last_n(self.fake)
        self.assertOK(send(p, user, messages))
        wait_extracted(self, p, user, n0)
        return mh.get_memory(p, user)

    def test_store_mode_flags_pii(self):
        user = canary('store')
        addr = address('store')
        text = 'My email is %s' % addr
        mem = self.turn(self.proxy, user, text)
        self.assertEqual(mh.buffer_pairs(mem), [('user', text), ('assistant', REPLY)], 'stored as is')
        self.assertEqual([(e['key'], e['value'], e['pii']) for e in mem['entities']], [('email', addr, True)])
        msg = mem['buffer'][0]
        if 'pii' in msg:
            self.assertIs(msg['pii'], True, msg)
            self.assertIs(mem['buffer'][1]['pii'], False, mem['buffer'][1])
        else:   # GET /v1/memory does not show a message's flag: the admin export does
            holders = dicts_holding(export_records(self.proxy, user), text)
            self.assertTrue(holders, 'the export has no record of the message')
            for d in holders:
                self.assertIs(d.get('pii'), True, 'the message is not flagged pii in the export: %r' % d)

    def test_inject_pii_false_keeps_pii_out_of_requests(self):
        p = self.start_mode(pii_mode='store', inject_pii=False)
        user = canary('noinject')
        addr = address('noinject')
        plain = canary('plain')
        put(p, user, 'note', plain)
        mem = self.turn(p, user, 'My email is %s' % addr)
        self.assertEqual(mh.entity_map(mem).get('email'), addr)
        s = send(p, user, 'What do you remember?', x_memory='read')
        self.assertOK(s)
        up = mh.upstream_body(self.fake, s)
        self.assertNotIn(addr.encode(), up, 'a PII item was injected with inject_pii = false')
        inj = self.injection(s)
        self.assertEqual(inj.block.fact_dict(), {'note': plain})
        self.assertEqual(inj.recent(), [('assistant', REPLY)])

    def test_redact_mode_masks_before_storing(self):
        p = self.start_mode(pii_mode='redact')
        user = canary('redact')
        addr = address('redact')
        mem = self.turn(p, user, 'My email is %s. I live in Graz.' % addr)
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'My email is [redacted]. I live in Graz.'),
                                                ('assistant', REPLY)])
        self.assertEqual(mh.entity_map(mem).get('city'), 'Graz')
        self.assertNotIn(addr.split('@')[0], json.dumps(mem), 'the address reached the stored memory')
        assert_not_on_disk(self, p, addr, 'the address is in the storage files')

    def test_drop_mode_drops_pii_message(self):
        p = self.start_mode(pii_mode='drop')
        user = canary('drop')
        addr = address('drop')
        mem = self.turn(p, user, [user_msg('I live in Oslo.'), user_msg('My email is %s' % addr)])
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'I live in Oslo.'), ('assistant', REPLY)])
        self.assertEqual(mh.entity_map(mem), {'city': 'Oslo'})
        assert_not_on_disk(self, p, addr, 'the address is in the storage files')


class PiiCorrections(mh.MemCase):
    """pii_mode and inject_pii on values people set themselves: the user's
    PUT /v1/memory/entities/{key} and the admin's PUT."""
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'hybrid'}}

    def start_mode(self, **governance):
        return self.start_proxy(memory={'mode': 'hybrid'}, sections={
            'governance': governance, 'admin': {'token': ADMIN_TOKEN}})

    def user_put(self, p, user, key, value):
        return p.request('PUT', '/v1/memory/entities/' + key,
                         [('X-User-Id', user), ('Content-Type', 'application/json')],
                         json.dumps({'value': value}).encode())

    def admin_put(self, p, user, key, value):
        return harness.request(p.admin_port, 'PUT', '/admin/users/%s/entities/%s' % (user, key),
                               ADMIN_AUTH + [('Content-Type', 'application/json')],
                               json.dumps({'value': value}).encode())

    def admin_fact(self, p, user, key):
        r = p.admin('/admin/users/%s/memory' % user, headers=ADMIN_AUTH)
        self.assertEqual(r.status, 200, r)
        return {e['key']: e for e in r.json()['entities']}[key]

    def test_store_flags_a_correction_and_keeps_it_out_of_prompts(self):
        p = self.start_mode(pii_mode='store', inject_pii=False)
        user = canary('corr')
        addr = address('corr')
        plain = canary('plain')
        r = self.user_put(p, user, 'email', addr)
        self.assertEqual(r.status, 200, r)
        put(p, user, 'note', plain)
        fact = self.admin_fact(p, user, 'email')
        self.assertEqual((fact['value'], fact['pii'], fact['trust']), (addr, True, 'corrected'))
        self.assertEqual(fact['request_id'], r.header('x-request-id'), 'the correction names its request')
        s = send(p, user, 'What do you remember?', x_memory='read')
        self.assertOK(s)
        self.assertNotIn(addr.encode(), mh.upstream_body(self.fake, s),
                         'a PII correction was injected with inject_pii = false')
        self.assertEqual(self.injection(s).block.fact_dict(), {'note': plain})

    def test_redact_masks_corrections_before_storing(self):
        p = self.start_mode(pii_mode='redact')
        user = canary('corr-redact')
        addr = address('corr-redact')
        r = self.user_put(p, user, 'contact', 'mail me at %s please' % addr)
        self.assertEqual(r.status, 200, r)
        r = self.admin_put(p, user, 'backup', addr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.admin_fact(p, user, 'contact')['value'], 'mail me at [redacted] please')
        self.assertEqual(self.admin_fact(p, user, 'backup')['value'], '[redacted]')
        assert_not_on_disk(self, p, addr, 'the address is in the storage files')

    def test_drop_refuses_corrections_holding_pii(self):
        p = self.start_mode(pii_mode='drop')
        user = canary('corr-drop')
        addr = address('corr-drop')
        for r in (self.user_put(p, user, 'email', addr), self.admin_put(p, user, 'email', addr)):
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json()['error']['code'], 'pii_not_stored', r)
            self.assertIsNotNone(r.header('x-request-id'))
        self.assertEqual(memory_or_empty(p, user)['entities'], [], 'a refused value was stored')
        r = self.user_put(p, user, 'city', 'Oslo')      # no personal data: stored
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.entity_map(memory_or_empty(p, user)), {'city': 'Oslo'})
        assert_not_on_disk(self, p, addr, 'the refused address is in the storage files')


class ExtractedProvenance(mh.ScriptedProxyCase):
    """Whose words an extracted fact came from: the extractor's "source"
    decides its role and trust class (user: stated, assistant: inferred),
    and a stated value outranks a later inferred one."""

    SECTIONS = {'admin': {'token': ADMIN_TOKEN}}

    def extract(self, user, entities):
        n0 = len(self.llm.requests('extract'))
        self.llm.set_extraction(json.dumps({'entities': entities}))
        s = send(self.proxy, user, 'Some facts, ' + rnd())
        self.assertEqual(s.status, 200, s.resp)
        mh.wait_for(lambda: len(self.llm.requests('extract')) > n0, what='the extraction request')
        mh.wait_idle(self.proxy)

    def facts(self, user):
        r = self.proxy.admin('/admin/users/%s/memory' % user, headers=ADMIN_AUTH)
        self.assertEqual(r.status, 200, r)
        return {e['key']: e for e in r.json()['entities']}

    def test_source_sets_role_and_trust(self):
        user = canary('source')
        self.extract(user, [
            {'key': 'city', 'value': 'Oslo', 'confidence': 0.9, 'source': 'user'},
            {'key': 'level', 'value': 'senior engineer', 'confidence': 0.9, 'source': 'assistant'},
            {'key': 'editor', 'value': 'Helix', 'confidence': 0.9}])
        got = {k: (e['source_role'], e['trust']) for k, e in self.facts(user).items()}
        self.assertEqual(got, {'city': ('user', 'stated'), 'level': ('assistant', 'inferred'),
                               'editor': ('user', 'stated')})

    def test_inferred_value_never_replaces_a_stated_one(self):
        user = canary('source-rank')
        self.extract(user, [{'key': 'city', 'value': 'Oslo', 'confidence': 0.9, 'source': 'user'}])
        self.extract(user, [{'key': 'city', 'value': 'Bergen', 'confidence': 0.99, 'source': 'assistant'}])
        self.assertEqual(self.facts(user)['city']['value'], 'Oslo', 'an inferred value replaced a stated one')
        self.extract(user, [{'key': 'city', 'value': 'Trondheim', 'confidence': 0.8, 'source': 'user'}])
        self.assertEqual(self.facts(user)['city']['value'], 'Trondheim', 'a newer stated value did not win')


class PiiDropExtracted(mh.ScriptedProxyCase):
    """drop mode against an extractor that calls a fact personal data
    (a scripted upstream: the value has no span the detectors know)."""

    SECTIONS = {'governance': {'pii_mode': 'drop'}}

    def test_drop_mode_drops_fact_the_extractor_flags(self):
        user = canary('dropx')
        handle = canary('handle')
        self.llm.set_extraction(json.dumps({'entities': [
            {'key': 'handle', 'value': handle, 'confidence': 0.9, 'pii': True},
            {'key': 'city', 'value': 'Oslo', 'confidence': 0.9, 'pii': False}]}))
        n0 = len(self.llm.requests('extract'))
        s = send(self.proxy, user, 'Some facts about me.')
        self.assertEqual(s.status, 200, s.resp)
        mh.wait_for(lambda: len(self.llm.requests('extract')) > n0, what='the extraction request')
        mem = mh.wait_memory(self.proxy, user, lambda m: m['entities'], what='the extracted facts')
        mh.wait_idle(self.proxy)
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(mh.entity_map(mem), {'city': 'Oslo'}, 'a fact flagged pii was stored in drop mode')


class PiiDropSummary(mh.ScriptedProxyCase):
    """drop mode and the summary (docs/governance.md): a summary holding
    personal data is redacted, not dropped (it folds many turns)."""

    SECTIONS = {'governance': {'pii_mode': 'drop'}}
    MEMORY = {'mode': 'summary', 'buffer_messages': 4, 'summarize_at': 4}

    def test_drop_mode_redacts_the_summary(self):
        user = canary('dropsum')
        addr = address('dropsum')
        self.llm.set_summary('Summary: the user lives in Oslo; news go to %s each week.' % addr)
        for text in ('I live in Oslo.', 'I like tea.'):
            s = send(self.proxy, user, text)
            self.assertEqual(s.status, 200, s.resp)
        mem = mh.wait_memory(self.proxy, user, lambda m: m['summary']['text'] is not None, what='the summary')
        self.assertEqual(mem['summary']['text'], 'Summary: the user lives in Oslo; news go to [redacted] each week.',
                         'the summary was not redacted in drop mode')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'I like tea.'), ('assistant', REPLY)],
                         'the folded turn is still in the buffer')
        self.assertEqual(len(self.llm.requests('summarize')), 1)
        mh.wait_idle(self.proxy)
        assert_not_on_disk(self, self.proxy, addr, 'the address in the summary is in the storage files')


# ---------------------------------------------------------------------------
# F. Erasure and compaction
# ---------------------------------------------------------------------------

class Erasure(mh.MemCase):
    PROXY_CONFIG = {'workers': 1}

    def start_erasure(self):
        return self.start_proxy(memory={'mode': 'hybrid', 'buffer_messages': 6, 'summarize_at': 6},
                                sections={'admin': {'token': ADMIN_TOKEN}})

    def spread_canary(self, p):
        """The canary in a fact, in the summary and in a buffered message;
        returns (user, canary, memory)."""
        user = canary('erase-user')
        cv = canary('erase')
        put(p, user, 'favorite_color', cv)
        for text in ('I love the color %s.' % cv, 'I drink tea every morning.', 'Tell me about %s please.' % cv):
            self.assertOK(send(p, user, text))
            mh.wait_memory(p, user, lambda m, t=text: any(c['content'] == t for c in m['buffer']) or
                           m['summary']['text'] is not None, what='the turn %r' % text)
        mem = mh.wait_memory(p, user, lambda m: m['summary']['text'] is not None and cv in m['summary']['text'] and
                             any(cv in c['content'] for c in m['buffer']) and
                             any(cv not in c['content'] for c in m['buffer']),
                             what='the canary in the summary and the buffer')
        mh.wait_idle(p)
        return user, cv, mh.get_memory(p, user)

    def compact(self, p):
        r = p.admin('/admin/compact', method='POST', headers=ADMIN_AUTH, timeout=60)
        self.assertEqual(r.status, 200, r)

    def test_delete_entity_then_compact_leaves_no_canary(self):
        p = self.start_erasure()
        data = p.sections['storage']['path']
        user, cv, before = self.spread_canary(p)
        r = p.request('DELETE', '/v1/memory/entities/favorite_color', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        mem = mh.get_memory(p, user)
        self.assertNotIn('favorite_color', mh.entity_map(mem))
        self.assertIsNone(mem['summary']['text'], 'the summary restating the fact was kept')
        kept = [(m['role'], m['content']) for m in before['buffer'] if cv not in m['content']]
        self.assertEqual(mh.buffer_pairs(mem), kept, 'want the messages holding the value gone, the others kept')
        self.assertNotIn(cv, json.dumps(mem))
        # What follows means something: the deleted text is still in the file,
        # in freed pages, until compaction.
        self.assertNotEqual(storage_hits(data, [cv.encode()]), [],
                            'the canary was not in the files before compaction: the scan proves nothing')
        self.compact(p)
        self.assertEqual(storage_hits(data, [cv.encode()]), [], 'deleted text left in the storage files')
        self.assertEqual(mh.buffer_pairs(mh.get_memory(p, user)), kept, 'compaction lost live data')

    def test_delete_user_then_compact_leaves_no_canary(self):
        p = self.start_erasure()
        data = p.sections['storage']['path']
        user, cv, _ = self.spread_canary(p)
        other = canary('erase-bystander')
        put(p, other, 'note', 'kept')
        r = p.request('DELETE', '/v1/memory', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(memory_or_empty(p, user)['buffer'], [])
        self.assertNotEqual(storage_hits(data, [cv.encode()]), [],
                            'the canary was not in the files before compaction: the scan proves nothing')
        self.compact(p)
        self.assertEqual(storage_hits(data, [cv.encode(), user.encode()]), [],
                         'deleted text or the deleted user id left in the storage files')
        self.assertEqual(mh.entity_map(mh.get_memory(p, other)), {'note': 'kept'}, 'compaction lost live data')


# ---------------------------------------------------------------------------
# H. Stale versus fresh
# ---------------------------------------------------------------------------

class StaleFresh(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}

    def test_later_statement_supersedes_the_correction(self):
        # newest truth (issue 51): a turn after the correction wins; one
        # before it never does (test_newest_truth.py)
        user = canary('fresh')
        n0 = mh.last_n(self.fake)
        self.assertOK(send(self.proxy, user, 'I live in Rome.'))
        wait_extracted(self, self.proxy, user, n0)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'city': 'Rome'})   # extraction works
        corrected = canary('city')
        put(self.proxy, user, 'city', corrected)
        time.sleep(0.01)  # the turn's time after the correction's, to the ms
        n1 = mh.last_n(self.fake)
        self.assertOK(send(self.proxy, user, 'I live in Paris.'))
        wait_extracted(self, self.proxy, user, n1)
        ex = mh.user_jobs(self.fake, user, 'extract', after=n1)
        self.assertTrue(any('Paris' in r['body'] for r in ex), 'the later turn was not extracted')
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'city': 'Paris'},
                         'the user\'s later words did not supersede the correction')
        s = send(self.proxy, user, 'Where do I live?', x_memory='read')
        self.assertOK(s)
        self.assertEqual(self.injection(s).block.fact_dict(), {'city': 'Paris'})


if __name__ == '__main__':
    harness.main('proxy_governance')
