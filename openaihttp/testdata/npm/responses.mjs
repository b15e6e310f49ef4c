// The Responses API with the npm `openai` package. Run by TestNpmResponses
// in ../../responses_npm_test.go with OPENAI_MODULE, HEARTH_URL and
// HEARTH_KEY as conformance.mjs; prints "ok <flow>" per flow. The model
// answers "echo: <last user text>", calls get_weather when offered it, and
// never finishes a turn whose input is "slow" (until cancelled). The last
// flow is the bridge from Assistants, through the same client.
const { default: OpenAI, NotFoundError, BadRequestError, toFile } = await import(process.env.OPENAI_MODULE);

const client = new OpenAI({ baseURL: process.env.HEARTH_URL, apiKey: process.env.HEARTH_KEY, maxRetries: 0 });
const model = 'llama3.2';

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

// The math tutor: create, retrieve, input items, delete.
const r = await client.responses.create({ model, input: 'Solve 3x + 11 = 14', instructions: 'You are a personal math tutor.', metadata: { lesson: '1' } });
check(r.id.startsWith('resp_') && r.object === 'response' && r.status === 'completed', 'create ' + JSON.stringify(r));
check(r.output_text === 'echo: Solve 3x + 11 = 14' && r.metadata.lesson === '1' && r.instructions === 'You are a personal math tutor.', 'output ' + JSON.stringify(r));
check(r.usage.input_tokens > 0 && r.usage.output_tokens > 0 && r.usage.total_tokens === r.usage.input_tokens + r.usage.output_tokens, 'usage ' + JSON.stringify(r.usage));
const got = await client.responses.retrieve(r.id);
check(got.id === r.id && got.output_text === r.output_text, 'retrieve ' + JSON.stringify(got));
const inputs = [];
for await (const item of client.responses.inputItems.list(r.id)) {
  inputs.push(item);
}
check(inputs.length === 1 && inputs[0].type === 'message' && inputs[0].role === 'user' && inputs[0].content[0].text === 'Solve 3x + 11 = 14', 'input items ' + JSON.stringify(inputs));
await client.responses.delete(r.id);
try {
  await client.responses.retrieve(r.id);
  check(false, 'deleted response retrieved');
} catch (e) {
  check(e instanceof NotFoundError, 'deleted: ' + e);
}
console.log('ok create');

// Streaming: the helper's events and finalResponse(); then stream: true.
const types = [];
const stream = client.responses.stream({ model, input: 'one two three' });
let deltas = '';
stream.on('response.output_text.delta', (ev) => { deltas += ev.delta; });
for await (const ev of stream) {
  check(ev.sequence_number === types.length, `event ${types.length} numbered ${ev.sequence_number}`);
  types.push(ev.type);
}
const final = await stream.finalResponse();
check(final.output_text === 'echo: one two three' && deltas === final.output_text, `final ${final.output_text} deltas ${deltas}`);
check(types[0] === 'response.created' && types[1] === 'response.in_progress' && types.at(-1) === 'response.completed' &&
  types.includes('response.output_item.added') && types.includes('response.content_part.done') && types.includes('response.output_text.done'), 'types ' + types);
const raw = await client.responses.create({ model, input: 'raw', stream: true });
let completed = null;
for await (const ev of raw) {
  if (ev.type === 'response.completed') {
    completed = ev.response;
  }
}
check(completed && completed.output[0].content[0].text === 'echo: raw', 'raw stream ' + JSON.stringify(completed));
console.log('ok stream');

// Weather function calling over previous_response_id.
const tools = [{ type: 'function', name: 'get_weather', strict: true,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];
const r1 = await client.responses.create({ model, input: 'Weather in Oslo?', tools });
const call = r1.output.find((o) => o.type === 'function_call');
check(call && call.name === 'get_weather' && JSON.parse(call.arguments).city === 'Oslo' && call.call_id, 'call ' + JSON.stringify(r1.output));
const r2 = await client.responses.create({ model, previous_response_id: r1.id, tools,
  input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny"}' }] });
check(r2.output_text === 'Sunny in Oslo.' && r2.previous_response_id === r1.id, 'second ' + JSON.stringify(r2));
// A streamed tool call: arguments arrive as deltas.
let args = '';
const ts = client.responses.stream({ model, input: 'Weather in Oslo, streamed?', tools });
ts.on('response.function_call_arguments.delta', (ev) => { args += ev.delta; });
const tf = await ts.finalResponse();
check(tf.output.at(-1).type === 'function_call' && args === tf.output.at(-1).arguments, `streamed call ${args} ` + JSON.stringify(tf.output));
console.log('ok functions');

// A conversation: each turn's input and output are appended to it.
const conv = await client.conversations.create({});
await client.responses.create({ model, input: 'hi', conversation: conv.id });
const c2 = await client.responses.create({ model, input: 'again', conversation: conv.id });
check(c2.conversation.id === conv.id, 'conversation ' + JSON.stringify(c2.conversation));
const roles = [];
for await (const item of client.conversations.items.list(conv.id, { order: 'asc' })) {
  roles.push(item.role);
}
check(roles.join() === 'user,assistant,user,assistant', 'roles ' + roles);
console.log('ok conversation');

// Background: queued at once, followed by retrieve(stream) and by the
// stream helper from a sequence number, then cancel (twice).
const bg = await client.responses.create({ model, input: 'later', background: true });
check(bg.status === 'queued' && bg.background === true, 'background ' + JSON.stringify(bg));
const seqs = [];
for await (const ev of await client.responses.retrieve(bg.id, { stream: true, starting_after: 1 })) {
  seqs.push(ev.sequence_number);
}
check(seqs[0] === 2 && seqs.length > 3, 'replay ' + seqs);
const replay = client.responses.stream({ response_id: bg.id, starting_after: 2 });
const replayed = [];
replay.on('event', (ev) => replayed.push(ev.sequence_number));
const bgFinal = await replay.finalResponse();
check(bgFinal.output_text === 'echo: later' && replayed[0] === 3, `stream helper replay ${replayed} ` + bgFinal.output_text);
// A follower of a background response sees it end cancelled (the stream's
// last event is response.failed with status cancelled).
const slow = await client.responses.create({ model, input: 'slow', background: true });
const follow = client.responses.stream({ response_id: slow.id });
let cancelling = null;
follow.on('response.in_progress', () => { cancelling = client.responses.cancel(slow.id); });
const slowFinal = await follow.finalResponse();
check(slowFinal.status === 'cancelled' && (await cancelling).status === 'cancelled', 'followed cancel ' + JSON.stringify(slowFinal));
for (let i = 0; i < 2; i++) {
  const c = await client.responses.cancel(slow.id);
  check(c.status === 'cancelled', 'cancel ' + JSON.stringify(c));
}
console.log('ok background');

// Errors as the SDK's classes, with the API's param and code.
try {
  await client.responses.create({ model, input: 'x', conversation: conv.id, previous_response_id: r1.id });
  check(false, 'conversation with previous_response_id accepted');
} catch (e) {
  check(e instanceof BadRequestError && e.status === 400, 'both: ' + e);
}
try {
  await client.responses.create({ model, input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }], previous_response_id: r2.id });
  check(false, 'unknown call_id accepted');
} catch (e) {
  check(e instanceof BadRequestError && e.message.includes('call_nope'), 'unknown call_id: ' + e);
}
try {
  await client.responses.retrieve('resp_nope');
  check(false, 'unknown response retrieved');
} catch (e) {
  check(e instanceof NotFoundError, 'unknown: ' + e);
}
try {
  await client.responses.cancel(r2.id);
  check(false, 'foreground response cancelled');
} catch (e) {
  check(e instanceof BadRequestError, 'cancel foreground: ' + e);
}
console.log('ok errors');

// The bridge from Assistants: an assistant stands where a prompt does (its
// model, instructions with the variables, tools), and a thread is carried
// into a conversation that a response then continues.
const tutor = await client.beta.assistants.create({ model, instructions: 'You tutor {{subject}}.' });
const viaPrompt = await client.responses.create({ input: 'Solve 2x = 4', prompt: { id: tutor.id, variables: { subject: 'math' } } });
check(viaPrompt.model === model && viaPrompt.instructions === 'You tutor math.' && viaPrompt.prompt.id === tutor.id && viaPrompt.output_text === 'echo: Solve 2x = 4', 'prompt ' + JSON.stringify(viaPrompt));
const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris.' }] });
const carried = await client.post(`/threads/${thread.id}/conversation`);
check(carried.id.startsWith('conv_') && carried.object === 'conversation', 'carried ' + JSON.stringify(carried));
const cont = await client.responses.create({ model, input: 'And of Italy?', conversation: carried.id });
check(cont.output_text === 'echo: And of Italy?', 'continued ' + JSON.stringify(cont));
const texts = [];
for await (const item of client.conversations.items.list(carried.id, { order: 'asc' })) {
  texts.push(item.role + ':' + item.content[0].text);
}
check(texts.join('|') === 'user:Capital of France?|assistant:Paris.|user:And of Italy?|assistant:echo: And of Italy?', 'carried items ' + texts);
const still = await client.beta.threads.messages.list(thread.id);
check(still.data.length === 2, 'the thread keeps its messages');
console.log('ok bridge');

// Input files and images: an uploaded file and inline file_data reach the
// model as their text; an image as a data URL reaches a vision model.
const notes = await client.files.create({ file: await toFile(Buffer.from('The kettle warranty lasts two years.'), 'notes.txt'), purpose: 'user_data' });
const withFile = await client.responses.create({ model, input: [{ role: 'user', content: [
  { type: 'input_text', text: 'Summarise:' }, { type: 'input_file', file_id: notes.id }] }] });
check(withFile.output_text.includes('The kettle warranty lasts two years.'), 'input_file ' + withFile.output_text);
const inline = await client.responses.create({ model, input: [{ role: 'user', content: [
  { type: 'input_file', filename: 'inline.txt', file_data: 'data:text/plain;base64,' + Buffer.from('Toasters brown bread.').toString('base64') }] }] });
check(inline.output_text.includes('Toasters brown bread.'), 'file_data ' + inline.output_text);
const png = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const seen = await client.responses.create({ model: 'llava', input: [{ role: 'user', content: [
  { type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: png, detail: 'low' }] }] });
check(seen.status === 'completed' && seen.output_text.startsWith('echo: What is this?'), 'input_image ' + JSON.stringify(seen));
const inItems = await client.responses.inputItems.list(seen.id);
check(inItems.data[0].content[1].type === 'input_image', 'image kept in input items ' + JSON.stringify(inItems.data[0]));
console.log('ok inputs');
