// Conformance flows with the npm `openai` package (the SDK whose stream
// helpers are the strictest about event shapes). Run by TestNpmSDK in
// ../../npm_test.go, which serves Hearth on loopback and passes:
//   OPENAI_MODULE  absolute path of the package's index.mjs
//   HEARTH_URL     base URL ending in /v1
//   HEARTH_KEY     the API key
// It prints one line "ok <name>" per flow and exits non-zero on a failure.
const { default: OpenAI, NotFoundError, BadRequestError } = await import(process.env.OPENAI_MODULE);

const client = new OpenAI({ baseURL: process.env.HEARTH_URL, apiKey: process.env.HEARTH_KEY, maxRetries: 0 });

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

// Math tutor with createAndPoll (waits openai-poll-after-ms between polls).
const tutor = await client.beta.assistants.create({
  model: 'llama3.2', name: 'Math Tutor',
  instructions: 'You are a personal math tutor.',
  tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
});
const thread = await client.beta.threads.create();
await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'I need to solve the equation `3x + 11 = 14`. Can you help me?' });
let run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: tutor.id });
check(run.status === 'completed', 'createAndPoll status ' + run.status);
const msgs = await client.beta.threads.messages.list(thread.id, { order: 'asc' });
check(msgs.data.length === 2 && msgs.data[1].content[0].text.value.includes('x = 1'), 'answer');
console.log('ok math-tutor');

// Streaming with the event handler: textCreated, textDelta, final messages.
await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Explain it again' });
let created = 0, text = '';
const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: tutor.id })
  .on('textCreated', () => { created++; })
  .on('textDelta', (delta) => { text += delta.value; });
const finalRun = await stream.finalRun();
check(finalRun.status === 'completed', 'stream final run ' + finalRun.status);
check(created === 1 && text === 'Subtract 11, divide by 3.', `textCreated ${created}, text ${JSON.stringify(text)}`);
const finalMessages = await stream.finalMessages();
check(finalMessages.length === 1 && finalMessages[0].content[0].text.value === text, 'finalMessages');
console.log('ok stream-text');

// Weather: toolCallCreated / toolCallDelta, requires_action, streamed submit.
await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Weather in Paris?' });
let callsCreated = 0, args = '', name = '';
const s2 = client.beta.threads.runs.stream(thread.id, { assistant_id: tutor.id })
  .on('toolCallCreated', (tc) => { callsCreated++; name = tc.function.name; })
  .on('toolCallDelta', (delta) => { args += delta.function?.arguments ?? ''; });
const r2 = await s2.finalRun();
check(r2.status === 'requires_action', 'weather status ' + r2.status);
check(callsCreated === 1 && name === 'get_weather', `toolCallCreated ${callsCreated} ${name}`);
const pending = r2.required_action.submit_tool_outputs.tool_calls;
check(pending.length === 1 && JSON.parse(pending[0].function.arguments).location === 'Paris', 'pending call');
check(args === pending[0].function.arguments, `streamed args ${JSON.stringify(args)}`);
let after = '';
const s3 = client.beta.threads.runs.submitToolOutputsStream(r2.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: pending[0].id, output: '{"c":22}' }] })
  .on('textDelta', (d) => { after += d.value; });
const r3 = await s3.finalRun();
check(r3.status === 'completed' && after === 'Sunny, 22C.', `after submit ${r3.status} ${JSON.stringify(after)}`);
console.log('ok weather-stream');

// Steps, paging with has_more/after, cancel-free listing.
const steps = [];
for await (const st of client.beta.threads.runs.steps.list(r2.id, { thread_id: thread.id, limit: 1, order: 'asc' })) {
  steps.push(st);
}
check(steps.length === 2 && steps[0].type === 'tool_calls' && steps[1].type === 'message_creation', 'steps ' + steps.map((s) => s.type));
const all = [];
for await (const m of client.beta.threads.messages.list(thread.id, { limit: 2, order: 'asc' })) {
  all.push(m.id);
}
check(all.length === 6, 'auto-paged messages ' + all.length);
console.log('ok paging');

// Files and vector stores: uploadAndPoll, search.
const vs = await client.vectorStores.create({ name: 'docs' });
const vf = await client.vectorStores.files.uploadAndPoll(vs.id, new File(['The kettle warranty lasts two years.'], 'warranty.txt'));
check(vf.status === 'completed', 'vector store file ' + vf.status);
const found = await client.vectorStores.search(vs.id, { query: 'warranty years' });
check(found.data.length > 0 && found.data[0].filename === 'warranty.txt', 'search');
console.log('ok vector-stores');

// Error envelopes become the SDK's typed errors.
try {
  await client.beta.assistants.retrieve('asst_missing');
  check(false, 'no 404');
} catch (e) {
  check(e instanceof NotFoundError && e.status === 404, '404 type ' + e);
}
try {
  await client.beta.assistants.create({ model: 'm', temperature: 5 });
  check(false, 'no 400');
} catch (e) {
  check(e instanceof BadRequestError && e.param === 'temperature', '400 param ' + e.param);
}
console.log('ok errors');

// A whole call (as Ollama returns it) streams in the hosted shape:
// toolCallCreated sees empty arguments, toolCallDelta brings them.
{
  const t2 = await client.beta.threads.create({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather in Rome?' }] }] });
  let createdArgs = null, deltaArgs = '';
  const s = client.beta.threads.runs.stream(t2.id, { assistant_id: tutor.id })
    .on('toolCallCreated', (tc) => { createdArgs = tc.function.arguments; })
    .on('toolCallDelta', (d) => { deltaArgs += d.function?.arguments ?? ''; });
  const r = await s.finalRun();
  check(r.status === 'requires_action', 'whole call status ' + r.status);
  check(createdArgs === '', 'toolCallCreated arguments ' + JSON.stringify(createdArgs));
  check(deltaArgs === '{"location":"Rome"}', 'toolCallDelta arguments ' + JSON.stringify(deltaArgs));
  await client.beta.threads.runs.cancel(r.id, { thread_id: t2.id });
}
console.log('ok whole-call');

// Content parts as the SDK sends them, at each entry point.
{
  const partsOf = (text) => [{ type: 'text', text }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } }];
  const t3 = await client.beta.threads.create({ messages: [{ role: 'user', content: partsOf('one') }] });
  await client.beta.threads.messages.create(t3.id, { role: 'user', content: partsOf('two') });
  const listed = await client.beta.threads.messages.list(t3.id, { order: 'asc' });
  check(listed.data.length === 2 && listed.data[1].content[0].text.value === 'two' && listed.data[1].content[1].type === 'image_url', 'parts stored');
}
console.log('ok content-parts');
