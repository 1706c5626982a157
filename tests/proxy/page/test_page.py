"""The memory page (issue 65, requirements 2 and 3; docs/memory-page.md),
without a browser: the page listener serves its own files with a strict
Content-Security-Policy and nothing else; a person's signed link names one
user and tenant and expires; an altered, expired or missing link gets 403
and nothing of anyone; another user is never reachable; every action goes
through the admin API's handlers, acting as the user, and says what it
removed; the operator's page is on the admin listener; `memproxy ctl users
link` mints links the page takes. The browser drives it in
test_page_browser.py."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'admin'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402
from test_import_formats import CHATGPT_TEXTS, fixture  # noqa: E402

AT = '2024-03-01T10:00:00Z'
TENANT = '0123456789abcdef0123456789abcdef'
WWW = os.path.join(os.environ.get('MEMPROXY_SOURCE_ROOT', '.'), 'proxy', 'page', 'www')


class PageCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'security': {'user_signature_key': ph.SIGN_KEY},
        'page': {'listen': '127.0.0.1:0', 'explain_last': 'true', 'link_key': ph.LINK_KEY},
        'governance': {'retention_days': 0, 'pii_retention_days': 0}}}

    def seed(self, items, user=None):
        user = user or mh.uid('page')
        r = import_lines(self.proxy, user, items)
        self.assertEqual(r.status, 200, r)
        return user

    def link_error(self, r, code):
        self.assertOpenAIError(r, 403, code)
        body = bytes(r.body).decode()
        self.assertNotIn('Oslo', body)
        self.assertNotIn('alice', body)


class Files(PageCase):
    def test_page_files_carry_the_security_headers(self):
        for path, ctype in (('/', 'text/html'), ('/page.css', 'text/css'), ('/person.js', 'text/javascript'),
                            ('/memview.js', 'text/javascript'), ('/icon.svg', 'image/svg+xml')):
            r = harness.request(self.proxy.page_port, 'GET', path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertTrue(r.header('content-type').startswith(ctype), path)
            csp = r.header('content-security-policy')
            self.assertIn("default-src 'self'", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn('unsafe-inline', csp)
            self.assertEqual(r.header('x-frame-options'), 'DENY')
            self.assertEqual(r.header('referrer-policy'), 'no-referrer')
            self.assertEqual(r.header('x-content-type-options'), 'nosniff')

    def test_page_listener_serves_nothing_else(self):
        for path in ('/admin.html', '/v1/models', '/admin/users', '/metrics', '/livez', '/nope.js',
                     '/www/page.js', '/../page.js'):
            r = harness.request(self.proxy.page_port, 'GET', path)
            self.assertIn(r.status, (400, 404), (path, r))
        r = harness.request(self.proxy.page_port, 'POST', '/', [], b'x')
        self.assertEqual(r.status, 405)
        # the person's page is on no other listener
        self.assertEqual(harness.request(self.proxy.port, 'GET', '/').status, 404)
        self.assertEqual(harness.request(self.proxy.admin_port, 'GET', '/').status, 404)

    def test_operator_page_is_on_the_admin_listener(self):
        r = harness.request(self.proxy.admin_port, 'GET', '/page/')
        self.assertEqual(r.status, 200)
        self.assertIn(b'admin.js', bytes(r.body))
        self.assertIn("default-src 'self'", r.header('content-security-policy'))
        self.assertEqual(harness.request(self.proxy.admin_port, 'GET', '/page/index.html').status, 404)
        # a method the page's files do not take: 405 with Allow, in the JSON error shape
        for path in ('/page/', '/page/admin.js'):
            r = harness.request(self.proxy.admin_port, 'POST', path, [], b'x')
            self.assertOpenAIError(r, 405, 'method_not_allowed')
            self.assertEqual(r.header('allow'), 'GET, HEAD')

    def test_page_scripts_never_write_markup(self):
        # memory is anyone's words: text goes in as text, never as HTML
        for name in os.listdir(WWW):
            with open(os.path.join(WWW, name), encoding='utf-8') as f:
                text = f.read()
            for bad in ('innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(',
                        'new Function', 'http://', 'https://'):
                self.assertNotIn(bad, text.replace('http://www.w3.org/2000/svg', ''), (name, bad))
            if name.endswith('.html'):
                self.assertNotRegex(text, r'<script(?![^>]*\bsrc=)', name)  # no inline script
                self.assertNotIn(' style=', text, name)


class Links(PageCase):
    def test_signed_link_reads_the_users_memory(self):
        user = self.seed([fact('city', 'Oslo', AT), message('user', 'I moved to Oslo.', AT)])
        r = ph.api(self.proxy, 'GET', 'memory', ph.token(user))
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['user'], user)
        self.assertEqual([e['value'] for e in doc['entities']], ['Oslo'])
        self.assertEqual(doc['archive'][0]['content'], 'I moved to Oslo.')
        self.assertEqual(doc['archive'][0]['seq'], 1)
        self.assertIn("default-src 'self'", r.header('content-security-policy'))
        self.assertEqual(r.header('cache-control'), 'no-store')

    def test_altered_expired_and_missing_links_get_403_and_nothing(self):
        user = self.seed([fact('city', 'Oslo', AT)], user='alice-' + mh.uid())
        good = ph.token(user)
        before = self.proxy.metric('memproxy_client_errors_total', kind='page_link')
        altered = good[:-1] + ('0' if good[-1] != '0' else '1')
        other_user = ph.token('bob')[:ph.token('bob').rindex('.')] + good[good.rindex('.'):]
        cases = [(None, 'invalid_page_link'), ('', 'invalid_page_link'), ('garbage', 'invalid_page_link'),
                 (altered, 'invalid_page_link'), (other_user, 'invalid_page_link'),
                 (ph.token(user, key='another key'), 'invalid_page_link'),
                 (ph.token(user, expiry=int(time.time()) + 40 * 86400), 'invalid_page_link'),
                 (ph.token(user, expiry=int(time.time()) - 1), 'expired_page_link')]
        for link, code in cases:
            for method, path in (('GET', 'memory'), ('GET', 'export'), ('DELETE', 'entities/city')):
                self.link_error(ph.api(self.proxy, method, path, link), code)
        self.assertDeltaMetric(self.proxy, before, 'memproxy_client_errors_total', 3 * len(cases),
                               kind='page_link')
        # the fact is still there: nothing was done for a refused link
        self.assertEqual(ph.api(self.proxy, 'GET', 'memory', good).json()['entities'][0]['value'], 'Oslo')
        # the logs never hold a link
        time.sleep(0.2)
        text = self.proxy.err.text()
        for link, _ in cases:
            if link and len(link) > 20:
                self.assertNotIn(link[-64:], text)

    def test_another_user_is_never_reachable(self):
        alice = self.seed([fact('city', 'Oslo', AT)])
        bob = self.seed([fact('city', 'Lima', AT)])
        link = ph.token(alice)
        # no path names a user: /api/{rest} is the link's user's
        for path in ('users/%s/memory' % bob, '../%s/memory' % bob, '%2e%2e/' + bob + '/memory',
                     'memory/../../%s/memory' % bob):
            r = ph.api(self.proxy, 'GET', path, link)
            self.assertIn(r.status, (400, 404), (path, r))
            self.assertNotIn(b'Lima', bytes(r.body))
        # nor a tenant: only the link names one
        r = ph.api(self.proxy, 'GET', 'memory?tenant=' + TENANT, link)
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        r = ph.api(self.proxy, 'GET', 'memory?ten%61nt=' + TENANT, link)
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        # a link of a tenant reaches that tenant's user only
        r = ph.api(self.proxy, 'GET', 'memory', ph.token(alice, tenant=TENANT))
        self.assertOpenAIError(r, 404, 'not_found')
        self.assertEqual(ph.api(self.proxy, 'GET', 'memory', link).json()['entities'][0]['value'], 'Oslo')
        self.assertEqual(mh.admin_memory(self.proxy, bob).json()['entities'][0]['value'], 'Lima')

    def test_ctl_users_link_mints_a_link_the_page_takes(self):
        user = self.seed([fact('city', 'Oslo', AT)])
        env = dict(self.proxy.env)
        out = subprocess.run([harness.MEMPROXY_BIN, 'ctl', '-c', self.proxy.config_path, '--json', 'users',
                              'link', user, '--ttl', '30m', '--url', 'https://memory.example.com/me'],
                             env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertTrue(doc['link'].startswith('https://memory.example.com/me/#link=v2.'), doc)
        self.assertEqual((doc['user'], doc['tenant']), (user, None))
        link = doc['link'].split('#link=', 1)[1]
        self.assertEqual(ph.api(self.proxy, 'GET', 'memory', link).status, 200)
        out = subprocess.run([harness.MEMPROXY_BIN, 'ctl', '-c', self.proxy.config_path, 'users', 'link', user,
                              '--ttl', '31d'], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn('--ttl', out.stderr)


class Actions(PageCase):
    def test_correct_and_delete_a_fact_as_the_user(self):
        user = self.seed([fact('city', 'Oslo', AT), message('user', 'I moved to Oslo last spring.', AT),
                          message('user', 'I like tea.', AT)])
        link = ph.token(user)
        rev = ph.api(self.proxy, 'GET', 'memory', link).json()['entities'][0]['revision']
        r = ph.api(self.proxy, 'PUT', 'entities/city', link, {'value': 'Porto'})
        self.assertOpenAIError(r, 428, 'precondition_required')  # the page always sends If-Match
        r = ph.api(self.proxy, 'PUT', 'entities/city', link, {'value': 'Porto'}, [('If-Match', '"%d"' % rev)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['value'], r.json()['trust']), ('Porto', 'corrected'))
        rev = r.json()['revision']
        r = ph.api(self.proxy, 'DELETE', 'entities/city', link, headers=[('If-Match', '"%d"' % rev),
                                                                         ('Prefer', 'return=representation')])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'removed': {'facts': 1, 'messages': 0, 'summaries': 0}})
        hist = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/history' % mh.qid(user)).json()['history']
        self.assertEqual([(h['event'], h['actor']) for h in hist if h['item'] == 'fact'][-2:],
                         [('corrected', 'user'), ('deleted', 'user')])
        # the admin API's answers are the same for the same call: a 404 now
        r = ph.api(self.proxy, 'DELETE', 'entities/city', link)
        self.assertOpenAIError(r, 404, 'fact_not_found')
        self.assertEqual(r.json()['error']['message'], "No fact with key 'city' is kept for this user.")

    def test_delete_a_message_and_a_conversation(self):
        conv = '3f9a0c51d2e87b64'
        user = self.seed([message('user', 'first words', AT, conversation=conv, conversation_rule='client'),
                          message('assistant', 'a reply', AT, conversation=conv, conversation_rule='client'),
                          message('user', 'other chat', AT, conversation='00000000000000aa',
                                  conversation_rule='client'),
                          message('user', 'lonely', AT)])
        link = ph.token(user)
        r = ph.api(self.proxy, 'DELETE', 'messages/4', link)
        self.assertEqual((r.status, r.json()), (200, {'removed': {'facts': 0, 'messages': 1, 'summaries': 0}}))
        self.assertOpenAIError(ph.api(self.proxy, 'DELETE', 'messages/4', link), 404, 'not_found')
        self.assertOpenAIError(ph.api(self.proxy, 'DELETE', 'messages/0', link), 400, 'invalid_parameter')
        r = ph.api(self.proxy, 'DELETE', 'conversations/' + conv.upper(), link)
        self.assertEqual((r.status, r.json()), (200, {'removed': {'facts': 0, 'messages': 2, 'summaries': 0}}))
        self.assertOpenAIError(ph.api(self.proxy, 'DELETE', 'conversations/' + conv, link), 404, 'not_found')
        left = [m['content'] for m in ph.api(self.proxy, 'GET', 'memory', link).json()['archive']]
        self.assertEqual(left, ['other chat'])
        hist = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/history' % mh.qid(user)).json()['history']
        self.assertEqual([(h['event'], h['actor'], h.get('count')) for h in hist],
                         [('deleted', 'user', 1), ('deleted', 'user', 1), ('deleted', 'user', 1)])

    def test_pause_export_and_forget(self):
        user = self.seed([fact('city', 'Oslo', AT), message('user', 'I moved to Oslo.', AT)])
        link = ph.old_token(user)
        r = ph.api(self.proxy, 'PUT', 'settings', link, {'mode': 'off'})
        self.assertEqual((r.status, r.json()['mode']), (200, 'off'))
        r = ph.api(self.proxy, 'GET', 'export', link)
        self.assertEqual(r.status, 200)
        types = [json.loads(ln)['type'] for ln in bytes(r.body).decode().splitlines()]
        self.assertEqual(types[:3], ['settings', 'fact', 'message'])
        r = ph.api(self.proxy, 'DELETE', 'memory', link, headers=[('Prefer', 'return=representation')])
        self.assertEqual((r.status, r.json()), (200, {'removed': {'facts': 1, 'messages': 1, 'summaries': 0}}))
        # erasure signs every link out; the setting stays, for a new link
        self.link_error(ph.api(self.proxy, 'GET', 'settings', link), 'revoked_page_link')
        self.assertEqual(ph.api(self.proxy, 'GET', 'settings', ph.token(user)).json()['mode'], 'off')

    def test_import_through_the_page(self):
        user = mh.uid('imp')
        link = ph.token(user)
        body = mh.ndjson([fact('city', 'Oslo', AT), message('user', 'I moved to Oslo.', AT)])
        r = ph.api(self.proxy, 'POST', 'import', link, body, [('Content-Type', 'application/x-ndjson')])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['facts'], r.json()['messages']), (1, 1))
        r = ph.api(self.proxy, 'POST', 'import', link, b'{"type":"nope"}\n',
                   [('Content-Type', 'application/x-ndjson')])
        self.assertOpenAIError(r, 400, 'invalid_import_line')

    def test_import_a_chatgpt_export_through_the_page(self):
        user = mh.uid('impgpt')
        link = ph.token(user)
        body = fixture('chatgpt_conversations.json')  # tests/core/import/data: two conversations
        r = ph.api(self.proxy, 'POST', 'import?format=chatgpt', link, body, [('Content-Type', 'application/json')])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['messages'], r.json()['conversations']), (7, 2), r.json())
        mem = ph.api(self.proxy, 'GET', 'memory?limit=1000', link).json()
        self.assertEqual([m['content'] for m in mem['archive']], CHATGPT_TEXTS)
        self.assertEqual(len({m['conversation'] for m in mem['archive']}), 2)
        # the person's turns are theirs: the admin API shows them under the same user
        self.assertEqual([m['content'] for m in mh.admin_memory(self.proxy, user).json()['archive']],
                         CHATGPT_TEXTS)
        # an unknown format is refused; nothing more is stored
        r = ph.api(self.proxy, 'POST', 'import?format=gemini', link, body, [('Content-Type', 'application/json')])
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        self.assertEqual(len(ph.api(self.proxy, 'GET', 'memory?limit=1000', link).json()['archive']), 7)

    def test_last_request_explained_for_the_page(self):
        user = self.seed([fact('pet', 'a grey cat named Miso', AT)])
        link = ph.token(user)
        self.assertOpenAIError(ph.api(self.proxy, 'GET', 'explain', link), 404, 'not_found')
        sent = mh.send(self.proxy, user, 'What is the name of my cat?',
                       extra_headers=[('X-User-Signature', ph.signature(user))])
        self.assertEqual(sent.resp.status, 200, sent.resp)
        self.assertIsNone(sent.resp.header('x-memory-explain-id'))  # not asked: no header
        doc = ph.api(self.proxy, 'GET', 'explain', link).json()
        self.assertEqual((doc['user'], doc['question'], doc['injected']), (user, 'What is the name of my cat?', True))
        self.assertTrue(any(it['id'] == 'fact:pet' and it['taken'] for it in doc['sections']['profile']['items']))
        # the admin API gives the same
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/explain' % mh.qid(user))
        self.assertEqual(r.json(), doc)


class Config(mh.MemCase):
    def test_page_listener_needs_its_link_key(self):
        p = harness.Proxy(self.fake.base_url, sections={'page': {'listen': '127.0.0.1:0'},
                                                        'security': {'user_signature_key': ph.SIGN_KEY}})
        rc, _, err = p.run(['--check-config'])
        p.tmp.cleanup()
        self.assertNotEqual(rc, 0)
        self.assertIn('[page] link_key', err)


if __name__ == '__main__':
    harness.main('proxy_page')
