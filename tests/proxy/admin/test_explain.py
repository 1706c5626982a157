"""Explain (issue 36, requirement 3; docs/admin-process.md "Explain"):
POST /admin/users/{id}/explain answers, without calling the upstream, what
a chat request of any of the three APIs would get injected, section by
section, each item with its id, score, the question's terms it holds, and
why it was taken or left out; and `memproxy ctl users explain`."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import fact, import_lines, message  # noqa: E402

ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
NO_RETENTION = {'governance': {'retention_days': 0, 'pii_retention_days': 0}}
AT = '2024-03-01T10:00:00Z'
QUESTION = 'What is the name of my cat?'


def sections(*more):
    out = {}
    for s in (ADMIN, NO_RETENTION) + more:
        for name, kv in s.items():
            out.setdefault(name, {}).update(kv)
    return out


def chat(question, history=()):
    return {'model': 'gpt-4o-mini', 'messages': list(history) + [{'role': 'user', 'content': question}]}


class ExplainCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': sections(),
                    'memory': {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 4}}

    def seed(self, items):
        user = mh.uid('expl')
        r = import_lines(self.proxy, user, items)
        self.assertEqual(r.status, 200, r)
        return user

    def explain(self, user, body, api=None, status=200):
        path = '/admin/users/%s/explain' % mh.qid(user) + ('?api=' + api if api else '')
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = mh.admin_request(self.proxy, 'POST', path, raw, 'application/json')
        self.assertEqual(r.status, status, r)
        return r.json()

    def items(self, doc, name):
        return {it['id']: it for it in doc['sections'][name]['items']}


class Explain(ExplainCase):
    def test_sections_scores_terms_and_reasons(self):
        user = self.seed([fact('pet', 'a grey cat named Miso', AT), fact('city', 'Graz', AT),
                          message('user', 'My cat Miso hates the vacuum.', '2024-01-05T10:00:00Z'),
                          message('user', 'I like long walks.', '2024-01-06T10:00:00Z')])
        before = len(mh.fake_requests(self.fake))
        doc = self.explain(user, chat(QUESTION))
        self.assertEqual(len(mh.fake_requests(self.fake)), before, 'explain called the upstream')
        self.assertEqual((doc['user'], doc['api'], doc['retrieval'], doc['mode']),
                         (user, 'chat', 'relevant', 'hybrid'))
        self.assertEqual(doc['question'], QUESTION)
        self.assertTrue(doc['injected'])
        self.assertGreater(doc['tokens'], 0)
        self.assertLessEqual(doc['tokens'], doc['budget_tokens'])
        self.assertEqual(set(doc['sections']), {'head', 'tail', 'profile', 'past', 'summary', 'buffer'})
        # a lone message of a client not shown to send its newest message alone:
        # the first turn of a conversation of its own, whose head is built now
        self.assertEqual(doc['conversation'], {'identified': True, 'rule': 'first_turn', 'session': False,
                                               'kept_head': False, 'reused': False})
        head = doc['sections']['head']
        self.assertFalse(head['reused'])
        self.assertEqual(head['applies'], head['block'] is not None, head)
        prof = self.items(doc, 'profile')
        pet = prof['fact:pet']
        self.assertEqual((pet['kind'], pet['taken'], pet['why']), ('fact', True, 'matched'))
        self.assertGreater(pet['score'], 0)
        self.assertEqual(pet['terms'], ['cat', 'name'])  # "named": the stem name
        city = prof['fact:city']  # reached by its session's smoothing, or among the strongest
        self.assertTrue(city['taken'])
        self.assertEqual(city['why'], 'strongest' if city['score'] is None else 'matched')
        self.assertEqual(city['terms'], [])
        self.assertLess(city['score'] or 0, pet['score'])
        past = self.items(doc, 'past')
        miso = [it for it in past.values() if 'Miso' in it['text']]
        self.assertEqual(len(miso), 1, past)
        self.assertGreater(miso[0]['score'], 0)
        self.assertIn('cat', miso[0]['terms'])
        for it in list(prof.values()) + list(past.values()):
            self.assertEqual(set(it) - {'cut', 'part'}, {'id', 'kind', 'text', 'score', 'terms', 'taken', 'why'},
                             it)
            self.assertIn(it.get('part'), ('head', 'tail') if it['taken'] else (None,), it)

    def test_buffer_already_in_request_and_budget(self):
        user = mh.uid('buf')
        self.assertOK(mh.send(self.proxy, user, 'My cat is called Miso.'))
        mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) == 2, what='the turn')
        mh.wait_idle(self.proxy)
        # another conversation's request (it begins otherwise) that holds the words
        doc = self.explain(user, chat(QUESTION, [{'role': 'user', 'content': 'Hello.'},
                                                 {'role': 'user', 'content': 'My cat is called Miso.'}]))
        buf = doc['sections']['buffer']['items']
        self.assertEqual(len(buf), 2, buf)
        said = [it for it in buf if it['text'] == 'My cat is called Miso.'][0]
        self.assertEqual((said['taken'], said['why']), (False, 'already_in_request'))
        # a client that resends its conversation gets no replay where a summary is kept:
        # the reply, of another conversation, is a past message (here in the head) instead
        other = [it for it in buf if it is not said][0]
        self.assertEqual((other['taken'], other['why']), (False, 'in_head'))
        self.assertIn(other['text'], [it['text'] for it in self.items(doc, 'past').values()
                                      if it['taken'] and it.get('part') == 'head'])
        # one that sends only its newest message (a session) gets the buffer replayed
        doc = self.explain(user, chat(QUESTION))
        buf = self.items(doc, 'buffer')
        self.assertEqual([(it['taken'], it['why'], it['part']) for it in buf.values()],
                         [(True, 'recent', 'tail')] * 2, buf)

    def test_a_turn_counted_once(self):
        user = mh.uid('dup')
        self.assertOK(mh.send(self.proxy, user, 'My name is Gus. I live in Graz.'))
        mh.wait_memory(self.proxy, user, lambda m: len(m['entities']) == 2, what='the extracted facts')
        mh.wait_idle(self.proxy)
        doc = self.explain(user, chat('Where do I live?'))
        self.assertTrue(self.items(doc, 'profile')['fact:city']['taken'])
        # the archived message is the buffer's (and its turn's fact is taken): not twice
        said = [it for it in doc['sections']['past']['items'] if it['text'] == 'My name is Gus. I live in Graz.']
        self.assertEqual(len(said), 1, doc['sections']['past'])
        self.assertEqual((said[0]['taken'], said[0]['why']), (False, 'duplicate'))
        self.assertGreater(said[0]['score'], 0)

    def test_below_the_floor(self):
        # one session: the message two turns from the match scores (smoothing)
        # but is under the floor (docs/memory-retrieval.md, "Retrieval"); the budget has room
        user = self.seed([message('user', 'My cat Miso hates the vacuum.', '2024-01-05T10:00:00Z'),
                          message('assistant', 'Oh no, poor thing.', '2024-01-05T10:01:00Z'),
                          message('user', 'The weather was fine today.', '2024-01-05T10:02:00Z'),
                          message('assistant', 'Good to hear.', '2024-01-05T10:03:00Z')])
        past = {it['text']: it for it in self.explain(user, chat(QUESTION))['sections']['past']['items']}
        self.assertEqual((past['My cat Miso hates the vacuum.']['why'],
                          past['Oh no, poor thing.']['why']), ('matched', 'matched'), past)
        far = past['The weather was fine today.']
        self.assertGreater(far['score'], 0)
        self.assertEqual((far['taken'], far['why'], far['terms']), (False, 'below_floor', []))

    def test_the_three_apis(self):
        user = self.seed([fact('pet', 'a grey cat named Miso', AT)])
        for api, body in (('responses', {'model': 'gpt-4o-mini', 'input': QUESTION}),
                          ('messages', {'model': 'claude-x', 'max_tokens': 10,
                                        'messages': [{'role': 'user', 'content': QUESTION}]}),
                          ('chat', chat(QUESTION))):
            doc = self.explain(user, body, api=api)
            self.assertEqual(doc['api'], api)
            self.assertEqual(doc['question'], QUESTION)
            self.assertTrue(self.items(doc, 'profile')['fact:pet']['taken'])
        err = self.explain(user, {'model': 'x', 'input': QUESTION}, api='chat', status=400)
        self.assertEqual(err['error']['code'], 'invalid_chat_request')
        self.explain(user, b'{not json', status=400)
        err = self.explain(user, chat(QUESTION), api='soap', status=400)
        self.assertEqual(err['error']['code'], 'invalid_parameter')

    def test_nothing_stored_and_user_setting(self):
        doc = self.explain(mh.uid('none'), chat(QUESTION))
        self.assertEqual((doc['injected'], doc['why']), (False, 'nothing_stored'))
        user = self.seed([fact('pet', 'a grey cat named Miso', AT)])
        r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/settings' % mh.qid(user),
                             json.dumps({'mode': 'off'}).encode(), 'application/json')
        self.assertEqual(r.status, 200, r)
        doc = self.explain(user, chat(QUESTION))
        self.assertEqual((doc['injected'], doc['why'], doc['user_mode']), (False, 'user_setting', 'off'))
        prof = doc['sections']['profile']
        self.assertEqual((prof['applies'], prof['why']), (False, 'user_setting'))
        self.assertEqual(self.items(doc, 'profile')['fact:pet']['why'], 'user_setting')

    def test_admin_auth(self):
        user = self.seed([fact('pet', 'cat', AT)])
        path = '/admin/users/%s/explain' % mh.qid(user)
        r = harness.request(self.proxy.admin_port, 'POST', path, [], json.dumps(chat(QUESTION)).encode())
        self.assertEqual(r.status, 401, r)
        # GET is the user's last kept explanation (the memory page's): none here
        r = mh.admin_request(self.proxy, 'GET', path)
        self.assertOpenAIError(r, 404, 'not_found')
        r = mh.admin_request(self.proxy, 'PUT', path)
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header('allow'), 'GET, POST')


SYSTEM = 'You are a careful, terse assistant for a gardener.'
GARDEN = [fact('plant_%02d' % i, 'a %s %s rose bush by the %s wall' % (z, c, w), AT)
          for i, (z, c, w) in enumerate((z, c, w) for z in ('tall', 'short', 'young', 'old', 'wild')
                                        for c in ('red', 'white', 'yellow', 'pink', 'orange')
                                        for w in ('north', 'south', 'east', 'west'))]
GARDEN.append(fact('door_code', 'the shed door code is 4417', AT))
TURNS = ('Which roses grow by the north wall?', 'And what grows by the east wall?',
         'What grows by the north wall, and what is the code of the shed door?')


class ExplainConversation(ExplainCase):
    """Explain in a conversation (docs/memory-conversations.md#conversations): the head
    the workers keep for it, byte for byte, and the tail chosen for the
    newest question, found without changing the conversation's state."""
    PROXY_CONFIG = {'workers': 2, 'sections': sections(), 'memory': {'mode': 'hybrid', 'head_share': 50}}

    def turn_body(self, n, system=SYSTEM):
        msgs = [{'role': 'system', 'content': system}, mh.user_msg('Hi, my garden again.'),
                mh.asst_msg('Hello! Ready when you are.')]
        for i, q in enumerate(TURNS[:n]):
            if i > 0:
                msgs.append(mh.asst_msg('Answer %d.' % i))
            msgs.append(mh.user_msg(q))
        return msgs

    def heads(self, result):
        return self.proxy.metric('memproxy_conversation_heads_total', result=result)

    def test_head_kept_by_the_data_plane_and_the_tail_of_the_newest_question(self):
        user = self.seed(GARDEN)
        conn = self.proxy.conn()  # one connection: one worker keeps the conversation
        sent = []
        for n in (1, 2):
            s = mh.send(self.proxy, user, self.turn_body(n), x_memory='read', conn=conn)
            self.assertOK(s)
            sent.append(json.loads(mh.upstream_body(self.fake, s))['messages'])
        block = sent[1][1]['content']  # right after the client's system message
        self.assertEqual(sent[0][1]['content'], block)
        self.assertTrue(block.startswith(mh.INTRO), block)
        reused, new = self.heads('reused'), self.heads('new')

        third = chat(None)
        third['messages'] = self.turn_body(3)
        for _ in range(2):  # a second explain sees the same: the first changed nothing
            doc = self.explain(user, third)
            self.assertEqual(doc['conversation'], {'identified': True, 'rule': 'leading', 'session': False,
                                                   'kept_head': True, 'reused': True})
            head = doc['sections']['head']
            self.assertEqual((head['applies'], head['reused']), (True, True))
            self.assertEqual(head['block'], block)  # what the upstream received, byte for byte
            self.assertGreater(head['tokens'], 0)
            self.assertTrue(head['items'])
            for it in head['items']:
                self.assertEqual((it['taken'], it['why'], it['part']), (True, 'kept_head', 'head'), it)
                self.assertIn(it['text'], block)
            in_head = {it['id'] for it in head['items']}
            self.assertTrue([it for it in head['items'] if 'north wall' in it['text']])  # the first question's
            self.assertNotIn('fact:door_code', in_head)
            tail = doc['sections']['tail']
            self.assertTrue(tail['applies'])
            taken = {it['id']: it for it in tail['items'] if it['taken']}
            self.assertIn('fact:door_code', taken)  # the newest question's
            self.assertEqual((taken['fact:door_code']['why'], taken['fact:door_code']['part']),
                             ('matched', 'tail'))
            self.assertFalse(set(taken) & in_head)
            # the north wall is asked again: scored, and left to the head
            left = [it for it in tail['items'] if it['why'] == 'in_head']
            self.assertTrue(left, tail)
            for it in left:
                self.assertFalse(it['taken'])
                self.assertIn(it['id'], in_head)
                self.assertGreater(it['score'], 0)
            prof = self.items(doc, 'profile')
            self.assertEqual(prof[left[0]['id']]['part'], 'head')
            self.assertEqual(prof['fact:door_code']['part'], 'tail')
        self.assertEqual((self.heads('reused'), self.heads('new')), (reused, new), 'explain changed a head')

        # the third turn through the data plane gets what explain said
        s = mh.send(self.proxy, user, self.turn_body(3), x_memory='read', conn=conn)
        self.assertOK(s)
        up = json.loads(mh.upstream_body(self.fake, s))['messages']
        self.assertEqual(up[1]['content'], block)
        self.assertEqual(int(s.header('x-memory-injected-tokens')), doc['tokens'])
        tail_msg = up[-2]['content']
        self.assertTrue(tail_msg.startswith(mh.TAIL_INTRO), tail_msg)
        for it in taken.values():
            self.assertIn(it['text'], tail_msg)
        self.assertEqual(self.heads('reused'), reused + 1)

    def test_explain_makes_no_conversation(self):
        user = self.seed(GARDEN)
        other = self.turn_body(2, system='Another assistant, another conversation.')
        body = chat(None)
        body['messages'] = other
        doc = self.explain(user, body)
        self.assertEqual((doc['conversation']['identified'], doc['conversation']['kept_head']), (True, False))
        head = doc['sections']['head']
        self.assertEqual((head['applies'], head['reused']), (True, False))
        new, reused = self.heads('new'), self.heads('reused')
        # its first request through the data plane is a new conversation: explain kept no head
        s = mh.send(self.proxy, user, other, x_memory='read')
        self.assertOK(s)
        self.assertEqual((self.heads('new'), self.heads('reused')), (new + 1, reused))
        up = json.loads(mh.upstream_body(self.fake, s))['messages']
        self.assertEqual(up[1]['content'], head['block'])  # the head it would build, as built

    def test_client_id_header_names_the_conversation(self):
        user = self.seed(GARDEN)
        hdr = [('X-OpenWebUI-Chat-Id', 'chat-' + user)]
        s = mh.send(self.proxy, user, TURNS[0], x_memory='read', extra_headers=hdr)
        self.assertOK(s)
        block = json.loads(mh.upstream_body(self.fake, s))['messages'][0]['content']
        path = '/admin/users/%s/explain' % mh.qid(user)
        r = mh.admin_request(self.proxy, 'POST', path, json.dumps(chat(TURNS[2])).encode(), 'application/json',
                             headers=hdr)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual((doc['conversation']['rule'], doc['conversation']['reused']), ('client', True))
        self.assertEqual(doc['sections']['head']['block'], block)
        # without the header the same lone message is a first turn of its own
        self.assertEqual(self.explain(user, chat(TURNS[2]))['conversation']['rule'], 'first_turn')


class ExplainPii(ExplainCase):
    PROXY_CONFIG = {'workers': 1, 'sections': sections({'governance': {'inject_pii': 'false'}}),
                    'memory': {'mode': 'hybrid'}}

    def test_personal_data_left_out(self):
        # an email address is personal data (flagged when stored)
        user = self.seed([fact('vet', 'the cat vet is jane.doe@example.com', AT),
                          fact('pet', 'a cat named Miso', AT)])
        self.assertTrue([e for e in mh.admin_memory(self.proxy, mh.qid(user) and user).json()['entities']
                         if e['key'] == 'vet'][0]['pii'])
        prof = self.items(self.explain(user, chat(QUESTION)), 'profile')
        self.assertEqual((prof['fact:vet']['taken'], prof['fact:vet']['why']), (False, 'personal_data'))
        self.assertTrue(prof['fact:pet']['taken'])


class ExplainBudget(ExplainCase):
    PROXY_CONFIG = {'workers': 1, 'sections': sections(),
                    'memory': {'mode': 'hybrid', 'context_budget_tokens': 70}}

    def test_budget(self):
        user = self.seed([fact('pet', 'a grey cat named Miso who sleeps all day long in the warm sun ' * 3, AT)])
        doc = self.explain(user, chat(QUESTION))
        self.assertEqual(self.items(doc, 'profile')['fact:pet']['why'], 'budget')
        self.assertFalse(doc['injected'])
        self.assertEqual(doc['why'], 'nothing_qualifies')


class ExplainRequests(ExplainCase):
    """[admin] explain_requests: a chat request with X-Memory-Explain: 1
    gets X-Memory-Explain-Id, and the admin API answers its explanation."""
    PROXY_CONFIG = {'workers': 2, 'sections': sections({'admin': {'explain_requests': 'true'}}),
                    'memory': {'mode': 'hybrid'}}

    def test_a_request_explained(self):
        user = self.seed([fact('pet', 'a grey cat named Miso', AT), fact('city', 'Graz', AT)])
        s = mh.send(self.proxy, user, QUESTION, extra_headers=[('X-Memory-Explain', '1')])
        self.assertOK(s)
        eid = s.header('x-memory-explain-id')
        self.assertRegex(eid or '', r'^[0-9a-f]{32}$')
        req = mh.upstream_of(self.fake, s)
        self.assertIsNone(mh.req_header(req, 'x-memory-explain'), 'the header went upstream')
        r = mh.admin_request(self.proxy, 'GET', '/admin/explain/' + eid)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual((doc['user'], doc['api'], doc['question']), (user, 'chat', QUESTION))
        self.assertTrue(doc['injected'])
        self.assertTrue(self.items(doc, 'profile')['fact:pet']['taken'])
        self.assertEqual(doc['tokens'], int(s.header('x-memory-injected-tokens')))
        # without the header, or with another value: no explanation
        for extra in ([], [('X-Memory-Explain', 'yes')]):
            s2 = mh.send(self.proxy, user, QUESTION, extra_headers=extra)
            self.assertOK(s2)
            self.assertIsNone(s2.header('x-memory-explain-id'))
        r = mh.admin_request(self.proxy, 'GET', '/admin/explain/' + '0' * 32)
        self.assertEqual(r.status, 404, r)
        r = mh.admin_request(self.proxy, 'GET', '/admin/explain/XYZ')
        self.assertEqual(r.status, 400, r)
        r = harness.request(self.proxy.admin_port, 'GET', '/admin/explain/' + eid, [])
        self.assertEqual(r.status, 401, r)
        # the explanation's text is in no log line
        self.assertFalse([ln for ln in self.proxy.log_lines() if 'grey cat' in ln])

    def test_nothing_stored_explained(self):
        s = mh.send(self.proxy, mh.uid('new'), QUESTION, extra_headers=[('X-Memory-Explain', '1')])
        self.assertOK(s)
        doc = mh.admin_request(self.proxy, 'GET', '/admin/explain/' + s.header('x-memory-explain-id')).json()
        self.assertEqual((doc['injected'], doc['why']), (False, 'nothing_stored'))


class ExplainRequestsOff(ExplainCase):
    def test_off_by_default(self):
        user = self.seed([fact('pet', 'a grey cat named Miso', AT)])
        s = mh.send(self.proxy, user, QUESTION, extra_headers=[('X-Memory-Explain', '1')])
        self.assertOK(s)
        self.assertIsNone(s.header('x-memory-explain-id'))


if __name__ == '__main__':
    harness.main('proxy_explain')
