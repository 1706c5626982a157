// One user's memory as memproxy uses it, and what a person can do with
// it: the setting, the facts with the words that told them and their
// history, the summary, what the last request got and why, the
// conversations and their messages, search, export and import. api is
// api.js's userApi (the person's or an operator's): every action is one of
// its calls, and the page shows what the answer says was removed.
import { el, clear, when, say, confirmButton, showError } from './dom.js';
import { ApiError } from './api.js';
import { exportJson, exportMarkdown } from './exporter.js';
import { importForm } from './importer.js';

const MODES = [
  ['auto', 'On', 'Memory is read and recorded, as this service is set up.'],
  ['read', 'Read only', 'What is remembered is used; nothing new is recorded.'],
  ['off', 'Paused', 'Nothing is used or recorded. What is stored stays until you delete it.'],
];

const WHY = {
  matched: 'it matched the question',
  strongest: 'it is among your strongest facts',
  summary: 'the summary goes with every request',
  recent: 'a recent message',
  kept_head: 'it is part of this conversation\'s memory block',
  in_head: 'already in this conversation\'s memory block',
  budget: 'no room was left',
  duplicate: 'already there another way',
  personal_data: 'it holds personal data, which this service does not send',
  section_off: 'this kind of memory is off here',
  user_setting: 'your memory is paused',
  upstream_holds_conversation: 'the provider keeps this conversation',
  own_conversation: 'it is part of the same conversation',
  asked_again: 'the question was asked again',
  already_in_request: 'the request already carried it',
  nothing_stored: 'nothing was stored yet',
  memory_off: 'memory is off on this service',
  nothing_qualifies: 'nothing in memory matched',
};

function describeRemoved(what, body) {
  const r = body && body.removed;
  if (!r) return what + ' deleted.';
  const parts = [];
  if (r.facts) parts.push(r.facts + (r.facts === 1 ? ' fact' : ' facts'));
  if (r.messages) parts.push(r.messages + (r.messages === 1 ? ' message' : ' messages'));
  if (r.summaries) parts.push('the summary');
  return what + ' deleted. Removed: ' + (parts.length ? parts.join(', ') : 'nothing else') + '.';
}

// Says what went wrong beside near (what was acted on), with the focus
// there; false, for confirmButton.
function failed(e, near) {
  showError(near, e instanceof ApiError ? e.message : 'The page could not reach memproxy.');
  return false;
}

function keyLabel(key) {
  return key.replace(/_/g, ' ');
}

// Where a value came from (its trust), in words.
const FROM = {
  stated: 'learned from what you said',
  inferred: 'learned from what the assistant said',
  imported: 'from another assistant\'s memory, imported',
  agent: 'saved by an assistant',
  corrected: 'you corrected it',
  admin: 'set by an administrator',
};

function fromWhat(trust) {
  return FROM[trust] || 'from what was said';
}

// One history entry as a sentence: what happened and who did it.
function historyLine(h) {
  const by = h.actor === 'user' ? 'you' : h.actor === 'admin' ? 'an administrator' : null;
  switch (h.event) {
    case 'added': return 'Added, ' + fromWhat(h.trust);
    case 'superseded': return 'Replaced by a newer value';
    case 'corrected': return h.actor === 'admin' ? 'Set by an administrator' : 'Corrected by you';
    case 'deleted': return h.reason === 'sources_erased' ? 'Deleted, because every message that told it was deleted'
      : 'Deleted by ' + (by || 'memproxy');
    case 'expired': return 'Removed when it reached the keeping period';
    case 'kept': return 'Kept its value against an older or weaker statement';
    default: return h.event + (by ? ' by ' + by : '');
  }
}

// Everything the view needs, loaded afresh after every change.
async function load(api) {
  const data = { memory: null, messages: [], history: [], settings: null, explain: null };
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    try {
      const doc = await api.memory(cursor);
      if (!data.memory) data.memory = doc;
      data.messages.push(...(doc.archive || []));
      cursor = doc.archive_next_cursor;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      break;
    }
    if (!cursor) break;
  }
  data.more = Boolean(cursor);
  if (data.memory) {
    const seen = new Set(data.messages.map((m) => m.seq));
    for (const m of data.memory.buffer || []) if (!seen.has(m.seq)) data.messages.push(m);
    data.messages.sort((a, b) => a.seq - b.seq);
    for (let c = data.memory.entities_next_cursor; c;) {
      const doc = await api.facts(c);
      data.memory.entities.push(...doc.entities);
      c = doc.entities_next_cursor;
    }
    for (let c = null, first = true; first || c; first = false) {
      const doc = await api.history(c);
      data.history.push(...doc.history);
      c = doc.history_next_cursor;
    }
  }
  data.settings = await api.settings();
  try { data.explain = await api.explainLast(); } catch (e) { if (!(e instanceof ApiError)) throw e; }
  return data;
}

function section(id, title, ...children) {
  return el('section', { id, 'aria-labelledby': id + '-h', class: 'card' },
    el('h2', { id: id + '-h' }, title), ...children);
}

function settingsSection(view) {
  const mode = view.data.settings.mode;
  const form = el('form', { class: 'modes' });
  const fieldset = el('fieldset', {}, el('legend', {}, 'Memory is'));
  for (const [value, label, help] of MODES) {
    const id = 'mode-' + value;
    fieldset.append(el('div', { class: 'choice' },
      el('input', { type: 'radio', name: 'mode', id, value, checked: value === mode, 'aria-describedby': id + '-help' }),
      el('label', { for: id }, label), el('span', { id: id + '-help', class: 'help' }, help)));
  }
  form.append(fieldset, el('button', { type: 'submit' }, 'Save setting'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const picked = form.querySelector('input[name=mode]:checked').value;
    try {
      await view.api.setSettings(picked);
      await view.refresh('Memory setting saved: ' + MODES.find((m) => m[0] === picked)[1] + '.');
    } catch (err) { failed(err, form); }
  });
  return section('setting', 'Memory setting', form);
}

// The messages that told a value: the turn of source_seqs, else of its
// request id.
function sourceMessages(view, seqs, requestId) {
  return view.data.messages.filter((m) =>
    (seqs && m.seq >= seqs[0] && m.seq <= seqs[1]) || (!seqs && requestId && m.request_id === requestId));
}

function quote(m) {
  return el('figure', { class: 'said' },
    el('blockquote', {}, m.content),
    el('figcaption', {}, (m.role === 'user' ? 'You said' : 'The assistant said') + ', ', el('time', { datetime: m.at || '' }, when(m.at))));
}

function factHistory(view, key) {
  const entries = view.data.history.filter((h) => h.item === 'fact' && h.key === key);
  if (!entries.length) return null;
  const list = el('ol', { class: 'history' });
  for (const h of entries) {
    const words = h.value ? sourceMessages(view, null, h.request_id).filter((m) => m.role === 'user') : [];
    list.append(el('li', {}, el('time', { datetime: h.at }, when(h.at)), ': ', historyLine(h),
      h.value ? [' (', h.event === 'kept' ? 'it said "' : 'was "', h.value, '")'] : null, '.', words.map(quote)));
  }
  return el('details', {}, el('summary', {}, 'History of this fact (' + entries.length + ')'), list);
}

function correctForm(view, fact, row) {
  const id = 'fix-' + fact.key;
  const input = el('input', { id, type: 'text', value: fact.value, maxlength: 512, required: true });
  const form = el('form', { class: 'fix' }, el('label', { for: id }, 'Correct "' + keyLabel(fact.key) + '" to'), input,
    el('button', { type: 'submit' }, 'Save'), el('button', { type: 'button', onclick: () => { form.remove(); row.querySelector('.fix-open').focus(); } }, 'Cancel'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await view.api.setFact(fact.key, input.value, fact.revision);
      await view.refresh('"' + keyLabel(fact.key) + '" corrected.');
    } catch (err) { failed(err, form); }
  });
  return form;
}

// Why no words are shown for a fact: a value given outright has none (the
// messages that told an earlier value stay until deleted: its history
// shows them); only a learned value's can be gone.
function noWords(fact) {
  if (fact.trust === 'corrected') return 'You gave this value yourself. What you said before stays in your conversations until you delete it.';
  if (fact.trust === 'admin') return 'An administrator gave this value; no message of yours told it.';
  if (fact.trust === 'agent') return 'An assistant saved this value; no message of yours told it.';
  if (fact.trust === 'imported') return 'It came from another assistant\'s memory; no message here told it.';
  return 'The words that told it are no longer kept.';
}

function factItem(view, fact) {
  const words = sourceMessages(view, fact.source_seqs, fact.request_id);
  const row = el('li', { class: 'fact', 'data-key': fact.key });
  const actions = el('div', { class: 'actions' });
  const fix = el('button', { type: 'button', class: 'fix-open', 'aria-label': 'Correct the fact \'' + keyLabel(fact.key) + '\'' }, 'Correct');
  fix.addEventListener('click', () => {
    if (row.querySelector('form.fix')) return;
    const form = correctForm(view, fact, row);
    actions.after(form);
    form.querySelector('input').focus();
  });
  actions.append(fix, ' ', confirmButton('Delete', 'Delete "' + keyLabel(fact.key) + '" and the words that told it?', async (wrap) => {
    try {
      const body = await view.api.deleteFact(fact.key, fact.revision);
      await view.refresh(describeRemoved('"' + keyLabel(fact.key) + '"', body));
    } catch (err) { return failed(err, wrap); }
  }, 'danger', 'Delete the fact \'' + keyLabel(fact.key) + '\''));
  row.append(
    el('h3', { id: 'fact-' + fact.key }, keyLabel(fact.key)),
    el('p', { class: 'value' }, fact.value),
    el('p', { class: 'meta' }, 'Known since ', el('time', { datetime: fact.observed_at || '' }, when(fact.observed_at)),
      ' · ', fromWhat(fact.trust)),
    words.length ? el('div', { class: 'sources' }, el('p', { class: 'label' }, 'Told in:'), words.map(quote))
      : el('p', { class: 'meta' }, noWords(fact)),
    factHistory(view, fact.key), actions);
  return row;
}

function factsSection(view) {
  const facts = (view.data.memory && view.data.memory.entities) || [];
  const list = el('ul', { class: 'facts' }, facts.map((f) => factItem(view, f)));
  return section('facts', 'What memory knows about you',
    facts.length ? list : el('p', {}, 'Nothing yet.'));
}

function summarySection(view) {
  const s = view.data.memory && view.data.memory.summary;
  return section('summary', 'Summary',
    s && s.text ? [el('p', { class: 'summary' }, s.text), el('p', { class: 'meta' }, 'Written ', el('time', { datetime: s.updated_at }, when(s.updated_at)))]
      : el('p', {}, 'No summary yet.'));
}

function explainItems(doc) {
  const seen = new Map();
  for (const sec of Object.values(doc.sections || {})) {
    for (const it of sec.items || []) {
      const had = seen.get(it.id);
      if (!had || (it.taken && !had.taken)) seen.set(it.id, it);
    }
  }
  return [...seen.values()];
}

// An explained item as the person reads it: a fact with its key ("city:
// Lisbon"), the rest by their text.
function explainWhat(i) {
  const key = i.kind === 'fact' && /^fact:/.test(i.id) ? i.id.slice(5) : null;
  if (key) return [el('span', { class: 'key' }, keyLabel(key) + ':'), ' ', i.text];
  return i.text || i.id;
}

function explainSection(view) {
  const doc = view.data.explain;
  if (!doc) {
    return section('last', 'What your last request got',
      el('p', {}, 'No request of yours was explained in the last 10 minutes. Chat, then come back.'));
  }
  const items = explainItems(doc);
  const taken = items.filter((i) => i.taken);
  const left = items.filter((i) => !i.taken);
  const line = (i) => el('li', {}, el('span', { class: 'kind' }, i.kind), ' ', explainWhat(i), el('span', { class: 'why' }, ' (' + (WHY[i.why] || i.why) + ')'));
  return section('last', 'What your last request got',
    el('p', {}, doc.injected ? 'It got ' + doc.tokens + ' tokens of memory' + (doc.question ? ' for the question "' : '') : 'It got no memory' + (doc.why ? ': ' + (WHY[doc.why] || doc.why) : ''),
      doc.injected && doc.question ? [doc.question, '"'] : null, '.'),
    taken.length ? [el('h3', {}, 'What went in'), el('ul', { class: 'explain' }, taken.map(line))] : null,
    left.length ? el('details', {}, el('summary', {}, 'What was left out, and why (' + left.length + ')'), el('ul', { class: 'explain' }, left.map(line))) : null);
}

function excerpt(text, n) {
  return text.length > n ? text.slice(0, n) + '…' : text;
}

function messageItem(view, m) {
  return el('li', { class: 'message ' + m.role },
    el('p', { class: 'meta' }, m.role === 'user' ? 'You' : 'Assistant', ', ', el('time', { datetime: m.at || '' }, when(m.at))),
    el('p', { class: 'content' }, m.content),
    confirmButton('Delete message', 'Delete this message?', async (wrap) => {
      try {
        const body = await view.api.deleteMessage(m.seq);
        await view.refresh(describeRemoved('Message', body));
      } catch (err) { return failed(err, wrap); }
    }, 'danger small', 'Delete this message: "' + excerpt(m.content, 40) + '"'));
}

function conversationsSection(view) {
  const groups = new Map();
  for (const m of view.data.messages) {
    const key = m.conversation || '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(m);
  }
  const convs = [...groups.entries()].sort((a, b) => b[1][b[1].length - 1].seq - a[1][a[1].length - 1].seq);
  const list = el('div', { class: 'conversations' });
  for (const [conv, msgs] of convs) {
    const first = msgs.find((m) => m.role === 'user') || msgs[0];
    const title = excerpt(first.content, 60);
    const turns = msgs.filter((m) => m.role === 'user').length;
    const details = el('details', { class: 'conversation' },
      el('summary', {}, el('span', { class: 'title' }, title), ' · ' + turns + (turns === 1 ? ' turn' : ' turns') + ' · ' + when(msgs[msgs.length - 1].at)),
      el('ol', { class: 'messages' }, msgs.map((m) => messageItem(view, m))),
      conv ? confirmButton('Delete conversation', 'Delete all ' + msgs.length + ' messages of this conversation?', async (wrap) => {
        try {
          const body = await view.api.deleteConversation(conv);
          await view.refresh(describeRemoved('Conversation', body));
        } catch (err) { return failed(err, wrap); }
      }, 'danger', 'Delete the conversation "' + title + '"') : el('p', { class: 'meta' }, 'These messages were recorded without a conversation.'));
    list.append(details);
  }
  return section('conversations', 'Your conversations',
    convs.length ? list : el('p', {}, 'No messages are kept.'),
    view.data.more ? el('p', { class: 'meta' }, 'Only the first 10,000 messages are shown; the export holds all.') : null);
}

function searchSection(view) {
  const results = el('ul', { class: 'results', 'aria-live': 'polite' });
  const input = el('input', { id: 'q', type: 'search', required: true, maxlength: 1024 });
  const form = el('form', { role: 'search' }, el('label', { for: 'q' }, 'Search your memory'), input, el('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const doc = await view.api.search(input.value);
      clear(results).append(...doc.results.map((r) => el('li', {}, el('span', { class: 'kind' }, r.kind), ' ', r.text, el('span', { class: 'meta' }, ' ' + when(r.time)))));
      say(doc.results.length + (doc.results.length === 1 ? ' result.' : ' results.'));
    } catch (err) { failed(err, form); }
  });
  return section('search', 'Search', form, results);
}

function keepSection(view) {
  const who = view.who;
  const downloads = el('p', {});
  const run = (fn) => async () => { try { await fn(view.api, who); say('Export ready.'); } catch (err) { failed(err, downloads); } };
  downloads.append(el('button', { type: 'button', onclick: run(exportJson) }, 'Download as JSON'), ' ',
    el('button', { type: 'button', onclick: run(exportMarkdown) }, 'Download as Markdown'));
  return section('keep', 'Download and import', downloads, importForm(view),
    el('h3', {}, 'Delete everything'),
    el('p', {}, 'Deletes every fact, message and the summary. Your memory setting stays.'),
    confirmButton('Delete all my memory', 'Delete everything memory holds about you?', async (wrap) => {
      try {
        const body = await view.api.forgetAll();
        await view.refresh(describeRemoved('Memory', body));
      } catch (err) { return failed(err, wrap); }
    }));
}

function toc() {
  const links = [['setting', 'Setting'], ['facts', 'Facts'], ['summary', 'Summary'], ['last', 'Last request'],
    ['conversations', 'Conversations'], ['search', 'Search'], ['keep', 'Download and import']];
  return el('nav', { 'aria-label': 'Sections' }, el('ul', { class: 'toc' }, links.map(([id, label]) => el('li', {}, el('a', { href: '#' + id }, label)))));
}

// Shows user's memory in container through api; who names them in files.
export async function showMemory(container, api, who) {
  const view = { api, who, data: null };
  view.refresh = async (message) => {
    say(message ? message + ' Updating…' : 'Loading…');
    try {
      view.data = await load(api);
    } catch (err) {
      failed(err);
      throw err;
    }
    clear(container).append(toc(), settingsSection(view), factsSection(view), summarySection(view),
      explainSection(view), conversationsSection(view), searchSection(view), keepSection(view));
    say(message || 'Memory loaded.');
    if (message) document.getElementById('status').focus(); /* the element acted on is gone */
  };
  await view.refresh();
  return view;
}
