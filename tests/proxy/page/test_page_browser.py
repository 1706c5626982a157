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
the docs show).

The page says what happened (issue 70, requirement 6), at a desktop width
and at 390 px (a phone), where nothing is wider than the window: a file of
the wrong type puts the focus on a visible error beside the form; an
upload is first checked (the import's dry run, nothing stored) and its
counts by reason and memory-model cost shown, and only "Yes, import it"
stores its messages; a ZIP's refusal names conversations and messages, not
lines; Delete buttons say what they delete; an expired link says so; the
operator opens users named ".", ".." and "a.b" (which a browser cannot put
in a path) and deletes a fact of ".." and nothing of "."."""

import io
import json
import os
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import cdp  # noqa: E402
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402

SAID = 'My favorite city is Lisbon.'
WIDTHS = (1100, 390)  # a desktop window, a phone
NO_OVERFLOW = 'document.documentElement.scrollWidth <= window.innerWidth'
FOCUS_ON_ALERT = ('(a => a && a.getAttribute("role") === "alert" && (r => r.width > 0 && r.top >= 0'
                  ' && r.bottom <= window.innerHeight)(a.getBoundingClientRect()))(document.activeElement)')
BUILD = os.environ.get('MEMPROXY_BUILD_ROOT') or os.path.join(harness.SOURCE_ROOT, 'build')


class Browser(mh.MemCase):
    # a person with more facts than one import may hold by default (import_max_facts)
    PROXY_CONFIG = {'workers': 1, 'memory': {'import_max_facts': 100000}, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'security': {'user_signature_key': ph.SIGN_KEY},
        'page': {'listen': '127.0.0.1:0', 'explain_last': 'true', 'link_key': ph.LINK_KEY},
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

    def at_width(self, width):
        """The browser at width: the test's own, or a phone's of its own."""
        if width == 1100:
            return self.browser
        b = cdp.Browser(width=width, height=844)
        self.addCleanup(b.close)
        return b

    def file(self, name, data):
        d = tempfile.mkdtemp(prefix='memproxy-page-upload-')
        path = os.path.join(d, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def choose(self, b, fmt, path):
        """Picks the file type and the file, then "Check the file" by keyboard."""
        b.js('(s => { s.value = %s; s.dispatchEvent(new Event("change")); })(document.getElementById("format"))'
             % json.dumps(fmt))
        b.set_files('#file', [path])
        b.js('document.querySelector("form.upload button[type=submit]").focus()')
        b.enter()

    def test_wrong_file_type_puts_focus_on_a_visible_error(self):
        for width in WIDTHS:
            user = mh.uid('wrong') + 'n' * 80  # long words must wrap, not widen the page
            self.assertEqual(mh.import_lines(self.proxy, user, [
                mh.fact('city', 'Lima', '2024-01-01T00:00:00Z'),
                mh.fact('a_long_key_' + 'k' * 40, 'v' * 300, '2024-01-01T00:00:00Z'),
                mh.message('user', 'w' * 400, '2024-01-01T00:00:00Z', conversation='0123456789abcdef')]).status,
                200)
            b = self.at_width(width)
            b.navigate(self.origin + '#link=' + ph.token(user))
            b.wait('document.querySelector("li.fact") !== null', what='the facts')
            b.js('document.querySelectorAll("details").forEach(d => { d.open = true; })')
            self.assertTrue(b.js(NO_OVERFLOW), 'wider than %d px' % width)
            self.choose(b, 'chatgpt', self.file('photo.png', b'\x89PNG\r\n\x1a\n' + bytes(64)))
            b.wait(FOCUS_ON_ALERT, what='focus on a visible error at %d px' % width)
            error = b.js('document.activeElement.textContent')
            self.assertIn('could not be imported as a ChatGPT data export', error)
            self.assertIn('not JSON', error)
            self.assertTrue(b.js('document.activeElement.previousElementSibling.matches("form.upload")'),
                            'the error is not beside the form')
            self.assertTrue(b.js(NO_OVERFLOW), 'wider than %d px with the error' % width)
            # a ZIP's refusal names its member, conversation and message
            late = int(time.time()) + 3 * 86400
            zipped = io.BytesIO()
            with zipfile.ZipFile(zipped, 'w') as z:
                z.writestr('conversations.json', chatgpt([('c1', [{'role': 'user', 'text': 'late', 't': late}])]))
            self.choose(b, 'chatgpt', self.file('export.zip', zipped.getvalue()))
            b.wait(FOCUS_ON_ALERT + ' && document.activeElement.textContent.includes("ZIP")',
                   what='the ZIP\'s refusal')
            error = b.js('document.activeElement.textContent')
            self.assertIn('conversations.json in the ZIP', error)
            self.assertIn('conversation 1', error)
            self.assertIn('message 1', error)
            self.assertEqual(b.js('document.querySelectorAll(".error").length'), 1, 'errors pile up')
            mem = mh.admin_memory(self.proxy, user).json()
            self.assertEqual(mh.entity_map(mem)['city'], 'Lima')
            self.assertEqual(len(mem.get('buffer', []) + mem.get('archive', [])), 1, 'a message was imported')

    def test_upload_is_checked_with_counts_and_cost_before_it_is_imported(self):
        for width in WIDTHS:
            user = mh.uid('dry')
            self.assertEqual(mh.import_lines(self.proxy, user, [mh.fact('city', 'Lima', '2024-01-01T00:00:00Z')]).status,
                             200)
            export = chatgpt([('c1', [
                {'role': 'user', 'text': 'I keep bees in Tartu.', 't': 1700000000},
                {'role': 'user', 'text': 'SECRET-HIDDEN-CONTEXT', 't': 1700000001, 'hidden': True},
                {'role': 'tool', 'text': 'TOOL-OUTPUT-XYZ', 't': 1700000002},
                {'role': 'assistant', 'text': 'Bees are wonderful.', 't': 1700000003}])])
            planned = mh.admin_request(self.proxy, 'POST', '/admin/users/%s/import?format=chatgpt&dry_run=true'
                                       % mh.qid(user), export, 'application/json').json()
            self.assertEqual((planned['messages'], planned['skipped_by_reason']), (2, {'hidden': 1, 'tool': 1}))
            b = self.at_width(width)
            b.navigate(self.origin + '#link=' + ph.token(user))
            b.wait('document.querySelector("li.fact") !== null', what='the facts')
            self.choose(b, 'chatgpt', self.file('conversations.json', export))
            b.wait('document.activeElement && document.activeElement.matches(".plan")', what='the check of the file')
            plan = b.js('document.querySelector(".plan").innerText')
            self.assertIn('would add up to 1 conversation, 2 messages, 0 facts. Nothing is stored yet.', plan)
            self.assertIn('Left out: 1 hidden by the app, 1 tool calls and their results.', plan)
            x = planned['extraction']
            self.assertTrue(x['calls'] > 0, planned)
            self.assertIn('The memory model would read %d turn%s in %d call%s, about %s tokens'
                          % (x['turns'], '' if x['turns'] == 1 else 's', x['calls'], '' if x['calls'] == 1 else 's',
                             format(x['tokens'], ',')), plan)
            self.assertTrue(b.js(NO_OVERFLOW), 'wider than %d px with the check' % width)
            self.assertNotIn('bees', json.dumps(mh.admin_memory(self.proxy, user).json()), 'stored before "Yes"')
            b.tab()
            self.assertEqual(b.js('document.activeElement.textContent'), 'Yes, import it')
            b.enter()
            b.wait('(s => s.startsWith("Imported") && !s.includes("Updating"))'
                   '(document.getElementById("status").textContent)', what='the import')
            self.assertEqual(b.js('document.getElementById("status").textContent'),
                             'Imported 1 conversation, 2 messages, 0 facts. '
                             'Left out: 1 hidden by the app, 1 tool calls and their results.')
            stored = json.dumps(mh.admin_memory(self.proxy, user).json())
            self.assertIn('I keep bees in Tartu.', stored)
            self.assertIn('Bees are wonderful.', stored)
            self.assertNotIn('SECRET-HIDDEN-CONTEXT', stored)
            self.assertNotIn('TOOL-OUTPUT-XYZ', stored)
            b.wait('document.body.innerText.includes("I keep bees in Tartu.")', what='the imported messages shown')
            self.assertTrue(b.js(NO_OVERFLOW), 'wider than %d px after the import' % width)
        self.only_memproxy()

    def test_buttons_say_what_they_act_on(self):
        user = mh.uid('names')
        self.assertEqual(mh.import_lines(self.proxy, user, [
            mh.fact('city', 'Lima', '2024-01-01T00:00:00Z'),
            mh.message('user', 'I moved to Lima last spring.', '2024-01-01T00:00:00Z')]).status, 200)
        b = self.browser
        b.navigate(self.origin + '#link=' + ph.token(user))
        b.wait('document.querySelector("li.message") !== null', what='the messages')
        b.js('document.querySelectorAll("details").forEach(d => { d.open = true; })')
        names = b.accessible_names('button')
        self.assertIn("Delete the fact 'city'", names)
        self.assertIn("Correct the fact 'city'", names)
        self.assertIn('Delete this message: "I moved to Lima last spring."', names)
        self.assertNotIn('Delete', names)
        self.assertNotIn('Delete message', names)
        # a correction: the person's own word, whose earlier words stay kept
        b.js('document.querySelector(\'button[aria-label="Correct the fact \\\'city\\\'"]\').focus()')
        b.enter()
        b.wait('document.activeElement.id === "fix-city"', what='the correction\'s field')
        b.js('document.activeElement.value = "Cusco"')
        b.enter()
        b.wait('(s => s.includes("corrected") && !s.includes("Updating"))'
               '(document.getElementById("status").textContent)', what='the correction')
        fact = b.js('document.querySelector(\'li.fact[data-key="city"]\').innerText')
        self.assertIn('you corrected it', fact)
        self.assertIn('What you said before stays in your conversations', fact)
        self.assertNotIn('no longer kept', fact)
        b.js('document.querySelector(\'li.fact[data-key="city"] details\').open = true')
        history = b.js('document.querySelector(\'li.fact[data-key="city"] details\').innerText')
        self.assertIn('Corrected by you', history)
        self.assertIn('Replaced by a newer value (was "Lima")', history)
        self.assertNotIn('extractor', b.js('document.body.innerText'))
        stored = mh.admin_memory(self.proxy, user).json()
        self.assertEqual(mh.entity_map(stored)['city'], 'Cusco')
        self.assertIn('I moved to Lima last spring.', json.dumps(stored), 'the words were not kept')

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
        self.assertIn('learned from what you said', fact)
        b.js('document.querySelector(\'li.fact[data-key="favorite_city"] details\').open = true')
        self.assertIn('Added, learned from what you said',
                      b.js('document.querySelector(\'li.fact[data-key="favorite_city"]\').innerText'))
        self.assertNotIn('extractor', b.js('document.body.innerText'))
        b.wait('document.querySelector("#last .explain .key") !== null', what='a fact with its key')
        self.assertIn('favorite city: Lisbon', b.js('document.getElementById("last").innerText'))
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

    def test_sign_out_everywhere_stops_every_link(self):
        user = mh.uid('out')
        r = mh.import_lines(self.proxy, user, [mh.fact('city', 'Lisbon', '2024-03-01T10:00:00Z')])
        self.assertEqual(r.status, 200, r)
        link, leaked = ph.old_token(user), ph.old_token(user)
        b = self.browser
        b.navigate(self.origin + '#link=' + link)
        b.wait('document.querySelector(\'li.fact[data-key="city"]\') !== null', what='the fact')
        b.js('[...document.querySelectorAll("button")].find(x => x.textContent === "Sign out everywhere").click()')
        b.wait('document.activeElement.textContent === "Yes, sign out everywhere"', what='the confirmation')
        b.enter()
        b.wait('document.getElementById("status").textContent.includes("Signed out everywhere")',
               what='the sign-out')
        self.assertFalse(b.js('document.body.innerText.includes("Lisbon")'), 'the page still shows the memory')
        for old in (link, leaked):
            r = ph.api(self.proxy, 'GET', 'memory', old)
            self.assertOpenAIError(r, 403, 'revoked_page_link')
        self.assertEqual(ph.api(self.proxy, 'GET', 'memory', ph.token(user)).status, 200)
        self.only_memproxy()

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
        who = self.browser.js('document.getElementById("who").textContent')
        self.assertIn('This link expired on', who)
        self.assertNotIn('works until', who)
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
        # a user's two turns go to the memory model in one call (a batch)
        p = self.start_proxy(workers=1, memory={'mode': 'entity', 'job_retry_backoff_ms': 50,
                                                'job_retry_backoff_max_ms': 200, 'extract_batch_turns': 2,
                                                'extract_idle_seconds': 3600},
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
        # failed: the memory model's answers to a batch of two turns could not
        # be used, three times: one failed job
        mh.set_jobmode(self.fake, extract='invalid')
        self.assertEqual(mh.send(p, failed_u, 'My name is Frida.').resp.status, 200)
        self.assertEqual(mh.send(p, failed_u, 'I live in Tromso.').resp.status, 200)
        p.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v >= 2, mh.WAIT, kind='extract',
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
        self.assertEqual([(c[0], c[1], c[4]) for c in failed_rows], [(failed_u, 'extract (2 turns)', '3')])
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
        mh.wait_memory(p, failed_u, lambda m: mh.entity_map(m) == {'name': 'Frida', 'city': 'Tromso'},
                       what='the facts of the re-run: both turns')
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

    def facts_of(self, user):
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/memory' % pct(user))
        self.assertIn(r.status, (200, 404), r)
        return mh.entity_map(r.json()) if r.status == 200 else {}

    def test_operator_opens_dotted_users(self):
        ids = {'.': 'Oslo', '..': 'Quito', 'a.b': 'Accra'}
        for user, city in ids.items():
            r = mh.admin_request(self.proxy, 'POST', '/admin/users/%s/import' % pct(user),
                                 mh.ndjson([mh.fact('city', city, '2024-01-01T00:00:00Z')]), mh.NDJSON)
            self.assertEqual(r.status, 200, r)
        b = self.browser
        b.navigate('http://127.0.0.1:%d/page/' % self.proxy.admin_port)
        b.js('document.getElementById("token").value = %s; document.getElementById("token").focus()'
             % json.dumps(mh.ADMIN_TOKEN))
        b.enter()
        for user, city in ids.items():
            b.wait('document.getElementById("find") !== null', what='the users')
            b.js('(f => { f.value = %s; f.focus(); })(document.getElementById("find"))' % json.dumps(user))
            b.enter()
            b.wait('document.body.innerText.includes("Memory of %s")' % user, what='the page of %r' % user)
            b.wait('(li => li && li.innerText.includes(%s))(document.querySelector(\'li.fact[data-key="city"]\'))'
                   % json.dumps(city), what='the fact of %r' % user)
            if user == '..':  # a write through the query form reaches "..", and only it
                b.js('document.querySelector(\'button[aria-label="Delete the fact \\\'city\\\'"]\').focus()')
                b.enter()
                b.wait('document.activeElement.textContent === "Yes, delete"', what='the confirmation')
                b.enter()
                b.wait('document.getElementById("status").textContent.includes("deleted")', what='the deletion')
                self.assertEqual(self.facts_of('..'), {})
                self.assertEqual(self.facts_of('.'), {'city': 'Oslo'})
                self.assertEqual(self.facts_of('a.b'), {'city': 'Accra'})
            b.js('Array.from(document.querySelectorAll("button")).find(x => x.textContent === "Back to users").click()')
        paths = [u.split('/admin/', 1)[1] for u in b.requests if '/admin/users/' in u]
        self.assertTrue(any(p.startswith('users//memory?') and 'user=..' in p for p in paths), paths)


def pct(user):
    """user as a path segment with every byte escaped ("." is %2E): what
    curl or Python sends as is, where a browser folds %2E segments."""
    return ''.join('%%%02X' % b for b in user.encode('utf-8'))


def chatgpt(convs):
    """A ChatGPT conversations.json of convs: [(id, [{role, text, t, hidden}])],
    each a straight branch."""
    out = []
    for cid, msgs in convs:
        mapping, parent = {}, None
        for i, m in enumerate(msgs):
            nid = '%s-n%d' % (cid, i)
            msg = {'id': nid, 'author': {'role': m['role']}, 'create_time': m['t'],
                   'content': {'content_type': 'text', 'parts': [m['text']]}}
            if m.get('hidden'):
                msg['metadata'] = {'is_visually_hidden_from_conversation': True}
            mapping[nid] = {'id': nid, 'parent': parent, 'children': [], 'message': msg}
            if parent:
                mapping[parent]['children'].append(nid)
            parent = nid
        out.append({'id': cid, 'title': cid, 'create_time': msgs[0]['t'], 'mapping': mapping,
                    'current_node': parent})
    return json.dumps(out).encode()


if __name__ == '__main__':
    harness.main('proxy_page_browser')
