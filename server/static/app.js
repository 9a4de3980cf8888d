// policyrag web page: search, streamed answers with clickable citations, document browser. No build step, no CDN.
"use strict";
const $ = (id) => document.getElementById(id);
let mode = "search";
let lastAnswer = null;
let panelCopy = "";

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function setMode(next) {
  mode = next;
  for (const t of document.querySelectorAll(".tab[data-mode]")) t.classList.toggle("active", t.dataset.mode === next);
  $("go").textContent = next === "ask" ? "提问" : "检索";
  $("query-form").hidden = next === "docs";
  $("docs").hidden = next !== "docs";
  $("results").hidden = next === "docs";
  $("answer").hidden = true;
  if (next === "docs") loadDocuments();
}

// With --allow-remote the API needs a token: ask for it on the first 401 and keep it for this tab.
let apiToken = sessionStorage.getItem("policyrag.token") || "";

async function apiFetch(url, options = {}) {
  for (;;) {
    const headers = { ...(options.headers || {}) };
    if (apiToken) headers["X-API-Token"] = apiToken;
    const r = await fetch(url, { ...options, headers });
    if (r.status !== 401) return r;
    const entered = window.prompt(apiToken ? "访问令牌不正确，请重新输入：" : "此服务器需要访问令牌（由管理员提供），请输入：");
    if (!entered || !entered.trim()) return r;
    apiToken = entered.trim();
    sessionStorage.setItem("policyrag.token", apiToken);
  }
}

async function getJSON(url) {
  const r = await apiFetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail : `请求失败（${r.status}）`);
  return body;
}

async function doSearch(q) {
  setStatus("检索中…");
  $("results").replaceChildren();
  const data = await getJSON(`/api/search?q=${encodeURIComponent(q)}&k=10`);
  for (const r of data.results) {
    const cite = el("span", { class: "cite", "data-chunk": r.chunk_id }, r.citation);
    cite.onclick = () => openUnit(r.chunk_id, null);
    const snippet = r.text.length > 160 ? r.text.slice(0, 160) + "…" : r.text;
    const add = addButton(() => addUnitToBasket(r.chunk_id, r.citation, r.text));
    $("results").append(el("li", {}, cite, add, el("div", { class: "snippet" }, snippet)));
  }
  setStatus(data.results.length ? `${data.results.length} 条结果（${Math.round(data.took_ms)} 毫秒）` : "没有结果");
}

function renderAnswer(answer) {
  lastAnswer = answer;
  const box = $("answer-text");
  box.replaceChildren();
  $("answer").classList.toggle("abstained", answer.abstained);
  $("answer").classList.toggle("partial", Boolean(answer.partial));
  let shown = answer.citations;
  if (answer.partial) {
    // Not an answer: what the sources say on the topic, and the detail they leave open.
    box.append(el("div", { class: "partial-title" }, "资料未规定：" + answer.partial.missing),
      el("div", { class: "partial-note" }, "以下相关规定不回答该问题，仅供参考。"));
    shown = answer.partial.related;
  } else if (answer.abstained) {
    box.textContent = answer.answer + "（未找到可靠依据）";
  } else {
    const parts = answer.answer.split(/(\[\d+\])/);
    for (const part of parts) {
      const m = part.match(/^\[(\d+)\]$/);
      if (!m) { box.append(part); continue; }
      const c = answer.citations.find((x) => x.n === Number(m[1]));
      const a = el("a", { class: "marker", href: "#", "data-n": m[1] }, part);
      a.onclick = (e) => { e.preventDefault(); if (c) openUnit(c.chunk_id, c); };
      box.append(a);
    }
  }
  $("citations").replaceChildren(...shown.map((c) => {
    const cite = el("span", { class: "cite" }, `[${c.n}] ${c.citation}`);
    cite.onclick = () => openUnit(c.chunk_id, c);
    const add = addButton(() => addUnitToBasket(c.chunk_id, c.citation, c.quote));
    return el("li", {}, cite, add, el("div", { class: "quote" }, `“${c.quote}”`));
  }));
  const addAnswer = $("add-answer");
  addAnswer.hidden = false;
  addAnswer.textContent = "加入素材";
  addAnswer.classList.remove("added");
  addAnswer.onclick = () => { addAnswerToBasket(answer); addAnswer.textContent = "已加入"; addAnswer.classList.add("added"); };
  $("unsupported").hidden = !answer.unsupported.length;
  $("unsupported").textContent = answer.unsupported.length ? "已删除资料不支持的句子：" + answer.unsupported.join(" / ") : "";
}

async function doAsk(q) {
  setStatus("正在检索并生成回答…");
  $("results").replaceChildren();
  $("answer").hidden = false;
  $("answer").classList.remove("abstained", "partial");
  $("answer-text").textContent = "";
  $("citations").replaceChildren();
  $("unsupported").hidden = true;
  $("add-answer").hidden = true;
  const started = performance.now();
  const r = await apiFetch("/api/ask", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ question: q }),
  });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(typeof body.detail === "string" ? body.detail : `请求失败（${r.status}）`);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = (block.match(/^event: (.*)$/m) || [])[1];
      const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "{}");
      if (event === "token") {
        $("answer-text").textContent += data.text;
        setStatus("生成中…");
      } else if (event === "answer") {
        renderAnswer(data);
        setStatus(`已完成（${((performance.now() - started) / 1000).toFixed(1)} 秒，${data.model}）`);
      } else if (event === "error") {
        throw new Error(data.detail || "生成失败");
      }
    }
  }
}

async function openUnit(chunkId, citation) {
  try {
    const u = await getJSON(`/api/units/${encodeURIComponent(chunkId)}`);
    $("panel-title").textContent = u.citation;
    $("panel-path").textContent = u.path.join(" › ");
    const quote = citation ? citation.quote : null;
    $("panel-text").replaceChildren(...u.text.split("\n").map((para) => {
      const p = el("p");
      const at = quote ? para.indexOf(quote) : -1;
      if (at >= 0) {
        p.append(para.slice(0, at), el("mark", {}, quote), para.slice(at + quote.length));
      } else if (quote && quote.indexOf(para) >= 0) {
        p.append(el("mark", {}, para));
      } else {
        p.append(para);
      }
      return p;
    }));
    $("panel-sources").textContent = "来源文件：" + u.sources.join("、");
    panelCopy = quote ? `${u.citation}：“${quote}”` : u.citation;
    const add = $("panel-add");
    const added = inBasket(u.chunk_id);
    add.textContent = added ? "已加入" : "加入素材";
    add.classList.toggle("added", added);
    add.onclick = () => { addUnitToBasket(u.chunk_id, u.citation, u.text); add.textContent = "已加入"; add.classList.add("added"); };
    $("copied").hidden = true;
    $("panel").hidden = false;
  } catch (err) {
    setStatus(err.message, true);
  }
}

async function loadDocuments() {
  const box = $("doc-list");
  box.replaceChildren("加载中…");
  try {
    const docs = await getJSON("/api/documents");
    const list = el("ol");
    for (const d of docs) {
      const item = el("li", {}, el("strong", {}, `《${d.title}》`), ` ${d.doc_type} · ${d.chunks} 条/节`);
      item.onclick = async (e) => {
        if (item.querySelector(".units") || e.target.closest(".units")) return;
        const detail = await getJSON(`/api/documents/${encodeURIComponent(d.doc_id)}`);
        const units = el("ul", { class: "units" });
        let chapter = null;
        for (const u of detail.units) {
          const head = u.path.length > 1 ? u.path.slice(0, -1).join(" › ") : null;
          if (head && head !== chapter) { units.append(el("li", {}, el("em", {}, head))); chapter = head; }
          const link = el("span", { class: "cite" }, u.article || u.citation.replace(/^《[^》]*》/, ""));
          link.onclick = () => openUnit(u.chunk_id, null);
          units.append(el("li", {}, link));
        }
        item.append(units);
      };
      list.append(item);
    }
    box.replaceChildren(list);
  } catch (err) {
    box.replaceChildren();
    setStatus(err.message, true);
  }
}

$("query-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("q").value.trim();
  if (!q) return;
  $("go").disabled = true;
  try {
    if (mode === "ask") await doAsk(q); else await doSearch(q);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    $("go").disabled = false;
  }
});
// Upload: every file gets its own line (added, or the reason it was refused); then the list reloads.
$("upload").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("upload-files");
  if (!input.files.length) return;
  const form = new FormData();
  for (const f of input.files) form.append("files", f, f.name);
  $("upload-go").disabled = true;
  setStatus("上传并更新索引中…");
  try {
    const r = await apiFetch("/api/documents", { method: "POST", body: form });  // asks for the token on a 401
    const body = await r.json().catch(() => ({}));
    $("upload-report").replaceChildren(...(body.files || []).map((f) =>
      el("li", { class: f.status === "accepted" ? "ok" : "error" },
        `${f.name}：${f.status === "accepted" ? "已添加" : "未添加，" + f.error}`)));
    if (!r.ok) {
      setStatus(typeof body.detail === "string" ? body.detail : `上传失败（${r.status}）`, true);
      return;
    }
    const i = body.index;
    setStatus(`已更新索引：${i.documents} 个文件，${i.chunks} 条/节（新读取 ${i.files_read} 个文件，新嵌入 ${i.embedded} 段）`);
    input.value = "";
    await loadDocuments();
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    $("upload-go").disabled = false;
  }
});
for (const t of document.querySelectorAll(".tab[data-mode]")) t.addEventListener("click", () => setMode(t.dataset.mode));
$("panel-close").onclick = () => { $("panel").hidden = true; };
$("copy").onclick = async () => {
  try { await navigator.clipboard.writeText(panelCopy); } catch { /* clipboard needs a secure context */ }
  window.lastCopied = panelCopy;
  $("copied").hidden = false;
};
