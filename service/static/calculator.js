// ratecard calculator: what an LLM workload costs on every tier, from ratecard's own API.
//
// A plain ES module with no dependencies and no build step. Money stays a decimal
// string exactly as the API wrote it (rendered into data-usd); only the visible
// text is rounded, with BigInt arithmetic, so no figure passes through a float.

const TIERS = ["standard", "batch", "flex", "priority"];
const TIER_LABELS = { standard: "Standard", batch: "Batch", flex: "Flex", priority: "Priority" };
const DEFAULT_MODELS = ["gpt-4o"];
const MAX_MODELS = 20; // the estimate endpoint's limit
const DEBOUNCE_MS = 250;
const SEARCH_LIMIT = 12;
// JSON keys whose numbers are money or percentages: kept as their source text.
const EXACT_KEYS = new Set(["per_request", "per_1k_requests", "per_period", "per_year", "usd", "percent",
  "usd_per_mtok", "cost_usd"]);

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------------------
// Decimals: parse the API's number text, compare and round exactly.

/** A decimal string ("65", "0.000075", "1.25E-7") as {units: BigInt, scale}: units x 10^-scale. */
function toDecimal(raw) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(raw ?? "").trim());
  if (!m || (m[2] === "" && !m[3])) return null;
  const frac = m[3] ?? "";
  let units = BigInt((m[2] || "0") + frac);
  let scale = frac.length - Number(m[4] ?? 0);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: m[1] === "-" ? -units : units, scale };
}

/** -1, 0 or 1 as decimal strings a < b, a == b, a > b. */
function compareDecimal(a, b) {
  const x = toDecimal(a), y = toDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const xs = x.units * 10n ** BigInt(scale - x.scale), ys = y.units * 10n ** BigInt(scale - y.scale);
  return xs < ys ? -1 : xs > ys ? 1 : 0;
}

/** Round half away from zero to `places` decimals: {negative, int, frac} digit strings. */
function roundDecimal(dec, places) {
  let units = dec.units < 0n ? -dec.units : dec.units;
  if (dec.scale > places) {
    const divisor = 10n ** BigInt(dec.scale - places);
    const rest = units % divisor;
    units = units / divisor + (2n * rest >= divisor ? 1n : 0n);
  } else {
    units *= 10n ** BigInt(places - dec.scale);
  }
  const digits = units.toString().padStart(places + 1, "0");
  return {
    negative: dec.units < 0n && units !== 0n,
    int: digits.slice(0, digits.length - places),
    frac: places ? digits.slice(digits.length - places) : "",
  };
}

const groupThousands = (int) => int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/**
 * USD for display: cents from $1 up; below that three significant digits ($0.013,
 * $0.000075), never fewer than two decimals.
 */
export function formatUsd(raw, { signed = false } = {}) {
  const dec = toDecimal(raw);
  if (!dec) return "—";
  const abs = dec.units < 0n ? -dec.units : dec.units;
  const magnitude = abs === 0n ? 0 : abs.toString().length - 1 - dec.scale; // floor(log10 |x|)
  const places = magnitude >= 0 ? 2 : Math.min(12, 2 - magnitude);
  const r = roundDecimal(dec, places);
  const frac = r.frac.replace(/0+$/, "").padEnd(2, "0");
  const sign = r.negative ? "−" : signed && abs !== 0n ? "+" : "";
  return `${sign}$${groupThousands(r.int)}.${frac}`;
}

/** A percentage with at most one decimal ("50%", "12.5%"). */
function formatPercent(raw) {
  const dec = toDecimal(raw);
  if (!dec) return "";
  const r = roundDecimal(dec, 1);
  return `${r.negative ? "−" : ""}${groupThousands(r.int)}${r.frac === "0" ? "" : "." + r.frac}%`;
}

const formatCount = (n) => new Intl.NumberFormat("en-US").format(n);
const formatDay = (t) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(t);

// ---------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `The API answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** JSON with money kept as the exact text the server wrote (JSON.parse source text access). */
function parseExact(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === "number" && EXACT_KEYS.has(key)) {
      return context && typeof context.source === "string" ? context.source : String(value);
    }
    return value;
  });
}

async function callApi(url, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? parseExact(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const modelKey = (m) => `${m.provider}/${m.model}`;
const query = (params) => new URLSearchParams(params).toString();

function nameMatches(info, name) {
  const wanted = name.toLowerCase();
  return [info.model, modelKey(info), info.display_name, ...(info.aliases || [])].some((n) => n.toLowerCase() === wanted);
}

const chosenFrom = (info) => ({ provider: info.provider, model: info.model, label: info.display_name || info.model });

/** A model named in the URL (id, alias, display name or provider/model): {chosen} or {error}. */
async function resolveModel(name) {
  try {
    const found = await callApi(`/v1/models?${query({ q: name, limit: 50 })}`);
    const hits = found.models.filter((m) => nameMatches(m, name));
    const hit = hits.find((m) => m.served_from === "official") || hits[0];
    if (hit) return { chosen: chosenFrom(hit) };
    // Not an exact name: let the API's own resolver decide (it knows every alias form).
    const answer = await callApi(`/v1/estimate?${query({ models: name, input_tokens: 0 })}`);
    const { provider, model } = answer.estimates[0];
    const named = await callApi(`/v1/models?${query({ provider, q: model, limit: 50 })}`);
    const info = named.models.find((m) => m.model === model);
    return { chosen: info ? chosenFrom(info) : { provider, model, label: model } };
  } catch (error) {
    const suggestions = error.problem?.suggestions || [];
    return { error: `${name}${suggestions.length ? ` (did you mean ${suggestions.slice(0, 3).join(", ")}?)` : ""}` };
  }
}

// ---------------------------------------------------------------------------
// State and the workload form

const state = {
  models: [], // [{provider, model, label}] in the order chosen
  historyKey: null, // the model the chart shows
};

const form = {
  search: $("#model-search"),
  options: $("#model-options"),
  chips: $("#chips"),
  modeTokens: $("#mode-tokens"),
  modeText: $("#mode-text"),
  tokensPane: $("#tokens-pane"),
  textPane: $("#text-pane"),
  inputTokens: $("#input-tokens"),
  text: $("#prompt-text"),
  outputTokens: $("#output-tokens"),
  requests: $("#requests"),
  cacheShare: $("#cache-share"),
  cacheShareValue: $("#cache-share-value"),
  discount: $("#discount"),
};

function setFieldError(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (error) {
    error.textContent = message || "";
    error.hidden = !message;
  }
}

function readWholeNumber(input, label) {
  const raw = input.value.trim();
  if (raw === "") return { error: `Enter ${label}.` };
  if (!/^\d+$/.test(raw)) return { error: `${label[0].toUpperCase()}${label.slice(1)} must be a whole number.` };
  return { value: Number(raw) };
}

/** The workload as entered, or null (with the fields' errors shown) when it is not valid. */
function readWorkload() {
  const mode = form.modeText.checked ? "text" : "tokens";
  let valid = true;
  const take = (input, label) => {
    if (input.closest("[hidden]")) return null;
    const { value, error } = readWholeNumber(input, label);
    setFieldError(input, error);
    if (error) valid = false;
    return value;
  };
  const inputTokens = take(form.inputTokens, "input tokens");
  const outputTokens = take(form.outputTokens, "output tokens");
  const requests = take(form.requests, "requests");
  const text = form.text.value;
  if (mode === "text") {
    const error = text.trim() ? "" : "Paste a prompt, or switch to a token count.";
    setFieldError(form.text, error);
    if (error) valid = false;
  }
  let discount = form.discount.value.trim();
  const discountError = discount === "" || (/^\d+(\.\d+)?$/.test(discount) && Number(discount) <= 100)
    ? "" : "A discount is a percentage from 0 to 100.";
  setFieldError(form.discount, discountError);
  if (discountError) valid = false;
  if (discount === "" || Number(discount) === 0) discount = null;
  const cacheShare = Number(form.cacheShare.value);
  form.cacheShareValue.textContent = `${cacheShare}%`;
  if (!valid) return null;
  return { mode, inputTokens, text, outputTokens, requests, cacheShare, discount };
}

// ---------------------------------------------------------------------------
// Estimates

function estimateParams(workload, names, inputTokens) {
  const params = new URLSearchParams();
  params.set("models", names.join(",")); // the API's documented form: one comma list
  params.set("input_tokens", String(inputTokens));
  params.set("cached_input_tokens", String(Math.round((inputTokens * workload.cacheShare) / 100)));
  params.set("output_tokens", String(workload.outputTokens));
  params.set("requests", String(workload.requests));
  params.set("period", "month");
  if (workload.discount) params.set("discount_percent", workload.discount);
  return params;
}

/** Entries grouped per model, in the API's order (cheapest model first). */
function groupByModel(estimates) {
  const models = new Map();
  for (const e of estimates) {
    const key = modelKey(e);
    if (!models.has(key)) models.set(key, { key, provider: e.provider, model: e.model, tiers: new Map(), first: e });
    models.get(key).tiers.set(e.tier, e);
  }
  return [...models.values()];
}

function cheapestTier(group) {
  let best = null;
  for (const entry of group.tiers.values()) {
    if (!best || compareDecimal(entry.per_period, best.per_period) < 0) best = entry;
  }
  return best;
}

/** The server's ranking rule (cheapest tier's per-period cost, then provider, then model), for merged answers. */
function rankLikeServer(estimates) {
  const groups = groupByModel(estimates);
  groups.sort((a, b) => compareDecimal(cheapestTier(a).per_period, cheapestTier(b).per_period)
    || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
  return groups.flatMap((g) => [...g.tiers.values()]);
}

/** GET (cacheable) for token counts; POST when a pasted prompt must be counted. */
async function fetchEstimate(workload, signal) {
  const names = state.models.map(modelKey);
  if (workload.mode === "tokens") {
    const params = estimateParams(workload, names, workload.inputTokens);
    return { body: await callApi(`/v1/estimate?${params}`, { signal }), request: params.toString() };
  }
  const request = { models: names, text: workload.text, output_tokens: workload.outputTokens,
    requests: workload.requests, period: "month" };
  if (workload.discount) request.discount_percent = Number(workload.discount);
  const counted = await callApi("/v1/estimate", { method: "POST", body: request, signal });
  if (!workload.cacheShare) return { body: counted, request: "POST" };
  // Cache hits are a share of each model's own count, and tokenizers differ: price each
  // distinct count with its own cached_input_tokens (one GET per count; usually just one).
  const byCount = new Map();
  const notes = new Map();
  for (const e of counted.estimates) {
    if (!byCount.has(e.input_tokens)) byCount.set(e.input_tokens, new Set());
    byCount.get(e.input_tokens).add(modelKey(e));
    notes.set(modelKey(e), e.warnings.filter((w) => w.includes("approximation")));
  }
  const parts = await Promise.all([...byCount].map(([tokens, keys]) =>
    callApi(`/v1/estimate?${estimateParams(workload, [...keys], tokens)}`, { signal })));
  const estimates = parts.flatMap((p) => p.estimates)
    .map((e) => ({ ...e, warnings: [...(notes.get(modelKey(e)) || []), ...e.warnings] }));
  return {
    body: { ...parts[0], estimates: parts.length > 1 ? rankLikeServer(estimates) : estimates,
      warnings: [...counted.warnings, ...parts.flatMap((p) => p.warnings)],
      unpriced: parts.flatMap((p) => p.unpriced || []) },
    request: "POST",
  };
}

const results = $("#results");
const statusLine = $("#status");
let estimateTimer = null;
let estimateController = null;
let estimateSeq = 0;

function scheduleEstimate(delay = DEBOUNCE_MS) {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(runEstimate, delay);
}

async function runEstimate() {
  if (planActive()) return runPlan(); // the Plan view: the same form, answered by the forecast
  clearTimeout(estimateTimer);
  const workload = readWorkload();
  syncUrl(workload);
  if (!workload) {
    setStatus("Fix the highlighted fields to update the estimate.", true);
    return;
  }
  if (!state.models.length) {
    renderEmpty();
    return;
  }
  estimateController?.abort();
  const controller = (estimateController = new AbortController());
  const seq = ++estimateSeq;
  results.dataset.status = "loading";
  results.setAttribute("aria-busy", "true");
  try {
    const { body, request } = await fetchEstimate(workload, controller.signal);
    if (seq !== estimateSeq) return;
    renderEstimates(body);
    results.dataset.request = request;
    results.dataset.status = "ready";
  } catch (error) {
    if (error.name === "AbortError" || seq !== estimateSeq) return;
    showError(error);
    results.dataset.status = "error";
  } finally {
    if (seq === estimateSeq) results.removeAttribute("aria-busy");
  }
}

function setStatus(content, isError = false) {
  statusLine.classList.toggle("is-error", isError);
  statusLine.replaceChildren(...(Array.isArray(content) ? content : [content]));
}

function showError(error) {
  const problem = error.problem || {};
  const parts = [error.message];
  if (problem.suggestions?.length) parts.push(` Did you mean ${problem.suggestions.slice(0, 3).join(", ")}?`);
  const fields = { input_tokens: form.inputTokens, output_tokens: form.outputTokens, requests: form.requests,
    discount_percent: form.discount, text: form.text };
  for (const fieldError of problem.errors || []) {
    const input = fields[fieldError.field];
    if (input) setFieldError(input, fieldError.reason || fieldError.message || "Not accepted.");
  }
  setStatus(error instanceof ApiError ? parts.join("") : "The estimate could not be loaded. Check your connection and try again.", true);
}

// ---------------------------------------------------------------------------
// Rendering

/** Create an element: attributes (data-* via `dataset`), then children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function labelOf(key) {
  const chosen = state.models.find((m) => modelKey(m) === key);
  return chosen ? chosen.label : key.slice(key.indexOf("/") + 1);
}

/** A money cell whose data-usd carries the API's exact figure. */
function moneyCell(entry, field, extra = {}) {
  return h("td", { class: `money ${extra.class || ""}`.trim(),
    dataset: { model: modelKey(entry), tier: entry.tier, field, usd: entry[field] } }, formatUsd(entry[field]));
}

function renderEmpty() {
  $("#comparison-card").hidden = true;
  $("#comparison tbody").replaceChildren();
  $("#model-cards").replaceChildren();
  results.dataset.status = "ready";
  results.dataset.request = "";
  setStatus("Add a model to see what this workload costs.");
  renderHistoryPicker();
}

// Tiers without a price in the last answer, by "provider/model|tier": not offered, or unknown and why.
const UNPRICED = new Map();

// "Prices as of <date>" per provider, and the stale warning, from the answer's freshness.
function renderFreshness(freshness) {
  const known = (freshness || []).filter((f) => f.prices_as_of);
  const asOf = known.map((f) => `${f.provider} ${f.prices_as_of.slice(0, 10)}`).join(", ");
  for (const el of document.querySelectorAll("#prices-as-of")) el.textContent = asOf ? ` Prices as of ${asOf}.` : "";
  const stale = (freshness || []).filter((f) => f.stale).map((f) => f.provider);
  for (const el of document.querySelectorAll("#prices-stale")) {
    el.textContent = stale.length ? ` Warning: ${stale.join(", ")} prices are stale (not confirmed recently).` : "";
  }
}

function renderEstimates(body) {
  UNPRICED.clear();
  for (const gap of body.unpriced || []) UNPRICED.set(`${gap.provider}/${gap.model}|${gap.tier}`, gap);
  renderFreshness(body.freshness);
  const groups = groupByModel(body.estimates);
  $("#comparison-card").hidden = !groups.length;
  renderComparison(groups);
  $("#model-cards").replaceChildren(...groups.map(renderModelCard));
  for (const el of document.querySelectorAll("#catalog-version, #embed-version")) el.textContent = body.catalog_version;
  const best = groups[0] && cheapestTier(groups[0]);
  const status = [];
  if (best) {
    status.push("Cheapest: ", h("strong", {}, `${labelOf(groups[0].key)} on ${TIER_LABELS[best.tier] || best.tier}`),
      `, ${formatUsd(best.per_period)} per month.`);
  }
  // Warnings about one model's figures are shown on its card; the rest (a model with no prices) here.
  const onCards = new Set(body.estimates.flatMap((e) => e.warnings));
  for (const warning of new Set(body.warnings)) if (!onCards.has(warning)) status.push(` ${warning}.`);
  setStatus(status.length ? status : "No prices found for these models.");
  renderHistoryPicker();
}

function renderComparison(groups) {
  const rows = groups.map((group, index) => {
    const best = cheapestTier(group);
    const standard = group.tiers.get("standard");
    const bar = h("span", { class: "bar", "aria-hidden": "true" });
    const cell = moneyCell(best, "per_period", { class: "bar-cell" });
    cell.append(bar);
    const top = cheapestTier(groups[groups.length - 1]);
    const share = compareDecimal(top.per_period, "0") > 0 ? Number(best.per_period) / Number(top.per_period) : 0;
    bar.style.width = `${Math.max(2, Math.round(share * 100))}%`; // drawing only: a float is fine here
    return h("tr", { dataset: { model: group.key, rank: String(index + 1) } },
      h("td", { class: "num rank" }, String(index + 1)),
      h("td", {}, h("span", { class: "model-name" }, labelOf(group.key)), h("span", { class: "model-id" }, group.key)),
      h("td", { dataset: { tier: best.tier } }, h("span", { class: "tier-pill" }, TIER_LABELS[best.tier] || best.tier)),
      cell,
      moneyCell(best, "per_year"),
      standard ? moneyCell(standard, "per_period") : h("td", { class: "num muted" }, "not offered"),
    );
  });
  $("#comparison tbody").replaceChildren(...rows);
}

function rateNote(entry) {
  const rate = (kind) => entry.lines.find((line) => line.kind === kind)?.usd_per_mtok;
  const parts = [["in", rate("input")], ["out", rate("output")]].filter(([, raw]) => raw !== undefined);
  if (!parts.length) return null;
  return h("span", { class: "rate-note", title: "USD per 1M tokens" },
    parts.map(([label, raw]) => h("span", {}, `${label} ${formatUsd(raw)}/1M`)));
}

function renderModelCard(group) {
  const tiers = [...TIERS, ...[...group.tiers.keys()].filter((t) => !TIERS.includes(t))];
  const best = cheapestTier(group);
  const titleId = `card-${group.key.replace(/[^\w-]/g, "-")}`;
  const head = h("tr", {}, h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Figure")),
    ...tiers.map((tier) => {
      const entry = group.tiers.get(tier);
      return h("th", { scope: "col", dataset: { tier } },
        h("span", { class: "tier-head", dataset: { tier } }, TIER_LABELS[tier] || tier), entry ? rateNote(entry) : null);
    }));
  const rows = [
    ["Per request", "per_request"],
    ["Per month", "per_period"],
    ["Per year", "per_year"],
    ["Savings vs standard", "savings"],
  ].map(([label, field], rowIndex) => h("tr", { dataset: { row: field } }, h("th", { scope: "row" }, label),
    ...tiers.map((tier) => {
      const entry = group.tiers.get(tier);
      if (!entry) {
        // "Not offered" only where the API says a page states it; otherwise no price is recorded: unknown.
        const gap = UNPRICED.get(`${group.key}|${tier}`);
        const state = gap?.state === "not_offered" ? "not_offered" : "unknown";
        const reason = gap?.reason || `no ${tier} price is recorded for ${group.key}`;
        return rowIndex === 0
          ? h("td", { class: "na", rowspan: "4", title: reason, dataset: { model: group.key, tier, field: state } },
            state === "unknown" ? "unknown" : "not offered")
          : null;
      }
      if (field !== "savings") {
        return moneyCell(entry, field, { class: field === "per_period" && entry === best && group.tiers.size > 1 ? "best" : "" });
      }
      return savingsCell(entry);
    }).filter(Boolean)));
  const notes = [];
  const first = group.first;
  if (first.min_prompt_tokens > 0) notes.push(`Long-context rates: prompts over ${formatCount(first.min_prompt_tokens)} tokens are billed at the higher tier.`);
  const plan = group.tiers.get("batch")?.batch_plan;
  if (plan) {
    // The API's note names the limit that decides the job count and how to split the volume.
    notes.push(h("span", {}, `Batch: ${plan.note} `, h("a", { href: plan.url, target: "_blank", rel: "noopener" }, "The provider's limits.")));
  }
  for (const warning of new Set([...group.tiers.values()].flatMap((e) => e.warnings))) notes.push(warning);
  return h("article", { class: "card model-card", dataset: { model: group.key }, "aria-labelledby": titleId },
    h("div", { class: "card-head" },
      h("h3", { id: titleId }, labelOf(group.key), h("span", { class: "provider-badge" }, group.provider)),
      h("p", { class: "card-sub" }, `${formatCount(first.input_tokens)} input tokens per request`)),
    h("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-labelledby": titleId },
      h("table", { class: "data-table tier-table" }, h("thead", {}, head), h("tbody", {}, rows))),
    notes.length ? h("ul", { class: "notes" }, notes.map((n) => h("li", {}, n))) : null);
}

function savingsCell(entry) {
  const attrs = { class: "money", dataset: { model: modelKey(entry), tier: entry.tier, field: "savings" } };
  const saving = entry.savings_vs_standard;
  if (!saving || entry.tier === "standard") return h("td", attrs, h("span", { class: "muted" }, "—"));
  attrs.dataset.usd = saving.usd;
  // The API's sign: a negative saving is what the tier costs more than standard.
  const sign = compareDecimal(saving.usd, "0");
  const percent = saving.percent !== null && saving.percent !== undefined ? ` (${formatPercent(saving.percent)})` : "";
  const title = sign >= 0 ? "Saves this much per month against standard" : "Costs this much more per month than standard";
  return h("td", attrs, h("span", { class: `saving ${sign >= 0 ? "up" : "down"}`, title }, `${formatUsd(saving.usd)}${percent}`));
}

// ---------------------------------------------------------------------------
// Price history: standard input and output over time, as step lines in inline SVG

const historyCache = new Map();
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children.flat().filter(Boolean));
  return el;
}

function renderHistoryPicker() {
  const select = $("#history-model");
  const keys = state.models.map(modelKey);
  if (!keys.includes(state.historyKey)) state.historyKey = keys[0] || null;
  select.replaceChildren(...state.models.map((m) => h("option", { value: modelKey(m), selected: modelKey(m) === state.historyKey }, m.label)));
  select.hidden = keys.length < 2;
  $("#history-card").hidden = !keys.length;
  drawHistory();
}

function loadHistory(key) {
  if (!historyCache.has(key)) {
    const [provider, ...rest] = key.split("/");
    // A model id with a slash ("openai/gpt-oss-120b" at groq) cannot be a path segment: ask by its
    // display name, which the API resolves like any alias.
    const model = rest.length > 1 ? labelOf(key) : rest[0];
    const path = `/v1/models/${encodeURIComponent(provider)}/${encodeURIComponent(model)}/history`;
    historyCache.set(key, callApi(path).catch((error) => {
      historyCache.delete(key);
      throw error;
    }));
  }
  return historyCache.get(key);
}

/** Step segments [{from, to, raw}] of one standard base rate; a later-starting interval wins where two overlap. */
function stepSegments(intervals, kind) {
  const rows = intervals
    .filter((i) => i.tier === "standard" && i.kind === kind && i.min_prompt_tokens === 0 && i.usd_per_mtok !== null)
    .map((i) => ({ from: Date.parse(i.valid_from), to: i.valid_to ? Date.parse(i.valid_to) : Infinity, raw: i.usd_per_mtok }))
    .sort((a, b) => a.from - b.from || a.to - b.to);
  const segments = [];
  rows.forEach((row, index) => {
    const next = rows[index + 1];
    const to = next ? Math.min(row.to, next.from) : row.to;
    if (to <= row.from) return;
    const last = segments[segments.length - 1];
    if (last && last.to === row.from && compareDecimal(last.raw, row.raw) === 0) last.to = to;
    else segments.push({ from: row.from, to, raw: row.raw });
  });
  return segments;
}

function valueAt(segments, t) {
  return segments.find((s) => s.from <= t && t < s.to)?.raw;
}

function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw) || power * 10;
}

function timeTicks(start, end) {
  const years = (end - start) / (365.25 * 864e5);
  const months = years > 6 ? 24 : years > 3 ? 12 : years > 1.5 ? 6 : years > 0.75 ? 3 : 1;
  const first = new Date(start);
  let y = first.getUTCFullYear(), m = Math.ceil(first.getUTCMonth() / months) * months;
  const ticks = [];
  for (let t = Date.UTC(y, m, 1); t <= end; m += months, t = Date.UTC(y, m, 1)) {
    if (t >= start) ticks.push(t);
  }
  const format = months >= 12
    ? new Intl.DateTimeFormat("en-US", { year: "numeric", timeZone: "UTC" })
    : new Intl.DateTimeFormat("en-US", { month: "short", year: "numeric", timeZone: "UTC" });
  return ticks.map((t) => ({ t, label: format.format(t) }));
}

let historySeq = 0;

async function drawHistory() {
  const key = state.historyKey;
  const chart = $("#chart"), legend = $("#history-legend"), table = $("#history-table tbody");
  const seq = ++historySeq;
  if (!key) {
    chart.replaceChildren();
    legend.replaceChildren();
    table.replaceChildren();
    return;
  }
  $("#history-title").textContent = `Price history · ${labelOf(key)}`;
  let history;
  try {
    history = await loadHistory(key);
  } catch {
    if (seq === historySeq) chart.replaceChildren(h("p", { class: "chart-empty" }, "The price history could not be loaded."));
    return;
  }
  if (seq !== historySeq) return;
  const series = [
    { kind: "input", label: "Input", segments: stepSegments(history.intervals, "input") },
    { kind: "output", label: "Output", segments: stepSegments(history.intervals, "output") },
  ].filter((s) => s.segments.length);
  chart.dataset.model = key;
  if (!series.length) {
    chart.replaceChildren(h("p", { class: "chart-empty" }, "No standard-tier price history for this model."));
    legend.replaceChildren();
    table.replaceChildren();
    return;
  }
  const now = Date.now();
  legend.replaceChildren(...series.map((s) => h("span", { class: "legend-item" },
    h("span", { class: `swatch ${s.kind}`, "aria-hidden": "true" }), `${s.label} `,
    h("strong", {}, formatUsd(valueAt(s.segments, now) ?? s.segments[s.segments.length - 1].raw)), " per 1M tokens")));
  const changes = [...new Set(series.flatMap((s) => s.segments.map((seg) => seg.from)))].sort((a, b) => a - b);
  const cell = (s, t) => {
    const raw = s && valueAt(s.segments, t);
    return h("td", { class: "num" }, raw === undefined ? "—" : formatUsd(raw));
  };
  const bySeries = Object.fromEntries(series.map((s) => [s.kind, s]));
  table.replaceChildren(...changes.map((t) => h("tr", {}, h("td", {}, formatDay(t)), cell(bySeries.input, t), cell(bySeries.output, t))));
  paintChart(chart, series, changes, now);
}

function paintChart(chart, series, changes, now) {
  const width = Math.max(300, Math.round(chart.clientWidth || 640));
  const height = 240;
  const pad = { top: 14, right: 16, bottom: 30, left: 52 };
  const first = changes[0];
  const last = Math.max(now, changes[changes.length - 1]);
  const span = Math.max(last - first, 30 * 864e5);
  const x0 = first - span * 0.02, x1 = first + span * 1.04;
  const top = Math.max(...series.flatMap((s) => s.segments.map((seg) => Number(seg.raw))));
  const step = niceStep(top * 1.1 || 1, 4);
  const yMax = step * Math.max(1, Math.ceil((top * 1.1) / step));
  const x = (t) => pad.left + ((Math.min(t, x1) - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - v / yMax) * (height - pad.top - pad.bottom);

  const grid = svg("g", { class: "grid axis" });
  for (let v = 0; v <= yMax + step / 2; v += step) {
    grid.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      svg("text", { x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" }, formatUsd(String(+v.toFixed(6))).replace(/\.00$/, "")));
  }
  const xAxis = svg("g", { class: "axis" });
  const ticks = timeTicks(x0, x1);
  const every = Math.max(1, Math.ceil(ticks.length / Math.floor((width - pad.left) / 80)));
  ticks.filter((_, i) => i % every === 0).forEach(({ t, label }) => {
    xAxis.append(svg("text", { x: x(t), y: height - 8, "text-anchor": "middle" }, label));
  });

  const lines = series.map((s) => {
    let d = "";
    s.segments.forEach((seg, i) => {
      const prev = s.segments[i - 1];
      const joined = prev && prev.to === seg.from;
      d += joined ? ` V${y(Number(seg.raw))}` : ` M${x(seg.from)},${y(Number(seg.raw))}`;
      d += ` H${x(Math.min(seg.to, x1))}`;
    });
    const points = s.segments.map((seg) => svg("circle", { class: `point ${s.kind}`, cx: x(seg.from), cy: y(Number(seg.raw)), r: 3.5 },
      svg("title", {}, `${formatDay(seg.from)}: ${s.label.toLowerCase()} ${formatUsd(seg.raw)} per 1M tokens`)));
    return svg("g", {}, svg("path", { class: `series ${s.kind}`, d: d.trim() }), points);
  });

  const marks = [];
  if (changes[changes.length - 1] > now) {
    marks.push(svg("g", { class: "today" }, svg("line", { x1: x(now), x2: x(now), y1: pad.top, y2: height - pad.bottom }),
      svg("text", { x: x(now) + 4, y: pad.top + 10 }, "today")));
  }
  const summary = series.map((s) => `${s.label}: ` + s.segments.map((seg) => `${formatUsd(seg.raw)} from ${formatDay(seg.from)}`).join(", ")).join(". ");
  chart.replaceChildren(svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "chart-title chart-desc" },
    svg("title", { id: "chart-title" }, `Standard price per 1M tokens of ${labelOf(state.historyKey)} over time`),
    svg("desc", { id: "chart-desc" }, summary),
    grid, xAxis, ...marks, ...lines));
}

// ---------------------------------------------------------------------------
// Model search: an ARIA 1.2 combobox with a listbox popup

let searchTimer = null;
let searchController = null;
let activeIndex = -1;

function optionEls() {
  return [...form.options.querySelectorAll('[role="option"]:not([aria-disabled="true"])')];
}

function openOptions(open) {
  form.options.hidden = !open;
  form.search.setAttribute("aria-expanded", String(open));
  if (!open) {
    activeIndex = -1;
    form.search.removeAttribute("aria-activedescendant");
  }
}

function setActive(index) {
  const items = optionEls();
  if (!items.length) return;
  activeIndex = (index + items.length) % items.length;
  items.forEach((el, i) => el.setAttribute("aria-selected", String(i === activeIndex)));
  form.search.setAttribute("aria-activedescendant", items[activeIndex].id);
  items[activeIndex].scrollIntoView({ block: "nearest" });
}

function rankMatches(models, q) {
  const needle = q.toLowerCase();
  const score = (m) => (m.model.toLowerCase() === needle || nameMatches(m, q) ? 0
    : m.model.toLowerCase().startsWith(needle) ? 1 : m.display_name.toLowerCase().startsWith(needle) ? 2 : 3)
    + (m.listed === false ? 4 : 0);
  return models.map((m, i) => [score(m), i, m]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((r) => r[2]);
}

async function searchModels() {
  const q = form.search.value.trim();
  searchController?.abort();
  if (!q) {
    openOptions(false);
    return;
  }
  const controller = (searchController = new AbortController());
  let found;
  try {
    found = await callApi(`/v1/models?${query({ q, limit: 50 })}`, { signal: controller.signal });
  } catch (error) {
    if (error.name !== "AbortError") {
      form.options.replaceChildren(h("li", { role: "option", class: "option", "aria-disabled": "true", id: "model-option-none" }, "Search is unavailable right now."));
      openOptions(true);
    }
    return;
  }
  const chosen = new Set(state.models.map(modelKey));
  const models = rankMatches(found.models.filter((m) => !chosen.has(modelKey(m))), q).slice(0, SEARCH_LIMIT);
  form.options.replaceChildren(...(models.length ? models.map((m, i) => h("li", {
    role: "option", class: "option", id: `model-option-${i}`, "aria-selected": "false",
    dataset: { provider: m.provider, model: m.model, label: m.display_name || m.model },
  }, h("span", { class: "option-name" }, m.display_name || m.model), h("span", { class: "option-id" }, modelKey(m))))
    : [h("li", { role: "option", class: "option", "aria-disabled": "true", id: "model-option-none" }, `No model matches “${q}”.`)]));
  openOptions(true);
  if (models.length) setActive(0);
}

function chooseOption(el) {
  if (!el || el.getAttribute("aria-disabled") === "true") return;
  addModel({ provider: el.dataset.provider, model: el.dataset.model, label: el.dataset.label });
  form.search.value = "";
  openOptions(false);
  form.search.focus();
}

function addModel(chosen) {
  if (state.models.some((m) => modelKey(m) === modelKey(chosen))) return;
  if (state.models.length >= MAX_MODELS) {
    setStatus(`At most ${MAX_MODELS} models at a time.`, true);
    return;
  }
  state.models.push(chosen);
  renderChips();
  scheduleEstimate(0);
}

function removeModel(key) {
  state.models = state.models.filter((m) => modelKey(m) !== key);
  renderChips();
  scheduleEstimate(0);
}

function renderChips() {
  form.chips.replaceChildren(...state.models.map((m) => h("li", { class: "chip", dataset: { model: modelKey(m) } },
    h("span", {}, m.label, " ", h("span", { class: "chip-provider" }, `· ${m.provider}`)),
    h("button", { type: "button", "aria-label": `Remove ${m.label}`, title: `Remove ${m.label}`, dataset: { remove: modelKey(m) } }, "×"))));
}

// ---------------------------------------------------------------------------
// URL state (shareable, and how an embedding page configures the frame) and embedding

const params = new URLSearchParams(location.search);
const embedded = document.documentElement.classList.contains("embed") || params.get("embed") === "1";

function syncUrl(workload) {
  if (!workload || !state.models.length) return;
  const next = new URLSearchParams();
  next.set("models", state.models.map((m) => m.model).join(","));
  if (workload.mode === "tokens") next.set("input_tokens", String(workload.inputTokens));
  next.set("output_tokens", String(workload.outputTokens));
  next.set("requests", String(workload.requests));
  if (workload.cacheShare) next.set("cache", String(workload.cacheShare));
  if (workload.discount) next.set("discount", workload.discount);
  addPlanParams(next);
  if (embedded) next.set("embed", "1");
  const search = next.toString().replace(/%2C/g, ",").replace(/%2F/g, "/");
  if (`?${search}` !== location.search) history.replaceState(null, "", `?${search}`);
  updateShareLink();
}

function reportHeight() {
  if (window.parent === window) return;
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  window.parent.postMessage({ type: "ratecard:height", height }, "*"); // a height is not a secret
}

// ---------------------------------------------------------------------------
// Plan view: a month-by-month budget from POST /v1/forecast (batch and cache-hit shares, growth,
// a start month, an optional starting spend and the payback of a move to batch). The workload form
// above gives the tokens and the volume; everything shown is the forecast's own figures.

const PLAN_MAX_MONTHS = 36;
const planForm = {
  view: $("#view-plan"),
  estimateView: $("#view-estimate"),
  spend: $("#plan-spend"),
  spendModel: $("#plan-spend-model"),
  batch: $("#plan-batch"),
  batchValue: $("#plan-batch-value"),
  hits: $("#plan-hits"),
  hitsValue: $("#plan-hits-value"),
  growth: $("#plan-growth"),
  months: $("#plan-months"),
  start: $("#plan-start"),
  hours: $("#plan-hours"),
  rate: $("#plan-rate"),
};
const planSection = $("#plan");
const SPEND_HINT = $("#plan-spend-hint").textContent;
const shareLink = $("#share-link");
let planController = null;
let planSeq = 0;
let planBody = null; // the last forecast shown, for redrawing on resize or a model switch
let planKey = null; // the model shown month by month
let wantedSpendModel = null; // from the URL, until the models are resolved

const planActive = () => planForm.view.checked;
const currentMonth = () => new Date().toISOString().slice(0, 7); // UTC, as the API's default

function setView(view) {
  planForm.view.checked = view === "plan";
  planForm.estimateView.checked = view !== "plan";
  document.documentElement.dataset.view = view;
}

/** Decimal text of a non-negative number field with at most `places` decimals, or an error. */
function readDecimalText(input, { label, min = 0, max = Infinity, places = 6, optional = true }) {
  const raw = input.value.trim();
  if (raw === "") return optional ? { value: null } : { error: `Enter ${label}.` };
  const match = /^(-?)\d+(?:\.(\d+))?$/.exec(raw);
  if (!match || (match[2] || "").length > places || Number(raw) < min || Number(raw) > max) {
    const range = max === Infinity ? `${min} or more` : `from ${min} to ${max}`;
    return { error: `${label[0].toUpperCase()}${label.slice(1)} is a number ${range}, with at most ${places} decimals.` };
  }
  return { value: raw };
}

/** The plan's own inputs, or null (with the fields' errors shown) when they are not valid. */
function readPlan() {
  let valid = true;
  const take = (input, result, errorInput = input) => {
    setFieldError(errorInput, result.error);
    if (result.error) valid = false;
    return result.value;
  };
  const spend = take(planForm.spend, readDecimalText(planForm.spend, { label: "the monthly spend", max: 1e9 }));
  const growth = take(planForm.growth, readDecimalText(planForm.growth, { label: "growth", min: -100, max: 1000, optional: false }));
  const monthsRaw = planForm.months.value.trim();
  const monthsOk = /^\d+$/.test(monthsRaw) && Number(monthsRaw) >= 1 && Number(monthsRaw) <= PLAN_MAX_MONTHS;
  take(planForm.months, monthsOk ? {} : { error: `Months is a whole number from 1 to ${PLAN_MAX_MONTHS}.` });
  const start = planForm.start.value || currentMonth();
  take(planForm.start, /^\d{4}-\d{2}$/.test(start) ? {} : { error: "Pick a month." });
  const hours = readDecimalText(planForm.hours, { label: "hours", max: 1e6 });
  const rate = readDecimalText(planForm.rate, { label: "the hourly rate", max: 1e6 });
  let migrationError = hours.error || rate.error;
  if (!migrationError && (hours.value === null) !== (rate.value === null)) {
    migrationError = "Give both the hours and the hourly rate, or neither.";
  }
  take(planForm.hours, { error: migrationError });
  planForm.rate.setAttribute("aria-invalid", migrationError ? "true" : "false");
  const batch = Number(planForm.batch.value), hits = Number(planForm.hits.value);
  planForm.batchValue.textContent = `${batch}%`;
  planForm.hitsValue.textContent = `${hits}%`;
  if (!valid) return null;
  return { spend, spendModel: planForm.spendModel.value || null, batch, hits, growth, months: Number(monthsRaw), start,
    hours: hours.value, rate: rate.value };
}

/** Keep the spend and chart model pickers in step with the chosen models. */
function renderPlanPickers() {
  const keys = state.models.map(modelKey);
  const options = (selected) => state.models.map((m) => h("option", { value: modelKey(m), selected: modelKey(m) === selected }, m.label));
  if (wantedSpendModel) {
    const hit = state.models.find((m) => [m.model, modelKey(m)].includes(wantedSpendModel));
    if (hit) planForm.spendModel.dataset.value = modelKey(hit);
    wantedSpendModel = null;
  }
  const spendKey = keys.includes(planForm.spendModel.dataset.value) ? planForm.spendModel.dataset.value : keys[0];
  planForm.spendModel.replaceChildren(...options(spendKey));
  planForm.spendModel.dataset.value = spendKey || "";
  if (!keys.includes(planKey)) planKey = keys[0] || null;
  const picker = $("#plan-model");
  picker.replaceChildren(...options(planKey));
  picker.hidden = keys.length < 2;
}

// Decimal sums for the yearly totals, exact like every other figure.
function addDecimal(a, b) {
  const x = toDecimal(a), y = toDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const units = x.units * 10n ** BigInt(scale - x.scale) + y.units * 10n ** BigInt(scale - y.scale);
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  if (scale) digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`.replace(/\.?0+$/, "");
  return `${negative ? "-" : ""}${digits}`;
}
const sumDecimal = (values) => values.reduce((total, v) => addDecimal(total, v), "0");
const monthName = (label, style = "short") => new Intl.DateTimeFormat("en-US", { month: style, year: "numeric", timeZone: "UTC" })
  .format(Date.UTC(Number(label.slice(0, 4)), Number(label.slice(5, 7)) - 1, 1));

async function planBodyFor(workload, plan, signal) {
  const names = state.models.map(modelKey);
  let inputTokens = workload.inputTokens;
  if (workload.mode === "text") {
    // The forecast takes token counts: count the pasted prompt with the spend model's (or first model's) tokenizer.
    const counted = await callApi("/v1/tokens", { method: "POST", body: { model: plan.spendModel || names[0], text: workload.text }, signal });
    inputTokens = counted.tokens;
  }
  const body = { models: names, input_tokens: inputTokens,
    cached_input_tokens: Math.round((inputTokens * workload.cacheShare) / 100), output_tokens: workload.outputTokens,
    start_month: plan.start, months: plan.months, monthly_growth_percent: Number(plan.growth),
    batch_share: plan.batch / 100, cache_hit_share: plan.hits / 100 };
  if (plan.spend !== null) {
    body.monthly_spend_usd = Number(plan.spend);
    body.spend_model = plan.spendModel || names[0];
  } else {
    body.monthly_requests = workload.requests;
  }
  if (plan.hours !== null) {
    body.migration_hours = Number(plan.hours);
    body.hourly_rate_usd = Number(plan.rate);
  }
  return body;
}

async function runPlan() {
  clearTimeout(estimateTimer);
  renderPlanPickers();
  const workload = readWorkload();
  const plan = readPlan();
  syncUrl(workload);
  if (!workload || !plan) {
    setStatus("Fix the highlighted fields to update the plan.", true);
    return;
  }
  if (!state.models.length) {
    planSection.dataset.status = "ready";
    planSection.dataset.request = "";
    setStatus("Add a model to plan a budget.");
    return;
  }
  planController?.abort();
  const controller = (planController = new AbortController());
  const seq = ++planSeq;
  planSection.dataset.status = "loading";
  results.setAttribute("aria-busy", "true");
  try {
    const body = await planBodyFor(workload, plan, controller.signal);
    const answer = await callApi("/v1/forecast", { method: "POST", body, signal: controller.signal });
    if (seq !== planSeq) return;
    planBody = answer;
    renderPlan();
    planSection.dataset.request = JSON.stringify(body);
    planSection.dataset.status = "ready";
  } catch (error) {
    if (error.name === "AbortError" || seq !== planSeq) return;
    const fields = { monthly_spend_usd: planForm.spend, spend_model: planForm.spend, monthly_growth_percent: planForm.growth,
      months: planForm.months, start_month: planForm.start, migration_hours: planForm.hours, hourly_rate_usd: planForm.hours,
      monthly_requests: form.requests };
    for (const fieldError of error.problem?.errors || []) {
      if (fields[fieldError.field]) setFieldError(fields[fieldError.field], fieldError.reason || "Not accepted.");
    }
    showError(error);
    planSection.dataset.status = "error";
  } finally {
    if (seq === planSeq) results.removeAttribute("aria-busy");
  }
}

function planMoneyCell(month, field, cls = "") {
  const raw = month[field];
  if (raw === null || raw === undefined) return h("td", { class: "unpriced", dataset: { field } }, "not priced");
  return h("td", { class: `money ${cls}`.trim(), dataset: { field, usd: raw } }, formatUsd(raw));
}

function paybackText(forecast) {
  const payback = forecast.payback;
  if (!payback) return { text: "—", sub: "Add the hours and rate of the move" };
  if (payback.months === null) return { text: "Not within the plan", sub: `Moving costs ${formatUsd(payback.migration_cost_usd)}` };
  return { text: `${payback.months} month${payback.months === 1 ? "" : "s"}`,
    sub: `By ${monthName(payback.month, "long")}; moving costs ${formatUsd(payback.migration_cost_usd)}` };
}

function stat(name, value, sub, { usd, cls } = {}) {
  return h("div", { class: "stat", dataset: { stat: name } }, h("dt", {}, name),
    h("dd", { class: cls, dataset: usd === undefined ? {} : { usd } }, value, sub ? h("span", { class: "stat-sub" }, sub) : null));
}

function renderPlan() {
  const body = planBody;
  if (!body) return;
  for (const el of document.querySelectorAll("#catalog-version, #embed-version")) el.textContent = body.catalog_version;
  const forecast = body.forecasts.find((f) => modelKey(f) === planKey) || body.forecasts[0];
  if (!forecast) return;
  const months = forecast.months;
  const first = months.find((m) => m.priced);
  const horizon = `${body.forecasts[0].months.length} month${months.length === 1 ? "" : "s"}`;
  const stats = [stat(`Total · ${horizon}`, formatUsd(forecast.total_usd),
    first ? `${formatUsd(first.cost_usd)} in ${monthName(first.month)}` : "No month priced", { usd: forecast.total_usd })];
  if (months.length >= 12) {
    const years = [];
    for (let i = 0; i + 12 <= months.length; i += 12) years.push(sumDecimal(months.slice(i, i + 12).map((m) => m.cost_usd ?? "0")));
    stats.push(stat("Yearly total", formatUsd(years[0]),
      years.length > 1 ? years.slice(1).map((y, i) => `Year ${i + 2}: ${formatUsd(y)}`).join(" · ") : "The first 12 months", { usd: years[0] }));
  }
  stats.push(stat("Batch saves", formatUsd(forecast.savings_from_batch_usd),
    first ? `${formatUsd(first.savings_from_batch_usd)} in ${monthName(first.month)}` : null, { usd: forecast.savings_from_batch_usd, cls: "good" }));
  stats.push(stat("Caching saves", formatUsd(forecast.savings_from_caching_usd),
    first ? `${formatUsd(first.savings_from_caching_usd)} in ${monthName(first.month)}` : null, { usd: forecast.savings_from_caching_usd, cls: "good" }));
  const payback = paybackText(forecast);
  stats.push(stat("Payback", payback.text, payback.sub));
  $("#plan-stats").replaceChildren(...stats);

  const compare = $("#plan-compare-card");
  compare.hidden = body.forecasts.length < 2;
  $("#plan-compare tbody").replaceChildren(...body.forecasts.map((f) => h("tr", { dataset: { model: modelKey(f) } },
    h("td", {}, h("span", { class: "model-name" }, labelOf(modelKey(f))), h("span", { class: "model-id" }, modelKey(f))),
    planMoneyCell({ total_usd: f.total_usd }, "total_usd"), planMoneyCell(f, "savings_from_batch_usd", "good"),
    planMoneyCell(f, "savings_from_caching_usd", "good"), h("td", { class: "num" }, paybackText(f).text))));

  $("#plan-chart-title").textContent = `Month by month · ${labelOf(modelKey(forecast))}`;
  $("#plan-table tbody").replaceChildren(...months.map((m) => h("tr", { dataset: { month: m.month } },
    h("th", { scope: "row" }, monthName(m.month)), h("td", { class: "num" }, formatCount(m.requests)),
    planMoneyCell(m, "cost_usd"), planMoneyCell(m, "savings_from_batch_usd", "good"),
    planMoneyCell(m, "savings_from_caching_usd", "good"), planMoneyCell(m, "baseline_usd"),
    planMoneyCell(m, "cumulative_cost_usd"))));
  $("#plan-table tfoot").replaceChildren(h("tr", {}, h("th", { scope: "row" }, "Total"),
    h("td", { class: "num" }, formatCount(forecast.requests)), planMoneyCell(forecast, "total_usd"),
    planMoneyCell(forecast, "savings_from_batch_usd", "good"), planMoneyCell(forecast, "savings_from_caching_usd", "good"),
    planMoneyCell(forecast, "baseline_usd"), h("td", {})));

  const notes = [];
  if (body.spend) {
    notes.push(`${formatUsd(body.spend.monthly_spend_usd)} a month on ${labelOf(modelKey(body.spend))} is `
      + `${formatCount(body.monthly_requests)} requests at ${formatUsd(body.spend.usd_per_request)} each `
      + `(standard prices of ${monthName(body.start_month, "long")}, no cache hits).`);
  }
  // Next to the spend box: the volume it stands for, which replaces "Requests per month".
  $("#plan-spend-hint").textContent = body.spend
    ? `That is ${formatCount(body.monthly_requests)} requests a month at ${formatUsd(body.spend.usd_per_request)} each, in place of “Requests per month”.`
    : SPEND_HINT;
  if (form.discount.value.trim()) notes.push("The plan uses list prices: the negotiated discount applies to the estimate only.");
  notes.push(...forecast.warnings);
  $("#plan-notes").replaceChildren(...notes.map((n) => h("li", {}, n)));
  $("#plan-notes").hidden = !notes.length;
  paintPlanChart(forecast);

  const status = [h("strong", {}, labelOf(modelKey(forecast))), `: ${formatUsd(forecast.total_usd)} over ${horizon}`];
  if (first && compareDecimal(first.savings_from_batch_usd, "0") > 0) {
    status.push(`; batch saves ${formatUsd(first.savings_from_batch_usd)} in the first month`);
  }
  status.push(".");
  setStatus(status);
}

function paintPlanChart(forecast) {
  const chart = $("#plan-chart");
  const months = forecast.months;
  chart.dataset.model = modelKey(forecast);
  const width = Math.max(300, Math.round(chart.clientWidth || 640));
  const height = 260;
  const pad = { top: 16, right: 12, bottom: 30, left: 64 };
  const top = Math.max(0, ...months.filter((m) => m.priced).map((m) => Number(m.baseline_usd)));
  const step = niceStep(top * 1.05 || 1, 4);
  const yMax = step * Math.max(1, Math.ceil((top * 1.05) / step));
  const band = (width - pad.left - pad.right) / months.length;
  const barWidth = Math.max(2, Math.min(44, band * 0.7));
  const x = (i) => pad.left + band * i + (band - barWidth) / 2;
  const y = (v) => pad.top + (1 - v / yMax) * (height - pad.top - pad.bottom);
  const grid = svg("g", { class: "grid axis" });
  for (let v = 0; v <= yMax + step / 2; v += step) {
    grid.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      svg("text", { x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" }, formatUsd(String(+v.toFixed(6))).replace(/\.00$/, "")));
  }
  const every = Math.max(1, Math.ceil(months.length / Math.floor((width - pad.left) / 64)));
  const xAxis = svg("g", { class: "axis" }, months.filter((_, i) => i % every === 0).map((m) => {
    const i = months.indexOf(m);
    return svg("text", { x: x(i) + barWidth / 2, y: height - 8, "text-anchor": "middle" }, monthName(m.month));
  }));
  // Stacked from the bottom: what is paid, then what batch saves, then what caching saves: together the all-standard bill.
  const bars = months.map((m, i) => {
    if (!m.priced) return null;
    const parts = [["cost", m.cost_usd, "you pay"], ["batch", m.savings_from_batch_usd, "batch saves"],
      ["caching", m.savings_from_caching_usd, "caching saves"]];
    let base = 0;
    const rects = parts.map(([kind, raw, words]) => {
      const value = Number(raw); // drawing only: a float is fine here
      const rect = svg("rect", { class: `bar-${kind}`, x: x(i), width: barWidth, y: y(base + value),
        height: Math.max(0, y(base) - y(base + value)) },
      svg("title", {}, `${monthName(m.month, "long")}: ${words} ${formatUsd(raw)}`));
      rect.dataset.month = m.month;
      base += value;
      return value > 0 || kind === "cost" ? rect : null;
    });
    return svg("g", { class: "month" }, rects);
  });
  const marks = [];
  const payback = forecast.payback;
  if (payback && payback.months) {
    const px = x(payback.months - 1) + barWidth + (band - barWidth) / 2;
    marks.push(svg("g", { class: "payback" }, svg("line", { x1: px, x2: px, y1: pad.top, y2: height - pad.bottom }),
      // The label on the roomier side of the line, clear of the axis labels.
      svg("text", px < width / 2 ? { x: px + 4, y: pad.top + 10 } : { x: px - 4, y: pad.top + 10, "text-anchor": "end" },
        "paid back")));
  }
  const summary = months.map((m) => `${monthName(m.month)}: ${m.priced ? `${formatUsd(m.cost_usd)} paid, ${formatUsd(m.baseline_usd)} all standard` : "not priced"}`).join("; ");
  chart.replaceChildren(svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "plan-svg-title plan-svg-desc" },
    svg("title", { id: "plan-svg-title" }, `Monthly cost of ${labelOf(modelKey(forecast))}, with what batch and caching save`),
    svg("desc", { id: "plan-svg-desc" }, summary), grid, xAxis, ...bars.filter(Boolean), ...marks));
}

/** The plan's share of the URL (the workload's own parameters are written by syncUrl). */
function addPlanParams(next) {
  if (!planActive()) return;
  next.set("view", "plan");
  const put = (name, value, unless = "") => { if (value !== null && value !== "" && String(value) !== unless) next.set(name, String(value)); };
  put("spend", planForm.spend.value.trim());
  if (planForm.spend.value.trim()) put("spend_model", planForm.spendModel.value.split("/").slice(1).join("/") || planForm.spendModel.value);
  put("batch", planForm.batch.value, "0");
  put("hits", planForm.hits.value, "0");
  put("growth", planForm.growth.value.trim(), "0");
  put("months", planForm.months.value.trim(), "12");
  put("start", planForm.start.value);
  put("hours", planForm.hours.value.trim());
  put("rate", planForm.rate.value.trim());
}

function updateShareLink() {
  const share = new URLSearchParams(location.search);
  share.delete("embed");
  const search = share.toString().replace(/%2C/g, ",").replace(/%2F/g, "/");
  shareLink.href = `${location.origin}/calculator${search ? `?${search}` : ""}`;
  if (embedded) shareLink.target = "_blank";
}

function applyUrlPlan() {
  setFromUrl(planForm.spend, "spend");
  setFromUrl(planForm.batch, "batch");
  setFromUrl(planForm.hits, "hits");
  setFromUrl(planForm.growth, "growth");
  setFromUrl(planForm.months, "months");
  setFromUrl(planForm.start, "start");
  setFromUrl(planForm.hours, "hours");
  setFromUrl(planForm.rate, "rate");
  wantedSpendModel = params.get("spend_model");
  if (!planForm.start.value) planForm.start.value = currentMonth();
  planForm.batchValue.textContent = `${planForm.batch.value}%`;
  planForm.hitsValue.textContent = `${planForm.hits.value}%`;
  setView(params.get("view") === "plan" ? "plan" : "estimate");
}

function wirePlan() {
  for (const radio of [planForm.view, planForm.estimateView]) {
    radio.addEventListener("change", () => {
      setView(planForm.view.checked ? "plan" : "estimate");
      scheduleEstimate(0);
    });
  }
  for (const input of [planForm.spend, planForm.growth, planForm.months, planForm.start, planForm.hours, planForm.rate]) {
    input.addEventListener("input", () => scheduleEstimate());
  }
  for (const [range, output] of [[planForm.batch, planForm.batchValue], [planForm.hits, planForm.hitsValue]]) {
    range.addEventListener("input", () => {
      output.textContent = `${range.value}%`;
      scheduleEstimate();
    });
  }
  planForm.spendModel.addEventListener("change", () => {
    planForm.spendModel.dataset.value = planForm.spendModel.value;
    scheduleEstimate(0);
  });
  $("#plan-model").addEventListener("change", (event) => {
    planKey = event.target.value;
    renderPlan();
  });
  let width = $("#plan-chart").clientWidth;
  new ResizeObserver(() => {
    const now = $("#plan-chart").clientWidth;
    if (now !== width && planBody) {
      width = now;
      renderPlan();
    }
  }).observe($("#plan-chart"));
}

// ---------------------------------------------------------------------------
// Wiring

function wire() {
  form.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchModels, 200);
  });
  form.search.addEventListener("keydown", (event) => {
    const open = !form.options.hidden;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) searchModels();
      else setActive(activeIndex + 1);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      setActive(activeIndex - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (open) chooseOption(optionEls()[Math.max(activeIndex, 0)]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      openOptions(false);
    } else if (event.key === "Backspace" && form.search.value === "" && state.models.length) {
      removeModel(modelKey(state.models[state.models.length - 1]));
    }
  });
  form.search.addEventListener("blur", () => setTimeout(() => openOptions(false), 120));
  form.options.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
  form.options.addEventListener("click", (event) => chooseOption(event.target.closest('[role="option"]')));
  form.chips.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-remove]");
    if (!button) return;
    const index = state.models.findIndex((m) => modelKey(m) === button.dataset.remove);
    removeModel(button.dataset.remove);
    // Keep keyboard focus on the next chip's button, or the search box.
    const buttons = form.chips.querySelectorAll("button");
    (buttons[Math.min(index, buttons.length - 1)] || form.search).focus();
  });
  for (const radio of [form.modeTokens, form.modeText]) {
    radio.addEventListener("change", () => {
      form.tokensPane.hidden = form.modeText.checked;
      form.textPane.hidden = !form.modeText.checked;
      scheduleEstimate(0);
    });
  }
  for (const input of [form.inputTokens, form.outputTokens, form.requests, form.discount, form.text]) {
    input.addEventListener("input", () => scheduleEstimate());
  }
  form.cacheShare.addEventListener("input", () => {
    form.cacheShareValue.textContent = `${form.cacheShare.value}%`;
    scheduleEstimate();
  });
  $("#workload").addEventListener("submit", (event) => {
    event.preventDefault();
    runEstimate();
  });
  $("#history-model").addEventListener("change", (event) => {
    state.historyKey = event.target.value;
    drawHistory();
  });
  let width = $("#chart").clientWidth;
  new ResizeObserver(() => {
    const now = $("#chart").clientWidth;
    if (now !== width) {
      width = now;
      drawHistory();
    }
  }).observe($("#chart"));
  if (embedded) new ResizeObserver(reportHeight).observe(document.documentElement);
}

// A form field from the page's query string (a share link), when the link gives it a value.
function setFromUrl(input, name) {
  const value = params.get(name);
  if (value !== null && value !== "") input.value = value;
}

function applyUrlWorkload() {
  setFromUrl(form.inputTokens, "input_tokens");
  setFromUrl(form.outputTokens, "output_tokens");
  setFromUrl(form.requests, "requests");
  setFromUrl(form.cacheShare, "cache");
  setFromUrl(form.discount, "discount");
  form.cacheShareValue.textContent = `${form.cacheShare.value}%`;
}

async function start() {
  wire();
  wirePlan();
  applyUrlWorkload();
  applyUrlPlan();
  const names = (params.get("models") || "").split(",").map((n) => n.trim()).filter(Boolean);
  const wanted = names.length ? names.slice(0, MAX_MODELS) : DEFAULT_MODELS;
  setStatus("Loading prices…");
  const resolved = await Promise.all(wanted.map(resolveModel));
  const unknown = resolved.filter((r) => r.error).map((r) => r.error);
  for (const { chosen } of resolved) {
    if (chosen && !state.models.some((m) => modelKey(m) === modelKey(chosen))) state.models.push(chosen);
  }
  renderChips();
  await runEstimate();
  if (unknown.length) setStatus(`Unknown model${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}. Search for it above.`, true);
}

start();
