"""Memory in the user's language (issue 52, requirements 2, 3 and 8): the
memory model's prompts name the language the user writes (a Japanese
turn's extraction asks for Japanese values, summary and search keys; fact
keys stay English; an English turn's prompt has no such line, and the
system message, the cached prefix, is the same bytes in every language);
the search API, MCP search and relevance find an archived message of
Chinese, Japanese, Korean, Russian and Arabic from a natural question in
the same language; explain's terms of a Chinese question are Chinese
words, not the sentence; an English product name in a Chinese question
finds the English message (mixed script)."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import import_lines, message, send  # noqa: E402

# the admin API (explain), no age limit on the archive (its messages are of 2024), MCP on
SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN},
            'governance': {'retention_days': 0, 'pii_retention_days': 0}, 'mcp': {'enabled': 'true'}}

JA_TURN = '私の名前は佐藤です。大阪の会計事務所で働いていて、毎朝京阪電車で通勤しています。'
EN_TURN = 'My name is Bea and I work as a designer in Portland.'
JA_LINE = ('\n\nThe user writes Japanese: write every fact\'s value, the summary and the search keys '
           'in Japanese; the keys of facts stay short snake_case English.')

# Each language: the archived message a question must find, a distractor
# of the same language on another topic, and the natural question.
ARCHIVE = {
    'zh': ('我女儿的钢琴演奏会定在十二月五号，在市图书馆的礼堂举行。',
           '周末我们去西湖边骑自行车，天气特别好。',
           '女儿的钢琴演奏会是哪天？'),
    'ja': ('来週の土曜日に京都の嵐山へ紅葉を見に行く予定です。',
           '新しい会計ソフトの使い方がまだよく分かりません。',
           '紅葉を見に行くのはどこでしたっけ？'),
    'ko': ('우리 딸 피아노 발표회는 12월 5일 시립도서관 강당에서 해요.',
           '이번 주말에는 친구들이랑 한강에서 자전거를 탔어요.',
           '딸의 피아노 발표회는 어디서 해요?'),
    'ru': ('Моя дочь по вторникам занимается плаванием в бассейне «Олимп».',
           'Вчера мы с женой ходили в театр на новую постановку.',
           'В какой бассейн ходит дочь?'),
    'ar': ('أعيش في القاهرة منذ خمس سنوات وأعمل مهندسة في شركة اتصالات.',
           'اشتريت أمس كتابا جديدا عن تاريخ الأندلس.',
           'منذ متى أعيش في القاهرة؟'),
}
PRODUCT = 'I bought my MacBook Pro in March, the 14-inch one with the M3 chip.'
PRODUCT_Q = '我的MacBook Pro是什么时候买的？'


def user_content(req):
    return mh.body_json(req)['messages'][-1]['content']


def system_of(req):
    return mh.body_json(req)['messages'][0]['content']


class PromptLanguage(mh.MemCase):
    """The extraction call (hybrid: one call extracts, folds the summary
    and asks search keys) of one turn."""
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'hybrid', 'extract_batch_turns': 1}}

    def job_of(self, text):
        user = mh.uid('lang')
        self.assertOK(send(self.proxy, user, text))
        mh.wait_for(lambda: mh.user_jobs(self.fake, user, 'extract'), what='the extraction call')
        jobs = mh.user_jobs(self.fake, user, 'extract')
        self.assertEqual(len(jobs), 1, jobs)
        return jobs[0]

    def test_japanese_turn_asks_for_japanese_english_unchanged(self):
        ja, en = self.job_of(JA_TURN), self.job_of(EN_TURN)
        text = user_content(ja)
        self.assertIn('user: ' + JA_TURN + '\n', text)
        self.assertTrue(text.endswith(JA_LINE), text[-300:])
        self.assertEqual(text.count('The user writes'), 1)
        # an English turn: no language line, the transcript's last line ends the prompt
        text = user_content(en)
        self.assertNotIn('The user writes', text)
        self.assertTrue(text.endswith('assistant: ' + mh.REPLY + '\n'), text[-200:])
        # the cached prefix: everything before the user message is the same bytes
        sj, se = ja['body'], en['body']
        cut = '"role":"user","content":"'
        self.assertIn(cut, sj)
        self.assertEqual(sj[:sj.index(cut)], se[:se.index(cut)])
        self.assertEqual(system_of(ja), system_of(en))
        self.assertIn('snake_case', system_of(ja))

    def test_summary_call_names_the_language(self):
        p = self.start_proxy(memory={'mode': 'summary', 'buffer_messages': 2, 'summarize_at': 2})
        user = mh.uid('sum')
        turn = 'Меня зовут Олег, я работаю логистом в Новосибирске и по выходным катаюсь на лыжах.'
        self.assertOK(send(p, user, turn))
        mh.wait_for(lambda: mh.user_jobs(self.fake, user, 'summarize'), what='the summary call')
        text = user_content(mh.user_jobs(self.fake, user, 'summarize')[0])
        self.assertTrue(text.endswith('\n\nThe user writes Russian: write the summary in Russian.'),
                        text[-200:])


TR_HIT = "Tenis dersine başladım: hocam Serkan Hoca, salı ve perşembe sabah 07:30'da, Bostanlı'daki kortlarda."
TR_ARCHIVE = [TR_HIT,
              'Dükkanın kirası bu aydan itibaren 18.000 TL oldu, ev sahibi yüzde yirmi zam yaptı.',
              "Annemin tansiyon ilacı değişti, doktor artık sabahları yarım tablet içmesini söyledi."]
TR_Q = 'Tenis derslerim hangi kortlarda?'  # no Turkish stop word: read alone, it is English


class QuestionPrior(mh.MemCase):
    """The question's language is identified against the user's usual one,
    read from the user's buffered messages, else from the languages of the
    archive (an imported user's): a Turkish user's short question
    is read as Turkish (its stems meet the archive's), another user's, with
    the same archive and an English buffer, as English. Translation is off
    (translate_languages none): with it, a question read as English is also
    stemmed as the Turkish memory stems it (issue 66) and meets the archive
    either way, so recall would not show how the question was read."""
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS,
                    'memory': {'mode': 'hybrid', 'extract_batch_turns': 1,
                               'translate_languages': 'none'}}

    def user_with(self, buffered):
        user = mh.uid('prior')
        r = import_lines(self.proxy, user, [message('user', t, '2025-03-%02dT10:00:00Z' % (i + 1))
                                            for i, t in enumerate(TR_ARCHIVE)])
        self.assertEqual(r.status, 200, r)
        self.assertOK(send(self.proxy, user, buffered))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the turn buffered')
        return user

    def search(self, user, q):
        path = '/v1/memory/search?q=' + urllib.parse.quote(q, safe='')
        r = self.proxy.request('GET', path, [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        return [x['text'] for x in r.json()['results'] if x['kind'] == 'message']

    def test_a_turkish_users_short_question(self):
        tr = self.user_with('Bugün dükkanı erken kapattım, çünkü akşam Emre ile maça gideceğiz.')
        en = self.user_with('I closed the shop early today because Emre and I are going to the match.')
        self.assertIn(TR_HIT, self.search(tr, TR_Q))
        self.assertNotIn(TR_HIT, self.search(en, TR_Q))
        s = send(self.proxy, tr, TR_Q, x_memory='read')
        self.assertOK(s)
        self.assertIn(json.dumps(TR_HIT, ensure_ascii=False)[1:-1], mh.upstream_body(self.fake, s).decode('utf-8'))
        s = send(self.proxy, en, TR_Q, x_memory='read')
        self.assertOK(s)
        self.assertNotIn(json.dumps(TR_HIT, ensure_ascii=False)[1:-1],
                         mh.upstream_body(self.fake, s).decode('utf-8'))

    def imported(self, lines):
        user = mh.uid('imported')
        r = import_lines(self.proxy, user, [message('user', t, '2025-03-%02dT10:00:00Z' % (i + 1))
                                            for i, t in enumerate(lines)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.get_memory(self.proxy, user)['buffer'], [])
        return user

    def test_a_user_whose_turkish_came_by_import(self):
        """Nothing buffered: the prior is the language most of the user's
        archived messages are in (the user record's tally), so the short
        question reaches the Turkish message; a user whose archive is mostly
        English, the same Turkish message in it, gets the question read as
        English."""
        tr = self.imported(TR_ARCHIVE)
        en = self.imported([TR_HIT, 'We walked the dog along the river this morning.',
                            'My sister moved to Denver for her new job in March.',
                            'I finally fixed the leaking kitchen tap on Sunday.'])
        self.assertIn(TR_HIT, self.search(tr, TR_Q))
        self.assertNotIn(TR_HIT, self.search(en, TR_Q))
        hit = json.dumps(TR_HIT, ensure_ascii=False)[1:-1]
        s = send(self.proxy, tr, TR_Q, x_memory='read')
        self.assertOK(s)
        self.assertIn(hit, mh.upstream_body(self.fake, s).decode('utf-8'))
        s = send(self.proxy, en, TR_Q, x_memory='read')
        self.assertOK(s)
        self.assertNotIn(hit, mh.upstream_body(self.fake, s).decode('utf-8'))


class QuestionAsTheMemoryStems(mh.MemCase):
    """Translation on (the default): the user whose buffer is English still
    has the short Turkish question read as English, but its words are also
    stemmed as the Turkish memory stems them (kortlarda: kort), so it meets
    the Turkish message (issue 66)."""
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS,
                    'memory': {'mode': 'hybrid', 'extract_batch_turns': 1}}

    user_with = QuestionPrior.user_with
    search = QuestionPrior.search

    def test_a_turkish_users_short_question(self):
        en = self.user_with('I closed the shop early today because Emre and I are going to the match.')
        self.assertIn(TR_HIT, self.search(en, TR_Q))


class SearchLanguages(mh.MemCase):
    """One user's archive in five languages and English; each question in
    its own language."""
    PROXY_CONFIG = {'workers': 2, 'sections': SECTIONS, 'memory': {'mode': 'hybrid'}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        items, day = [], 1
        for lang, (hit, other, _) in sorted(ARCHIVE.items()):
            for text in (hit, other):
                items.append(message('user', text, '2024-03-%02dT10:00:00Z' % day))
                day += 1
        items.append(message('user', PRODUCT, '2024-03-%02dT10:00:00Z' % day))
        items.append(message('user', 'We walked the dog along the river this morning.', '2024-03-20T10:00:00Z'))
        cls.user = mh.uid('ml')
        r = import_lines(cls.proxy, cls.user, items)
        assert r.status == 200, r

    def search(self, q):
        path = '/v1/memory/search?q=' + urllib.parse.quote(q, safe='')
        r = self.proxy.request('GET', path, [('X-User-Id', self.user)])
        self.assertEqual(r.status, 200, r)
        return [x['text'] for x in r.json()['results'] if x['kind'] == 'message']

    def mcp_search(self, q):
        body = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                'params': {'name': 'search_memory', 'arguments': {'query': q}}}
        h = [('Content-Type', 'application/json'), ('Accept', 'application/json, text/event-stream'),
             ('X-User-Id', self.user)]
        r = self.proxy.request('POST', '/mcp', h, json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        res = r.json()['result']['structuredContent']['results']
        return [x['text'] for x in res if x['kind'] == 'message']

    def test_search_and_mcp_find_each_language(self):
        for lang, (hit, other, q) in ARCHIVE.items():
            with self.subTest(lang=lang, api='search'):
                got = self.search(q)
                self.assertTrue(got, 'nothing found for %s' % q)
                self.assertEqual(got[0], hit)  # (the other may follow: a neighbour in time)
            with self.subTest(lang=lang, api='mcp'):
                got = self.mcp_search(q)
                self.assertTrue(got, 'nothing found for %s' % q)
                self.assertEqual(got[0], hit)

    def test_a_chat_question_gets_its_message(self):
        for lang, (hit, other, q) in ARCHIVE.items():
            with self.subTest(lang=lang):
                s = send(self.proxy, self.user, q, x_memory='read')
                self.assertOK(s)
                body = mh.upstream_body(self.fake, s).decode('utf-8')
                self.assertIn(json.dumps(hit, ensure_ascii=False)[1:-1], body)

    def test_english_product_name_in_a_chinese_question(self):
        self.assertEqual(self.search(PRODUCT_Q)[0], PRODUCT)
        s = send(self.proxy, self.user, PRODUCT_Q, x_memory='read')
        self.assertOK(s)
        self.assertIn(PRODUCT, mh.upstream_body(self.fake, s).decode('utf-8'))

    def test_explain_terms_of_a_chinese_question(self):
        hit, _, q = ARCHIVE['zh']
        path = '/admin/users/%s/explain' % mh.qid(self.user)
        body = {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': q}]}
        r = mh.admin_request(self.proxy, 'POST', path, json.dumps(body).encode(), 'application/json')
        self.assertEqual(r.status, 200, r)
        past = [it for it in r.json()['sections']['past']['items'] if it['text'] == hit]
        self.assertEqual(len(past), 1, r.json()['sections']['past'])
        terms = past[0]['terms']
        self.assertGreaterEqual(len(terms), 2, terms)
        for t in terms:
            # a word or bigram of the question, in Han, never the question whole
            self.assertIn(t, q)
            self.assertLessEqual(len(t), 4, terms)
            self.assertTrue(all('\u4e00' <= c <= '\u9fff' for c in t), terms)
        self.assertIn('钢琴', terms)


if __name__ == '__main__':
    harness.main('proxy_memory_language')
