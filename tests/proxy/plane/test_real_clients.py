"""Real clients (issue 63, requirement 7; issue 72, requirement 3): the
coding-agent CLIs Claude Code, Codex, opencode and Continue's
cn, pinned in tests/clients/package.json (installed by
scripts/test.sh: npm ci), run one-shot through memproxy (four workers, as
deployments run) against the fake upstream, each in a temporary project
whose AGENTS.md and CLAUDE.md hold a fake fact and with a temporary home.
Per client: a statement, a question about it, and a session whose model
calls the client's shell tool once (the fake's X-Fake-Tool-Call) and
answers its output. The clients run side by side, one user each.

The checks read what reached the fake upstream and what the store holds:
every request valid for its API (the fake's "invalid" count stays 0), the
statement of session 1 in a request of session 2, the tool loop run to its
end, the statement recorded as the user's words; and no instruction file,
environment block, title scaffold or tool output recorded as the user's
words, no fact extracted from them, and no memory in a side request (a
title) once one was seen (docs/memory-whose-words.md "Whose words"). A table of the
texts recorded as the user's that are none of the user's prompts, per
client, is printed: a measurement reported.

Nothing here is specific to these clients but how each is started
and configured (docs/clients.md): the same checks apply to any client run
the same way."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

BIN_DIR = os.path.join(harness.SOURCE_ROOT, 'tests', 'clients', 'node_modules', '.bin')
RUN_TIMEOUT = 120

STATEMENT = 'My favourite editor is Helix and I live in Lisbon.'
QUESTION = 'Which editor do I use?'
TOOL_PROMPT = 'List the files here'
PROMPTS = (STATEMENT, QUESTION, TOOL_PROMPT)

# The instruction files' fake fact, said twice: as a project states it, and
# in a form the fake's extraction takes as a fact ("remember that X is Y":
# docs/fake-upstream.md), so that a check on extracted facts can fail.
FACT = 'zebra-db'
INSTRUCTIONS = ('# Project notes (%s)\n\nOur database is called zebra-db.\n'
                'Remember that our database is zebra-db.\n')
# A file only the tool's output names.
TOOL_FILE = 'quokka-ledger.txt'

# What is never the user's words, by kind: a recorded user message holding
# one of these came from the client, not the user.
CLIENT_TEXT = {
    'instruction file': (FACT, 'AGENTS.md', 'CLAUDE.md', 'QWEN.md', '<INSTRUCTIONS>', '<system-reminder>'),
    'environment block': ('<environment_context>', '<env>', 'gitStatus:'),
    'title scaffold': ('<session>', 'Write the title', 'Generate a title', 'title generator'),
    'tool output': (TOOL_FILE,),
}

class Client:
    """One CLI: its configuration files and the command of one session.
    Subclasses set NAME, BIN, API (the path its requests take) and SHELL
    (X-Fake-Tool-Call: its shell tool and arguments)."""

    NAME = BIN = API = SHELL = None

    def __init__(self, root, port, user):
        self.root = root
        self.port = port
        self.user = user
        self.project = os.path.join(root, 'project')
        self.home = os.path.join(root, 'home')
        for d in (self.project, self.home):
            os.makedirs(d)
        for name in ('AGENTS.md', 'CLAUDE.md'):
            with open(os.path.join(self.project, name), 'w') as f:
                f.write(INSTRUCTIONS % name)
        with open(os.path.join(self.project, TOOL_FILE), 'w') as f:
            f.write('ledger\n')
        self.binary = os.path.join(BIN_DIR, self.BIN)

    def headers(self, tag, tool):
        """The headers every request of the session carries: the user's id
        (the recipe's one), the session's tag (for the checks) and, for the
        tool session, the call the fake answers with."""
        h = {'X-User-Id': self.user, 'X-Test-Session': tag}
        if tool:
            h['X-Fake-Tool-Call'] = self.SHELL
        return h

    def env(self):
        keep = ('PATH', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR')
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env['HOME'] = self.home
        return env

    def command(self, prompt, tag, tool):
        """(argv, env) of one session."""
        raise NotImplementedError


class ClaudeCode(Client):
    NAME, BIN, API = 'claude_code', 'claude', '/v1/messages'
    SHELL = 'Bash {"command":"ls"}'

    def command(self, prompt, tag, tool):
        env = dict(self.env(), ANTHROPIC_BASE_URL='http://127.0.0.1:%d' % self.port,
                   ANTHROPIC_API_KEY='sk-ant-fake-key',
                   ANTHROPIC_CUSTOM_HEADERS='\n'.join('%s: %s' % kv for kv in self.headers(tag, tool).items()),
                   # nothing to hosts other than the base URL (the title
                   # request is kept: it goes to the base URL)
                   DISABLE_AUTOUPDATER='1', DISABLE_TELEMETRY='1', DISABLE_ERROR_REPORTING='1')
        # -p: one-shot; --allowedTools: the tool runs without asking (a
        # root user may not skip the permissions)
        argv = [self.binary, '-p', prompt] + (['--allowedTools', 'Bash'] if tool else [])
        return argv, env


class Codex(Client):
    NAME, BIN, API = 'codex', 'codex', '/v1/responses'
    # gpt-5.5: classic function tools (the newest models' "code mode" calls
    # its shell from JavaScript through a custom tool instead)
    SHELL = 'exec_command {"cmd":"ls"}'
    MODEL = 'gpt-5.5'

    def command(self, prompt, tag, tool):
        codex_home = os.path.join(self.root, 'codex-home')
        os.makedirs(codex_home, exist_ok=True)
        headers = ', '.join('%s = %s' % (json.dumps(k), json.dumps(v)) for k, v in self.headers(tag, tool).items())
        with open(os.path.join(codex_home, 'config.toml'), 'w') as f:
            f.write('model = "%s"\nmodel_provider = "memproxy"\n\n'
                    '[model_providers.memproxy]\nname = "memproxy"\n'
                    'base_url = "http://127.0.0.1:%d/v1"\nwire_api = "responses"\n'
                    'env_key = "OPENAI_API_KEY"\nhttp_headers = { %s }\n'
                    % (self.MODEL, self.port, headers))
        env = dict(self.env(), CODEX_HOME=codex_home, OPENAI_API_KEY='sk-fake-key')
        # the project is no git repository; the tool session's one command
        # (ls) runs unsandboxed: a container may forbid the namespaces
        # Codex's sandbox needs
        return [self.binary, 'exec', '--skip-git-repo-check'] + \
            (['--sandbox', 'danger-full-access'] if tool else []) + [prompt], env


class OpenCode(Client):
    NAME, BIN, API = 'opencode', 'opencode', '/v1/chat/completions'
    SHELL = 'bash {"command":"ls","description":"Lists the files"}'

    def command(self, prompt, tag, tool):
        xdg = {v: os.path.join(self.root, v.lower()) for v in
               ('XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME')}
        conf = os.path.join(xdg['XDG_CONFIG_HOME'], 'opencode')
        os.makedirs(conf, exist_ok=True)
        config = {'$schema': 'https://opencode.ai/config.json', 'autoupdate': False, 'share': 'disabled',
                  'model': 'memproxy/gpt-4o-mini',
                  'provider': {'memproxy': {
                      'npm': '@ai-sdk/openai-compatible', 'name': 'memproxy',
                      'options': {'baseURL': 'http://127.0.0.1:%d/v1' % self.port,
                                  'apiKey': '{env:OPENAI_API_KEY}', 'headers': self.headers(tag, tool)},
                      'models': {'gpt-4o-mini': {'name': 'gpt-4o-mini', 'tool_call': True}}}}}
        with open(os.path.join(conf, 'opencode.json'), 'w') as f:
            json.dump(config, f, indent=2)
        env = dict(self.env(), OPENAI_API_KEY='sk-fake-key', OPENCODE_DISABLE_MODELS_FETCH='1',
                   OPENCODE_DISABLE_AUTOUPDATE='1', OPENCODE_DISABLE_SHARE='1', OPENCODE_DISABLE_LSP_DOWNLOAD='1',
                   **xdg)
        # the prompt as separate words: one argument with blanks reaches
        # the model wrapped in quotes
        return [self.binary, 'run'] + (['--auto'] if tool else []) + prompt.split(), env


class ContinueCli(Client):
    """Continue's CLI (cn), the fifth: held out, nothing of memproxy's was
    written from it or from a request of its own; it reads AGENTS.md."""

    NAME, BIN, API = 'continue_cli', 'cn', '/v1/chat/completions'
    SHELL = 'Bash {"command":"ls"}'

    def command(self, prompt, tag, tool):
        config = os.path.join(self.root, 'continue-%s.yaml' % tag)
        headers = ''.join('        %s: %s\n' % kv for kv in self.headers(tag, tool).items())
        with open(config, 'w') as f:
            f.write('name: memproxy-test\nversion: 0.0.1\nschema: v1\nmodels:\n'
                    '  - name: memproxy\n    provider: openai\n    model: gpt-4o-mini\n'
                    '    apiKey: sk-fake-key\n    apiBase: http://127.0.0.1:%d/v1\n'
                    '    roles: [chat, edit, apply, summarize]\n'
                    '    requestOptions:\n      headers:\n%s' % (self.port, headers))
        # -p: one-shot; --auto: every tool allowed without asking
        return [self.binary, '--config', config] + (['--auto'] if tool else []) + ['-p', prompt], self.env()


CLIENTS = (ClaudeCode, Codex, OpenCode, ContinueCli)


class Session:
    def __init__(self, tag, prompt, tool):
        self.tag = tag
        self.prompt = prompt
        self.tool = tool
        self.rc = None
        self.out = self.err = ''
        self.seconds = None


class Run:
    """One client's three sessions and what came of them."""

    def __init__(self, client):
        self.client = client
        self.sessions = [Session('%s-s%d-%s' % (client.NAME, i + 1, uuid.uuid4().hex[:8]), p, p == TOOL_PROMPT)
                         for i, p in enumerate(PROMPTS)]
        self.error = None
        self.seconds = None
        self.requests = {}   # session tag -> the fake's records of its requests
        self.messages = []   # every message the store holds for the user
        self.facts = []

    def session(self, prompt):
        return self.sessions[PROMPTS.index(prompt)]

    def play(self, s):
        argv, env = self.client.command(s.prompt, s.tag, s.tool)
        t0 = time.monotonic()
        # a session of its own: a client that hangs goes with what it started
        proc = subprocess.Popen(argv, cwd=self.client.project, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            s.out, s.err = proc.communicate(timeout=RUN_TIMEOUT)
            s.rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            s.out, s.err = proc.communicate()
            s.rc, s.err = 'timeout', '%s did not end within %d s; stderr:\n%s' % (argv[0], RUN_TIMEOUT, s.err)
        s.seconds = time.monotonic() - t0

    def __call__(self, proxy):
        t0 = time.monotonic()
        try:
            for s in self.sessions:
                self.play(s)
                if s.prompt == STATEMENT:
                    # session 2 comes after session 1's turn is recorded and extracted
                    mh.wait_memory(proxy, self.client.user,
                                   lambda m: mh.entity_map(m).get('favorite_editor') == 'Helix',
                                   what='the statement recorded and extracted')
        except Exception as e:  # reported by the checks
            self.error = '%s: %s' % (type(e).__name__, e)
        self.seconds = time.monotonic() - t0


def stored(proxy, user):
    """(every message the store holds for user, buffer and archive, each
    once; the user's facts)."""
    r = mh.admin_memory(proxy, user)
    if r.status == 404:
        return [], []
    assert r.status == 200, r
    doc = r.json()
    seen, out = set(), []
    for m in doc['buffer'] + [m for page in mh.archive_pages(proxy, user, 1000) for m in page]:
        key = (m['role'], m['content'], m.get('at'), m.get('request_id'))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out, doc['entities']


def last_item(body):
    """The last message (or Responses input item) of a request body."""
    items = body.get('messages') if 'messages' in body else body.get('input')
    return items[-1] if isinstance(items, list) and items else None


def is_tool_result(item):
    if not isinstance(item, dict):
        return False
    if item.get('role') in ('tool', 'function') or str(item.get('type', '')).endswith('_call_output'):
        return True
    content = item.get('content')
    return isinstance(content, list) and any(isinstance(b, dict) and b.get('type') == 'tool_result'
                                             for b in content)


FAKE = PROXY = None
RUNS = {}
ROOT = None


def setUpModule():
    global FAKE, PROXY, ROOT
    missing = [c.BIN for c in CLIENTS if not os.access(os.path.join(BIN_DIR, c.BIN), os.X_OK)]
    if missing:
        raise RuntimeError('the clients %s are not installed in %s: run "npm ci --prefix tests/clients" '
                           '(scripts/test.sh does) with Node.js 18 or newer' % (', '.join(missing), BIN_DIR))
    ROOT = tempfile.mkdtemp(prefix='mptest-clients-')
    FAKE = harness.FakeUpstream().start()
    try:
        PROXY = harness.Proxy(FAKE.base_url, workers=4, memory={'api_key': 'sk-memory-model-key'},
                              sections={'anthropic': {'base_url': FAKE.base_url[:-len('/v1')]},
                                        'admin': {'token': mh.ADMIN_TOKEN}}).start()
    except BaseException:
        FAKE.stop()
        raise
    try:
        play_all()
    except BaseException:
        tearDownModule()
        raise


def play_all():
    """Runs the clients side by side, waits for the memory work, reads
    what the fake received and what the store holds, prints the table."""
    t0 = time.monotonic()
    threads = []
    for cls in CLIENTS:
        run = RUNS[cls.NAME] = Run(cls(os.path.join(ROOT, cls.NAME), PROXY.port, mh.uid(cls.NAME)))
        t = threading.Thread(target=run, args=(PROXY,), name=cls.NAME)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    mh.wait_idle(PROXY)
    log = mh.fake_requests(FAKE)
    for run in RUNS.values():
        for s in run.sessions:
            run.requests[s.tag] = [r for r in log if mh.req_header(r, 'X-Test-Session') == s.tag]
        run.messages, run.facts = stored(PROXY, run.client.user)
    report(time.monotonic() - t0)


def tearDownModule():
    global PROXY, ROOT
    problems = PROXY.stop() + FAKE.stop() if PROXY is not None else []
    PROXY = None
    if ROOT is not None:
        shutil.rmtree(ROOT, True)
        ROOT = None
    if problems:
        raise AssertionError('teardown: ' + '\n'.join(problems))


def non_user_texts(run):
    return [m['content'] for m in run.messages if m['role'] == 'user' and m['content'].strip() not in PROMPTS]


def report(seconds):
    """The measurement: per client, the texts recorded as the user's that
    are none of the user's prompts."""
    print('\nclients run in %.1f s (%s)' % (seconds, '; '.join(
        '%s %.1f s, sessions %s' % (n, r.seconds or 0, ' '.join('%.1f' % (s.seconds or 0) for s in r.sessions))
        for n, r in RUNS.items())))
    print('non-user texts recorded as the user\'s words, per client:')
    print('  %-12s %14s %14s %15s %20s' % ('client', 'user messages', 'prompt copies', 'non-user texts',
                                          'session 2 recalled'))
    for name, run in RUNS.items():
        users = [m for m in run.messages if m['role'] == 'user']
        others = non_user_texts(run)
        asked = run.requests.get(run.session(QUESTION).tag, [])
        print('  %-12s %14d %14d %15d %20s' % (name, len(users), len(users) - len(others), len(others),
                                               '%d of %d requests' % (sum('Helix' in r['body'] for r in asked),
                                                                      len(asked))))
        for text in others:
            print('  %-12s   %s' % ('', json.dumps(text[:90])))
    sys.stdout.flush()


class RealClient:
    """The checks of one client's run (mixed into a TestCase per client)."""

    CLIENT = None

    @property
    def run_(self):
        return RUNS[self.CLIENT.NAME]

    def known(self, check, problems):
        """Fails with problems, if any."""
        if problems:
            self.fail('%s: %s' % (check, '\n'.join(problems)))

    def test_side_requests_carry_no_memory(self):
        """A title request (a side request) of the second session on goes
        upstream without memory: the first taught memproxy its
        instructions (docs/memory-whose-words.md "Whose words")."""
        for s in self.run_.sessions[1:]:
            for r in self.run_.requests[s.tag]:
                body = r['body']
                if any(mark in body for mark in CLIENT_TEXT['title scaffold']):
                    self.assertNotIn(mh.INTRO[:40], body, '%s: memory in a side request' % s.tag)
                    self.assertNotIn('recalled by the memory service', body, s.tag)

    def test_sessions_end_with_the_upstreams_answer(self):
        """Each session exits 0 and prints the fake's answer, which came
        through memproxy."""
        run = self.run_
        self.assertIsNone(run.error, run.error)
        for s in run.sessions:
            with self.subTest(session=s.tag):
                self.assertEqual(s.rc, 0, 'exit %r; stderr:\n%s\nstdout:\n%s' % (s.rc, s.err[-3000:], s.out[-2000:]))
                self.assertIn('tok0 tok1 tok2', s.out, s.err[-2000:])
                self.assertTrue(run.requests[s.tag], 'no request of the session reached the upstream')

    def test_requests_take_the_clients_api(self):
        for s in self.run_.sessions:
            paths = {r['path'].split('?')[0] for r in self.run_.requests[s.tag]}
            self.assertEqual(paths, {self.CLIENT.API}, s.tag)

    def test_instruction_file_reaches_the_upstream(self):
        """The client read the project's instruction file and sent it: the
        checks on what is recorded are not empty."""
        s = self.run_.session(STATEMENT)
        self.assertTrue(any(FACT in r['body'] for r in self.run_.requests[s.tag]),
                        'no request of session 1 carried the instruction file')

    def test_tool_loop_runs_to_its_end(self):
        """The fake called the shell tool, the client ran it and sent its
        output back, and the fake's answer to that ended the session."""
        s = self.run_.session(TOOL_PROMPT)
        results = [r for r in self.run_.requests[s.tag] if is_tool_result(last_item(mh.body_json(r) or {}))]
        self.assertTrue(results, 'no request of the tool session answered a tool call')
        self.assertIn(TOOL_FILE, json.dumps(last_item(mh.body_json(results[-1]))), 'the tool\'s output is not ls\'s')
        self.assertEqual(s.rc, 0, s.err[-2000:])

    def test_session_2_carries_the_statement_of_session_1(self):
        s = self.run_.session(QUESTION)
        bodies = [r['body'] for r in self.run_.requests[s.tag]]
        self.assertTrue(any('Helix' in b for b in bodies), 'no request of session 2 carried "Helix"')
        self.assertFalse(any('Helix' in p for p in (QUESTION, INSTRUCTIONS)))

    def test_prompts_recorded_as_the_users_words(self):
        users = [m['content'].strip() for m in self.run_.messages if m['role'] == 'user']
        for prompt in PROMPTS:
            self.assertIn(prompt, users)
        self.assertIn(('favorite_editor', 'Helix'), [(f['key'], f['value']) for f in self.run_.facts])

    def test_no_client_text_recorded_as_the_users_words(self):
        for kind, markers in CLIENT_TEXT.items():
            with self.subTest(kind=kind):
                found = []
                for m in self.run_.messages:
                    hits = [mk for mk in markers if m['role'] == 'user' and mk in m['content']]
                    if hits:
                        found.append('%s in %s' % ('/'.join(hits), json.dumps(m['content'][:100])))
                self.known(kind, found)

    def test_no_fact_from_the_instruction_file(self):
        self.known('fact', ['%s: %s' % (f['key'], f['value']) for f in self.run_.facts if FACT in f['value']])

    def test_tool_output_nowhere_in_memory(self):
        """The tool's output is no one's words: not in any message (the
        assistant's included) nor in a fact."""
        texts = [m['content'] for m in self.run_.messages] + [f['value'] for f in self.run_.facts]
        self.assertEqual([t[:200] for t in texts if TOOL_FILE in t], [])


class ClaudeCodeTest(RealClient, unittest.TestCase):
    CLIENT = ClaudeCode


class CodexTest(RealClient, unittest.TestCase):
    CLIENT = Codex


class OpenCodeTest(RealClient, unittest.TestCase):
    CLIENT = OpenCode


class ContinueCliTest(RealClient, unittest.TestCase):
    CLIENT = ContinueCli


class UpstreamTest(unittest.TestCase):
    def test_every_request_valid_for_its_api(self):
        """The fake refuses what the providers refuse (tool loops, Anthropic's
        cache_control cap): nothing any client sent through memproxy was."""
        self.assertEqual(FAKE.stats()['invalid'], 0)


if __name__ == '__main__':
    harness.main('proxy_real_clients')
