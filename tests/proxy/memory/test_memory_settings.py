"""A user's own memory setting (issue 10, requirement 5; docs/http-api.md,
docs/admin-api.md): PUT /v1/memory/settings {"mode": "off"|"read"|"auto"}
and the admin's GET|PUT /admin/users/{id}/settings; the setting combines
with X-Memory and the configured mode (the most restrictive wins), off
stops the user's pending jobs, and erasing memory keeps the setting."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

TOKEN = 'zqxsecret-adm-settings-7a6b5c4d3e2f1a0b'  # scan_logs.py looks for zqxsecret
ISO = r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$'


class Settings(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}, 'sections': {'admin': {'token': TOKEN}}}

    def h(self, user):
        return [('X-User-Id', user), ('Content-Type', 'application/json')]

    def put_mode(self, user, mode, raw=None):
        body = raw if raw is not None else json.dumps({'mode': mode}).encode()
        return self.proxy.request('PUT', '/v1/memory/settings', self.h(user), body)

    def get_mode(self, user):
        r = self.proxy.request('GET', '/v1/memory/settings', self.h(user))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def admin(self, method, path, body=None, token=TOKEN):
        h = [('Authorization', 'Bearer ' + token)] if token else []
        if body is not None:
            h.append(('Content-Type', 'application/x-ndjson' if path.endswith('/import')
                      else 'application/json'))
        return harness.request(self.proxy.admin_port, method, path, h, body or b'')

    def taught(self, prefix):
        """A user whose memory holds a fact and a buffered turn."""
        user = mh.uid(prefix)
        self.assertOK(send(self.proxy, user, 'My name is Ivo. I live in Izmir.'))
        mh.wait_memory(self.proxy, user, lambda m: mh.entity_map(m).get('city') == 'Izmir' and
                       len(m['buffer']) == 2, what='the taught fact and turn')
        mh.wait_idle(self.proxy)
        return user

    # -- the route ---------------------------------------------------------------

    def test_default_is_auto_and_put_round_trips(self):
        user = mh.uid('set')
        self.assertEqual(self.get_mode(user), {'user': user, 'mode': 'auto', 'updated_at': None})
        r = self.put_mode(user, 'read')
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc['user'], user)
        self.assertEqual(doc['mode'], 'read')
        self.assertRegex(doc['updated_at'], ISO)
        self.assertEqual(self.get_mode(user), doc)
        self.assertEqual(self.get_mode(mh.uid('other'))['mode'], 'auto')  # per user
        r = self.put_mode(user, 'auto')
        self.assertEqual(r.json(), {'user': user, 'mode': 'auto', 'updated_at': None})

    def test_bad_requests(self):
        user = mh.uid('bad')
        for raw in (b'', b'{}', b'{"mode":"OFF"}', b'{"mode":"write"}', b'{"mode":1}', b'[]',
                    b'{"mode":"off","mode":"auto"}', b'not json'):
            r = self.put_mode(user, None, raw=raw)
            self.assertOpenAIError(r, 400, 'invalid_mode')
        self.assertEqual(self.get_mode(user)['mode'], 'auto')  # nothing was set
        r = self.proxy.request('DELETE', '/v1/memory/settings', self.h(user))
        self.assertOpenAIError(r, 405, 'method_not_allowed')
        r = self.proxy.request('PUT', '/v1/memory/settings', [('Content-Type', 'application/json')],
                               b'{"mode":"off"}')
        self.assertOpenAIError(r, 400, 'missing_user_id')
        r = self.proxy.request('GET', '/v1/memory/settings/x', self.h(user))
        self.assertOpenAIError(r, 404, 'not_found')

    # -- what each mode does to chat ---------------------------------------------------

    def test_off_neither_injects_nor_records(self):
        user = self.taught('off')
        n0 = mh.last_n(self.fake)
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        s = send(self.proxy, user, 'My dog is called Rex.')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)  # the stored fact did not go in
        time.sleep(0.5)
        mh.wait_idle(self.proxy)
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(len(mem['buffer']), 2, 'the turn was recorded')
        self.assertNotIn('Rex', json.dumps(mem))
        self.assertEqual(mh.user_jobs(self.fake, user, after=n0), [], 'a memory job ran')
        # X-Memory cannot widen it
        s = send(self.proxy, user, 'hello again', x_memory='auto')
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        # back to auto: remembered again
        self.assertEqual(self.put_mode(user, 'auto').status, 200)
        s = send(self.proxy, user, 'My cat is called Tom.')
        self.assertEqual(s.mode(), 'hybrid')
        self.assertIn('Izmir', json.dumps(self.injection(s).elements))
        mh.wait_memory(self.proxy, user, lambda m: 'Tom' in json.dumps(m['buffer']), what='the new turn')

    def test_read_injects_but_records_nothing(self):
        user = self.taught('read')
        self.assertEqual(self.put_mode(user, 'read').status, 200)
        n0 = mh.last_n(self.fake)
        s = send(self.proxy, user, 'My bike is red.')
        self.assertOK(s)
        self.assertEqual(s.mode(), 'hybrid')
        self.assertIn('Izmir', json.dumps(self.injection(s).elements))
        time.sleep(0.5)
        mh.wait_idle(self.proxy)
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(len(mem['buffer']), 2)
        self.assertNotIn('bike', json.dumps(mem))
        self.assertEqual(mh.user_jobs(self.fake, user, after=n0), [])
        # the user's own write combined with read: neither
        s = send(self.proxy, user, 'My car is blue.', x_memory='write')
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        time.sleep(0.3)
        self.assertNotIn('car', json.dumps(mh.get_memory(self.proxy, user)))

    def test_read_only_hits_then_a_change_is_read(self):
        """Reads that write nothing, one after another on one connection (one
        worker's thread, whose views keep the user's record and setting read
        under the store's version: storage/view/view_cache.h): the setting
        put between them, and a turn recorded, are what the next read sees."""
        user = self.taught('hits')
        c = self.proxy.conn()
        for _ in range(3):
            s = send(self.proxy, user, 'Where do I live?', x_memory='read', conn=c)
            self.assertEqual(s.mode(), 'hybrid')
            self.assertIn('Izmir', json.dumps(self.injection(s).elements))
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        s = send(self.proxy, user, 'Where do I live?', x_memory='read', conn=c)
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        self.assertEqual(self.put_mode(user, 'auto').status, 200)
        s = send(self.proxy, user, 'Where do I live?', x_memory='read', conn=c)
        self.assertIn('Izmir', json.dumps(self.injection(s).elements))
        self.assertOK(send(self.proxy, user, 'My boat is called Marta.', conn=c))
        mh.wait_memory(self.proxy, user, lambda m: 'Marta' in json.dumps(m['buffer']), what='the turn')
        s = send(self.proxy, user, 'What is my boat called?', x_memory='read', conn=c)
        self.assertIn('Marta', json.dumps(self.injection(s).elements))

    def test_off_for_a_user_never_seen(self):
        """No memory stored yet: the setting alone keeps the first turn out."""
        user = mh.uid('fresh')
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        s = send(self.proxy, user, 'I live in Lima.')
        self.assertEqual(s.mode(), 'off')
        s = send(self.proxy, user, 'I live in Lima.', x_memory='write')
        self.assertEqual(s.mode(), 'off')
        time.sleep(0.5)
        mh.wait_idle(self.proxy)
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual((mem['buffer'], mem['entities']), ([], []))

    def test_off_stops_pending_jobs(self):
        user = mh.uid('stall')
        # an earlier test's job still on its way would stall too, for good
        # (no one turns its user off), and keep the queue busy for the tests after
        mh.wait_idle(self.proxy)
        mh.set_jobmode(self.fake, extract='stall', summarize='stall')
        n0 = mh.last_n(self.fake)
        self.assertOK(send(self.proxy, user, 'My name is Ola. I live in Oslo.'))
        mh.wait_for(lambda: mh.user_jobs(self.fake, user, 'extract', after=n0), what='the stalled extraction')
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        mh.set_jobmode(self.fake, extract='ok', summarize='ok')
        n1 = mh.last_n(self.fake)
        time.sleep(1.5)  # past a scheduler tick and a first retry backoff
        self.assertEqual(mh.user_jobs(self.fake, user, after=n1), [], 'a job of an opted-out user ran')
        mem = mh.get_memory(self.proxy, user)
        self.assertEqual(mem['entities'], [], 'a fact was extracted after opting out')
        self.assertEqual(len(mem['buffer']), 2)  # what was recorded before stays until erased

    def test_erasing_memory_keeps_the_setting(self):
        user = self.taught('erase')
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        self.assertEqual(self.proxy.request('DELETE', '/v1/memory', self.h(user)).status, 204)
        self.assertEqual(self.get_mode(user)['mode'], 'off')
        s = send(self.proxy, user, 'I live in Rome.')
        self.assertEqual(s.mode(), 'off')
        time.sleep(0.3)
        self.assertEqual(mh.get_memory(self.proxy, user)['buffer'], [])

    # -- the admin's view --------------------------------------------------------------

    def test_admin_sees_and_sets_it(self):
        user = self.taught('adm')
        path = '/admin/users/%s/settings' % user
        r = self.admin('GET', path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'user': user, 'tenant': None, 'mode': 'auto', 'updated_at': None})
        r = self.admin('PUT', path, b'{"mode":"off"}')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['mode'], 'off')
        self.assertRegex(r.json()['updated_at'], ISO)
        self.assertEqual(self.get_mode(user)['mode'], 'off')  # the user sees the admin's setting
        s = send(self.proxy, user, 'hello')
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)
        self.assertEqual(self.put_mode(user, 'auto').status, 200)
        self.assertEqual(self.admin('GET', path).json()['mode'], 'auto')
        self.assertOpenAIError(self.admin('PUT', path, b'{"mode":"none"}'), 400, 'invalid_mode')
        self.assertOpenAIError(self.admin('GET', path, token='wrong-token-0123456789'), 401,
                               'invalid_admin_token')
        self.assertOpenAIError(self.admin('DELETE', path), 405, 'method_not_allowed')

    def test_the_export_of_a_user_whose_only_record_is_the_setting_holds_it(self):
        user = mh.uid('setonly')
        path = '/admin/users/%s/export' % user
        self.assertOpenAIError(self.admin('GET', path), 404, 'not_found')  # nothing stored
        self.assertEqual(self.put_mode(user, 'off').status, 200)
        r = self.admin('GET', path)
        self.assertEqual(r.status, 200, r)
        lines = [json.loads(x) for x in r.body.decode().splitlines()]
        self.assertEqual([(x['type'], x['user'], x['mode']) for x in lines], [('settings', user, 'off')])
        # an erased user keeps the setting, and its export still shows it
        taught = self.taught('erased')
        self.assertEqual(self.put_mode(taught, 'read').status, 200)
        self.assertEqual(self.proxy.request('DELETE', '/v1/memory', self.h(taught)).status, 204)
        r = self.admin('GET', '/admin/users/%s/export' % taught)
        self.assertEqual(r.status, 200, r)
        lines = [json.loads(x) for x in r.body.decode().splitlines()]
        self.assertEqual([(x['type'], x['mode']) for x in lines], [('settings', 'read')])
        # back to auto: nothing is stored
        self.assertEqual(self.put_mode(user, 'auto').status, 200)
        self.assertOpenAIError(self.admin('GET', path), 404, 'not_found')

    def test_export_carries_it_and_import_restores_it(self):
        user = self.taught('exp')
        self.assertEqual(self.put_mode(user, 'read').status, 200)
        r = self.admin('GET', '/admin/users/%s/export' % user)
        self.assertEqual(r.status, 200, r)
        lines = [json.loads(x) for x in r.body.decode().splitlines()]
        settings = [x for x in lines if x['type'] == 'settings']
        self.assertEqual(len(settings), 1, lines)
        self.assertEqual((settings[0]['user'], settings[0]['mode']), (user, 'read'))
        self.assertRegex(settings[0]['updated_at'], ISO)
        other = mh.uid('imp')
        r = self.admin('POST', '/admin/users/%s/import' % other, b''.join(
            json.dumps(x).encode() + b'\n' for x in lines))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['settings'], 1, r.json())
        self.assertEqual(self.get_mode(other)['mode'], 'read')
        r = self.admin('POST', '/admin/users/%s/import' % other, b'{"type":"settings","mode":"maybe"}\n')
        self.assertOpenAIError(r, 400, 'invalid_import_line')
        self.assertEqual(self.get_mode(other)['mode'], 'read')  # all or nothing
        # auto writes no line
        self.assertEqual(self.put_mode(user, 'auto').status, 200)
        r = self.admin('GET', '/admin/users/%s/export' % user)
        self.assertNotIn('"settings"', r.body.decode())


class GlobalOff(mh.MemCase):
    """The configured mode off wins over any user setting."""
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'off'}}

    def test_global_off_wins(self):
        user = mh.uid('g')
        r = self.proxy.request('PUT', '/v1/memory/settings',
                               [('X-User-Id', user), ('Content-Type', 'application/json')], b'{"mode":"auto"}')
        self.assertEqual(r.status, 200, r)
        s = send(self.proxy, user, 'I live in Kyiv.')
        self.assertEqual(s.mode(), 'off')
        self.assertTransparent(s)


if __name__ == '__main__':
    harness.main('proxy_memory_settings')
