// file_search with the npm `openai` package: vector store file attributes
// (create, retrieve, list, update), the search endpoint's filters, and the
// Responses file_search tool with filters and include, streamed and not.
// Run by TestNpmResponseFileSearch in ../../respfilesearch_test.go with
// OPENAI_MODULE, HEARTH_URL and HEARTH_KEY; prints "ok <flow>" per flow.
// The model searches for "kettle warranty" when offered file_search and
// answers "Two years【0:0†kettle.md】." from results, "I found nothing."
// from none.
const { default: OpenAI, toFile, BadRequestError } = await import(process.env.OPENAI_MODULE);

const client = new OpenAI({ baseURL: process.env.HEARTH_URL, apiKey: process.env.HEARTH_KEY, maxRetries: 0 });
const model = 'llama3.2';

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

// Attributes on a vector store file.
const vs = await client.vectorStores.create({ name: 'manuals' });
const file = await client.files.create({ file: await toFile(Buffer.from('# Kettle\n\nThe warranty covers the kettle for two years from the date of purchase.'), 'kettle.md'), purpose: 'assistants' });
const vf = await client.vectorStores.files.createAndPoll(vs.id, { file_id: file.id, attributes: { product: 'kettle', year: 2023, boxed: true } }, { pollIntervalMs: 5 });
check(vf.status === 'completed' && vf.attributes.product === 'kettle' && vf.attributes.year === 2023 && vf.attributes.boxed === true, 'created ' + JSON.stringify(vf));
const up = await client.vectorStores.files.update(file.id, { vector_store_id: vs.id, attributes: { product: 'kettle', year: 2024 } });
check(up.attributes.year === 2024 && !('boxed' in up.attributes), 'updated ' + JSON.stringify(up));
const back = await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id });
check(back.attributes.year === 2024, 'retrieved ' + JSON.stringify(back));
const listed = [];
for await (const f of client.vectorStores.files.list(vs.id)) {
  listed.push(f);
}
check(listed.length === 1 && listed[0].attributes.product === 'kettle', 'listed ' + JSON.stringify(listed));
const hits = [];
for await (const h of client.vectorStores.search(vs.id, { query: 'kettle warranty', filters: { type: 'and', filters: [
  { type: 'eq', key: 'product', value: 'kettle' }, { type: 'gte', key: 'year', value: 2024 }] } })) {
  hits.push(h);
}
check(hits.length > 0 && hits[0].file_id === file.id && hits[0].attributes.year === 2024, 'search ' + JSON.stringify(hits));
const misses = [];
for await (const h of client.vectorStores.search(vs.id, { query: 'kettle warranty', filters: { type: 'in', key: 'product', value: ['toaster'] } })) {
  misses.push(h);
}
check(misses.length === 0, 'filtered search ' + JSON.stringify(misses));
console.log('ok attributes');

// A file_search response: results only with include, citations always.
const tools = [{ type: 'file_search', vector_store_ids: [vs.id], max_num_results: 5, filters: { type: 'eq', key: 'product', value: 'kettle' } }];
function checkResponse(r, withResults) {
  check(r.status === 'completed' && r.output.length === 2, 'response ' + JSON.stringify(r));
  const call = r.output[0];
  check(call.type === 'file_search_call' && call.status === 'completed' && call.queries[0] === 'kettle warranty', 'call ' + JSON.stringify(call));
  if (withResults) {
    check(call.results.length > 0 && call.results[0].file_id === file.id && call.results[0].filename === 'kettle.md' &&
      call.results[0].text.includes('two years') && call.results[0].attributes.product === 'kettle', 'results ' + JSON.stringify(call.results));
  } else {
    check(call.results === null, 'results without include ' + JSON.stringify(call));
  }
  const ann = r.output[1].content[0].annotations;
  check(ann.length === 1 && ann[0].type === 'file_citation' && ann[0].file_id === file.id && ann[0].filename === 'kettle.md', 'annotations ' + JSON.stringify(ann));
  check(r.output_text === 'Two years【0:0†kettle.md】.', 'text ' + r.output_text);
}
const r = await client.responses.create({ model, input: 'How long is the kettle covered?', tools, include: ['file_search_call.results'] });
checkResponse(r, true);
const bare = await client.responses.create({ model, input: 'How long is the kettle covered?', tools });
checkResponse(bare, false);
checkResponse(await client.responses.retrieve(bare.id, { include: ['file_search_call.results'] }), true);
checkResponse(await client.responses.retrieve(r.id), false);
console.log('ok create');

// Streamed through the helper: the file_search_call events, the annotation
// event, and finalResponse().
const types = [];
const stream = client.responses.stream({ model, input: 'How long is the kettle covered?', tools, include: ['file_search_call.results'] });
const annotations = [];
stream.on('response.output_text.annotation.added', (ev) => annotations.push(ev.annotation));
for await (const ev of stream) {
  types.push(ev.type);
}
checkResponse(await stream.finalResponse(), true);
const i = types.indexOf('response.file_search_call.in_progress');
check(i > 0 && types.slice(i - 1, i + 4).join() === 'response.output_item.added,response.file_search_call.in_progress,response.file_search_call.searching,response.file_search_call.completed,response.output_item.done', 'types ' + types);
check(annotations.length === 1 && annotations[0].file_id === file.id, 'annotation events ' + JSON.stringify(annotations));
console.log('ok stream');

// A filter nothing passes, and one of the wrong type.
const none = await client.responses.create({ model, input: 'And the toaster?', include: ['file_search_call.results'],
  tools: [{ ...tools[0], filters: { type: 'eq', key: 'product', value: 'toaster' } }] });
check(none.output[0].results.length === 0 && none.output_text === 'I found nothing.', 'filtered out ' + JSON.stringify(none));
try {
  await client.responses.create({ model, input: 'x', tools: [{ ...tools[0], filters: { type: 'gt', key: 'year', value: 'soon' } }] });
  check(false, 'bad filter accepted');
} catch (e) {
  check(e instanceof BadRequestError && e.param === 'tools[0].filters.value', 'bad filter: ' + e + ' ' + e.param);
}
console.log('ok filters');
