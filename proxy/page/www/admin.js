// The operator's page: the admin token is typed into a form, kept in this
// module's memory only (never in storage, a cookie or an address) and sent
// as Authorization: Bearer with the page's requests to the admin API,
// which no other site can make a browser send. A user's page is the
// person's page, through the admin routes, acting as the admin.
import { el, clear, when, say } from './dom.js';
import { adminApi, ApiError } from './api.js';
import { showMemory } from './memview.js';

let api = null;

function failed(err) {
  say(err instanceof ApiError ? err.message : 'The page could not reach memproxy.');
  if (err instanceof ApiError && err.status === 401) signOut();
}

function signOut() {
  api = null;
  clear(document.getElementById('admin')).hidden = true;
  document.getElementById('signin').hidden = false;
  document.getElementById('token').focus();
}

function jobsSection(status) {
  const held = status.held_jobs || {};
  const queue = status.queue || {};
  const run = el('button', { type: 'button' }, 'Run failed jobs again');
  run.addEventListener('click', async () => {
    try {
      const r = await api.extract();
      say(r.due + ' pending turns are due now.');
      await home();
    } catch (err) { failed(err); }
  });
  return el('section', { class: 'card', 'aria-labelledby': 'jobs-h' }, el('h2', { id: 'jobs-h' }, 'Memory jobs'),
    el('dl', { class: 'facts-list' },
      el('dt', {}, 'Queued'), el('dd', {}, String(queue.depth) + ' of ' + queue.max),
      el('dt', {}, 'Failed, waiting to run again'), el('dd', {}, String(queue.failed_jobs || 0)),
      el('dt', {}, 'Held for a credential'), el('dd', {}, String(held.count || 0) +
        (held.oldest_seconds ? ' (oldest ' + Math.round(held.oldest_seconds / 60) + ' min)' : ''))),
    run);
}

function usersSection(doc) {
  const rows = doc.users.map((u) => {
    const open = el('button', { type: 'button', 'aria-label': 'Open the memory of ' + u.user }, 'Open');
    open.addEventListener('click', () => openUser(u.user, u.tenant));
    return el('tr', {}, el('th', { scope: 'row' }, u.user), el('td', {}, u.tenant || '—'), el('td', {}, String(u.facts)),
      el('td', {}, String(u.archived !== undefined ? u.archived : u.messages)), el('td', {}, when(u.updated_at)), el('td', {}, open));
  });
  const table = el('table', {}, el('caption', {}, 'Users with memory'),
    el('thead', {}, el('tr', {}, ['User', 'Tenant', 'Facts', 'Messages', 'Last change', ''].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
  const find = el('input', { id: 'find', type: 'text', required: true });
  const tenant = el('input', { id: 'find-tenant', type: 'text', pattern: '[0-9a-fA-F]{32}' });
  const form = el('form', {}, el('label', { for: 'find' }, 'User id'), find,
    el('label', { for: 'find-tenant' }, 'Tenant (32 hex digits, optional)'), tenant, el('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (e) => { e.preventDefault(); openUser(find.value, tenant.value || null); });
  return el('section', { class: 'card', 'aria-labelledby': 'users-h' }, el('h2', { id: 'users-h' }, 'Users'), form, table,
    doc.next_cursor ? el('p', { class: 'meta' }, 'More users follow: open one by id.') : null);
}

async function home() {
  const box = clear(document.getElementById('admin'));
  box.hidden = false;
  const out = el('button', { type: 'button' }, 'Sign out');
  out.addEventListener('click', signOut);
  try {
    const [status, users] = await Promise.all([api.status(), api.users()]);
    box.append(el('p', {}, out), jobsSection(status), usersSection(users));
    say('Signed in: ' + users.users.length + ' users listed.');
  } catch (err) { failed(err); }
}

async function openUser(id, tenant) {
  const box = clear(document.getElementById('admin'));
  const back = el('button', { type: 'button' }, 'Back to users');
  back.addEventListener('click', home);
  const memory = el('div');
  box.append(el('p', {}, back), el('h2', {}, 'Memory of ' + id + (tenant ? ' (tenant ' + tenant + ')' : '')), memory);
  try {
    await showMemory(memory, api.user(id, tenant), id);
  } catch (err) { failed(err); }
}

document.getElementById('signin').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = document.getElementById('token');
  api = adminApi(input.value);
  input.value = '';
  document.getElementById('signin').hidden = true;
  await home();
});
