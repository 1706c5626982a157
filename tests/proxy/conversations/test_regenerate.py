"""A regenerated reply and an edited message, through the real binary
(issue 50, requirement 6). A chat front end's "regenerate" sends the same
request again: the new reply replaces the rejected one in the user's
memory (buffer and archive), streamed and not, and the rejected one never
reaches the upstream again, neither in the regenerating request nor in the
next question of a client that sends only its newest message. An edited
earlier message starts a branch: the abandoned branch's turns stay in the
user's memory, but its conversation never gets them back as memory, while
another conversation (or a conversation made new by editing its first
message) may recall them. Runs on LMDB and, as proxy_regenerate_postgres,
on PostgreSQL (test_conversations.ConvCase)."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import ConvCase  # noqa: E402

SYSTEM = {'role': 'system', 'content': 'You are a helpful assistant.'}
REJECTED = 'The grey heron stalks the reeds at dawn.'
KEPT = 'A kingfisher flashes orange over the stream.'
ABANDONED = 'I keep a pet otter named Bramble.'
ABANDONED_REPLY = 'Bramble the otter must love the water.'
EDITED = 'I keep a pet ferret named Pip.'
ASK_PET = 'What pet do I keep, and what is its name?'


class Regenerate(ConvCase):
    """Regenerated replies and edited messages, each test on a proxy of its own."""

    def setUp(self):
        super().setUp()
        self.p = self.own_proxy()
        mh.set_jobmode(self.fake, extract='invalid')  # no facts: the messages themselves

    def tearDown(self):
        mh.set_jobmode(self.fake, extract='ok')
        super().tearDown()

    def reply_next(self, text):
        """The fake's next non-stream chat answer says text."""
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], text.encode())
        self.assertEqual(r.status, 200, r)

    def chat(self, user, msgs, chat_id=None, reply=None, stream=False, fake=None):
        """One chat request: (the reply, the body that reached the fake)."""
        if reply is not None:
            self.reply_next(reply)
        tag = uuid.uuid4().hex
        extra = [('X-OpenWebUI-Chat-Id', chat_id)] if chat_id else []
        body, _ = mh.build_chat(msgs, stream=stream)
        r = self.p.request('POST', mh.CHAT, mh.chat_headers(user, tag=tag, fake=fake, extra=extra),
                           body)
        self.assertEqual(r.status, 200, r)
        if stream:
            text = ''.join(json.loads(line[6:])['choices'][0]['delta'].get('content') or ''
                           for line in r.body.decode().split('\n')
                           if line.startswith('data: {') and '"choices":[{' in line)
        else:
            text = r.json()['choices'][0]['message']['content']
        return text, mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))['body']

    def settled(self, user, text):
        return mh.wait_memory(self.p, user, lambda m: text in json.dumps(m['buffer']),
                              what='%r recorded' % text)

    def replaced(self):
        return mh.jobs_metric(self.p, 'record', 'replaced')

    def regenerate(self, stream):
        user = mh.uid('regen')
        msgs = [SYSTEM, mh.user_msg('Name a bird I could see by the river.')]
        if stream:  # the fake streams "tok0 tok1 tok2 " and then "tok0 ... tok4 "
            first, _ = self.chat(user, msgs, stream=True, fake='events=3')
            self.settled(user, first)
            before = self.replaced()
            second, sent = self.chat(user, msgs, stream=True, fake='events=5')
        else:
            first, _ = self.chat(user, msgs, reply=REJECTED)
            self.settled(user, first)
            before = self.replaced()
            second, sent = self.chat(user, msgs, reply=KEPT)
        self.assertNotEqual(first, second)
        self.assertNotIn(first, sent, 'the rejected reply went upstream with the regenerate')
        mem = self.settled(user, second)
        self.assertEqual(mh.buffer_pairs(mem), [('user', msgs[1]['content']), ('assistant', second)])
        archived = [(m['role'], m['content']) for m in mem['archive']]
        self.assertEqual(archived, [('user', msgs[1]['content']), ('assistant', second)])
        self.assertEqual(self.replaced(), before + 1)
        # the same reply once more: nothing changes
        if not stream:
            self.chat(user, msgs, reply=KEPT)
            mh.wait_idle(self.p)
            self.assertEqual(mh.buffer_pairs(mh.get_memory(self.p, user)), mh.buffer_pairs(mem))
            self.assertEqual(self.replaced(), before + 1)

    def test_a_regenerated_reply_replaces_the_rejected_one(self):
        for stream in (False, True):
            with self.subTest(stream=stream):
                self.regenerate(stream)

    def test_a_lone_message_client_never_gets_the_rejected_reply_back(self):
        user = mh.uid('lone')
        ask = [mh.user_msg('Name a bird I could see by the river.')]
        self.chat(user, ask, reply=REJECTED)
        self.settled(user, REJECTED)
        _, sent = self.chat(user, ask, reply=KEPT)
        self.assertNotIn(REJECTED, sent)
        self.settled(user, KEPT)
        _, sent = self.chat(user, [mh.user_msg('Which bird did you name by the river?')])
        self.assertIn(KEPT, sent, 'the kept reply was not replayed')
        self.assertNotIn(REJECTED, sent, 'the rejected reply went upstream again')


    # ---- edits: a front end resends the conversation cut at the edited
    # user message, with the new text ----

    def branch(self, user, chat_id):
        """Turn 1, then turn 2 (the branch to abandon): the conversation
        up to turn 1."""
        msgs = [SYSTEM, mh.user_msg('Hello, I have some questions about animals.')]
        a1, _ = self.chat(user, msgs, chat_id, reply='Happy to help with animals.')
        msgs.append(mh.asst_msg(a1))
        self.chat(user, msgs + [mh.user_msg(ABANDONED)], chat_id, reply=ABANDONED_REPLY)
        self.settled(user, ABANDONED_REPLY)
        return msgs

    def edit(self, chat_id):
        user = mh.uid('edit')
        msgs = self.branch(user, chat_id)
        msgs.append(mh.user_msg(EDITED))  # the edit: cut at turn 2, new text
        a2, sent = self.chat(user, msgs, chat_id, reply='Pip the ferret sounds playful.')
        self.assertNotIn('Bramble', sent)
        msgs += [mh.asst_msg(a2), mh.user_msg(ASK_PET)]
        _, sent = self.chat(user, msgs, chat_id)
        self.assertNotIn('Bramble', sent, 'the abandoned branch came back to its conversation')
        mem = mh.get_memory(self.p, user)
        said = [m['content'] for m in mem['archive']]
        self.assertIn(ABANDONED, said, 'the abandoned branch left the user\'s memory')
        self.assertIn(ABANDONED_REPLY, said)
        # another conversation of the user's may recall it (the words are eligible)
        _, sent = self.chat(user, [SYSTEM, mh.user_msg('Earlier chat: ' + ASK_PET)], 'other-' + user)
        self.assertIn('Bramble', sent, 'another conversation did not recall the abandoned branch')

    def test_an_edit_keeps_the_abandoned_branch_out_of_its_conversation(self):
        for chat_id in ('chat-' + uuid.uuid4().hex, None):
            with self.subTest(chat_id=chat_id is not None):
                self.edit(chat_id)

    def test_editing_the_first_message_makes_a_new_conversation(self):
        """Known by its leading messages, the conversation whose first
        message is edited is a new one: the abandoned turns are another
        conversation's, recalled like any other chat's."""
        user = mh.uid('first')
        self.branch(user, None)
        msgs = [SYSTEM, mh.user_msg('Hello, I have some questions about pets.')]
        a1, _ = self.chat(user, msgs, reply='Happy to help with pets.')
        msgs += [mh.asst_msg(a1), mh.user_msg(ASK_PET)]
        _, sent = self.chat(user, msgs)
        self.assertIn('Bramble', sent, 'the first conversation\'s turns were not recalled')

    def test_editing_the_first_message_of_a_named_chat(self):
        """With a client id the chat stays the same conversation: its
        edited first message is a lone request again, which has no own
        turns to leave out (rule 1 needs a resent conversation), and its
        next turn leaves the abandoned ones out again."""
        user = mh.uid('named')
        chat_id = 'chat-' + uuid.uuid4().hex
        self.branch(user, chat_id)
        msgs = [SYSTEM, mh.user_msg('Hello, ' + ASK_PET)]
        a1, sent = self.chat(user, msgs, chat_id, reply='Happy to help with pets.')
        self.assertIn('Bramble', sent, 'the lone first request left its chat\'s turns out')
        msgs += [mh.asst_msg(a1), mh.user_msg(ASK_PET)]
        _, sent = self.chat(user, msgs, chat_id)
        self.assertNotIn('Bramble', sent, 'the abandoned branch came back to its conversation')


if __name__ == '__main__':
    harness.main('proxy_regenerate')
