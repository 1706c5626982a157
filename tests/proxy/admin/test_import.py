"""Import into the archive and the facts (docs/admin-import-export.md, "Import",
"The archive", "Export"): POST /admin/users/{id}/import answers only once
everything is committed and searchable, refuses a bad line whole (naming
it; the user API's rules, times at most a day ahead), keeps ids
idempotent, applies pii_mode, max_facts_per_user and archive; a full store
answers 507; retention counts from receipt (or the items' own time); an
export imports back into an empty store as the same memory (a property
test: MPTEST_SEED=N repeats a run); the archive's pages and cursors, for
the admin and the user."""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402

ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
# Imported items carry old times: no age limit, so no sweep takes them.
NO_RETENTION = {'governance': {'retention_days': 0, 'pii_retention_days': 0}}
ISO = r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$'
MIB = 1024 * 1024


def sections(*more):
    out = {}
    for s in (ADMIN, NO_RETENTION) + more:
        for name, kv in s.items():
            out.setdefault(name, {}).update(kv)
    return out


class ImportCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': sections(), 'memory': {'mode': 'hybrid'}}

    def imp(self, user, items, proxy=None, **kw):
        return import_lines(proxy or self.proxy, user, items, **kw)

    def imp_ok(self, user, items, expect, proxy=None):
        """Imports; expect: (messages, facts, skipped) of the answer."""
        r = self.imp(user, items, proxy)
        self.assertEqual(r.status, 200, r)
        want = dict(zip(('messages', 'facts', 'skipped', 'past_retention'), expect + (0,) * (4 - len(expect))),
                    settings=0)  # no settings lines here
        self.assertEqual(mh.import_counts(r), want, r)
        return r

    def mem(self, user, proxy=None, query=''):
        r = mh.admin_memory(proxy or self.proxy, user, query)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def archive(self, user, proxy=None):
        return [m for page in mh.archive_pages(proxy or self.proxy, user, 1000) for m in page]

    def ask(self, user, question, proxy=None):
        """A question that reads memory and records nothing: its Injection
        (None when nothing was injected)."""
        p = proxy or self.proxy
        s = mh.send(p, user, question, x_memory='read')
        self.assertOK(s)
        got = mh.upstream_body(self.fake, s)
        if got == s.body:
            self.assertEqual(s.tokens(), 0)
            return None
        return self.injection(s)


class GoodImport(ImportCase):
    def test_counts_provenance_and_time_order(self):
        user = mh.uid('imp')
        lines = [
            message('assistant', 'Second: the tram to the Schlossberg.', '2023-05-08T14:00:00Z'),
            fact('Home City', 'Graz', '2023-05-08T13:56:00Z', confidence=0.9),
            message('user', 'First: I moved to Graz.', '2023-05-08T15:56:00.123456+02:00'),
            message('user', 'Third, same time as fourth.', '2023-06-01T00:00:00Z'),
            fact('pet', 'an axolotl named Fizz', '2023-04-01T10:00:00.5-01:00'),
            message('assistant', 'Fourth, same time as third.', '2023-06-01T00:00:00Z'),
        ]
        r = self.imp_ok(user, lines, (4, 2, 0))
        rid = r.header('x-request-id')
        self.assertRegex(rid or '', r'^req_[0-9a-f]{20}$')
        doc = self.mem(user)
        # Oldest first by "at" (offsets applied, fractions cut to ms); equal
        # times in line order.
        self.assertEqual([(m['role'], m['content'], m['at']) for m in doc['archive']], [
            ('user', 'First: I moved to Graz.', '2023-05-08T13:56:00.123Z'),
            ('assistant', 'Second: the tram to the Schlossberg.', '2023-05-08T14:00:00.000Z'),
            ('user', 'Third, same time as fourth.', '2023-06-01T00:00:00.000Z'),
            ('assistant', 'Fourth, same time as third.', '2023-06-01T00:00:00.000Z')])
        self.assertIsNone(doc['archive_next_cursor'])
        for m in doc['archive']:
            self.assertEqual((m['request_id'], m['pii'], m['source_role'], m['confidence']),
                             (rid, False, m['role'], 1.0), m)
            self.assertEqual(m['trust'], 'stated' if m['role'] == 'user' else 'inferred')
            self.assertRegex(m['recorded_at'], ISO)
        # The buffer and the summary are untouched.
        self.assertEqual(doc['buffer'], [])
        self.assertIsNone(doc['summary']['text'])
        ents = {e['key']: e for e in doc['entities']}
        self.assertEqual(sorted(ents), ['home_city', 'pet'])
        self.assertEqual((ents['home_city']['value'], ents['home_city']['confidence'],
                          ents['home_city']['observed_at']), ('Graz', 0.9, '2023-05-08T13:56:00.000Z'))
        # confidence defaults to 1
        self.assertEqual((ents['pet']['value'], ents['pet']['confidence'], ents['pet']['observed_at']),
                         ('an axolotl named Fizz', 1, '2023-04-01T11:00:00.500Z'))
        for e in ents.values():
            self.assertEqual((e['trust'], e['source_role'], e['request_id'], e['model'], e['pii']),
                             ('stated', 'user', rid, None, False), e)
        info = mh.admin_request(self.proxy, 'GET', '/admin/users?limit=1000').json()['users']
        info = [u for u in info if u['user'] == user]
        self.assertEqual([(u['facts'], u['messages'], u['archived']) for u in info], [(2, 0, 4)])

    def test_searchable_as_soon_as_answered(self):
        # No wait between the answer and the questions: the index is
        # written in the import's transaction.
        user = mh.uid('search')
        filler = [message('user' if i % 2 else 'assistant', 'Routine note %d about the weekly groceries.' % i,
                          '2022-01-%02dT09:00:00Z' % (i + 1)) for i in range(20)]
        filler += [fact('k%02d' % i, 'groceries list item %d' % i, '2022-02-01T00:00:00Z') for i in range(10)]
        lines = filler + [message('user', 'We finally saw the aurora borealis near Tromso.',
                                  '2021-11-03T22:15:00Z'),
                          fact('favorite_composer', 'Hildegard von Bingen', '2020-01-01T00:00:00Z',
                               confidence=0.3)]
        self.imp_ok(user, lines, (21, 11, 0))
        inj = self.ask(user, 'Where did we see the aurora borealis?')
        self.assertIn(('2021-11-03', 'user', 'We finally saw the aurora borealis near Tromso.'),
                      inj.block.past())
        inj = self.ask(user, 'Who is my favorite composer, Hildegard?')
        self.assertEqual(inj.block.fact_dict().get('favorite_composer'), 'Hildegard von Bingen')

    def test_blank_summary_and_history_lines(self):
        user = mh.uid('skip')
        body = mh.ndjson([message('user', 'kept', '2023-01-01T00:00:00Z'),
                          {'type': 'summary', 'text': 'Summary: something', 'updated_at': '2023-01-01T00:00:00Z'},
                          {'type': 'history', 'event': 'added', 'seq': 1}])
        body = b'\n  \t\r\n' + body + b'\n\n'
        r = self.imp(user, body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.import_counts(r), {'messages': 1, 'facts': 0, 'settings': 0, 'skipped': 2, 'past_retention': 0})
        doc = self.mem(user)
        self.assertIsNone(doc['summary']['text'])
        self.assertEqual([m['content'] for m in doc['archive']], ['kept'])

    def test_media_type_parameters_and_jsonl(self):
        for i, ct in enumerate(('application/jsonl', 'application/x-ndjson; charset=utf-8',
                                'Application/X-NDJSON')):
            with self.subTest(content_type=ct):
                user = mh.uid('ct%d' % i)
                r = self.imp(user, [message('user', 'hello', '2023-01-01T00:00:00Z')], content_type=ct)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(len(self.archive(user)), 1)

    def test_long_message_cut_like_a_turn(self):
        user = mh.uid('long')
        text = 'é' * 10000  # 20000 bytes, over the 16 KiB of a message
        self.imp_ok(user, [message('user', text, '2023-01-01T00:00:00Z')], (1, 0, 0))
        got = self.archive(user)[0]['content']
        self.assertTrue(got.endswith('…'), got[-10:])
        self.assertLessEqual(len(got.encode('utf-8')), 16384)
        self.assertGreater(len(got.encode('utf-8')), 16000)
        self.assertEqual(got[:-1], text[:len(got) - 1])


class BadImport(ImportCase):
    GOOD = json.dumps(message('user', 'a fine first line', '2023-01-01T00:00:00Z'))
    GOOD_FACT = json.dumps(fact('city', 'Graz', '2023-01-01T00:00:00Z'))
    AT = '"at":"2023-01-01T00:00:00Z"'
    BAD = (
        ('not JSON', '{"type":"message",', 'not a JSON object'),
        ('not an object', '["message"]', 'not a JSON object'),
        ('unknown type', '{"type":"note","text":"x"}', 'type'),
        ('no type', '{"role":"user","content":"x",%s}' % AT, 'type'),
        ('bad role', '{"type":"message","role":"system","content":"x",%s}' % AT, 'role'),
        ('empty content', '{"type":"message","role":"user","content":"",%s}' % AT, 'content'),
        ('content not a string', '{"type":"message","role":"user","content":["x"],%s}' % AT, 'content'),
        ('bad at', '{"type":"message","role":"user","content":"x","at":"yesterday"}', 'at'),
        ('impossible date', '{"type":"message","role":"user","content":"x","at":"2023-02-30T00:00:00Z"}', 'at'),
        ('no at', '{"type":"fact","key":"k","value":"v"}', 'at'),
        ('bad key', '{"type":"fact","key":"  ","value":"v",%s}' % AT, 'key'),
        ('key too long', '{"type":"fact","key":"%s","value":"v",%s}' % ('k' * 65, AT), 'key'),
        ('empty value', '{"type":"fact","key":"k","value":"",%s}' % AT, 'value'),
        ('value too long', '{"type":"fact","key":"k","value":"%s",%s}' % ('v' * 513, AT), 'value'),
        ('confidence over 1', '{"type":"fact","key":"k","value":"v","confidence":1.5,%s}' % AT, 'confidence'),
        ('confidence negative', '{"type":"fact","key":"k","value":"v","confidence":-0.1,%s}' % AT, 'confidence'),
        ('confidence a string', '{"type":"fact","key":"k","value":"v","confidence":"0.9",%s}' % AT, 'confidence'),
        ('empty id', '{"type":"message","role":"user","content":"x","id":"",%s}' % AT, 'id'),
        ('lang unknown', '{"type":"message","role":"user","content":"x","lang":"xx",%s}' % AT, 'lang'),
        ('lang upper case', '{"type":"message","role":"user","content":"x","lang":"EN",%s}' % AT, 'lang'),
        ('lang not a string', '{"type":"message","role":"user","content":"x","lang":7,%s}' % AT, 'lang'),
        ('id not a string', '{"type":"fact","key":"k","value":"v","id":7,%s}' % AT, 'id'),
        ('id too long', '{"type":"fact","key":"k","value":"v","id":"%s",%s}' % ('i' * 257, AT), 'id'),
        ('duplicate member', '{"type":"message","type":"fact","key":"k","value":"v",%s}' % AT, 'not a JSON object'),
        # what the user API refuses, the import refuses: one rule
        ('value with a control character', '{"type":"fact","key":"k","value":"a\\u0007b",%s}' % AT, 'value'),
        ('value with a C1 control', '{"type":"fact","key":"k","value":"a\\u0085b",%s}' % AT, 'value'),
        ('value only spaces', '{"type":"fact","key":"k","value":" \\t\\n ",%s}' % AT, 'value'),
        ('value with a NUL', '{"type":"fact","key":"k","value":"a\\u0000b",%s}' % AT, 'value'),
        ('role with a NUL', '{"type":"message","role":"user\\u0000x","content":"x",%s}' % AT, 'role'),
        ('type with a NUL', '{"type":"fact\\u0000x","key":"k","value":"v",%s}' % AT, 'type'),
        ('at in year 9999', '{"type":"fact","key":"k","value":"v","at":"9999-12-31T23:59:59Z"}',
         'at: more than a day past now'),
        ('message at in year 9999', '{"type":"message","role":"user","content":"x","at":"9999-01-01T00:00:00Z"}',
         'at: more than a day past now'),
    )

    # what a refusal says of each reason, in words a person reads
    WORDS = {
        'not a JSON object': 'the line is not a JSON object',
        'type': 'field `type` is missing or not message, fact or settings',
        'role': 'field `role` is missing or not user or assistant',
        'content': "field `content` is not a message's content",
        'at': 'its time is missing, not an RFC 3339 time, or before 1970',
        'at: more than a day past now': 'its time is more than a day past now',
        'key': 'field `key` is missing or not a key',
        'value': 'field `value` is missing, empty, too long or holds a control character',
        'confidence': 'field `confidence` is not a number from 0 to 1',
        'id': 'field `id` is not a string of 1 to 256 bytes',
        'lang': 'field `lang` is not a language code such as "en"',
    }

    def assertRefused(self, r, line, field, future=False):
        obj = self.assertOpenAIError(r, 400, 'invalid_import_line')
        msg = obj['error']['message']
        why = self.WORDS[field + (': more than a day past now' if future else '')]
        self.assertEqual(msg, 'Line %d: %s. Nothing was imported.' % (line, why), msg)

    def test_each_bad_line_refuses_the_whole_import(self):
        for what, bad, field in self.BAD:
            with self.subTest(what):
                user = mh.uid('bad')
                # line 3 (after a blank line), with good lines around it
                body = (self.GOOD + '\n\n' + bad + '\n' + self.GOOD_FACT + '\n').encode()
                self.assertRefused(self.imp(user, body), 3, field)
                self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')

    def test_times_past_now_plus_a_day_refused(self):
        # The documented skew: one day past the time of the import.
        user = mh.uid('skew')
        now = time.time() * 1000
        late = mh.iso_ms(now + 25 * 3600 * 1000)
        self.assertRefused(self.imp(user, [fact('city', 'Graz', late)]), 1, 'at', future=True)
        self.assertRefused(self.imp(user, [message('user', 'x', '2023-01-01T00:00:00Z'),
                                           message('user', 'y', late)]), 2, 'at', future=True)
        soon = mh.iso_ms(now + 23 * 3600 * 1000)
        self.imp_ok(user, [fact('city', 'Graz', soon), message('user', 'x', soon)], (1, 1, 0))

    def test_value_trimmed_like_the_user_api(self):
        user = mh.uid('trim')
        self.imp_ok(user, [fact('city', ' \t Graz \n', '2023-01-01T00:00:00Z')], (0, 1, 0))
        self.assertEqual([(e['key'], e['value']) for e in self.mem(user)['entities']], [('city', 'Graz')])
        # the same value through the user API is the same fact
        r = self.proxy.request('PUT', '/v1/memory/entities/city',
                               [('X-User-Id', mh.uid('trim2')), ('Content-Type', 'application/json')],
                               b'{"value":" \\t Graz \\n"}')
        self.assertEqual((r.status, r.json()['value']), (200, 'Graz'), r)

    def test_bad_line_leaves_existing_memory_unchanged(self):
        user = mh.uid('keep')
        self.imp_ok(user, [message('user', 'already here', '2022-01-01T00:00:00Z'),
                           fact('city', 'Oslo', '2022-01-01T00:00:00Z')], (1, 1, 0))
        before = self.mem(user)
        body = mh.ndjson([message('user', 'new one', '2023-01-01T00:00:00Z', id='n1'),
                          fact('city', 'Graz', '2023-01-01T00:00:00Z'),
                          fact('pet', 'cat', '2023-01-01T00:00:00Z', confidence=2)])
        self.assertRefused(self.imp(user, body), 3, 'confidence')
        self.assertEqual(self.mem(user), before)
        # the good lines' id was not remembered either: they import now
        self.imp_ok(user, body.replace(b'"confidence": 2', b'"confidence": 1'), (1, 2, 0))

    def test_last_line_without_newline_counts(self):
        user = mh.uid('last')
        body = (self.GOOD + '\n' + self.GOOD_FACT + '\n' + '{"type":"fact"').encode()
        self.assertRefused(self.imp(user, body), 3, 'not a JSON object')
        r = self.imp(user, (self.GOOD + '\n' + self.GOOD_FACT).encode())
        self.assertEqual(mh.import_counts(r), {'messages': 1, 'facts': 1, 'settings': 0, 'skipped': 0, 'past_retention': 0})

    def test_wrong_content_type_415(self):
        user = mh.uid('ct')
        body = mh.ndjson([message('user', 'x', '2023-01-01T00:00:00Z')])
        for ct in ('application/json', 'text/plain', None, 'application/x-ndjsonx', 'application/jsonlines'):
            with self.subTest(content_type=ct):
                self.assertOpenAIError(self.imp(user, body, content_type=ct), 415, 'unsupported_media_type')
        self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')

    def test_body_over_32_mib_413(self):
        user = mh.uid('big')
        line = mh.ndjson([message('user', 'x', '2023-01-01T00:00:00Z')])
        # Exactly 32 MiB (blank lines are skipped) is taken; one byte more is not.
        body = line + b' ' * (32 * MIB - len(line) - 1) + b'\n'
        self.assertEqual(len(body), 32 * MIB)
        r = self.imp(user, body, timeout=120)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.import_counts(r), {'messages': 1, 'facts': 0, 'settings': 0, 'skipped': 0, 'past_retention': 0})
        r = self.imp(user, body + b'\n', timeout=120)
        self.assertOpenAIError(r, 413, 'body_too_large')
        self.assertEqual(len(self.archive(user)), 1)


class Idempotence(ImportCase):
    def test_same_ids_skipped_nothing_duplicated(self):
        user = mh.uid('ids')
        lines = [message('user', 'I moved to Graz.', '2023-05-08T13:56:00Z', id='m1'),
                 message('assistant', 'Welcome to Graz!', '2023-05-08T13:56:01Z', id='m2'),
                 fact('city', 'Graz', '2023-05-08T13:56:00Z', confidence=0.9, id='f1')]
        self.imp_ok(user, lines, (2, 1, 0))
        before = self.mem(user)
        self.imp_ok(user, lines, (0, 0, 3))
        self.assertEqual(self.mem(user), before)
        # One line new, two seen: only the new one goes in.
        more = lines[:2] + [message('user', 'And I got a bike.', '2023-05-09T08:00:00Z', id='m3')]
        self.imp_ok(user, more, (1, 0, 2))
        self.assertEqual([m['content'] for m in self.archive(user)],
                         ['I moved to Graz.', 'Welcome to Graz!', 'And I got a bike.'])
        # Ids are per user: another user imports the same lines in full.
        self.imp_ok(mh.uid('ids2'), lines, (2, 1, 0))

    def test_lines_without_ids_import_once(self):
        # Without ids an item's import key is derived from what it is
        # (conversation, role, time, content; a fact's key, value, time) and
        # its occurrence among such items in the file: the same file twice
        # stores it once, two alike lines in one file are both kept, and a
        # run after a refused line adds what was missing.
        user = mh.uid('noids')
        lines = [message('user', 'Twice told tale.', '2023-05-08T13:56:00Z'),
                 message('user', 'Twice told tale.', '2023-05-08T13:56:00Z'),
                 message('user', 'Twice told tale.', '2023-05-08T13:56:01Z', conversation='00000000000000aa'),
                 fact('city', 'Graz', '2023-05-08T13:56:00Z')]
        self.imp_ok(user, lines, (3, 1, 0))
        r = self.imp_ok(user, lines, (0, 0, 4))
        self.assertEqual(r.json()['skipped_by_reason'], {'already_imported': 3, 'fact_kept_out': 1})
        self.assertEqual([m['content'] for m in self.archive(user)], ['Twice told tale.'] * 3)
        self.assertEqual([(e['key'], e['value']) for e in self.mem(user)['entities']], [('city', 'Graz')])
        # a third alike line is new; the others are not
        self.imp_ok(user, lines[:2] + lines[1:2], (1, 0, 2))
        self.assertEqual(len(self.archive(user)), 4)

    def test_weaker_or_older_fact_is_skipped(self):
        user = mh.uid('prec')
        r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/entities/city' % mh.qid(user),
                             b'{"value":"Oslo"}', 'application/json')
        self.assertEqual(r.status, 200, r)
        self.imp_ok(user, [fact('city', 'Graz', mh.iso_ms(time.time() * 1000 + 3600 * 1000)),
                           fact('pet', 'cat', '2023-01-01T00:00:00Z')], (0, 1, 1))
        self.imp_ok(user, [fact('pet', 'dog', '2022-01-01T00:00:00Z')], (0, 0, 1))
        ents = {e['key']: (e['value'], e['trust']) for e in self.mem(user)['entities']}
        self.assertEqual(ents, {'city': ('Oslo', 'admin'), 'pet': ('cat', 'stated')})
        self.imp_ok(user, [fact('pet', 'dog', '2024-01-01T00:00:00Z')], (0, 1, 0))
        self.assertEqual({e['key']: e['value'] for e in self.mem(user)['entities']},
                         {'city': 'Oslo', 'pet': 'dog'})


class Pii(ImportCase):
    LINES = [message('user', 'Mail me at ada@example.com please.', '2023-01-01T00:00:00Z'),
             message('user', 'Nothing personal here.', '2023-01-02T00:00:00Z'),
             fact('email', 'ada@example.com', '2023-01-01T00:00:00Z'),
             fact('city', 'Graz', '2023-01-01T00:00:00Z')]

    def test_pii_mode_drop_skips_the_items(self):
        p = self.start_proxy(sections=sections({'governance': {'pii_mode': 'drop'}}))
        user = mh.uid('drop')
        self.imp_ok(user, self.LINES, (1, 1, 2), proxy=p)
        doc = self.mem(user, proxy=p)
        self.assertEqual([m['content'] for m in doc['archive']], ['Nothing personal here.'])
        self.assertEqual([(e['key'], e['value']) for e in doc['entities']], [('city', 'Graz')])
        self.assertNotIn('example.com', json.dumps(doc))

    def test_pii_mode_redact_masks_the_items(self):
        p = self.start_proxy(sections=sections({'governance': {'pii_mode': 'redact'}}))
        user = mh.uid('redact')
        self.imp_ok(user, self.LINES, (2, 2, 0), proxy=p)
        doc = self.mem(user, proxy=p)
        self.assertEqual([(m['content'], m['pii']) for m in doc['archive']],
                         [('Mail me at [redacted] please.', False), ('Nothing personal here.', False)])
        ents = {e['key']: (e['value'], e['pii']) for e in doc['entities']}
        self.assertEqual(ents, {'email': ('[redacted]', False), 'city': ('Graz', False)})
        self.assertNotIn('example.com', json.dumps(doc))

    def test_pii_mode_store_flags_the_items(self):
        user = mh.uid('store')
        self.imp_ok(user, self.LINES, (2, 2, 0))
        doc = self.mem(user)
        self.assertEqual([(m['content'], m['pii']) for m in doc['archive']],
                         [('Mail me at ada@example.com please.', True), ('Nothing personal here.', False)])
        self.assertEqual({e['key']: e['pii'] for e in doc['entities']}, {'email': True, 'city': False})


class Limits(ImportCase):
    def test_facts_past_the_maximum_409_nothing_imported(self):
        p = self.start_proxy(sections=sections(), memory={'mode': 'hybrid', 'max_facts_per_user': 3})
        user = mh.uid('full')
        four = [fact('k%d' % i, 'v%d' % i, '2023-01-01T00:00:00Z') for i in range(4)]
        r = self.imp(user, four + [message('user', 'with a message', '2023-01-01T00:00:00Z')], proxy=p)
        self.assertOpenAIError(r, 409, 'memory_full')
        self.assertOpenAIError(mh.admin_memory(p, user), 404, 'not_found')
        self.imp_ok(user, four[:2], (0, 2, 0), proxy=p)
        before = self.mem(user, proxy=p)
        r = self.imp(user, [message('user', 'x', '2023-01-01T00:00:00Z')] + four[2:], proxy=p)
        self.assertOpenAIError(r, 409, 'memory_full')
        self.assertEqual(self.mem(user, proxy=p), before)
        # New values of the keys it has, and one new key: within the maximum.
        self.imp_ok(user, [fact('k0', 'w0', '2024-01-01T00:00:00Z'), fact('k1', 'w1', '2024-01-01T00:00:00Z'),
                           four[2]], (0, 3, 0), proxy=p)
        self.assertEqual({e['key']: e['value'] for e in self.mem(user, proxy=p)['entities']},
                         {'k0': 'w0', 'k1': 'w1', 'k2': 'v2'})

    def test_messages_with_archive_off_409(self):
        p = self.start_proxy(sections=sections(), memory={'mode': 'hybrid', 'archive': 'false'})
        user = mh.uid('noarch')
        r = self.imp(user, [fact('city', 'Graz', '2023-01-01T00:00:00Z'),
                            message('user', 'x', '2023-01-01T00:00:00Z')], proxy=p)
        self.assertOpenAIError(r, 409, 'archive_disabled')
        self.assertOpenAIError(mh.admin_memory(p, user), 404, 'not_found')
        self.imp_ok(user, [fact('city', 'Graz', '2023-01-01T00:00:00Z')], (0, 1, 0), proxy=p)


class StoreFull(ImportCase):
    def test_full_store_507_logged_on_readyz_nothing_half_applied(self):
        # [storage] map_size_mb = 1: the map grows to 64 MiB at most.
        p = self.start_proxy(sections=sections(), memory={'mode': 'hybrid'}, storage={'map_size_mb': 1})
        secret = 'zqxsecretcontent'
        big = ['%s %05d ' % (secret, i) + 'z' * 16000 for i in range(1900)]  # ~30 MiB a body
        kept, full = [], None
        for n in range(8):
            user = mh.uid('full%d' % n)
            lines = [message('user', t, '2023-01-01T00:00:00Z') for t in big]
            lines.append(fact('city', 'Graz', '2023-01-01T00:00:00Z'))
            mark = p.log_count()
            r = self.imp(user, lines, proxy=p, timeout=120)
            if r.status != 200:
                full = user
                break
            kept.append(user)
        self.assertIsNotNone(full, 'the store never filled')
        self.assertGreater(len(kept), 0)
        obj = self.assertOpenAIError(r, 507, 'storage_full')
        self.assertEqual(obj['error']['type'], 'server_error')
        rid = r.header('x-request-id')
        # nothing of the refused import, all of the earlier ones
        self.assertOpenAIError(mh.admin_memory(p, full), 404, 'not_found')
        for user in kept[:1]:
            info = mh.admin_request(p, 'GET', '/admin/users?limit=1000').json()['users']
            self.assertEqual([(u['facts'], u['archived']) for u in info if u['user'] == user], [(1, 1900)])
        r = p.admin('/readyz')
        self.assertEqual((r.status, bytes(r.body)), (200, b'degraded: storage_full\n'))
        self.assertEqual(p.metric('memproxy_storage_writable'), 0)
        self.assertEqual(p.metric('memproxy_imports_total', result='storage_full'), 1)
        self.assertEqual(p.metric('memproxy_imports_total', result='ok'), len(kept))
        # the memory worker logs it; the log may reach its file just after the answer
        mh.wait_for(lambda: any(o.get('msg') == 'import not stored: memory store full'
                                for o in p.log_objects(mark)), what='the refusal logged')
        logged = [o for o in p.log_objects(mark) if o.get('msg') == 'import not stored: memory store full']
        self.assertEqual(len(logged), 1, p.log_objects(mark))
        self.assertEqual((logged[0]['lines'], logged[0]['request_id']), (1901, rid))
        self.assertNotIn(secret, '\n'.join(p.log_lines()))
        # a small import fits: it is stored, and the state clears
        self.imp_ok(mh.uid('small'), [fact('city', 'Graz', '2023-01-01T00:00:00Z')], (0, 1, 0), proxy=p)
        r = p.admin('/readyz')
        self.assertEqual((r.status, bytes(r.body)), (200, b'ready\n'))


DAY_MS = 24 * 3600 * 1000


class Retention(ImportCase):
    """Retention of imported items counts from their receipt unless the
    import says retention=item; the answer counts the lines past retention
    by their own time; an id never outlives its item."""

    def start_at(self, data, days, idempotency_hours=24, **gov):
        env = {'MEMPROXY_TEST_CLOCK_OFFSET_MS': str(int(days * DAY_MS))} if days else None
        g = {'pii_retention_days': 0}
        g.update(gov)
        return self.start_proxy(sections=sections({'governance': g}), storage={'path': data}, env=env,
                                memory={'mode': 'hybrid', 'idempotency_hours': idempotency_hours})

    def sweep(self, p):
        r = mh.admin_request(p, 'POST', '/admin/sweep')
        self.assertEqual(r.status, 200, r)
        return r.json()['purged']

    def contents(self, p, user):
        r = mh.admin_memory(p, user)
        if r.status == 404:
            return [], []
        self.assertEqual(r.status, 200, r)
        return ([m['content'] for m in self.archive(user, proxy=p)],
                sorted(e['value'] for e in r.json()['entities']))

    def test_old_history_kept_a_retention_period_from_receipt(self):
        data = self.storage_dir()
        user = mh.uid('old')
        old = mh.iso_ms(time.time() * 1000 - 700 * DAY_MS)
        lines = [message('user', 'two years ago', old, id='m1'), message('assistant', 'indeed', old, id='m2'),
                 fact('city', 'Graz', old, id='f1')]
        p = self.start_at(data, 0, retention_days=30)
        self.imp_ok(user, lines, (2, 1, 0, 3), proxy=p)
        self.assertEqual(self.sweep(p)['messages'], 0)
        want = (['two years ago', 'indeed'], ['Graz'])
        self.assertEqual(self.contents(p, user), want)
        # their own time still orders and dates them
        self.assertEqual({m['at'] for m in self.archive(user, proxy=p)}, {old})
        self.stop_checked(p)
        p = self.start_at(data, 29, retention_days=30)
        purged = self.sweep(p)  # the pass at start took the ids (24 hours)
        self.assertEqual((purged['facts'], purged['messages']), (0, 0))
        self.assertEqual(self.contents(p, user), want)
        self.stop_checked(p)
        p = self.start_at(data, 31, retention_days=30)
        self.sweep(p)
        self.assertEqual(self.contents(p, user), ([], []))

    def test_retention_item_imports_only_what_is_not_past(self):
        data = self.storage_dir()
        user = mh.uid('item')
        now = time.time() * 1000
        old, recent = mh.iso_ms(now - 700 * DAY_MS), mh.iso_ms(now - DAY_MS)
        lines = [message('user', 'long ago', old, id='m1'), fact('city', 'Graz', old, id='f1'),
                 message('user', 'yesterday', recent, id='m2')]
        p = self.start_at(data, 0, retention_days=30)
        path = '/admin/users/%s/import?retention=item' % mh.qid(user)
        r = mh.admin_request(p, 'POST', path, mh.ndjson(lines), mh.NDJSON)
        self.assertEqual(mh.import_counts(r), {'messages': 1, 'facts': 0, 'settings': 0, 'skipped': 0, 'past_retention': 2})
        got = self.archive(user, proxy=p)
        # recorded at its own time: retention counts from it
        self.assertEqual([(m['content'], m['at'], m['recorded_at']) for m in got], [('yesterday', recent, recent)])
        # the lines not imported left no id behind; the one imported did
        self.imp_ok(user, lines, (1, 1, 1, 2), proxy=p)
        self.stop_checked(p)
        # 29.5 days on: the line dated yesterday is 30.5 days old, the others
        # were received 29.5 days ago
        p = self.start_at(data, 29.5, retention_days=30)
        self.sweep(p)
        self.assertEqual(self.contents(p, user), (['long ago'], ['Graz']))
        for bad in ('retention=items', 'retention=', 'retention=item&retention=item'):
            r = mh.admin_request(p, 'POST', '/admin/users/%s/import?%s' % (mh.qid(user), bad), mh.ndjson(lines),
                                 mh.NDJSON)
            self.assertOpenAIError(r, 400, 'invalid_parameter')

    def test_purged_line_id_does_not_block_a_reimport(self):
        # The ids' window (48 hours) is longer than retention (1 day).
        data = self.storage_dir()
        user = mh.uid('reimp')
        line = [message('user', 'remember me', mh.iso_ms(time.time() * 1000), id='m1')]
        p = self.start_at(data, 0, retention_days=1, idempotency_hours=48)
        self.imp_ok(user, line, (1, 0, 0), proxy=p)
        self.imp_ok(user, line, (0, 0, 1), proxy=p)
        self.stop_checked(p)
        p = self.start_at(data, 1.5, retention_days=1, idempotency_hours=48)
        self.sweep(p)
        self.assertEqual(self.contents(p, user), ([], []))
        self.imp_ok(user, line, (1, 0, 0, 1), proxy=p)  # its own time is past now
        self.assertEqual(self.contents(p, user), (['remember me'], []))


class Paging(ImportCase):
    def ten(self, user):
        lines = [message('user' if i % 2 == 0 else 'assistant', 'message number %02d' % i,
                         '2023-03-%02dT12:00:00Z' % (i + 1)) for i in range(10)]
        # out of order in the body
        self.imp_ok(user, lines[5:] + lines[:5], (10, 0, 0))
        return ['message number %02d' % i for i in range(10)]

    def test_admin_pages_visit_each_message_once_in_order(self):
        user = mh.uid('page')
        want = self.ten(user)
        pages = mh.archive_pages(self.proxy, user, 3)
        self.assertEqual([len(pg) for pg in pages], [3, 3, 3, 1])
        self.assertEqual([m['content'] for pg in pages for m in pg], want)
        self.assertEqual([m['content'] for pg in mh.archive_pages(self.proxy, user, 5) for m in pg], want)
        whole = self.mem(user)
        self.assertEqual([m['content'] for m in whole['archive']], want)
        self.assertIsNone(whole['archive_next_cursor'])

    def test_user_reads_own_archive_pages(self):
        user = mh.uid('self')
        want = self.ten(user)
        pages = mh.archive_pages(self.proxy, user, 3, admin=False)
        self.assertEqual([len(pg) for pg in pages], [3, 3, 3, 1])
        self.assertEqual([m['content'] for pg in pages for m in pg], want)
        self.assertEqual(set(pages[0][0].keys()), {'role', 'content', 'at'})
        # another user's cursor space is the user's own: nothing of user's shows
        other = mh.uid('other')
        self.imp_ok(other, [message('user', 'not yours', '2023-01-01T00:00:00Z')], (1, 0, 0))
        self.assertEqual([m['content'] for pg in mh.archive_pages(self.proxy, other, 3, admin=False)
                          for m in pg], ['not yours'])

    def test_export_pages_follow_x_next_cursor(self):
        user = mh.uid('exp')
        want = self.ten(user)
        self.imp_ok(user, [fact('city', 'Graz', '2023-01-01T00:00:00Z')], (0, 1, 0))
        pages, cursor = [], None
        while True:
            path = '/admin/users/%s/export?limit=3' % mh.qid(user) + ('' if cursor is None else '&cursor=' + cursor)
            r = mh.admin_request(self.proxy, 'GET', path)
            self.assertEqual(r.status, 200, r)
            pages.append([json.loads(ln) for ln in bytes(r.body).decode('utf-8').splitlines()])
            cursor = r.header('x-next-cursor')
            if cursor is None:
                break
            self.assertLess(len(pages), 20)
        self.assertGreaterEqual(len(pages), 4)
        self.assertEqual([ln['type'] for ln in pages[0]][:1], ['fact'])
        for pg in pages:  # limit counts fact, message and history lines
            self.assertLessEqual(sum(1 for ln in pg if ln['type'] != 'summary'), 3, pg)
        order = ['settings', 'fact', 'message', 'summary', 'history']
        types = [ln['type'] for pg in pages for ln in pg]
        self.assertEqual(types, sorted(types, key=order.index), 'the parts out of order')
        msgs = [ln['content'] for pg in pages for ln in pg if ln['type'] == 'message']
        self.assertEqual(msgs, want)
        self.assertEqual(sum(1 for pg in pages for ln in pg if ln['type'] == 'fact'), 1)

    def test_forged_cursor_400(self):
        user = mh.uid('forge')
        self.ten(user)
        for cursor in ('abc', '0', '007', '-1', '1_', '9' * 21, '99999999999999999999'):
            with self.subTest(cursor=cursor):
                self.assertOpenAIError(mh.admin_memory(self.proxy, user, '?cursor=' + cursor), 400,
                                       'invalid_parameter')
                r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export?cursor=%s' % (mh.qid(user), cursor))
                self.assertOpenAIError(r, 400, 'invalid_parameter')
                r = self.proxy.request('GET', '/v1/memory?cursor=' + cursor, [('X-User-Id', user)])
                self.assertOpenAIError(r, 400, 'invalid_parameter')
        for q in ('?limit=0', '?limit=1001', '?limit=x', '?limit=3&limit=3'):
            with self.subTest(query=q):
                r = self.proxy.request('GET', '/v1/memory' + q, [('X-User-Id', user)])
                self.assertOpenAIError(r, 400, 'invalid_parameter')


class RoundTrip(ImportCase):
    PROXY_CONFIG = {'workers': 2, 'sections': sections(),
                    'memory': {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2}}

    def export_all(self, proxy, user):
        """Every export line of user, following X-Next-Cursor with limit=2."""
        body, cursor, pages = b'', None, 0
        while True:
            path = '/admin/users/%s/export?limit=2' % mh.qid(user) + ('' if cursor is None else '&cursor=' + cursor)
            r = mh.admin_request(proxy, 'GET', path)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('content-type'), 'application/x-ndjson')
            body += bytes(r.body)
            pages += 1
            cursor = r.header('x-next-cursor')
            if cursor is None:
                return body, pages
            self.assertLess(pages, 100)

    def test_export_imports_back_as_the_same_facts_and_archive(self):
        a = mh.uid('alice')
        # Imported first, so that A's archive is in time order (an import
        # sorts its messages by time: an archive recorded out of time order
        # would come back sorted).
        self.imp_ok(a, [fact('instrument', 'cello', '2021-06-01T08:00:00.250Z', confidence=0.55),
                        message('assistant', 'An imported old answer.', '2020-02-29T23:59:59.999Z'),
                        message('user', 'An imported old question.', '2020-02-29T23:59:59.999Z')], (2, 1, 0))
        for text in ('My name is Ida. I live in Ghent.', 'I use Rust at work.',
                     'Quotes "inside" | pipes and a\nnewline, and ünïcödé.'):
            self.assertOK(mh.send(self.proxy, a, text))
        mh.wait_memory(self.proxy, a, lambda m: {'name', 'city', 'tools'} <= set(mh.entity_map(m)),
                       what='the extracted facts')
        mh.wait_idle(self.proxy)
        r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/entities/pet' % mh.qid(a),
                             b'{"value":"a beagle"}', 'application/json')
        self.assertEqual(r.status, 200, r)
        src = self.mem(a)
        src_archive = self.archive(a)
        self.assertEqual(len(src_archive), 8)
        self.assertIsNotNone(src['summary']['text'])
        body, pages = self.export_all(self.proxy, a)
        self.assertGreaterEqual(pages, 7)  # 5 facts and 8 messages, 2 a page, then the history

        # A fresh memproxy: an empty store.
        p = self.start_proxy(sections=sections())
        b = mh.uid('bob')
        nsum = sum(1 for ln in body.splitlines() if json.loads(ln)['type'] in ('summary', 'history'))
        self.assertGreater(nsum, 0)
        self.imp_ok(b, body, (8, 5, nsum), proxy=p)
        dst = self.mem(b, proxy=p)

        def facts(doc):
            return sorted((e['key'], e['value'], e['confidence'], e['observed_at']) for e in doc['entities'])

        self.assertEqual(facts(dst), facts(src))
        self.assertEqual(len(dst['entities']), 5)

        def msgs(archive):
            return [(m['role'], m['content'], m['at']) for m in archive]

        self.assertEqual(msgs(self.archive(b, proxy=p)), msgs(src_archive))
        # The archive: the messages only; the buffer and summary are new.
        self.assertEqual(dst['buffer'], [])
        self.assertIsNone(dst['summary']['text'])

    def test_archive_out_of_time_order_comes_back_sorted(self):
        # Documented by this test: the archive keeps the order messages
        # were recorded in, an import sorts its own by time.
        a = mh.uid('late')
        self.assertOK(mh.send(self.proxy, a, 'A turn recorded today.'))
        mh.wait_idle(self.proxy)
        self.imp_ok(a, [message('user', 'An old question.', '2020-01-01T00:00:00Z'),
                        message('assistant', 'An old answer.', '2020-01-01T00:00:00Z')], (2, 0, 0))
        src = [(m['role'], m['content'], m['at']) for m in self.archive(a)]
        self.assertEqual([c for _, c, _ in src],
                         ['A turn recorded today.', mh.REPLY, 'An old question.', 'An old answer.'])
        body, _ = self.export_all(self.proxy, a)
        p = self.start_proxy(sections=sections())
        b = mh.uid('sorted')
        r = self.imp(b, body, proxy=p)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(m['role'], m['content'], m['at']) for m in self.archive(b, proxy=p)],
                         sorted(src, key=lambda m: m[2]))

    def test_language_stored_given_or_identified(self):
        # "lang" as given (Turkish text without a Turkish stop word would
        # read as English), identified when absent or null; the archive and
        # the export give it back, and the export imports back with it.
        user = mh.uid('lang')
        self.imp_ok(user, [message('user', 'Tenis derslerim Moda kortlarında.', '2024-03-01T10:00:00Z',
                                   lang='tr'),
                           message('user', '我女儿周六在杭州参加钢琴演奏会。', '2024-03-02T10:00:00Z'),
                           message('user', 'Моя дочь играет на фортепиано.', '2024-03-03T10:00:00Z',
                                   lang=None)], (3, 0, 0))
        got = [m['lang'] for m in self.archive(user)]
        self.assertEqual(got, ['tr', 'zh', 'ru'])
        body, _ = self.export_all(self.proxy, user)
        lines = [json.loads(ln) for ln in body.decode().splitlines() if ln.strip()]
        lines = [ln for ln in lines if ln.get('type') == 'message']
        self.assertEqual([ln['lang'] for ln in lines], ['tr', 'zh', 'ru'])
        again = mh.uid('lang2')
        self.imp_ok(again, lines, (3, 0, 0))
        self.assertEqual([m['lang'] for m in self.archive(again)], ['tr', 'zh', 'ru'])


def odd_text(rng, lo=1, hi=12):
    return ''.join(rng.choice(ODD + WORDS) for _ in range(rng.randint(lo, hi)))


def fact_value(rng):
    """A value the user API takes: no control characters, not blank."""
    clean = [c for c in ODD if ord(c[0]) >= 0x20 and not 0x7f <= ord(c[0]) <= 0x9f] + WORDS
    return rng.choice(WORDS) + ''.join(rng.choice(clean) for _ in range(rng.randint(0, 8)))


def edge_time(rng, now_ms):
    """An item time: the epoch, its first millisecond, a leap day, a leap
    second, an offset, just under the documented skew, or any time."""
    return rng.choice(['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.001Z', '2000-02-29T23:59:59.999Z',
                       '2016-12-31T23:59:60Z', '2023-05-08T15:56:00.123456+02:00',
                       mh.iso_ms(now_ms + 23 * 3600 * 1000), mh.iso_ms(rng.randint(0, int(now_ms)))])


# Characters that have broken round trips: controls (NUL first), escapes,
# line and paragraph separators, a BOM, astral and noncharacter code points.
ODD = ['\x00', '\x01', '\x08', '\x1f', '\x7f', '\x85', '\x9f', '\u2028', '\u2029', '\ufeff', '\ufffd',
       '\uffff', '\U0001F600', '\U0010FFFF', 'é', '\\', '"', '\\u0000', '\\n', '\n', '\r\n', '\t', '/', '<', ' ']
WORDS = ['Graz', 'cello', 'axolotl', 'tram', 'ünïcödé', '東京', 'x']


class PropertyRoundTrip(ImportCase):
    """Every export imports into an empty store as the same memory: random
    memories made through the APIs (recorded turns, the user's and the
    admin's values, imports with edge times, settings), exported, imported
    into a fresh memproxy, exported again."""
    PROXY_CONFIG = {'workers': 2, 'sections': sections(),
                    'memory': {'mode': 'buffer', 'buffer_messages': 4, 'summarize_at': 1000}}

    def make(self, rng, user, now_ms):
        lines = [message(rng.choice(['user', 'assistant']), odd_text(rng), edge_time(rng, now_ms))
                 for _ in range(rng.randint(0, 6))]
        lines += [fact('k%d' % i, fact_value(rng), edge_time(rng, now_ms),
                       confidence=rng.choice([0, 1, 0.5, 0.123456789, 1e-9]))
                  for i in range(rng.randint(0, 4))]
        if lines:
            self.assertEqual(self.imp(user, lines).status, 200)
        for _ in range(rng.randint(0, 3)):
            self.assertOK(mh.send(self.proxy, user, odd_text(rng)))
        if rng.random() < 0.5:
            body = json.dumps({'value': fact_value(rng)}).encode()
            r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/entities/admin_set' % mh.qid(user),
                                 body, 'application/json')
            self.assertEqual(r.status, 200, r)
        if rng.random() < 0.3:
            r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/settings' % mh.qid(user),
                                 json.dumps({'mode': rng.choice(['read', 'off'])}).encode(), 'application/json')
            self.assertEqual(r.status, 200, r)

    def export(self, proxy, user):
        """The export's body; None when nothing is stored for user."""
        r = mh.admin_request(proxy, 'GET', '/admin/users/%s/export' % mh.qid(user))
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, r)
        return bytes(r.body)

    @staticmethod
    def memory(body):
        """What an export says the memory is: the setting, the facts, the
        messages in time order (an import sorts its own by time)."""
        items = [json.loads(ln) for ln in body.splitlines()]
        facts = sorted((i['key'], i['value'], i['confidence'], i['observed_at']) for i in items if i['type'] == 'fact')
        msgs = [(i['role'], i['content'], i['at']) for i in items if i['type'] == 'message']
        mode = [i['mode'] for i in items if i['type'] == 'settings']
        return mode, facts, sorted(msgs, key=lambda m: m[2])

    def test_nul_in_a_turn_and_the_epoch_import_back(self):
        user = mh.uid('nul')
        self.assertOK(mh.send(self.proxy, user, 'before\x00after'))
        self.imp_ok(user, [message('user', 'at the epoch', '1970-01-01T00:00:00Z'),
                           fact('born', 'at the epoch', '1970-01-01T00:00:00Z')], (1, 1, 0))
        mh.wait_idle(self.proxy)
        first = self.export(self.proxy, user)
        items = [json.loads(ln) for ln in first.splitlines()]
        # a NUL the user sent is kept as U+FFFD (issue 51: recorded, never refused)
        self.assertIn(('message', 'before\ufffdafter'), [(i['type'], i.get('content')) for i in items])
        self.assertEqual([i.get('at', i.get('observed_at')) for i in items if 'epoch' in i.get('content', i.get('value', ''))],
                         ['1970-01-01T00:00:00.000Z'] * 2)
        p = self.start_proxy(sections=sections())
        self.assertEqual(self.imp(user, first, proxy=p).status, 200)
        self.assertEqual(self.memory(self.export(p, user)), self.memory(first))

    def test_every_export_imports_back_as_the_same_memory(self):
        seed = int(os.environ.get('MPTEST_SEED', time.time()))
        rng = random.Random(seed)
        now_ms = time.time() * 1000
        users = [mh.uid('prop%d' % i) for i in range(20)]
        for user in users:
            self.make(rng, user, now_ms)
        mh.wait_idle(self.proxy)
        p = self.start_proxy(sections=sections())
        for user in users:
            first = self.export(self.proxy, user)
            if first is None:
                continue  # nothing made: nothing to carry
            r = self.imp(user, first, proxy=p)
            self.assertEqual(r.status, 200, 'seed %d: %r' % (seed, r))
            again = self.export(p, user)
            self.assertEqual(self.memory(again), self.memory(first), 'seed %d, export:\n%s' % (seed, first))


if __name__ == '__main__':
    harness.main('proxy_import')
