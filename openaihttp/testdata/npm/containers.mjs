// The Containers API and the code interpreter on Responses with the npm
// `openai` package. Run by TestNpmContainers in ../../containers_npm_test.go
// with OPENAI_MODULE, HEARTH_URL and HEARTH_KEY as conformance.mjs; prints
// "ok <flow>" per flow. The model runs the last user text as Python when
// offered code_interpreter, then answers "see sandbox:/mnt/data/out.txt".
const { default: OpenAI, NotFoundError, BadRequestError, toFile } = await import(process.env.OPENAI_MODULE);

const client = new OpenAI({ baseURL: process.env.HEARTH_URL, apiKey: process.env.HEARTH_KEY, maxRetries: 0 });
const model = 'llama3.2';

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

// Containers and their files.
const up = await client.files.create({ file: await toFile(Buffer.from('a,b\n1,2\n'), 'data.csv'), purpose: 'assistants' });
const c = await client.containers.create({ name: 'npm', file_ids: [up.id], expires_after: { anchor: 'last_active_at', minutes: 10 } });
check(c.id.startsWith('cntr_') && c.object === 'container' && c.status === 'active' && c.expires_after.minutes === 10, 'create ' + JSON.stringify(c));
check((await client.containers.retrieve(c.id)).name === 'npm', 'retrieve');
const listed = [];
for await (const x of client.containers.list({ limit: 1 })) {
  listed.push(x.id);
}
check(listed.includes(c.id), 'list ' + listed);
const f = await client.containers.files.create(c.id, { file: await toFile(Buffer.from('hello'), 'hello.txt') });
check(f.id.startsWith('cfile_') && f.object === 'container.file' && f.path === '/mnt/data/hello.txt' && f.bytes === 5 && f.source === 'user', 'file ' + JSON.stringify(f));
const byID = await client.containers.files.create(c.id, { file_id: up.id });
check(byID.path !== '/mnt/data/data.csv' && byID.path.endsWith('data.csv'), 'by file_id ' + JSON.stringify(byID));
const paths = [];
for await (const x of client.containers.files.list(c.id, { order: 'asc' })) {
  paths.push(x.path);
}
check(paths.length === 3 && paths[0] === '/mnt/data/data.csv', 'files ' + paths);
const content = await client.containers.files.content.retrieve(f.id, { container_id: c.id });
check((await content.text()) === 'hello', 'content');
await client.containers.files.delete(f.id, { container_id: c.id });
try {
  await client.containers.files.retrieve(f.id, { container_id: c.id });
  check(false, 'deleted file retrieved');
} catch (e) {
  check(e instanceof NotFoundError, 'deleted file: ' + e);
}
console.log('ok containers');

// The code interpreter: streamed with the helper, then by container id.
const stream = client.responses.stream({ model, input: "rows = open('/mnt/data/data.csv').read().split()\nprint(len(rows))\nopen('/mnt/data/out.txt', 'w').write('2')",
  tools: [{ type: 'code_interpreter', container: c.id }], include: ['code_interpreter_call.outputs'] });
let code = '';
const types = [];
stream.on('response.code_interpreter_call_code.delta', (ev) => { code += ev.delta; });
for await (const ev of stream) {
  check(ev.sequence_number === types.length, `event ${types.length} numbered ${ev.sequence_number}`);
  types.push(ev.type);
}
const final = await stream.finalResponse();
for (const t of ['response.code_interpreter_call.in_progress', 'response.code_interpreter_call_code.done', 'response.code_interpreter_call.interpreting',
  'response.code_interpreter_call.completed', 'response.output_text.annotation.added']) {
  check(types.includes(t), 'no ' + t + ' in ' + types);
}
const call = final.output[0];
check(call.type === 'code_interpreter_call' && call.container_id === c.id && call.status === 'completed' && call.code === code, 'call ' + JSON.stringify(call));
check(call.outputs.length === 1 && call.outputs[0].type === 'logs' && call.outputs[0].logs.startsWith('2\n'), 'outputs ' + JSON.stringify(call.outputs));
const ann = final.output[1].content[0].annotations;
check(ann.length === 1 && ann[0].type === 'container_file_citation' && ann[0].container_id === c.id && ann[0].filename === 'out.txt', 'annotations ' + JSON.stringify(ann));
const cited = await client.containers.files.content.retrieve(ann[0].file_id, { container_id: c.id });
check((await cited.text()) === '2', 'cited file');
const again = await client.responses.create({ model, input: 'print(rows)', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] });
check(again.output[0].container_id !== c.id && again.output[0].outputs === null, 'auto ' + JSON.stringify(again.output[0]));
console.log('ok code');

// Bad input: an unknown container, then a deleted one.
for (const container of ['cntr_nope']) {
  try {
    await client.responses.create({ model, input: 'x', tools: [{ type: 'code_interpreter', container }] });
    check(false, 'unknown container accepted');
  } catch (e) {
    check(e instanceof NotFoundError && e.param === 'tools[0].container', 'unknown container: ' + e);
  }
}
try {
  await client.containers.create({ name: 'x', expires_after: { anchor: 'created_at', minutes: 1 } });
  check(false, 'bad anchor accepted');
} catch (e) {
  check(e instanceof BadRequestError && e.param === 'expires_after.anchor', 'bad anchor: ' + e);
}
await client.containers.delete(c.id);
try {
  await client.containers.retrieve(c.id);
  check(false, 'deleted container retrieved');
} catch (e) {
  check(e instanceof NotFoundError, 'deleted container: ' + e);
}
console.log('ok errors');
