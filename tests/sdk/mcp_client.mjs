// Drives memproxy's MCP endpoint with the official MCP TypeScript SDK's
// client (npm "@modelcontextprotocol/sdk": Client over
// StreamableHTTPClientTransport) for tests/proxy/plane/test_sdk.py. One session
// per run: connect (initialize), list the tools, then the calls given.
//   node mcp_client.mjs '<[["tool", {arguments}], ...]>'
// Environment: MEMPROXY_MCP_URL (memproxy's /mcp), MEMPROXY_USER (sent as
// X-User-Id), MEMPROXY_SSE=1 (the client asks for SSE answers only, so
// memproxy answers each request as an event stream). Prints one JSON line:
// {"protocolVersion", "server", "tools": [names], "results": [CallToolResult...],
//  "contentTypes": [the Content-Type of each POST answered 200]}.
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const calls = JSON.parse(process.argv[2] ?? '[]');
const sse = process.env.MEMPROXY_SSE === '1';

// The SDK sends "Accept: application/json, text/event-stream" on its
// POSTs; for the SSE runs this fetch leaves only the event stream in it.
// It notes the content type of every answer with a body (a POST's 200).
const answered = [];
async function noteFetch(url, init) {
  const headers = new Headers(init?.headers);
  const post = (init?.method ?? 'GET') === 'POST';
  if (post && sse) headers.set('accept', 'text/event-stream');
  const r = await fetch(url, {...init, headers});
  if (post && r.status === 200) answered.push(r.headers.get('content-type'));
  return r;
}

async function run() {
  const transport = new StreamableHTTPClientTransport(new URL(process.env.MEMPROXY_MCP_URL), {
    requestInit: {headers: {'X-User-Id': process.env.MEMPROXY_USER}},
    fetch: noteFetch,
  });
  const client = new Client({name: 'memproxy-sdk-test', version: '1.0.0'});
  await client.connect(transport);
  const tools = await client.listTools();
  const results = [];
  for (const [name, args] of calls) results.push(await client.callTool({name, arguments: args}));
  const out = {
    protocolVersion: transport.protocolVersion ?? null,
    server: client.getServerVersion(),
    tools: tools.tools.map((t) => t.name),
    results,
    contentTypes: answered,
  };
  await client.close();
  return out;
}

run().then((out) => console.log(JSON.stringify(out)), (err) => {
  console.error(err?.stack ?? String(err));
  process.exit(1);
});
