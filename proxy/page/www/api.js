// The calls the page makes: one user's memory through the admin API's
// handlers, either as the person (the page listener's /api/, with their
// link in X-Memory-Link) or as an operator (the admin listener's
// /admin/users/{id}/, with the token in Authorization). Same routes, same
// answers: only the door differs.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(url, headers, init) {
  const res = await fetch(url, {
    ...init,
    headers: { ...headers, ...(init && init.headers) },
    credentials: 'omit',
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
  });
  if (!res.ok) {
    let code = 'error';
    let message = 'The request failed (' + res.status + ').';
    try {
      const body = await res.json();
      if (body && body.error) { code = body.error.code; message = body.error.message; }
    } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

// One user's memory. base: the path every route hangs off ("/api/" or
// "/admin/users/{id}/"); query: what every request adds ("" or
// "tenant=..."); headers: the credential.
export function userApi(base, query, headers) {
  const url = (path, params) => {
    const q = [params, query].filter(Boolean).join('&');
    return base + path + (q ? '?' + q : '');
  };
  const json = async (path, params, init) => (await call(url(path, params), headers, init)).json();
  const removed = async (path, init) => {
    const res = await call(url(path), headers, {
      method: 'DELETE',
      ...init,
      headers: { Prefer: 'return=representation', ...(init && init.headers) },
    });
    return res.status === 200 ? res.json() : { removed: null };
  };
  return {
    memory: (cursor) => json('memory', 'limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '')),
    // the facts after the page that gave entities_next_cursor (one archived message rides along)
    facts: (cursor) => json('memory', 'limit=1&entities_cursor=' + encodeURIComponent(cursor)),
    history: (cursor) => json('history', cursor ? 'cursor=' + encodeURIComponent(cursor) : ''),
    settings: () => json('settings'),
    setSettings: (mode) => json('settings', '', {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode }),
    }),
    setFact: (key, value, revision) => json('entities/' + encodeURIComponent(key), '', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': '"' + revision + '"' },
      body: JSON.stringify({ value }),
    }),
    deleteFact: (key, revision) => removed('entities/' + encodeURIComponent(key),
      { headers: { 'If-Match': '"' + revision + '"' } }),
    deleteMessage: (seq) => removed('messages/' + seq),
    deleteConversation: (conv) => removed('conversations/' + conv),
    forgetAll: () => removed('memory'),
    revokeLinks: () => json('revoke-links', '', { method: 'POST' }),
    explainLast: () => json('explain'),
    search: (q) => json('search', 'limit=20&q=' + encodeURIComponent(q)),
    exportPage: async (cursor) => {
      const res = await call(url('export', cursor ? 'cursor=' + encodeURIComponent(cursor) : ''), headers);
      return { text: await res.text(), next: res.headers.get('X-Next-Cursor') };
    },
    // format: "jsonl" (memproxy's own export) or another reader's name,
    // passed through to the import handler as ?format=; dryRun: what it
    // would do, nothing stored (?dry_run=true).
    importFile: async (format, file, dryRun) => {
      const types = { jsonl: 'application/x-ndjson', chatgpt: 'application/json', claude: 'application/json', 'memory-text': 'text/plain' };
      const zip = /\.zip$/i.test(file.name);
      const params = [format === 'jsonl' ? '' : 'format=' + encodeURIComponent(format), dryRun ? 'dry_run=true' : ''];
      const res = await call(url('import', params.filter(Boolean).join('&')), headers, {
        method: 'POST',
        headers: { 'Content-Type': zip ? 'application/zip' : (types[format] || 'application/octet-stream') },
        body: file,
      });
      return res.json();
    },
  };
}

export function personApi(link) {
  return userApi('/api/', '', { 'X-Memory-Link': link });
}

// The operator's: the whole admin API with the token.
export function adminApi(token) {
  const headers = { Authorization: 'Bearer ' + token };
  return {
    status: async () => (await call('/admin/status', headers)).json(),
    extract: async () => (await call('/admin/extract', headers, { method: 'POST' })).json(),
    // state: "held", "failed", "pending", "leased" or "all"; newest first
    jobs: async (state, cursor) => (await call('/admin/jobs?limit=50&state=' + state +
      (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''), headers)).json(),
    retryJob: async (id) => (await call('/admin/jobs/' + id + '/retry', headers, { method: 'POST' })).json(),
    dropJob: async (id) => (await call('/admin/jobs/' + id, headers, { method: 'DELETE' })).json(),
    users: async (cursor) => (await call('/admin/users?limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''), headers)).json(),
    // A browser folds a "." or ".." segment out of a path, escaped
    // ("%2E") or not: such an id goes in the query, with the path's empty.
    user: (id, tenant) => {
      const dots = id === '.' || id === '..';
      const query = [dots ? 'user=' + encodeURIComponent(id) : '', tenant ? 'tenant=' + tenant : ''];
      return userApi('/admin/users/' + (dots ? '' : encodeURIComponent(id)) + '/', query.filter(Boolean).join('&'), headers);
    },
  };
}
