"""Memory across languages (issue 66): a question's words are also looked
up, translated through the FreeDict tables this build made, in the other
languages the user's memory holds. An English question finds a German
message that shares no word with it ("blood pressure" -> Blutdruck), a
German question an English one; `[memory] translate_languages = none`
turns it off (the same question then finds nothing); a user whose memory
is all in the question's language gets the same upstream body byte for
byte with the setting on and off; the search API and MCP search find the
translated message, and explain lists the translated term with the word
it came from."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import import_lines, message, send  # noqa: E402

SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN},
            'governance': {'retention_days': 0, 'pii_retention_days': 0}, 'mcp': {'enabled': 'true'}}
MEMORY = {'mode': 'hybrid', 'extract_batch_turns': 1}

DE_HIT = 'Beim Arzt heute: Blutdruck 145 zu 95, viel zu hoch.'
DE_ARCHIVE = [DE_HIT,
              'Am Samstag fahren wir mit den Kindern an den Bodensee, das Wetter soll schön werden.',
              'Ich muss noch die Steuererklärung fertig machen, die Frist endet im Juli.',
              'Lena hat ihren Klavierabend am 14. Juni in der Musikschule.']
EN_Q = 'What did the doctor say about my blood pressure?'

EN_HIT = 'The doctor said my blood pressure was 145 over 95, far too high.'
EN_ARCHIVE = [EN_HIT,
              'On Saturday we are driving to the lake with the kids, the weather should be nice.',
              'I still have to finish the tax return, the deadline is in July.',
              'Lena has her piano recital on the 14th of June at the music school.']
DE_Q = 'Was hat der Arzt über meinen Blutdruck gesagt?'


def archive(proxy, user, texts):
    r = import_lines(proxy, user, [message('user', t, '2025-03-%02dT10:00:00Z' % (i + 1))
                                   for i, t in enumerate(texts)])
    assert r.status == 200, r


class Across(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS, 'memory': MEMORY}

    def body_for(self, proxy, user, q):
        """The upstream body's bytes, and its messages' text."""
        s = send(proxy, user, q, x_memory='read')
        self.assertOK(s)
        raw = mh.upstream_body(self.fake, s)
        return raw, '\n'.join(str(m.get('content')) for m in json.loads(raw)['messages'])

    def explain(self, user, q):
        path = '/admin/users/%s/explain' % mh.qid(user)
        body = json.dumps({'model': 'x', 'messages': [{'role': 'user', 'content': q}]}).encode()
        r = mh.admin_request(self.proxy, 'POST', path, body, 'application/json')
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_english_question_finds_german_memory(self):
        user = mh.uid('de')
        archive(self.proxy, user, DE_ARCHIVE)
        self.assertIn(DE_HIT, self.body_for(self.proxy, user, EN_Q)[1])

    def test_german_question_finds_english_memory(self):
        user = mh.uid('en')
        archive(self.proxy, user, EN_ARCHIVE + ['Ich wohne jetzt in Köln.', 'Morgen gehe ich schwimmen.'])
        self.assertIn(EN_HIT, self.body_for(self.proxy, user, DE_Q)[1])

    def test_setting_none_turns_it_off(self):
        off = self.start_proxy(workers=1, sections=SECTIONS,
                               memory=dict(MEMORY, translate_languages='none'))
        user = mh.uid('none')
        archive(off, user, DE_ARCHIVE)
        self.assertNotIn(DE_HIT, self.body_for(off, user, EN_Q)[1])

    def test_monolingual_user_same_bytes_on_and_off(self):
        off = self.start_proxy(workers=1, sections=SECTIONS,
                               memory=dict(MEMORY, translate_languages='none'))
        user = mh.uid('mono')
        archive(self.proxy, user, EN_ARCHIVE)
        archive(off, user, EN_ARCHIVE)
        for q in (EN_Q, 'When is Lena playing the piano?', 'Where are we going on Saturday?'):
            on_raw, on_text = self.body_for(self.proxy, user, q)
            self.assertEqual(on_raw, self.body_for(off, user, q)[0], q)
            self.assertIn('Lena' if 'Lena' in q else 'Saturday' if 'Saturday' in q else EN_HIT, on_text)

    def test_search_api_and_mcp_find_the_translated_message(self):
        user = mh.uid('search')
        archive(self.proxy, user, DE_ARCHIVE)
        path = '/v1/memory/search?q=' + urllib.parse.quote(EN_Q, safe='')
        r = self.proxy.request('GET', path, [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        texts = [x['text'] for x in r.json()['results'] if x['kind'] == 'message']
        self.assertEqual(texts[:1], [DE_HIT], texts)
        call = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                'params': {'name': 'search_memory', 'arguments': {'query': EN_Q}}}
        r = self.proxy.request('POST', '/mcp', [('X-User-Id', user), ('Content-Type', 'application/json'),
                                                ('Accept', 'application/json, text/event-stream')],
                               json.dumps(call).encode())
        self.assertEqual(r.status, 200, r)
        self.assertIn('Blutdruck', r.body.decode())

    def test_explain_shows_the_translated_term_and_its_word(self):
        user = mh.uid('explain')
        archive(self.proxy, user, DE_ARCHIVE)
        doc = self.explain(user, EN_Q)
        self.assertIn({'term': 'blutdruck', 'from': 'blood pressure', 'lang': 'de'},
                      doc['translations'])
        past = {it['text']: it for it in doc['sections']['past']['items']}
        self.assertIn(DE_HIT, past)
        self.assertIn('blutdruck', past[DE_HIT]['terms'])

    def test_a_monolingual_users_explain_has_no_translation(self):
        user = mh.uid('monoex')
        archive(self.proxy, user, EN_ARCHIVE)
        self.assertEqual(self.explain(user, EN_Q)['translations'], [])


if __name__ == '__main__':
    harness.main('proxy_memory_xlate')
