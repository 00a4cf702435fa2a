// The deleteq dashboard: reads the /v1 JSON API every 2 s while the tab is visible and shows it. The bearer token is
// asked for once and kept in this tab's sessionStorage; a 401 asks again. Every value from the API reaches the page
// as text (textContent, or setAttribute for attributes), never as markup.
"use strict";

const TOKEN_KEY = "deleteq.api-token";
const POLL_MS = 2000;
const DLQ_LIMIT = 100;
const AUDIT_LIMIT = 50;
const CAMPAIGNS_SHOWN = 50;
const OUTCOMES = ["deleted", "already_deleted", "purged", "expired", "cancelled", "failed", "dead"];

const numbers = new Intl.NumberFormat("en-US");
const $ = (id) => document.getElementById(id);

/** The server refused the token (or there is none). */
class Unauthorized extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Building elements: attributes go through setAttribute, children are nodes or text; nothing is parsed as HTML.

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fmt(n) {
  return typeof n === "number" ? numbers.format(n) : "–";
}

function numCell(n) {
  return el("td", { class: n === 0 ? "num zero" : "num" }, fmt(n));
}

function ago(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

function isoTime(ms) {
  return typeof ms === "number" ? new Date(ms).toISOString() : "";
}

function clock(date) {
  return date.toLocaleTimeString("en-GB", { hour12: false });
}

/** A long id shortened for a table cell (the whole id stays in the cell's title). */
function short(id) {
  return id && id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id || "";
}

/**
 * Makes `container`'s children one node per item, in order, reusing the node already shown for an item's key, so
 * that a button someone is about to click is not replaced under the pointer by the next poll.
 */
function syncKeyed(container, items, key, create, update) {
  const shown = new Map();
  for (const node of container.children) shown.set(node.dataset.key, node);
  items.forEach((item, index) => {
    const k = key(item);
    let node = shown.get(k);
    if (node) shown.delete(k);
    else {
      node = create(item);
      node.dataset.key = k;
    }
    update(node, item);
    const at = container.children[index];
    if (at !== node) container.insertBefore(node, at || null);
  });
  for (const stale of shown.values()) stale.remove();
}

// ---------------------------------------------------------------------------------------------------------------
// The API.

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const current = token();
  if (!current) throw new Unauthorized();
  const init = { method, cache: "no-store", headers: { Authorization: `Bearer ${current}`, Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error("the server does not answer");
  }
  if (response.status === 401) throw new Unauthorized();
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error && data.error.message ? data.error.message : response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Polling: one refresh at a time; a newer refresh (after an action) makes an older one's answer be ignored.

let timer = null;
let generation = 0;

async function poll() {
  clearTimeout(timer);
  timer = null;
  if (!token()) return;
  if (document.hidden) {
    setLive("paused", "paused while the tab is hidden");
    return;
  }
  const mine = ++generation;
  await refresh(mine);
  if (mine === generation && token() && !document.hidden) timer = setTimeout(poll, POLL_MS);
}

async function refresh(mine) {
  try {
    const [status, campaigns, letters, audit] = await Promise.all([
      api("GET", "/v1/status"),
      api("GET", "/v1/campaigns"),
      api("GET", `/v1/dlq?limit=${DLQ_LIMIT}`),
      api("GET", `/v1/audit?limit=${AUDIT_LIMIT}`),
    ]);
    if (mine !== generation) return;
    renderStatus(status);
    renderCampaigns(campaigns);
    renderDeadLetters(letters, status.dead);
    renderAudit(audit, campaigns);
    setLive("live", `live · ${clock(new Date())}`);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof Unauthorized) askForToken("The server refused the token: enter it again.");
    else setLive("error", `not updating: ${error.message}`);
  }
}

function setLive(state, text) {
  $("live").dataset.state = state;
  $("live-text").textContent = text;
}

// ---------------------------------------------------------------------------------------------------------------
// The token.

function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(timer);
  generation += 1;
  $("content").hidden = true;
  $("sign-out").hidden = true;
  $("token-panel").hidden = false;
  const error = $("token-error");
  error.textContent = message || "";
  error.hidden = !message;
  const input = $("token-input");
  input.value = "";
  input.focus();
  setLive("idle", "not connected");
}

function connect() {
  $("token-panel").hidden = true;
  $("content").hidden = false;
  $("sign-out").hidden = false;
  setLive("idle", "connecting…");
  poll();
}

function onTokenSubmit(event) {
  event.preventDefault();
  const value = $("token-input").value.trim();
  if (!/^[\x21-\x7e]+$/.test(value)) {
    const error = $("token-error");
    error.textContent = "A token is printable ASCII without spaces.";
    error.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, value);
  connect();
}

// ---------------------------------------------------------------------------------------------------------------
// Status: the totals, the accounts, the shards.

// "high / normal / low" of a lane-depth object.
function lanes(l) {
  return l ? `${fmt(l.high)} / ${fmt(l.normal)} / ${fmt(l.low)}` : "–";
}

function renderStatus(status) {
  for (const name of ["queued", "leased", "scheduled", "dead"]) $(`total-${name}`).textContent = fmt(status[name]);
  $("total-dead").classList.toggle("nonzero", status.dead > 0);

  const accounts = Object.entries(status.accounts || {});
  $("accounts-empty").hidden = accounts.length > 0;
  $("accounts").tBodies[0].replaceChildren(
    ...accounts.map(([name, a]) =>
      el(
        "tr",
        { "data-account": name },
        el("td", {}, el("strong", {}, name)),
        el("td", {}, a.provider),
        numCell(a.queued),
        el("td", { class: "num", title: "ids waiting in the high / normal / low lanes" }, lanes(a.lanes)),
        numCell(a.leased),
        numCell(a.scheduled),
        numCell(a.dead),
        el("td", { class: "num" }, rate(a.rate_per_s)),
        el("td", { class: "state" }, ...accountState(a, name)),
      ),
    ),
  );

  $("shards").tBodies[0].replaceChildren(
    ...(status.shards || []).map((s) =>
      el(
        "tr",
        {},
        el("td", {}, String(s.shard)),
        numCell(s.queued),
        numCell(s.leased),
        numCell(s.scheduled),
        numCell(s.dead),
        numCell(s.jobs),
        numCell(s.audit_records),
      ),
    ),
  );
}

function rate(perSecond) {
  if (typeof perSecond !== "number") return "unlimited";
  return perSecond >= 100 ? numbers.format(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** Badges for what holds an account back, or "ok". */
function accountState(a, name) {
  const badges = [];
  if (a.parked) {
    const title = `parked since ${isoTime(a.parked.since_ms)}; ${a.parked_jobs} jobs set aside (deleteq accounts resume)`;
    badges.push(el("span", { class: "badge parked", title }, `PARKED: ${a.parked.reason}`));
    const resume = el("button", { type: "button", class: "resume small", "data-account": name }, "Resume");
    resume.addEventListener("click", () => resumeAccount(name, a));
    badges.push(resume);
  }
  if (a.circuit_open_ms > 0) {
    badges.push(el("span", { class: "badge circuit" }, `circuit open ${Math.ceil(a.circuit_open_ms / 1000)} s`));
  }
  if (a.slow_down > 1) {
    badges.push(el("span", { class: "badge slowed", title: "slowed down after 429s" }, `slowed ×${a.slow_down.toFixed(1)}`));
  }
  const budget = a.provider_budget;
  if (budget && budget.reset_ms > 0 && a.rate_per_s < a.configured_rate_per_s) {
    const limit = budget.limit == null ? "" : `/${budget.limit}`;
    const title = `the provider reports ${budget.remaining}${limit} calls left, reset in ${budget.reset_ms} ms`;
    badges.push(el("span", { class: "badge slowed", title }, `provider budget ${budget.remaining}${limit}`));
  }
  if (badges.length === 0) badges.push(el("span", { class: "badge ok" }, "ok"));
  return badges;
}

// ---------------------------------------------------------------------------------------------------------------
// Campaigns: a card each, newest first, with a progress bar stacked by outcome and a Cancel button.

function renderCampaigns(list) {
  const newest = [...list].sort((a, b) => b.created_ms - a.created_ms);
  const shown = newest.slice(0, CAMPAIGNS_SHOWN);
  $("campaigns-count").textContent = list.length > shown.length ? `(newest ${shown.length} of ${list.length})` : "";
  $("campaigns-empty").hidden = list.length > 0;
  syncKeyed($("campaigns"), shown, (c) => c.id, campaignCard, updateCampaign);
}

function campaignCard(c) {
  const name = el("span", { class: "campaign-name" });
  const badge = el("span", { class: "badge" });
  const cancel = el("button", { type: "button", class: "cancel small" }, "Cancel");
  const bar = el("div", { class: "progress", role: "progressbar", "aria-valuemin": 0 });
  const segments = {};
  for (const outcome of OUTCOMES) {
    segments[outcome] = el("div", { class: `segment ${outcome}`, title: outcome.replace("_", " ") });
    bar.append(segments[outcome]);
  }
  const fraction = el("span", { class: "fraction" });
  const detail = el("span");
  const counts = el("div", { class: "counts" });
  const card = el(
    "article",
    { class: "campaign", "data-id": c.id },
    el("div", { class: "campaign-head" }, name, badge, cancel),
    bar,
    el("div", { class: "campaign-meta" }, fraction, detail),
    counts,
  );
  card.parts = { name, badge, cancel, bar, segments, fraction, detail, counts };
  cancel.addEventListener("click", () => cancelCampaign(card.campaign));
  return card;
}

function updateCampaign(card, c) {
  const p = card.parts;
  card.campaign = c;
  card.dataset.state = c.state;
  const finished = Math.max(0, c.total - c.pending);
  const percent = c.total > 0 ? Math.floor((finished / c.total) * 1000) / 10 : 100;
  p.name.textContent = c.name || "(no name)";
  p.name.setAttribute("title", `${c.name} · ${c.id}`);
  const cancelled = c.cancelled_ms !== null && c.cancelled_ms !== undefined;
  p.badge.className = `badge state-${c.state}`;
  p.badge.textContent = c.state === "done" && cancelled ? "done (cancelled)" : c.state;
  p.cancel.hidden = !(c.state === "running" || c.state === "submitting");
  p.bar.setAttribute("aria-valuemax", c.total);
  p.bar.setAttribute("aria-valuenow", finished);
  p.bar.setAttribute("aria-valuetext", `${finished} of ${c.total} finished`);
  for (const outcome of OUTCOMES) {
    p.segments[outcome].style.width = c.total > 0 ? `${(100 * c[outcome]) / c.total}%` : "0";
  }
  p.fraction.textContent = `${fmt(finished)} / ${fmt(c.total)} finished · ${percent.toFixed(1)}%`;
  p.detail.textContent = `${fmt(c.pending)} pending · created ${ago(c.created_ms)}`;
  p.detail.setAttribute("title", isoTime(c.created_ms));
  p.counts.replaceChildren(
    ...OUTCOMES.map((outcome) =>
      el("span", { class: `count ${outcome}${c[outcome] ? "" : " zero"}` }, `${outcome.replace("_", " ")} ${fmt(c[outcome])}`),
    ),
  );
}

async function resumeAccount(name, a) {
  const yes = await confirmStep(
    `Resume account “${name}”?`,
    `Its ${fmt(a.parked_jobs)} set-aside jobs go back in line and its calls start again. Fix its credentials ` +
      "first (restart the workers with the new environment): refused again, it parks again after one call.",
    "Resume",
  );
  if (!yes) return;
  await act(() => api("POST", `/v1/accounts/${encodeURIComponent(name)}/resume`), `Account “${name}” resumed.`);
}

async function cancelCampaign(c) {
  if (!c) return;
  const yes = await confirmStep(
    `Cancel campaign “${c.name}”?`,
    `Its ${fmt(c.pending)} pending messages not yet sent to the provider will end “cancelled”; calls already in ` +
      "flight finish. This cannot be undone.",
    "Cancel campaign",
  );
  if (!yes) return;
  await act(() => api("POST", `/v1/campaigns/${encodeURIComponent(c.id)}/cancel`), `Campaign “${c.name}” cancelled.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Dead letters: one row each with a Replay button, and Replay all.

let deadTotal = 0;

function renderDeadLetters(letters, total) {
  deadTotal = total;
  $("dlq-count").textContent = total > letters.length ? `(newest ${letters.length} of ${fmt(total)})` : `(${fmt(total)})`;
  $("dlq-empty").hidden = letters.length > 0;
  $("replay-all").disabled = total === 0;
  syncKeyed($("dlq").tBodies[0], letters, (d) => d.id, deadLetterRow, updateDeadLetter);
}

function deadLetterRow(d) {
  const cells = {
    id: el("td", { class: "mono" }, d.id),
    account: el("td"),
    message: el("td", { class: "clip" }),
    error: el("td", { class: "fill" }),
    attempts: el("td", { class: "num" }),
    when: el("td"),
  };
  const replay = el("button", { type: "button", class: "small" }, "Replay");
  const row = el("tr", { "data-id": d.id }, ...Object.values(cells), el("td", {}, replay));
  row.cells_ = cells;
  replay.addEventListener("click", () => replayOne(d.id));
  return row;
}

function updateDeadLetter(row, d) {
  const c = row.cells_;
  const job = d.job && typeof d.job === "object" ? d.job : {};
  c.account.textContent = job.account || "";
  c.message.textContent = describeTarget(job);
  c.message.setAttribute("title", JSON.stringify(d.job));
  const status = d.last_status === null || d.last_status === undefined ? "" : `HTTP ${d.last_status}`;
  const error = typeof d.last_error === "string" && d.last_error !== "" ? d.last_error : status;
  c.error.textContent = error;
  c.error.setAttribute("title", status && error !== status ? `${status}: ${error}` : error);
  c.attempts.textContent = d.attempts === null || d.attempts === undefined ? "" : String(d.attempts);
  c.when.textContent = ago(d.at_ms);
  c.when.setAttribute("title", isoTime(d.at_ms));
}

function describeTarget(job) {
  const where = job.conversation ? `${job.conversation} / ` : "";
  if (job.purge) return `${where}purge`;
  if (Array.isArray(job.messages)) return `${where}${job.messages.length} messages`;
  return `${where}${job.message || ""}`;
}

async function replayOne(id) {
  const yes = await confirmStep(
    "Replay this dead letter?",
    `Job ${id} goes back to the queue with its attempts reset.`,
    "Replay",
  );
  if (yes) await act(() => api("POST", "/v1/dlq/replay", { ids: [id] }), replayedMessage);
}

async function replayAll() {
  const yes = await confirmStep(
    `Replay all ${fmt(deadTotal)} dead letters?`,
    "Every dead letter goes back to the queue with its attempts reset.",
    "Replay all",
  );
  if (yes) await act(() => api("POST", "/v1/dlq/replay", { all: true }), replayedMessage);
}

// The answer is `dlq replay --json`'s: `{replayed, requested, not_dead}` for ids, `{replayed, all: true}` for all.
function replayedMessage(answer) {
  const n = answer && typeof answer.replayed === "number" ? answer.replayed : 0;
  const done = `${fmt(n)} dead ${n === 1 ? "letter" : "letters"} replayed.`;
  const skipped = answer && Array.isArray(answer.not_dead) ? answer.not_dead : [];
  if (skipped.length === 0) return done;
  return `${done} Not a dead letter any more (replayed or purged meanwhile): ${skipped.join(", ")}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// The latest audit records.

// What each deletion mode of a `deleted`/`purged` record means (DESIGN §3).
const MODES = {
  hard: "gone for everyone, not kept by the provider",
  soft: "hidden, but kept by the provider",
  self: "removed for the calling user only",
  unknown: "the provider's page does not say",
};

function renderAudit(records, campaigns) {
  const names = new Map(campaigns.map((c) => [c.id, c.name]));
  $("audit-empty").hidden = records.length > 0;
  $("audit").tBodies[0].replaceChildren(
    ...records.map((r) => {
      const message = r.message || (r.conversation ? `${r.conversation} (purge)` : "");
      const campaign = r.campaign ? names.get(r.campaign) || short(r.campaign) : "";
      return el(
        "tr",
        {},
        el("td", { class: "mono", title: r.at }, r.at.length >= 23 ? r.at.slice(11, 23) : r.at),
        el("td", {}, el("span", { class: `badge outcome-${r.outcome}` }, r.outcome.replace("_", " "))),
        el("td", { title: MODES[r.mode] || "" }, r.mode || ""),
        el("td", {}, r.account),
        el("td", { class: "clip", title: message }, message),
        el("td", { class: "num" }, r.http_status),
        el("td", { class: "num" }, r.attempt),
        el("td", { class: "mono", title: r.job }, short(r.job)),
        el("td", { class: "clip", title: r.campaign }, campaign),
        el("td", { class: "fill", title: r.error }, r.error),
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Actions: a confirmation step, the call, a message, and a refresh.

function confirmStep(title, text, yesLabel) {
  const dialog = $("confirm");
  if (dialog.open) return Promise.resolve(false);
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yesLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    $("confirm-no").focus();
  });
}

async function act(call, done) {
  try {
    const answer = await call();
    toast(typeof done === "function" ? done(answer) : done, false);
  } catch (error) {
    if (error instanceof Unauthorized) {
      askForToken("The server refused the token: enter it again.");
      return;
    }
    toast(`Failed: ${error.message}`, true);
  }
  poll();
}

let toastTimer = null;

function toast(text, isError) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

// ---------------------------------------------------------------------------------------------------------------

function start() {
  $("token-form").addEventListener("submit", onTokenSubmit);
  $("sign-out").addEventListener("click", () => askForToken(""));
  $("replay-all").addEventListener("click", replayAll);
  document.addEventListener("visibilitychange", () => {
    if (!token()) return;
    if (document.hidden) {
      clearTimeout(timer);
      generation += 1;
      setLive("paused", "paused while the tab is hidden");
    } else {
      poll();
    }
  });
  if (token()) connect();
  else askForToken("");
}

start();
