// The person's page: their link's token comes in the URL's fragment
// (#link=...), which browsers never send to a server nor put in a Referer.
// It is moved to this tab's sessionStorage and out of the address bar at
// once, and goes to memproxy only in the X-Memory-Link header of the
// page's own requests.
import { el, clear, say } from './dom.js';
import { personApi } from './api.js';
import { showMemory } from './memview.js';

function takeLink() {
  const m = /(?:^#|&)link=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('memproxy-link', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('memproxy-link');
}

// The link's own fields (core/pagelink.h): whose memory, until when.
function describe(link) {
  const parts = link.split('.');
  if (parts.length !== 5) return null;
  const bytes = new Uint8Array((parts[3].match(/../g) || []).map((h) => parseInt(h, 16)));
  return { user: new TextDecoder().decode(bytes), expiry: new Date(Number(parts[1]) * 1000) };
}

async function main() {
  const container = document.getElementById('memory');
  const link = takeLink();
  const about = link ? describe(link) : null;
  if (!about) {
    say('Open this page with the link your app gives you.');
    return;
  }
  const expired = about.expiry <= new Date();
  document.getElementById('who').textContent = 'Memory of ' + about.user + '. ' + (expired
    ? 'This link expired on ' + about.expiry.toLocaleString() + ': ask your app for a new one.'
    : 'This link works until ' + about.expiry.toLocaleString() + '.');
  try {
    await showMemory(container, personApi(link), about.user);
  } catch (err) {
    sessionStorage.removeItem('memproxy-link');
    clear(container).append(el('p', {}, 'Ask your app for a new link to see your memory.'));
  }
}

// A new link opened in this tab (only the fragment changed: no reload by
// itself) is taken as the first was.
window.addEventListener('hashchange', () => {
  if (/(?:^#|&)link=/.test(location.hash)) location.reload();
});

main();
