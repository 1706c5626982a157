"""The memory page's links and requests, for test_page.py and
test_page_browser.py: a link minted as docs/memory-page.md tells an app to
(Python's hmac, nothing of memproxy's), and requests to the page listener."""

import hashlib
import hmac
import json
import time

import harness

# The apps' X-User-Signature key, and the page's own link key: apart
# (docs/memory-page.md), both a random key's text as --check-config asks.
SIGN_KEY = 'page-test-signing-key-4f1e9a0c7d2b6e83'
LINK_KEY = 'page-test-link-key-b3e8d1f6a2c0794e'


def token(user, tenant=None, expiry=None, key=LINK_KEY, issued_ms=None):
    """The link's token: v2.<issued ms>.<expiry>.<tenant|->.<user hex>.<mac hex>."""
    exp = int(time.time()) + 3600 if expiry is None else expiry
    issued = int(time.time() * 1000) if issued_ms is None else issued_ms
    signed = 'v2.%d.%d.%s.%s' % (issued, exp, tenant or '-', user.encode('utf-8').hex())
    mac = hmac.new(key.encode(), b'memproxy-page-link\n' + signed.encode(), hashlib.sha256).hexdigest()
    return signed + '.' + mac


def old_token(user, tenant=None):
    """A link issued a second ago: one a revocation from now on voids (a
    link issued in the very millisecond of a revocation stays valid)."""
    return token(user, tenant, issued_ms=int(time.time() * 1000) - 1000)


def signature(user, key=SIGN_KEY):
    """X-User-Signature of a chat request."""
    return hmac.new(key.encode(), user.encode('utf-8'), hashlib.sha256).hexdigest()


def api(proxy, method, path, link=None, body=b'', headers=()):
    """A request to the page listener's /api/ with the link (None: none)."""
    h = list(headers)
    if link is not None:
        h.append(('X-Memory-Link', link))
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.append(('Content-Type', 'application/json'))
    return harness.request(proxy.page_port, method, '/api/' + path, h, body)
