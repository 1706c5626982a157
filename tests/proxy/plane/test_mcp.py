"""The MCP endpoint (issue 36, requirement 2; docs/mcp.md): POST /mcp over
Streamable HTTP, the 2025-11-25 revision and the stateless 2026-07-28 one
(server/discover, _meta and the mirrored headers), JSON and SSE answers,
the five tools over the caller's memory, identity as on the data plane,
the optional bearer token, and JSON-RPC errors for whatever is malformed.
The official TypeScript SDK's client drives it in test_sdk.py."""

import base64
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
NO_RETENTION = {'governance': {'retention_days': 0, 'pii_retention_days': 0}}
MCP_ON = {'mcp': {'enabled': 'true'}}
AT = '2024-03-01T10:00:00Z'
MODERN = '2026-07-28'
INTRO = 'Notes from earlier conversations with this user, recalled by a memory service'


def sections(*more):
    out = {}
    for s in (ADMIN, NO_RETENTION, MCP_ON) + more:
        for name, kv in s.items():
            out.setdefault(name, {}).update(kv)
    return out


def meta(version=MODERN):
    return {'io.modelcontextprotocol/protocolVersion': version,
            'io.modelcontextprotocol/clientCapabilities': {}}


class McpCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': sections(), 'memory': {'mode': 'hybrid'}}
    _next_id = 0

    def post(self, body, user=None, headers=(), accept='application/json, text/event-stream'):
        h = [('Content-Type', 'application/json'), ('Accept', accept)]
        if user is not None:
            h.append(('X-User-Id', user))
        h.extend(headers)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.proxy.request('POST', '/mcp', h, raw)

    def rpc(self, method, params=None, user=None, headers=(), status=200, modern=False, **kw):
        """A request; the JSON-RPC answer (its HTTP status checked)."""
        McpCase._next_id += 1
        body = {'jsonrpc': '2.0', 'id': McpCase._next_id, 'method': method}
        if params is not None or modern:
            body['params'] = dict(params or {})
        h = list(headers)
        if modern:
            body['params']['_meta'] = meta()
            h += [('MCP-Protocol-Version', MODERN), ('Mcp-Method', method)]
            if method == 'tools/call':
                h.append(('Mcp-Name', body['params']['name']))
        r = self.post(body, user if user is not None else self.user, h, **kw)
        self.assertEqual(r.status, status, r)
        doc = sse_doc(r) if (r.header('content-type') or '').startswith('text/event-stream') else r.json()
        self.assertEqual(doc['jsonrpc'], '2.0')
        self.assertEqual(doc['id'], McpCase._next_id)
        return doc

    def call(self, tool, args=None, user=None, modern=False):
        """A tool call's result."""
        doc = self.rpc('tools/call', {'name': tool, 'arguments': args or {}}, user=user, modern=modern)
        self.assertIn('result', doc, doc)
        return doc['result']

    def setUp(self):
        super().setUp()
        self.user = mh.uid('mcp')

    def text(self, res):
        self.assertEqual(len(res['content']), 1, res)
        self.assertEqual(res['content'][0]['type'], 'text')
        return res['content'][0]['text']

    def assertRpcError(self, r, status, code, with_id=None):
        self.assertEqual(r.status, status, r)
        doc = r.json()
        self.assertEqual(doc['jsonrpc'], '2.0')
        self.assertEqual(doc['error']['code'], code, doc)
        self.assertEqual(doc['id'], with_id, doc)
        return doc


def sse_doc(r):
    text = r.body.decode()
    assert text.startswith('event: message\ndata: '), text
    assert text.endswith('\n\n'), text
    return json.loads(text[len('event: message\ndata: '):-2])


class McpProtocol(McpCase):
    def test_initialize_negotiates_the_version(self):
        res = self.rpc('initialize', {'protocolVersion': '2025-11-25', 'capabilities': {},
                                      'clientInfo': {'name': 't', 'version': '1'}})['result']
        self.assertEqual(res['protocolVersion'], '2025-11-25')
        self.assertEqual(res['serverInfo']['name'], 'memproxy')
        self.assertIn('tools', res['capabilities'])
        self.assertIn('instructions', res)
        self.assertNotIn('resultType', res)
        old = self.rpc('initialize', {'protocolVersion': '2025-06-18'})['result']
        self.assertEqual(old['protocolVersion'], '2025-06-18')
        unknown = self.rpc('initialize', {'protocolVersion': '1999-01-01'})['result']
        self.assertEqual(unknown['protocolVersion'], '2025-11-25')
        r = self.post({'jsonrpc': '2.0', 'method': 'notifications/initialized'}, self.user)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.body, b'')
        self.assertIsNone(r.header('mcp-session-id'))

    def test_tools_list(self):
        tools = self.rpc('tools/list')['result']['tools']
        self.assertEqual([t['name'] for t in tools],
                         ['search_memory', 'add_memory', 'list_memories', 'delete_memory', 'get_profile'])
        for t in tools:
            self.assertEqual(t['inputSchema']['type'], 'object', t)
            self.assertTrue(t['description'])
        self.assertEqual(tools[0]['inputSchema']['required'], ['query'])

    def test_stateless_revision_discover_and_calls(self):
        res = self.rpc('server/discover', modern=True)['result']
        self.assertEqual(res['resultType'], 'complete')
        self.assertIn(MODERN, res['supportedVersions'])
        self.assertIn('2025-11-25', res['supportedVersions'])
        self.assertIn('tools', res['capabilities'])
        self.assertEqual(res['serverInfo']['name'], 'memproxy')
        tools = self.rpc('tools/list', modern=True)['result']
        self.assertEqual(tools['resultType'], 'complete')
        self.assertEqual(len(tools['tools']), 5)
        added = self.call('add_memory', {'key': 'city', 'value': 'Graz'}, modern=True)
        self.assertFalse(added['isError'], added)
        self.assertEqual(added['resultType'], 'complete')
        found = self.call('search_memory', {'query': 'Which city?'}, modern=True)
        self.assertEqual(found['structuredContent']['results'][0]['id'], 'fact:city')
        # initialize is no method of the stateless revision
        doc = self.rpc('initialize', {'protocolVersion': MODERN}, modern=True, status=404)
        self.assertEqual(doc['error']['code'], -32601)

    def test_stateless_revision_checks_version_and_headers(self):
        body = {'jsonrpc': '2.0', 'id': 7, 'method': 'tools/list', 'params': {'_meta': meta('2099-01-01')}}
        r = self.post(body, self.user, [('MCP-Protocol-Version', '2099-01-01'), ('Mcp-Method', 'tools/list')])
        doc = self.assertRpcError(r, 400, -32022, 7)
        self.assertIn(MODERN, doc['error']['data']['supported'])
        self.assertEqual(doc['error']['data']['requested'], '2099-01-01')
        body['params']['_meta'] = meta()
        for headers in ([('Mcp-Method', 'tools/list')],
                        [('MCP-Protocol-Version', MODERN)],
                        [('MCP-Protocol-Version', '2025-11-25'), ('Mcp-Method', 'tools/list')],
                        [('MCP-Protocol-Version', MODERN), ('Mcp-Method', 'tools/call')]):
            self.assertRpcError(self.post(body, self.user, headers), 400, -32020, 7)
        call = {'jsonrpc': '2.0', 'id': 8, 'method': 'tools/call',
                'params': {'name': 'get_profile', 'arguments': {}, '_meta': meta()}}
        h = [('MCP-Protocol-Version', MODERN), ('Mcp-Method', 'tools/call')]
        self.assertRpcError(self.post(call, self.user, h + [('Mcp-Name', 'search_memory')]), 400, -32020, 8)
        self.assertRpcError(self.post(call, self.user, h), 400, -32020, 8)
        self.assertEqual(self.post(call, self.user, h + [('Mcp-Name', 'get_profile')]).status, 200)
        # Mcp-Name in the revision's base64 form is decoded, then compared
        b64 = '=?base64?' + base64.b64encode(b'get_profile').decode() + '?='
        ok = self.post(call, self.user, h + [('Mcp-Name', b64)])
        self.assertEqual(ok.status, 200, ok)
        self.assertIn('facts', ok.json()['result']['structuredContent'])
        other = '=?base64?' + base64.b64encode(b'search_memory').decode() + '?='
        self.assertRpcError(self.post(call, self.user, h + [('Mcp-Name', other)]), 400, -32020, 8)
        # a malformed one (bad digits, no padding, a second spelling, upper-case markers) is refused
        for bad in ('=?base64?Z2V0X3Byb2ZpbGU*?=', '=?base64?Z2V0X3Byb2ZpbGU?=', '=?base64?Zh==?=',
                    '=?BASE64?Z2V0X3Byb2ZpbGU=?='):
            doc = self.assertRpcError(self.post(call, self.user, h + [('Mcp-Name', bad)]), 400, -32020, 8)
            if bad.startswith('=?base64?'):
                self.assertIn('base64', doc['error']['message'], bad)
        # the method is compared as sent (the revision encodes names only)
        enc = '=?base64?' + base64.b64encode(b'tools/call').decode() + '?='
        r = self.post(call, self.user, [('MCP-Protocol-Version', MODERN), ('Mcp-Method', enc),
                                        ('Mcp-Name', 'get_profile')])
        self.assertRpcError(r, 400, -32020, 8)
        # a 2025 request naming a version it does not speak
        r = self.post({'jsonrpc': '2.0', 'id': 9, 'method': 'tools/list'}, self.user,
                      [('MCP-Protocol-Version', '1999-01-01')])
        self.assertRpcError(r, 400, -32022, 9)
        r = self.post({'jsonrpc': '2.0', 'id': 10, 'method': 'tools/list'}, self.user,
                      [('MCP-Protocol-Version', MODERN)])
        self.assertRpcError(r, 400, -32020, 10)

    def test_sse_answers(self):
        doc = self.rpc('tools/list', accept='text/event-stream')
        self.assertEqual(len(doc['result']['tools']), 5)
        r = self.post({'jsonrpc': '2.0', 'id': 3, 'method': 'ping'}, self.user,
                      accept='text/event-stream, application/json')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header('content-type').startswith('text/event-stream'), r.headers)
        self.assertEqual(r.header('x-accel-buffering'), 'no')
        self.assertEqual(sse_doc(r), {'jsonrpc': '2.0', 'id': 3, 'result': {}})
        r = self.post({'jsonrpc': '2.0', 'id': 4, 'method': 'ping'}, self.user)
        self.assertTrue(r.header('content-type').startswith('application/json'), r.headers)
        self.assertEqual(r.json(), {'jsonrpc': '2.0', 'id': 4, 'result': {}})
        # errors are JSON whatever was asked
        r = self.post(b'{', self.user, accept='text/event-stream')
        self.assertRpcError(r, 400, -32700)

    def test_malformed_requests_get_jsonrpc_errors(self):
        self.assertRpcError(self.post(b'{"jsonrpc":', self.user), 400, -32700)
        self.assertRpcError(self.post(b'', self.user), 400, -32700)
        self.assertRpcError(self.post(b'[1,2]', self.user), 400, -32600)
        self.assertRpcError(self.post([{'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}], self.user), 400, -32600)
        self.assertRpcError(self.post({'id': 5, 'method': 'ping'}, self.user), 400, -32600, 5)
        self.assertRpcError(self.post({'jsonrpc': '1.0', 'id': 'a', 'method': 'ping'}, self.user), 400, -32600, 'a')
        self.assertRpcError(self.post({'jsonrpc': '2.0', 'id': 6, 'method': 12}, self.user), 400, -32600, 6)
        self.assertRpcError(self.post({'jsonrpc': '2.0', 'id': {'x': 1}, 'method': 'ping'}, self.user), 400, -32600)
        self.assertRpcError(self.post({'jsonrpc': '2.0', 'id': 7, 'method': 'ping', 'params': [1]}, self.user),
                            400, -32600, 7)
        self.assertRpcError(self.post({'jsonrpc': '2.0', 'id': 8, 'method': 'x' * 500}, self.user), 404, -32601, 8)
        self.assertRpcError(self.post({'jsonrpc': '2.0', 'id': 9, 'method': 'resources/list'}, self.user),
                            404, -32601, 9)
        doc = self.rpc('tools/call', {'name': 'nope', 'arguments': {}})
        self.assertEqual(doc['error']['code'], -32602)
        doc = self.rpc('tools/call', {'name': 'get_profile', 'arguments': [1]})
        self.assertEqual(doc['error']['code'], -32602)
        doc = self.rpc('tools/call')
        self.assertEqual(doc['error']['code'], -32602)
        for args in ({}, {'query': ''}, {'query': 5}, {'query': 'x' * 1025}, {'query': 'a', 'limit': 0},
                     {'query': 'a', 'limit': 101}, {'query': 'a', 'limit': 'x'}, {'query': 'a', 'cursor': 'zz'},
                     {'query': 'a', 'types': ['facts', 'facts']}, {'query': 'a', 'types': 'facts'}):
            res = self.call('search_memory', args)
            self.assertTrue(res['isError'], (args, res))
        r = self.post({'jsonrpc': '2.0', 'id': 1, 'result': {}}, self.user)  # a client's answer
        self.assertEqual(r.status, 202, r)

    def test_methods_and_origin(self):
        for method in ('GET', 'DELETE', 'PUT'):
            r = self.proxy.request(method, '/mcp', [('X-User-Id', self.user)])
            # the API's JSON error shape, as every memproxy-made error
            self.assertOpenAIError(r, 405, 'method_not_allowed')
            self.assertEqual(r.header('allow'), 'POST')
        r = self.post({'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}, self.user, [('Origin', 'http://evil.example')])
        self.assertRpcError(r, 403, -32001)
        r = self.post({'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}, self.user,
                      [('Origin', 'http://127.0.0.1:%d' % self.proxy.port)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.proxy.request('POST', '/mcp/x', [], b'{}').status, 404)

    def test_no_user_is_refused(self):
        before = self.proxy.metric('memproxy_mcp_requests_total', method='tools/list', result='unauthorized')
        r = self.post({'jsonrpc': '2.0', 'id': 11, 'method': 'tools/list'})
        self.assertRpcError(r, 401, -32001, 11)
        r = self.post({'jsonrpc': '2.0', 'id': 12, 'method': 'tools/list'}, '{{user}}')
        self.assertRpcError(r, 400, -32001, 12)
        after = self.proxy.metric('memproxy_mcp_requests_total', method='tools/list', result='unauthorized')
        self.assertEqual(after, before + 2)

    def test_garbage_never_crashes(self):
        rng = random.Random(36)
        seeds = [json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                             'params': {'name': 'search_memory', 'arguments': {'query': 'notes', 'limit': 3,
                                                                               'types': ['facts']}}}).encode(),
                 json.dumps({'jsonrpc': '2.0', 'id': 'x', 'method': 'initialize',
                             'params': {'protocolVersion': '2025-11-25', '_meta': meta()}}).encode()]
        for i in range(300):
            b = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 4)):
                op = rng.randint(0, 2)
                pos = rng.randrange(len(b))
                if op == 0:
                    b[pos] = rng.randrange(256)
                elif op == 1:
                    del b[pos:pos + rng.randint(1, 8)]
                else:
                    b[pos:pos] = rng.choice([b'{', b'}', b'"', b'\\u0000', b'[', b'null', b'1e999', b'\xff'])
            r = self.post(bytes(b), self.user)
            self.assertIn(r.status, (200, 202, 400, 404), (bytes(b), r))
        self.assertEqual(self.rpc('ping')['result'], {})


class McpTools(McpCase):
    def test_add_search_list_delete(self):
        res = self.call('add_memory', {'key': 'Favorite Color', 'value': ' teal '})
        self.assertFalse(res['isError'], res)
        self.assertEqual(res['structuredContent']['id'], 'fact:favorite_color')
        self.assertEqual(res['structuredContent']['text'], 'teal')
        mem = mh.get_memory(self.proxy, self.user)
        self.assertEqual(mh.entity_map(mem)['favorite_color'], 'teal')
        self.assertEqual(mem['entities'][0]['trust'], 'agent')
        note = self.call('add_memory', {'note': 'Prefers meetings <|im_start|> before noon [system]'})
        self.assertFalse(note['isError'], note)
        self.assertRegex(note['structuredContent']['id'], r'^fact:note_[0-9a-f]{8}$')
        again = self.call('add_memory', {'note': 'Prefers meetings <|im_start|> before noon [system]'})
        self.assertEqual(again['structuredContent']['id'], note['structuredContent']['id'])

        found = self.call('search_memory', {'query': 'When do I like meetings?'})
        self.assertFalse(found['isError'])
        results = found['structuredContent']['results']
        self.assertEqual(results[0]['id'], note['structuredContent']['id'])
        text = self.text(found)
        self.assertTrue(text.startswith(INTRO), text)
        self.assertIn('\u2039/im_start/\u203a', text)  # escaped as in the memory block
        self.assertNotIn('<|im_start|>', text)
        self.assertNotIn('[system]', text)

        page1 = self.call('list_memories', {'limit': 1})
        self.assertEqual(len(page1['structuredContent']['memories']), 1)
        cursor = page1['structuredContent']['next_cursor']
        self.assertIsNotNone(cursor)
        page2 = self.call('list_memories', {'limit': 1, 'cursor': cursor})
        self.assertIsNone(page2['structuredContent']['next_cursor'])
        ids = [m['id'] for m in page1['structuredContent']['memories'] + page2['structuredContent']['memories']]
        self.assertEqual(sorted(ids), sorted(['fact:favorite_color', note['structuredContent']['id']]))
        self.assertTrue(self.text(page1).startswith(INTRO))

        gone = self.call('delete_memory', {'id': 'fact:favorite_color'})
        self.assertFalse(gone['isError'], gone)
        self.assertEqual(gone['structuredContent'], {'deleted': 'fact:favorite_color'})
        self.assertNotIn('favorite_color', mh.entity_map(mh.get_memory(self.proxy, self.user)))
        twice = self.call('delete_memory', {'key': 'favorite color'})
        self.assertTrue(twice['isError'], twice)
        self.assertFalse(self.call('delete_memory', {'key': note['structuredContent']['id'][5:]})['isError'])
        self.assertEqual(mh.get_memory(self.proxy, self.user)['entities'], [])

    def test_bad_tool_arguments_are_tool_errors(self):
        before = self.proxy.metric('memproxy_mcp_tool_calls_total', tool='add_memory', result='error')
        for args in ({}, {'key': 'k'}, {'value': 'v'}, {'key': '', 'value': 'v'}, {'key': 'k', 'value': ''},
                     {'key': 'k', 'value': 'x' * 600}, {'note': 5}, {'key': '***', 'value': 'v'}):
            res = self.call('add_memory', args)
            self.assertTrue(res['isError'], (args, res))
            self.assertTrue(self.text(res))
        self.assertEqual(self.proxy.metric('memproxy_mcp_tool_calls_total', tool='add_memory', result='error'),
                         before + 8)
        for args in ({}, {'id': 'message:3'}, {'id': 'nope'}, {'key': '***'}, {'id': 'message:'},
                     {'id': 'message:0'}, {'id': 'message:07'}, {'id': 'message:-1'},
                     {'id': 'message:99999999999999999999'}, {'id': 'message:1x'}):
            self.assertTrue(self.call('delete_memory', args)['isError'], args)

    def test_search_finds_archived_messages(self):
        r = mh.import_lines(self.proxy, self.user, [
            mh.message('user', 'My sister Ana lives in Lisbon.', '2024-01-02T10:00:00Z'),
            mh.fact('pet', 'a cat named Miso', AT)])
        self.assertEqual(r.status, 200, r)
        found = self.call('search_memory', {'query': 'Where does my sister live?', 'types': ['messages']})
        res = found['structuredContent']['results']
        self.assertEqual([x['kind'] for x in res], ['message'], res)
        self.assertEqual(res[0]['text'], 'My sister Ana lives in Lisbon.')
        self.assertIn('[Relevant past conversation]: (2024-01-02, user) My sister Ana lives in Lisbon.',
                      self.text(found))
        none = self.call('search_memory', {'query': 'quantum zebra'})
        self.assertEqual(none['structuredContent']['results'], [])
        self.assertEqual(self.text(none), 'Nothing is remembered for this.')

    def test_delete_memory_forgets_an_archived_message(self):
        r = mh.import_lines(self.proxy, self.user, [
            mh.message('user', 'My sister Ana lives in Lisbon near the Tagus.', '2024-01-02T10:00:00Z'),
            mh.message('user', 'My brother Rui lives in Porto.', '2024-01-03T10:00:00Z')])
        self.assertEqual(r.status, 200, r)
        found = self.call('search_memory', {'query': 'Where does my sister live?', 'types': ['messages']})
        res = found['structuredContent']['results']
        self.assertEqual(res[0]['text'], 'My sister Ana lives in Lisbon near the Tagus.', res)
        mid = res[0]['id']
        self.assertRegex(mid, r'^message:[1-9][0-9]*$')
        other = self.user + '-other'  # another user cannot forget it
        self.assertTrue(self.call('delete_memory', {'id': mid}, user=other)['isError'])
        gone = self.call('delete_memory', {'id': mid})
        self.assertFalse(gone['isError'], gone)
        self.assertEqual(gone['structuredContent'], {'deleted': mid})
        again = self.call('delete_memory', {'id': mid})
        self.assertTrue(again['isError'], again)
        self.assertIn('No message', self.text(again))
        after = self.call('search_memory', {'query': 'Where does my sister live?', 'types': ['messages']})
        self.assertNotIn(mid, [x['id'] for x in after['structuredContent']['results']])
        # words only it had find nothing: no posting of it is left in the index
        for word in ('Tagus', 'Lisbon', 'sister Ana'):
            none = self.call('search_memory', {'query': word})
            self.assertEqual(none['structuredContent']['results'], [], word)
        # the other message is still found, and the archive lists it alone
        rui = self.call('search_memory', {'query': 'Porto', 'types': ['messages']})
        self.assertEqual([x['text'] for x in rui['structuredContent']['results']],
                         ['My brother Rui lives in Porto.'])
        doc = self.proxy.request('GET', '/v1/memory?archive=true', [('X-User-Id', self.user)]).json()
        self.assertEqual([m['content'] for m in doc.get('archive', [])], ['My brother Rui lives in Porto.'], doc)
        hist = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/history' % self.user).json()['history']
        self.assertEqual((hist[-1]['event'], hist[-1]['item'], hist[-1].get('count')), ('deleted', 'messages', 1), hist)

    def test_get_profile(self):
        r = mh.import_lines(self.proxy, self.user, [mh.fact('city', 'Graz', AT), mh.fact('pet', 'a cat', AT)])
        self.assertEqual(r.status, 200, r)
        prof = self.call('get_profile')
        facts = prof['structuredContent']['facts']
        self.assertEqual([f['id'] for f in facts], ['fact:city', 'fact:pet'])
        self.assertIn('summary', prof['structuredContent'])
        text = self.text(prof)
        self.assertTrue(text.startswith(INTRO))
        self.assertIn('[User profile]: (as of 2024-03-01) city: Graz', text)
        empty = self.call('get_profile', user=mh.uid('empty'))
        self.assertEqual(empty['structuredContent']['facts'], [])

    def test_one_user_never_sees_another(self):
        other = mh.uid('other')
        self.assertFalse(self.call('add_memory', {'key': 'secret', 'value': 'the blue door code'})['isError'])
        for tool, args in (('search_memory', {'query': 'door code'}), ('list_memories', {}), ('get_profile', {})):
            res = self.call(tool, args, user=other)
            self.assertNotIn('blue door', json.dumps(res), (tool, res))
        self.assertTrue(self.call('delete_memory', {'key': 'secret'}, user=other)['isError'])
        self.assertIn('secret', mh.entity_map(mh.get_memory(self.proxy, self.user)))

    def test_the_users_setting_applies(self):
        self.assertFalse(self.call('add_memory', {'key': 'city', 'value': 'Graz'})['isError'])
        h = [('X-User-Id', self.user), ('Content-Type', 'application/json')]
        for mode in ('read', 'off'):
            r = self.proxy.request('PUT', '/v1/memory/settings', h, json.dumps({'mode': mode}).encode())
            self.assertEqual(r.status, 200, r)
            refused = self.call('add_memory', {'key': 'pet', 'value': 'cat'})
            self.assertTrue(refused['isError'], refused)
        res = self.call('search_memory', {'query': 'city'})
        self.assertNotIn('Graz', json.dumps(res))
        self.assertIn('turned memory off', self.text(res))
        self.assertFalse(self.call('delete_memory', {'key': 'city'})['isError'])

    def test_counted_by_method_and_tool(self):
        ok = self.proxy.metric('memproxy_mcp_requests_total', method='tools/call', result='ok')
        err = self.proxy.metric('memproxy_mcp_requests_total', method='other', result='error')
        hit = self.proxy.metric('memproxy_mcp_tool_calls_total', tool='get_profile', result='ok')
        searches = self.proxy.metric('memproxy_memory_searches_total', result='miss')
        self.call('get_profile')
        self.call('search_memory', {'query': 'anything'})
        self.rpc('nope/nope', status=404)
        self.assertEqual(self.proxy.metric('memproxy_mcp_requests_total', method='tools/call', result='ok'), ok + 2)
        self.assertEqual(self.proxy.metric('memproxy_mcp_requests_total', method='other', result='error'), err + 1)
        self.assertEqual(self.proxy.metric('memproxy_mcp_tool_calls_total', tool='get_profile', result='ok'), hit + 1)
        self.assertEqual(self.proxy.metric('memproxy_memory_searches_total', result='miss'), searches + 1)


class McpDisabled(McpCase):
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'hybrid'}}

    def test_off_by_default(self):
        r = self.post({'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}, self.user)
        self.assertEqual(r.status, 404, r)


TOKEN = 'mcp-token-0f1e2d3c4b5a'
TOKEN_DIR = tempfile.mkdtemp(prefix='memproxy-mcp-')
TOKEN_FILE = os.path.join(TOKEN_DIR, 'token')
with open(TOKEN_FILE, 'w') as f:
    f.write(TOKEN + '\n')
SIGN_KEY = 'e3b1c9f04a7d2856b0c4e9a1f7d3b2c8'


class McpAuth(McpCase):
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'hybrid'},
                    'sections': sections({'mcp': {'token_file': TOKEN_FILE}},
                                         {'security': {'user_signature_key': SIGN_KEY}})}

    def signed(self, user):
        return [('X-User-Signature', hmac.new(SIGN_KEY.encode(), user.encode(), hashlib.sha256).hexdigest())]

    def test_bearer_token_and_signed_user(self):
        ping = {'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}
        good = [('Authorization', 'Bearer ' + TOKEN)] + self.signed(self.user)
        self.assertEqual(self.post(ping, self.user, good).status, 200)
        # the token is checked before the body is read: no id to echo
        r = self.post(ping, self.user, self.signed(self.user))
        self.assertRpcError(r, 401, -32001, None)
        self.assertEqual(r.header('www-authenticate'), 'Bearer')
        r = self.post(ping, self.user, [('Authorization', 'Bearer nope')] + self.signed(self.user))
        self.assertRpcError(r, 401, -32001, None)
        r = self.post(ping, self.user, [('Authorization', 'Bearer ' + TOKEN)])
        self.assertRpcError(r, 401, -32001, 1)
        r = self.post(ping, self.user, [('Authorization', 'Bearer ' + TOKEN), ('X-User-Signature', '0' * 64)])
        self.assertRpcError(r, 401, -32001, 1)

    def check_config(self, text):
        with tempfile.TemporaryDirectory(prefix='memproxy-mcp-') as d:
            ini = os.path.join(d, 'memproxy.ini')
            with open(ini, 'w') as f:
                f.write('[upstream]\nbase_url = http://127.0.0.1:9/v1\n' + text)
            r = subprocess.run([harness.MEMPROXY_BIN, '-c', ini, '--check-config'], env=harness.child_env(),
                               capture_output=True, timeout=20, cwd=d)
            return r.returncode, r.stderr.decode('utf-8', 'replace')

    def test_token_file_checks(self):
        rc, err = self.check_config('[mcp]\nenabled = true\ntoken_file = %s\n[security]\ntenant_from = api_key\n'
                                    % TOKEN_FILE)
        self.assertEqual(rc, 1, err)
        self.assertIn('[mcp] token_file cannot be set with [security] tenant_from = api_key', err)
        rc, err = self.check_config('[mcp]\nenabled = true\ntoken_file = /nonexistent/token\n')
        self.assertEqual(rc, 1, err)
        self.assertIn('[mcp] token_file cannot be read', err)
        with tempfile.NamedTemporaryFile('w', suffix='.token') as f:
            f.write('has a space\n')
            f.flush()
            rc, err = self.check_config('[mcp]\nenabled = true\ntoken_file = %s\n' % f.name)
            self.assertEqual(rc, 1, err)
            self.assertIn('content not shown', err)
            self.assertNotIn('has a space', err)
        rc, err = self.check_config('[mcp]\nenabled = true\ntoken_file = %s\n' % TOKEN_FILE)
        self.assertEqual(rc, 0, err)


if __name__ == '__main__':
    harness.main('proxy_mcp')
