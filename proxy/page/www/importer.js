// The import form: a file is first checked (the import API's dry run:
// nothing stored), and what it would add, leave out and cost the memory
// model is shown with "Yes, import it"; only that sends it for real. An
// error goes beside the form with the focus (dom.js showError).
import { el, showError } from './dom.js';
import { ApiError } from './api.js';

const FORMATS = [
  ['jsonl', 'memproxy export (JSON Lines)', '.jsonl,.json,.ndjson,.txt'],
  ['chatgpt', 'ChatGPT data export', '.zip,.json'],
  ['claude', 'Claude data export', '.zip,.json'],
  ['memory-text', 'Memory list from another assistant (text)', '.txt,.md,text/plain'],
];

// skipped_by_reason's names (docs/admin-api.md), in words.
const LEFT_OUT = {
  hidden: 'hidden by the app',
  system: 'instructions of the system or the developer',
  tool: 'tool calls and their results',
  reasoning: 'the model\'s thinking',
  code: 'code the model ran',
  image: 'images',
  audio: 'audio or video',
  file: 'attached files',
  unsupported: 'content of a kind memproxy cannot read',
  empty: 'empty',
  other_branch: 'on a branch you did not keep (an edit or a regeneration)',
  heading: 'headings and introductions',
  export_line: 'summary and history lines of an export',
  pii: 'personal data this service does not keep',
  already_imported: 'already there',
  fact_kept_out: 'facts memory holds with a newer or stronger value',
};

function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

// "3 hidden by the app, 2 tool calls and their results", or null.
export function leftOut(byReason) {
  const parts = Object.entries(byReason || {}).filter(([, n]) => n > 0)
    .map(([why, n]) => n + ' ' + (LEFT_OUT[why] || why.replace(/_/g, ' ')));
  return parts.length ? parts.join(', ') : null;
}

// What an import answer holds: conversations, messages, facts.
function holds(r) {
  const parts = [];
  if (r.conversations) parts.push(plural(r.conversations, 'conversation', 'conversations'));
  parts.push(plural(r.messages || 0, 'message', 'messages'), plural(r.facts || 0, 'fact', 'facts'));
  return parts.join(', ');
}

// The memory model's share: turns read, calls, tokens.
function cost(x) {
  if (!x || !x.calls) return 'The memory model is not called for it.';
  return 'The memory model would read ' + plural(x.turns, 'turn', 'turns') + ' in ' + plural(x.calls, 'call', 'calls') +
    ', about ' + x.tokens.toLocaleString() + ' tokens' +
    (x.left_out_turns ? '; ' + plural(x.left_out_turns, 'turn is', 'turns are') + ' kept but not read for facts (past the budget)' : '') + '.';
}

// The sentence the page says after an import.
export function importedText(r) {
  const out = leftOut(r.skipped_by_reason);
  return 'Imported ' + holds(r) + '.' + (out ? ' Left out: ' + out + '.' : '');
}

function plan(r, typeName, onYes, onNo) {
  const yes = el('button', { type: 'button' }, 'Yes, import it');
  const no = el('button', { type: 'button' }, 'Cancel');
  yes.addEventListener('click', () => { yes.disabled = true; onYes(); });
  no.addEventListener('click', onNo);
  const out = leftOut(r.skipped_by_reason);
  const box = el('div', { class: 'plan', role: 'group', 'aria-labelledby': 'plan-h', tabindex: '-1' },
    el('h3', { id: 'plan-h' }, 'Before you import'),
    el('p', { class: 'plan-adds' }, 'This ' + typeName + ' would add up to ' + holds(r) + '. Nothing is stored yet.'),
    el('p', { class: 'plan-left' }, out ? 'Left out: ' + out + '.' : 'Nothing in it is left out.'),
    r.past_retention ? el('p', {}, plural(r.past_retention, 'item is', 'items are') + ' older than this service keeps, and would go at once.') : null,
    el('p', { class: 'plan-cost' }, cost(r.extraction)),
    el('p', {}, yes, ' ', no));
  box.addEventListener('keydown', (e) => { if (e.key === 'Escape') onNo(); });
  return box;
}

// The form; view: memview's (api, refresh).
export function importForm(view) {
  const format = el('select', { id: 'format' }, FORMATS.map(([v, label]) => el('option', { value: v }, label)));
  const file = el('input', { id: 'file', type: 'file', required: true, accept: FORMATS[0][2] });
  const check = el('button', { type: 'submit' }, 'Check the file');
  const form = el('form', { class: 'upload' },
    el('label', { for: 'format' }, 'File type'), format, el('label', { for: 'file' }, 'File'), file, check);
  const box = el('div', {}, form);
  const typeName = () => FORMATS.find((f) => f[0] === format.value)[1];
  const forget = () => { const p = box.querySelector('.plan'); if (p) p.remove(); };
  const failed = (err) => {
    forget();
    showError(form, err instanceof ApiError
      ? 'This file could not be imported as a ' + typeName() + '. ' + err.message
      : 'The page could not reach memproxy.');
  };
  format.addEventListener('change', () => { file.accept = FORMATS.find((f) => f[0] === format.value)[2]; forget(); });
  file.addEventListener('change', forget);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    forget();
    if (!file.files.length) { showError(form, 'Choose a file first.'); return; }
    const chosen = file.files[0];
    const kind = format.value;
    let r;
    try {
      r = await view.api.importFile(kind, chosen, true);
    } catch (err) { failed(err); return; }
    const next = form.nextElementSibling;
    if (next && next.classList.contains('error')) next.remove();
    const shown = plan(r, typeName(), async () => {
      try {
        const done = await view.api.importFile(kind, chosen, false);
        await view.refresh(importedText(done));
      } catch (err) { failed(err); }
    }, () => { forget(); check.focus(); });
    form.after(shown);
    shown.focus();
  });
  return box;
}
