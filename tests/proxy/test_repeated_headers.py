"""Repeated control headers narrow (issue 63, requirement 6;
docs/http-api.md "Repeated headers"): several X-Memory values, on several
lines or in one comma-separated list, give the narrowest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

def xm(*values):
    """One X-Memory line per value."""
    return [('X-Memory', v) for v in values]


class XMemory(mh.SeededUser, mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}
    SEED_PREFIX = 'rep'

    def assertNeither(self, headers):
        """Sent with these X-Memory lines: nothing injected, nothing recorded."""
        user = self.seeded_user()
        text = 'I live in %s.' % mh.uid('city')
        with self.proxy.conn() as c:
            s = send(self.proxy, user, text, conn=c, extra_headers=headers)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'off', s.resp.headers)
            self.assertTransparent(s)
            mem = self.barrier(c, user)
        self.assertNotIn(text, [m['content'] for m in mem['buffer']], '%r recorded' % (headers,))

    def test_auto_and_off_in_either_order_neither(self):
        for headers in (xm('auto', 'off'), xm('off', 'auto'), xm('AUTO', 'auto', 'Off')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_read_and_write_neither(self):
        for headers in (xm('read', 'write'), xm('write', 'read')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_comma_list_is_several_values(self):
        for headers in (xm('auto, off'), xm('read,write'), xm(' , auto,, off ,')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_read_in_a_list_with_auto_reads_only(self):
        user = self.seeded_user()
        for i, headers in enumerate((xm('auto, read'), xm('read', 'auto'))):
            with self.subTest(headers=headers), self.proxy.conn() as c:
                text = 'I live in Oslo %d.' % i
                s = send(self.proxy, user, text, conn=c, extra_headers=headers)
                self.assertOK(s)
                self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Xena'})
                mem = self.barrier(c, user)
                self.assertNotIn(text, [m['content'] for m in mem['buffer']], 'read recorded')

    def test_invalid_value_on_any_line_400(self):
        user = self.seeded_user()
        n0 = mh.last_n(self.fake)
        for headers in (xm('off', 'sometimes'), xm('auto', 'read, on'), xm('off', ''), xm(',')):
            with self.subTest(headers=headers):
                s = send(self.proxy, user, 'I live in Bern.', extra_headers=headers)
                self.assertOpenAIError(s.resp, 400, 'invalid_memory_header')
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['n'] > n0 and mh.job_kind(r) is None],
                         [], 'a request with a bad X-Memory line reached the upstream')


if __name__ == '__main__':
    harness.main('proxy_repeated_headers')
