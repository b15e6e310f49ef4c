// Hearth Playground: a plain-JavaScript client of the server's own /v1 API.
// It builds every element with el() (never innerHTML), so text the model or a
// file supplies is never parsed as markup.
"use strict";

const KEY = "hearth_api_key";
const main = document.getElementById("main");
const statusLine = document.getElementById("status");

// el builds an element: attrs are properties (on* are listeners), children
// are nodes or strings.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k in e && k !== "list") e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function setStatus(text, bad) {
  statusLine.textContent = text;
  statusLine.className = bad ? "bad" : "";
}

// ---- the API ----

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || "HTTP " + status);
    this.status = status;
  }
}

let keyWaiters = null;

// askKey shows the key dialog once; every request that got a 401 waits for it.
function askKey() {
  if (!keyWaiters) {
    keyWaiters = [];
    const d = document.getElementById("key-dialog");
    document.getElementById("key-input").value = "";
    d.showModal();
  }
  return new Promise((resolve) => keyWaiters.push(resolve));
}

document.getElementById("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const k = document.getElementById("key-input").value.trim();
  if (!k) return;
  sessionStorage.setItem(KEY, k);
  document.getElementById("key-dialog").close();
  const w = keyWaiters || [];
  keyWaiters = null;
  w.forEach((r) => r());
});
document.getElementById("key-button").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  askKey().then(route);
});

// request sends one /v1 request (JSON or FormData body) and returns the
// Response, asking for an API key and retrying when the server wants one.
async function request(method, path, body) {
  for (;;) {
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = "Bearer " + key;
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const resp = await fetch("/v1" + path, { method, headers, body: payload, credentials: "omit", cache: "no-store" });
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY);
      await askKey();
      continue;
    }
    if (!resp.ok) {
      let j = null;
      try { j = await resp.json(); } catch (_) { /* not JSON */ }
      throw new APIError(resp.status, j);
    }
    return resp;
  }
}

async function api(method, path, body) {
  return (await request(method, path, body)).json();
}

// listAll follows a list's pages.
async function listAll(path) {
  const out = [];
  let after = "";
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", path + sep + "limit=100" + (after ? "&after=" + encodeURIComponent(after) : ""));
    out.push(...page.data);
    if (!page.has_more || page.data.length === 0) return out;
    after = page.last_id || page.data[page.data.length - 1].id;
  }
}

// events reads a text/event-stream body as {event, data} objects.
async function* events(resp) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n/g, "\n");
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
      }
      if (data === "[DONE]") return;
      yield { event, data: data ? JSON.parse(data) : null };
    }
  }
}

// ---- files: names and images ----

const fileNames = new Map();

async function fileName(id) {
  if (!fileNames.has(id)) {
    fileNames.set(id, api("GET", "/files/" + encodeURIComponent(id)).then((f) => f.filename, () => id));
  }
  return fileNames.get(id);
}

const mimeByExt = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", svg: "image/svg+xml", webp: "image/webp" };

// fileImage is an <img> showing a file's content, fetched with the key and
// shown from a blob: URL (an <img src> could not send the key).
function fileImage(id) {
  const img = el("img", { alt: "image " + id, class: "file-image", dataset: { fileId: id } });
  (async () => {
    const name = await fileName(id);
    const resp = await request("GET", "/files/" + encodeURIComponent(id) + "/content");
    const ext = (name.split(".").pop() || "").toLowerCase();
    const type = mimeByExt[ext] || resp.headers.get("Content-Type") || "application/octet-stream";
    const blob = new Blob([await resp.arrayBuffer()], { type });
    img.addEventListener("load", () => img.classList.add("loaded"), { once: true });
    img.src = URL.createObjectURL(blob);
    img.alt = name;
  })().catch((e) => { img.alt = "image " + id + ": " + e.message; });
  return img;
}

// ---- views ----

const views = {};

function route() {
  const [view, ...args] = (location.hash.replace(/^#/, "") || "assistants").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.id === "nav-" + view || (view === "assistant" && a.id === "nav-assistants") || (view === "run" && a.id === "nav-threads"));
  const fn = views[view] || views.assistants;
  main.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  setStatus("");
  fn(...args).catch((e) => {
    main.replaceChildren(el("p", { class: "bad", id: "view-error" }, e.message));
    setStatus(e.message, true);
  });
}
window.addEventListener("hashchange", route);

function toolNames(tools) {
  return (tools || []).map((t) => (t.type === "function" ? t.function.name + "()" : t.type)).join(", ");
}

function when(ts) {
  return ts ? new Date(ts * 1000).toLocaleString() : "";
}

views.assistants = async () => {
  const list = await listAll("/assistants?order=desc");
  main.replaceChildren(
    el("h1", {}, "Assistants"),
    el("p", {}, el("button", { class: "primary", id: "new-assistant", onclick: () => (location.hash = "assistant/new") }, "New assistant")),
    list.length === 0
      ? el("p", { class: "muted", id: "no-assistants" }, "No assistants yet.")
      : el("table", { id: "assistants" },
        el("tr", {}, el("th", {}, "Name"), el("th", {}, "Model"), el("th", {}, "Tools"), el("th", {}, "ID"), el("th", {})),
        list.map((a) => el("tr", { dataset: { id: a.id } },
          el("td", { class: "name" }, a.name || el("span", { class: "muted" }, "(unnamed)")),
          el("td", {}, a.model), el("td", {}, toolNames(a.tools)), el("td", { class: "muted" }, a.id),
          el("td", {},
            el("a", { href: "#assistant/" + a.id }, "Edit"), " · ",
            el("a", { href: "#chat/new/" + a.id, class: "chat-link" }, "Chat"))))),
  );
};

// schemaState checks a function's parameters: JSON, an object schema.
function schemaState(text) {
  if (!text.trim()) return { ok: true, value: undefined, note: "no parameters" };
  let v;
  try { v = JSON.parse(text); } catch (e) { return { ok: false, note: "not JSON: " + e.message }; }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, note: "a JSON Schema must be an object" };
  if (v.type !== undefined && v.type !== "object") return { ok: false, note: "function parameters must have type \"object\"" };
  if (v.properties !== undefined && (typeof v.properties !== "object" || Array.isArray(v.properties))) return { ok: false, note: "properties must be an object" };
  if (v.required !== undefined && !Array.isArray(v.required)) return { ok: false, note: "required must be an array" };
  return { ok: true, value: v, note: "valid JSON Schema" };
}

function functionEditor(fn) {
  const params = el("textarea", { class: "fn-params", spellcheck: false, value: fn && fn.parameters ? JSON.stringify(fn.parameters, null, 2) : '{\n  "type": "object",\n  "properties": {},\n  "required": []\n}' });
  const state = el("span", { class: "schema-state" });
  const check = () => {
    const s = schemaState(params.value);
    state.textContent = s.note;
    state.className = "schema-state " + (s.ok ? "ok" : "bad");
    box.dataset.valid = s.ok ? "true" : "false";
  };
  const box = el("div", { class: "card fn" },
    el("div", { class: "row" },
      el("div", {}, el("label", {}, "Function name"), el("input", { type: "text", class: "fn-name", value: (fn && fn.name) || "" })),
      el("div", {}, el("label", {}, "Description"), el("input", { type: "text", class: "fn-desc", value: (fn && fn.description) || "" }))),
    el("label", {}, "Parameters (JSON Schema) ", state),
    params,
    el("label", { class: "inline" }, el("input", { type: "checkbox", class: "fn-strict", checked: !!(fn && fn.strict) }), "strict"),
    el("button", { type: "button", class: "link", onclick: () => box.remove() }, "Remove function"));
  params.addEventListener("input", check);
  check();
  return box;
}

views.assistant = async (id) => {
  const isNew = !id || id === "new";
  const [a, models, stores] = await Promise.all([
    isNew ? Promise.resolve({ tools: [], temperature: 1 }) : api("GET", "/assistants/" + encodeURIComponent(id)),
    api("GET", "/models").then((m) => m.data.map((x) => x.id)).catch(() => []),
    listAll("/vector_stores?order=desc").catch(() => []),
  ]);
  if (a.model && !models.includes(a.model)) models.unshift(a.model);
  const has = (t) => a.tools.some((x) => x.type === t);
  const storeIDs = (a.tool_resources && a.tool_resources.file_search && a.tool_resources.file_search.vector_store_ids) || [];
  const name = el("input", { type: "text", id: "a-name", value: a.name || "" });
  const model = el("select", { id: "a-model" }, models.map((m) => el("option", { value: m, selected: m === a.model }, m)));
  const instructions = el("textarea", { id: "a-instructions", class: "prose", value: a.instructions || "" });
  const temp = el("input", { type: "number", id: "a-temperature", min: 0, max: 2, step: 0.1, value: a.temperature ?? 1 });
  const ci = el("input", { type: "checkbox", id: "a-code", checked: has("code_interpreter") });
  const fsx = el("input", { type: "checkbox", id: "a-search", checked: has("file_search") });
  const store = el("select", { id: "a-store" }, el("option", { value: "" }, "(no vector store)"),
    stores.map((s) => el("option", { value: s.id, selected: storeIDs.includes(s.id) }, (s.name || s.id) + " (" + s.file_counts.completed + " files)")));
  const fns = el("div", { id: "a-functions" }, a.tools.filter((t) => t.type === "function").map((t) => functionEditor(t.function)));
  const saved = el("span", { id: "a-saved", class: "ok" });
  const form = el("form", { id: "assistant-form", class: "card" },
    el("div", { class: "row" }, el("div", {}, el("label", {}, "Name"), name), el("div", {}, el("label", {}, "Model"), model),
      el("div", {}, el("label", {}, "Temperature"), temp)),
    el("label", {}, "Instructions"), instructions,
    el("h2", {}, "Tools"),
    el("label", { class: "inline" }, ci, "Code interpreter"),
    el("label", { class: "inline" }, fsx, "File search"), store,
    el("h2", {}, "Functions"), fns,
    el("p", {}, el("button", { type: "button", id: "add-function", onclick: () => fns.append(functionEditor(null)) }, "Add function")),
    el("p", {}, el("button", { type: "submit", class: "primary", id: "a-save" }, isNew ? "Create assistant" : "Save"), " ", saved));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    saved.textContent = "";
    const tools = [];
    if (ci.checked) tools.push({ type: "code_interpreter" });
    if (fsx.checked) tools.push({ type: "file_search" });
    for (const box of fns.querySelectorAll(".fn")) {
      const s = schemaState(box.querySelector(".fn-params").value);
      if (!s.ok) { setStatus("Fix the function's JSON Schema: " + s.note, true); return; }
      const f = { name: box.querySelector(".fn-name").value.trim(), description: box.querySelector(".fn-desc").value };
      if (s.value) f.parameters = s.value;
      if (box.querySelector(".fn-strict").checked) f.strict = true;
      tools.push({ type: "function", function: f });
    }
    const body = { name: name.value, model: model.value, instructions: instructions.value, temperature: Number(temp.value), tools,
      tool_resources: { file_search: { vector_store_ids: fsx.checked && store.value ? [store.value] : [] } } };
    try {
      const out = await api("POST", isNew ? "/assistants" : "/assistants/" + encodeURIComponent(a.id), body);
      saved.textContent = "Saved " + out.id;
      saved.dataset.id = out.id;
      if (isNew) history.replaceState(null, "", "#assistant/" + out.id);
      setStatus("Saved " + out.id);
    } catch (e) {
      setStatus(e.message, true);
    }
  });
  main.replaceChildren(el("h1", {}, isNew ? "New assistant" : "Assistant " + a.id), form,
    isNew ? "" : el("p", {}, el("a", { href: "#chat/new/" + a.id }, "Chat with it")));
};

views.threads = async () => {
  const list = (await api("GET", "/threads?order=desc&limit=100")).data; // the newest 100
  main.replaceChildren(el("h1", {}, "Threads"),
    el("p", {}, el("a", { href: "#chat" }, "New chat")),
    list.length === 0 ? el("p", { class: "muted", id: "no-threads" }, "No threads yet.")
      : el("table", { id: "threads" },
        el("tr", {}, el("th", {}, "Thread"), el("th", {}, "Created"), el("th", {}, "Metadata")),
        list.map((t) => el("tr", { dataset: { id: t.id } },
          el("td", {}, el("a", { href: "#chat/" + t.id }, t.id)), el("td", {}, when(t.created_at)),
          el("td", { class: "muted" }, Object.entries(t.metadata || {}).map(([k, v]) => k + "=" + v).join(", "))))));
};

// ---- chat ----

// renderText shows a message's text with its citations as numbered marks
// and the cited files' names below.
function renderText(box, text) {
  box.replaceChildren();
  const anns = (text.annotations || []).filter((a) => a.text);
  let rest = text.value;
  const cites = el("div", { class: "citations" });
  anns.forEach((a, i) => {
    const at = rest.indexOf(a.text);
    if (at < 0) return;
    box.append(rest.slice(0, at));
    rest = rest.slice(at + a.text.length);
    const id = (a.file_citation && a.file_citation.file_id) || (a.file_path && a.file_path.file_id);
    box.append(el("sup", { class: "cite" }, "[" + (i + 1) + "]"));
    const line = el("div", { class: "citation", dataset: { fileId: id || "" } }, "[" + (i + 1) + "] " + (id || a.text));
    if (id) fileName(id).then((n) => { line.textContent = "[" + (i + 1) + "] " + n; line.classList.add("resolved"); });
    cites.append(line);
  });
  box.append(rest);
  if (cites.childElementCount) box.append(cites);
}

function messageView(m) {
  const body = el("div", { class: "content" });
  const v = el("div", { class: "msg " + m.role, dataset: { id: m.id || "" } }, el("span", { class: "role" }, m.role), body);
  fillMessage(body, m.content || []);
  return v;
}

function fillMessage(body, content) {
  body.replaceChildren();
  for (const c of content) {
    if (c.type === "text") {
      const t = el("span", { class: "text" });
      renderText(t, c.text);
      body.append(t);
    } else if (c.type === "image_file") body.append(fileImage(c.image_file.file_id));
  }
}

// toolView shows one tool call: code and its output, a search, or a function.
function toolView(call) {
  const v = el("div", { class: "tool " + call.type, dataset: { callId: call.id || "" } });
  fillTool(v, call);
  return v;
}

function fillTool(v, call) {
  v.replaceChildren();
  if (call.type === "code_interpreter") {
    const ci = call.code_interpreter || {};
    v.append(el("span", { class: "name" }, "code_interpreter"), el("pre", { class: "code-input" }, ci.input || ""));
    for (const o of ci.outputs || []) {
      if (o.type === "logs") v.append(el("pre", { class: "code-output" }, o.logs));
      else if (o.type === "image") v.append(fileImage(o.image.file_id));
    }
  } else if (call.type === "file_search") {
    const results = (call.file_search && call.file_search.results) || [];
    v.append(el("span", { class: "name" }, "file_search"), " ", el("span", { class: "muted" }, results.length ? results.length + " results" : ""));
  } else if (call.type === "function") {
    const f = call.function || {};
    v.append(el("span", { class: "name" }, (f.name || "") + "()"), el("pre", { class: "json fn-args" }, f.arguments || ""),
      f.output != null ? el("pre", { class: "json fn-output" }, f.output) : "");
  }
}

views.chat = async (threadID, assistantID) => {
  const assistants = await listAll("/assistants?order=desc");
  let thread = threadID && threadID !== "new" ? await api("GET", "/threads/" + encodeURIComponent(threadID)) : null;
  const pick = el("select", { id: "chat-assistant" }, assistants.map((a) => el("option", { value: a.id, selected: a.id === assistantID }, (a.name || a.id) + " · " + a.model)));
  const log = el("div", { class: "chat", id: "chat-log" });
  const input = el("textarea", { id: "chat-input", class: "prose", placeholder: "Message…" });
  const send = el("button", { type: "submit", class: "primary", id: "chat-send" }, "Send");
  const stop = el("button", { type: "button", id: "chat-cancel", disabled: true }, "Cancel run");
  const threadLabel = el("span", { id: "chat-thread", class: "muted" }, thread ? thread.id : "new thread");
  const form = el("form", { class: "composer", id: "chat-form" }, input, send, stop);
  main.replaceChildren(el("h1", {}, "Chat"), el("div", { class: "row" }, el("div", {}, el("label", {}, "Assistant"), pick),
    el("div", {}, el("label", {}, "Thread"), threadLabel)), log, form);
  if (assistants.length === 0) log.append(el("p", { class: "muted" }, "Create an assistant first."));
  if (thread) {
    const msgs = await listAll("/threads/" + encodeURIComponent(thread.id) + "/messages?order=asc");
    msgs.forEach((m) => log.append(messageView(m)));
    const runs = await api("GET", "/threads/" + encodeURIComponent(thread.id) + "/runs?limit=1&order=desc");
    if (runs.data[0] && !assistantID) pick.value = runs.data[0].assistant_id;
  }
  let current = null; // the run streaming now

  stop.addEventListener("click", async () => {
    if (current) await api("POST", "/threads/" + thread.id + "/runs/" + current.id + "/cancel", {}).catch((e) => setStatus(e.message, true));
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || !pick.value) return;
    send.disabled = true;
    try {
      if (!thread) {
        thread = await api("POST", "/threads", { metadata: { source: "playground" } });
        threadLabel.textContent = thread.id;
        history.replaceState(null, "", "#chat/" + thread.id + "/" + pick.value);
      }
      const m = await api("POST", "/threads/" + thread.id + "/messages", { role: "user", content: text });
      log.append(messageView(m));
      input.value = "";
      const resp = await request("POST", "/threads/" + thread.id + "/runs", { assistant_id: pick.value, stream: true });
      await stream(resp);
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      send.disabled = false;
      stop.disabled = true;
    }
  });

  // stream shows a run's events as they come: text growing in its message,
  // tool calls with their code and output, and a form on requires_action.
  async function stream(resp) {
    const msgs = new Map(), steps = new Map();
    let line = null;
    for await (const { event, data } of events(resp)) {
      if (event.startsWith("thread.run.") && !event.startsWith("thread.run.step")) {
        current = data;
        stop.disabled = ["completed", "failed", "cancelled", "expired", "incomplete", "requires_action"].includes(data.status);
        if (!line) {
          line = el("div", { class: "runline", dataset: { runId: data.id } });
          log.append(line);
        }
        line.replaceChildren("run ", el("a", { href: "#run/" + thread.id + "/" + data.id, class: "inspect" }, data.id), " · ",
          el("span", { class: "run-status" }, data.status),
          data.last_error ? el("span", { class: "bad" }, " · " + data.last_error.code + ": " + data.last_error.message) : "");
        line.dataset.status = data.status;
        if (event === "thread.run.requires_action") log.append(outputsForm(data));
      } else if (event === "thread.message.created") {
        const v = messageView(data);
        msgs.set(data.id, { v, text: "" });
        log.insertBefore(v, line);
      } else if (event === "thread.message.delta") {
        const m = msgs.get(data.id);
        if (!m) continue;
        for (const c of data.delta.content || []) {
          if (c.type === "text" && c.text && c.text.value) {
            m.text += c.text.value;
            m.v.querySelector(".content").textContent = m.text;
          }
        }
      } else if (event === "thread.message.completed") {
        const m = msgs.get(data.id);
        if (m) { fillMessage(m.v.querySelector(".content"), data.content); m.v.classList.add("done"); }
      } else if (event === "thread.run.step.created" || event === "thread.run.step.completed" || event === "thread.run.step.delta") {
        const d = event === "thread.run.step.delta" ? data.delta.step_details : data.step_details;
        if (!d || d.type !== "tool_calls") continue;
        let s = steps.get(data.id);
        if (!s) {
          s = { box: el("div", { class: "step", dataset: { stepId: data.id } }), calls: [] };
          steps.set(data.id, s);
          log.insertBefore(s.box, line);
        }
        (d.tool_calls || []).forEach((c, i) => {
          const idx = c.index ?? i;
          if (event === "thread.run.step.delta") {
            const cur = s.calls[idx] || (s.calls[idx] = { id: c.id, type: c.type });
            mergeCall(cur, c);
          } else s.calls[idx] = structuredClone(c);
        });
        s.box.replaceChildren(...s.calls.filter(Boolean).map(toolView));
        if (event === "thread.run.step.completed") s.box.classList.add("done");
      } else if (event === "error") {
        setStatus((data && data.message) || "stream error", true);
      }
    }
  }

  // mergeCall folds a tool call delta into the call seen so far.
  function mergeCall(cur, c) {
    if (c.code_interpreter) {
      const ci = cur.code_interpreter || (cur.code_interpreter = { input: "", outputs: [] });
      ci.input += c.code_interpreter.input || "";
      ci.outputs.push(...(c.code_interpreter.outputs || []));
    }
    if (c.function) {
      const f = cur.function || (cur.function = { name: "", arguments: "", output: null });
      f.name += c.function.name || "";
      f.arguments += c.function.arguments || "";
      if (c.function.output != null) f.output = c.function.output;
    }
    if (c.file_search) cur.file_search = c.file_search;
  }

  // outputsForm asks for each function call's output and submits them,
  // streaming the rest of the run.
  function outputsForm(run) {
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    const fields = calls.map((c) => ({ c, out: el("textarea", { class: "tool-output", dataset: { callId: c.id } }) }));
    const f = el("form", { class: "card outputs-form", id: "outputs-" + run.id },
      el("h2", {}, "The run needs function outputs"),
      fields.map(({ c, out }) => el("div", {}, el("span", { class: "name" }, c.function.name + "(" + c.function.arguments + ")"), out)),
      el("button", { type: "submit", class: "primary submit-outputs" }, "Submit outputs"));
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      f.querySelector("button").disabled = true;
      try {
        const resp = await request("POST", "/threads/" + thread.id + "/runs/" + run.id + "/submit_tool_outputs",
          { tool_outputs: fields.map(({ c, out }) => ({ tool_call_id: c.id, output: out.value })), stream: true });
        f.remove();
        send.disabled = true;
        await stream(resp);
      } catch (e) {
        setStatus(e.message, true);
        f.querySelector("button").disabled = false;
      } finally {
        send.disabled = false;
      }
    });
    return f;
  }
};

// ---- the run inspector ----

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { key: k } }, v)]));
}

function json(v) {
  return el("pre", { class: "json" }, JSON.stringify(v, null, 2));
}

function usage(u) {
  return u ? u.prompt_tokens + " prompt + " + u.completion_tokens + " completion = " + u.total_tokens + " tokens" : "—";
}

// truncationNote is what the engine left out of a step's prompt, from the
// hearth.prompt_* metadata it records (undefined when nothing was).
function truncationNote(md) {
  const parts = Object.entries(md || {}).filter(([k]) => k.startsWith("hearth.prompt_")).map(([k, v]) => k.slice("hearth.prompt_".length).replace(/_/g, " ") + ": " + v);
  return parts.length ? el("span", { class: "step-truncation" }, parts.join(", ")) : undefined;
}

views.run = async (threadID, runID) => {
  const base = "/threads/" + encodeURIComponent(threadID) + "/runs/" + encodeURIComponent(runID);
  const [run, steps] = await Promise.all([api("GET", base), listAll(base + "/steps?order=asc")]);
  const ts = run.truncation_strategy || {};
  main.replaceChildren(
    el("h1", {}, "Run ", run.id),
    el("p", {}, el("a", { href: "#chat/" + threadID + "/" + run.assistant_id }, "Back to the chat")),
    el("div", { class: "card", id: "run-summary" }, kv([
      ["status", el("span", { id: "run-status" }, run.status)],
      ["model", run.model], ["assistant", run.assistant_id], ["thread", run.thread_id],
      ["tools", toolNames(run.tools)],
      ["usage", el("span", { id: "run-usage" }, usage(run.usage))],
      ["truncation", el("span", { id: "run-truncation" }, ts.type + (ts.last_messages != null ? " (last " + ts.last_messages + " messages)" : ""))],
      ["temperature", String(run.temperature ?? "")],
      ["incomplete", run.incomplete_details ? run.incomplete_details.reason : "—"],
      ["last_error", el("span", { id: "run-error", class: run.last_error ? "bad" : "" }, run.last_error ? run.last_error.code + ": " + run.last_error.message : "—")],
      ["created", when(run.created_at)], ["completed", when(run.completed_at)],
    ])),
    run.metadata && Object.keys(run.metadata).length ? el("div", { class: "card" }, el("h2", {}, "Metadata"), json(run.metadata)) : "",
    el("h2", {}, "Steps (" + steps.length + ")"),
    el("div", { id: "run-steps" }, steps.map((s) => el("div", { class: "card step", dataset: { stepId: s.id } },
      kv([["step", s.id], ["type", s.type], ["status", s.status], ["usage", usage(s.usage)],
        ["truncation", truncationNote(s.metadata)],
        ["last_error", s.last_error ? s.last_error.code + ": " + s.last_error.message : undefined]]),
      s.step_details.type === "tool_calls" ? s.step_details.tool_calls.map(toolView)
        : el("p", { class: "muted" }, "message ", s.step_details.message_creation.message_id),
      el("details", {}, el("summary", {}, "JSON"), json(s))))),
    el("details", {}, el("summary", {}, "Run JSON"), json(run)));
};

// ---- vector stores ----

views.stores = async () => {
  const stores = await listAll("/vector_stores?order=desc");
  const name = el("input", { type: "text", id: "vs-name", placeholder: "Name" });
  const create = el("form", { id: "vs-create", class: "row" }, name, el("button", { type: "submit", class: "primary" }, "Create vector store"));
  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await api("POST", "/vector_stores", { name: name.value }); route(); } catch (e) { setStatus(e.message, true); }
  });
  main.replaceChildren(el("h1", {}, "Vector stores"), el("div", { class: "card" }, create),
    stores.length === 0 ? el("p", { class: "muted", id: "no-stores" }, "No vector stores yet.") : "",
    el("div", { id: "stores" }, stores.map(storeCard)));
};

function storeCard(vs) {
  const counts = el("span", { class: "file-counts" });
  const bar = el("progress", { max: 1, value: 0 });
  const files = el("ul", { class: "vs-files" });
  const card = el("div", { class: "card vs", dataset: { id: vs.id } });
  const show = (v) => {
    const c = v.file_counts;
    counts.textContent = c.completed + " of " + c.total + " files ready" + (c.in_progress ? ", " + c.in_progress + " in progress" : "") + (c.failed ? ", " + c.failed + " failed" : "");
    bar.max = c.total || 1;
    bar.value = c.completed + c.failed + c.cancelled;
    card.dataset.inProgress = String(c.in_progress);
    card.dataset.completed = String(c.completed);
  };
  const loadFiles = async () => {
    const fl = await listAll("/vector_stores/" + vs.id + "/files");
    files.replaceChildren(...await Promise.all(fl.map(async (f) => el("li", { dataset: { fileId: f.id, status: f.status } },
      await fileName(f.id), " · ", f.status, f.last_error ? " · " + f.last_error.message : ""))));
  };
  // poll shows ingestion progress from file_counts until nothing is in progress.
  const poll = async () => {
    const v = await api("GET", "/vector_stores/" + vs.id);
    show(v);
    await loadFiles();
    if (v.file_counts.in_progress > 0) setTimeout(poll, 300);
  };
  const file = el("input", { type: "file", class: "vs-file" });
  const up = el("form", { class: "vs-upload" }, file, el("button", { type: "submit" }, "Upload and add"));
  up.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!file.files.length) return;
    try {
      const fd = new FormData();
      fd.append("purpose", "assistants");
      fd.append("file", file.files[0]);
      const f = await api("POST", "/files", fd);
      fileNames.set(f.id, Promise.resolve(f.filename));
      await api("POST", "/vector_stores/" + vs.id + "/files", { file_id: f.id });
      file.value = "";
      await poll();
    } catch (e) { setStatus(e.message, true); }
  });
  card.append(el("h2", {}, vs.name || vs.id, " ", el("span", { class: "muted" }, vs.id)), counts, " ", bar, files, up);
  show(vs);
  loadFiles().catch((e) => setStatus(e.message, true));
  if (vs.file_counts.in_progress > 0) poll();
  return card;
}

route();
