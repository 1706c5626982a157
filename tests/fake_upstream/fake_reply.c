/* The fake model's words (see fake_reply.h). A stream's pieces are numbered
 * rather than cut from a sentence so that a test can tell which events a
 * client relayed, dropped or repeated from the text alone. */
#include "fake_reply.h"

#define DEFAULT_ARGS "{\"city\": \"Paris\"}"

const struct fake_call fake_reply_default_call = {
    .name = "get_weather",
    .args = DEFAULT_ARGS,
    .args_len = sizeof(DEFAULT_ARGS) - 1,
    .split = sizeof("{\"city\":") - 1,
};

enum fake_words fake_reply_words(const struct fake_behavior *b)
{
    if (b->no_text) {
        return FAKE_WORDS_NONE;
    }
    if (b->refusal) {
        return FAKE_WORDS_REFUSAL;
    }
    return b->audio ? FAKE_WORDS_AUDIO : FAKE_WORDS_TEXT;
}

void fake_reply_put_model(struct fake_buf *o, const struct fake_v1_req *r)
{
    if (r->model != NULL) {
        fake_buf_put(o, r->model, r->model_len);
    } else {
        fake_buf_puts(o, "fake");
    }
}

void fake_reply_put_text(struct fake_buf *o, const struct fake_v1_req *r)
{
    if (r->content != NULL) {
        fake_buf_put(o, r->content, r->content_len);
    } else {
        fake_buf_puts(o, "\"" FAKE_REPLY_TEXT "\"");
    }
}

void fake_reply_put_piece(struct fake_buf *o, size_t k)
{
    fake_buf_puts(o, "tok");
    fake_buf_put_u64(o, k);
    fake_buf_puts(o, " ");
}

void fake_reply_put_pieces(struct fake_buf *o, size_t n)
{
    fake_buf_puts(o, "\"");
    for (size_t k = 0; k < n; k++) {
        fake_reply_put_piece(o, k);
    }
    fake_buf_puts(o, "\"");
}

void fake_reply_put_call_id(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "\"call_fake");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\"");
}

const struct fake_call *fake_reply_call(const struct fake_v1_req *r)
{
    return r->call != NULL ? r->call : &fake_reply_default_call;
}

const char *fake_reply_tool_piece(const struct fake_v1_req *r, size_t i, size_t *len)
{
    const struct fake_call *call = fake_reply_call(r);
    *len = i == 0 ? call->split : call->args_len - call->split;
    return i == 0 ? call->args : call->args + call->split;
}

void fake_reply_put_tool_args(struct fake_buf *o, const struct fake_v1_req *r)
{
    const struct fake_call *call = fake_reply_call(r);
    fake_buf_put_json_string(o, call->args, call->args_len);
}

uint64_t fake_reply_input_tokens(const struct fake_v1_req *r)
{
    return r->usage.input;
}

void fake_reply_put_chat_usage(struct fake_buf *o, const struct fake_v1_req *r, uint64_t output)
{
    fake_buf_puts(o, "{\"prompt_tokens\":");
    fake_buf_put_u64(o, r->usage.input);
    fake_buf_puts(o, ",\"completion_tokens\":");
    fake_buf_put_u64(o, output);
    fake_buf_puts(o, ",\"total_tokens\":");
    fake_buf_put_u64(o, r->usage.input + output);
    fake_buf_puts(o, ",\"prompt_tokens_details\":{\"cached_tokens\":");
    fake_buf_put_u64(o, r->usage.cached);
    fake_buf_puts(o, "}}");
}
