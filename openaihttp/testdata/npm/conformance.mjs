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

// Every param of the create and update calls, as the SDK sends them, and
// null for every nullable one: the audit of issue 14.
{
  const f = await client.files.create({ file: new File(['a,b\n1,2\n'], 'data.csv'), purpose: 'assistants' });
  const full = await client.beta.assistants.create({
    model: 'llama3.2', name: 'Full', description: 'every field', instructions: 'Be brief.', metadata: { k: 'v' },
    reasoning_effort: 'low', temperature: 0.5, top_p: 0.9,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', description: 'an answer', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }, strict: true } },
    tools: [
      { type: 'code_interpreter' },
      { type: 'file_search', file_search: { max_num_results: 5, ranking_options: { ranker: 'auto', score_threshold: 0.1 } } },
      { type: 'function', function: { name: 'f', description: 'a function', parameters: { type: 'object', properties: {} }, strict: false } },
    ],
    tool_resources: { code_interpreter: { file_ids: [f.id] }, file_search: { vector_stores: [{ file_ids: [f.id], chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } }, metadata: { s: '1' } }] } },
  });
  check(full.tool_resources.file_search.vector_store_ids.length === 1, 'inline vector store');
  const nulls = await client.beta.assistants.create({ model: 'llama3.2', name: null, description: null, instructions: null, metadata: null,
    reasoning_effort: null, response_format: null, temperature: null, top_p: null, tool_resources: null });
  check(nulls.name === null && nulls.instructions === null, 'null assistant fields');
  await client.beta.assistants.update(nulls.id, { model: 'llama3.2', name: 'n', description: 'd', instructions: 'i', metadata: { a: 'b' },
    reasoning_effort: 'medium', response_format: 'auto', temperature: 1, top_p: 1, tools: [{ type: 'code_interpreter' }],
    tool_resources: { code_interpreter: { file_ids: [] } } });
  await client.beta.assistants.update(nulls.id, { name: null, description: null, instructions: null, metadata: null, response_format: null, temperature: null, top_p: null, tool_resources: null });
  const th = await client.beta.threads.create({ metadata: { t: '1' }, tool_resources: { code_interpreter: { file_ids: [f.id] }, file_search: { vector_store_ids: full.tool_resources.file_search.vector_store_ids } },
    messages: [{ role: 'user', content: 'hi', metadata: { m: '1' }, attachments: [{ file_id: f.id, tools: [{ type: 'file_search' }, { type: 'code_interpreter' }] }] }, { role: 'assistant', content: 'hello' }] });
  await client.beta.threads.update(th.id, { metadata: { t: '2' }, tool_resources: { code_interpreter: { file_ids: [] } } });
  await client.beta.threads.update(th.id, { metadata: null, tool_resources: null });
  const msg = await client.beta.threads.messages.create(th.id, { role: 'user', content: 'x', attachments: null, metadata: null });
  await client.beta.threads.messages.update(msg.id, { thread_id: th.id, metadata: { u: '1' } });
  await client.beta.threads.messages.list(th.id, { limit: 5, order: 'desc', after: msg.id });
  await client.beta.threads.messages.delete(msg.id, { thread_id: th.id });
  const plain = await client.beta.assistants.create({ model: 'llama3.2' });
  let r = await client.beta.threads.runs.createAndPoll(th.id, {
    assistant_id: plain.id, include: ['step_details.tool_calls[*].file_search.results[*].content'],
    additional_instructions: 'Also be kind.', additional_messages: [{ role: 'user', content: [{ type: 'text', text: 'go' }], attachments: null, metadata: null }],
    instructions: null, max_completion_tokens: 500, max_prompt_tokens: 2000, metadata: { r: '1' }, model: null, parallel_tool_calls: false,
    reasoning_effort: null, response_format: { type: 'text' }, temperature: null, tool_choice: 'auto', tools: null, top_p: null,
    truncation_strategy: { type: 'last_messages', last_messages: 5 },
  });
  check(r.status === 'completed', 'all-params run ' + r.status + ' ' + JSON.stringify(r.last_error));
  await client.beta.threads.runs.update(r.id, { thread_id: th.id, metadata: { r: '2' } });
  await client.beta.threads.runs.list(th.id, { limit: 3, order: 'asc' });
  const steps = await client.beta.threads.runs.steps.list(r.id, { thread_id: th.id, include: ['step_details.tool_calls[*].file_search.results[*].content'], order: 'asc' });
  await client.beta.threads.runs.steps.retrieve(steps.data[0].id, { thread_id: th.id, run_id: r.id, include: [] });
  r = await client.beta.threads.createAndRunPoll({ assistant_id: plain.id, instructions: null, metadata: null, model: null, tools: null, tool_resources: null,
    tool_choice: 'none', response_format: 'auto', truncation_strategy: { type: 'auto', last_messages: null }, parallel_tool_calls: true,
    thread: { messages: [{ role: 'user', content: 'q' }], metadata: null, tool_resources: null } });
  check(r.status === 'completed', 'createAndRun all params ' + r.status);
  const vs2 = await client.vectorStores.create({ name: 'v', description: 'd', file_ids: [f.id], chunking_strategy: { type: 'auto' }, expires_after: { anchor: 'last_active_at', days: 1 }, metadata: { v: '1' } });
  await client.vectorStores.update(vs2.id, { name: 'w', expires_after: null, metadata: null });
  const f2 = await client.files.create({ file: new File(['kettle two years'], 'k.txt'), purpose: 'assistants' });
  await client.vectorStores.files.create(vs2.id, { file_id: f2.id, attributes: { lang: 'en', n: 2, ok: true }, chunking_strategy: { type: 'auto' } });
  await client.vectorStores.files.update(f2.id, { vector_store_id: vs2.id, attributes: { lang: 'de' } });
  const f3 = await client.files.create({ file: new File(['toaster'], 't.txt'), purpose: 'assistants' });
  await client.vectorStores.fileBatches.createAndPoll(vs2.id, { files: [{ file_id: f3.id, attributes: { a: 'b' } }] });
  await client.vectorStores.search(vs2.id, { query: ['kettle', 'years'], max_num_results: 3, rewrite_query: false, ranking_options: { ranker: 'auto', score_threshold: 0 },
    filters: { type: 'eq', key: 'lang', value: 'de' } });
  await client.vectorStores.files.list(vs2.id, { filter: 'completed', limit: 10, order: 'asc' });
}
console.log('ok all-params');

// Citations stream in the text deltas that complete their markers, and the
// AssistantStream snapshot ends with the completed message's annotations.
{
  const cite = await client.beta.assistants.create({ model: 'llama3.2', tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_store_ids: [vs.id] } } });
  const t4 = await client.beta.threads.create({ messages: [{ role: 'user', content: 'How long is the warranty?' }] });
  const streamed = [];
  const s = client.beta.threads.runs.stream(t4.id, { assistant_id: cite.id })
    .on('textDelta', (d) => { for (const a of d.annotations ?? []) streamed.push(a); });
  const r = await s.finalRun();
  check(r.status === 'completed', 'citation run ' + r.status + ' ' + JSON.stringify(r.last_error));
  const [m] = await s.finalMessages();
  const done = m.content[0].text.annotations;
  check(streamed.length === 1 && done.length === 1 && streamed[0].type === 'file_citation' && streamed[0].index === 0 &&
    streamed[0].text === done[0].text && streamed[0].start_index === done[0].start_index && streamed[0].file_citation.file_id === vf.id,
    'streamed citations ' + JSON.stringify(streamed) + ' completed ' + JSON.stringify(done));
}
console.log('ok citations');
