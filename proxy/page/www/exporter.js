// The export as files a person keeps: memproxy's JSON Lines as they are
// (they import back), and Markdown to read. Made in the browser from the
// export route's pages; nothing is sent anywhere.
import { download } from './dom.js';

async function allLines(api) {
  let text = '';
  let cursor = null;
  // a page holds up to 1000 facts, messages or history entries
  for (let page = 0; page < 100000; page++) {
    const got = await api.exportPage(cursor);
    text += got.text;
    cursor = got.next;
    if (!cursor) break;
  }
  return text;
}

// Markdown of user text: kept readable, with nothing a renderer would run
// as HTML and each line break kept inside its list item.
function md(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([\\`*_#[\]|])/g, '\\$1').replace(/\r?\n/g, '  \n  ');
}

function toMarkdown(lines, who) {
  const items = lines.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const of = (type) => items.filter((i) => i.type === type);
  const out = ['# Memory of ' + md(who), '', 'Exported from memproxy on ' + new Date().toISOString() + '.', ''];
  const settings = of('settings')[0];
  out.push('## Memory setting', '', settings ? 'Memory is `' + settings.mode + '` (set ' + settings.updated_at + ').' : 'Memory is on (`auto`).', '');
  out.push('## What memory knows', '');
  for (const f of of('fact')) {
    out.push('- **' + md(f.key.replace(/_/g, ' ')) + '**: ' + md(f.value) + ' (told ' + (f.observed_at || 'at an unknown time') + ', ' + f.trust + ')');
  }
  if (!of('fact').length) out.push('Nothing.');
  out.push('', '## Summary', '');
  const summary = of('summary')[0];
  out.push(summary && summary.text ? md(summary.text) : 'None.', '', '## Conversations', '');
  const convs = new Map();
  for (const m of of('message')) {
    const key = m.conversation || 'not recorded';
    if (!convs.has(key)) convs.set(key, []);
    convs.get(key).push(m);
  }
  for (const [conv, msgs] of convs) {
    out.push('### Conversation ' + conv, '');
    for (const m of msgs) out.push('- ' + m.at + ', **' + (m.role === 'user' ? 'You' : 'Assistant') + '**: ' + md(m.content));
    out.push('');
  }
  if (!convs.size) out.push('None.', '');
  out.push('## History', '');
  for (const h of of('history')) {
    out.push('- ' + h.at + ': ' + h.item + (h.key ? ' `' + h.key + '`' : '') + ' ' + h.event + ' by ' + h.actor + (h.count ? ' (' + h.count + ')' : ''));
  }
  return out.join('\n') + '\n';
}

export async function exportJson(api, who) {
  download('memory-' + fileName(who) + '.jsonl', 'application/x-ndjson', await allLines(api));
}

export async function exportMarkdown(api, who) {
  download('memory-' + fileName(who) + '.md', 'text/markdown', toMarkdown(await allLines(api), who));
}

function fileName(who) {
  return String(who).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'user';
}
