// Duck playground: pick an app, fill its form, run it, and see the same request as curl, Python and JS.
// Every URL is relative: the page lives at <endpoint URL>/playground, so "apps/x/..." resolves to
// <endpoint URL>/apps/x/... behind any prefix. The key stays in this tab's sessionStorage and only
// ever travels in the Authorization header.
"use strict";

const KEY_ITEM = "duck.playground.key";
const MODE_ITEM = "duck.playground.mode.";
const USER = "playground";
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ROUTES = {auto: "run", chat: "chat-messages", workflow: "workflows/run", completion: "completion-messages"};
const COMPLETION_HINT = "Dify cannot run Completion apps for plugins: its inner API starts the completion "
  + "generator without a query (api/core/plugin/backwards_invocation/app.py), so every call fails with this "
  + "500 whatever Duck sends. Rebuild the app as a Workflow, or call Dify's own Service API for it.";

const state = {appId: "", fields: [], uploads: {}, pendingUploads: new Set(), conversationId: "",
  controller: null};

const $ = (selector) => document.querySelector(selector);

/** A DOM element; props set attributes, except `text` (textContent). Never parses HTML. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// ---- talking to the endpoint -------------------------------------------------------------------

class ApiError extends Error {
  /** An HTTP error in either shape Duck answers: {code, message, status} or OpenAI's {error: {...}}. */
  constructor(status, body) {
    const detail = body && typeof body.error === "object" && body.error ? body.error : body || {};
    super(detail.message || "(no message)");
    this.status = status;
    this.code = detail.code || "error";
  }
}

function key() { return $("#key").value.trim(); }
function authHeaders() { return {Authorization: "Bearer " + key()}; }
function absolute(path) { return new URL(path, document.baseURI).href; }

async function readJson(response) {
  const text = await response.text();
  try { return JSON.parse(text); } catch { return {message: text.slice(0, 500)}; }
}

async function getJson(path) {
  const response = await fetch(path, {headers: authHeaders(), cache: "no-store"});
  const body = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function describe(error) {
  if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
  return `The request failed: ${error.message}`;
}

function hintFor(error, mode) {
  if (!(error instanceof ApiError)) return "";
  if (error.status === 401) return "Check the key: it is the API key in this endpoint's settings in Dify.";
  if (error.status === 503) return "Set an API key in this endpoint's settings in Dify.";
  if (error.code === "app_not_found" || error.code === "model_not_found") {
    return "No such app in this workspace, or this endpoint only serves another app.";
  }
  if (["not_chat_app", "not_workflow_app", "app_unavailable"].includes(error.code)) {
    return "The app type does not match this route: choose another type above, or Detect it.";
  }
  if (error.code === "completion_apps_unsupported") return "";  // Duck's message says it all
  if (error.status === 500 && mode === "completion") return COMPLETION_HINT;
  if (error.status === 500 && mode === "auto") return "If this is a Completion app: " + COMPLETION_HINT;
  return "";
}

/** The Server-Sent Events of a streamed answer, as parsed JSON objects (pings skipped). */
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

// ---- key and app ---------------------------------------------------------------------------------

function showConnectError(message) {
  const box = $("#connect-error");
  box.textContent = message;
  box.hidden = !message;
}

async function loadApps() {
  showConnectError("");
  try {
    const ids = (await getJson("v1/models")).data.map((model) => model.id);
    $("#app-ids").replaceChildren(...ids.map((id) => el("option", {value: id})));
    $("#apps-hint").textContent = ids.length
      ? `This endpoint serves: ${ids.join(", ")}.`
      : "This endpoint accepts any app id: type one (it is in the app's URL in Dify).";
    if (ids.length && !ids.includes($("#app-id").value.trim())) $("#app-id").value = ids[0];
    if (ids.length === 1) await openApp();
    else $("#app-id").focus();
  } catch (error) {
    showConnectError(describe(error) + " " + hintFor(error, ""));
  }
}

async function openApp() {
  const appId = $("#app-id").value.trim();
  showConnectError("");
  if (!APP_ID.test(appId)) {
    showConnectError("An app id is letters, digits, - and _ (a Dify app id is a UUID).");
    return;
  }
  try {
    const parameters = await getJson(`apps/${appId}/parameters`);
    Object.assign(state, {appId, uploads: {}, conversationId: ""});
    state.pendingUploads.clear();
    $("#app-title").textContent = "Run " + appId;
    $("#mode").value = sessionStorage.getItem(MODE_ITEM + appId) || "auto";
    renderInputs(parameters.user_input_form || []);
    $("#runs").replaceChildren();
    if (parameters.opening_statement) {
      $("#runs").append(el("p", {class: "opening", text: parameters.opening_statement}));
    }
    $("#app").hidden = false;
    modeChanged();
    const first = $("#inputs input, #inputs textarea, #inputs select") || $("#query");
    first.focus();
  } catch (error) {
    showConnectError(describe(error) + " " + hintFor(error, ""));
  }
}

// ---- the app's input form ------------------------------------------------------------------------

function renderInputs(form) {
  const box = $("#inputs");
  box.replaceChildren();
  state.fields = [];
  for (const item of form) {
    const [type, spec] = Object.entries(item)[0] || [];
    if (!spec || typeof spec.variable !== "string") continue;
    const id = "input-" + state.fields.length;
    const control = inputControl(type, spec, id);
    const label = el("label", {for: id, text: (spec.label || spec.variable) + (spec.required ? " *" : "")});
    const field = el("div", {class: "field" + (type === "checkbox" ? " check" : "")}, label, control);
    if (type === "file" || type === "file-list") {
      const status = el("span", {class: "hint", id: id + "-status", "aria-live": "polite"});
      control.setAttribute("aria-describedby", status.id);
      control.addEventListener("change", () => uploadFiles(spec.variable, control, status));
      field.append(status);
    }
    box.append(field);
    state.fields.push({type, spec, control});
  }
  if (!state.fields.length) box.append(el("p", {class: "hint", text: "This app has no inputs."}));
}

function inputControl(type, spec, id) {
  let control;
  if (type === "paragraph" || type === "json_object") {
    control = el("textarea", {id, rows: "3"});
  } else if (type === "select") {
    control = el("select", {id}, el("option", {value: "", text: spec.required ? "Choose one" : "(none)"}),
      ...(spec.options || []).map((option) => el("option", {value: option, text: option})));
  } else if (type === "number") {
    control = el("input", {id, type: "number", step: "any"});
  } else if (type === "checkbox") {
    control = el("input", {id, type: "checkbox"});
    control.checked = spec.default === true;
  } else if (type === "file" || type === "file-list") {
    control = el("input", {id, type: "file"});
    control.multiple = type === "file-list";
  } else {
    control = el("input", {id, type: "text"});
  }
  if (spec.max_length && control.tagName !== "SELECT" && type !== "number") control.maxLength = spec.max_length;
  const simpleDefault = ["string", "number"].includes(typeof spec.default) && spec.default !== "";
  if (simpleDefault && !["file", "checkbox"].includes(control.type)) control.value = String(spec.default);
  return control;
}

function collectInputs() {
  const inputs = {};
  for (const {type, spec, control} of state.fields) {
    const name = spec.variable;
    if (type === "checkbox") {
      inputs[name] = control.checked;
    } else if (type === "file" || type === "file-list") {
      const values = (state.uploads[name] || []).map((upload) => upload.value);
      if (values.length) inputs[name] = type === "file" ? values[0] : values;
    } else if (control.value !== "") {
      if (type === "number") inputs[name] = Number(control.value);
      else if (type === "json_object") inputs[name] = parseJsonInput(name, control.value);
      else inputs[name] = control.value;
    }
  }
  return inputs;
}

function parseJsonInput(name, text) {
  try { return JSON.parse(text); } catch { throw new Error(`${name} is not valid JSON.`); }
}

async function uploadFiles(variable, control, status) {
  const done = (async () => {
    state.uploads[variable] = [];
    status.classList.remove("error");
    for (const file of control.files) {
      status.textContent = `Uploading ${file.name}...`;
      const request = {method: "POST", path: `apps/${state.appId}/files/upload`,
        file: {name: file.name, type: file.type || "application/octet-stream"}};
      try {
        const form = new FormData();
        form.append("file", file);
        const response = await fetch(request.path, {method: "POST", headers: authHeaders(), body: form});
        const body = await readJson(response);
        if (!response.ok) throw new ApiError(response.status, body);
        state.uploads[variable].push({value: body.value, request});
        status.textContent = `Uploaded ${body.name} (${body.size} bytes).`;
      } catch (error) {
        state.uploads[variable] = [];
        status.textContent = "Upload failed: " + describe(error);
        status.classList.add("error");
        break;
      }
    }
    refreshPreview();
  })();
  state.pendingUploads.add(done);
  await done;
  state.pendingUploads.delete(done);
}

// ---- running ---------------------------------------------------------------------------------------

function takesQuery(mode) { return mode === "chat" || mode === "auto"; }

function modeChanged() {
  const mode = $("#mode").value;
  $("#query-field").hidden = !takesQuery(mode);
  if (!takesQuery(mode)) setConversation("");
  refreshPreview();
}

function setConversation(id) {
  state.conversationId = id;
  $("#new-conversation").hidden = !id;
  $("#conversation").textContent = id ? `Conversation ${id}: the next message continues it.` : "";
}

/** The run request the form describes now: {method, path, body, stream, uploads}. */
function runRequest() {
  const mode = $("#mode").value;
  const body = {};
  const query = $("#query").value;
  if (takesQuery(mode) && query.trim()) body.query = query;
  body.inputs = collectInputs();
  body.response_mode = "streaming";
  body.user = USER;
  if (takesQuery(mode) && state.conversationId) body.conversation_id = state.conversationId;
  const uploads = Object.values(state.uploads).flat().map((upload) => upload.request);
  return {method: "POST", path: `apps/${state.appId}/${ROUTES[mode]}`, body, stream: true, uploads};
}

async function run(event) {
  event.preventDefault();
  if (state.controller) return;
  await Promise.all(state.pendingUploads);
  const mode = $("#mode").value;
  let request;
  try {
    request = runRequest();
  } catch (error) {
    newExchange("").fail(error.message);
    return;
  }
  renderSnippets(request, true);
  if (!takesQuery(mode)) $("#runs").replaceChildren();
  else if (!state.conversationId) $("#runs").querySelectorAll(".exchange").forEach((old) => old.remove());
  const exchange = newExchange(request.body.query || "");
  if (takesQuery(mode)) $("#query").value = "";
  state.controller = new AbortController();
  $("#runs").setAttribute("aria-busy", "true");  // screen readers read the answer once it is whole
  $("#run").disabled = true;
  $("#stop").disabled = false;
  let detected = "";
  try {
    const response = await fetch(request.path, {
      method: "POST", signal: state.controller.signal,
      headers: {...authHeaders(), "Content-Type": "application/json", Accept: "text/event-stream"},
      body: JSON.stringify(request.body),
    });
    const requestId = response.headers.get("x-request-id");
    if (requestId) exchange.note(requestId);  // the id Duck's log line carries
    if (!response.ok) {
      const error = new ApiError(response.status, await readJson(response));
      exchange.fail(describe(error), hintFor(error, mode));
      return;
    }
    let finished = false;
    for await (const appEvent of serverSentEvents(response)) {
      detected = detected || detectMode(appEvent);
      if (appEvent.conversation_id && detected === "chat") setConversation(appEvent.conversation_id);
      finished = exchange.handle(appEvent) || finished;
    }
    if (!finished) exchange.fail("The stream ended before the app finished (no final event).");
  } catch (error) {
    if (error.name === "AbortError") exchange.note("Stopped.");
    else exchange.fail(describe(error));
  } finally {
    state.controller = null;
    $("#runs").setAttribute("aria-busy", "false");
    $("#run").disabled = false;
    $("#stop").disabled = true;
    if (mode === "auto" && detected) adoptMode(detected);
  }
}

/** An app's type from its events: workflow runs have no conversation, completions no workflow. */
function detectMode(appEvent) {
  const name = appEvent.event;
  const inConversation = "conversation_id" in appEvent;
  if (name === "workflow_started") return inConversation ? "chat" : "workflow";
  if (["message", "agent_message", "agent_thought", "message_end"].includes(name)) {
    return inConversation ? "chat" : "completion";
  }
  return "";
}

function adoptMode(mode) {
  $("#mode").value = mode;
  sessionStorage.setItem(MODE_ITEM + state.appId, mode);
  $("#query-field").hidden = !takesQuery(mode);
  $("#conversation").textContent = `Detected: ${$("#mode").selectedOptions[0].textContent}. `
    + $("#conversation").textContent;
}

/** One run's output in the Answer section; handle() takes each app event, true when it is the last. */
function newExchange(query) {
  const article = el("article", {class: "exchange"});
  if (query) article.append(el("p", {class: "user", text: query}));
  const nodes = el("ol", {class: "nodes"});
  const answerText = document.createTextNode("");
  const answer = el("p", {class: "answer"}, answerText);
  // Shown by its first text (CSS :empty is not re-evaluated when a text node grows in Chromium).
  const write = (text, replace = false) => {
    if (replace) answerText.data = text;
    else answerText.appendData(text);
    answer.hidden = !answerText.data;
  };
  const outputs = el("pre", {class: "outputs", tabindex: "0", "aria-label": "Outputs"});
  const outputsBox = el("div", {}, el("p", {class: "caption", text: "Outputs"}), outputs);
  const meta = el("p", {class: "meta"});
  const error = el("div", {class: "error", role: "alert"});
  answer.hidden = nodes.hidden = outputsBox.hidden = error.hidden = true;
  article.append(nodes, answer, outputsBox, meta, error);
  $("#runs").append(article);
  const nodeItems = new Map();

  function fail(message, hint = "") {
    error.replaceChildren(el("strong", {text: message}), ...(hint ? [el("p", {text: hint})] : []));
    error.hidden = false;
  }
  function note(text) { meta.append(el("span", {text})); }
  function node(data) {
    let item = nodeItems.get(data.id);
    if (!item) {
      item = el("li");
      nodeItems.set(data.id, item);
      nodes.append(item);
      nodes.hidden = false;
    }
    return item;
  }

  function handle(appEvent) {
    const data = appEvent.data || {};
    switch (appEvent.event) {
      case "message":
      case "agent_message":
        write(appEvent.answer || "");
        return false;
      case "text_chunk":
        write(data.text || "");
        return false;
      case "message_replace":
        write(appEvent.answer || "", true);
        return false;
      case "agent_thought":
        if (appEvent.tool) note(`Tool ${appEvent.tool}: ${appEvent.observation || ""}`);
        return false;
      case "message_file":
        note(`File (${appEvent.type}): ${appEvent.url}`);
        return false;
      case "node_started":
        node(data).textContent = `${data.title || data.node_type}: running`;
        return false;
      case "node_finished": {
        const item = node(data);
        item.textContent = `${data.title || data.node_type}: ${data.status}`
          + (data.elapsed_time != null ? ` in ${Number(data.elapsed_time).toFixed(2)} s` : "")
          + (data.error ? ` (${data.error})` : "");
        item.className = data.status === "succeeded" ? "ok" : "failed";
        return false;
      }
      case "workflow_finished":
        if (data.outputs && Object.keys(data.outputs).length) {
          outputs.textContent = JSON.stringify(data.outputs, null, 2);
          outputsBox.hidden = false;
        }
        note(`Workflow ${data.status}` + (data.total_tokens != null ? `, ${data.total_tokens} tokens` : "") + ".");
        if (data.status !== "succeeded") fail(`The workflow ${data.status}: ${data.error || "no error text"}`);
        return !("conversation_id" in appEvent);  // a chatflow ends with message_end
      case "message_end": {
        const usage = (appEvent.metadata || {}).usage;
        if (usage) note(`${usage.total_tokens} tokens.`);
        return true;
      }
      case "error":
        fail(`The stream ended with an error event: ${appEvent.status} ${appEvent.code}: ${appEvent.message}`);
        return true;
      default:
        return false;
    }
  }

  return {handle, fail, note};
}

// ---- the same request as curl, Python and JavaScript ---------------------------------------------

function maskedKey() {
  const value = key();
  return value.length >= 12 ? "••••" + value.slice(-4) : "••••••••";
}

function shellQuote(text) { return "'" + text.replace(/'/g, "'\\''") + "'"; }

/** JSON text as a Python literal: true/false/null outside strings become True/False/None. */
function pythonLiteral(value) {
  const words = {true: "True", false: "False", null: "None"};
  return JSON.stringify(value, null, 4).replace(/"(?:[^"\\]|\\.)*"|\b(?:true|false|null)\b/g,
    (token) => words[token] || token);
}

function curlSnippet(step) {
  const lines = [`curl${step.stream ? " -N" : ""} ${shellQuote(absolute(step.path))}`,
    `-H ${shellQuote("Authorization: Bearer " + maskedKey())}`];
  if (step.file) {
    lines.push(`-F ${shellQuote(`file=@"${step.file.name.replace(/["\\]/g, "\\$&")}";type=${step.file.type}`)}`);
  } else if (step.body) {
    lines.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(step.body))}`);
  }
  return lines.join(" \\\n  ");
}

function pythonSnippet(steps) {
  const parts = ["import httpx", `headers = {"Authorization": ${JSON.stringify("Bearer " + maskedKey())}}`];
  for (const step of steps) {
    const url = JSON.stringify(absolute(step.path));
    if (step.file) {
      const name = JSON.stringify(step.file.name);
      parts.push(`with open(${name}, "rb") as file:\n`
        + `    upload = httpx.post(${url}, headers=headers,\n`
        + `                        files={"file": (${name}, file, ${JSON.stringify(step.file.type)})})\n`
        + `print(upload.status_code, upload.json())  # its "value" goes into inputs`);
    } else {
      parts.push(`body = ${pythonLiteral(step.body)}\n`
        + `with httpx.stream("POST", ${url}, headers=headers, json=body, timeout=None) as response:\n`
        + `    for line in response.iter_lines():\n`
        + `        if line.startswith("data: "):\n`
        + `            print(line[len("data: "):])  # one app event (JSON) per line`);
    }
  }
  return parts.join("\n\n");
}

function jsSnippet(steps) {
  const parts = [`const headers = {Authorization: ${JSON.stringify("Bearer " + maskedKey())}};`];
  for (const step of steps) {
    const url = JSON.stringify(absolute(step.path));
    if (step.file) {
      parts.push(`const form = new FormData();\n`
        + `form.append("file", fileInput.files[0]);  // ${step.file.name}, from an <input type="file">\n`
        + `const upload = await (await fetch(${url}, {method: "POST", headers, body: form})).json();\n`
        + `console.log(upload.value);  // goes into inputs`);
    } else {
      parts.push(`const response = await fetch(${url}, {\n`
        + `  method: "POST",\n`
        + `  headers: {...headers, "Content-Type": "application/json"},\n`
        + `  body: JSON.stringify(${JSON.stringify(step.body, null, 2).replace(/\n/g, "\n  ")}),\n`
        + `});\n`
        + `const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();\n`
        + `for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {\n`
        + `  console.log(chunk.value);  // Server-Sent Events: "data: {...}" blocks\n`
        + `}`);
    }
  }
  return parts.join("\n\n");
}

function renderSnippets(request, sent) {
  const steps = [...request.uploads, request];
  $("#snippet-curl pre").textContent = steps.map(curlSnippet).join("\n\n");
  $("#snippet-python pre").textContent = pythonSnippet(steps);
  $("#snippet-js pre").textContent = jsSnippet(steps);
  $("#request-hint").textContent = sent
    ? "The request just sent (uploads first), with the key masked:"
    : "The request Run will send, with the key masked:";
}

function refreshPreview() {
  if (!state.appId || state.controller) return;
  try { renderSnippets(runRequest(), false); } catch { /* an input that is not JSON yet: keep the last one */ }
}

function selectTab(tab) {
  for (const other of document.querySelectorAll("[role=tab]")) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $("#" + other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}

async function copySnippet() {
  const pre = $("[role=tabpanel]:not([hidden]) pre");
  const status = $("#copy-status");
  try {
    await navigator.clipboard.writeText(pre.textContent);
    status.textContent = "Copied. Put your key where it is masked.";
  } catch {
    window.getSelection().selectAllChildren(pre);
    status.textContent = "Selected: press Ctrl+C (the clipboard needs HTTPS).";
  }
}

// ---- wiring ----------------------------------------------------------------------------------------

function start() {
  const keyInput = $("#key");
  keyInput.value = sessionStorage.getItem(KEY_ITEM) || "";
  keyInput.addEventListener("input", () => {
    sessionStorage.setItem(KEY_ITEM, key());
    refreshPreview();
  });
  $("#key-form").addEventListener("submit", (event) => { event.preventDefault(); loadApps(); });
  $("#app-form").addEventListener("submit", (event) => { event.preventDefault(); openApp(); });
  $("#run-form").addEventListener("submit", run);
  $("#run-form").addEventListener("input", (event) => { if (event.target.type !== "file") refreshPreview(); });
  $("#mode").addEventListener("change", () => {
    sessionStorage.setItem(MODE_ITEM + state.appId, $("#mode").value);
    modeChanged();
  });
  $("#query").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("#run-form").requestSubmit();
    }
  });
  $("#stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("#new-conversation").addEventListener("click", () => {
    setConversation("");
    $("#runs").replaceChildren();
    refreshPreview();
    $("#query").focus();
  });
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
      if (step) selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
    });
  }
  $("#copy").addEventListener("click", copySnippet);
  if (key()) loadApps();
}

start();
