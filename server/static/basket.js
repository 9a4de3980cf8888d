// 素材篮: articles and verified answers collected for a memo. Kept in localStorage (survives reloads);
// reorder, remove, add a note, then export a .docx / .md brief through POST /api/export.
"use strict";
const BASKET_KEY = "policyrag.basket";

function loadBasket() {
  try {
    const items = JSON.parse(localStorage.getItem(BASKET_KEY) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];  // a damaged entry must not break the page
  }
}

let basket = loadBasket();

function saveBasket() {
  localStorage.setItem(BASKET_KEY, JSON.stringify(basket));
  renderBasket();
}

function inBasket(chunkId) {
  return basket.some((i) => i.kind === "unit" && i.chunk_id === chunkId);
}

function addUnitToBasket(chunkId, citation, text) {
  if (inBasket(chunkId)) return false;
  basket.push({ kind: "unit", chunk_id: chunkId, title: citation, body: text, note: "" });
  saveBasket();
  return true;
}

function addAnswerToBasket(answer) {
  if (basket.some((i) => i.kind === "answer" && i.answer.question === answer.question && i.answer.answer === answer.answer)) {
    return false;
  }
  basket.push({ kind: "answer", answer, title: `问：${answer.question}`, body: answer.answer, note: "" });
  saveBasket();
  return true;
}

// A "加入素材" button; `add` returns false when the item is already there.
function addButton(add) {
  const button = el("button", { class: "add", type: "button" }, "加入素材");
  button.onclick = (e) => {
    e.stopPropagation();
    add();
    button.textContent = "已加入";
    button.classList.add("added");
  };
  return button;
}

function moveItem(index, delta) {
  const target = index + delta;
  if (target < 0 || target >= basket.length) return;
  [basket[index], basket[target]] = [basket[target], basket[index]];
  saveBasket();
}

function renderBasket() {
  $("basket-count").textContent = String(basket.length);
  $("basket-empty").hidden = basket.length > 0;
  $("basket-actions").hidden = basket.length === 0;
  $("basket-items").replaceChildren(...basket.map((item, index) => {
    const body = item.body.length > 120 ? item.body.slice(0, 120) + "…" : item.body;
    const note = el("textarea", { class: "note", placeholder: "按语（可选）", maxlength: "2000" });
    note.value = item.note || "";
    note.oninput = () => { item.note = note.value; localStorage.setItem(BASKET_KEY, JSON.stringify(basket)); };
    const up = el("button", { type: "button", class: "up", title: "上移" }, "↑");
    up.onclick = () => moveItem(index, -1);
    const down = el("button", { type: "button", class: "down", title: "下移" }, "↓");
    down.onclick = () => moveItem(index, 1);
    const remove = el("button", { type: "button", class: "remove" }, "删除");
    remove.onclick = () => { basket.splice(index, 1); saveBasket(); };
    return el("li", {}, el("div", { class: "title" }, item.title), el("div", { class: "body" }, body), note,
      el("div", { class: "tools" }, up, down, remove));
  }));
}

async function exportBasket() {
  const format = $("export-format").value;
  const items = basket.map((i) => (i.kind === "unit"
    ? { kind: "unit", chunk_id: i.chunk_id, note: i.note || "" }
    : { kind: "answer", answer: i.answer, note: i.note || "" }));
  const r = await apiFetch("/api/export", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ items, format, title: $("brief-title").value.trim() }),
  });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(typeof body.detail === "string" ? body.detail : `导出失败（${r.status}）`);
  }
  const url = URL.createObjectURL(await r.blob());
  const link = el("a", { href: url, download: `政策依据摘编-${new Date().toISOString().slice(0, 10)}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  setStatus(`已导出 ${items.length} 条素材`);
}

$("basket-toggle").onclick = () => { $("basket").hidden = !$("basket").hidden; };
$("basket-close").onclick = () => { $("basket").hidden = true; };
$("basket-clear").onclick = () => {
  if (window.confirm("清空素材篮？")) { basket = []; saveBasket(); }
};
$("export").onclick = async () => {
  $("export").disabled = true;
  try { await exportBasket(); } catch (err) { setStatus(err.message, true); } finally { $("export").disabled = false; }
};
// Another tab changed the basket: show the same list here.
window.addEventListener("storage", (e) => { if (e.key === BASKET_KEY) { basket = loadBasket(); renderBasket(); } });
renderBasket();
