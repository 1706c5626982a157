"""The memory page in a real browser (issue 65, requirement 3;
docs/memory-page.md): Debian's headless Chromium, driven over the DevTools
protocol (tests/proxy/cdp.py, standard library only), opens a person's
signed link, finds a fact with the words that told it, deletes it with the
keyboard, and the next chat request through memproxy carries neither the
fact nor its words; an altered or expired link shows nothing of the user
(its API calls get 403); another user is out of reach from the page's own
scripts; the page makes no request outside memproxy. The operator signs
in on the admin listener's page, sees the held and the failed memory jobs
as tables, runs a failed one again with the keyboard (the memory model gets
its turn once more) and opens a held job's user from its link. It saves
screenshots to the build directory (docs/memory-page.png is the reference
the docs show)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import cdp  # noqa: E402
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402

SAID = 'My favorite city is Lisbon.'
BUILD = os.environ.get('MEMPROXY_BUILD_ROOT') or os.path.join(harness.SOURCE_ROOT, 'build')


class Browser(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'security': {'user_signature_key': ph.SIGN_KEY},
        'page': {'listen': '127.0.0.1:0', 'explain_last': 'true'},
        'governance': {'retention_days': 0, 'pii_retention_days': 0}}}

    @classmethod
    def setUpClass(cls):
        if cdp.find_chromium() is None:
            raise AssertionError('chromium is missing: scripts/install-deps.sh --test installs it')
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.browser = cdp.Browser()
        self.addCleanup(self.browser.close)
        self.origin = 'http://127.0.0.1:%d/' % self.proxy.page_port

    def say(self, user, text):
        sent = mh.send(self.proxy, user, text, extra_headers=[('X-User-Signature', ph.signature(user))])
        self.assertEqual(sent.resp.status, 200, sent.resp)
        return sent

    def facts(self, user):
        r = mh.admin_memory(self.proxy, user)
        return mh.entity_map(r.json()) if r.status == 200 else {}

    def seed(self):
        user = mh.uid('ana')
        self.say(user, SAID)
        self.say(user, 'I play the cello on weekends.')
        mh.wait_for(lambda: self.facts(user).get('favorite_city') == 'Lisbon', what='the fact extracted')
        self.say(user, 'Which city do I like best?')  # explained for the page (explain_last)
        mh.wait_idle(self.proxy)
        return user

    def only_memproxy(self):
        outside = [u for u in self.browser.requests if not u.startswith(self.origin)
                   and not u.startswith(('data:', 'blob:'))]
        self.assertEqual(outside, [], 'the page made requests outside memproxy')

    def focus_by_tab(self, test, what, limit=300):
        """Tabs from the top of the page until the focused element passes test."""
        self.browser.js('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)')
        for _ in range(limit):
            self.browser.tab()
            if self.browser.js(test):
                return
        self.fail('%s is not reachable with the Tab key' % what)

    def test_find_a_fact_with_its_words_and_delete_it_by_keyboard(self):
        user = self.seed()
        t0 = time.monotonic()
        b = self.browser
        b.navigate(self.origin + '#link=' + ph.token(user))
        b.wait('document.querySelector(\'li.fact[data-key="favorite_city"]\') !== null', what='the fact')
        self.assertEqual(b.js('location.hash'), '', 'the link stays in the address bar')
        fact = b.js('document.querySelector(\'li.fact[data-key="favorite_city"]\').innerText')
        self.assertIn('Lisbon', fact)
        self.assertIn(SAID, fact, 'the fact does not show the words that told it')
        b.wait('document.getElementById("last").innerText.includes("Which city do I like best?")',
               what='the last request\'s explanation')
        os.makedirs(BUILD, exist_ok=True)
        b.screenshot(os.path.join(BUILD, 'memory-page.png'))
        # by keyboard: Tab to the fact's Delete, Enter, Enter on "Yes, delete"
        self.focus_by_tab('(() => { const a = document.activeElement;'
                          ' return a.textContent === "Delete" &&'
                          ' a.closest(\'li.fact\') && a.closest(\'li.fact\').dataset.key === "favorite_city"; })()',
                          'the fact\'s Delete button')
        b.enter()
        b.wait('document.activeElement.textContent === "Yes, delete"', what='the confirmation')
        b.enter()
        b.wait('(s => s.includes("deleted") && !s.includes("Updating"))'
               '(document.getElementById("status").textContent)', what='the deletion and the reload')
        status = b.js('document.getElementById("status").textContent')
        self.assertRegex(status, r'Removed: 1 fact, \d+ messages?')
        self.assertFalse(b.js('document.body.innerText.includes("Lisbon")'), 'the page still shows the fact')
        # the next chat request carries neither the fact nor its words
        sent = self.say(user, 'Which city do I like best?')
        text = mh.upstream_body(self.fake, sent).decode('utf-8')
        self.assertNotIn('Lisbon', text)
        self.assertNotIn('favorite city is', text)
        self.assertIn('cello', json.dumps(mh.admin_memory(self.proxy, user).json()))  # the rest stays
        self.only_memproxy()
        sys.stderr.write('browser: opened, found, deleted by keyboard in %.1f s\n' % (time.monotonic() - t0))

    def test_altered_and_expired_links_show_nothing(self):
        user = self.seed()
        good = ph.token(user)
        altered = good[:-1] + ('0' if good[-1] != '0' else '1')
        other = ph.token('someone-else')
        swapped = other[:other.rindex('.')] + good[good.rindex('.'):]  # bob's name, ana's MAC
        expired = ph.token(user, expiry=int(time.time()) - 60)
        for link, code in ((altered, 403), (swapped, 403), (expired, 403)):
            self.browser.navigate('about:blank')
            self.browser.events.clear()
            self.browser.navigate(self.origin + '#link=' + link)
            self.browser.wait('document.getElementById("status").textContent.includes("link")',
                              what='the refusal')
            self.assertEqual(set(self.browser.statuses('/api/')), {code})
            body = self.browser.js('document.body.innerText')
            self.assertNotIn('Lisbon', body)
            self.assertNotIn('cello', body)
        self.assertIn('expired', self.browser.js('document.getElementById("status").textContent'))
        self.only_memproxy()

    def test_the_pages_scripts_reach_no_other_user(self):
        ana = self.seed()
        bob = mh.uid('bob')
        self.assertEqual(mh.import_lines(self.proxy, bob, [mh.fact('city', 'Lima', '2024-01-01T00:00:00Z')]).status,
                         200)
        b = self.browser
        b.navigate(self.origin + '#link=' + ph.token(ana))
        b.wait('document.querySelector("li.fact") !== null', what='the facts')
        # the page's own fetch with its own link, aimed at bob every way a path can
        probe = ('(async () => { const link = sessionStorage.getItem("memproxy-link"); const out = [];'
                 ' for (const p of %s) { const r = await fetch(p, {headers: {"X-Memory-Link": link}});'
                 ' out.push([p, r.status, await r.text()]); } return out; })()')
        paths = ['/api/users/%s/memory' % bob, '/api/../admin/users/%s/memory' % bob,
                 '/api/%%2e%%2e/%s/memory' % bob, '/api/memory?tenant=0123456789abcdef0123456789abcdef',
                 '/admin/users/%s/memory' % bob]
        for path, status, text in b.js(probe % json.dumps(paths)):
            self.assertIn(status, (400, 404), path)
            self.assertNotIn('Lima', text, path)
        self.only_memproxy()

    def test_a_person_with_many_facts_sees_every_one(self):
        # 2,500 facts: three pages of the memory's facts; the page follows
        # entities_next_cursor (docs/admin-api.md, "Pages") and lists them all.
        user = mh.uid('many')
        items = [mh.fact('fact_%04d' % i, 'value %d' % i, '2024-01-01T00:00:00Z') for i in range(2500)]
        self.assertEqual(mh.import_lines(self.proxy, user, items).status, 200)
        b = self.browser
        b.navigate(self.origin + '#link=' + ph.token(user))
        b.wait('document.querySelectorAll("li.fact").length === 2500', timeout=60, what='every fact listed')
        keys = b.js('Array.from(document.querySelectorAll("li.fact")).map((li) => li.dataset.key)')
        self.assertEqual(sorted(keys), ['fact_%04d' % i for i in range(2500)])
        self.assertTrue(any('entities_cursor=' in u for u in b.requests), 'the page did not follow the cursor')
        self.only_memproxy()

    def test_operator_sees_held_and_failed_jobs_and_reruns_one_by_keyboard(self):
        p = self.start_proxy(workers=1, memory={'mode': 'entity', 'job_retry_backoff_ms': 50,
                                                'job_retry_backoff_max_ms': 200},
                             sections={'admin': {'token': mh.ADMIN_TOKEN},
                                       'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]}})
        held_u, failed_u = mh.uid('oph'), mh.uid('opf')
        # held: an Anthropic turn's job, with no key for the (OpenAI) memory model
        r = p.request('POST', '/v1/messages', [('Content-Type', 'application/json'),
                                               ('anthropic-version', '2023-06-01'), ('X-User-Id', held_u),
                                               ('x-api-key', 'sk-ant-zqx-op')],
                      json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64,
                                  'messages': [{'role': 'user', 'content': 'My name is Hilde.'}]}).encode())
        self.assertEqual((r.status, r.header('x-memory-error')), (200, 'no_memory_credential'), r)
        # failed: the memory model's answers could not be used, three times
        mh.set_jobmode(self.fake, extract='invalid')
        self.assertEqual(mh.send(p, failed_u, 'My name is Frida.').resp.status, 200)
        p.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v >= 1, mh.WAIT, kind='extract',
                      reason='malformed')
        mh.set_jobmode(self.fake, extract='ok')
        failed = mh.admin_request(p, 'GET', '/admin/jobs?state=failed&user=' + failed_u).json()['jobs'][0]
        calls = len(mh.user_jobs(self.fake, failed_u, 'extract'))
        b = self.browser
        origin = 'http://127.0.0.1:%d/page/' % p.admin_port
        b.navigate(origin)
        b.js('document.getElementById("token").value = %s; document.getElementById("token").focus()'
             % json.dumps(mh.ADMIN_TOKEN))
        b.enter()  # submits the sign-in form
        b.wait('document.querySelector("#failed-jobs tr[data-state=failed]") !== null', what='the failed jobs')
        b.wait('document.querySelector("#held-jobs tr[data-state=held]") !== null', what='the held jobs')
        row = ('(id => Array.from(document.querySelectorAll(id + " tbody tr"))'
               '.map(tr => Array.from(tr.cells).map(td => td.textContent)))("%s")')
        failed_rows = b.js(row % '#failed-jobs')
        held_rows = b.js(row % '#held-jobs')
        self.assertEqual([(c[0], c[1], c[4]) for c in failed_rows], [(failed_u, 'extract', '3')])
        self.assertIn('could not be used', failed_rows[0][2])
        self.assertTrue(failed_rows[0][3], 'since when')
        self.assertEqual([(c[0], c[1], c[4]) for c in held_rows], [(held_u, 'extract', '0')])
        self.assertIn('no credential', held_rows[0][2])
        self.assertNotIn('Frida', b.js('document.body.innerText'))
        os.makedirs(BUILD, exist_ok=True)
        b.screenshot(os.path.join(BUILD, 'memory-admin-jobs.png'))
        # by keyboard: Tab to the failed job's "Run again", Enter
        self.focus_by_tab('(() => { const a = document.activeElement; const tr = a.closest("tr");'
                          ' return a.textContent === "Run again" && tr && tr.dataset.job === "%d"; })()'
                          % failed['id'], 'the failed job\'s Run again button')
        b.enter()
        b.wait('document.getElementById("status").textContent.includes("runs again")', what='the re-run')
        mh.wait_memory(p, failed_u, lambda m: mh.entity_map(m) == {'name': 'Frida'}, what='the fact of the re-run')
        self.assertEqual(len(mh.user_jobs(self.fake, failed_u, 'extract')), calls + 1)
        b.wait('document.querySelector("#failed-jobs tr") === null', what='no failed job left')
        # the held job's user is a link to their page
        self.focus_by_tab('(() => { const a = document.activeElement;'
                          ' return a.tagName === "A" && a.textContent === "%s" && a.closest("#held-jobs") !== null; })()'
                          % held_u, 'the held job\'s user link')
        b.enter()
        b.wait('document.body.innerText.includes("Memory of %s")' % held_u, what='the user\'s page')
        b.wait('document.body.innerText.includes("My name is Hilde.")', what='the user\'s words')
        outside = [u for u in b.requests if not u.startswith(origin.rsplit('/page/', 1)[0] + '/')
                   and not u.startswith(('data:', 'blob:'))]
        self.assertEqual(outside, [], 'the page made requests outside memproxy')


if __name__ == '__main__':
    harness.main('proxy_page_browser')
