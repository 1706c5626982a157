"""History from other assistants (docs/admin-import-export.md "History from other
assistants"; issue 65, requirements 4 to 6): POST /admin/users/{id}/import
?format=chatgpt|claude|memory-text and `memproxy ctl users import --format`
take a ChatGPT or Claude data export (its ZIP or its conversations.json) or
another assistant's memory as text; what the store holds after (admin
memory and export); the same file twice stores it once, and a run after a
refused line adds only what was missing; an item dated past now plus a day
is refused naming its line, and counted; a dry run stores nothing and says
what extraction would cost; the imported turns reach the memory model in
batches, bounded by [memory] import_extract_max_tokens. The export files
are the hand-made fixtures of tests/core/import/data (README.md there)."""

import io
import json
import os
import pty
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_ctl import run_ctl  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'core', 'import', 'data')
SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN},
            'governance': {'retention_days': 0, 'pii_retention_days': 0}}
NEVER = 3600

CHATGPT_TEXTS = ['I am moving to Graz next month.', 'Graz is lovely. Do you need help with the move?',
                 'Here is a photo of my new flat in Graz.', 'The flat looks bright and spacious.',
                 'Also, I love hiking.', 'My cat is called Miso.', 'Miso is a lovely name.']
CHATGPT_SKIPPED = {'hidden': 1, 'tool': 2, 'reasoning': 1, 'image': 1, 'audio': 1, 'other_branch': 2}
CLAUDE_TEXTS = ['I grow tomatoes on my balcony.', 'Tomatoes love sun.', 'See my notes, I water them twice a day.',
                'I am learning Italian.', 'Bravo! How long have you studied?', 'Three months.', 'A good start.']
MEMORY_VALUES = ['Lives in Graz, Austria.', 'Name: Alex', 'Has a cat called Miso', 'Prefers metric units',
                 'Works as a software engineer at a bike shop', 'Enjoys hiking in the Alps',
                 'Is learning Italian', 'Wants reminders in the morning']


def fixture(name):
    with open(os.path.join(DATA, name), 'rb') as f:
        return f.read()


def turn_texts(req):
    """The user lines of an extraction call's transcript, in order."""
    doc = mh.body_json(req)
    text = doc['messages'][-1]['content']
    return [line[len('user: '):] for line in text.split('\n') if line.startswith('user: ')]


def chatgpt_export(convs):
    """A conversations.json of convs: [(id, [(role, text, seconds)])], each
    a straight branch."""
    out = []
    for cid, msgs in convs:
        mapping, parent = {}, None
        for i, (role, text, t) in enumerate(msgs):
            nid = '%s-n%d' % (cid, i)
            mapping[nid] = {'id': nid, 'parent': parent, 'children': [],
                            'message': {'id': nid, 'author': {'role': role}, 'create_time': t,
                                        'content': {'content_type': 'text', 'parts': [text]}}}
            if parent:
                mapping[parent]['children'].append(nid)
            parent = nid
        out.append({'id': cid, 'title': cid, 'create_time': msgs[0][2], 'mapping': mapping,
                    'current_node': parent})
    return json.dumps(out).encode()


class FormatCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS,
                    'memory': {'mode': 'entity', 'import_extract_max_tokens': 0}}

    def imp(self, user, body, fmt, proxy=None, query='', ctype='application/octet-stream'):
        path = '/admin/users/%s/import?format=%s%s' % (mh.qid(user), fmt, query)
        return mh.admin_request(proxy or self.proxy, 'POST', path, body, ctype, timeout=120)

    def imp_ok(self, user, body, fmt, **kw):
        r = self.imp(user, body, fmt, **kw)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def export(self, user, proxy=None):
        r = mh.admin_request(proxy or self.proxy, 'GET', '/admin/users/%s/export?limit=1000' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        return [json.loads(ln) for ln in r.body.splitlines()]

    def messages(self, user, proxy=None):
        return [i for i in self.export(user, proxy) if i['type'] == 'message']

    def refused_metric(self, fmt, reason, proxy=None):
        return (proxy or self.proxy).metric('memproxy_imports_refused_total', format=fmt, reason=reason) or 0


class Conversations(FormatCase):
    def test_chatgpt_export_keeps_the_kept_branch_by_conversation(self):
        user = mh.uid('gpt')
        doc = self.imp_ok(user, fixture('chatgpt_conversations.json'), 'chatgpt')
        self.assertEqual((doc['messages'], doc['facts'], doc['conversations']), (7, 0, 2), doc)
        self.assertEqual(doc['skipped_by_reason'], CHATGPT_SKIPPED)
        self.assertEqual(doc['skipped'], sum(CHATGPT_SKIPPED.values()))
        msgs = self.messages(user)
        self.assertEqual([m['content'] for m in msgs], CHATGPT_TEXTS)
        # float seconds, to the millisecond; a message without a time takes the one before's
        self.assertEqual(msgs[0]['at'], '2023-05-08T13:56:01.250Z')
        self.assertEqual(msgs[3]['at'], '2023-05-08T13:56:43.000Z')
        # each conversation one digest, rule client; the two differ
        convs = [m['conversation'] for m in msgs]
        self.assertEqual(len(set(convs[:5])), 1)
        self.assertEqual(len(set(convs[5:])), 1)
        self.assertNotEqual(convs[0], convs[5])
        self.assertEqual({m['conversation_rule'] for m in msgs}, {'client'})
        self.assertRegex(convs[0], r'^[0-9a-f]{16}$')

    def test_chatgpt_zip_imports_as_its_conversations_json(self):
        a, b = mh.uid('gptjson'), mh.uid('gptzip')
        self.imp_ok(a, fixture('chatgpt_conversations.json'), 'chatgpt')
        doc = self.imp_ok(b, fixture('chatgpt_export.zip'), 'chatgpt', ctype='application/zip')
        self.assertEqual(doc['messages'], 7)
        strip = [(m['role'], m['content'], m['at']) for m in self.messages(b)]
        self.assertEqual(strip, [(m['role'], m['content'], m['at']) for m in self.messages(a)])

    def test_claude_export_text_blocks_by_conversation(self):
        user = mh.uid('claude')
        doc = self.imp_ok(user, fixture('claude_export.zip'), 'claude')
        self.assertEqual(doc['messages'], 7, doc)
        self.assertEqual(doc['skipped_by_reason'],
                         {'reasoning': 1, 'tool': 2, 'file': 1, 'image': 1, 'other_branch': 1})
        msgs = self.messages(user)
        self.assertEqual([m['content'] for m in msgs], CLAUDE_TEXTS)
        self.assertEqual(msgs[0]['at'], '2024-03-01T10:00:01.123Z')
        self.assertEqual(len({m['conversation'] for m in msgs}), 2)

    def test_same_file_twice_stores_it_once(self):
        for fmt, name in (('chatgpt', 'chatgpt_export.zip'), ('claude', 'claude_conversations.json')):
            with self.subTest(fmt):
                user = mh.uid('twice')
                self.imp_ok(user, fixture(name), fmt)
                before = self.export(user)
                doc = self.imp_ok(user, fixture(name), fmt)
                self.assertEqual((doc['messages'], doc['skipped_by_reason'].get('already_imported')), (0, 7), doc)
                self.assertEqual(self.export(user), before)

    def test_memproxy_export_imported_twice_is_stored_once(self):
        # today's export writes no ids: the import derives them
        src, dst = mh.uid('src'), mh.uid('dst')
        self.imp_ok(src, fixture('chatgpt_conversations.json'), 'chatgpt')
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export' % mh.qid(src))
        lines = [ln for ln in r.body.splitlines() if b'"message"' in ln]
        for _ in range(2):
            r = mh.import_lines(self.proxy, dst, b'\n'.join(lines) + b'\n')
            self.assertEqual(r.status, 200, r)
        self.assertEqual([m['content'] for m in self.messages(dst)], CHATGPT_TEXTS)

    def test_a_run_after_a_refused_line_adds_only_what_was_missing(self):
        user = mh.uid('resume')
        first = [('c1', [('user', 'I play the cello.', 1700000000), ('assistant', 'Lovely!', 1700000001)])]
        self.imp_ok(user, chatgpt_export(first), 'chatgpt')
        late = time.time() + 3 * 86400
        broken = first + [('c2', [('user', 'I moved to Oslo.', 1700000100), ('assistant', 'Brr.', late)])]
        r = self.imp(user, chatgpt_export(broken), 'chatgpt')
        self.assertOpenAIError(r, 400, 'invalid_import_line')
        self.assertEqual(len(self.messages(user)), 2)  # nothing of it stored
        fixed = first + [('c2', [('user', 'I moved to Oslo.', 1700000100), ('assistant', 'Brr.', 1700000101)])]
        doc = self.imp_ok(user, chatgpt_export(fixed), 'chatgpt')
        self.assertEqual((doc['messages'], doc['skipped_by_reason']), (2, {'already_imported': 2}), doc)
        self.assertEqual([m['content'] for m in self.messages(user)],
                         ['I play the cello.', 'Lovely!', 'I moved to Oslo.', 'Brr.'])


class MemoryText(FormatCase):
    def test_memory_text_lines_become_imported_facts(self):
        user = mh.uid('memtxt')
        doc = self.imp_ok(user, fixture('memory.txt'), 'memory-text', ctype='text/plain')
        self.assertEqual((doc['messages'], doc['facts'], doc['skipped_by_reason']), (0, 8, {'heading': 3}), doc)
        ents = mh.admin_memory(self.proxy, user).json()['entities']
        self.assertEqual(sorted(e['value'] for e in ents), sorted(MEMORY_VALUES))
        self.assertEqual({e['trust'] for e in ents}, {'imported'})
        for e in ents:
            self.assertRegex(e['key'], r'^mem_[a-z0-9_]*[0-9a-f]{8}$')
        graz = [e for e in ents if e['value'] == 'Lives in Graz, Austria.'][0]
        self.assertTrue(graz['key'].startswith('mem_lives_in_graz_austria_'), graz)
        # the same text again: nothing new
        doc = self.imp_ok(user, fixture('memory.txt'), 'memory-text')
        self.assertEqual((doc['facts'], doc['skipped_by_reason']), (0, {'heading': 3, 'fact_kept_out': 8}))

    def test_imported_class_ranks_below_what_the_user_said(self):
        a, b = mh.uid('rank_a'), mh.uid('rank_b')
        self.imp_ok(a, b'- Lives in Graz\n', 'memory-text')
        key = mh.admin_memory(self.proxy, a).json()['entities'][0]['key']
        stated = [mh.fact(key, 'Lives in Vienna', '2020-01-01T00:00:00Z')]
        # another assistant's word, newer, never replaces the user's own ...
        self.assertEqual(mh.import_counts(mh.import_lines(self.proxy, b, stated))['facts'], 1)
        doc = self.imp_ok(b, b'- Lives in Graz\n', 'memory-text')
        self.assertEqual((doc['facts'], doc['skipped_by_reason']), (0, {'fact_kept_out': 1}), doc)
        ents = {e['key']: (e['value'], e['trust']) for e in mh.admin_memory(self.proxy, b).json()['entities']}
        self.assertEqual(ents, {key: ('Lives in Vienna', 'stated')})
        # ... and what the user said, older, replaces it
        self.assertEqual(mh.import_counts(mh.import_lines(self.proxy, a, stated))['facts'], 1)
        ents = {e['key']: (e['value'], e['trust']) for e in mh.admin_memory(self.proxy, a).json()['entities']}
        self.assertEqual(ents, {key: ('Lives in Vienna', 'stated')})


def zipped(name, data):
    """A ZIP holding data as name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


BOM = b'\xef\xbb\xbf'


class Faithful(FormatCase):
    """Imports keep what the person wrote and nothing else (issue 70,
    requirement 5): the kept branch of an export without current_node,
    a byte order mark, custom instructions as the person's own facts,
    a memory text without the assistant's words and headings, code words
    as written."""

    def test_chatgpt_without_current_node_keeps_the_newest_leaf(self):
        user = mh.uid('leaf')
        msg = lambda nid, role, text, t: {'id': nid, 'author': {'role': role}, 'create_time': t,  # noqa: E731
                                          'content': {'content_type': 'text', 'parts': [text]}}
        # a third-party tool's minimal shape: no current_node, no children;
        # the answer was regenerated, the newer is the kept one
        mapping = {'r': {'parent': None},
                   'u': {'parent': 'r', 'message': msg('u', 'user', 'Which city do I live in?', 1700000000)},
                   'a2': {'parent': 'u', 'message': msg('a2', 'assistant', 'Graz, as you said.', 1700000020)},
                   'a1': {'parent': 'u', 'message': msg('a1', 'assistant', 'Linz?', 1700000010)}}
        doc = self.imp_ok(user, json.dumps([{'id': 'min', 'title': 'Minimal', 'mapping': mapping}]).encode(),
                          'chatgpt')
        self.assertEqual(doc['messages'], 2, doc)
        self.assertEqual(doc['skipped_by_reason'], {'other_branch': 1})
        self.assertEqual([m['content'] for m in self.messages(user)],
                         ['Which city do I live in?', 'Graz, as you said.'])

    def test_byte_order_mark_accepted_in_a_file_and_a_zip_member(self):
        body = fixture('chatgpt_conversations.json')
        for name, data, ctype in (('file', BOM + body, 'application/json'),
                                  ('zip', zipped('conversations.json', BOM + body), 'application/zip')):
            with self.subTest(name):
                user = mh.uid('bom')
                doc = self.imp_ok(user, data, 'chatgpt', ctype=ctype)
                self.assertEqual(doc['messages'], 7, doc)
                self.assertEqual([m['content'] for m in self.messages(user)], CHATGPT_TEXTS)
        user = mh.uid('bomclaude')
        self.assertEqual(self.imp_ok(user, BOM + fixture('claude_conversations.json'), 'claude')['messages'], 7)
        user = mh.uid('bomtext')
        self.assertEqual(self.imp_ok(user, BOM + b'- Lives in Graz\n', 'memory-text')['facts'], 1)
        ents = mh.entity_map(mh.admin_memory(self.proxy, user).json())
        self.assertEqual(list(ents.values()), ['Lives in Graz'])
        user = mh.uid('bomlines')
        lines = BOM + mh.ndjson([mh.fact('city', 'Graz', '2023-01-01T00:00:00Z')])
        self.assertEqual(mh.import_lines(self.proxy, user, lines).status, 200)

    def test_chatgpt_custom_instructions_kept_as_the_persons_own_facts(self):
        user = mh.uid('instr')

        def conv(cid, t, about, how):
            ctx = {'id': cid + '-i', 'author': {'role': 'system'}, 'create_time': t,
                   'content': {'content_type': 'user_editable_context',
                               'user_profile': 'The user provided the following information about '
                                               'themselves.\nUser profile:\n```%s```' % about,
                               'user_instructions': 'The user provided the additional info about how '
                                                    'they would like you to respond:\n```%s```' % how},
                   'metadata': {'is_visually_hidden_from_conversation': True, 'is_user_system_message': True,
                                'user_context_message_data': {'about_user_message': about,
                                                              'about_model_message': how}}}
            hello = {'id': cid + '-u', 'author': {'role': 'user'}, 'create_time': t + 1,
                     'content': {'content_type': 'text', 'parts': ['Hello']}}
            return {'id': cid, 'title': cid, 'current_node': cid + '-u',
                    'mapping': {cid + '-i': {'parent': None, 'message': ctx},
                                cid + '-u': {'parent': cid + '-i', 'message': hello}}}

        body = json.dumps([conv('old', 1600000000, 'I live in Linz.', 'Be formal.'),
                           conv('new', 1700000000, 'I live in Graz.\nI am a nurse.', 'Be brief.')]).encode()
        doc = self.imp_ok(user, body, 'chatgpt')
        self.assertEqual((doc['messages'], doc['facts']), (2, 2), doc)
        self.assertNotIn('hidden', doc.get('skipped_by_reason', {}))
        ents = {e['key']: e for e in mh.admin_memory(self.proxy, user).json()['entities']}
        self.assertEqual({k: (e['value'], e['trust'], e['source']) for k, e in ents.items()},
                         {'about_me': ('I live in Graz. I am a nurse.', 'stated', 'custom_instructions'),
                          'how_to_respond': ('Be brief.', 'stated', 'custom_instructions')})
        self.assertEqual(ents['about_me']['observed_at'], '2023-11-14T22:13:20.000Z')
        # the same export again adds nothing
        again = self.imp_ok(user, body, 'chatgpt')
        self.assertEqual((again['messages'], again['facts']), (0, 0), again)

    def test_memory_text_keeps_facts_not_the_assistants_words(self):
        user = mh.uid('memwords')
        text = ('Sure! Here\'s what I remember about you.\n'
                '**Work context**\n'
                '- Works as a nurse in Graz\n'
                '## Personal\n'
                '- Writes `__init__` methods by hand\n'
                '- Keeps __dunder__ names\n'
                'Let me know if you\'d like me to update or forget any of this!\n').encode()
        doc = self.imp_ok(user, text, 'memory-text')
        self.assertEqual(doc['facts'], 3, doc)
        self.assertEqual(doc['skipped_by_reason'], {'heading': 2, 'assistant_words': 2})
        ents = mh.entity_map(mh.admin_memory(self.proxy, user).json())
        self.assertEqual(sorted(ents.values()), ['Keeps __dunder__ names', 'Works as a nurse in Graz',
                                                 'Writes __init__ methods by hand'])
        self.assertFalse([k for k in ents if 'let_me_know' in k or 'work_context' in k], ents)


class Refusals(FormatCase):
    def test_future_time_refused_naming_its_line_and_counted(self):
        user = mh.uid('future')
        late = int(time.time()) + 2 * 86400
        body = chatgpt_export([('ok', [('user', 'fine', 1700000000)]),
                               ('bad', [('user', 'from tomorrow', late)])])
        body = body.replace(b'}, {"id": "bad"', b'},\n\n{"id": "bad"')  # the second on line 3
        before = self.refused_metric('chatgpt', 'future_time')
        r = self.imp(user, body, 'chatgpt')
        obj = self.assertOpenAIError(r, 400, 'invalid_import_line')
        self.assertEqual(obj['error']['message'],
                         'conversations.json, line 3, conversation 2 ("bad"), message 1: '
                         'its time is more than a day past now. Nothing was imported.')
        self.assertEqual(self.refused_metric('chatgpt', 'future_time'), before + 1)
        self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')
        # the same check for Claude's and for JSON Lines
        claude = json.dumps([{'uuid': 'c', 'chat_messages': [
            {'sender': 'human', 'text': 'x', 'created_at': '2999-01-01T00:00:00Z'}]}]).encode()
        obj = self.assertOpenAIError(self.imp(user, claude, 'claude'), 400, 'invalid_import_line')
        self.assertIn('more than a day past now', obj['error']['message'])
        self.assertEqual(self.refused_metric('claude', 'future_time'), 1)
        jl = mh.ndjson([mh.message('user', 'x', '2999-01-01T00:00:00Z')])
        n = self.refused_metric('jsonl', 'future_time')
        self.assertOpenAIError(mh.import_lines(self.proxy, user, jl), 400, 'invalid_import_line')
        self.assertEqual(self.refused_metric('jsonl', 'future_time'), n + 1)

    def test_malformed_files_and_parameters(self):
        user = mh.uid('malf')
        n = self.refused_metric('chatgpt', 'invalid')
        for body, why in ((b'[{"id":', 'conversations.json, line 1: the file is not JSON.'),
                          (b'{"a":1}', 'conversations.json, line 1, conversation 1: field `conversation_id` '
                                       '(or `id`) is missing or not a string.'),
                          (b'PK\x03\x04 not a zip', 'The upload: not a ZIP archive that can be read.'),
                          (fixture('claude_export.zip').replace(b'conversations.json', b'conversationz.json'),
                           'The upload: the ZIP holds no conversations.json.')):
            obj = self.assertOpenAIError(self.imp(user, body, 'chatgpt'), 400, 'invalid_import_line')
            self.assertEqual(obj['error']['message'], why + ' Nothing was imported.')
        self.assertEqual(self.refused_metric('chatgpt', 'invalid'), n + 4)
        obj = self.assertOpenAIError(self.imp(user, b'- ok\n- bell \x07\n', 'memory-text'), 400,
                                     'invalid_import_line')
        self.assertEqual(obj['error']['message'],
                         'Line 2: the line is not UTF-8 text, or holds a control character. Nothing was imported.')
        for q in ('format=gemini', 'format=', 'dry_run=yes', 'extract_max_tokens=-1', 'extract_max_tokens=01'):
            r = mh.admin_request(self.proxy, 'POST', '/admin/users/%s/import?%s' % (mh.qid(user), q), b'',
                                 mh.NDJSON)
            self.assertOpenAIError(r, 400, 'invalid_parameter')
        self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')


class Extraction(FormatCase):
    """The imported turns go to the memory model through the extraction
    jobs, in batches of extract_batch_turns, the newest first within the
    bound; a dry run says the cost first and stores nothing."""

    MEM = {'mode': 'entity', 'extract_batch_turns': 2, 'extract_idle_seconds': 1}
    UP = {'api_key': 'sk-import-extract'}
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS, 'memory': MEM, 'upstream': UP}

    TURN = 'I keep %d beehives behind the shed and sell the honey at the market.'

    def turns(self, n):
        return [('t%d' % i, [('user', self.TURN % i, 1700000000 + 100 * i),
                             ('assistant', 'Bees are wonderful.', 1700000001 + 100 * i)]) for i in range(n)]

    def dry(self, user, body, proxy=None):
        doc = self.imp_ok(user, body, 'chatgpt', proxy=proxy, query='&dry_run=true')
        self.assertTrue(doc['dry_run'])
        return doc['extraction']

    def test_dry_run_then_batches_bounded_by_the_setting(self):
        user = mh.uid('extr')
        # the cost of one turn and of a call's instructions, from two dry runs
        one, two = self.dry(user, chatgpt_export(self.turns(1))), self.dry(user, chatgpt_export(self.turns(2)))
        per_turn = two['tokens'] - one['tokens']
        per_call = one['tokens'] - per_turn
        self.assertGreater(per_call, 100)
        self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')  # a dry run stores nothing
        bound = 3 * per_turn + 2 * per_call
        p = self.start_proxy(sections=SECTIONS, memory=dict(self.MEM, import_extract_max_tokens=bound),
                             upstream=self.UP)
        body = chatgpt_export(self.turns(5))
        want = {'turns': 3, 'tokens': bound, 'calls': 2, 'left_out_turns': 2}
        self.assertEqual(self.dry(user, body, proxy=p), want)
        n0 = mh.last_n(self.fake)
        doc = self.imp_ok(user, body, 'chatgpt', proxy=p)
        self.assertEqual((doc['messages'], doc['extraction']), (10, want), doc)
        mh.wait_idle(p)
        calls = mh.job_requests(self.fake, 'extract', after=n0)
        sent = [turn_texts(c) for c in calls]
        self.assertEqual(len(calls), 2, sent)
        self.assertTrue(all(len(s) <= 2 for s in sent), sent)
        # the three newest turns, each once, oldest first
        self.assertEqual([t for s in sent for t in s], [self.TURN % i for i in (2, 3, 4)])
        # all ten messages archived all the same
        self.assertEqual(len(self.messages(user, proxy=p)), 10)
        # imported again: nothing new, no call
        n1 = mh.last_n(self.fake)
        doc = self.imp_ok(user, body, 'chatgpt', proxy=p)
        self.assertEqual(doc['extraction']['turns'], 0, doc)
        mh.wait_idle(p)
        self.assertEqual(mh.job_requests(self.fake, 'extract', after=n1), [])

    def test_query_bound_below_the_setting_and_memory_text_sends_nothing(self):
        user = mh.uid('qbound')
        body = chatgpt_export(self.turns(3))
        self.assertEqual(self.dry(user, body)['turns'], 3)
        doc = self.imp_ok(user, body, 'chatgpt', query='&dry_run=true&extract_max_tokens=0')
        self.assertEqual(doc['extraction'], {'turns': 0, 'tokens': 0, 'calls': 0, 'left_out_turns': 3})
        doc = self.imp_ok(user, fixture('memory.txt'), 'memory-text')
        self.assertEqual(doc['extraction']['turns'], 0)


class Ctl(FormatCase):
    def ctl(self, *args, stdin=None):
        return run_ctl(['--admin', 'http://127.0.0.1:%d' % self.proxy.admin_port, '-c', self.proxy.config_path]
                       + list(args), stdin=stdin)

    def test_ctl_imports_a_file_and_says_what_and_why(self):
        user = mh.uid('ctlgpt')
        path = os.path.join(DATA, 'chatgpt_export.zip')
        r = self.ctl('users', 'import', user, '--format', 'chatgpt', '--dry-run', path)
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.out.startswith("would import 7 messages, 0 facts and 0 settings into user '%s' "
                                         "(8 lines skipped)\n" % user), r)
        self.assertIn('  skipped: ', r.out)
        self.assertOpenAIError(mh.admin_memory(self.proxy, user), 404, 'not_found')
        r = self.ctl('users', 'import', user, '--format', 'chatgpt', path)
        self.assertEqual(r.rc, 0, r)
        lines = r.out.splitlines()
        self.assertEqual(lines[0], "imported 7 messages, 0 facts and 0 settings into user '%s' (8 lines skipped)"
                         % user)
        self.assertEqual(sorted(lines[1].split(': ')[1].split(' ')),
                         sorted(' '.join('%d %s' % (v, k) for k, v in CHATGPT_SKIPPED.items()).split(' ')))
        self.assertEqual(r.err, '')  # no terminal: no progress bar
        r = self.ctl('users', 'import', user, '--format', 'chatgpt', path)
        self.assertIn('7 already_imported', r.out)
        # memory text from stdin
        r = self.ctl('users', 'import', user, '--format', 'memory-text', stdin=fixture('memory.txt'))
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.out.startswith("imported 0 messages, 8 facts"), r)
        r = self.ctl('users', 'import', user, '--format', 'gemini', path)
        self.assertEqual((r.rc, r.err), (1, 'memproxy ctl users import: --format is jsonl, chatgpt, claude or '
                                            'memory-text\n'), r)
        r = self.ctl('users', 'import', '--all', '--format', 'chatgpt', stdin=b'')
        self.assertEqual(r.rc, 1, r)
        r = self.ctl('users', 'import', user, '--format', 'chatgpt', '/nonexistent/x.zip')
        self.assertEqual((r.rc, r.err), (1, 'memproxy ctl: cannot open /nonexistent/x.zip\n'), r)

    def test_ctl_refusal_names_the_line(self):
        user = mh.uid('ctlbad')
        body = chatgpt_export([('c', [('user', 'late', int(time.time()) + 3 * 86400)])])
        r = self.ctl('users', 'import', user, '--format', 'chatgpt', stdin=body)
        self.assertEqual(r.rc, 5, r)  # an error answer
        self.assertIn('conversations.json, line 1, conversation 1 ("c"), message 1: '
                      'its time is more than a day past now. Nothing was imported.', r.err)

    def test_ctl_draws_a_progress_bar_on_a_terminal(self):
        user = mh.uid('ctlbar')
        master, slave = pty.openpty()
        try:
            proc = subprocess.run([harness.MEMPROXY_BIN, 'ctl', '--admin',
                                   'http://127.0.0.1:%d' % self.proxy.admin_port, '-c', self.proxy.config_path,
                                   'users', 'import', user, '--format', 'claude',
                                   os.path.join(DATA, 'claude_export.zip')],
                                  stdout=subprocess.PIPE, stderr=slave, env=harness.child_env(), timeout=60)
            os.close(slave)
            slave = None
            err = b''
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0, (proc, err))
        self.assertIn(b'importing [', err)
        self.assertIn(b'100%', err)
        self.assertTrue(proc.stdout.startswith(b'imported 7 messages'), proc.stdout)


if __name__ == '__main__':
    harness.main('proxy_import_formats')
