"""The deployment kit, read as a machine would: the Dockerfile, conf/compose.yaml,
conf/kubernetes/ and conf/systemd/memproxy.service. Each check is one a broken
file would fail: wrong ports between probes and listeners, a sidecar that is
not one, MEMPROXY_* variables that are no configuration key (asked of the
built memproxy, which refuses unknown ones), configuration memproxy rejects,
missing hardening. The unit is checked by systemd-analyze verify on a copy
whose ExecStart points at the built binary (verify needs it to exist).

Needs python3-yaml and systemd-analyze (scripts/install-deps.sh --test)."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import yaml
except ImportError:  # an interpreter without PyYAML first on PATH: Debian's has it
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != '/usr/bin/python3' \
            and not os.environ.get('MEMPROXY_DEPLOY_REEXEC'):
        os.environ['MEMPROXY_DEPLOY_REEXEC'] = '1'
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    raise SystemExit('test_deploy: python3-yaml is missing (scripts/install-deps.sh --test)')

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'proxy'))
import harness  # noqa: E402
from harness import MEMPROXY_BIN, SOURCE_ROOT  # noqa: E402

CONF = os.path.join(SOURCE_ROOT, 'conf')
DATA = '/var/lib/memproxy'
UID = 10001
# Values for secrets the manifests take from elsewhere: valid for their keys.
PLACEHOLDER = {'MEMPROXY_UPSTREAM_API_KEY': 'sk-deploy-test',
               'MEMPROXY_ADMIN_TOKEN': 'deploy-test-token-6f2c9e1a7b4d0853',
               'MEMPROXY_SECURITY_USER_SIGNATURE_KEY': 'deploy-test-signature-key-1d8a4f7c2e9b',
               'MEMPROXY_PAGE_LINK_KEY': 'deploy-test-link-key-5b0e3a9d7c1f4286',
               'MEMPROXY_ANTHROPIC_API_KEY': 'sk-ant-deploy-test'}


def read(*parts):
    with open(os.path.join(SOURCE_ROOT, *parts), encoding='utf-8') as f:
        return f.read()


def default_drain_ms():
    """[server] drain_timeout_ms as conf/memproxy.ini documents its default."""
    m = re.search(r'^drain_timeout_ms\s*=\s*(\d+)', read('conf', 'memproxy.ini'), re.M)
    return int(m.group(1))


def key_file(tmp):
    """A valid 32-byte key file memproxy accepts (0600)."""
    path = os.path.join(tmp, 'test.key')
    with open(path, 'w') as f:
        f.write('00' * 32)
    os.chmod(path, 0o600)
    return path


def check_config(env, ini_text=None):
    """(exit status, output) of memproxy [-c FILE] --check-config with env
    (and nothing else of ours: no other MEMPROXY_* variable)."""
    with tempfile.TemporaryDirectory(prefix='memproxy-deploy-') as tmp:
        args = [MEMPROXY_BIN]
        if ini_text is not None:
            path = os.path.join(tmp, 'memproxy.ini')
            with open(path, 'w') as f:
                f.write(ini_text)
            args += ['-c', path]
        env = dict(env)
        for k, v in list(env.items()):
            if v == '@KEYFILE':
                env[k] = key_file(tmp)
            elif v == '@URLFILE':  # a connection string file (nothing connects)
                env[k] = os.path.join(tmp, 'postgres-url')
                with open(env[k], 'w') as f:
                    f.write('postgresql://memproxy@127.0.0.1:1/memproxy\n')
        r = subprocess.run(args + ['--check-config'], env=harness.child_env(env), cwd=tmp,
                           capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode('utf-8', 'replace')


def ini_keys(text):
    """{(section, key)} set in INI text (comments and blanks skipped)."""
    out, sec = set(), None
    for line in text.splitlines():
        line = line.split(';', 1)[0].split('#', 1)[0].strip()
        if line.startswith('['):
            sec = line.strip('[]').strip().lower()
        elif '=' in line and sec:
            out.add((sec, line.split('=', 1)[0].strip().lower()))
    return out


def ini_value(text, section, key):
    sec = None
    for line in text.splitlines():
        s = line.split(';', 1)[0].strip()
        if s.startswith('['):
            sec = s.strip('[]').strip().lower()
        elif '=' in s and sec == section and s.split('=', 1)[0].strip().lower() == key:
            return s.split('=', 1)[1].strip()
    return None


def env_key(name):
    """MEMPROXY_SERVER_ADMIN_LISTEN -> ('server', 'admin_listen')."""
    rest = name[len('MEMPROXY_'):].lower()
    sec, key = rest.split('_', 1)
    return sec, key


def port_of(addr):
    return int(addr.rsplit(':', 1)[1])


def host_of(addr):
    return addr.rsplit(':', 1)[0].strip('[]')


def probe_argv_target(argv):
    """(port, path) of the URL after --probe in a health check command."""
    i = argv.index('--probe')
    m = re.fullmatch(r'http://(127\.0\.0\.1|localhost|\[::1\]):(\d+)(/\S*)', argv[i + 1])
    assert m, 'not a loopback http:// probe URL: %r' % argv[i + 1]
    return int(m.group(2)), m.group(3)


class EnvKeysAreChecked(unittest.TestCase):
    """The means every other class uses: the built memproxy refuses an
    unknown MEMPROXY_* variable (so a typo in a manifest fails here)."""

    def test_unknown_variable_rejected(self):
        rc, out = check_config({'MEMPROXY_SERVER_ADMINLISTEN': '0.0.0.0:8081'})
        self.assertEqual(rc, 1, out)
        self.assertIn('unknown environment variable MEMPROXY_SERVER_ADMINLISTEN', out)

    def test_known_variable_accepted(self):
        rc, out = check_config({'MEMPROXY_SERVER_ADMIN_LISTEN': '0.0.0.0:8081'})
        self.assertEqual(rc, 0, out)


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------

def dockerfile_stages(text):
    """[(from line, [(INSTRUCTION, args)])] with continuation lines joined."""
    text = re.sub(r'\\\n', ' ', text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        word, _, args = line.partition(' ')
        word = word.upper()
        if word == 'FROM':
            stages.append((args.strip(), []))
        else:
            stages[-1][1].append((word, args.strip()))
    return stages


def exec_form(args):
    """The JSON array of an exec-form instruction, else None."""
    import json
    try:
        v = json.loads(args)
    except ValueError:
        return None
    return v if isinstance(v, list) else None


class Dockerfile(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile_stages(read('Dockerfile'))
        cls.build = cls.stages[0][1]
        cls.final_from, cls.final = cls.stages[-1]
        cls.env = {}
        for word, args in cls.final:
            if word == 'ENV':
                for item in shlex.split(args):
                    k, _, v = item.partition('=')
                    cls.env[k] = v

    def instr(self, word):
        return [a for w, a in self.final if w == word]

    def test_two_stages_build_on_debian_12_slim(self):
        self.assertGreaterEqual(len(self.stages), 2)
        self.assertRegex(self.stages[0][0], r'^debian:12-slim\s+AS\s+\w+$')
        runs = ' '.join(a for w, a in self.build if w == 'RUN')
        self.assertIn('meson setup', runs)
        self.assertIn('-Dtests=false', runs)
        self.assertIn('-Dbuildtype=release', runs)

    def test_final_stage_has_no_package_manager_or_compiler(self):
        self.assertNotRegex(self.final_from, r'debian|ubuntu|alpine|AS build')
        for w, a in self.final:
            self.assertNotEqual(w, 'RUN', 'a RUN in the runtime stage: %s' % a)
            self.assertNotRegex(a, r'\b(apt|apt-get|dpkg|gcc|cc|meson|ninja)\b')
        for a in self.instr('COPY') + self.instr('ADD'):
            self.assertRegex(a, r'^--from=', 'the runtime stage copies from the build context: %s' % a)

    def test_runtime_tree_holds_binary_libraries_and_ca_bundle(self):
        runs = ' '.join(a for w, a in self.build if w == 'RUN')
        self.assertIn('ldd /build/proxy/memproxy', runs)
        self.assertIn('/etc/ssl/certs/ca-certificates.crt', runs)
        self.assertIn('chroot "$root" /usr/bin/memproxy --version', runs)
        # the libraries loaded on demand are found through the loader's cache: any architecture
        self.assertIn('ldconfig -p', runs)
        self.assertNotIn('x86_64', runs)

    def test_user_is_numeric_and_not_root(self):
        users = self.instr('USER')
        self.assertEqual(len(users), 1, users)
        m = re.fullmatch(r'(\d+)(?::(\d+))?', users[0])
        self.assertIsNotNone(m, 'USER must be numeric (runAsNonRoot checks a number): %r' % users[0])
        self.assertEqual(int(m.group(1)), UID)
        self.assertNotEqual(int(m.group(2) or UID), 0)

    def test_listens_on_all_interfaces_and_exposes_both_ports(self):
        listen = self.env['MEMPROXY_SERVER_LISTEN']
        admin = self.env['MEMPROXY_SERVER_ADMIN_LISTEN']
        self.assertEqual(host_of(listen), '0.0.0.0')
        self.assertEqual(host_of(admin), '0.0.0.0')
        exposed = {int(p.split('/')[0]) for a in self.instr('EXPOSE') for p in a.split()}
        self.assertEqual(exposed, {port_of(listen), port_of(admin)})

    def test_data_volume_is_the_storage_path(self):
        self.assertEqual(self.env['MEMPROXY_STORAGE_PATH'], DATA)
        vols = [v for a in self.instr('VOLUME') for v in (exec_form(a) or a.split())]
        self.assertEqual(vols, [DATA])
        chowned = [a for a in self.instr('COPY') if DATA in a]
        self.assertTrue(chowned and all('--chown=%d:%d' % (UID, UID) in a for a in chowned),
                        'the data directory must belong to the runtime user: %r' % chowned)

    def test_env_names_are_config_keys(self):
        names = [k for k in self.env if k.startswith('MEMPROXY_')]
        self.assertTrue(names)
        rc, out = check_config({k: self.env[k] for k in names})
        self.assertEqual(rc, 0, out)

    def test_healthcheck_probes_the_admin_port_without_curl(self):
        hc = self.instr('HEALTHCHECK')
        self.assertEqual(len(hc), 1, hc)
        self.assertNotIn('curl', hc[0])
        self.assertNotIn('wget', hc[0])
        argv = exec_form(hc[0][hc[0].index('CMD') + 3:].strip())
        self.assertIsNotNone(argv, 'HEALTHCHECK CMD must be exec form (there is no shell)')
        self.assertEqual(argv[0], '/usr/bin/memproxy')
        port, path = probe_argv_target(argv)
        self.assertEqual(port, port_of(self.env['MEMPROXY_SERVER_ADMIN_LISTEN']))
        self.assertIn(path, ('/readyz', '/livez'))

    def test_entrypoint_exec_form_and_sigterm(self):
        ep = exec_form(self.instr('ENTRYPOINT')[0])
        self.assertEqual(ep, ['/usr/bin/memproxy'], 'exec form: memproxy must be PID 1')
        self.assertEqual(self.instr('STOPSIGNAL'), ['SIGTERM'])

    def test_dockerignore_keeps_builds_git_and_secrets_out(self):
        lines = set(read('.dockerignore').split('\n'))
        for p in ('.git', 'build*/', 'data/', 'conf/memproxy-secrets.env', 'conf/memproxy-encryption.key'):
            self.assertIn(p, lines)


# ---------------------------------------------------------------------------
# conf/compose.yaml
# ---------------------------------------------------------------------------

def duration_s(v):
    m = re.fullmatch(r'(\d+)(ms|s|m)?', str(v).strip())
    n = int(m.group(1))
    return {'ms': n / 1000.0, 's': n, 'm': n * 60, None: n}[m.group(2)]


def env_file_vars(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                k, _, v = line.partition('=')
                out[k] = v
    return out


def load_compose(cls, name):
    """conf/NAME parsed onto the test class: doc, services, mp (memproxy),
    app, env (memproxy's environment as strings)."""
    with open(os.path.join(CONF, name)) as f:
        cls.doc = yaml.safe_load(f)
    cls.services = cls.doc['services']
    cls.mp = cls.services['memproxy']
    cls.app = cls.services['app']
    cls.env = {str(k): str(v) for k, v in cls.mp['environment'].items()}


class Compose(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        load_compose(cls, 'compose.yaml')

    def test_app_shares_the_sidecars_network(self):
        self.assertEqual(self.app['network_mode'], 'service:memproxy')
        self.assertNotIn('ports', self.app, 'ports belong to the namespace owner')
        self.assertEqual(self.app['depends_on']['memproxy']['condition'], 'service_healthy')

    def test_app_reaches_the_data_plane_on_loopback(self):
        listen = self.env['MEMPROXY_SERVER_LISTEN']
        url = self.app['environment']['OPENAI_BASE_URL']
        self.assertEqual(url, 'http://127.0.0.1:%d/v1' % port_of(listen))
        self.assertEqual(host_of(listen), '127.0.0.1', 'the data plane is for the app alone')

    def test_read_only_non_root(self):
        self.assertIs(self.mp['read_only'], True)
        self.assertEqual(self.mp['user'], '%d:%d' % (UID, UID))
        self.assertEqual(self.mp['cap_drop'], ['ALL'])
        self.assertIn('no-new-privileges:true', self.mp['security_opt'])

    def test_named_volume_on_the_data_path(self):
        mounts = [v.split(':') for v in self.mp['volumes']]
        named = [m for m in mounts if m[1] == DATA]
        self.assertEqual(len(named), 1, mounts)
        self.assertIn(named[0][0], self.doc['volumes'], 'not a named volume: %r' % named[0][0])

    def test_secrets_declared_and_used(self):
        declared = self.doc['secrets']
        used = [s if isinstance(s, str) else s['source'] for s in self.mp['secrets']]
        self.assertEqual(sorted(used), sorted(declared))
        for name in used:
            self.assertIn('file', declared[name])
        key_path = self.env['MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE']
        self.assertEqual(os.path.dirname(key_path), '/run/secrets')
        self.assertIn(os.path.basename(key_path), used)

    def test_env_file_example_exists_and_sets_only_config_keys(self):
        env_file = self.mp['env_file']
        path = os.path.join(CONF, env_file + '.example')
        self.assertTrue(os.path.exists(path), path)
        example = env_file_vars(path)
        self.assertIn('MEMPROXY_UPSTREAM_API_KEY', example)
        self.assertIn('MEMPROXY_ADMIN_TOKEN', example)
        for k in example:
            self.assertNotIn(k, self.env, '%s set twice' % k)
        env = dict(self.env, **example)
        env['MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE'] = '@KEYFILE'
        rc, out = check_config(env)
        self.assertEqual(rc, 0, out)

    def test_healthcheck_probes_the_admin_port(self):
        test = self.mp['healthcheck']['test']
        self.assertEqual(test[:2], ['CMD', '/usr/bin/memproxy'])
        port, path = probe_argv_target(test[1:])
        self.assertEqual(port, port_of(self.env['MEMPROXY_SERVER_ADMIN_LISTEN']))
        self.assertEqual(path, '/readyz')
        self.assertEqual(host_of(self.env['MEMPROXY_SERVER_ADMIN_LISTEN']), '0.0.0.0')
        published = [str(p) for p in self.mp['ports']]
        self.assertEqual([p.rsplit(':', 1)[1] for p in published], [str(port)])

    def test_stop_grace_exceeds_the_drain(self):
        drain_ms = int(self.env.get('MEMPROXY_SERVER_DRAIN_TIMEOUT_MS', default_drain_ms()))
        self.assertEqual(self.mp['stop_signal'], 'SIGTERM')
        self.assertGreater(duration_s(self.mp['stop_grace_period']), drain_ms / 1000.0)


# ---------------------------------------------------------------------------
# conf/kubernetes/
# ---------------------------------------------------------------------------

def security_ok(test, ctx, pod_ctx, who):
    merged = dict(pod_ctx)
    merged.update(ctx)
    test.assertIs(merged.get('runAsNonRoot'), True, who)
    test.assertIsInstance(merged.get('runAsUser'), int, who)
    test.assertNotEqual(merged.get('runAsUser'), 0, who)
    test.assertIs(ctx.get('readOnlyRootFilesystem'), True, who)
    test.assertIs(ctx.get('allowPrivilegeEscalation'), False, who)
    test.assertEqual(ctx.get('capabilities', {}).get('drop'), ['ALL'], who)
    test.assertEqual(merged.get('seccompProfile', {}).get('type'), 'RuntimeDefault', who)


class Kubernetes(unittest.TestCase):
    KDIR = 'kubernetes'

    @classmethod
    def setUpClass(cls):
        kdir = os.path.join(CONF, cls.KDIR)
        with open(os.path.join(kdir, 'kustomization.yaml')) as f:
            cls.kustomization = yaml.safe_load(f)
        cls.files = sorted(f for f in os.listdir(kdir) if f.endswith('.yaml') and f != 'kustomization.yaml')
        cls.objs = {}
        for name in cls.kustomization['resources']:
            with open(os.path.join(kdir, name)) as f:
                for doc in yaml.safe_load_all(f):
                    cls.objs[(doc['kind'], doc['metadata']['name'])] = doc
        cls.deploy = next(o for (k, _), o in cls.objs.items() if k == 'Deployment')
        cls.pod = cls.deploy['spec']['template']['spec']
        cls.inits = cls.pod.get('initContainers', [])
        cls.mp = next(c for c in cls.inits if c['name'] == 'memproxy')
        cls.cm = next(o for (k, _), o in cls.objs.items() if k == 'ConfigMap')
        cls.ini = cls.cm['data']['memproxy.ini']
        cls.env = cls.container_env(cls.mp)
        cls.volumes = {v['name']: v for v in cls.pod['volumes']}
        cls.mounts = {m['mountPath']: m for m in cls.mp['volumeMounts']}

    @staticmethod
    def container_env(c):
        """{name: value}; secret references get a valid placeholder."""
        out = {}
        for e in c.get('env', []):
            out[e['name']] = e['value'] if 'value' in e else PLACEHOLDER.get(e['name'], 'deploy-test-secret')
        return out

    def effective(self, section, key, default):
        """A key's value in the memproxy container: env > ConfigMap > default."""
        name = 'MEMPROXY_%s_%s' % (section.upper(), key.upper())
        if name in self.env:
            return self.env[name]
        v = ini_value(self.ini, section, key)
        return v if v is not None else default

    def test_kustomization_lists_every_manifest(self):
        self.assertEqual(sorted(self.kustomization['resources']), self.files)

    def test_memproxy_is_a_native_sidecar(self):
        self.assertEqual(self.mp.get('restartPolicy'), 'Always')
        self.assertNotIn('memproxy', [c['name'] for c in self.pod['containers']])
        self.assertTrue(self.pod['containers'], 'no app container')
        self.assertNotIn('restartPolicy', self.pod['containers'][0])

    def test_one_store_one_pod(self):
        self.assertEqual(self.deploy['spec']['replicas'], 1)
        self.assertEqual(self.deploy['spec']['strategy']['type'], 'Recreate')
        pvc_name = self.volumes[self.mounts[DATA]['name']]['persistentVolumeClaim']['claimName']
        pvc = self.objs[('PersistentVolumeClaim', pvc_name)]
        self.assertEqual(pvc['spec']['accessModes'], ['ReadWriteOnce'])
        text = read('conf', 'kubernetes', 'deployment.yaml')
        self.assertIn('conf/kubernetes-postgres', text)
        self.assertIn('One LMDB store serves one pod', text)

    def test_pvc_mounted_at_the_storage_path(self):
        self.assertIn(DATA, self.mounts)
        self.assertNotIn('readOnly', self.mounts[DATA])
        self.assertEqual(self.effective('storage', 'path', DATA), DATA)  # the image's ENV

    def admin_port(self):
        admin = self.effective('server', 'admin_listen', '127.0.0.1:8081')
        self.assertIn(host_of(admin), ('0.0.0.0', '::'), 'the kubelet probes the pod IP: %s' % admin)
        return port_of(admin)

    def probe_port(self, probe):
        port = probe['httpGet']['port']
        if isinstance(port, str):
            port = next(p['containerPort'] for p in self.mp['ports'] if p.get('name') == port)
        return port

    def test_probes_hit_the_admin_listener(self):
        port = self.admin_port()
        self.assertEqual(self.mp['livenessProbe']['httpGet']['path'], '/livez')
        self.assertEqual(self.mp['readinessProbe']['httpGet']['path'], '/readyz')
        for kind in ('livenessProbe', 'readinessProbe', 'startupProbe'):
            self.assertEqual(self.probe_port(self.mp[kind]), port, kind)
        self.assertIn(port, [p['containerPort'] for p in self.mp['ports']])

    def test_app_reaches_the_data_plane_on_loopback(self):
        listen = self.effective('server', 'listen', '127.0.0.1:8080')
        app_env = {e['name']: e.get('value') for e in self.pod['containers'][0].get('env', [])}
        self.assertEqual(app_env['OPENAI_BASE_URL'], 'http://127.0.0.1:%d/v1' % port_of(listen))

    def test_config_map_mounted_where_memproxy_reads_it(self):
        args = self.mp['args']
        path = args[args.index('-c') + 1]
        mount = self.mounts[os.path.dirname(path)]
        self.assertEqual(self.volumes[mount['name']]['configMap']['name'], self.cm['metadata']['name'])
        self.assertIn(os.path.basename(path), self.cm['data'])

    def test_config_map_passes_check_config(self):
        env = dict(self.env, MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE='@KEYFILE')  # it exists only in a pod
        rc, out = check_config(env, self.ini)
        self.assertEqual(rc, 0, out)

    def test_config_map_sets_nothing_the_environment_overrides(self):
        shadowed = ini_keys(self.ini) & {env_key(k) for k in self.env}
        self.assertEqual(shadowed, set(), 'ignored in the pod: the environment wins')

    def test_env_names_are_config_keys(self):
        rc, out = check_config(self.env)
        self.assertNotIn('unknown environment variable', out)
        self.assertEqual(rc, 0, out)

    def test_secrets_exist_for_every_reference(self):
        secret_keys = {}
        for (kind, name), o in self.objs.items():
            if kind == 'Secret':
                secret_keys[name] = set(o.get('stringData', {})) | set(o.get('data', {}))
        refs = [e['valueFrom']['secretKeyRef'] for e in self.mp['env'] if 'valueFrom' in e]
        self.assertEqual({r['key'] for r in refs} - {'user-signature-key'},
                         {'upstream-api-key', 'admin-token'})
        for r in refs:
            self.assertIn(r['key'], secret_keys[r['name']])
        for v in self.volumes.values():
            if 'secret' in v:
                for item in v['secret'].get('items', []):
                    self.assertIn(item['key'], secret_keys[v['secret']['secretName']])

    def test_encryption_key_is_a_file_memproxy_can_use(self):
        path = ini_value(self.ini, 'storage', 'encryption_key_file')
        mount = self.mounts[os.path.dirname(path)]
        vol = self.volumes[mount['name']]
        self.assertEqual(vol['emptyDir'].get('medium'), 'Memory')
        # an init container before the sidecar writes it, owner-only
        names = [c['name'] for c in self.inits]
        writers = [c for c in self.inits[:names.index('memproxy')]
                   if any(m['name'] == mount['name'] for m in c.get('volumeMounts', []))]
        self.assertEqual(len(writers), 1, 'nothing writes %s before memproxy starts' % path)
        cmd = writers[0]['command']
        self.assertEqual(cmd[:3], ['install', '-m', '0400'])
        self.assertEqual(cmd[-1], path)

    def test_placeholder_encryption_key_is_refused(self):
        secret = next(o for (k, _), o in self.objs.items() if k == 'Secret')
        placeholder = secret['stringData']['encryption.key']
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, 'k')
            with open(p, 'w') as f:
                f.write(placeholder)
            os.chmod(p, 0o600)
            rc, out = check_config({'MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE': p})
        self.assertEqual(rc, 1, 'memproxy would start with the example key: ' + out)

    def test_security_contexts(self):
        pod_ctx = self.pod['securityContext']
        self.assertEqual(pod_ctx['runAsUser'], UID)
        self.assertEqual(pod_ctx['fsGroup'], UID)
        self.assertEqual(self.mp['securityContext']['runAsUser'], UID)
        for c in self.inits + self.pod['containers']:
            security_ok(self, c.get('securityContext', {}), pod_ctx, c['name'])

    def test_grace_period_exceeds_the_drain(self):
        drain_ms = int(self.effective('server', 'drain_timeout_ms', default_drain_ms()))
        self.assertGreater(self.pod['terminationGracePeriodSeconds'], drain_ms / 1000.0)


# ---------------------------------------------------------------------------
# conf/systemd/memproxy.service
# ---------------------------------------------------------------------------

def unit_directives(text):
    """{(section, key): [values]} of a unit file (every assignment kept)."""
    out, sec = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            sec = line.strip('[]')
        else:
            k, _, v = line.partition('=')
            out.setdefault((sec, k.strip()), []).append(v.strip())
    return out


class Systemd(unittest.TestCase):
    UNIT = os.path.join(CONF, 'systemd', 'memproxy.service')

    @classmethod
    def setUpClass(cls):
        with open(cls.UNIT) as f:
            cls.text = f.read()
        cls.d = unit_directives(cls.text)

    def one(self, key):
        v = self.d.get(('Service', key))
        self.assertIsNotNone(v, '%s= missing' % key)
        return v[-1]

    def test_hardening_directives(self):
        self.assertTrue(self.d.get(('Service', 'DynamicUser')) == ['yes'] or ('Service', 'User') in self.d)
        for key, want in (('StateDirectory', 'memproxy'), ('ProtectSystem', 'strict'), ('ProtectHome', 'yes'),
                          ('PrivateTmp', 'yes'), ('NoNewPrivileges', 'yes'), ('CapabilityBoundingSet', ''),
                          ('KillSignal', 'SIGTERM'), ('ExecReload', '/bin/kill -HUP $MAINPID')):
            self.assertEqual(self.one(key), want, key)
        families = set(self.one('RestrictAddressFamilies').split())
        self.assertTrue(families <= {'AF_INET', 'AF_INET6', 'AF_UNIX'}, families)
        self.assertIn('@system-service', self.d[('Service', 'SystemCallFilter')])

    def test_storage_in_the_state_directory(self):
        env = self.d[('Service', 'Environment')]
        self.assertIn('MEMPROXY_STORAGE_PATH=/var/lib/%s' % self.one('StateDirectory'), env)
        names = [e.split('=', 1)[0] for e in env]
        rc, out = check_config({n: DATA for n in names if n == 'MEMPROXY_STORAGE_PATH'})
        self.assertEqual(rc, 0, out)
        for n in names:
            self.assertTrue(n.startswith('MEMPROXY_'), n)

    def test_exec_start_reads_the_etc_config(self):
        argv = shlex.split(self.one('ExecStart'))
        self.assertTrue(argv[0].endswith('/memproxy'), argv)
        self.assertEqual(argv[1:], ['-c', '/etc/memproxy/memproxy.ini'])

    def test_stop_timeout_exceeds_the_drain(self):
        self.assertGreater(duration_s(self.one('TimeoutStopSec')), default_drain_ms() / 1000.0)

    def copy_with_built_binary(self, tmp):
        """The unit with its binary paths pointing at the built memproxy."""
        path = os.path.join(tmp, 'memproxy.service')
        text = re.sub(r'(?m)^(ExecStart(?:Pre)?=)\S+/memproxy\b', r'\g<1>' + MEMPROXY_BIN, self.text)
        self.assertIn(MEMPROXY_BIN, text)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def analyze(self, *args):
        exe = shutil.which('systemd-analyze')
        self.assertIsNotNone(exe, 'systemd-analyze missing: scripts/install-deps.sh --test installs systemd')
        return subprocess.run([exe] + list(args), capture_output=True, timeout=60)

    def test_systemd_analyze_verify_is_clean(self):
        # --man=no: the man page of Documentation= need not be installed here
        with tempfile.TemporaryDirectory() as tmp:
            r = self.analyze('verify', '--man=no', self.copy_with_built_binary(tmp))
        out = (r.stdout + r.stderr).decode()
        self.assertEqual((r.returncode, out), (0, ''))

    def test_systemd_analyze_verify_catches_a_broken_unit(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.copy_with_built_binary(tmp)
            with open(path, 'a') as f:
                f.write('ProtectSystem=sometimes\n')
            r = self.analyze('verify', '--man=no', path)
        self.assertIn(b'ProtectSystem', r.stdout + r.stderr)

    def test_exposure_level_at_most_2(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.analyze('security', '--offline=yes', '--man=no', self.copy_with_built_binary(tmp))
        out = r.stdout.decode()
        m = re.search(r'Overall exposure level for \S+: ([\d.]+)', out)
        self.assertIsNotNone(m, out[-2000:] + r.stderr.decode())
        self.assertLessEqual(float(m.group(1)), 2.0, out)


# ---------------------------------------------------------------------------
# docs/deployment.md
# ---------------------------------------------------------------------------

class KubernetesPostgres(Kubernetes):
    """conf/kubernetes-postgres: the app scaled out, every sidecar on one
    PostgreSQL database; the rest as conf/kubernetes."""
    KDIR = 'kubernetes-postgres'

    def test_one_store_one_pod(self):
        """Here the other way round: one store, every pod."""
        text = read('conf', self.KDIR, 'deployment.yaml')
        self.assertIn('every sidecar on one shared PostgreSQL', text)
        self.assertNotIn('PersistentVolumeClaim', [k for k, _ in self.objs])

    def test_pvc_mounted_at_the_storage_path(self):
        """No claim: the storage path is scratch for parked turns."""
        self.assertIn(DATA, self.mounts)
        self.assertNotIn('readOnly', self.mounts[DATA])
        self.assertIn('emptyDir', self.volumes[self.mounts[DATA]['name']])

    def test_replicas_share_one_database(self):
        self.assertGreater(self.deploy['spec']['replicas'], 1)
        self.assertEqual(self.deploy['spec']['strategy']['type'], 'RollingUpdate')
        self.assertNotIn('PersistentVolumeClaim', [k for k, _ in self.objs])
        self.assertEqual(self.effective('storage', 'backend', 'lmdb'), 'postgres')
        self.assertIn('emptyDir', self.volumes[self.mounts[DATA]['name']])  # parked turns only
        path = self.effective('storage', 'postgres_url_file', '')
        vol = self.volumes[self.mounts[os.path.dirname(path)]['name']]
        items = {i['path']: i['key'] for i in vol['secret']['items']}
        self.assertIn(os.path.basename(path), items)
        secret = self.objs[('Secret', vol['secret']['secretName'])]
        self.assertTrue(secret['stringData'][items[os.path.basename(path)]].startswith('postgresql://'))

    def test_config_map_passes_check_config(self):
        env = dict(self.env, MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE='@KEYFILE',
                   MEMPROXY_STORAGE_POSTGRES_URL_FILE='@URLFILE')  # they exist only in a pod
        rc, out = check_config(env, self.ini)
        self.assertEqual(rc, 0, out)


class ComposePostgres(unittest.TestCase):
    """conf/compose-postgres.yaml: app and memproxy replicas on one
    PostgreSQL."""

    @classmethod
    def setUpClass(cls):
        load_compose(cls, 'compose-postgres.yaml')

    def test_replicas_on_one_database(self):
        self.assertGreater(self.mp['deploy']['replicas'], 1)
        self.assertGreater(self.app['deploy']['replicas'], 1)
        self.assertEqual(self.env['MEMPROXY_STORAGE_BACKEND'], 'postgres')
        self.assertEqual(self.mp['depends_on']['postgres']['condition'], 'service_healthy')
        self.assertIn('healthcheck', self.services['postgres'])
        self.assertNotIn('volumes', self.mp, 'the memory lives in PostgreSQL')

    def test_apps_reach_memproxy_by_its_service_name(self):
        listen = self.env['MEMPROXY_SERVER_LISTEN']
        self.assertEqual(host_of(listen), '0.0.0.0')
        self.assertEqual(self.app['environment']['OPENAI_BASE_URL'], 'http://memproxy:%d/v1' % port_of(listen))
        self.assertEqual(self.app['depends_on']['memproxy']['condition'], 'service_healthy')

    def test_secrets_declared_used_and_files(self):
        declared = self.doc['secrets']
        used = set(self.mp['secrets']) | set(self.services['postgres']['secrets'])
        self.assertEqual(used, set(declared))
        for name in used:
            self.assertIn('file', declared[name])
        for key in ('MEMPROXY_STORAGE_POSTGRES_URL_FILE', 'MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE'):
            self.assertEqual(os.path.dirname(self.env[key]), '/run/secrets')
            self.assertIn(os.path.basename(self.env[key]), self.mp['secrets'])
        self.assertNotIn('MEMPROXY_STORAGE_POSTGRES_URL', self.env, 'the connection string stays a file')

    def test_env_passes_check_config(self):
        example = env_file_vars(os.path.join(CONF, self.mp['env_file'] + '.example'))
        env = dict(self.env, **example)
        env['MEMPROXY_STORAGE_ENCRYPTION_KEY_FILE'] = '@KEYFILE'
        env['MEMPROXY_STORAGE_POSTGRES_URL_FILE'] = '@URLFILE'
        rc, out = check_config(env)
        self.assertEqual(rc, 0, out)

    def test_read_only_non_root_and_drains(self):
        self.assertIs(self.mp['read_only'], True)
        self.assertEqual(self.mp['user'], '%d:%d' % (UID, UID))
        self.assertEqual(self.mp['cap_drop'], ['ALL'])
        drain_ms = int(self.env.get('MEMPROXY_SERVER_DRAIN_TIMEOUT_MS', default_drain_ms()))
        self.assertGreater(duration_s(self.mp['stop_grace_period']), drain_ms / 1000.0)
        test = self.mp['healthcheck']['test']
        port, path = probe_argv_target(test[1:])
        self.assertEqual((port, path), (port_of(self.env['MEMPROXY_SERVER_ADMIN_LISTEN']), '/readyz'))


class Docs(unittest.TestCase):

    def test_deployment_doc_covers_the_kit(self):
        text = read('docs', 'deployment.md')
        for must in ('--probe', 'conf/compose.yaml', 'conf/kubernetes', 'conf/systemd/memproxy.service',
                     '--read-only', DATA, 'scripts/container.sh'):
            self.assertIn(must, text)
        text = read('docs', 'scaling.md')
        for must in ('conf/compose-postgres.yaml', 'conf/kubernetes-postgres'):
            self.assertIn(must, text)


if __name__ == '__main__':
    harness.main('lint_deploy')
