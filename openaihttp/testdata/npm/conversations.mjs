// The Conversations API with the npm `openai` package. Run by
// TestNpmConversations in ../../conversations_npm_test.go with OPENAI_MODULE,
// HEARTH_URL and HEARTH_KEY as conformance.mjs; prints "ok <flow>" per flow.
const { default: OpenAI, NotFoundError, BadRequestError } = await import(process.env.OPENAI_MODULE);

const client = new OpenAI({ baseURL: process.env.HEARTH_URL, apiKey: process.env.HEARTH_KEY, maxRetries: 0 });

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

// Create with items and metadata, retrieve, update.
const conv = await client.conversations.create({
  metadata: { topic: 'weather' },
  items: [
    { type: 'message', role: 'user', content: 'What is the weather in Oslo?' },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
  ],
});
check(conv.id.startsWith('conv_') && conv.object === 'conversation' && conv.metadata.topic === 'weather', 'create ' + JSON.stringify(conv));
const got = await client.conversations.retrieve(conv.id);
check(got.id === conv.id && got.created_at === conv.created_at, 'retrieve ' + JSON.stringify(got));
const upd = await client.conversations.update(conv.id, { metadata: { topic: 'sun' } });
check(upd.metadata.topic === 'sun', 'update ' + JSON.stringify(upd));
console.log('ok conversation');

// Items: create, list page by page (for await over pages), retrieve, delete.
const added = await client.conversations.items.create(conv.id, {
  items: [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And tomorrow?' }] },
    { role: 'assistant', content: 'Rain.' },
  ],
});
check(added.object === 'list' && added.data.length === 2 && added.first_id === added.data[0].id && added.last_id === added.data[1].id, 'items.create ' + JSON.stringify(added));
check(added.data[1].type === 'message' && added.data[1].status === 'completed' && added.data[1].content[0].type === 'output_text', 'assistant item ' + JSON.stringify(added.data[1]));
const types = [], ids = [];
let pages = 0;
for await (const page of (await client.conversations.items.list(conv.id, { limit: 2 })).iterPages()) {
  pages++;
  for (const item of page.data) {
    types.push(item.type);
    ids.push(item.id);
  }
}
check(pages === 3 && types.join() === 'message,message,function_call_output,function_call,message', `pages ${pages} types ${types}`);
const asc = [];
for await (const item of client.conversations.items.list(conv.id, { order: 'asc', limit: 1 })) {
  asc.push(item.id);
}
check(asc.join() === ids.slice().reverse().join(), 'asc auto-paging ' + asc);
const first = await client.conversations.items.retrieve(asc[0], { conversation_id: conv.id });
check(first.type === 'message' && first.role === 'user' && first.content[0].text === 'What is the weather in Oslo?', 'items.retrieve ' + JSON.stringify(first));
const call = await client.conversations.items.retrieve(asc[1], { conversation_id: conv.id });
check(call.type === 'function_call' && call.id.startsWith('fc_') && call.call_id === 'call_1', 'function call ' + JSON.stringify(call));
const after = await client.conversations.items.delete(asc[0], { conversation_id: conv.id });
check(after.id === conv.id && after.object === 'conversation', 'items.delete ' + JSON.stringify(after));
console.log('ok items');

// Errors come back as the SDK's classes, with param and code.
try {
  await client.conversations.items.retrieve(asc[0], { conversation_id: conv.id });
  check(false, 'deleted item retrieved');
} catch (e) {
  check(e instanceof NotFoundError, 'deleted item: ' + e);
}
try {
  await client.conversations.items.create(conv.id, { items: [] });
  check(false, 'empty items accepted');
} catch (e) {
  check(e instanceof BadRequestError && e.param === 'items' && e.code === 'empty_array', 'empty items: ' + e);
}
const del = await client.conversations.delete(conv.id);
check(del.id === conv.id && del.deleted === true && del.object === 'conversation.deleted', 'delete ' + JSON.stringify(del));
try {
  await client.conversations.retrieve(conv.id);
  check(false, 'deleted conversation retrieved');
} catch (e) {
  check(e instanceof NotFoundError && e.message.includes(`Conversation with id '${conv.id}' not found.`), 'deleted conversation: ' + e);
}
console.log('ok errors');
