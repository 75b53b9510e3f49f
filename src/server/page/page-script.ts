/**
 * The page's script, plain browser JavaScript (no build step, no CDN). Document text only ever
 * reaches the page through textContent: a chunk holding markup shows it as text.
 */
export const PAGE_JS = String.raw`
const $ = (id) => document.getElementById(id);
// The APIs sit beside the assets wherever the server is mounted ("/", or "/rag" inside another app).
const api = (name) => new URL("../api/" + name, import.meta.url);
const form = $("ask-form");
const questionBox = $("question");
const rerankBox = $("rerank");
const rerankerPick = $("reranker");
const askButton = $("ask");
const conversation = $("conversation");
const status = $("status");
/** Finished turns: the history sent with a follow-up. */
let history = [];
let lastQuestion = null;
let current = null;
let turnCount = 0;

function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children || []) if (child) node.append(child);
  return node;
}

function headers() {
  const h = { "content-type": "application/json" };
  const token = sessionStorage.getItem("rerank-rag-token") || $("token").value;
  if (token) h.authorization = "Bearer " + token;
  return h;
}

function needToken() {
  $("token-row").hidden = false;
  $("token").focus();
}

$("token").addEventListener("change", () => {
  sessionStorage.setItem("rerank-rag-token", $("token").value);
  loadInfo();
});

async function loadInfo() {
  const res = await fetch(api("info"), { headers: headers() });
  if (res.status === 401) {
    $("pipeline").textContent = "This server needs an access token.";
    return needToken();
  }
  const info = await res.json();
  if (!res.ok) {
    $("pipeline").textContent = (info.error && info.error.message) || "The server did not answer.";
    return;
  }
  $("pipeline").textContent = info.pipeline + " · " + (info.index.chunks ?? "?") + " chunks · " + (info.snapshot ?? "no snapshot");
  rerankerPick.replaceChildren(...info.rerankers.filter((r) => r !== "none").map((r) => el("option", { value: r, text: r })));
  if (info.reranker !== "none") rerankerPick.value = info.reranker;
  rerankBox.checked = info.reranker !== "none";
  if (info.limits) $("question").maxLength = info.limits.maxQuestionChars;
}

function fmt(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function label(s) {
  return [s.path, s.heading].filter(Boolean).join(" › ") + (s.page ? " (p. " + s.page + ")" : "");
}

/** "first stage #7 → #1", with the direction marked for eyes and screen readers. */
function moveOf(s, reranked) {
  if (!reranked) return el("span", { class: "move", text: "first stage #" + s.retrievalRank + " (not re-ranked)" });
  const from = s.retrievalRank, to = s.rerankRank ?? s.n;
  const cls = to < from ? "up" : to > from ? "down" : "";
  const word = to < from ? "moved up" : to > from ? "moved down" : "unchanged";
  return el("span", { class: "move" }, [
    "first stage #" + from + " → ",
    el("span", { class: cls, text: "#" + to }),
    el("span", { class: "sr-only", text: " (" + word + ")" }),
    " · re-rank score " + fmt(s.rerankScore, 3) + " · first-stage score " + fmt(s.retrievalScore, 3),
  ]);
}

function cardId(turn, n) {
  return "src-" + turn + "-" + n;
}

function renderSources(turn, data) {
  const cards = el("ol", { class: "cards", "aria-label": "Sources" });
  for (const s of data.sources) {
    const text = el("p", { class: "chunk", text: s.text });
    cards.append(el("li", { class: "card", id: cardId(turn.id, s.n), tabindex: "-1" }, [
      el("div", { class: "card-title", text: "[" + s.n + "] " + label(s) }),
      moveOf(s, data.rerank),
      el("details", {}, [el("summary", { text: "Show the passage" }), text]),
    ]));
  }
  const kept = new Set(data.sources.map((s) => s.chunkId));
  const before = el("ol", {}, data.before.slice(0, Math.max(10, data.sources.length)).map((c) =>
    el("li", { class: kept.has(c.chunkId) ? "kept" : "", text: label(c) + " (" + fmt(c.retrievalScore, 3) + ")" })));
  const after = el("ol", {}, data.sources.map((s) =>
    el("li", { text: label(s) + " (was #" + s.retrievalRank + ")" })));
  turn.sources.replaceChildren(
    el("h3", {
      text: related(data)
        ? "Related sources (they do not answer the question)"
        : data.rerank
          ? "Sources after re-ranking with " + data.reranker
          : "Sources (first-stage order, re-ranking off)",
    }),
    cards,
    el("h3", { text: "Before and after re-ranking" }),
    el("div", { class: "compare" }, [
      el("section", { "aria-label": "Before re-ranking" }, [el("h4", { text: "Before: first stage" }), before]),
      el("section", { "aria-label": "After re-ranking" }, [el("h4", { text: data.rerank ? "After: " + data.reranker : "After: same (re-ranking off)" }), after]),
    ]),
  );
}

/** The evidence gate declined: every source is below the cut-off, listed as related, not as an answer. */
function related(data) {
  return data.sources.length > 0 && data.sources.every((s) => s.belowCutOff);
}

/** The answer as text, each [n] a link to its source card. */
function renderAnswer(turn) {
  const parts = turn.text.split(/(\[\d+\])/);
  turn.answer.replaceChildren(...parts.map((part) => {
    const m = /^\[(\d+)\]$/.exec(part);
    if (!m || !turn.count || Number(m[1]) > turn.count) return document.createTextNode(part);
    const a = el("a", { class: "cite", href: "#" + cardId(turn.id, m[1]), "aria-label": "source " + m[1], text: part });
    a.addEventListener("click", (event) => {
      event.preventDefault();
      const card = $(cardId(turn.id, m[1]));
      card.scrollIntoView({ block: "nearest" });
      card.focus();
      card.classList.add("flash");
      setTimeout(() => card.classList.remove("flash"), 1500);
    });
    return a;
  }));
}

function showMessage(turn, text, cls) {
  turn.message.replaceChildren(el("p", { class: cls, role: cls === "error" ? "alert" : "note", text }));
}

function newTurn(question) {
  const id = ++turnCount;
  const answer = el("div", { class: "answer", "aria-live": "polite" });
  const message = el("div");
  const timings = el("p", { class: "timings" });
  const sources = el("div");
  const node = el("article", { class: "turn", "aria-label": "Question " + id }, [el("h2", { text: question }), answer, message, timings, sources]);
  conversation.append(node);
  return { id, node, answer, message, timings, sources, text: "", count: 0, reranked: false, question };
}

/** Reads an SSE response: calls onEvent(name, data) per event. */
async function readEvents(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

async function ask(question, replaceLast) {
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  if (replaceLast && conversation.lastElementChild) conversation.lastElementChild.remove();
  const turn = newTurn(question);
  askButton.disabled = true;
  status.textContent = "Asking…";
  const body = { question, history, rerank: rerankBox.checked };
  if (rerankBox.checked && rerankerPick.value) body.reranker = rerankerPick.value;
  let answered = false;
  try {
    const res = await fetch(api("ask"), { method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal });
    if (res.status === 401) {
      needToken();
      throw new Error("This server needs an access token: enter it above and ask again.");
    }
    if (!res.ok) {
      const err = await res.json().catch(() => ({}));
      throw new Error((err.error && err.error.message) || "The server answered " + res.status + ".");
    }
    await readEvents(res, (name, data) => {
      if (name === "sources") {
        turn.count = data.sources.length;
        turn.reranked = data.rerank;
        renderSources(turn, data);
        if (data.sources.length === 0) showMessage(turn, "The documents don't answer this: nothing relevant was found in the index.", "notice");
      } else if (name === "token") {
        turn.text += data.text;
        renderAnswer(turn);
      } else if (name === "done") {
        answered = true;
        turn.text = data.answer;
        renderAnswer(turn);
        const t = data.timings;
        const rerankTime = turn.reranked ? " · re-rank " + fmt(t.rerankMs, 0) + " ms" : "";
        turn.timings.textContent = "first stage " + fmt(t.firstStageMs, 0) + " ms" + rerankTime + " · first token " + fmt(t.firstTokenMs, 0) + " ms · total " + fmt(t.totalMs, 0) + " ms";
        // The answer says it already when there is one ("The indexed documents do not answer…").
        if (data.noAnswer && !turn.message.firstChild && !turn.text) showMessage(turn, "The documents don't answer this.", "notice");
      } else if (name === "error") {
        showMessage(turn, "Error: " + data.message + (data.hint ? " " + data.hint : ""), "error");
      }
    });
    if (answered) {
      history = history.concat([{ role: "user", content: question }, { role: "assistant", content: turn.text }]);
      lastQuestion = question;
    }
    status.textContent = answered ? "Answer complete." : "The answer stopped.";
  } catch (error) {
    if (error.name !== "AbortError") {
      showMessage(turn, "Error: " + error.message, "error");
      status.textContent = "Error.";
    }
  } finally {
    if (current === controller) current = null;
    askButton.disabled = false;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = questionBox.value.trim();
  if (!question) return questionBox.focus();
  questionBox.value = "";
  ask(question, false);
});
questionBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
// Changing how to re-rank asks the last question again, replacing its turn.
const rerun = () => {
  rerankerPick.disabled = !rerankBox.checked;
  if (lastQuestion) {
    history = history.slice(0, -2);
    ask(lastQuestion, true);
  }
};
rerankBox.addEventListener("change", rerun);
rerankerPick.addEventListener("change", rerun);
$("new-chat").addEventListener("click", () => {
  history = [];
  lastQuestion = null;
  conversation.replaceChildren();
  questionBox.focus();
});
loadInfo().catch((error) => ($("pipeline").textContent = "Cannot reach the server: " + error.message));
`;
