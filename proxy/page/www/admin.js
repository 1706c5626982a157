// The operator's page: the admin token is typed into a form, kept in this
// module's memory only (never in storage, a cookie or an address) and sent
// as Authorization: Bearer with the page's requests to the admin API,
// which no other site can make a browser send. A user's page is the
// person's page, through the admin routes, acting as the admin.
import { el, clear, when, say, confirmButton, showError } from './dom.js';
import { adminApi, ApiError } from './api.js';
import { showMemory } from './memview.js';

let api = null;

// Says what went wrong beside near (or on the status line), with the focus.
function failed(err, near) {
  const text = err instanceof ApiError ? err.message : 'The page could not reach memproxy.';
  if (err instanceof ApiError && err.status === 401) {
    signOut();
    showError(document.getElementById('token'), text);
  } else {
    showError(near, text);
  }
  return false;
}

function signOut() {
  api = null;
  clear(document.getElementById('admin')).hidden = true;
  document.getElementById('signin').hidden = false;
  document.getElementById('token').focus();
}

// Why a job failed, in words (GET /admin/jobs: failed.reason).
const FAILED_WHY = {
  malformed: 'the memory model\'s answers could not be used',
  rate_limited: 'rate limited by the memory model (429)',
  upstream_error: 'the memory model did not answer (5xx or no answer)',
  rejected: 'the memory model refused the call (4xx)',
  store_error: 'the store failed the write',
};

function jobWhy(job) {
  if (job.held) return 'no credential for the memory model yet (it expires ' + when(job.held.expires_at) + ')';
  if (job.failed) return FAILED_WHY[job.failed.reason] || job.failed.reason;
  return job.state;
}

// The job's user: a link that opens their memory here.
function userLink(job) {
  const a = el('a', { href: '#memory', 'aria-label': 'Open the memory of ' + job.user }, job.user);
  a.addEventListener('click', (e) => { e.preventDefault(); openUser(job.user, job.tenant); });
  return job.tenant ? el('span', {}, a, el('span', { class: 'meta' }, ' (tenant ' + job.tenant + ')')) : a;
}

// Runs act (the API call) for a job, shows the jobs again and says how it
// went, with focus on that line (the button that had it is gone).
async function jobAct(act, done) {
  try {
    const r = await act();
    await home();
    say(done(r));
  } catch (err) { failed(err); }
  document.getElementById('status').focus();
}

// A failed batch is one job of several turns: "extract (2 turns)".
function jobKind(job) {
  return job.turns > 1 ? job.kind + ' (' + job.turns + ' turns)' : job.kind;
}

function jobActions(job) {
  const what = job.kind + ' job ' + job.id + ' of ' + job.user;
  const out = [];
  if (job.state === 'failed') {
    const again = el('button', { type: 'button', class: 'small', 'aria-label': 'Run again the ' + what }, 'Run again');
    again.addEventListener('click', () => {
      again.disabled = true;
      jobAct(() => api.retryJob(job.id), (r) => 'Job ' + job.id + (r.job.turns > 1 ? ', its ' + r.job.turns +
        ' turns,' : '') + ' runs again (' + r.job.state + ').');
    });
    out.push(again, ' ');
  }
  out.push(confirmButton('Drop', job.turns > 1 ? 'Drop this job? Its ' + job.turns + ' turns stay recorded, not extracted.'
    : 'Drop this job? Its turn stays recorded, not extracted.',
    () => jobAct(() => api.dropJob(job.id), () => 'Job ' + job.id + ' dropped.'), 'danger small', 'Drop the ' + what));
  return out;
}

function jobsTable(id, caption, jobs, more) {
  if (jobs.length === 0) return el('p', { id, class: 'meta' }, caption + ': none.');
  const rows = jobs.map((job) => el('tr', { 'data-job': String(job.id), 'data-state': job.state },
    el('td', {}, userLink(job)), el('td', { class: 'nowrap' }, jobKind(job)),
    el('td', {}, jobWhy(job)),
    el('td', {}, el('time', { datetime: job.updated_at || job.created_at },
      when(job.state === 'failed' && job.updated_at ? job.updated_at : job.created_at))),
    el('td', {}, String(job.attempts)), el('td', { class: 'nowrap' }, jobActions(job))));
  return el('div', {}, el('table', { id, class: 'jobs' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ['User', 'Kind', 'Why', 'Since', 'Attempts', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows)),
  more ? el('p', { class: 'meta' }, 'The newest 50 are shown; GET /admin/jobs lists them all.') : null);
}

function jobsSection(status, held, failedJobs) {
  const heldCount = status.held_jobs || {};
  const queue = status.queue || {};
  const run = el('button', { type: 'button' }, 'Run failed jobs again');
  run.addEventListener('click', async () => {
    try {
      const r = await api.extract();
      await home();
      say(r.due + ' pending turns are due now.');
    } catch (err) { failed(err, run); }
  });
  return el('section', { class: 'card', 'aria-labelledby': 'jobs-h' }, el('h2', { id: 'jobs-h' }, 'Memory jobs'),
    el('dl', { class: 'facts-list' },
      el('dt', {}, 'Queued'), el('dd', {}, String(queue.depth) + ' of ' + queue.max),
      el('dt', {}, 'Failed turns, waiting to run again'), el('dd', {}, String(queue.failed_jobs || 0)),
      el('dt', {}, 'Held for a credential'), el('dd', {}, String(heldCount.count || 0) +
        (heldCount.oldest_seconds ? ' (oldest ' + Math.round(heldCount.oldest_seconds / 60) + ' min)' : ''))),
    run,
    jobsTable('failed-jobs', 'Failed jobs', failedJobs.jobs, failedJobs.next_cursor),
    jobsTable('held-jobs', 'Jobs held for a credential', held.jobs, held.next_cursor));
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
    const [status, users, held, failedJobs] = await Promise.all([api.status(), api.users(),
      api.jobs('held'), api.jobs('failed')]);
    box.append(el('p', {}, out), jobsSection(status, held, failedJobs), usersSection(users));
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
