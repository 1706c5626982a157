"""Relevance-ranked recall end to end (docs/memory-retrieval.md "Retrieval", docs/http-api.md
"The memory block", core/recall/recall.h): a question finds the rare fact and the
past message that answer it, dated, with their role and escaped, where
`retrieval = recent` (switched by SIGHUP) gives the strongest facts; a
question that matches nothing gets the four strongest (a bounded profile:
the budget is a ceiling, not a target); X-Memory-Injected-Tokens
stays within context_budget_tokens; erasure and retention reach the
archive and what is injected; the same question gives the same bytes;
scoring stops at [memory] relevance_max_postings on a history whose every
message holds the question's words, still finds the rare one, and counts it.
(--check-config of the shares and of retrieval: tests/proxy/process/test_config.py.)"""

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402

DAY_MS = 86400 * 1000
ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
NO_RETENTION = {'governance': {'retention_days': 0, 'pii_retention_days': 0}}
SECTIONS = {'admin': dict(ADMIN['admin']), 'governance': dict(NO_RETENTION['governance'])}
# head_share 0: every fact and past message in the question's own block (a
# lone question is a conversation's first turn, whose head would otherwise
# take a share of them): these tests read recall's choice as one block
MEMORY = {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2, 'head_share': 0}
BUDGET = 1500  # the default context_budget_tokens
PROFILE_MAX = 4  # MP_RECALL_PROFILE_MAX: the strongest facts that did not match, at most


def greedy_profile(facts, budget=BUDGET):
    """The facts (key, value, date) the recent strategy takes from facts in
    their recent order: each whole while it fits the budget with the
    block's intro and header (core/recall/recall.h, steps 1 and 2), in the
    order the line writes them (mh.profile_items). All ASCII."""
    taken, head = [], len(mh.INTRO) + 1 + len(mh.PROFILE_HEAD)
    for f in facts:
        if mh.TOKENS_PER_MESSAGE + math.ceil((head + len(mh.profile_items(taken + [f]))) / 4.0) <= budget:
            taken.append(f)
    return mh.profile_order(taken)


class RelevanceCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': SECTIONS, 'memory': MEMORY}

    def own_proxy(self, memory=None, governance=None, **kw):
        secs = {'admin': dict(ADMIN['admin']), 'governance': dict(governance or NO_RETENTION['governance'])}
        return self.start_proxy(sections=secs, memory=dict(MEMORY, **(memory or {})), **kw)

    def imp_ok(self, user, items, proxy=None):
        r = import_lines(proxy or self.proxy, user, items)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['skipped'], 0, r.json())
        return r

    def ask(self, user, question, proxy=None):
        """A question that reads memory and records nothing: (Sent,
        Injection or None when nothing was injected)."""
        p = proxy or self.proxy
        s = mh.send(p, user, question, x_memory='read')
        self.assertOK(s)
        if mh.upstream_body(self.fake, s) == s.body:
            self.assertEqual(s.tokens(), 0)
            return s, None
        return s, self.injection(s)

    def block(self, user, question, proxy=None):
        s, inj = self.ask(user, question, proxy)
        self.assertIsNotNone(inj, 'nothing injected for %r' % question)
        return inj.block

    def archive(self, user, proxy=None):
        return [m for page in mh.archive_pages(proxy or self.proxy, user, 1000) for m in page]

    def turn(self, user, text, proxy=None):
        self.assertOK(mh.send(proxy or self.proxy, user, text))
        mh.wait_idle(proxy or self.proxy)


# ---------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------

RARE = ('instrument', 'plays the theremin in a jazz quartet', '2019-06-01')


def many_facts():
    """150 strong filler facts (confidence 0.95, one a minute on
    2024-01-01) and one rare, weak and old fact: (lines, the fillers in
    the recent order, as (key, value, date))."""
    lines, fillers = [], []
    for i in range(150):
        key, value = 'note_%03d' % i, 'ordinary filler detail number %03d' % i
        lines.append(fact(key, value, '2024-01-01T%02d:%02d:00Z' % (i // 60, i % 60), confidence=0.95))
        fillers.append((key, value, '2024-01-01'))
    lines.append(fact(RARE[0], RARE[1], RARE[2] + 'T12:00:00Z', confidence=0.2))
    fillers.reverse()  # newest first among equals
    return lines, fillers


class Facts(RelevanceCase):
    THEREMIN = 'Do you remember who plays the theremin in that quartet?'

    def test_rare_fact_found_by_relevant_not_by_recent_switched_by_sighup(self):
        p = self.own_proxy()
        user = mh.uid('rare')
        lines, fillers = many_facts()
        self.imp_ok(user, lines, p)
        strongest = greedy_profile(fillers + [RARE])
        self.assertNotIn(RARE, strongest)
        self.assertLess(len(strongest), 150, 'every fact fits: the test proves nothing')

        facts = self.block(user, self.THEREMIN, p).facts()
        self.assertEqual(facts[0], RARE, 'the matching fact does not lead the profile')
        rest = facts[1:]
        self.assertEqual(rest, fillers[:len(rest)], 'after the match, not the strongest facts')
        self.assertEqual(len(rest), PROFILE_MAX, 'the facts that did not match filled the budget')

        self.hup(p, retrieval='recent')
        self.assertEqual(self.block(user, self.THEREMIN, p).facts(), strongest)

        self.hup(p, retrieval='relevant')
        self.assertEqual(self.block(user, self.THEREMIN, p).facts()[0], RARE)

    def test_question_matching_nothing_gets_a_bounded_profile(self):
        user = mh.uid('nomatch')
        lines, fillers = many_facts()
        self.imp_ok(user, lines)
        s, inj = self.ask(user, 'Any thoughts on xylophones or bagpipes?')
        self.assertIsNotNone(inj)
        self.assertEqual(inj.block.facts(), mh.profile_order(fillers[:PROFILE_MAX]))
        self.assertIsNone(inj.block.past_line)
        self.assertLess(s.tokens(), 200)  # the intro and four facts, of 1,500

    def test_fact_and_message_of_one_import_both_injected(self):
        # An import is no chat turn: its facts and messages share the
        # import's request id, yet a fact is not "extracted from" them, so
        # taking one must not keep the other out (core/recall/recall.h, counted
        # once).
        user = mh.uid('oneimport')
        self.imp_ok(user, [message('user', 'We hiked up to the Dachstein glacier last summer.',
                                   '2023-08-01T10:00:00Z'),
                           message('user', 'Routine note about the weekly groceries.', '2023-08-02T10:00:00Z'),
                           fact('sport', 'glacier hiking', '2023-08-01T10:00:00Z'),
                           fact('city', 'Graz', '2023-08-01T10:00:00Z')])
        blk = self.block(user, 'What about the Dachstein glacier hike?')
        self.assertIn(('2023-08-01', 'user', 'We hiked up to the Dachstein glacier last summer.'), blk.past())
        self.assertEqual(blk.fact_dict(), {'sport': 'glacier hiking', 'city': 'Graz'})


# ---------------------------------------------------------------------------
# Past messages
# ---------------------------------------------------------------------------

class Past(RelevanceCase):
    def diary(self, user, extra):
        lines = [message('user' if i % 2 else 'assistant',
                         'Diary entry %02d about the garden and the weather.' % i,
                         '2022-%02d-%02dT09:00:00Z' % (1 + i // 28, 1 + i % 28)) for i in range(60)]
        self.imp_ok(user, lines + extra)

    def test_past_message_with_date_role_and_escaping(self):
        user = mh.uid('kayak')
        raw = 'The "kayak" trip | was\nfun [really] <b>bold</b> and\ttabbed.'
        self.diary(user, [message('assistant', raw, '2021-03-14T10:00:00Z'),
                          message('user', 'I bought the kayak in Bergen.', '1999-12-31T23:59:59Z')])
        s, inj = self.ask(user, 'How was the kayak trip?')
        past = inj.block.past()
        want_a = ('2021-03-14', 'assistant', 'The "kayak" trip / was fun (really) \u2039b\u203abold\u2039/b\u203a and tabbed.')
        want_u = ('1999-12-31', 'user', 'I bought the kayak in Bergen.')
        self.assertIn(want_a, past)
        self.assertIn(want_u, past)
        self.assertLess(past.index(want_u), past.index(want_a), 'the past line is not oldest first')
        for date, role, text in past:
            self.assertIn('kayak', text, 'a past message that does not match: %r' % text)
        # In the JSON the model gets, the quotes are JSON-escaped like the
        # rest of the block, and no stored line break or bracket survives.
        got = mh.upstream_body(self.fake, s)
        self.assertIn(b'(2021-03-14, assistant) The \\"kayak\\" trip / was fun (really)', got)
        self.assertNotIn(b'[really]', got)
        self.assertNotIn(b'was\\nfun', got)

    def test_long_past_message_cut_to_512_bytes(self):
        user = mh.uid('long')
        text = 'The zeppelin hangar tour ' + ' '.join('word%03d' % i for i in range(300))
        self.diary(user, [message('user', text, '2021-05-05T10:00:00Z')])
        past = self.block(user, 'Tell me about the zeppelin hangar tour.').past()
        got = [t for d, r, t in past if t.startswith('The zeppelin hangar tour')]
        self.assertEqual(len(got), 1, past)
        self.assertTrue(got[0].endswith('\u2026'), got[0][-20:])
        self.assertLessEqual(len(got[0].encode('utf-8')), 512)
        self.assertGreater(len(got[0].encode('utf-8')), 512 - 40)
        self.assertTrue(text.startswith(got[0][:-1].rstrip()), got[0])

    def test_past_message_the_request_holds_is_left_out(self):
        user = mh.uid('holds')
        said = 'I bought the kayak in Bergen.'
        self.diary(user, [message('user', said, '1999-12-31T23:59:59Z'),
                          message('user', 'The kayak paddle broke in Voss.', '2000-01-05T10:00:00Z')])
        texts = [t for _, _, t in self.block(user, 'What happened to the kayak paddle?').past()]
        self.assertIn(said, texts)
        s = mh.send(self.proxy, user, [mh.user_msg(said), mh.asst_msg('Nice boat.'),
                                       mh.user_msg('What happened to the kayak paddle?')], x_memory='read')
        self.assertOK(s)
        texts = [t for _, _, t in self.injection(s).block.past()]
        self.assertIn('The kayak paddle broke in Voss.', texts)
        self.assertNotIn(said, texts)

    def test_recorded_turn_folded_away_is_found_again(self):
        user = mh.uid('fold')
        first = 'My grandmother grew saffron crocuses in Kozani.'
        for text in (first, 'The train to work was late again.', 'We painted the kitchen yellow.',
                     'The football match went to penalties.', 'I tried a new bread recipe.'):
            self.turn(user, text)
        mem = mh.wait_memory(self.proxy, user, lambda m: m['summary']['text'] and 'saffron' in m['summary']['text'],
                             what='the first turn folded')
        self.assertNotIn(first, [m['content'] for m in mem['buffer']])
        self.assertEqual(len(self.archive(user)), 10)
        blk = self.block(user, 'What did my grandmother grow in Kozani?')
        self.assertIn((mh.today_utc(), 'user', first), blk.past())
        # The buffer's messages are injected as messages, never in the past line.
        # The buffer's messages are injected as messages, never in the past
        # line: it holds archived ones in order, none of the buffer's (the
        # newest; the fake's replies all read alike, so compare positions).
        archived = [(mh.today_utc(), m['role'], m['content']) for m in self.archive(user)]
        older = archived[:len(archived) - len(mem['buffer'])]
        it = iter(older)
        self.assertTrue(all(item in it for item in blk.past()),
                        'the past line is not a subsequence of the archive before the buffer:\n%r' % blk.past())


# ---------------------------------------------------------------------------
# The budget
# ---------------------------------------------------------------------------

class Budget(RelevanceCase):
    def test_injected_tokens_never_exceed_the_budget(self):
        # head_share 45: at 200 tokens a session's head (its summary) within
        # a larger share leaves its tail no room for a fact after the replay
        p = self.own_proxy(memory={'head_share': 45})
        user = mh.uid('budget')
        lines = [fact('topic_%02d' % i, 'the orchard and the %02d apple trees we planted' % i,
                      '2023-01-01T00:00:%02dZ' % i, confidence=0.5 + i / 200.0) for i in range(60)]
        lines += [message('user' if i % 2 else 'assistant',
                          'Orchard log %02d: pruning, grafting and picking the apples of row %02d.' % (i, i),
                          '2022-06-%02dT08:00:00Z' % (1 + i % 28)) for i in range(60)]
        self.imp_ok(user, lines, p)
        for text in ('We sold apple cider at the market.', 'The orchard needs a new fence.',
                     'A hailstorm damaged the apple blossoms.'):
            self.turn(user, text, p)
        mh.wait_memory(p, user, lambda m: m['summary']['text'] is not None and len(m['buffer']) > 0,
                       what='a summary and a buffer')
        seen_tokens = set()
        for budget in (0, 1, 60, 79, 80, 85, 90, 100, 120, 150, 200, 300, 450, 700, 1000, 1500, 2500, 4000, 100000):
            self.hup(p, context_budget_tokens=budget)
            for question in ('Tell me about the apple orchard and the cider.', 'zzz qqq xxx'):
                with self.subTest(budget=budget, question=question):
                    s, inj = self.ask(user, question, p)
                    self.assertLessEqual(s.tokens(), budget)
                    seen_tokens.add(s.tokens())
                    if budget >= 150:
                        self.assertIsNotNone(inj, 'nothing injected within %d tokens' % budget)
                        self.assertTrue(inj.block.facts(), 'no strongest facts within %d tokens' % budget)
        # With room for everything, every section is there.
        s, inj = self.ask(user, 'Tell me about the apple orchard and the cider.', p)
        blk = inj.block
        self.assertEqual(len(blk.facts()), 60)
        self.assertIsNotNone(blk.summary_line)
        self.assertTrue(blk.past(), 'no past line with all the room in the world')
        mem = mh.get_memory(p, user)
        buffered = [(m['role'], m['content']) for m in mem['buffer']]
        self.assertTrue(set(buffered) <= set(inj.recent()), 'not every buffered message: %r' % buffered)
        self.assertEqual(inj.messages, [], 'a message replayed as a message of its own')
        self.assertGreater(len(seen_tokens), 8, 'the budget made little difference: %r' % sorted(seen_tokens))


# ---------------------------------------------------------------------------
# Erasure, retention, determinism
# ---------------------------------------------------------------------------

class Ceiling(RelevanceCase):
    """A history made to defeat pruning: every archived message holds the
    question's words; one also holds a rare word."""
    N = 300
    MAX = 200  # below N: each common word is over the ceiling

    def history(self, user, proxy):
        lines = [message('user' if i % 2 else 'assistant',
                         'Note %d: the deploy function threw an error again.' % i,
                         '2022-%02d-%02dT09:00:00Z' % (1 + i // 28 % 12, 1 + i % 28)) for i in range(self.N)]
        lines.append(message('user', 'The deploy function threw an error in Zanzibar.', '2023-01-01T09:00:00Z'))
        self.imp_ok(user, lines, proxy)

    def work(self, proxy, user, question):
        """(postings scored, requests capped) by one question's read."""
        before = (proxy.metric('memproxy_relevance_postings_total'),
                  proxy.metric('memproxy_relevance_capped_total'))
        s, inj = self.ask(user, question, proxy)
        after = (proxy.metric('memproxy_relevance_postings_total'),
                 proxy.metric('memproxy_relevance_capped_total'))
        return after[0] - before[0], after[1] - before[1], inj

    def test_common_words_stop_at_the_ceiling_the_rare_one_is_found(self):
        capped = self.own_proxy(memory={'relevance_max_postings': self.MAX})
        user = mh.uid('ceiling')
        self.history(user, capped)
        q = 'Why did the deploy function throw an error in Zanzibar?'
        scored, hit, inj = self.work(capped, user, q)
        self.assertLessEqual(scored, self.MAX)  # one scoring call: no facts
        self.assertGreater(scored, 0)
        self.assertEqual(hit, 1)
        self.assertIsNotNone(inj)
        texts = [t for d, r, t in inj.block.past()]
        self.assertIn('The deploy function threw an error in Zanzibar.', texts)
        # A question of the rare word alone stays under it: not capped.
        scored, hit, inj = self.work(capped, user, 'Anything about Zanzibar?')
        self.assertEqual(hit, 0)
        self.assertIsNotNone(inj)
        # The default ceiling reads every posting of the same question.
        user2 = mh.uid('ceiling')
        self.history(user2, self.proxy)
        scored, hit, _ = self.work(self.proxy, user2, q)
        self.assertGreater(scored, 3 * self.N)
        self.assertEqual(hit, 0)


def injected_text(inj):
    if inj is None:
        return ''
    return json.dumps(inj.elements, ensure_ascii=False)


class Governance(RelevanceCase):
    def test_erased_fact_takes_its_value_out_of_the_archive(self):
        user = mh.uid('erase')
        secret = 'I keep dreaming about the Vesuvius crater hike.'
        for text in (secret, 'The train to work was late again.', 'We painted the kitchen yellow.',
                     'The football match went to penalties.'):
            self.turn(user, text)
        mem = mh.wait_memory(self.proxy, user,
                             lambda m: m['summary']['text'] and 'Vesuvius' in m['summary']['text'],
                             what='the first turn folded into the summary')
        self.assertNotIn(secret, [m['content'] for m in mem['buffer']])
        self.assertIn(secret, [m['content'] for m in self.archive(user)])
        blk = self.block(user, 'Remind me of the Vesuvius crater.')
        self.assertIn((mh.today_utc(), 'user', secret), blk.past())

        path = '/admin/users/%s/entities/trip' % mh.qid(user)
        r = mh.admin_request(self.proxy, 'PUT', path, b'{"value":"vesuvius CRATER"}', 'application/json')
        self.assertEqual(r.status, 200, r)
        r = mh.admin_request(self.proxy, 'DELETE', path)
        self.assertEqual(r.status, 204, r)

        archive = self.archive(user)
        self.assertEqual(len(archive), 7, [m['content'] for m in archive])
        self.assertFalse([m for m in archive if 'vesuvius' in m['content'].lower()])
        self.assertIsNone(mh.admin_memory(self.proxy, user).json()['summary']['text'])
        _, inj = self.ask(user, 'Remind me of the Vesuvius crater.')
        self.assertNotIn('vesuvius', injected_text(inj).lower())
        # nor after the next fold
        self.turn(user, 'I tried a new bread recipe.')
        self.turn(user, 'The cat knocked over a plant.')
        mh.wait_memory(self.proxy, user, lambda m: m['summary']['text'] is not None, what='a new summary')
        _, inj = self.ask(user, 'Remind me of the Vesuvius crater.')
        self.assertNotIn('vesuvius', injected_text(inj).lower())
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(b'vesuvius', bytes(r.body).lower())

    def test_erasing_an_imported_fact_keeps_the_import_s_other_messages(self):
        # The import's facts and messages share its request id, which does
        # not make the messages the fact's source turn.
        user = mh.uid('pie')
        self.imp_ok(user, [message('user', 'I baked a pie for Sunday lunch.', '2023-05-07T12:00:00Z'),
                           message('user', 'Our Sunday pie was a hit.', '2023-05-08T12:00:00Z'),
                           message('user', 'The weather was fine.', '2023-05-09T12:00:00Z'),
                           fact('food', 'Sunday pie', '2023-05-08T12:00:00Z')])
        r = mh.admin_request(self.proxy, 'DELETE', '/admin/users/%s/entities/food' % mh.qid(user))
        self.assertEqual(r.status, 204, r)
        self.assertEqual([m['content'] for m in self.archive(user)],
                         ['I baked a pie for Sunday lunch.', 'The weather was fine.'])
        texts = [t for _, _, t in self.block(user, 'What about the pie on Sunday?').past()]
        self.assertIn('I baked a pie for Sunday lunch.', texts)
        self.assertNotIn('Our Sunday pie was a hit.', texts)

    def test_retention_purges_an_old_imported_message(self):
        gov = {'retention_days': 30, 'pii_retention_days': 0}
        data = self.storage_dir()
        p = self.own_proxy(governance=gov, storage={'path': data})
        user = mh.uid('retain')
        now = int(time.time() * 1000)
        old = 'The lighthouse keeper told us his story long ago.'
        new = 'The lighthouse renovation was in the news this week.'
        # Imported to age from their own times (20 and 2 days old).
        body = mh.ndjson([message('user', old, mh.iso_ms(now - 20 * DAY_MS)),
                          message('assistant', new, mh.iso_ms(now - 2 * DAY_MS)),
                          fact('landmark', 'an old lighthouse', mh.iso_ms(now - 20 * DAY_MS))])
        r = mh.admin_request(p, 'POST', '/admin/users/%s/import?retention=item' % mh.qid(user), body, mh.NDJSON)
        self.assertEqual(mh.import_counts(r), {'messages': 2, 'facts': 1, 'settings': 0, 'skipped': 0, 'past_retention': 0})
        question = 'What about the lighthouse story?'
        # Recall filters nothing by age: until the sweep, the old one is there.
        texts = [t for _, _, t in self.block(user, question, p).past()]
        self.assertIn(old, texts)
        self.stop_checked(p)
        # 12 days on, the old items are 32 days old; the sweep at start takes them
        p = self.own_proxy(governance=gov, storage={'path': data},
                           env={'MEMPROXY_TEST_CLOCK_OFFSET_MS': str(12 * DAY_MS)})
        p.wait_metric('memproxy_retention_sweeps_total', lambda x: x >= 1, mh.WAIT, result='ok')
        self.assertEqual((p.metric('memproxy_retention_purged_total', item='messages'),
                          p.metric('memproxy_retention_purged_total', item='facts')), (1, 1))
        self.assertEqual([m['content'] for m in self.archive(user, p)], [new])
        blk = self.block(user, question, p)
        self.assertEqual([t for _, _, t in blk.past()], [new])
        self.assertEqual(blk.facts(), [])

    def test_same_question_same_bytes(self):
        user = mh.uid('same')
        # Ties everywhere: 30 messages and 30 facts that match equally.
        self.imp_ok(user, [message('user', 'Garden note %02d.' % i, '2023-04-01T00:00:00Z') for i in range(30)] +
                    [fact('plant_%02d' % i, 'garden plant', '2023-04-01T00:00:00Z') for i in range(30)])
        self.turn(user, 'The garden hose is leaking.')
        self.turn(user, 'We bought garden gloves.')
        q = 'What is going on in the garden?'
        s1, inj1 = self.ask(user, q)
        s2, inj2 = self.ask(user, q)
        self.assertIsNotNone(inj1)
        self.assertTrue(inj1.block.past() and inj1.block.facts(), inj1.block.content)
        self.assertEqual(mh.upstream_body(self.fake, s1), mh.upstream_body(self.fake, s2))
        self.assertEqual(s1.tokens(), s2.tokens())


SYSTEM = 'You are a careful, terse assistant for a gardener. ' * 110  # ~1,400 tokens: cacheable
GARDEN = [fact('plant_%02d' % i, 'a %s %s rose bush by the %s wall' % (z, c, w), '2023-04-01T00:00:00Z')
          for i, (z, c, w) in enumerate((z, c, w) for z in ('tall', 'short', 'young', 'old', 'wild')
                                        for c in ('red', 'white', 'yellow', 'pink', 'orange')
                                        for w in ('north', 'south', 'east', 'west'))]
GARDEN.append(fact('door_code', 'the shed door code is 4417', '2023-04-02T00:00:00Z'))


def usage_of(sent, stream):
    """The fake upstream's usage in the reply (a stream's last chunk that has it)."""
    if not stream:
        return sent.resp.json()['usage']
    usage = None
    for line in bytes(sent.resp.body).decode().split('\n'):
        if line.startswith('data: {'):
            usage = json.loads(line[6:]).get('usage') or usage
    return usage


class Conversations(RelevanceCase):
    """A stable head and a per-question tail (docs/memory-conversations.md#conversations):
    through the real binary, the fake upstream's prompt cache shows what
    stays cached turn after turn."""

    QUESTIONS = ('Which roses grow by the north wall?', 'And what is by the east wall?',
                 'What is the code of the shed door?')

    def converse(self, user, conn, stream=False, headers=(), questions=QUESTIONS, proxy=None):
        """Three turns of one conversation on one connection: [(Sent, upstream body, usage)]."""
        msgs = [{'role': 'system', 'content': SYSTEM}, mh.user_msg('Hi, my garden again.'),
                mh.asst_msg('Hello! Ready when you are. ' * 40)]
        out = []
        for i, q in enumerate(questions):
            msgs.append(mh.user_msg(q))
            extra = {'stream_options': {'include_usage': True}} if stream else None
            s = mh.send(proxy or self.proxy, user, msgs, stream=stream, x_memory='read', conn=conn,
                        extra=extra, model='gpt-4o', extra_headers=headers)
            self.assertOK(s)
            out.append((s, mh.upstream_body(self.fake, s), usage_of(s, stream)))
            msgs.append(mh.asst_msg('Answer %d: ' % i + 'roses need sun. ' * 60))
        return out

    def test_head_stable_tail_before_the_question_cache_holds(self):
        p = self.own_proxy(memory={'head_share': 50})
        for stream in (False, True):
            with self.subTest(stream=stream):
                user = mh.uid('conv')
                self.imp_ok(user, GARDEN, p)
                reused = p.metric('memproxy_conversation_heads_total', result='reused')
                turns = self.converse(user, p.conn(), stream=stream, proxy=p)
                hi = b'{"role":"user","content":"Hi, my garden again."}'
                heads = [b[:b.index(hi)] for _, b, _ in turns]
                # the head: after the system prompt, byte-identical on every turn
                self.assertEqual(heads[0], heads[1])
                self.assertEqual(heads[1], heads[2])
                self.assertIn(b'[User profile]: ', heads[0])
                for (s, body, _), q in zip(turns, self.QUESTIONS):
                    # the tail right before the newest user message, and nowhere else
                    tail_at = body.rfind(b'{"role":"system","content":"' + mh.TAIL_INTRO.encode())
                    self.assertGreater(tail_at, len(heads[0]))
                    text = body[tail_at:].decode()
                    _, end = json.JSONDecoder().raw_decode(text)
                    newest = json.dumps(mh.user_msg(q), ensure_ascii=False, separators=(',', ':'))
                    self.assertTrue(text[end:].startswith(',' + newest), text[end:end + 200])
                    self.assertEqual(s.tokens(), self.injection(s).cost())
                    self.assertLessEqual(s.tokens(), BUDGET)
                self.assertIn(b'4417', turns[2][1])  # the door code: in the tail when asked
                self.assertEqual(p.metric('memproxy_conversation_heads_total', result='reused'),
                                 reused + 2)
                # the provider's cache: turn 3 reads all of turn 2 but its tail and question
                u2, u3 = turns[1][2], turns[2][2]
                tail2 = json.loads(turns[1][1])['messages'][-2]['content']
                uncached2 = mh.message_cost(tail2) + mh.message_cost(self.QUESTIONS[1]) + 2 * 128
                self.assertGreater(u3['prompt_tokens_details']['cached_tokens'],
                                   u2['prompt_tokens'] - uncached2)

    def test_default_head_share_splits_the_budget(self):
        """By default (head_share 55) the head holds the facts the first
        turn chose within 55% of the budget; each question's tail the rest;
        head_share 0 puts every fact in the tail."""
        for share in (None, 0):
            if share is None:  # the default: MEMORY's without its head_share
                p = self.start_proxy(sections=SECTIONS, memory={
                    k: v for k, v in MEMORY.items() if k != 'head_share'})
            else:
                p = self.own_proxy(memory={'head_share': share})
            user = mh.uid('dflt')
            self.imp_ok(user, GARDEN, p)
            for s, body, _ in self.converse(user, p.conn(), proxy=p):
                hi = body.index(b'{"role":"user","content":"Hi, my garden again."}')
                msgs = json.loads(body)['messages']
                if share is None:
                    head = msgs[1]['content']
                    self.assertTrue(head.startswith(mh.INTRO) and '[User profile]' in head)
                    self.assertLessEqual(mh.message_cost(head), BUDGET * 55 // 100)
                else:
                    self.assertNotIn(b'[User profile]', body[:hi])
                self.assertIn(b'[User profile]', body[hi:])
                self.assertEqual(s.tokens(), self.injection(s).cost())

    def test_erased_or_corrected_fact_rebuilds_the_head(self):
        p = self.own_proxy(memory={'head_share': 50})
        user = mh.uid('erase')
        self.imp_ok(user, GARDEN, p)
        conn = p.conn()
        first = self.converse(user, conn, questions=self.QUESTIONS[2:], proxy=p)
        self.assertIn(b'4417', first[0][1])
        rebuilt = p.metric('memproxy_conversation_heads_total', result='rebuilt')
        r = p.request('DELETE', '/v1/memory/entities/door_code', [('X-User-Id', user)])
        self.assertIn(r.status, (200, 204), r)
        mh.wait_memory(p, user, lambda m: 'door_code' not in mh.entity_map(m), what='erased')
        r = p.request('PUT', '/v1/memory/entities/plant_00', [('X-User-Id', user),
                               ('Content-Type', 'application/json')], json.dumps({'value': 'a blue lilac'}).encode())
        self.assertIn(r.status, (200, 201), r)
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('plant_00') == 'a blue lilac',
                       what='corrected')
        for _, body, _ in self.converse(user, conn, questions=self.QUESTIONS[2:], proxy=p):
            self.assertNotIn(b'4417', body)          # never again, head or tail
            self.assertNotIn(b'a tall red rose bush by the north wall', body)
            self.assertIn(b'a blue lilac', body)
        self.assertGreater(p.metric('memproxy_conversation_heads_total', result='rebuilt'), rebuilt)

    def test_head_keeps_the_first_turns_past_the_tail_never_repeats_it(self):
        """With head_share above 0 the head holds the past messages relevant
        on the first turn too; a later tail never takes them again."""
        p = self.own_proxy(memory={'head_share': 50})
        user = mh.uid('hpast')
        wall = ('north', 'south', 'east', 'west')
        self.imp_ok(user, GARDEN + [
            message('user', 'By the %s wall the roses were %s this spring, note %d.' % (w, c, i),
                    '2023-05-0%dT10:00:00Z' % (1 + i % 8))
            for i, (w, c) in enumerate((w, c) for w in wall for c in ('lush', 'sparse', 'red', 'pink',
                                                                      'tall', 'short', 'wild'))], p)
        turns = self.converse(user, p.conn(), proxy=p)
        hi = b'{"role":"user","content":"Hi, my garden again."}'
        msgs = json.loads(turns[0][1])['messages']
        head = mh.Block(msgs[1]['content'])
        in_head = [t for _, _, t in head.past()]
        self.assertTrue(any('north' in t for t in in_head), head.content)
        tails = 0
        for s, body, _ in turns:
            self.assertEqual(body[:body.index(hi)], turns[0][1][:turns[0][1].index(hi)])
            before = json.loads(body)['messages'][-2]
            if before['role'] != 'system':
                continue  # no tail: the head held everything for this question
            tail = mh.Block(before['content'], tail=True)
            tails += 1
            again = [t for _, _, t in tail.past() if t in in_head]
            self.assertEqual(again, [], 'the tail repeats the head')
            self.assertEqual(s.tokens(), self.injection(s).cost())
            self.assertLessEqual(s.tokens(), BUDGET)
        self.assertGreater(tails, 0)

    def test_summary_fold_keeps_the_head_erasure_rebuilds_it(self):
        """The memory jobs rewrite the summary mid-conversation: a resent
        conversation keeps its head byte for byte (the turns folded in are
        in its request); an erasure rebuilds it, without the old summary."""
        p = self.own_proxy(memory={'head_share': 50})
        user = mh.uid('fold')
        self.imp_ok(user, GARDEN, p)
        conn = p.conn()

        def said(text, word):  # a recorded turn of another chat, folded into the summary
            self.assertOK(mh.send(p, user, text))
            mem = mh.wait_memory(p, user, lambda m: word in (m['summary']['text'] or ''),
                                 what='a summary with ' + word)
            return mem['summary']['text']

        msgs = [{'role': 'system', 'content': SYSTEM}, mh.user_msg('Hi, my garden again.'),
                mh.asst_msg('Hello! Ready when you are.')]

        def turn(q):
            msgs.append(mh.user_msg(q))
            s = mh.send(p, user, msgs, x_memory='read', conn=conn, model='gpt-4o')
            self.assertOK(s)
            msgs.append(mh.asst_msg('Noted.'))
            body = mh.upstream_body(self.fake, s)
            return body[:body.index(b'{"role":"user","content":"Hi, my garden again."}')]

        first_summary = said('I planted violets today.', 'violets')
        h1 = turn(self.QUESTIONS[0])
        self.assertIn(json.dumps(first_summary)[1:-1].encode(), h1)
        reused = p.metric('memproxy_conversation_heads_total', result='reused')
        self.assertNotEqual(said('I planted tulips today.', 'tulips'), first_summary)
        h2 = turn(self.QUESTIONS[1])
        self.assertEqual(h2, h1)  # the rewritten summary did not move the head
        self.assertNotIn(b'tulips', h2)
        self.assertEqual(p.metric('memproxy_conversation_heads_total', result='reused'), reused + 1)
        r = p.request('DELETE', '/v1/memory/entities/plant_00', [('X-User-Id', user)])
        self.assertIn(r.status, (200, 204), r)
        mh.wait_memory(p, user, lambda m: 'plant_00' not in mh.entity_map(m), what='erased')
        h3 = turn(self.QUESTIONS[0])
        self.assertNotEqual(h3, h1)  # rebuilt: the erasure dropped the summary it held
        self.assertNotIn(b'violets', h3)
        self.assertNotIn(b'a tall red rose bush by the north wall', h3)

    def test_identity_and_expiry(self):
        # identity on a proxy whose conversations outlast the test (a busy
        # machine may take seconds between two turns); expiry on one that
        # forgets them after 1 s idle, slept past
        p = self.own_proxy(memory={'conversation_idle_seconds': 3600})
        q = self.own_proxy(memory={'conversation_idle_seconds': 1})
        user = mh.uid('ident')
        self.imp_ok(user, GARDEN, p)
        self.imp_ok(user, GARDEN, q)
        conns = {p: p.conn(), q: q.conn()}

        def turn(msgs, headers=(), proxy=p):
            s = mh.send(proxy, user, msgs, x_memory='read', conn=conns[proxy], extra_headers=headers)
            self.assertOK(s)
            return upstream_head(self.fake, s)

        def counts(proxy=p):
            return {r: proxy.metric('memproxy_conversation_heads_total', result=r)
                    for r in ('new', 'reused', 'rebuilt')}

        hist = [{'role': 'system', 'content': 'S'}, mh.user_msg('first'), mh.asst_msg('ok')]
        c0 = counts()
        h1 = turn(hist + [mh.user_msg('Which roses are red?')])
        h2 = turn(hist + [mh.user_msg('Which are white?')])
        self.assertEqual(h1, h2)
        c1 = counts()
        self.assertEqual((c1['new'] - c0['new'], c1['reused'] - c0['reused']), (1, 1))
        # another first message: another conversation
        turn([{'role': 'system', 'content': 'S'}, mh.user_msg('other'), mh.asst_msg('ok'),
              mh.user_msg('Which are yellow?')])
        self.assertEqual(counts()['new'] - c1['new'], 1)
        # the client's own id wins over the leading messages
        c2 = counts()
        chat = [('X-OpenWebUI-Chat-Id', 'chat-' + user)]
        turn(hist + [mh.user_msg('Which are pink?')], chat)
        turn(hist + [mh.user_msg('Which are pink?'), mh.asst_msg('y'),
                     mh.user_msg('Which are orange?')], chat)
        c3 = counts()
        self.assertEqual((c3['new'] - c2['new'], c3['reused'] - c2['reused']), (1, 1))
        # idle past conversation_idle_seconds: a new conversation
        c4 = counts(q)
        turn(hist + [mh.user_msg('Which roses are red?')], proxy=q)
        time.sleep(1.3)
        turn(hist + [mh.user_msg('Which roses are red?')], proxy=q)
        self.assertEqual(counts(q)['new'] - c4['new'], 2)


    def test_first_turn_of_a_resending_client_opens_its_conversation(self):
        """A lone message is the first turn of a conversation (a client
        that records nothing shows no session): its head holds the facts
        its question chose, and the turn after it (the client resending
        it) keeps that head, byte for byte."""
        p = self.own_proxy(memory={'head_share': 50})
        conn = p.conn()
        sysmsg = {'role': 'system', 'content': SYSTEM}
        first = mh.user_msg('Which roses grow by the north wall?')

        def turn(user, msgs):
            s = mh.send(p, user, msgs, x_memory='read', conn=conn, model='gpt-4o')
            self.assertOK(s)
            return upstream_head(self.fake, s)

        def counts():
            return {r: p.metric('memproxy_conversation_heads_total', result=r)
                    for r in ('new', 'reused', 'rebuilt')}

        lone_user, resender = mh.uid('lone'), mh.uid('resender')
        for u in (lone_user, resender):
            self.imp_ok(u, GARDEN, p)
        # two lone messages that record nothing: two first turns, a head each
        c0 = counts()
        for q in (first, mh.user_msg('What is the code of the shed door?')):
            body = turn(lone_user, [sysmsg, q])
            self.assertIn(b'[User profile]', body)
        c1 = counts()
        self.assertEqual((c1['new'] - c0['new'], c1['reused'] - c0['reused']), (2, 0))
        turn(resender, [sysmsg, mh.user_msg('Hi'), mh.asst_msg('Hello'), mh.user_msg('Any roses?')])
        c2 = counts()
        h1 = turn(resender, [sysmsg, first])  # the system prompt, the head, the tail
        h2 = turn(resender, [sysmsg, first, mh.asst_msg('Red ones.'), mh.user_msg('And by the east wall?')])
        self.assertIn(b'[User profile]', h2)  # a conversation's head: facts chosen on its first turn
        self.assertTrue(h1.startswith(h2), "the first turn's head is not the conversation's")
        c3 = counts()
        self.assertEqual((c3['new'] - c2['new'], c3['reused'] - c2['reused']), (1, 1))

    def test_table_bounded_least_recently_used_dropped(self):
        """conversations_max bounds each user's kept conversations in the
        store (least recently written dropped first), whichever worker
        serves them; another user's are kept apart. A read that reuses a
        kept head writes nothing: it does not make its conversation the
        most recently written."""
        p = self.own_proxy(memory={'conversations_max': 2})
        user, other = mh.uid('lru'), mh.uid('lru-other')
        self.imp_ok(user, GARDEN, p)
        self.imp_ok(other, GARDEN, p)

        def turn(first, who=user):
            self.assertOK(mh.send(p, who, [mh.user_msg(first), mh.asst_msg('ok'),
                                           mh.user_msg('Which roses are red?')],
                                  x_memory='read'))

        turn('kept apart', other)
        for first in ('one', 'two', 'three', 'two'):
            turn(first)
        self.assertEqual(p.metric('memproxy_conversations_evicted_total'), 1)  # 'one'
        new = p.metric('memproxy_conversation_heads_total', result='new')
        # dropped: new again, and 'two' (least recently written: its second
        # read reused its head and wrote nothing) goes
        turn('one')
        self.assertEqual(p.metric('memproxy_conversation_heads_total', result='new'), new + 1)
        self.assertEqual(p.metric('memproxy_conversations_evicted_total'), 2)
        turn('three')
        turn('kept apart', other)  # the other user's first conversation is still kept
        self.assertEqual(p.metric('memproxy_conversation_heads_total', result='new'), new + 1)
        turn('two')  # dropped
        self.assertEqual(p.metric('memproxy_conversation_heads_total', result='new'), new + 2)


def upstream_head(fake, s):
    """The upstream body up to the client's first user message."""
    body = mh.upstream_body(fake, s)
    return body[:body.index(b'{"role":"user"')]


if __name__ == '__main__':
    harness.main('proxy_relevance')
