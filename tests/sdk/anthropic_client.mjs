// Drives memproxy with Anthropic's official SDK (npm "@anthropic-ai/sdk")
// for tests/proxy/plane/test_sdk.py. One call per run:
//   node anthropic_client.mjs <create|create-stream|stream> <text>
// Environment: ANTHROPIC_BASE_URL (memproxy's root: the SDK appends
// /v1/messages), MEMPROXY_USER (X-User-Id), MEMPROXY_TAG (X-Test-Req),
// MEMPROXY_HEADERS (optional: a JSON object of more default headers).
// MEMPROXY_AUTH_TOKEN (when set: the SDK's authToken, sent as
// "Authorization: Bearer", as OAuth clients do, instead of an x-api-key).
// Prints one JSON line: {"text": ...}, the reply text the application got.
import Anthropic from '@anthropic-ai/sdk';

const [kind, text] = process.argv.slice(2);
const token = process.env.MEMPROXY_AUTH_TOKEN;
const client = new Anthropic({
  apiKey: token ? null : 'sk-ant-sdk-test',
  authToken: token || null,
  baseURL: process.env.ANTHROPIC_BASE_URL,
  maxRetries: 0,
  defaultHeaders: {'X-User-Id': process.env.MEMPROXY_USER, 'X-Test-Req': process.env.MEMPROXY_TAG,
                   ...JSON.parse(process.env.MEMPROXY_HEADERS || '{}')},
});
const params = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  system: [{type: 'text', text: 'You are terse.', cache_control: {type: 'ephemeral'}}],
  messages: [{role: 'user', content: text}],
};
const joined = (content) => content.filter((b) => b.type === 'text').map((b) => b.text).join('\n');

async function run() {
  switch (kind) {
    case 'create':
      return joined((await client.messages.create(params)).content);
    case 'create-stream': {
      const s = await client.messages.create({...params, stream: true});
      let out = '';
      for await (const ev of s)
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') out += ev.delta.text;
      return out;
    }
    case 'stream': {
      const s = client.messages.stream(params);
      return joined((await s.finalMessage()).content);
    }
    default:
      throw new Error('unknown kind ' + kind);
  }
}

run().then((t) => console.log(JSON.stringify({text: t})), (e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
