// The npm `openai` package reads Hearth's Responses and Conversations
// shapes: a response (output_text is computed by the SDK), a stream through
// its ResponseStream accumulator (which validates item identity and order),
// and a conversation items page. Run by TestNpmSDKReadsResponses in
// ../../responses_npm_test.go, which writes the fixtures and passes:
//   OPENAI_MODULE  absolute path of the package's index.mjs
//   FIXTURES       a JSON file {response, sse, items, want}
// No server: a fetch function answers from the fixtures. It prints one line
// "ok <name>" per flow and exits non-zero on a failure.
import fs from 'node:fs';

const { default: OpenAI } = await import(process.env.OPENAI_MODULE);
const fx = JSON.parse(fs.readFileSync(process.env.FIXTURES, 'utf8'));

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

async function fakeFetch(url, init) {
  const path = new URL(url).pathname;
  const json = (v) => new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } });
  if (path === '/v1/responses') {
    const body = JSON.parse(init.body);
    if (body.stream) {
      return new Response(fx.sse, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    return json(fx.response);
  }
  if (path === '/v1/conversations/conv_1/items') {
    return json(fx.items);
  }
  return new Response('{"error":{"message":"no route","type":"invalid_request_error","param":null,"code":null}}', { status: 404, headers: { 'content-type': 'application/json' } });
}

const client = new OpenAI({ apiKey: 'k', baseURL: 'http://hearth.test/v1', fetch: fakeFetch, maxRetries: 0 });

const r = await client.responses.create({ model: 'llama3.2', input: 'hi' });
check(r.id === fx.response.id && r.status === 'completed', 'response id/status');
check(r.output_text === fx.want.output_text, 'output_text ' + JSON.stringify(r.output_text));
check(r.usage.input_tokens_details.cached_tokens === fx.response.usage.input_tokens_details.cached_tokens, 'usage');
console.log('ok response');

const deltas = [];
const stream = client.responses.stream({ model: 'llama3.2', input: 'hi' });
stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
let seq = -1;
for await (const ev of stream) {
  check(ev.sequence_number === seq + 1, 'sequence_number ' + ev.sequence_number + ' after ' + seq);
  seq = ev.sequence_number;
}
const final = await stream.finalResponse();
check(deltas.join('') === fx.want.streamed_text, 'deltas ' + JSON.stringify(deltas));
check(final.output_text === fx.want.streamed_text, 'final output_text ' + JSON.stringify(final.output_text));
const call = final.output.find((o) => o.type === 'function_call');
check(call && call.arguments === fx.want.arguments && call.call_id === 'call_1', 'function call ' + JSON.stringify(call));
console.log('ok stream');

const page = await client.conversations.items.list('conv_1');
check(page.data.length === fx.items.data.length && page.data[0].type === 'message', 'items page');
check(page.hasNextPage() === fx.items.has_more, 'has_more');
console.log('ok items');
