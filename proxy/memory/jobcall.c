/* One call of the memory model for a batch of memory jobs (jobcall.h):
 * the prompt of its turns, the transfer, how it ended. */
#include "memory/jobcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/jobauth.h"
#include "recall/lang.h"
#include "memory/memprompt.h"
#include "status.h"
#include "net/upstream.h"
#include "wire/tokenuse.h"
#include "memory/usermem.h"

#define JOB_RESPONSE_MAX (1 << 20) /* a job's upstream answer, at most */
#define JOB_TIMEOUT_MS   120000

void mp_jobcall_free(const struct mp_memjobs *j, struct mp_jobrun *r)
{
    if (r->easy != NULL)
        mp_upstream_easy_put(j->up, r->easy);
    free(r->body);
    mp_jobauth_line_free(r->auth_line);
    free(r->answer.data);
    free(r->turns);
    free(r);
}

/* The language stored with the first user message of um's seqs from ..
 * through that has one (what its joined text starts with), else 0. */
static int turn_lang(const struct mp_usermem *um, uint64_t from, uint64_t through)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role == MP_ROLE_USER && m->seq >= from && m->seq <= through && m->lang != 0)
            return m->lang;
    }
    return MP_LANG_NONE;
}

/* Joins the texts of one role within [from, through] with "\n". */
static char *join_texts(const struct mp_usermem *um, enum mp_role role, uint64_t from,
                        uint64_t through, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role == role && m->seq >= from && m->seq <= through)
            total += m->content_len + 1;
    }
    char *out = malloc(total + 1);
    *len = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role != role || m->seq < from || m->seq > through)
            continue;
        if (*len > 0)
            out[(*len)++] = '\n';
        memcpy(out + *len, m->content, m->content_len);
        *len += m->content_len;
    }
    out[*len] = '\0';
    return out;
}

/* A turn that left the buffer (a failed batch's, trimmed past the bound
 * while it waited for its re-run): its messages from the archive, as a
 * usermem of messages only (free with mp_store_messages_free(out->messages,
 * out->nmessages)). false when the archive has none of it (erased, or not
 * archived). */
static bool archived_turn(struct mp_store *store, const struct mp_job *job, struct mp_usermem *out)
{
    bool more = false;
    memset(out, 0, sizeof(*out));
    if (job->through_seq < job->from_seq || job->from_seq == 0)
        return false;
    return mp_store_archive(store, job->user, job->user_len, job->from_seq - 1,
                            (size_t)(job->through_seq - job->from_seq + 1), &out->messages,
                            &out->nmessages, &more) == MP_OK &&
           out->nmessages > 0;
}

/* Whether the buffer holds any message of the turn of job. */
static bool in_buffer(const struct mp_usermem *um, const struct mp_job *job)
{
    for (size_t i = 0; i < um->nmessages; i++)
        if (um->messages[i].seq >= job->from_seq && um->messages[i].seq <= job->through_seq)
            return true;
    return false;
}

/* Whether another turn of the batch covers turn t's messages (a turn
 * whose reply was replaced since, by a regenerated reply or a tool loop's
 * final answer: its new job reads the user's words with the new reply),
 * so that they are sent once; of two equal ranges the first is sent. */
static bool covered(const struct mp_jobrun *r, size_t t)
{
    const struct mp_job *a = &r->turns[t].job;
    for (size_t k = 0; k < r->nturns; k++) {
        const struct mp_job *b = &r->turns[k].job;
        bool same = b->from_seq == a->from_seq && b->through_seq == a->through_seq;
        if (k != t && b->from_seq <= a->from_seq && b->through_seq >= a->through_seq &&
            (!same || k < t))
            return true;
    }
    return false;
}

/* Finds each batch turn's source in the buffer, else (a re-run's turn that
 * left it) in the archive: request id, time; numbers the turns that still
 * have user text and that no other turn of the batch covers, in id order;
 * fills pt[0..r->nsent) with their texts (malloc'd, freed by
 * free_turn_texts). */
static void batch_turns(struct mp_store *store, struct mp_jobrun *r,
                        const struct mp_usermem *buffer, struct mp_memprompt_turn *pt)
{
    r->nsent = 0;
    for (size_t t = 0; t < r->nturns; t++) {
        struct mp_jobturn *bt = &r->turns[t];
        const struct mp_job *job = &bt->job;
        size_t ulen = 0, alen = 0;
        bt->number = 0;
        bt->observed_at_ms = job->created_ms;
        if (covered(r, t))
            continue;
        struct mp_usermem arch;
        bool archived = !in_buffer(buffer, job) && archived_turn(store, job, &arch);
        const struct mp_usermem *um = archived ? &arch : buffer;
        for (size_t i = 0; i < um->nmessages; i++) {
            const struct mp_mem_message *m = &um->messages[i];
            if (m->seq >= job->from_seq && m->seq <= job->through_seq) {
                memcpy(bt->request_id, m->request_id, sizeof(bt->request_id));
                bt->observed_at_ms = m->at_ms;
                break;
            }
        }
        char *u = join_texts(um, MP_ROLE_USER, job->from_seq, job->through_seq, &ulen);
        char *a = join_texts(um, MP_ROLE_ASSISTANT, job->from_seq, job->through_seq, &alen);
        int lang = turn_lang(um, job->from_seq, job->through_seq);
        if (archived)
            mp_store_messages_free(arch.messages, arch.nmessages);
        if (u == NULL || a == NULL || ulen == 0) {
            free(u);
            free(a);
            continue; /* erased or trimmed meanwhile: nothing to send */
        }
        pt[r->nsent] = (struct mp_memprompt_turn){u, ulen, a, alen, lang};
        bt->number = ++r->nsent;
    }
}

static void free_turn_texts(struct mp_memprompt_turn *pt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)pt[i].user_text);
        free((char *)pt[i].assistant_text);
    }
}

/* The request body of a job, or NULL when there is nothing left to do. */
static char *job_body(const struct mp_memjobs *j, struct mp_jobrun *r, const struct mp_usermem *um,
                      size_t *len)
{
    char *body = NULL;
    const struct mp_config *cfg = j->cfg;
    if (r->job.kind == MP_JOB_EXTRACT) {
        struct mp_memprompt_turn *pt = calloc(r->nturns, sizeof(*pt));
        struct mp_memprompt_fold fold = {um->summary.text, um->summary.text_len,
                                         cfg->memory.summary_max_words};
        if (pt == NULL)
            return NULL;
        batch_turns(j->store, r, um, pt);
        r->fold = cfg->memory.mode == MP_MEMORY_HYBRID;
        r->keys = cfg->memory.search_keys && cfg->memory.archive;
        if (r->nsent > 0)
            mp_memprompt_batch_request_keys(cfg->memory.llm, cfg->memory.extraction_model, pt,
                                            r->nsent, r->fold ? &fold : NULL, r->keys, &body, len);
        free_turn_texts(pt, r->nsent);
        free(pt);
        return body;
    }
    size_t n = 0;
    while (n < um->nmessages && um->messages[n].seq <= r->job.through_seq)
        n++;
    if (um->summary.text != NULL && r->job.through_seq <= um->summary.covers_through_seq)
        n = 0; /* a re-run of a fold a later one already made */
    if (n > 0)
        mp_memprompt_summary_request(cfg->memory.llm, cfg->memory.summary_model,
                                     cfg->memory.summary_max_words, um->summary.text,
                                     um->summary.text_len, um->messages, n, &body, len);
    return body;
}

static void link_headers(struct mp_jobrun *r, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->nodes[i].data = (char *)lines[i];
        r->nodes[i].next = i + 1 < n ? &r->nodes[i + 1] : NULL;
    }
}

/* A job's answer must come before its lease ends, so that no other process
 * takes the job over while this one may still apply it. */
static long job_timeout_ms(const struct mp_memjobs *j)
{
    int64_t t = (int64_t)j->cfg->memory.job_lease_seconds * 1000 - 1000;
    return (long)(t < JOB_TIMEOUT_MS ? t : JOB_TIMEOUT_MS);
}

static int start_transfer(const struct mp_memjobs *j, struct mp_jobrun *r, size_t body_len)
{
    const struct mp_config *cfg = j->cfg;
    const char *lines[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", r->auth_line, "anthropic-version: " MP_ANTHROPIC_VERSION};
    r->easy = mp_upstream_easy_get(j->up, cfg->upstream.ca_file);
    if (r->easy == NULL)
        return MP_ENOMEM;
    if (r->api == MP_LLM_ANTHROPIC)
        snprintf(r->url, sizeof(r->url), "%s/v1/messages", cfg->anthropic.base_url.text);
    else
        snprintf(r->url, sizeof(r->url), "%s/chat/completions", cfg->upstream.base_url.text);
    link_headers(r, lines, r->api == MP_LLM_ANTHROPIC ? 5 : 4);
    mp_upstream_post_setup(r->easy, r->url, &r->nodes[0], r->body, body_len, &r->answer, r,
                           (long)cfg->upstream.connect_timeout_ms, (long)job_timeout_ms(j));
    return mp_upstream_start(j->up, r->easy);
}

struct mp_jobrun *mp_jobcall_start(const struct mp_memjobs *j, struct mp_jobturn *turns, size_t n,
                                   char *auth_line, struct mp_jobverdict *v)
{
    struct mp_usermem *um = NULL;
    size_t body_len = 0;
    const struct mp_job *job = &turns[0].job;
    struct mp_jobrun *r = calloc(1, sizeof(*r));
    int rc = r == NULL ? MP_ENOMEM : mp_store_get_head(j->store, job->user, job->user_len, &um);
    *v = (struct mp_jobverdict){.kind = MP_JOBV_FAILED, .why = MP_JOB_FAIL_STORE};
    if (rc != MP_OK) {
        free(r);
        mp_jobauth_line_free(auth_line);
        if (rc == MP_NOTFOUND)
            v->kind = MP_JOBV_SKIPPED; /* the user is gone */
        return NULL;                   /* else nothing is lost: retried */
    }
    r->answer.max = JOB_RESPONSE_MAX;
    r->job = *job;
    r->turns = turns;
    r->nturns = n;
    r->auth_line = auth_line;
    r->api = j->cfg->memory.llm;
    r->epoch = um->memory_epoch;
    r->summary_from_seq = um->summary.covers_through_seq;
    r->summary_from_text = um->summary.text != NULL;
    r->body = job_body(j, r, um, &body_len);
    mp_usermem_free(um);
    if (r->body == NULL)
        v->kind = MP_JOBV_SKIPPED;
    else if (start_transfer(j, r, body_len) != MP_OK)
        v->why = MP_JOB_FAIL_UPSTREAM;
    else
        return r;
    r->turns = NULL; /* the caller's again */
    mp_jobcall_free(j, r);
    return NULL;
}

/* Why a call failed: an answer over JOB_RESPONSE_MAX counts as one that
 * cannot be used; 429 is rate limiting; 5xx and no answer are the
 * upstream's; another status is a refusal. */
static enum mp_job_fail call_failure(CURLcode result, long code, bool too_big)
{
    if (too_big)
        return MP_JOB_FAIL_MALFORMED;
    if (result != CURLE_OK || code >= 500 || code < 200)
        return MP_JOB_FAIL_UPSTREAM;
    return code == 429 ? MP_JOB_FAIL_RATE_LIMITED : MP_JOB_FAIL_REJECTED;
}

bool mp_jobcall_end(const struct mp_jobrun *r, CURLcode result, struct mp_jobverdict *v)
{
    long code = 0;
    curl_off_t after = 0;
    *v = (struct mp_jobverdict){.kind = MP_JOBV_FAILED, .answered = result == CURLE_OK};
    mp_curl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (result == CURLE_OK && r->answer.data != NULL) /* the call's usage, by kind and model */
        mp_tokenuse_read_body(&v->usage,
                              r->api == MP_LLM_ANTHROPIC ? MP_TOKENUSE_MESSAGES : MP_TOKENUSE_CHAT,
                              r->answer.data, r->answer.len);
    if (result == CURLE_OK && code >= 200 && code < 300 && !r->answer.too_big)
        return true;
    if (result == CURLE_OK &&
        mp_curl.easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK)
        after = 0;
    v->why = call_failure(result, code, r->answer.too_big);
    v->retry_after_ms = after > 0 ? (int64_t)after * 1000 : 0;
    return false;
}
