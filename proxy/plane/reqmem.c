/* Injection before the upstream call, recording after it. */
#include "plane/reqmem.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wire/chain.h"
#include "plane/cachekey.h"
#include "wire/chatreq.h"
#include "clock.h"
#include "wire/clienttask.h"
#include "wire/completion.h"
#include "wire/inserted.h"
#include "decimal.h"
#include "hex.h"
#include "http/http_parse.h"
#include "wire/inject.h"
#include "json/json_scan.h"
#include "memory/memcred.h"
#include "memory/memworker.h"
#include "plane/convlook.h"
#include "memview/meaning.h"
#include "plane/qvec.h"
#include "plane/memread.h"
#include "metrics.h"
#include "recall/recall.h"
#include "wire/route.h"
#include "format/sha256.h"
#include "http/sse.h"
#include "status.h"
#include "ops/store.h"
#include "recall/terms.h"
#include "plane/explain.h"
#include "plane/explaintab.h"
#include "memory/turn.h"
#include "wire/wire.h"

/* A reply's bytes kept to be read, at most (a non-stream body's after its
 * long strings were clipped: core/json/jsonclip.h); a stream's text past it
 * is cut */
#define REPLY_CAPTURE_MAX (1 << 20)

/* The user header's value (repeats must agree: http_parse.h's
 * mp_http_find_single), else the body's "user". MP_OK, MP_NOTFOUND, or
 * MP_EINVAL with *perr. */
static int user_id(const struct mp_config *cfg, const struct mp_http_request_head *head,
                   const char *body, size_t len, char *out, size_t *out_len, enum mp_perr *perr)
{
    const char *uname = cfg->memory.user_header;
    const char *v;
    size_t n;
    int rc = mp_http_find_single(head, uname, strlen(uname), &v, &n);
    *perr = rc == MP_EINVAL ? MP_PERR_CONFLICTING_HEADERS : MP_PERR_INVALID_USER_ID;
    if (rc == MP_EINVAL || (rc == MP_OK && mp_user_id_validate(v, n) != MP_OK))
        return MP_EINVAL;
    if (rc == MP_OK) {
        memcpy(out, v, n);
        *out_len = n;
        return MP_OK;
    }
    if (!cfg->memory.user_from_body || len == 0)
        return MP_NOTFOUND;
    rc = mp_route_body_user(body, len, out, MP_USER_ID_MAX, out_len);
    if (rc == MP_OK && mp_user_id_validate(out, *out_len) != MP_OK)
        return MP_EINVAL;
    return rc;
}

/* X-User-Signature must be 64 hex digits of HMAC-SHA256(key, id), the
 * same on every line it is sent in. MP_OK, or MP_EINVAL with *perr. */
static int check_signature(const struct mp_config *cfg, const struct mp_http_request_head *head,
                           const char *id, size_t len, enum mp_perr *perr)
{
    const char *key = cfg->security.user_signature_key;
    const char *v;
    size_t n;
    unsigned char want[32], got[32];
    int rc = mp_http_find_single(head, "x-user-signature", 16, &v, &n);
    *perr = rc == MP_EINVAL ? MP_PERR_CONFLICTING_HEADERS : MP_PERR_INVALID_SIGNATURE;
    if (rc != MP_OK || n != 64 || mp_hex_decode(v, sizeof(got), got) != MP_OK)
        return MP_EINVAL;
    mp_hmac_sha256(key, strlen(key), id, len, want);
    return CRYPTO_memcmp(want, got, 32) == 0 ? MP_OK : MP_EINVAL;
}

/* The client's API key: Authorization's bearer token, else x-api-key's
 * value; each must be the same on every line it is sent in. MP_OK with
 * *key, *len (borrowed from head; blanks before it skipped), MP_NOTFOUND
 * (none, or empty), MP_EINVAL (the one read differs between its lines). */
static int api_key(const struct mp_http_request_head *head, const char **key, size_t *len)
{
    const char *k;
    size_t n;
    int rc = mp_http_find_single(head, "authorization", 13, &k, &n);
    if (rc == MP_EINVAL)
        return MP_EINVAL;
    if (rc == MP_OK && n > 7 && strncasecmp(k, "bearer ", 7) == 0) {
        k += 7;
        n -= 7;
    } else {
        rc = mp_http_find_single(head, "x-api-key", 9, &k, &n); /* Anthropic's clients */
        if (rc != MP_OK)
            return rc;
    }
    while (n > 0 && *k == ' ') {
        k++;
        n--;
    }
    *key = k;
    *len = n;
    return n > 0 ? MP_OK : MP_NOTFOUND;
}

/* The tenant of the client's API key (api_key()): HMAC(tenant key, key)
 * cut to MP_USERKEY_TENANT_LEN bytes, the tenant key derived from the
 * store's secret so that it survives restarts and is the same in every
 * process sharing the store. MP_NOTFOUND without a key; MP_EINVAL for
 * differing repeats; MP_EIO. */
static int tenant_of(const struct mp_loop *loop, const struct mp_http_request_head *head,
                     unsigned char *tenant)
{
    static const char label[] = "memproxy tenant v1";
    unsigned char secret[MP_SEAL_KEY_LEN], tkey[32], mac[32];
    const char *k;
    size_t klen;
    int rc = api_key(head, &k, &klen);
    if (rc != MP_OK)
        return rc;
    if (mp_store_secret(loop->store, secret) != MP_OK)
        return MP_EIO;
    mp_hmac_sha256(secret, sizeof(secret), label, sizeof(label) - 1, tkey);
    mp_hmac_sha256(tkey, sizeof(tkey), k, klen, mac);
    memcpy(tenant, mac, MP_USERKEY_TENANT_LEN);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(tkey, sizeof(tkey));
    return MP_OK;
}

int mp_reqmem_user_key(const struct mp_loop *loop, const struct mp_http_request_head *head,
                       const char *body, size_t len, char *out, size_t *out_len, enum mp_perr *perr)
{
    const struct mp_config *cfg = loop->cfg;
    char id[MP_USER_ID_MAX];
    unsigned char tenant[MP_USERKEY_TENANT_LEN];
    size_t id_len = 0;
    int rc = user_id(cfg, head, body, len, id, &id_len, perr);
    if (rc == MP_NOTFOUND)
        return MP_NOTFOUND;
    if (rc != MP_OK)
        return MP_EINVAL;
    if (cfg->security.user_signature_key[0] != '\0' &&
        check_signature(cfg, head, id, id_len, perr) != MP_OK)
        return MP_EINVAL;
    if (cfg->security.tenant_from != MP_TENANT_API_KEY) {
        *out_len = mp_userkey_make(NULL, id, id_len, out);
        return MP_OK;
    }
    rc = tenant_of(loop, head, tenant);
    *perr = rc == MP_NOTFOUND ? MP_PERR_MISSING_API_KEY
            : rc == MP_EINVAL ? MP_PERR_CONFLICTING_HEADERS
                              : MP_PERR_INTERNAL;
    if (rc != MP_OK)
        return MP_EINVAL;
    *out_len = mp_userkey_make(tenant, id, id_len, out);
    return MP_OK;
}

void mp_reqmem_clear(struct mp_reqmem *m)
{
    memset(m, 0, offsetof(struct mp_reqmem, reply_id));
    memset(&m->owns, 0, offsetof(struct mp_ownwords, items));
}

void mp_reqmem_init(struct mp_reqmem *m, enum mp_memory_mode mode, int control, const char *user,
                    size_t user_len)
{
    m->task = -1;
    if (user == NULL || mode == MP_MEMORY_OFF || control == MP_MEMCTL_OFF) {
        m->mode = MP_MEMORY_OFF;
        return;
    }
    m->mode = mode;
    m->control = (enum mp_memory_control)control;
    mp_usermode_access(m->control, MP_USER_MODE_AUTO, &m->reads, &m->writes);
    memcpy(m->user, user, user_len);
    m->user_len = user_len;
}

static void fail(struct mp_reqmem *m, struct mp_loop *loop, const char *code)
{
    m->error = code;
    mp_metrics_memory_error(loop->shard);
}

/* Narrows what applies by the user's own setting: the most restrictive of
 * the setting and X-Memory wins; nothing left is memory off. */
static void apply_user_mode(struct mp_reqmem *m, enum mp_user_mode mode)
{
    mp_usermode_access(m->control, mode, &m->reads, &m->writes);
    m->writes = m->writes && !m->temporary;
    if (!m->reads && !m->writes)
        m->mode = MP_MEMORY_OFF;
}

/* A read's outcome for memproxy_memory_reads_total: MP_OK injected memory,
 * MP_NOTFOUND found none to inject, anything else failed. */
static enum mp_memory_read_result read_result(int rc)
{
    return rc == MP_OK ? MP_MEMREAD_HIT : rc == MP_NOTFOUND ? MP_MEMREAD_MISS : MP_MEMREAD_ERROR;
}

/* Only the newest buffer_messages messages are injected verbatim. */
void mp_reqmem_keep_newest(struct mp_usermem *um, size_t keep, struct mp_mem_message **saved,
                           size_t *saved_n)
{
    *saved = um->messages;
    *saved_n = um->nmessages;
    if (um->nmessages > keep) {
        um->messages += um->nmessages - keep;
        um->nmessages = keep;
    }
}

static void found_reset(struct mp_reqmem_found *f)
{
    if (!f->used)
        return; /* zero already: nothing to release */
    json_decref(f->explanation);
    mp_splice_cleanup(&f->splice);
    mp_store_conv_cleanup(&f->conv_rec);
    mp_inject_head_cleanup(&f->conv_built);
    mp_inject_tail_cleanup(&f->conv_tail);
    memset(f, 0, sizeof(*f));
}

/* ---- the conversation (core/wire/convid.h, storage/ops/store.h) ---- */

/* A resending client's conversation began with a lone message, which the
 * user's session key kept (a client not yet known to resend: convlook.h).
 * Its next requests (a tool loop's rounds, the second turn) key it by its
 * leading messages: they take the session's state over, so that the bytes
 * before the tail stay those of the first turn, and its tail for the
 * loop. Only when the session's last question was this conversation's
 * first turn: its kept tail's anchor is this request's message (same
 * index, same role and text). The head stops following the summary then
 * (a resending client's head does not: a summary folded since reaches
 * the conversation in its tails). Whether it took it over (into *out). */
static bool adopt_first_turn(struct mp_reqmem *m, struct mp_store_view *view, int64_t now,
                             const struct mp_convlook_limits *lim, struct mp_store_conv *out)
{
    unsigned char sk[MP_CONVLOOK_KEY_LEN];
    if (!mp_convlook_session_key(m->user, m->user_len, sk) ||
        !mp_convlook_kept(view, sk, now, lim, out))
        return false;
    const struct mp_inject_tail *st = out->has_tail ? &out->tail : NULL;
    if (st == NULL || st->anchor_at >= m->req.nmsgs ||
        m->req.msgs[st->anchor_at].role != MP_CR_USER ||
        m->req.msgs[st->anchor_at].text_hash != st->anchor_hash) {
        mp_store_conv_cleanup(out); /* the session's last question was another's */
        return false;
    }
    out->head.follows_summary = false;
    return true;
}

/* The prompt_cache_key of the request's conversation look, into
 * f->cache_key, when the request gets one (plane/cachekey.h): the key of
 * the conversation the request is filed under. A lone message filed under
 * the user's session gets the session's key, so a client that sends only
 * its newest message keeps one key (one machine, where the session's head
 * is cached) through the session; keying it by its own leading messages
 * would give every such request another machine. A resending client's
 * first turn, on a worker that has not yet seen the user's client resend,
 * has the session's key and its next turns their conversation's. */
static void cache_key_of(struct mp_reqmem *m, const struct mp_convlook *look,
                         struct mp_reqmem_found *f)
{
    struct mp_loop *loop = m->loop;
    unsigned char rk[MP_SEAL_KEY_LEN];
    if (!look->known ||
        !mp_cachekey_wanted(loop->cfg, m->wire, m->route_api, m->in_body, m->in_len))
        return;
    mp_store_route_key(loop->store, rk);
    mp_cachekey_make(rk, m->user, m->user_len, look->key, MP_CONVLOOK_KEY_LEN, f->cache_key);
    OPENSSL_cleanse(rk, sizeof(rk));
}

/* A user with nothing stored: the conversation as a read would find it,
 * marking nothing, for its prompt_cache_key. A read that waited for the
 * database scans again (as build does). */
static void cache_key_first(struct mp_reqmem *m)
{
    struct mp_loop *loop = m->loop;
    struct mp_convlook_limits lim = mp_convlook_limits(loop->cfg);
    struct mp_convlook look;
    struct mp_convlook_lead note;
    if (!m->req_fresh && m->wire->scan(m->in_body, m->in_len, loop->wire_msgs,
                                       MP_CHATREQ_MAX_MESSAGES, &m->req) != MP_OK)
        return;
    m->req.own = &m->owns;
    mp_convlook_resolve(NULL, NULL, m->user, m->user_len, m->in_body, m->in_len, &m->req,
                        &m->conv_headers, &m->convid, mp_clock_now_ms(), &lim, &look, &note);
    cache_key_of(m, &look, &m->found);
}

/* Injects in the request's conversation: its kept state, if any, else a
 * new head in f->conv_built (written back by conv_keep, once the read is
 * over). */
static int conv_inject(struct mp_reqmem *m, struct mp_store_view *view, const struct mp_usermem *um,
                       const struct mp_recall_source *src, const struct mp_recall_params *p,
                       struct mp_inject_plan *plan)
{
    struct mp_loop *loop = m->loop;
    struct mp_reqmem_found *f = &m->found;
    struct mp_convlook_limits lim = mp_convlook_limits(loop->cfg);
    int64_t now = mp_clock_now_ms();
    struct mp_convlook look;
    struct mp_convlook_lead note;
    mp_convlook_resolve(view, mp_store_view_head(view), m->user, m->user_len, m->in_body, m->in_len,
                        &m->req, &m->conv_headers, &m->convid, now, &lim, &look, &note);
    f->lead = note;
    f->refile_due =
        mp_convlook_moved_first(mp_store_view_head(view), m->user, m->user_len, &m->req, &look,
                                &f->refile.from, &f->refile.first_seq, &f->refile.last_seq);
    f->refile.to = look.digest;
    f->refile.kind = (uint8_t)mp_convlook_recorded_kind(&look);
    f->conv_known = look.known;
    f->conv_session = look.session;
    f->conv_kind = mp_convlook_recorded_kind(&look);
    cache_key_of(m, &look, f);
    f->conv_own = mp_convlook_own_turns(&look, &m->req);
    f->conv_digest = look.digest;
    memcpy(f->conv_key, look.key, sizeof(f->conv_key));
    bool lone = look.session;
    f->conv_had = f->conv_known && mp_convlook_kept(view, f->conv_key, now, &lim, &f->conv_rec);
    if (!f->conv_had && f->conv_known && look.kind == MP_CONVID_LEADING && !look.first)
        f->conv_had = f->conv_adopted = adopt_first_turn(m, view, now, &lim, &f->conv_rec);
    /* a tombstone (its head went with a change of the user's memory) is a
       head kept and no longer true: built again */
    bool usable = f->conv_had && !f->conv_rec.cleared;
    struct mp_inject_conv conv = {.head = usable ? &f->conv_rec.head : NULL,
                                  .tail = usable && f->conv_rec.has_tail ? &f->conv_rec.tail : NULL,
                                  .head_share = loop->cfg->memory.head_share,
                                  .head_summary_only = lone,
                                  .own_conv = f->conv_own,
                                  .built = &f->conv_built,
                                  .built_tail = &f->conv_tail};
    int rc = mp_inject_build_conv(m->wire, m->in_body, m->in_len, &m->req, um, src, p, now, &conv,
                                  &f->splice, plan);
    f->conv_reused = conv.reused;
    f->conv_has_tail = conv.has_built_tail;
    return rc;
}

/* The state the read leaves the conversation in, when it changed, for
 * the store (m->conv_put): a head built now (or the session's, taken
 * over) with the newest tail, or under the head kept as it is stored the
 * new tail alone (the head record is not written again). A request that
 * records no turn (X-Memory: read, a user in read mode) keeps only what
 * the conversation must keep, a head that changed: a new tail under the
 * stored head is not worth a commit of its own, so such a read writes
 * nothing at all (the next round builds its tail again). */
static void conv_keep(struct mp_reqmem *m, struct mp_reqmem_found *f)
{
    struct mp_loop *loop = m->loop;
    if (!f->conv_known || (f->inject_rc != MP_OK && f->inject_rc != MP_NOTFOUND))
        return;
    mp_metrics_conversation_head(loop->shard, f->conv_reused ? MP_CONVHEAD_REUSED
                                              : f->conv_had  ? MP_CONVHEAD_REBUILT
                                                             : MP_CONVHEAD_NEW);
    bool state = !f->conv_reused || f->conv_adopted || (f->conv_has_tail && m->writes);
    if (!state && !f->lead.due && !f->refile_due)
        return; /* nothing new: the store has it */
    struct mp_turn_conv *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return; /* the next turn builds a head again */
    memcpy(c->key, f->conv_key, sizeof(c->key));
    c->has_lead = f->lead.due;
    c->lead = f->lead.lead;
    memcpy(c->lead_key, f->lead.key, sizeof(c->lead_key));
    c->has_refile = f->refile_due;
    c->refile = f->refile;
    c->has_rec = state;
    if (!state) {
        mp_turn_conv_free(m->conv_put);
        m->conv_put = c;
        return;
    }
    if (f->conv_reused && !f->conv_adopted) { /* the kept head stays as stored: the tail alone */
        c->tail_only = true;
        c->rec.stamp = f->conv_rec.stamp;
    } else if (f->conv_reused) { /* the session's head and tail, under this key now */
        c->rec = f->conv_rec;
        memset(&f->conv_rec, 0, sizeof(f->conv_rec));
    } else {
        c->rec.head = f->conv_built;
        c->rec.built_ms = mp_clock_now_ms();
        memset(&f->conv_built, 0, sizeof(f->conv_built));
    }
    if (f->conv_has_tail || !f->conv_reused) {
        mp_inject_tail_cleanup(&c->rec.tail);
        c->rec.has_tail = f->conv_has_tail;
        c->rec.tail = f->conv_tail;
        memset(&f->conv_tail, 0, sizeof(f->conv_tail));
        f->conv_has_tail = false;
    }
    mp_turn_conv_free(m->conv_put);
    m->conv_put = c;
}

/* The user's own setting, for a user whose memory is not read (X-Memory:
 * write, or nothing stored yet): for recording. */
static int read_mode(struct mp_reqmem *m, struct mp_store *store)
{
    struct mp_reqmem_found *f = &m->found;
    int rc = mp_store_user_mode(store, m->user, m->user_len, &f->mode, NULL);
    f->have_mode = rc == MP_OK;
    return rc;
}

void mp_reqmem_recall_params(const struct mp_config *cfg, enum mp_memory_mode mode,
                             struct mp_terms *terms, struct mp_recall_params *out)
{
    *out = (struct mp_recall_params){.sections = mp_recall_sections(mode),
                                     .budget_tokens = cfg->memory.context_budget_tokens,
                                     .inject_pii = cfg->governance.inject_pii,
                                     .retrieval = cfg->memory.retrieval,
                                     .terms = terms, /* NULL: the strongest facts */
                                     .share_profile = cfg->memory.share_profile,
                                     .share_past = cfg->memory.share_past,
                                     .share_summary = cfg->memory.share_summary,
                                     .share_buffer = cfg->memory.share_buffer,
                                     .inserted = &cfg->memory.inserted_pattern_set};
}

/* The memory to inject, from an open view, into m->found. */
static void build(struct mp_reqmem *m, struct mp_store_view *view,
                  const struct mp_recall_dense *dense, const struct mp_recall_fuse_params *fuse)
{
    struct mp_loop *loop = m->loop;
    const struct mp_config *cfg = loop->cfg;
    const struct mp_wire *w = m->wire;
    struct mp_reqmem_found *f = &m->found;
    struct mp_inject_plan plan = {0};
    f->built = true;
    /* a read that waited for the database scans again: another request on
       this loop may have used wire_msgs meanwhile */
    f->inject_rc = m->req_fresh ? MP_OK
                                : w->scan(m->in_body, m->in_len, loop->wire_msgs,
                                          MP_CHATREQ_MAX_MESSAGES, &m->req);
    if (f->inject_rc != MP_OK)
        return;
    m->req.own = &m->owns;
    struct mp_usermem head = *mp_store_view_head(view); /* its arrays stay the view's */
    struct mp_mem_message *all;
    size_t all_n;
    mp_reqmem_keep_newest(&head, cfg->memory.buffer_messages, &all, &all_n);
    struct mp_recall_source src;
    struct mp_relevance_index ix[2];
    mp_store_view_set_max_postings(view, cfg->memory.relevance_max_postings);
    mp_store_view_source(view, &src, ix);
    src.dense = dense;
    src.fuse = fuse;
    struct mp_recall_params p;
    mp_reqmem_recall_params(cfg, m->mode, mp_loop_terms(loop), &p);
    f->inject_rc = conv_inject(m, view, &head, &src, &p, &plan);
    f->tokens = plan.tokens;
    unsigned capped;
    mp_store_view_work(view, &f->scored, &capped);
    f->capped = capped > 0;
}

/* The request's explanation, when it asked (plane/explain.h), over view
 * (NULL: nothing stored): injection's choice again, item by item. A
 * failure leaves none (no X-Memory-Explain-Id). */
static void explain(struct mp_reqmem *m, struct mp_store_view *view,
                    const struct mp_recall_dense *dense, const struct mp_recall_fuse_params *fuse)
{
    struct mp_reqmem_found *f = &m->found;
    json_t *doc = NULL;
    if (!m->explain && !m->explain_last)
        return;
    /* scanned again: a read that waited for the database may find
       wire_msgs another request's */
    if (m->wire->scan(m->in_body, m->in_len, m->loop->wire_msgs, MP_CHATREQ_MAX_MESSAGES,
                      &m->req) != MP_OK)
        return;
    m->req.own = &m->owns;
    /* the conversation the injection ran in, and the head it found (not
       yet replaced: the read keeps a new one once it is over) */
    int64_t now = mp_clock_now_ms();
    struct mp_explain_conv conv = {.known = f->conv_known,
                                   .session = f->conv_session,
                                   .rule = mp_convid_rule(f->conv_kind),
                                   .own_conv = f->conv_own,
                                   .kept = f->conv_had && !f->conv_rec.cleared ? &f->conv_rec.head
                                                                               : NULL};
    int rc = mp_explain_view(m->loop->cfg, view, mp_loop_terms(m->loop), m->user, m->user_len,
                             mp_explain_api_of(m->wire), m->in_body, &m->req,
                             f->built ? &conv : NULL, dense, fuse, now, &doc);
    if (rc != MP_OK)
        return;
    json_decref(f->explanation);
    f->explanation = doc;
}

/* Keeps the explanation the read made (plane/explaintab.h); its id goes
 * to the client only when it asked (X-Memory-Explain). */
static void keep_explanation(struct mp_reqmem *m, struct mp_reqmem_found *f)
{
    char *text = f->explanation != NULL ? json_dumps(f->explanation, JSON_COMPACT) : NULL;
    if (text == NULL ||
        mp_explaintab_put(text, strlen(text), m->user, m->user_len, mp_clock_now_ms(),
                          m->explain_id) != MP_OK ||
        !m->explain)
        m->explain_id[0] = '\0';
    free(text);
}

/* The request's previous_response_id chain among the user's buffered
 * messages (core/wire/chain.h; all of them, not only those the
 * injection replays), whether or not the read injects: the turn is
 * recorded in it. */
static void find_chain(struct mp_reqmem *m, struct mp_store_view *view)
{
    const struct mp_usermem *um = mp_store_view_head(view);
    struct mp_chain c;
    struct mp_reqmem_found *f = &m->found;
    f->chain_found =
        m->chain_ref != 0 && mp_chain_find(um->messages, um->nmessages, m->chain_ref, &c) == MP_OK;
    f->chain_conv = f->chain_found ? c.conv : 0;
}

/* One run of the read over store (memread.h): what it finds goes to
 * m->found, replacing an earlier run's. MP_OK, or the store's error. A
 * request that does not read opens the user's memory only to find its
 * chain (a previous_response_id), else reads the setting alone. */
static int read_run(void *arg, struct mp_store *store)
{
    struct mp_reqmem *m = arg;
    struct mp_reqmem_found *f = &m->found;
    bool reads, writes;
    found_reset(f);
    f->used = true;
    if (!m->reads && m->chain_ref == 0)
        return read_mode(m, store);
    struct mp_store_view *view = NULL;
    int rc = mp_store_view_open(store, m->user, m->user_len, &view);
    if (rc == MP_NOTFOUND && !m->reads)
        return read_mode(m, store);
    if (rc == MP_NOTFOUND) {
        f->nothing_stored = true; /* a miss */
        cache_key_first(m);
        explain(m, NULL, NULL, NULL);
        return m->writes ? read_mode(m, store) : MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    f->have_mode = true;
    f->mode = mp_store_view_user_mode(view);
    find_chain(m, view);
    mp_usermode_access(m->control, f->mode, &reads, &writes);
    /* with the question's vector: the user's nearest items (nothing to
       do, and nothing zeroed, without one) */
    struct mp_meaning mn;
    bool meant = m->qask.vec != NULL && m->reads;
    if (meant && mp_meaning_find(&mn, m->loop->cfg, store, m->user, m->user_len, m->qask.vec,
                                 m->qask.dims, mp_store_view_head(view)->next_seq) != MP_OK)
        mp_meaning_cleanup(&mn); /* by words alone; the vector was had (hybrid: scored none) */
    const struct mp_recall_dense *dense = meant ? mp_meaning_dense(&mn) : NULL;
    const struct mp_recall_fuse_params *fuse = meant ? mp_meaning_fuse(&mn) : NULL;
    if (reads && m->reads)
        build(m, view, dense, fuse);
    if (m->reads)
        explain(m, view, dense, fuse);
    if (meant)
        mp_meaning_cleanup(&mn);
    mp_store_view_close(view);
    return MP_OK;
}

/* Applies what the read found (status: MP_OK, or why the store could not
 * answer): the setting, the injected body, the metrics and errors. */
static void apply_found(struct mp_reqmem *m, int status)
{
    struct mp_loop *loop = m->loop;
    struct mp_reqmem_found *f = &m->found;
    bool reading = m->reads;
    if (status == MP_OK && f->conv_known) { /* for the turn (mp_reqmem_record) */
        m->conv = f->conv_digest;
        m->conv_kind = (uint8_t)f->conv_kind;
    }
    if (status == MP_OK && f->chain_found) { /* also when the read did not inject */
        m->conv = f->chain_conv;
        m->conv_kind = MP_CONVID_CHAIN;
    }
    if (status == MP_OK)
        keep_explanation(m, f);
    if (status != MP_OK) {
        fail(m, loop, "storage_unavailable");
        if (reading)
            mp_metrics_memory_read(loop->shard, MP_MEMREAD_ERROR);
        found_reset(f);
        return;
    }
    if (f->have_mode)
        apply_user_mode(m, f->mode);
    if (!reading || (!f->nothing_stored && !f->built))
        return; /* only the setting was read, or it turned reading off */
    if (f->built) {
        conv_keep(m, f);
        mp_metrics_relevance(loop->shard, f->scored, f->capped);
    }
    int rc = f->nothing_stored ? MP_NOTFOUND : f->inject_rc;
    if (rc == MP_OK) {
        m->splice = f->splice;
        memset(&f->splice, 0, sizeof(f->splice));
        m->injected_tokens = f->tokens;
        mp_metrics_injected(loop->shard, f->tokens);
    } else if (rc == MP_EUNSUPPORTED) {
        fail(m, loop, "instructions_not_string"); /* wire/responses.c: no place for the block */
    } else if (rc != MP_NOTFOUND) {
        fail(m, loop, "inject_failed");
    }
    /* the key goes with or without memory: one conversation, one route */
    if (f->cache_key[0] != '\0' && (rc == MP_OK || rc == MP_NOTFOUND))
        (void)mp_cachekey_splice(f->cache_key, m->in_body, m->in_len, &m->splice);
    mp_metrics_memory_read(loop->shard, read_result(rc));
    found_reset(f);
}

static void on_read_done(void *arg, int status)
{
    struct mp_reqmem *m = arg;
    m->read = NULL;
    apply_found(m, status);
    m->ready(m->ready_arg);
}

int mp_reqmem_scan(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len)
{
    if (m->scanned)
        return m->scan_rc;
    m->scanned = true;
    m->scan_rc = m->wire->scan(body, len, loop->wire_msgs, MP_CHATREQ_MAX_MESSAGES, &m->req);
    if (m->scan_rc != MP_OK) {
        fail(m, loop, "invalid_json");
        m->reads = m->writes = false;
        return m->scan_rc;
    }
    /* the user's own words of messages a client inserted context into, for
       "already there" (core/wire/there.h); none found on ENOMEM */
    (void)mp_ownwords_request(m->wire, body, &m->req, &loop->cfg->memory.inserted_pattern_set,
                              &m->owns);
    m->req.own = &m->owns;
    return m->scan_rc;
}

void mp_reqmem_skip_task(struct mp_reqmem *m, struct mp_loop *loop, int kind)
{
    m->task = kind;
    m->mode = MP_MEMORY_OFF;
    m->reads = m->writes = false;
    mp_metrics_client_task(loop->shard, (enum mp_clienttask_kind)kind);
}

void mp_reqmem_skip_temporary(struct mp_reqmem *m, struct mp_loop *loop)
{
    m->temporary = true;
    m->writes = false;
    if (!m->reads)
        m->mode = MP_MEMORY_OFF; /* X-Memory: write: nothing left to do */
    mp_metrics_temporary_chat(loop->shard);
}

/* The reference of the reply the request continues (previous_response_id,
 * when core/wire/convid.h's rule CHAIN applies, by m->convid), for the
 * read to find its chain; 0: none. */
static uint64_t chain_ref(const struct mp_reqmem *m)
{
    const struct mp_convid *c = &m->convid;
    return c->kind == MP_CONVID_CHAIN
               ? mp_convlook_reply_ref(m->user, m->user_len, c->id, c->id_len)
               : 0;
}

/* Starts the read of the user's memory (fresh: the request's scan is
 * still this request's): MP_AGAIN while it runs (ready is called), or
 * MP_OK with what it found applied. */
static int start_read(struct mp_reqmem *m, bool fresh)
{
    m->req_fresh = fresh; /* a read that runs at once uses this scan */
    int rc = mp_memread_start(m->loop, m->user, m->user_len, read_run, on_read_done, m, &m->read);
    m->req_fresh = false;
    if (rc == MP_AGAIN)
        return MP_AGAIN;
    m->read = NULL;
    apply_found(m, rc);
    return MP_OK;
}

static void on_qvec(void *arg)
{
    struct mp_reqmem *m = arg;
    if (start_read(m, false) == MP_OK)
        m->ready(m->ready_arg);
}

/* Asks for the question's vector when meaning is on and the request reads
 * a question: MP_AGAIN while the call runs (on_qvec then reads), else
 * MP_OK (read by words alone). */
static int start_meaning(struct mp_reqmem *m, const char *body)
{
    const struct mp_config *cfg = m->loop->cfg;
    struct mp_recall_params p;
    struct mp_inject_question asked;
    if (cfg->embeddings.base_url.text[0] == '\0' || !m->reads)
        return MP_OK;
    mp_reqmem_recall_params(cfg, m->mode, mp_loop_terms(m->loop), &p);
    if (p.retrieval != MP_RETRIEVAL_RELEVANT ||
        mp_inject_read_question(m->wire, body, &m->req, &p, &asked) != MP_OK)
        return MP_OK;
    return mp_qvec_ask(&m->qask, m->loop, asked.text, asked.len, on_qvec, m);
}

int mp_reqmem_inject(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len,
                     void (*ready)(void *arg), void *arg)
{
    if (!m->reads && !m->writes)
        return MP_OK;
    if (mp_reqmem_scan(m, loop, body, len) != MP_OK)
        return MP_OK; /* forwarded as is; nothing to read or record */
    m->loop = loop;
    m->in_body = body;
    m->in_len = len;
    m->ready = ready;
    m->ready_arg = arg;
    mp_convid_identify(body, len, &m->req, &m->conv_headers, &m->convid);
    m->chain_ref = chain_ref(m);
    if (start_meaning(m, body) == MP_AGAIN)
        return MP_AGAIN;
    return start_read(m, true);
}

int mp_reqmem_body_iov(const struct mp_reqmem *m, const char *client_body, size_t client_len,
                       struct iovec *out, size_t cap, size_t *n)
{
    const struct mp_splice *s = &m->splice;
    if (s->npieces == 0 && client_len == 0) {
        *n = 0;
        return MP_OK;
    }
    if ((s->npieces > 0 ? s->npieces : 1) > cap)
        return MP_ETOOBIG;
    if (s->npieces > 0) {
        *n = mp_splice_iov(s, client_body, out, cap);
        return MP_OK;
    }
    out[0] = (struct iovec){.iov_base = (void *)client_body, .iov_len = client_len};
    *n = 1;
    return MP_OK;
}

/* Header lines built into out[0..cap) (NUL-terminated while not full);
 * full: one did not fit. Not snprintf: every response writes these, and
 * a format string's walk costs more than the copies. */
struct lines {
    char *out;
    size_t cap, n;
    bool full;
};

/* The line "name" v[0] v[1] v[2] CRLF, NULL parts left out. */
static void put_line(struct lines *l, const char *name, const char *v0, const char *v1,
                     const char *v2)
{
    const char *part[] = {name, v0, v1, v2, "\r\n"};
    for (size_t i = 0; i < sizeof(part) / sizeof(part[0]) && !l->full; i++) {
        size_t len = part[i] != NULL ? strlen(part[i]) : 0;
        l->full = len >= l->cap - l->n;
        if (!l->full && len > 0) {
            memcpy(l->out + l->n, part[i], len);
            l->n += len;
            l->out[l->n] = '\0';
        }
    }
}

size_t mp_reqmem_headers(const struct mp_reqmem *m, char *out, size_t cap)
{
    struct lines l = {.out = out, .cap = cap, .full = cap == 0};
    char tokens[MP_DECIMAL_U64_MAX + 1];
    tokens[mp_decimal_u64(m->injected_tokens, tokens)] = '\0';
    put_line(&l, "X-Memory-Mode: ", mp_config_mode_name(m->mode), NULL, NULL);
    put_line(&l, "X-Memory-Injected-Tokens: ", tokens, NULL, NULL);
    /* the read's code first, then the turn's: both facts, never one for the other */
    const char *first = m->error != NULL ? m->error : m->turn_error;
    const char *second = m->error != NULL ? m->turn_error : NULL;
    if (first != NULL)
        put_line(&l, "X-Memory-Error: ", first, second != NULL ? ", " : NULL, second);
    /* what was skipped and why: a client task, or a temporary chat's recording */
    if (m->task >= 0)
        put_line(&l, "X-Memory-Skipped: ", "client_task:", mp_clienttask_kind_name(m->task), NULL);
    else if (m->temporary)
        put_line(&l, "X-Memory-Skipped: ", "temporary_chat", NULL, NULL);
    if (m->explain_id[0] != '\0')
        put_line(&l, "X-Memory-Explain-Id: ", m->explain_id, NULL, NULL);
    /* retrieval by meaning, when asked: how it went */
    const char *by = mp_qvec_ask_retrieval(&m->qask);
    if (by != NULL)
        put_line(&l, "X-Memory-Retrieval: ", by, NULL, NULL);
    return l.full ? 0 : l.n;
}

void mp_reqmem_start_reply(struct mp_reqmem *m, struct mp_loop *loop, int status, bool sse)
{
    if (!m->writes || status < 200 || status >= 300 || loop->memworker == NULL) {
        m->writes = false;
        return;
    }
    if (mp_memworker_admit(loop->memworker) != MP_OK) {
        m->writes = false;
        mp_memworker_count_refused(loop->memworker);
        m->turn_error = "queue_full";
        return;
    }
    m->turn_error = mp_memworker_write_error(loop->memworker);
    if (m->turn_error == NULL && mp_memcred_missing(loop->cfg, m->mode, m->route_api))
        m->turn_error = "no_memory_credential";
    if (sse) {
        m->completion = mp_completion_new_cutting(REPLY_CAPTURE_MAX, m->wire->reply_reader);
        m->capture_failed = m->capture_oom = m->completion == NULL;
    }
}

bool mp_reqmem_keeps_body(const struct mp_reqmem *m, bool sse)
{
    return !sse && m->writes && !m->capture_failed;
}

const char *mp_reqmem_reply_body(const struct mp_reqmem *m, size_t *len)
{
    if (!m->writes || m->capture_failed || m->completion != NULL)
        return NULL;
    *len = m->capture.len;
    return m->capture.data != NULL ? m->capture.data : "";
}

/* A Responses stream's reply id, from the event ev[0..len) that carries
 * the response (response.created, else response.completed), into
 * m->reply_id. */
static void event_reply_id(struct mp_reqmem *m, const char *ev, size_t len)
{
    const char *id;
    size_t n = 0;
    if (memmem(ev, len, "\"response\"", 10) == NULL)
        return; /* a delta: no response object */
    char *data = malloc(len);
    if (data != NULL && mp_sse_event_data(ev, len, data, len, &n) == MP_OK &&
        mp_chain_event_id(data, n, &id, &n)) {
        memcpy(m->reply_id, id, n);
        m->reply_id_len = n;
    }
    free(data);
}

void mp_reqmem_on_reply(struct mp_reqmem *m, struct mp_loop *loop, const char *data, size_t len,
                        bool sse_event)
{
    if (!m->writes || m->capture_failed)
        return;
    if (sse_event) {
        if (m->completion != NULL &&
            mp_completion_feed_event(m->completion, data, len) == MP_ETOOBIG)
            m->capture_failed = true;
        if (m->wire == &mp_wire_responses && m->reply_id_len == 0)
            event_reply_id(m, data, len);
        return;
    }
    if (mp_buf_reserve(loop, &m->capture, m->capture.len + len) != MP_OK) {
        m->capture_failed = m->capture_oom = true;
        return;
    }
    m->capture.len += mp_jsonclip_feed(&m->clip, data, len, m->capture.data + m->capture.len);
    if (m->capture.len > REPLY_CAPTURE_MAX)
        m->capture_failed = true; /* a body of many short strings: too big to read */
}

/* The assistant's reply text (borrowed from the completion, or malloc'd
 * into *owned) and whether it calls a tool (*calls): MP_OK (a reply
 * without words in any shape the wire knows, a tool loop's round among
 * them: "", so that the user's words are recorded all the same);
 * MP_NOTFOUND when the turn is not complete; MP_EINVAL when it cannot be
 * read; MP_ENOMEM. */
static int reply_text(struct mp_reqmem *m, const char **text, size_t *len, char **owned,
                      bool *calls)
{
    *owned = NULL;
    if (m->completion != NULL) {
        if (mp_completion_overflowed(m->completion))
            return MP_ENOMEM; /* a cutting accumulator overflows for want of memory only */
        if (!mp_completion_complete(m->completion))
            return MP_NOTFOUND;
        *calls = mp_completion_calls_tool(m->completion);
        *text = mp_completion_text(m->completion, len);
        return MP_OK;
    }
    const char *body = m->capture.data != NULL ? m->capture.data : "";
    *calls = m->wire->reply_body_calls_tool(body, m->capture.len);
    int rc = m->wire->reply_body_text(body, m->capture.len, owned, len);
    if (rc == MP_NOTFOUND) {
        *len = 0;
        *text = "";
        return MP_OK;
    }
    *text = *owned;
    return rc == MP_EUPSTREAM ? MP_NOTFOUND : rc;
}

/* A turn that will not be recorded for a reason other than having nothing
 * to record: counted, logged (plane never logs words). */
static int lost(struct mp_loop *loop, const char *request_id, int rc)
{
    enum mp_unrecorded why = rc == MP_ENOMEM    ? MP_UNREC_NO_MEMORY
                             : rc == MP_ETOOBIG ? MP_UNREC_REPLY_TOO_BIG
                             : rc == MP_EINVAL  ? MP_UNREC_REPLY_UNREADABLE
                                                : MP_UNREC_REQUEST;
    mp_memworker_count_lost(loop->memworker, request_id, why);
    return MP_NOTFOUND;
}

/* The reference of a Responses request's previous_response_id
 * (plane/convlook.h), whatever rule names its conversation: a tool
 * loop's round continues the response that called the tool; 0: none. */
static uint64_t prev_ref(const struct mp_reqmem *m, const char *body, size_t len)
{
    size_t vs, ve;
    if (m->wire != &mp_wire_responses ||
        mp_json_find_member(body, len, "previous_response_id", 20, &vs, &ve) != MP_OK ||
        body[vs] != '"' || ve - vs < 3)
        return 0;
    return mp_convlook_reply_ref(m->user, m->user_len, body + vs + 1, ve - vs - 2);
}

/* The turn's conversation when the read did not find it (it did not run:
 * X-Memory: write, nothing stored yet, a failed read): the rule over the
 * body, scanned again (another request on the loop may have used
 * wire_msgs since), with nothing read: a lone message is its conversation's
 * first turn. */
static void record_conv(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len,
                        struct mp_turn *t)
{
    struct mp_convlook_limits lim = mp_convlook_limits(loop->cfg);
    struct mp_chatreq req;
    struct mp_convlook look;
    if (m->conv_kind == 0 &&
        m->wire->scan(body, len, loop->wire_msgs, MP_CHATREQ_MAX_MESSAGES, &req) == MP_OK) {
        req.own = &m->owns; /* the same body: its lead as the read found it */
        struct mp_convid id;
        struct mp_convlook_lead note;
        mp_convid_identify(body, len, &req, &m->conv_headers, &id);
        mp_convlook_resolve(NULL, NULL, m->user, m->user_len, body, len, &req, &m->conv_headers,
                            &id, mp_clock_now_ms(), &lim, &look, &note);
        if (look.known) {
            m->conv = look.digest;
            m->conv_kind = (uint8_t)mp_convlook_recorded_kind(&look);
        }
    }
    t->conv = m->conv;
    t->conv_kind = m->conv_kind;
}

/* The reference of a Responses reply's id (core/wire/chain.h): the
 * stream's, or the body's; 0: none. */
static uint64_t reply_ref(const struct mp_reqmem *m)
{
    const char *id = m->reply_id;
    size_t n = m->reply_id_len;
    if (m->wire != &mp_wire_responses)
        return 0;
    if (m->completion == NULL &&
        (m->capture.data == NULL || !mp_chain_reply_id(m->capture.data, m->capture.len, &id, &n)))
        return 0;
    return mp_convlook_reply_ref(m->user, m->user_len, id, n);
}

static int record_turn(struct mp_reqmem *m, struct mp_loop *loop, const char *request_id,
                       const char *body, size_t len, const struct mp_http_request_head *head,
                       void (*done)(struct mp_memticket *t, void *arg, int status), void *arg);

int mp_reqmem_record(struct mp_reqmem *m, struct mp_loop *loop, const char *request_id,
                     const char *body, size_t len, const struct mp_http_request_head *head,
                     void (*done)(struct mp_memticket *t, void *arg, int status), void *arg)
{
    int rc = record_turn(m, loop, request_id, body, len, head, done, arg);
    if (rc == MP_OK || m->conv_put == NULL || loop->memworker == NULL)
        return rc;
    /* no turn took the conversation's state: committed with whatever
       reaches the worker with it, and the reply waits for it as for a
       turn, so that the next request finds it */
    struct mp_turn_conv *c = m->conv_put;
    m->conv_put = NULL;
    if (mp_memworker_keep_conv(loop->memworker, loop->base, m->user, m->user_len, c, done, arg,
                               &m->ticket) != MP_OK ||
        done == NULL) {
        m->ticket = NULL;
        return MP_NOTFOUND;
    }
    return MP_OK;
}

static int record_turn(struct mp_reqmem *m, struct mp_loop *loop, const char *request_id,
                       const char *body, size_t len, const struct mp_http_request_head *head,
                       void (*done)(struct mp_memticket *t, void *arg, int status), void *arg)
{
    struct mp_turn *t = NULL;
    size_t reply_len = 0;
    const char *auth_name = NULL;
    if (!m->writes || loop->memworker == NULL)
        return MP_NOTFOUND;
    const struct mp_http_header *auth = mp_memcred_client(head, m->route_api, &auth_name);
    if (m->capture_failed)
        return lost(loop, request_id, m->capture_oom ? MP_ENOMEM : MP_ETOOBIG);
    char *owned = NULL;
    const char *reply = NULL;
    bool calls = false;
    int rc = reply_text(m, &reply, &reply_len, &owned, &calls);
    if (rc == MP_NOTFOUND)
        return MP_NOTFOUND; /* not complete: nothing to record */
    if (rc != MP_OK)
        return lost(loop, request_id, rc);
    struct mp_turn_auth lent = {.api = m->route_api,
                                .name = auth_name,
                                .value = auth != NULL ? auth->value : NULL,
                                .value_len = auth != NULL ? auth->value_len : 0};
    struct mp_ownwords_count stripped = {{{0}, 0, 0}, {0}};
    struct mp_turn_reply r = {reply, reply_len, calls, prev_ref(m, body, len)};
    rc = mp_turn_new(m->wire, m->user, m->user_len, request_id, body, len, &r, &lent,
                     &loop->cfg->memory.inserted_pattern_set, &stripped, loop->wire_msgs, &t);
    free(owned);
    /* only a client's text: nothing of the user's, no turn */
    mp_metrics_client_text(loop->shard, &stripped, rc == MP_NOTFOUND && stripped.patterns.only > 0);
    if (t != NULL && !loop->cfg->memory.task_detection)
        t->shape.lone = false; /* side requests are client tasks: told only with detection on */
    if (rc == MP_ENOMEM || rc == MP_EINVAL)
        return lost(loop, request_id, rc == MP_EINVAL ? MP_EIO : rc);
    if (rc != MP_OK)
        return rc;
    record_conv(m, loop, body, len, t);
    t->reply_ref = reply_ref(m);
    t->conv_put = m->conv_put; /* written with the turn */
    m->conv_put = NULL;
    if (mp_turn_loop_keys(t) != MP_OK) {
        mp_turn_free(t); /* a round with nothing to find its loop by */
        return MP_NOTFOUND;
    }
    t->summarize = m->mode == MP_MEMORY_SUMMARY || m->mode == MP_MEMORY_HYBRID;
    t->extract = m->mode == MP_MEMORY_ENTITY || m->mode == MP_MEMORY_HYBRID;
    t->at_ms = mp_clock_now_ms();
    rc = mp_memworker_record(loop->memworker, t, done != NULL ? loop->base : NULL, done, arg,
                             &m->ticket);
    if (rc != MP_OK || done == NULL) { /* a failure was counted by the worker */
        m->ticket = NULL;
        return MP_NOTFOUND;
    }
    return MP_OK;
}

void mp_reqmem_cleanup(struct mp_reqmem *m, struct mp_loop *loop)
{
    mp_memread_cancel(m->read);
    m->read = NULL;
    mp_qvec_ask_cleanup(&m->qask);
    found_reset(&m->found);
    if (m->conv_put != NULL && loop->memworker != NULL) /* no turn took it: alone */
        (void)mp_memworker_keep_conv(loop->memworker, loop->base, m->user, m->user_len, m->conv_put,
                                     NULL, NULL, NULL);
    else
        mp_turn_conv_free(m->conv_put);
    m->conv_put = NULL;
    if (m->ticket != NULL)
        mp_memticket_abandon(m->ticket);
    m->ticket = NULL;
    mp_splice_cleanup(&m->splice);
    mp_completion_free(m->completion);
    m->completion = NULL;
    mp_buf_release(loop, &m->capture);
}
