#!/usr/bin/env python3
"""The documentation in docs/ is memproxy's complete external interface.

Fails when something a user can see exists in the code but not in the
documentation, or the other way round:

  config     every [section] key of core/config/config.c's key table is in
             docs/configuration.md and conf/memproxy.ini, and nothing else
             is; the documented type, default, range, allowed names and
             reload behaviour match the code and the shipped file
  env        every documented key is accepted as MEMPROXY_<SECTION>_<KEY> by
             the built memproxy (--check-config), an unknown MEMPROXY_
             variable is refused, MEMPROXY_TEST_* is ignored
  options    the options of `memproxy --help` (and of proxy/main.c) are the
             options of docs/cli.md; its commands are docs/cli.md's
  routes     the data-plane routes of core/wire/route.c and proxy/plane/ are the
             routes table of docs/http-api.md (paths and methods)
  admin      the admin routes of core/adminpath.h (its enum comments) and
             proxy/admin/admin.c are the route tables of docs/admin-api.md
             and docs/operations.md (paths and methods)
  metrics    the metrics of proxy/metrics.c and proxy/admin/admin.c (their
             # TYPE lines and histograms) are docs/metrics.md's, with the
             same type and label names
  errors     proxy/net/respond.c's error table (status, type, code) is the
             error table of docs/http-api.md
  memerrors  the X-Memory-Error codes of proxy/plane/reqmem.c and
             proxy/memory/memworker.c are those of docs/http-api.md
  outside    no tracked file refers to a path outside the repository, and the
             README and docs/ speak for themselves
  links      the README links docs/README.md, which links every page of
             docs/; every relative link of the README and docs/ resolves
             (file and #anchor), and every docs/NAME.md named anywhere in
             the tree exists

Each failure names the missing names and on which side they are missing.

Usage:
  docs_complete.py SOURCE_ROOT MEMPROXY_BIN              run the checks
  docs_complete.py --self-test SOURCE_ROOT MEMPROXY_BIN  prove that each
      check can fail: run it on doctored copies of the real files (in
      memory) and expect the doctored name in its report

Python 3 standard library only.
"""

import os
import re
import subprocess
import sys

# Spelled in two pieces so that this file does not match its own check.
OUTSIDE_MARKERS = ('..' + '/shared', 'CON' + 'TRACT', '/' + 'work/')
# The BSD license's "WHETHER IN CONTRACT, STRICT LIABILITY" is no reference.
BSD_DISCLAIMER = 'WHETHER IN ' + 'CON' + 'TRACT, STRICT LIABILITY'

MEMORY_PREFIX = '/v1/memory'


class Tree:
    """The source files, read on demand; overlay() gives a doctored copy."""

    def __init__(self, root, overrides=None):
        self.root = root
        self.overrides = dict(overrides or {})
        self._cache = {}

    def read(self, rel):
        if rel in self.overrides:
            return self.overrides[rel]
        if rel not in self._cache:
            with open(os.path.join(self.root, rel), encoding='utf-8', errors='replace') as f:
                self._cache[rel] = f.read()
        return self._cache[rel]

    def exists(self, rel):
        return rel in self.overrides or os.path.isfile(os.path.join(self.root, rel))

    def listdir(self, rel):
        names = set()
        d = os.path.join(self.root, rel)
        if os.path.isdir(d):
            names.update(os.listdir(d))
        prefix = rel.rstrip('/') + '/'
        for k in self.overrides:
            if k.startswith(prefix) and '/' not in k[len(prefix):]:
                names.add(k[len(prefix):])
        return sorted(names)

    def overlay(self, **changes):
        """A copy with some files replaced: overlay(**{path: text})."""
        o = dict(self.overrides)
        o.update(changes)
        t = Tree(self.root, o)
        t._cache = self._cache
        return t

    def tracked_files(self):
        """Tracked files (git ls-files), else every file but build output."""
        try:
            out = subprocess.run(['git', '-C', self.root, 'ls-files', '-z'], capture_output=True,
                                 check=True).stdout.decode('utf-8', 'replace')
            files = [f for f in out.split('\0') if f]
        except (OSError, subprocess.CalledProcessError):
            files = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = [d for d in dirnames
                               if d != '.git' and not d.startswith('build') and d != 'node_modules']
                for n in filenames:
                    files.append(os.path.relpath(os.path.join(dirpath, n), self.root))
        files = [f for f in files if '/node_modules/' not in '/' + f]
        for k in self.overrides:
            if k not in files:
                files.append(k)
        return sorted(files)

    def read_bytes(self, rel):
        if rel in self.overrides:
            return self.overrides[rel].encode('utf-8')
        try:
            with open(os.path.join(self.root, rel), 'rb') as f:
                return f.read()
        except OSError:
            return b''


def fmt(names):
    return ', '.join(sorted(names))


def compare(what, left_name, left, right_name, right):
    """Problems for the names in one set and not the other."""
    out = []
    if set(left) - set(right):
        out.append('%s: in %s but not in %s: %s' % (what, left_name, right_name,
                                                   fmt(set(left) - set(right))))
    if set(right) - set(left):
        out.append('%s: in %s but not in %s: %s' % (what, right_name, left_name,
                                                   fmt(set(right) - set(left))))
    return out


def table_rows(text):
    """The cells of every markdown table body row of text, with the line's
    heading path: [(heading, [cells])]."""
    rows = []
    heading = ''
    for line in text.splitlines():
        if line.startswith('#'):
            heading = line.lstrip('#').strip()
            continue
        s = line.strip()
        if not (s.startswith('|') and s.endswith('|')):
            continue
        cells = [c.strip() for c in re.split(r'(?<!\\)\|', s[1:-1])]
        if all(re.fullmatch(r':?-+:?', c) for c in cells if c):
            continue
        rows.append((heading, cells))
    return rows


def ticks(cell):
    """The `backticked` pieces of a table cell."""
    return re.findall(r'`([^`]+)`', cell)


def c_function(text, name):
    """The body of the C function name in text, or None."""
    m = re.search(r'\b' + re.escape(name) + r'\s*\([^;{]*\)\s*\{', text)
    if m is None:
        return None
    end = text.find('\n}', m.end())
    return text[m.end():end if end >= 0 else len(text)]


# ---------------------------------------------------------------------------
# config

CONFIG_C = 'core/config/config.c'
CONFIG_MD = 'docs/configuration.md'
CONFIG_INI = 'conf/memproxy.ini'

TYPE_NAMES = {'K_ADDR': 'address', 'K_OPTADDR': 'address', 'K_URL': 'URL', 'K_OPTURL': 'URL', 'K_UINT': 'integer',
              'K_BOOL': 'boolean', 'K_RATIO': 'number', 'K_ENUM': 'enum', 'K_TOKEN': 'header name',
              'K_OPTTOKEN': 'header name',
              'K_MODEL': 'string', 'K_SECRET': 'secret', 'K_KEY': 'key', 'K_CONNINFO': 'connection string',
              'K_TEXT': 'text',
              'K_PATH': 'path', 'K_OPTPATH': 'path'}


def code_keys(tree):
    """{(section, key): {type, min, max, names}} from core/config/config.c's table."""
    text = tree.read(CONFIG_C)
    arrays = {}
    for m in re.finditer(r'static const char \*const (\w+)\[\]\s*=\s*\{([^}]*)\}', text):
        arrays[m.group(1)] = re.findall(r'"([^"]*)"', m.group(2))
    keys = {}
    row = re.compile(r'\{\s*"(\w+)",\s*"(\w+)",\s*(K_\w+),\s*FIELD\([^)]*\),\s*(\w+),\s*(\w+),'
                     r'\s*(\w+)\s*\}')
    for m in row.finditer(text):
        sec, key, typ, lo, hi, names = m.groups()
        keys[(sec, key)] = {'type': typ, 'min': lo.rstrip('uUlL'), 'max': hi.rstrip('uUlL'),
                            'names': arrays.get(names, []) if names != 'NULL' else []}
    return keys


def doc_keys(tree):
    """{(section, key): {type, default, allowed, reload}} from the per-section
    tables (## [section]) of docs/configuration.md."""
    out = {}
    for heading, cells in table_rows(tree.read(CONFIG_MD)):
        m = re.fullmatch(r'`?\[(\w+)\]`?', heading)
        if m is None or len(cells) < 6:
            continue
        name = ticks(cells[0])
        if len(name) != 1 or not re.fullmatch(r'\w+', name[0]):
            continue
        out[(m.group(1), name[0])] = {'type': cells[1], 'default': cells[2], 'allowed': cells[3],
                                      'reload': cells[4]}
    return out


def ini_keys(tree):
    """{(section, key): default text} from conf/memproxy.ini."""
    out = {}
    section = None
    for line in tree.read(CONFIG_INI).splitlines():
        s = line.strip()
        if not s or s[0] in ';#':
            continue
        m = re.match(r'\[(\w+)\]', s)
        if m:
            section = m.group(1)
            continue
        m = re.match(r'([\w.-]+)\s*=\s*(.*)$', s)
        if m and section:
            value = re.split(r'\s[;#]', ' ' + m.group(2), maxsplit=1)[0].strip()
            out[(section, m.group(1))] = value
    return out


def restart_keys(tree):
    """(section, key) pairs a reload keeps: those proxy/server.c's
    keep_restart_only keeps, and those storage/store_open.c's mp_store_lmdb_options reads
    (the store is opened once). None when a function is not found."""
    keep = c_function(tree.read('proxy/server.c'), 'keep_restart_only')
    opts = c_function(tree.read('storage/store_open.c'), 'mp_store_lmdb_options')
    if keep is None or opts is None:
        return None
    pairs = set(re.findall(r'old->(\w+)\.(\w+)', keep))
    pairs |= set(re.findall(r'cfg->(\w+)\.(\w+)', opts))
    return pairs


def keyname(k):
    return '[%s] %s' % k


def check_config(tree):
    problems = []
    code = code_keys(tree)
    docs = doc_keys(tree)
    ini = ini_keys(tree)
    if not code:
        return ['config: no key rows found in %s (did the table change shape? update '
                'tests/lint/docs_complete.py)' % CONFIG_C]
    problems += compare('configuration keys', CONFIG_C, [keyname(k) for k in code], CONFIG_MD,
                        [keyname(k) for k in docs])
    problems += compare('configuration keys', CONFIG_C, [keyname(k) for k in code], CONFIG_INI,
                        [keyname(k) for k in ini])
    restart = restart_keys(tree)
    if restart is None:
        problems.append('config: cannot find keep_restart_only in proxy/server.c or mp_store_lmdb_options '
                        'in storage/store_open.c, which say which keys need a restart; update '
                        'tests/lint/docs_complete.py')
        restart = set()
    for k in sorted(set(code) & set(docs)):
        c, d = code[k], docs[k]
        want = TYPE_NAMES.get(c['type'])
        if d['type'] != want:
            problems.append('config: %s is %s in %s, documented as type %r (want %r)'
                            % (keyname(k), c['type'], CONFIG_C, d['type'], want))
        if c['type'] in ('K_UINT', 'K_RATIO'):
            rng = '%s..%s' % (c['min'], c['max'])
            if rng not in ticks(d['allowed']):
                problems.append('config: %s allows %s in %s; docs/configuration.md says %r'
                                % (keyname(k), rng, CONFIG_C, d['allowed']))
        if c['type'] == 'K_ENUM':
            problems += compare('config: the values of %s' % keyname(k), CONFIG_C, c['names'],
                                CONFIG_MD, ticks(d['allowed']))
        if c['type'] == 'K_BOOL' and not {'true', 'false'} <= set(ticks(d['allowed'])):
            problems.append('config: %s is a boolean; its allowed values should show `true`, '
                            '`false`' % keyname(k))
        if k in ini:
            shown = ticks(d['default'])
            doc_default = shown[0] if len(shown) == 1 else ('' if d['default'] == 'empty' else None)
            if doc_default != ini[k]:
                problems.append('config: the default of %s is %r in %s, %r in %s'
                                % (keyname(k), ini[k], CONFIG_INI, d['default'], CONFIG_MD))
        if restart:
            want_reload = 'restart' if k in restart else 'yes'
            if d['reload'] != want_reload:
                problems.append('config: %s reload is %r in %s; the code says %r (proxy/server.c '
                                'keep_restart_only, storage/store_open.c mp_store_lmdb_options)'
                                % (keyname(k), d['reload'], CONFIG_MD, want_reload))
    return problems


# ---------------------------------------------------------------------------
# env


def env_name(k):
    return 'MEMPROXY_%s_%s' % (k[0].upper(), k[1].upper())


def run_check_config(binary, extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}
    env.update(extra)
    r = subprocess.run([binary, '--check-config'], env=env, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode('utf-8', 'replace') + r.stderr.decode('utf-8', 'replace')


def check_env(tree, binary, documented=None):
    """documented: {(section, key)} (default: docs/configuration.md's)."""
    problems = []
    keys = sorted(documented if documented is not None else doc_keys(tree))
    ini = ini_keys(tree)
    values = {env_name(k): ini.get(k, '') for k in keys}
    rc, out = run_check_config(binary, values)
    if rc != 0:  # find which ones
        bad = []
        for k in keys:
            rc1, out1 = run_check_config(binary, {env_name(k): values[env_name(k)]})
            if rc1 != 0:
                bad.append('%s (%s)' % (env_name(k), out1.strip().splitlines()[-1] if out1.strip()
                                        else 'exit %d' % rc1))
        problems.append('environment: memproxy --check-config refuses documented keys set to '
                        'their default: %s' % '; '.join(bad or [out.strip()]))
    rc, out = run_check_config(binary, {'MEMPROXY_SERVER_NO_SUCH_KEY_DOCS_TEST': '1'})
    if rc != 1 or 'MEMPROXY_SERVER_NO_SUCH_KEY_DOCS_TEST' not in out:
        problems.append('environment: an unknown MEMPROXY_ variable should fail --check-config '
                        'with exit 1 and name it (docs/cli.md); got exit %d: %s' % (rc, out.strip()))
    rc, out = run_check_config(binary, {'MEMPROXY_TEST_DOCS_IGNORED': '1'})
    if rc != 0:
        problems.append('environment: MEMPROXY_TEST_* should be ignored by the configuration '
                        '(docs/cli.md); got exit %d: %s' % (rc, out.strip()))
    r = subprocess.run([binary, '-c', os.path.join(tree.root, CONFIG_INI), '--check-config'],
                       env={k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')},
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        problems.append('environment: conf/memproxy.ini does not pass --check-config: %s'
                        % r.stderr.decode('utf-8', 'replace').strip())
    return problems


# ---------------------------------------------------------------------------
# options

CLI_MD = 'docs/cli.md'
OPTION_RE = re.compile(r'(?<![\w-])(--?[A-Za-z][\w-]*)')


def help_options(help_text):
    return set(OPTION_RE.findall(help_text))


def help_commands(help_text):
    return set(re.findall(r'^\s*(?:usage:\s*)?memproxy\s+([a-z][a-z0-9-]*)\b', help_text,
                          re.MULTILINE))


def main_options(tree):
    """Options proxy/main.c compares arguments with ("-c", "--config=")."""
    return {m.rstrip('=') for m in re.findall(r'"(--?[A-Za-z][\w-]*=?)"', tree.read('proxy/main.c'))}


def doc_options(tree):
    opts, cmds = set(), set()
    for heading, cells in table_rows(tree.read(CLI_MD)):
        if heading == 'Options':
            for t in ticks(cells[0]):
                opts.update(OPTION_RE.findall(t))
        elif heading == 'Commands':
            for t in ticks(cells[0]):
                cmds.add(t.split()[0])
    return opts, cmds


def check_options(tree, help_text):
    code_opts = help_options(help_text) | main_options(tree)
    opts, cmds = doc_options(tree)
    problems = compare('command-line options', 'memproxy --help and proxy/main.c', code_opts,
                       CLI_MD + ' (Options)', opts)
    problems += compare('commands', 'memproxy --help', help_commands(help_text),
                        CLI_MD + ' (Commands)', cmds)
    return problems


# ---------------------------------------------------------------------------
# routes (data plane)

HTTP_MD = 'docs/http-api.md'
METHOD_RE = re.compile(r'^[A-Z]+$')


def plane_sources(tree):
    return ['core/wire/route.c'] + ['proxy/plane/' + n for n in tree.listdir('proxy/plane')
                               if n.endswith('.c')]


def code_routes(tree):
    """({path}, {prefix}, {path: {method}}, {memory route methods})."""
    paths, prefixes, methods, memory_methods = set(), set(), {}, set()
    for rel in plane_sources(tree):
        text = tree.read(rel)
        lits = set(re.findall(r'"(/v1/[^"\s]*)"', text))
        for p in lits:
            (prefixes if p.endswith('/') else paths).add(p)
        pat = (r'path_is\(\w+,\s*\w+,\s*"(/v1/[^"]+)"\)\s*&&\s*method_len\s*==\s*\d+\s*&&\s*'
               r'memcmp\(method,\s*"([A-Z]+)"')
        for p, m in re.findall(pat, text):
            methods.setdefault(p, set()).add(m)
        if any(p.startswith(MEMORY_PREFIX) for p in lits):
            memory_methods |= set(re.findall(r'method_is\(\w+,\s*"([A-Z]+)"\)', text))
    prefixes.discard('/v1/')
    return paths, prefixes, methods, memory_methods


def doc_routes(tree):
    """{path: {method}} from the routes table of docs/http-api.md."""
    out = {}
    for heading, cells in table_rows(tree.read(HTTP_MD)):
        if heading != 'Routes' or len(cells) < 2:
            continue
        ms = ticks(cells[0])
        ps = ticks(cells[1])
        if ms and all(METHOD_RE.match(m) for m in ms) and len(ps) == 1 and ps[0].startswith('/'):
            out.setdefault(ps[0], set()).update(ms)
    return out


def check_routes(tree):
    paths, prefixes, methods, memory_methods = code_routes(tree)
    docs = doc_routes(tree)
    if not paths:
        return ['routes: no /v1/ paths found in %s' % fmt(plane_sources(tree))]
    problems = compare('data-plane routes', 'core/wire/route.c and proxy/plane/', paths,
                       HTTP_MD + ' (Routes)', docs)
    for pre in sorted(prefixes):
        if not any(p.startswith(pre) or p == pre.rstrip('/') for p in docs):
            problems.append('data-plane routes: the code routes paths under %s; %s documents none'
                            % (pre, HTTP_MD))
    for p, ms in sorted(methods.items()):
        if p in docs and docs[p] != ms:
            problems += compare('methods of %s' % p, 'core/wire/route.c', ms, HTTP_MD, docs[p])
    doc_mem = set()
    for p, ms in docs.items():
        if p == MEMORY_PREFIX or p.startswith(MEMORY_PREFIX + '/'):
            doc_mem |= ms
    problems += compare('methods of the %s routes' % MEMORY_PREFIX, 'proxy/plane/ (method_is)',
                        memory_methods, HTTP_MD, doc_mem)
    return problems


# ---------------------------------------------------------------------------
# admin routes

ADMIN_DOCS = ('docs/admin-api.md', 'docs/operations.md')


def code_admin_routes(tree):
    """{path: {method}} from core/adminpath.h's enum comments and admin.c."""
    out = {}
    for path, ms in re.findall(r'/\*\s*(/admin/\S+)\s+([A-Z]+(?:\s*,\s*[A-Z]+)*)',
                               tree.read('core/adminpath.h')):
        out[path] = set(re.findall(r'[A-Z]+', ms))
    admin = tree.read('proxy/admin/admin.c')
    head = 'memcmp(head->method, "HEAD"' in admin
    for path in re.findall(r'\bget\s*&&\s*target_is\(\w+,\s*"(/[^"]*)"\)', admin):
        out[path] = {'GET'} | ({'HEAD'} if head else set())
    return out


def doc_admin_routes(tree):
    out = {}
    for rel in ADMIN_DOCS:
        for _, cells in table_rows(tree.read(rel)):
            if len(cells) < 2:
                continue
            ps = ticks(cells[0])
            ms = [m.strip() for m in cells[1].split(',')]
            if (len(ps) == 1 and ps[0].startswith('/') and cells[0] == '`%s`' % ps[0]
                    and ms and all(METHOD_RE.match(m) for m in ms)):
                out.setdefault(ps[0], set()).update(ms)
    return out


def check_admin(tree):
    code = code_admin_routes(tree)
    docs = doc_admin_routes(tree)
    if not code:
        return ['admin routes: none found in core/adminpath.h or proxy/admin/admin.c']
    problems = compare('admin-listener routes', 'core/adminpath.h and proxy/admin/admin.c', code,
                       ' and '.join(ADMIN_DOCS), docs)
    for p in sorted(set(code) & set(docs)):
        if code[p] != docs[p]:
            problems += compare('methods of %s' % p, 'the code', code[p], 'the docs', docs[p])
    return problems


# ---------------------------------------------------------------------------
# metrics

METRICS_MD = 'docs/metrics.md'
METRIC_SOURCES = ('proxy/metrics.c', 'proxy/admin/admin.c')


def code_metrics(tree):
    """{name: (type, {label})}."""
    out = {}
    labels = {}
    for rel in METRIC_SOURCES:
        text = tree.read(rel)
        for name, typ in re.findall(r'# TYPE (memproxy_\w+) (\w+)', text):
            out[name] = typ
        for name in re.findall(r'put_histogram\(\s*\w+,\s*"(memproxy_\w+)"', text):
            out[name] = 'histogram'
        for name, body in re.findall(r'(memproxy_\w+)\{([^}]*)\}', text):
            labels.setdefault(name, set()).update(re.findall(r'(\w+)=\\"', body))
    return {n: (t, labels.get(n, set())) for n, t in out.items()}


def doc_metrics(tree):
    out = {}
    for _, cells in table_rows(tree.read(METRICS_MD)):
        if len(cells) < 4:
            continue
        name = ticks(cells[0])
        if len(name) == 1 and name[0].startswith('memproxy_'):
            out[name[0]] = (cells[1], set(ticks(cells[2])))
    return out


def check_metrics(tree):
    code = code_metrics(tree)
    docs = doc_metrics(tree)
    if not code:
        return ['metrics: no # TYPE lines found in %s' % fmt(METRIC_SOURCES)]
    problems = compare('metrics', ' and '.join(METRIC_SOURCES), code, METRICS_MD, docs)
    for n in sorted(set(code) & set(docs)):
        if code[n][0] != docs[n][0]:
            problems.append('metrics: %s is a %s in the code, documented as %r'
                            % (n, code[n][0], docs[n][0]))
        problems += compare('labels of %s' % n, 'the code', code[n][1], METRICS_MD, docs[n][1])
    return problems


# ---------------------------------------------------------------------------
# errors

RESPOND_C = 'proxy/net/respond.c'


def code_errors(tree):
    return {(int(s), t, c) for s, t, c in re.findall(
        r'\[MP_PERR_\w+\]\s*=\s*\{\s*(\d+),\s*"[^"]*",\s*"(\w+)",\s*"(\w+)"', tree.read(RESPOND_C))}


def doc_errors(tree):
    out = set()
    for heading, cells in table_rows(tree.read(HTTP_MD)):
        if heading != 'Errors' or len(cells) < 4 or not re.fullmatch(r'\d{3}', cells[0]):
            continue
        t, c = ticks(cells[1]), ticks(cells[2])
        if len(t) == 1 and len(c) == 1:
            out.add((int(cells[0]), t[0], c[0]))
    return out


def check_errors(tree):
    code = code_errors(tree)
    if not code:
        return ['errors: no rows found in %s\'s table' % RESPOND_C]
    show = lambda e: '%s (%d, %s)' % (e[2], e[0], e[1])
    return compare('errors (code, status, type)', RESPOND_C, [show(e) for e in code],
                   HTTP_MD + ' (Errors)', [show(e) for e in doc_errors(tree)])


def code_memory_errors(tree):
    reqmem = tree.read('proxy/plane/reqmem.c')
    codes = set(re.findall(r'\bfail\(\w+,\s*\w+,\s*"(\w+)"\)', reqmem))
    codes |= set(re.findall(r'->(?:turn_)?error\s*=\s*"(\w+)"', reqmem))
    body = c_function(tree.read('proxy/memory/memworker.c'), 'mp_memworker_write_error')
    if body is not None:
        codes |= set(re.findall(r'"(\w+)"', body))
    return codes, body is not None


def doc_memory_errors(tree):
    out = set()
    rows = table_rows(tree.read(HTTP_MD))
    for heading, cells in rows:
        if heading == 'Response headers' and len(cells) == 2 and cells[0] != 'code':
            t = ticks(cells[0])
            if len(t) == 1 and re.fullmatch(r'[a-z_]+', t[0]):
                out.add(t[0])
    return out


def check_memory_errors(tree):
    codes, found = code_memory_errors(tree)
    problems = []
    if not found:
        problems.append('X-Memory-Error: mp_memworker_write_error not found in '
                        'proxy/memory/memworker.c; update tests/lint/docs_complete.py')
    return problems + compare('X-Memory-Error codes', 'proxy/plane/reqmem.c and '
                              'proxy/memory/memworker.c', codes, HTTP_MD + ' (Response headers)',
                              doc_memory_errors(tree))


# ---------------------------------------------------------------------------
# outside references


def check_outside(tree):
    problems = []
    for rel in tree.tracked_files():
        data = tree.read_bytes(rel)
        if b'\0' in data:
            continue
        text = data.decode('utf-8', 'replace')
        for marker in OUTSIDE_MARKERS:
            for m in re.finditer(re.escape(marker), text):
                if text.startswith(BSD_DISCLAIMER, m.start() - len('WHETHER IN ')):
                    continue  # a BSD license's disclaimer, kept verbatim (core/recall/stopwords/LICENSE)
                line = text.count('\n', 0, m.start()) + 1
                problems.append('outside reference: %s:%d mentions %r (the repository must stand '
                                'on its own)' % (rel, line, marker))
    user_pages = ['README.md'] + ['docs/' + n for n in tree.listdir('docs') if n.endswith('.md')]
    for rel in user_pages:
        text = tree.read(rel)
        for m in re.finditer(r'\bthe contract\b', text, re.IGNORECASE):
            line = text.count('\n', 0, m.start()) + 1
            problems.append('outside reference: %s:%d speaks of "the contract": say what memproxy '
                            'does instead' % (rel, line))
    return problems


# ---------------------------------------------------------------------------
# links


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r'[^\w\- ]', '', s)
    return s.replace(' ', '-')


def anchors(text):
    out = set()
    seen = {}
    in_code = False
    for line in text.splitlines():
        if line.startswith('```'):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r'#{1,6}\s+(.*)', line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            out.add(base if n == 0 else '%s-%d' % (base, n))
            seen[base] = n + 1
    return out


def md_links(text):
    """Relative link targets of a markdown text, outside code blocks."""
    out = []
    in_code = False
    for line in text.splitlines():
        if line.startswith('```'):
            in_code = not in_code
        if in_code or line.startswith('    '):
            continue
        line = re.sub(r'`[^`]*`', '', line)
        out += re.findall(r'\]\(([^)\s]+)\)', line)
    return [t for t in out if not re.match(r'[a-z]+:', t)]


def check_links(tree):
    problems = []
    pages = [n for n in tree.listdir('docs') if n.endswith('.md')]
    readme = tree.read('README.md')
    if 'docs/README.md' not in md_links(readme):
        problems.append('links: README.md does not link docs/README.md')
    index = set(md_links(tree.read('docs/README.md')))
    missing = [p for p in pages if p != 'README.md' and p not in index]
    if missing:
        problems.append('links: docs/README.md does not link these pages of docs/: %s'
                        % fmt(missing))
    for rel in ['README.md'] + ['docs/' + p for p in pages]:
        base = os.path.dirname(rel)
        for target in md_links(tree.read(rel)):
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(base, path)) if path else rel
            if dest.startswith('..'):
                problems.append('links: %s links %s, outside the repository' % (rel, target))
                continue
            is_dir = path.endswith('/') or os.path.isdir(os.path.join(tree.root, dest))
            if not is_dir and not tree.exists(dest):
                problems.append('links: %s links %s, which does not exist' % (rel, target))
                continue
            if frag and dest.endswith('.md') and frag not in anchors(tree.read(dest)):
                problems.append('links: %s links %s: %s has no heading #%s' % (rel, target, dest,
                                                                              frag))
    named = {}
    for rel in tree.tracked_files():
        if rel == 'tests/lint/docs_complete.py':  # names made-up pages in its self-test
            continue
        data = tree.read_bytes(rel)
        if b'\0' in data:
            continue
        for m in re.finditer(r'(?<![\w./-])docs/([\w-]+\.md)', data.decode('utf-8', 'replace')):
            named.setdefault(m.group(1), rel)
    for page, rel in sorted(named.items()):
        if not tree.exists('docs/' + page):
            problems.append('links: %s names docs/%s, which does not exist' % (rel, page))
    return problems


# ---------------------------------------------------------------------------


def memproxy_help(binary):
    r = subprocess.run([binary, '--help'], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise SystemExit('memproxy --help exited %d' % r.returncode)
    return r.stdout.decode('utf-8', 'replace')


def run_all(tree, binary):
    help_text = memproxy_help(binary)
    checks = [
        ('config', lambda: check_config(tree)),
        ('env', lambda: check_env(tree, binary)),
        ('options', lambda: check_options(tree, help_text)),
        ('routes', lambda: check_routes(tree)),
        ('admin', lambda: check_admin(tree)),
        ('metrics', lambda: check_metrics(tree)),
        ('errors', lambda: check_errors(tree)),
        ('memerrors', lambda: check_memory_errors(tree)),
        ('outside', lambda: check_outside(tree)),
        ('links', lambda: check_links(tree)),
    ]
    failed = 0
    for name, fn in checks:
        problems = list(dict.fromkeys(fn()))  # each once, in order
        if problems:
            failed += 1
            print('FAIL %s' % name)
            for p in problems:
                print('  ' + p)
        else:
            print('ok   %s' % name)
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# self-test: each check, run on doctored copies, reports the doctored name


def drop_line(text, needle):
    lines = text.splitlines(True)
    hits = [i for i, l in enumerate(lines) if needle in l]
    assert hits, 'self-test: %r not found' % needle
    del lines[hits[0]]
    return ''.join(lines)


def replace_once(text, old, new):
    assert old in text, 'self-test: %r not found' % old
    return text.replace(old, new, 1)


def expect(name, problems, *needles):
    """Each needle is in the report: a string anywhere, a tuple's parts all
    in one line of it (other names may share the line)."""
    text = '\n'.join(problems)
    for n in needles:
        parts = n if isinstance(n, tuple) else (n,)
        if not any(all(p in line for p in parts) for line in problems):
            raise AssertionError('self-test %s: expected %r in the report, got:\n%s'
                                 % (name, n, text or '(nothing)'))
    print('ok   self-test %s' % name)


def self_test(tree, binary):
    help_text = memproxy_help(binary)
    md, c, ini = tree.read(CONFIG_MD), tree.read(CONFIG_C), tree.read(CONFIG_INI)
    # config: a key only in the code, one only in the docs, one missing from the ini
    t = tree.overlay(**{CONFIG_C: replace_once(c, '{"log", "format",',
                                               '{"log", "colour", K_BOOL, FIELD(log.level), 0, 0, '
                                               'NULL},\n    {"log", "format",')})
    expect('config/code-only', check_config(t), 'but not in docs/configuration.md: [log] colour',
           'but not in conf/memproxy.ini: [log] colour')
    t = tree.overlay(**{CONFIG_MD: drop_line(md, '| `summarize_at` |')})
    expect('config/doc-missing', check_config(t),
           'in core/config/config.c but not in docs/configuration.md: [memory] summarize_at')
    t = tree.overlay(**{CONFIG_INI: drop_line(ini, 'history_per_fact =')})
    expect('config/ini-missing', check_config(t),
           'in core/config/config.c but not in conf/memproxy.ini: [governance] history_per_fact')
    t = tree.overlay(**{CONFIG_MD: replace_once(md, '| `workers` | integer | `0` | `0..256`',
                                                '| `workers` | integer | `1` | `0..255`')})
    expect('config/range-default', check_config(t), '[server] workers allows 0..256',
           'the default of [server] workers')
    t = tree.overlay(**{CONFIG_MD: replace_once(md, '`json`, `text`', '`json`, `text`, `yaml`')})
    expect('config/enum', check_config(t), 'in docs/configuration.md but not in core/config/config.c: yaml')
    t = tree.overlay(**{CONFIG_MD: replace_once(
        md, '| `listen` | address | `127.0.0.1:8080` | `host:port`, `[ipv6]:port` | restart |',
        '| `listen` | address | `127.0.0.1:8080` | `host:port`, `[ipv6]:port` | yes |')})
    expect('config/reload', check_config(t), "[server] listen reload is 'yes'")
    # env: a documented key memproxy does not know
    expect('env', check_env(tree, binary, set(doc_keys(tree)) | {('server', 'no_such_key')}),
           'MEMPROXY_SERVER_NO_SUCH_KEY')
    # options
    expect('options/help-only', check_options(tree, help_text + '  --frobnicate  nothing\n'),
           'but not in docs/cli.md (Options): --frobnicate')
    t = tree.overlay(**{CLI_MD: drop_line(tree.read(CLI_MD), '| `--version` |')})
    expect('options/doc-missing', check_options(t, help_text),
           'in memproxy --help and proxy/main.c but not in docs/cli.md (Options): --version')
    expect('options/command', check_options(tree, help_text + 'usage: memproxy frob ARGS\n'),
           'in memproxy --help but not in docs/cli.md (Commands): frob')
    # routes
    route = tree.read('core/wire/route.c')
    t = tree.overlay(**{'core/wire/route.c': replace_once(route, '"/v1/responses"', '"/v1/replies"')})
    expect('routes/path', check_routes(t),
           ('in core/wire/route.c and proxy/plane/ but not in docs/http-api.md (Routes):', '/v1/replies'),
           ('in docs/http-api.md (Routes) but not in core/wire/route.c and proxy/plane/:', '/v1/responses'))
    http = tree.read(HTTP_MD)
    t = tree.overlay(**{HTTP_MD: replace_once(http, '| `POST` | `/v1/chat/completions` |',
                                              '| `PUT` | `/v1/chat/completions` |')})
    expect('routes/method', check_routes(t), 'methods of /v1/chat/completions')
    t = tree.overlay(**{HTTP_MD: replace_once(http, '| `PUT`, `DELETE` | `/v1/memory/entities/{key}` |',
                                              '| `PATCH`, `DELETE` | `/v1/memory/entities/{key}` |')})
    expect('routes/memory-method', check_routes(t), 'PATCH')
    # admin
    ah = tree.read('core/adminpath.h')
    t = tree.overlay(**{'core/adminpath.h': replace_once(
        ah, '/* /admin/compact ', '/* /admin/defrag                   POST */\n    /* /admin/compact ')})
    expect('admin/path', check_admin(t), 'but not in docs/admin-api.md and docs/operations.md: '
           '/admin/defrag')
    ops = tree.read('docs/operations.md')
    t = tree.overlay(**{'docs/operations.md': drop_line(ops, '| `/readyz` |')})
    expect('admin/doc-missing', check_admin(t), '/readyz')
    # metrics
    mc = tree.read('proxy/metrics.c')
    t = tree.overlay(**{'proxy/metrics.c': mc + '\n"# TYPE memproxy_widgets_total counter\\n"\n'})
    expect('metrics/name', check_metrics(t), 'but not in docs/metrics.md: memproxy_widgets_total')
    mmd = tree.read(METRICS_MD)
    t = tree.overlay(**{METRICS_MD: replace_once(mmd, '| `memproxy_open_connections` | gauge |',
                                                 '| `memproxy_open_connections` | counter |')})
    expect('metrics/type', check_metrics(t), 'memproxy_open_connections is a gauge')
    t = tree.overlay(**{METRICS_MD: replace_once(mmd, '| `memproxy_upstream_errors_total` | counter '
                                                 '| `kind` |',
                                                 '| `memproxy_upstream_errors_total` | counter '
                                                 '| `kind`, `host` |')})
    expect('metrics/labels', check_metrics(t), 'labels of memproxy_upstream_errors_total')
    # errors
    rc = tree.read(RESPOND_C)
    t = tree.overlay(**{RESPOND_C: replace_once(rc, '"memory_full"', '"memory_exhausted"')})
    expect('errors/code', check_errors(t), 'in proxy/net/respond.c but not in docs/http-api.md '
           '(Errors): memory_exhausted (409, invalid_request_error)')
    t = tree.overlay(**{HTTP_MD: replace_once(http, '| 408 | `invalid_request_error` | `client_timeout`',
                                              '| 400 | `invalid_request_error` | `client_timeout`')})
    expect('errors/status', check_errors(t), 'client_timeout (400, invalid_request_error)')
    rq = tree.read('proxy/plane/reqmem.c')
    t = tree.overlay(**{'proxy/plane/reqmem.c': replace_once(rq, '"inject_failed"', '"splice_failed"')})
    expect('memerrors', check_memory_errors(t), 'splice_failed', 'inject_failed')
    # outside references and links
    t = tree.overlay(**{'docs/example.md': 'See ' + OUTSIDE_MARKERS[0] + '/X.md and '
                        + OUTSIDE_MARKERS[2] + 'x, as the contract says.\n'})
    expect('outside', check_outside(t), "docs/example.md:1 mentions '%s'" % OUTSIDE_MARKERS[0],
           "mentions '%s'" % OUTSIDE_MARKERS[2], 'speaks of "the contract"')
    t = tree.overlay(**{'docs/example.md': '# Example\n\n[x](nowhere.md) [y](cli.md#no-such-heading)\n'})
    expect('links', check_links(t), 'docs/README.md does not link these pages of docs/: example.md',
           'links nowhere.md, which does not exist', 'has no heading #no-such-heading')
    t = tree.overlay(**{'README.md': tree.read('README.md').replace('](docs/README.md)', '](docs/)')})
    expect('links/readme', check_links(t), 'README.md does not link docs/README.md')
    return 0


def main(argv):
    args = argv[1:]
    selftest = bool(args) and args[0] == '--self-test'
    if selftest:
        args = args[1:]
    if len(args) != 2:
        print(__doc__.strip().split('\n\n')[-2], file=sys.stderr)
        return 2
    tree = Tree(os.path.abspath(args[0]))
    binary = os.path.abspath(args[1])
    return self_test(tree, binary) if selftest else run_all(tree, binary)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
