"""A turn of another chat reaches a new chat whole, in the notes (issue 72,
requirement 6; docs/memory-conversations.md, "Recent turns"): on chat
completions, Responses (no upstream state) and Messages, through the real
binary, the other chat's user words and its reply go in together inside
one memory block, never as user/assistant messages of their own; the
request holds the client's own messages and nothing else, so on Messages no
two user messages follow each other; and the notes' first line says nothing
of messages after them, wherever each API puts them."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import Client, ConvCase, WordsCase  # noqa: E402

ASKED = 'Can you check on my parcel? It has not arrived yet.'
# the other chat's reply: it, not the user's words, matches the new question
REPLIED = 'Your late order is number 4471; it shipped on Monday from the Leeds depot.'
QUESTION = 'The late order I told you about in the other chat: what is its number?'
OPENING = 'Good morning! Let us plan the week.'


def items_of(api, doc):
    return doc['input'] if api == 'responses' else doc['messages']


def texts(content):
    """A message's text parts (a string content is one)."""
    if isinstance(content, str):
        return [content]
    return [b.get('text') for b in content if isinstance(b, dict) and
            b.get('type') in ('text', 'input_text', 'output_text')]


def is_notes(text):
    return isinstance(text, str) and (text.startswith(mh.INTRO) or text.startswith(mh.TAIL_INTRO))


def notes_of(api, doc):
    """Every memory block of the request: system/developer messages (chat,
    Responses), the end of "system" and text blocks of user messages
    (Messages)."""
    out = []
    if api == 'messages':
        system = doc.get('system')
        parts = texts(system) if system is not None else []
        for t in parts:
            at = t.find(mh.INTRO)
            if at >= 0:
                out.append(t[at:])
    for m in items_of(api, doc):
        for t in texts(m.get('content') or []):
            if is_notes(t) and (api == 'messages' or m.get('role') in ('system', 'developer')):
                out.append(t)
    return out


def conversation(api, doc):
    """The request's user and assistant messages, their words without the
    notes: what the client sent."""
    out = []
    for m in items_of(api, doc):
        if m.get('role') not in ('user', 'assistant'):
            continue
        words = [t for t in texts(m['content']) if not is_notes(t)]
        out.append((m['role'], '\n'.join(words)))
    return out


class ReplayedTurnsStayWhole(WordsCase):

    def other_chat(self, api, user):
        """Another chat of the user's: one turn whose reply holds the number."""
        r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], REPLIED.encode())
        self.assertEqual(r.status, 200, r)
        chat_id = None if api == 'responses' else 'other-' + user  # Responses: no upstream state
        Client(self, api, user, chat_id).say(ASKED)
        mh.wait_memory(self.p, user, lambda m: '4471' in json.dumps(m['buffer']),
                       what='the other chat recorded')
        mh.wait_idle(self.p)

    def check(self, api, sent, own):
        doc = json.loads(sent)
        notes = notes_of(api, doc)
        whole = [n for n in notes if ASKED in n and '4471' in n]
        self.assertEqual(len(whole), 1, 'the turn is not whole in one block of notes: %s' % notes)
        self.assertEqual(sent.count(ASKED), 1, sent)
        self.assertEqual(sent.count('4471'), 1, sent)
        # nothing but the client's own messages: no replayed user/assistant message
        self.assertEqual(conversation(api, doc), own, sent)
        roles = [m.get('role') for m in items_of(api, doc)]
        if api == 'messages':  # Anthropic merges two user turns in a row
            for a, b in zip(roles, roles[1:]):
                self.assertFalse(a == b == 'user', 'two user messages in a row: %s' % roles)
        for n in notes:  # the wording: nothing about messages around the notes
            self.assertNotIn('messages right after', n)
            self.assertNotIn('as are any messages', n)
        self.where(api, doc, whole[0])

    def where(self, api, doc, block):
        """The notes holding the turn are memory's own: the head (chat and
        Responses, a system/developer message after the client's leading
        ones; Messages, the end of "system") or the tail (a system/developer
        message right before the question; Messages, a text block first in
        its content)."""
        items = items_of(api, doc)
        q = max(i for i, m in enumerate(items) if m.get('role') == 'user')
        if api == 'messages':
            first = texts(items[q]['content'])[0]
            in_system = ''.join(texts(doc.get('system') or [])).endswith(block)
            self.assertTrue(first == block or in_system, doc)
            return
        role = 'system' if api == 'chat' else 'developer'
        at = next(i for i, m in enumerate(items) if m.get('content') == block)
        self.assertEqual(items[at].get('role'), role, doc)
        lead = all(m.get('role') in ('system', 'developer') for m in items[:at])
        self.assertTrue(at == q - 1 or lead, 'the notes are neither head nor tail: %s' % doc)

    def test_a_new_chat_s_first_turn(self):
        """A lone first message (no chat id on Responses: the user's session;
        a chat id elsewhere)."""
        for api in ('chat', 'messages', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('whole')
                self.other_chat(api, user)
                chat_id = None if api == 'responses' else 'new-' + user
                sent = Client(self, api, user, chat_id).say(QUESTION)
                self.check(api, sent, [('user', QUESTION)])

    def test_a_new_chat_s_later_turn(self):
        """A chat that resends its conversation: the other chat's turn goes
        in what the question's relevant items leave, its reply matching the
        question and its user words not (the split this used to make)."""
        for api in ('chat', 'messages', 'responses'):
            for ids in (True, False):
                with self.subTest(api=api, chat_id=ids):
                    user = mh.uid('later')
                    self.other_chat(api, user)
                    chat_id = 'new-' + user if ids and api != 'responses' else None
                    c = Client(self, api, user, chat_id)
                    c.say(OPENING)
                    sent = c.say(QUESTION)
                    self.check(api, sent, [('user', OPENING), ('assistant', mh.REPLY),
                                           ('user', QUESTION)])

    def test_a_stateless_app_gets_its_last_turn_in_the_notes(self):
        """An app that sends only its newest message: its own last turn, whole,
        in the notes before the question (Messages: first in its content)."""
        for api in ('chat', 'messages'):
            with self.subTest(api=api):
                user = mh.uid('lone')
                r = harness.request(self.fake.port, 'POST', '/_fake/reply', [], REPLIED.encode())
                self.assertEqual(r.status, 200, r)
                Client(self, api, user).say(ASKED)
                mh.wait_memory(self.p, user, lambda m: len(m['buffer']) == 2, what='the turn')
                mh.wait_idle(self.p)
                sent = Client(self, api, user).say(QUESTION)
                self.check(api, sent, [('user', QUESTION)])


class AFactOfTheTurn(ConvCase):
    """The split as it happened: the memory model drew a fact from the other
    chat's turn (city: Leeds), so its user message, which adds no word of
    the question to the fact, stays out of the past line (counted once),
    while the reply, which does, goes in; the user message used to be
    replayed alone right before the question (on Messages, two user
    messages in a row). Now it joins its reply in the notes."""

    ASKED = 'I live in Leeds and my parcel has not arrived.'
    REPLIED = 'Your late order is number 4471; it shipped on Monday from the depot.'
    QUESTION = 'The late order I told you about in the other chat: what is its number? Is it for Leeds?'

    def setUp(self):
        super().setUp()
        # the memory jobs' own key (Anthropic turns lend none)
        self.p = self.own_proxy(upstream={'api_key': 'sk-conv-jobs'})
        mh.set_jobmode(self.fake, extract='ok')

    def test_the_user_message_joins_its_reply(self):
        for api in ('chat', 'messages', 'responses'):
            for ids in (True, False):
                with self.subTest(api=api, chat_id=ids):
                    user = mh.uid('fact')
                    r = harness.request(self.fake.port, 'POST', '/_fake/reply', [],
                                        self.REPLIED.encode())
                    self.assertEqual(r.status, 200, r)
                    Client(self, api, user, None if api == 'responses' else 'o-' + user).say(
                        self.ASKED)
                    mh.wait_memory(self.p, user, lambda m: mh.entity_map(m).get('city') == 'Leeds',
                                   what='the fact of the other chat\'s turn')
                    mh.wait_idle(self.p)
                    c = Client(self, api, user, 'n-' + user if ids and api != 'responses' else None)
                    c.say(OPENING)
                    sent = c.say(self.QUESTION)
                    doc = json.loads(sent)
                    self.assertEqual(conversation(api, doc), [('user', OPENING),
                                                              ('assistant', mh.REPLY),
                                                              ('user', self.QUESTION)], sent)
                    # (the summary may hold the turn's first words too: it folds them)
                    past = [ln for n in notes_of(api, doc) for ln in n.split('\n')
                            if ln.startswith(mh.PAST_HEAD) and self.ASKED in ln]
                    self.assertEqual(len(past), 1, sent)
                    self.assertIn(mh.turn_in_notes(self.ASKED, self.REPLIED), past[0])


if __name__ == '__main__':
    harness.main('proxy_replayed_turns')
