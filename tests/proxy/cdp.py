"""A headless Chromium driven over the Chrome DevTools Protocol, with the
Python standard library only: Debian's `chromium` with
--remote-debugging-pipe (the protocol's JSON messages, each ending in a NUL
byte, on file descriptors 3 and 4), so no websocket client is needed.
For test_page_browser.py."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One browser, one page (a target attached in flat mode). Every event is
    kept in self.events; every request the page makes in self.requests."""

    def __init__(self, width=1100, height=900):
        self.tmp = tempfile.TemporaryDirectory(prefix='memproxy-chromium-')
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)
        args = [find_chromium(), '--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
                '--user-data-dir=' + self.tmp.name, '--no-first-run', '--no-default-browser-check',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-default-apps', '--disable-extensions', '--mute-audio', '--hide-scrollbars',
                '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication',
                '--window-size=%d,%d' % (width, height), 'about:blank']
        # preexec_fn puts the pipes on 3 and 4 before the other descriptors
        # are closed: those two numbers are the ones kept
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next = 0
        self._replies = {}
        self.events = []
        self.requests = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call('Target.createTarget', {'url': 'about:blank'})['targetId']
        self.session = self.call('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        for domain in ('Page', 'Network', 'Runtime'):
            self.call(domain + '.enable', session=True)
        self.call('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height,
                                                         'deviceScaleFactor': 1, 'mobile': False}, session=True)

    def _read(self):
        buf = b''
        while True:
            chunk = os.read(self._from_child, 65536)
            if not chunk:
                break
            buf += chunk
            while b'\0' in buf:
                raw, buf = buf.split(b'\0', 1)
                msg = json.loads(raw)
                with self._cv:
                    if 'id' in msg:
                        self._replies[msg['id']] = msg
                    else:
                        self.events.append(msg)
                        if msg.get('method') == 'Network.requestWillBeSent':
                            self.requests.append(msg['params']['request']['url'])
                    self._cv.notify_all()

    def call(self, method, params=None, session=False, timeout=30):
        with self._cv:
            self._next += 1
            n = self._next
        msg = {'id': n, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + timeout
        with self._cv:
            while n not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('CDP %s: no answer in %d s' % (method, timeout))
                self._cv.wait(left)
            reply = self._replies.pop(n)
        if 'error' in reply:
            raise AssertionError('CDP %s: %r' % (method, reply['error']))
        return reply.get('result', {})

    def js(self, expression, timeout=30):
        """The value of expression in the page (promises awaited)."""
        r = self.call('Runtime.evaluate', {'expression': expression, 'returnByValue': True,
                                           'awaitPromise': True}, session=True, timeout=timeout)
        if 'exceptionDetails' in r:
            raise AssertionError('page script failed: %r' % r['exceptionDetails'])
        return r['result'].get('value')

    def wait(self, expression, timeout=30, what=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js(expression):
                return
            time.sleep(0.1)
        raise AssertionError('page: %s did not happen in %d s' % (what or expression, timeout))

    def navigate(self, url):
        self.call('Page.navigate', {'url': url}, session=True)
        self.wait('document.readyState === "complete"', what='load of ' + url.split('#')[0])

    def key(self, key, code=None, vk=0, text=None):
        """One key press, as a keyboard sends it."""
        base = {'key': key, 'code': code or key, 'windowsVirtualKeyCode': vk, 'nativeVirtualKeyCode': vk}
        down = dict(base, type='keyDown' if text is None else 'keyDown')
        if text is not None:
            down['text'] = text
        self.call('Input.dispatchKeyEvent', down, session=True)
        self.call('Input.dispatchKeyEvent', dict(base, type='keyUp'), session=True)

    def tab(self):
        self.key('Tab', vk=9)

    def enter(self):
        self.key('Enter', vk=13, text='\r')

    def statuses(self, url_part):
        """HTTP statuses of the responses whose URL holds url_part."""
        with self._cv:
            return [e['params']['response']['status'] for e in self.events
                    if e.get('method') == 'Network.responseReceived' and url_part in e['params']['response']['url']]

    def set_files(self, selector, paths):
        """Chooses paths in the file input that selector finds, as a person's
        file picker does (the page gets its change event)."""
        root = self.call('DOM.getDocument', {'depth': 0}, session=True)['root']['nodeId']
        node = self.call('DOM.querySelector', {'nodeId': root, 'selector': selector}, session=True)['nodeId']
        if not node:
            raise AssertionError('page: no %s' % selector)
        self.call('DOM.setFileInputFiles', {'files': list(paths), 'nodeId': node}, session=True)

    def accessible_names(self, role):
        """The accessible names Chromium computes for the page's nodes of
        role ("button", ...), in document order: what a screen reader says."""
        self.call('Accessibility.enable', session=True)
        nodes = self.call('Accessibility.getFullAXTree', session=True)['nodes']
        return [n['name']['value'] for n in nodes
                if not n.get('ignored') and n.get('role', {}).get('value') == role and 'name' in n]

    def screenshot(self, path):
        height = self.js('Math.ceil(document.documentElement.scrollHeight)')
        self.call('Emulation.setDeviceMetricsOverride', {'width': 1100, 'height': min(int(height), 4000),
                                                         'deviceScaleFactor': 1, 'mobile': False}, session=True)
        data = self.call('Page.captureScreenshot', {'format': 'png'}, session=True)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call('Browser.close', timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        self.tmp.cleanup()
