"""Memory modes (issue 3, requirement 2): what each mode injects into a
user's next request, X-Memory-Mode / X-Memory-Injected-Tokens, switching the
mode by SIGHUP without a restart, the per-request X-Memory control, and
requests without a user id."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, asst_msg, send, user_msg  # noqa: E402

FIRST = 'My name is Alice. I live in Paris.'
SECOND = 'What do you remember about me?'

# Small buffer and summary thresholds so one turn is enough to get a summary.
SMALL = {'buffer_messages': 2, 'summarize_at': 2}


class Modes(mh.MemCase):
    """One memproxy per mode: a first turn, the memory work it causes, then
    exactly what the second request carries upstream."""

    def first_turn(self, p, user, mode):
        s = send(p, user, FIRST)
        self.assertOK(s)
        self.assertEqual(s.mode(), mode)
        self.assertTransparent(s)      # nothing stored yet: nothing injected
        self.assertFalse(s.resp.has_header('x-memory-error'), s.resp.headers)
        return s

    def test_mode_off(self):
        p = self.start_proxy(memory=dict(SMALL, mode='off'))
        user = mh.uid('off')
        rec_before = sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record')
        self.first_turn(p, user, 'off')
        s2 = send(p, user, SECOND)
        self.assertOK(s2)
        self.assertEqual(s2.mode(), 'off')
        self.assertTransparent(s2)
        time.sleep(0.3)
        mem = mh.get_memory(p, user)
        self.assertEqual(mem['buffer'], [], 'mode off recorded a turn')
        self.assertEqual(mem['entities'], [])
        rec_after = sum(v for (k, _), v in mh.jobs_metrics(p).items() if k == 'record')
        self.assertEqual(rec_after, rec_before, 'mode off handed turns to the memory worker')
        self.assertEqual(mh.user_jobs(self.fake, user), [], 'mode off ran memory jobs')

    def test_mode_buffer(self):
        p = self.start_proxy(memory=dict(SMALL, mode='buffer'))
        user = mh.uid('buf')
        self.first_turn(p, user, 'buffer')
        mh.wait_memory(p, user, lambda m: mh.buffer_pairs(m) == [('user', FIRST), ('assistant', REPLY)],
                       what='the first turn in the buffer')
        s2 = send(p, user, SECOND)
        self.assertOK(s2)
        self.assertEqual(s2.mode(), 'buffer')
        inj = self.injection(s2)
        self.assertEqual(inj.block.lines, [mh.INTRO, inj.block.past_line],
                         'buffer mode: the block is the intro and the recent turns')
        self.assertEqual(inj.recent(), [('user', FIRST), ('assistant', REPLY)])
        self.assertEqual(inj.pairs(), [], 'a turn replayed as messages of its own')
        mh.wait_idle(p)
        self.assertEqual(mh.user_jobs(self.fake, user), [], 'buffer mode ran summary or extraction jobs')
        self.assertEqual(mh.get_memory(p, user)['entities'], [])

    def test_russian_buffer_costs_its_estimate_by_script(self):
        """Russian costs less than bytes / 4 (core/recall/memblock.h): the
        budget carries more of it, and the header is that estimate."""
        budget = 250
        p = self.start_proxy(memory={'mode': 'buffer', 'buffer_messages': 20,
                                     'context_budget_tokens': budget})
        user = mh.uid('ru')
        texts = ['Напомни мне купить корм для кота Барсика в субботу утром, пожалуйста.',
                 'Дочь Алиса ходит на сольфеджио по четвергам в шесть вечера.',
                 'Мы переехали в Новосибирск три года назад, живём у Оби.',
                 'Записался к стоматологу на пятницу, клиника на улице Гоголя.',
                 'Летом хочу на рыбалку на Алтай, с братом и его сыном.']
        for t in texts:
            self.assertOK(send(p, user, t))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2 * len(texts),
                       what='the turns in the buffer')
        s = send(p, user, SECOND)
        self.assertOK(s)
        inj = self.injection(s)  # the header is the estimate by script
        self.assertLessEqual(s.tokens(), budget)
        ru = [c for _, c in inj.recent() if c in texts]
        self.assertGreaterEqual(len(ru), 3, inj.recent())
        old = sum(mh.TOKENS_PER_MESSAGE + mh.bytes_estimate(e['content']) for e in inj.elements)
        self.assertGreater(old, budget, 'bytes / 4 would have fitted this much too')

    def test_mode_summary(self):
        p = self.start_proxy(memory=dict(SMALL, mode='summary'))
        user = mh.uid('sum')
        self.first_turn(p, user, 'summary')
        # summarize_at 2: the turn's two messages fill the buffer; the oldest
        # half (the user message) is folded into the summary.
        mem = mh.wait_memory(p, user, lambda m: m['summary']['text'] is not None and
                             mh.buffer_pairs(m) == [('assistant', REPLY)], what='the first summary')
        self.assertTrue(mem['summary']['text'].startswith('Summary: '), mem)
        self.assertIn('My name is Alice', mem['summary']['text'])
        s2 = send(p, user, SECOND)
        self.assertOK(s2)
        self.assertEqual(s2.mode(), 'summary')
        inj = self.injection(s2)
        self.assertIsNone(inj.block.profile_line, 'summary mode injected a profile')
        self.assertEqual(inj.block.summary, mem['summary']['text'])
        self.assertEqual(inj.recent(), [('assistant', REPLY)])  # its user message: folded
        self.assertEqual(inj.pairs(), [])
        mh.wait_idle(p)
        self.assertEqual(mh.user_jobs(self.fake, user, 'extract'), [], 'summary mode ran extraction')
        self.assertEqual(mh.get_memory(p, user)['entities'], [])

    def test_mode_entity(self):
        p = self.start_proxy(memory=dict(SMALL, mode='entity'))
        user = mh.uid('ent')
        self.first_turn(p, user, 'entity')
        mem = mh.wait_memory(p, user, lambda m: mh.entity_map(m) == {'name': 'Alice', 'city': 'Paris'},
                             what='the extracted facts')
        self.assertIsNone(mem['summary']['text'])
        s2 = send(p, user, SECOND)
        self.assertOK(s2)
        self.assertEqual(s2.mode(), 'entity')
        inj = self.injection(s2)
        self.assertIsNone(inj.block.summary_line, 'entity mode injected a summary')
        self.assertEqual(inj.messages, [], 'entity mode injected buffered messages')
        facts = inj.block.facts()
        self.assertEqual([(k, v) for k, v, _ in facts], [('city', 'Paris'), ('name', 'Alice')])
        for _, _, d in facts:
            self.assertIn(d, (mh.today_utc(), time.strftime('%Y-%m-%d', time.gmtime(time.time() - 120))))
        mh.wait_idle(p)
        self.assertEqual(mh.user_jobs(self.fake, user, 'summarize'), [], 'entity mode ran summaries')

    def test_mode_hybrid(self):
        p = self.start_proxy(memory=dict(SMALL, mode='hybrid'))
        user = mh.uid('hyb')
        self.first_turn(p, user, 'hybrid')
        mem = mh.wait_memory(p, user, lambda m: m['summary']['text'] is not None and
                             mh.entity_map(m) == {'name': 'Alice', 'city': 'Paris'} and
                             mh.buffer_pairs(m) == [('assistant', REPLY)],
                             what='summary, facts and the shortened buffer')
        s2 = send(p, user, SECOND)
        self.assertOK(s2)
        self.assertEqual(s2.mode(), 'hybrid')
        inj = self.injection(s2)
        self.assertEqual(len(inj.block.lines), 4, inj.block.lines)
        self.assertEqual(inj.block.fact_dict(), {'name': 'Alice', 'city': 'Paris'})
        self.assertEqual(inj.block.summary, mem['summary']['text'])
        self.assertEqual(inj.recent(), [('assistant', REPLY)])
        self.assertEqual(inj.pairs(), [])
        # profile, then summary.
        self.assertLess(inj.block.lines.index(inj.block.profile_line),
                        inj.block.lines.index(inj.block.summary_line))

    def test_injection_after_leading_system_and_developer(self):
        p = self.start_proxy(memory={'mode': 'buffer'})
        user = mh.uid('lead')
        self.assertOK(send(p, user, FIRST))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the first turn')
        msgs = [{'role': 'system', 'content': 'You are terse.'},
                {'role': 'developer', 'content': 'Answer in English.'},
                user_msg(SECOND)]
        s = send(p, user, msgs)
        self.assertOK(s)
        inj = self.injection(s)   # checks the insertion point: just past the developer message
        self.assertEqual(inj.recent(), [('user', FIRST), ('assistant', REPLY)])
        up = mh.body_json(mh.upstream_of(self.fake, s))
        self.assertEqual([m['role'] for m in up['messages']],
                         ['system', 'developer', 'system', 'user'])

    def test_messages_already_in_the_request_not_injected_again(self):
        p = self.start_proxy(memory={'mode': 'buffer'})
        user = mh.uid('dedup')
        self.assertOK(send(p, user, FIRST))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the first turn')
        # The client resends the whole history: nothing is left to inject.
        # (X-Memory: read: these requests add nothing to the buffer.)
        s = send(p, user, [user_msg(FIRST), asst_msg(REPLY), user_msg(SECOND)], x_memory='read')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'buffer')
        self.assertTransparent(s)
        # It carries only the reply: the user message is injected, the reply not.
        s = send(p, user, [asst_msg(REPLY), user_msg('and now?')], x_memory='read')
        self.assertOK(s)
        inj = self.injection(s)
        self.assertEqual(inj.recent(), [('user', FIRST)])
        self.assertEqual(inj.pairs(), [])


class SighupSwitch(mh.MemCase):

    def test_mode_switch_by_sighup_without_restart(self):
        p = self.start_proxy(memory={'mode': 'off'})
        pid = p.pid
        user = mh.uid('hup')
        with p.conn() as c:
            s = send(p, user, 'My name is Ann.', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'off')
            self.assertTransparent(s)

            self.hup(p, mode='buffer')
            s = send(p, user, 'I live in Oslo.', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'buffer')
            self.assertTransparent(s)          # nothing stored: mode off recorded nothing
            mh.wait_memory(p, user, lambda m: mh.buffer_pairs(m) == [('user', 'I live in Oslo.'),
                                                                     ('assistant', REPLY)],
                           what='the turn recorded in buffer mode (and only it)')
            s = send(p, user, 'Hi again', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'buffer')
            inj = self.injection(s)
            self.assertEqual(inj.block.lines, [mh.INTRO, inj.block.past_line])
            self.assertEqual(inj.recent(), [('user', 'I live in Oslo.'), ('assistant', REPLY)])

            self.hup(p, mode='entity')
            s = send(p, user, 'My name is Dora.', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'entity')
            self.assertTransparent(s)          # a buffer exists, but entity mode injects only facts
            mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('name') == 'Dora', what='name: Dora')
            s = send(p, user, 'Who am I?', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'entity')
            inj = self.injection(s)
            self.assertEqual(inj.block.fact_dict(), {'name': 'Dora'})
            self.assertIsNone(inj.block.summary_line)
            self.assertEqual(inj.messages, [])

            self.hup(p, mode='off')
            n_before = len(mh.get_memory(p, user)['buffer'])
            s = send(p, user, 'Forget this one.', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'off')
            self.assertTransparent(s)
        time.sleep(0.3)
        mem = mh.get_memory(p, user)
        self.assertEqual(len(mem['buffer']), n_before, 'mode off after SIGHUP still recorded')
        self.assertNotIn('Forget this one.', [m['content'] for m in mem['buffer']])
        self.assertEqual(p.pid, pid)
        self.assertIsNone(p.proc.poll(), 'memproxy restarted or died')


class MemoryHeader(mh.SeededUser, mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}

    def test_read_injects_and_records_nothing(self):
        user = self.seeded_user()
        with self.proxy.conn() as c:
            s = send(self.proxy, user, 'I live in Oslo.', x_memory='read', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'hybrid')
            inj = self.injection(s)
            self.assertEqual(inj.block.fact_dict(), {'name': 'Xena'})
            self.assertEqual(inj.recent(), [('user', 'My name is Xena.'), ('assistant', REPLY)])
            mem = self.barrier(c, user)
        self.assertNotIn('I live in Oslo.', [m['content'] for m in mem['buffer']], 'X-Memory: read recorded')
        self.assertEqual(len(mem['buffer']), 4, mh.buffer_pairs(mem))
        mh.wait_idle(self.proxy)
        self.assertNotIn('city', mh.entity_map(mh.get_memory(self.proxy, user)))

    def test_write_records_and_injects_nothing(self):
        user = self.seeded_user()
        s = send(self.proxy, user, 'I live in Lima.', x_memory='write')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'hybrid')
        self.assertTransparent(s)
        mem = mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m).get('city') == 'Lima',
                             what='the write-only turn recorded and extracted')
        self.assertEqual(mh.buffer_pairs(mem)[-2:], [('user', 'I live in Lima.'), ('assistant', REPLY)])

    def test_off_neither_and_byte_identical(self):
        user = self.seeded_user()
        with self.proxy.conn() as c:
            s = send(self.proxy, user, 'I live in Rome.', x_memory='off', conn=c)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'off')
            self.assertTransparent(s)
            mem = self.barrier(c, user)
        self.assertNotIn('I live in Rome.', [m['content'] for m in mem['buffer']], 'X-Memory: off recorded')
        mh.wait_idle(self.proxy)
        self.assertNotIn('city', mh.entity_map(mh.get_memory(self.proxy, user)))

    def test_auto_explicit_reads_and_writes(self):
        user = self.seeded_user()
        s = send(self.proxy, user, 'I live in Kyiv.', x_memory='auto')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'hybrid')
        self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Xena'})
        mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m).get('city') == 'Kyiv', what='city: Kyiv')

    def test_bad_value_400(self):
        user = self.seeded_user()
        n0 = mh.last_n(self.fake)
        for bad in ('sometimes', 'readwrite', 'on', 'read write', 'read,never'):
            with self.subTest(value=bad):
                s = send(self.proxy, user, 'I live in Bern.', x_memory=bad)
                self.assertOpenAIError(s.resp, 400, 'invalid_memory_header')
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['n'] > n0 and mh.job_kind(r) is None], [],
                         'a request with a bad X-Memory reached the upstream')

    def test_no_user_id_proxied_without_memory(self):
        mh.wait_idle(self.proxy)
        rec_before = sum(v for (k, _), v in mh.jobs_metrics(self.proxy).items() if k == 'record')
        s = send(self.proxy, None, 'My name is Nobody.')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        s = send(self.proxy, None, 'My name is Nobody.', stream=True)
        self.assertOK(s)
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        time.sleep(0.3)
        rec_after = sum(v for (k, _), v in mh.jobs_metrics(self.proxy).items() if k == 'record')
        self.assertEqual(rec_after, rec_before, 'a request without a user id was recorded')

    def test_user_from_body(self):
        user = mh.uid('body')
        s = send(self.proxy, None, 'My name is Bodo.', extra={'user': user})
        self.assertOK(s)
        self.assertEqual(s.mode(), 'hybrid')
        self.assertTransparent(s)
        mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m).get('name') == 'Bodo',
                       what='the turn of the body\'s "user" recorded under that id')
        s = send(self.proxy, None, 'Who am I?', extra={'user': user})
        self.assertOK(s)
        self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Bodo'})


if __name__ == '__main__':
    harness.main('proxy_memory_modes')
