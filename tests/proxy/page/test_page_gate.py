"""The page and admin listeners check first (issue 70, requirements 2 and
3; docs/memory-page.md, "What an operator sets"): a request without a good
link or token is refused at its head, before any of its body is read;
connections are capped; a peer that keeps failing is answered later each
time (counted, never blocking others); weak keys do not pass
--check-config; a user's links can be revoked (by ctl, by the page's "sign
out everywhere", by erasure), and the page works with only its own key,
while apps send no X-User-Signature."""

import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402
from memhelpers import fact, import_lines  # noqa: E402

AT = '2024-03-01T10:00:00Z'
TENANT = '0123456789abcdef0123456789abcdef'
BIG = 30 * 1000 * 1000  # a 30 MB upload, announced and never sent
PAGE = {'listen': '127.0.0.1:0', 'link_key': ph.LINK_KEY}


def big_head(path, headers=()):
    """The head of a 30 MB POST, without its body."""
    h = [('Content-Type', 'application/json'), ('Content-Length', str(BIG))] + list(headers)
    return harness.build_request('POST', path, h, b'', content_length=False)


class GateCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'page': PAGE}}

    def seed(self, value='Oslo', user=None, tenant=None):
        user = user or mh.uid('gate')
        items = [fact('city', value, AT)]
        if tenant is None:
            r = import_lines(self.proxy, user, items)
        else:
            r = mh.admin_request(self.proxy, 'POST', '/admin/users/%s/import?tenant=%s' % (mh.qid(user), tenant),
                                 mh.ndjson(items), content_type=mh.NDJSON)
        self.assertEqual(r.status, 200, r)
        return user

    def city(self, link, proxy=None):
        r = ph.api(proxy or self.proxy, 'GET', 'memory', link)
        return r.status, (r.json()['entities'][0]['value'] if r.status == 200 and r.json()['entities'] else None)

    def refused(self, r, code):
        self.assertOpenAIError(r, 403, code)
        self.assertNotIn(b'Oslo', bytes(r.body))


class HeadFirst(GateCase):
    def test_upload_without_a_link_is_refused_before_its_body(self):
        before = self.proxy.metric('memproxy_client_errors_total', kind='page_link')
        rss0 = self.proxy.rss_kb()
        conns = []
        for _ in range(8):
            c = harness.HTTPConn(self.proxy.page_port)
            conns.append(c)
            c.send(big_head('/api/import'))
            r = c.read_response(method='POST')  # not one byte of the body was sent
            self.refused(r, 'invalid_page_link')
            self.assertEqual(r.header('connection'), 'close')
        # what the clients send anyway is read and dropped, never kept
        for c in conns:
            try:
                c.send(b'x' * (1 << 20))
            except OSError:
                pass  # the proxy had closed: nothing of it kept either
        rss1 = self.proxy.rss_kb()
        for c in conns:
            c.close()
        self.assertLess(rss1 - rss0, 16 * 1024, 'RSS grew by %d KiB for 8 refused uploads' % (rss1 - rss0))
        self.assertEqual(self.proxy.metric('memproxy_client_errors_total', kind='page_link'), before + 8)

    def test_forged_link_is_refused_at_the_head_too(self):
        user = self.seed()
        good = ph.token(user)
        forged = ph.token(user, key='another-key-of-32-random-chars-9f3a')
        with harness.HTTPConn(self.proxy.page_port) as c:
            c.send(big_head('/api/import', [('X-Memory-Link', forged)]))
            self.refused(c.read_response(method='POST'), 'invalid_page_link')
        # the genuine link's upload goes on to its body (a 400 for a bad one)
        r = ph.api(self.proxy, 'POST', 'import', good, b'not json lines', headers=[('Content-Type', mh.NDJSON)])
        self.assertNotEqual(r.status, 403, r)

    def test_admin_upload_with_a_wrong_token_is_refused_before_its_body(self):
        with harness.HTTPConn(self.proxy.admin_port) as c:
            c.send(big_head('/admin/users/someone/import', [('Authorization', 'Bearer wrong-token')]))
            r = c.read_response(method='POST')
            self.assertOpenAIError(r, 401, 'invalid_admin_token')
            self.assertEqual(r.header('www-authenticate'), 'Bearer')
            self.assertEqual(r.header('connection'), 'close')


class Caps(GateCase):
    PROXY_CONFIG = {'workers': 1, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'page': dict(PAGE, max_connections=3, max_body_bytes=4096)}}

    def test_page_connections_are_capped(self):
        before = self.proxy.metric('memproxy_client_errors_total', kind='overloaded')
        held = [harness.HTTPConn(self.proxy.page_port) for _ in range(3)]
        # the three are the listener's: one request each proves them accepted
        for c in held:
            self.assertEqual(c.request('GET', '/page.css').status, 200)
        with harness.HTTPConn(self.proxy.page_port) as extra:
            r = extra.read_response()
            self.assertOpenAIError(r, 503, 'overloaded')
        self.assertEqual(self.proxy.metric('memproxy_client_errors_total', kind='overloaded'), before + 1)
        held.pop().close()
        # once the proxy has seen the close, a newcomer is served again
        mh.wait_for(lambda: harness.request(self.proxy.page_port, 'GET', '/page.css').status == 200,
                    what='a place freed by a close')
        for c in held:
            c.close()

    def test_admin_connections_are_capped(self):
        p = self.start_proxy(workers=1, sections={'admin': {'token': mh.ADMIN_TOKEN, 'max_connections': 2}})
        auth = [('Authorization', 'Bearer ' + mh.ADMIN_TOKEN)]
        held = [harness.HTTPConn(p.admin_port) for _ in range(2)]
        for c in held:
            self.assertEqual(c.request('GET', '/admin/status', auth).status, 200)
        with harness.HTTPConn(p.admin_port) as extra:
            self.assertOpenAIError(extra.read_response(), 503, 'overloaded')
        for c in held:
            c.close()

        refused = [1]  # the one above; a /metrics asked before the proxy saw the closes is one more
        seen = []

        def served():  # once the proxy has seen the closes, /metrics gets a place
            r = harness.request(p.admin_port, 'GET', '/metrics')
            if r.status == 503:
                refused[0] += 1
                return False
            self.assertEqual(r.status, 200, r)
            seen.append(harness.metric_sum(harness.parse_metrics(bytes(r.body).decode()),
                                           'memproxy_client_errors_total', kind='overloaded'))
            return True
        mh.wait_for(served, what='a place freed by the closes')
        self.assertEqual(seen, refused, 'every refused connection counted, and nothing else')

    def test_page_body_is_capped(self):
        user = self.seed()
        r = ph.api(self.proxy, 'POST', 'import', ph.token(user), b'x' * 5000,
                   headers=[('Content-Type', mh.NDJSON)])
        self.assertOpenAIError(r, 413, 'body_too_large')


class Backoff(GateCase):
    PROXY_CONFIG = {'workers': 1, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        # 5 s: the good request answered meanwhile comes well within it
        # however busy the machine (the fifth refusal waits 10 s)
        'security': {'auth_backoff_ms': 5000},
        'page': PAGE}}

    def test_repeated_refusals_from_one_peer_are_answered_late_and_counted(self):
        user = self.seed()
        good = ph.token(user)
        bad = good[:-1] + ('0' if good[-1] != '0' else '1')
        late = self.proxy.metric('memproxy_client_errors_total', kind='auth_backoff')
        for _ in range(3):  # the first three refusals are answered at once
            self.refused(ph.api(self.proxy, 'GET', 'memory', bad), 'invalid_page_link')
        self.assertEqual(self.proxy.metric('memproxy_client_errors_total', kind='auth_backoff'), late)
        # the fourth waits; meanwhile a good request is answered first
        slow = harness.HTTPConn(self.proxy.page_port)
        slow.send_request('GET', '/api/memory', [('X-Memory-Link', bad)])
        mh.wait_for(lambda: self.proxy.metric('memproxy_client_errors_total', kind='auth_backoff') == late + 1,
                    what='the fourth refusal held back')
        self.assertEqual(self.city(good), (200, 'Oslo'))
        slow.sock.settimeout(0.0)  # a look, no wait (a timeout would poll for it)
        try:
            got = slow.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            got = None
        self.assertIsNone(got, 'the held refusal came before the good answer')
        self.refused(slow.read_response(timeout=harness.WAIT), 'invalid_page_link')
        slow.close()
        # a wrong admin token from the same address is held back as well
        r = harness.request(self.proxy.admin_port, 'GET', '/admin/users',
                            [('Authorization', 'Bearer wrong-token')], timeout=harness.WAIT)
        self.assertOpenAIError(r, 401, 'invalid_admin_token')
        self.assertEqual(self.proxy.metric('memproxy_client_errors_total', kind='auth_backoff'), late + 2)


class Revocation(GateCase):
    def ctl(self, *args):
        where = ['--admin', 'http://127.0.0.1:%d' % self.proxy.admin_port]
        return subprocess.run([harness.MEMPROXY_BIN, 'ctl', '-c', self.proxy.config_path] + where + list(args),
                              env=dict(self.proxy.env), capture_output=True, text=True, timeout=30)

    def test_ctl_revoke_links_voids_older_links_only(self):
        user = self.seed()
        old = ph.old_token(user)
        self.assertEqual(self.city(old), (200, 'Oslo'))
        out = self.ctl('users', 'revoke-links', user)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('issued before', out.stdout)
        self.refused(ph.api(self.proxy, 'GET', 'memory', old), 'revoked_page_link')
        self.assertEqual(self.city(ph.token(user)), (200, 'Oslo'))
        # ctl's own links are signed with the page's key and work
        out = self.ctl('users', 'link', user, '--url', 'http://127.0.0.1:%d' % self.proxy.page_port)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.city(out.stdout.strip().split('#link=', 1)[1]), (200, 'Oslo'))

    def test_ctl_revoke_links_of_a_tenant(self):
        user = self.seed(tenant=TENANT)
        other = self.seed(user=user)  # the same id without a tenant: another person
        t_link, link = ph.old_token(user, tenant=TENANT), ph.old_token(other)
        out = self.ctl('users', 'revoke-links', user, '--tenant', TENANT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.refused(ph.api(self.proxy, 'GET', 'memory', t_link), 'revoked_page_link')
        self.assertEqual(self.city(link), (200, 'Oslo'))

    def test_sign_out_everywhere_from_the_page(self):
        user = self.seed()
        mine, leaked = ph.old_token(user), ph.old_token(user)
        r = ph.api(self.proxy, 'POST', 'revoke-links', mine)
        self.assertEqual(r.status, 200, r)
        self.assertIn('links_void_before', r.json())
        for link in (mine, leaked):
            self.refused(ph.api(self.proxy, 'GET', 'memory', link), 'revoked_page_link')
        self.assertEqual(self.city(ph.token(user)), (200, 'Oslo'))

    def test_erasure_voids_links_even_for_new_memory(self):
        user = self.seed('Oslo')
        leaked = ph.old_token(user)
        self.assertEqual(self.city(leaked), (200, 'Oslo'))
        r = mh.admin_request(self.proxy, 'DELETE', '/admin/users/%s/memory' % mh.qid(user))
        self.assertIn(r.status, (200, 204), r)
        self.seed('Lima', user=user)  # the person comes back and is remembered again
        self.assertEqual(mh.admin_memory(self.proxy, user).json()['entities'][0]['value'], 'Lima')
        r = ph.api(self.proxy, 'GET', 'memory', leaked)
        self.refused(r, 'revoked_page_link')
        self.assertNotIn(b'Lima', bytes(r.body))
        self.assertEqual(self.city(ph.token(user)), (200, 'Lima'))

    def test_admin_route_for_a_user_never_seen(self):
        user = mh.uid('never')
        r = mh.admin_request(self.proxy, 'POST', '/admin/users/%s/revoke-links' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user'], user)
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/revoke-links' % mh.qid(user))
        self.assertEqual(r.status, 405, r)


class OwnKey(mh.MemCase):
    """Only the page's key set: apps send user ids unsigned, as
    docs/clients.md shows Open WebUI and LibreChat doing."""
    PROXY_CONFIG = {'workers': 1, 'sections': {'admin': {'token': mh.ADMIN_TOKEN}, 'page': PAGE}}

    def test_chat_without_signature_works_while_the_page_is_on(self):
        user = mh.uid('owui')
        s = mh.send(self.proxy, user, 'My name is Ada.')
        self.assertOK(s)
        self.assertIsNone(s.resp.header('x-memory-error'))
        r = ph.api(self.proxy, 'GET', 'memory', ph.token(user))
        self.assertEqual(r.status, 200, r)
        # a link signed with the signature key of the apps is not the page's
        r = ph.api(self.proxy, 'GET', 'memory', ph.token(user, key=ph.SIGN_KEY))
        self.assertOpenAIError(r, 403, 'invalid_page_link')


class WeakKeys(mh.MemCase):
    def check(self, sections, env=None):
        p = harness.Proxy(self.fake.base_url, sections=sections, env=env)
        rc, _, err = p.run(['--check-config'])
        p.tmp.cleanup()
        self.assertNotEqual(rc, 0, err)
        return err

    def test_weak_keys_fail_check_config_by_name_and_line(self):
        for section, key, value in (('security', 'user_signature_key', 'zqxweak'),
                                    ('admin', 'token', 'zqxweak'),
                                    ('page', 'link_key', 'zqxweakzqxweakzqxweakzqxweakzqxweak'),
                                    ('admin', 'token', 'zqx0000000000000000000000000000000000')):
            sections = {section: {key: value}}
            if section == 'page':
                sections['page']['listen'] = '127.0.0.1:0'
            err = self.check(sections)
            self.assertRegex(err, r'memproxy\.ini:\d+: \[%s\] %s: too weak to be a key' % (section, key))
            self.assertNotIn(value, err)

    def test_weak_key_from_the_environment_names_the_variable(self):
        err = self.check({'page': {'listen': '127.0.0.1:0'}}, env={'MEMPROXY_PAGE_LINK_KEY': 'a' * 40})
        self.assertIn('MEMPROXY_PAGE_LINK_KEY: [page] link_key: too weak to be a key', err)


if __name__ == '__main__':
    harness.main('proxy_page_gate')
