// The person's page: their link's token comes in the URL's fragment
// (#link=...), which browsers never send to a server nor put in a Referer.
// It is moved to this tab's sessionStorage and out of the address bar at
// once, and goes to memproxy only in the X-Memory-Link header of the
// page's own requests.
import { el, clear, say, confirmButton } from './dom.js';
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

// The link's own fields (core/pagelink.h, v2.issued.expiry.tenant.user.mac):
// whose memory, until when.
function describe(link) {
  const parts = link.split('.');
  if (parts.length !== 6) return null;
  const bytes = new Uint8Array((parts[4].match(/../g) || []).map((h) => parseInt(h, 16)));
  return { user: new TextDecoder().decode(bytes), expiry: new Date(Number(parts[2]) * 1000) };
}

// "Sign out everywhere": every link to this page issued until now stops
// working, this one too (POST /api/revoke-links).
function signOutButton(api) {
  return confirmButton('Sign out everywhere', 'Stop every link to this page, this one too?', async () => {
    try {
      await api.revokeLinks();
      sessionStorage.removeItem('memproxy-link');
      clear(document.getElementById('memory'));
      say('Signed out everywhere: every link to this page has stopped working. Ask your app for a new one.');
    } catch (err) {
      say('Could not sign out: ' + err.message);
    }
  }, 'signout');
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
  const api = personApi(link);
  document.getElementById('who').after(signOutButton(api));
  try {
    await showMemory(container, api, about.user);
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
