"""Libraries mapped when first needed (issue 53, requirement 3: idle
resident memory). libcurl and libpq, with the libraries under them (GnuTLS,
Kerberos, LDAP, SSH), are not mapped by a memproxy that has only started;
libcurl is mapped by the first memory-model call, which still works; with
[upstream] client = curl it is mapped at start. The store's HMAC and its new
secret do not start OpenSSL's providers (no EVP, no RAND). --check-config
loads what the configuration needs, and names what is missing
(test_ondemand_tree.py, where a running proxy without libcurl is tried too)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

# Libraries only libcurl or libpq bring in.
ONDEMAND = ('libcurl.so', 'libpq.so', 'libgnutls.so', 'libldap', 'libkrb5.so', 'libssh2.so')


def mapped(pid):
    """The file names of the shared libraries mapped into pid."""
    names = set()
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and '.so' in parts[5]:
                names.add(os.path.basename(parts[5]))
    return names


def any_of(names, prefixes):
    return sorted(n for n in names if n.startswith(prefixes))


class OnDemand(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'entity', 'extraction_model': 'ext-model-x'}}

    def test_forwarding_and_recording_map_neither_libcurl_nor_libpq(self):
        p = self.start_proxy(workers=2, memory={'mode': 'buffer'})
        self.assertEqual(any_of(mapped(p.proc.pid), ONDEMAND), [],
                         'libraries mapped at start that only libcurl or libpq need')
        user = mh.uid('lazy')
        self.assertOK(send(p, user, 'My name is Eve.'))
        mh.wait_memory(p, user, lambda m: len(m['buffer']) == 2, what='the turn recorded')
        self.assertEqual(any_of(mapped(p.proc.pid), ONDEMAND), [],
                         'the native client and the store need neither')

    def test_the_first_memory_model_call_maps_libcurl_and_works(self):
        p = self.start_proxy(workers=2, memory={'mode': 'entity', 'extraction_model': 'ext-model-x'})
        self.assertEqual(any_of(mapped(p.proc.pid), ONDEMAND), [])
        user = mh.uid('lazy')
        self.assertOK(send(p, user, 'My name is Eve. I live in Oslo. My favorite color is teal.'))
        mem = mh.wait_memory(p, user, lambda m: len(m['entities']) == 3, what='three facts')
        self.assertEqual(mh.entity_map(mem), {'name': 'Eve', 'city': 'Oslo', 'favorite_color': 'teal'})
        self.assertEqual(len(mh.user_jobs(self.fake, user, 'extract')), 1)
        libs = mapped(p.proc.pid)
        self.assertNotEqual(any_of(libs, ('libcurl.so',)), [], 'the memory-model call went through libcurl')
        self.assertEqual(any_of(libs, ('libpq.so',)), [], 'an LMDB store never maps libpq')

    def test_client_curl_maps_libcurl_at_start(self):
        p = self.start_proxy(workers=1, upstream={'client': 'curl'})
        self.assertNotEqual(any_of(mapped(p.proc.pid), ('libcurl.so',)), [])
        self.assertOK(send(p, mh.uid('curl'), 'hello'))


if __name__ == '__main__':
    harness.main('proxy_ondemand')
