// The compliance console: a plain ES module over the JSON API (/v1), no framework, no build step.
// The officer's key lives in sessionStorage (this tab only) and goes out as a bearer header, never
// in a URL. Every value from the API reaches the page as text (textContent), never as HTML.
// Amounts stay the strings the API sends, in their currency's minor units: displayed, never parsed.

const KEY_STORAGE = 'compliance-console-key';
const REFRESH_MS = 10_000;
const OPEN_STATUSES = ['processing', 'sent', 'held'];
const HOLD_STATUSES = ['pending', 'released', 'rejected', 'expired'];
const DECIDED = { release: 'released', reject: 'rejected', expire: 'expired' };

const $ = (id) => document.getElementById(id);
const state = { config: { temporal_ui_url: null, namespace: 'default' }, whoami: null, holds: new Map(), rules: new Map(), timer: null, caseToken: 0 };

// ---------------------------------------------------------------------------------------------
// small helpers

/** An element with attributes and children (strings become text nodes: nothing is parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function show(el, text) {
  el.textContent = text ?? '';
  el.hidden = !text;
}

/** "1234567.50" → "1,234,567.50": grouping by string, the digits untouched. */
function groupDigits(amount) {
  const text = String(amount);
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!match) return text;
  return `${match[1]}${match[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${match[3] ?? ''}`;
}

function money(m) {
  if (!m || m.amount === null || m.amount === undefined) return '—';
  return `${groupDigits(m.amount)} ${m.currency}`;
}

function duration(totalSeconds) {
  let s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const hr = Math.floor(s / 3600);
  s -= hr * 3600;
  const min = Math.floor(s / 60);
  s -= min * 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${min}m`;
  if (min) return `${min}m ${s}s`;
  return `${s}s`;
}

function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

function secondsLeft(hold) {
  if (!hold.hold_expires_at) return null;
  return (new Date(hold.hold_expires_at).getTime() - Date.now()) / 1000;
}

const collectionOf = (kind) => (kind === 'payout' ? 'payouts' : 'transfers');

// ---------------------------------------------------------------------------------------------
// the API

class SignedOut extends Error {}

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const headers = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch {
    return { status: 0, body: null };
  }
  let parsed = null;
  try {
    parsed = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
}

/** The call, or a sentence saying why it failed; a key that stopped working signs the officer out. */
async function call(method, path, body) {
  const res = await api(method, path, body);
  if (res.status === 401) {
    signOut('Your key is no longer accepted (it was revoked or has expired). Sign in again.');
    throw new SignedOut();
  }
  return res;
}

const errorCode = (res) => res.body?.errors?.[0]?.error_code;

/** Words for the refusals a person can meet here. */
function explain(res, kind = 'payment') {
  const code = errorCode(res);
  switch (code) {
    case 'maker_checker_violation':
      return `You cannot decide on this ${kind}: it was created by your key or by a key linked to yours (maker-checker). Another compliance officer has to decide on it.`;
    case 'already_decided':
      return `Another officer has already decided on this ${kind}. The case below now shows their decision.`;
    case 'not_held':
      return `This ${kind} is no longer waiting for a decision (it was decided, or the hold expired). Nothing was changed.`;
    case 'not_authorized':
      return 'This key is not allowed to do that: only compliance keys decide on held payments.';
    case 'not_found':
      return `No ${kind} with this id.`;
    case 'validation_error':
    case 'invalid_value':
    case 'required_field':
      return `Check the form: ${res.body?.errors?.[0]?.message ?? 'a value is not valid'}.`;
  }
  if (res.status === 0) return 'The payments service cannot be reached. Check your connection and try again.';
  if (res.status === 429) return `Too many requests: wait ${res.retryAfter ?? 'a few'} seconds and try again.`;
  if (res.status === 503) return 'A service behind the console is unavailable right now. Nothing was changed; try again in a moment.';
  if (res.status === 422) return `Check the form: ${res.body?.errors?.[0]?.message ?? 'a value is not valid'}.`;
  return `The request failed (${res.status}${code ? `, ${code}` : ''}): ${res.body?.message ?? 'no details'}.`;
}

// ---------------------------------------------------------------------------------------------
// signing in and out

async function signIn(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  const res = await api('GET', '/v1/whoami');
  if (res.status === 200 && res.body?.role === 'compliance') {
    state.whoami = res.body;
    return null;
  }
  sessionStorage.removeItem(KEY_STORAGE);
  if (res.status === 401) return 'This key is not recognised: it may be mistyped, revoked or expired.';
  if (res.status === 200) {
    return `This is ${res.body.role === 'admin' ? 'an admin' : `a ${res.body.role}`} key. The console is for compliance officers: sign in with a compliance key.`;
  }
  return explain(res);
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.whoami = null;
  state.holds.clear();
  state.rules.clear();
  stopRefresh();
  $('session').hidden = true;
  $('queue').hidden = true;
  $('case').hidden = true;
  $('sign-in').hidden = false;
  show($('sign-in-error'), message);
  if (location.hash) history.replaceState(null, '', location.pathname);
  $('key').value = '';
  $('key').focus();
}

// ---------------------------------------------------------------------------------------------
// the hold queue

function stopRefresh() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

function startRefresh() {
  stopRefresh();
  state.timer = setInterval(() => {
    if (!$('queue').hidden && document.visibilityState !== 'hidden') void loadQueue();
  }, REFRESH_MS);
}

function rulesList(hits) {
  if (!Array.isArray(hits) || hits.length === 0) return h('span', { className: 'muted' }, 'none');
  return h('ul', { className: 'rules' }, hits.map((hit) => h('li', {}, h('strong', {}, hit.name), ` (${hit.kind}, v${hit.rule_version}, ${hit.action}): `, hit.detail)));
}

function expiryCell(hold) {
  if (hold.status !== 'held' || hold.decision) return h('span', { className: 'muted' }, '—');
  const left = secondsLeft(hold);
  if (left === null) return '—';
  if (left <= 0) return h('span', { className: 'soon' }, 'expiring now');
  return h('span', { className: left < 600 ? 'soon' : '' }, duration(left));
}

function queueRow(hold) {
  const label = `${hold.subject_type === 'payout' ? 'Payout' : 'Transfer'} ${hold.id.slice(0, 8)}`;
  return h(
    'tr',
    { 'data-id': hold.id },
    h('td', {}, h('a', { href: `#/case/${hold.subject_type}/${hold.id}`, 'aria-label': `Open ${label}` }, label), h('div', { className: 'muted id' }, hold.ref_id ?? '')),
    h('td', { className: 'num' }, h('span', { className: 'amount' }, money(hold.source_amount)),
      hold.target_amount && (hold.target_amount.currency !== hold.source_amount?.currency || hold.target_amount.amount !== hold.source_amount?.amount)
        ? h('div', { className: 'muted amount' }, `→ ${money(hold.target_amount)}`)
        : null),
    h('td', {}, hold.parties?.source?.holder ?? '—'),
    h('td', {}, hold.parties?.destination?.holder ?? '—'),
    h('td', {}, rulesList(hold.rule_hits)),
    h('td', {}, duration(Number(hold.age_seconds))),
    h('td', {}, expiryCell(hold)),
    h('td', {}, h('span', { className: `badge ${hold.status}` }, hold.status), hold.decision ? h('div', { className: 'muted' }, DECIDED[hold.decision.decision] ?? hold.decision.decision) : null),
  );
}

async function loadQueue() {
  const status = $('status').value;
  const order = $('order').value;
  let res;
  try {
    res = await call('GET', `/v1/compliance/holds?status=${encodeURIComponent(status)}&order=${encodeURIComponent(order)}&limit=200`);
  } catch (err) {
    if (err instanceof SignedOut) return;
    throw err;
  }
  if (res.status !== 200) {
    show($('queue-error'), explain(res));
    return;
  }
  show($('queue-error'), '');
  for (const hold of res.body.data) state.holds.set(hold.id, hold);
  const tbody = $('holds').tBodies[0];
  // A refresh must not take the keyboard focus away from the row the officer is on.
  const focusedId = tbody.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.id : undefined;
  tbody.replaceChildren(...res.body.data.map(queueRow));
  if (focusedId) tbody.querySelector(`tr[data-id="${focusedId}"] a`)?.focus();
  $('empty').hidden = res.body.data.length > 0;
  $('refreshed').textContent = `${res.body.data.length} shown · updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000}s`;
}

function showQueue() {
  $('case').hidden = true;
  $('queue').hidden = false;
  void loadQueue();
  startRefresh();
}

// ---------------------------------------------------------------------------------------------
// a case

/** The holds entry for a payment: from the queue already loaded, else looked up in each list. */
async function findHold(id) {
  for (const status of HOLD_STATUSES) {
    const res = await call('GET', `/v1/compliance/holds?status=${status}&limit=200`);
    if (res.status !== 200) continue;
    const found = res.body.data.find((x) => x.id === id);
    if (found) {
      state.holds.set(id, found);
      return found;
    }
  }
  return state.holds.get(id) ?? null;
}

function temporalLink(workflowId) {
  if (!workflowId) return '—';
  const base = state.config.temporal_ui_url;
  if (!base) return h('span', {}, h('span', { className: 'id' }, workflowId), ' ', h('span', { className: 'muted' }, '(no Temporal UI configured)'));
  const url = `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(state.config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', className: 'id' }, `${workflowId} (Temporal UI)`);
}

function definitionList(pairs) {
  return h('dl', {}, pairs.filter(Boolean).flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

/** A rule the screening applied, by name when the rules list has it (a rule edited since shows its current version too). */
function ruleVersion(id, version) {
  const rule = state.rules.get(id);
  if (!rule) return h('li', {}, h('span', { className: 'id' }, id), ` v${version}`);
  const since = rule.version !== version ? ` (now v${rule.version})` : '';
  return h('li', { title: id }, `${rule.name} (${rule.kind}) v${version}${since}`);
}

async function loadRules() {
  const res = await call('GET', '/v1/compliance/rules');
  if (res.status === 200) for (const rule of res.body.data) state.rules.set(rule.id, rule);
}

function renderCase(kind, payment, hold) {
  const decided = hold?.decision;
  const details = h(
    'div',
    { className: 'card' },
    h('h3', {}, kind === 'payout' ? 'Payout' : 'Transfer'),
    definitionList([
      ['Id', h('span', { className: 'id' }, payment.id)],
      ['Status', h('span', { className: `badge ${payment.status}`, id: 'case-status' }, payment.status)],
      ['Response', `${payment.response_code ?? '—'} ${payment.message ?? ''}`],
      ['Amount', h('span', { className: 'amount' }, money(payment.source_amount))],
      ['Paid out', h('span', { className: 'amount' }, money(payment.target_amount))],
      ['From', hold?.parties?.source?.holder ?? payment.source_account_id],
      ['To', hold?.parties?.destination?.holder ?? payment.destination_account_id],
      ['Reference', payment.reference],
      kind === 'payout' ? ['Rail reference', payment.rail_reference] : null,
      ['Created', when(payment.created_at)],
      ['Workflow', temporalLink(payment.workflow_id)],
    ]),
  );
  const hitVersions = hold?.rule_versions ? Object.entries(hold.rule_versions) : [];
  const screening = h(
    'div',
    { className: 'card' },
    h('h3', {}, 'Screening'),
    hold
      ? definitionList([
          ['Held', when(hold.held_at)],
          ['Age', duration(Number(hold.age_seconds))],
          ['Expires', hold.hold_expires_at ? `${when(hold.hold_expires_at)}${payment.status === 'held' && !decided ? ` (in ${duration(secondsLeft(hold) ?? 0)})` : ''}` : '—'],
          ['Rules that fired', rulesList(hold.rule_hits)],
          ['Rule versions applied', hitVersions.length ? h('ul', { className: 'rules' }, hitVersions.map(([id, v]) => ruleVersion(id, v))) : '—'],
          ['Decision', decided ? `${decided.decision} by ${decided.reviewer} at ${when(decided.decided_at)}: ${decided.reason ?? ''}` : 'none yet'],
        ])
      : h('p', { className: 'muted' }, 'This payment was not held for compliance.'),
  );
  $('case-body').replaceChildren(h('div', { className: 'grid' }, details, screening));
  $('decide').hidden = !(payment.status === 'held' && !decided);
}

async function renderAudit(id) {
  const res = await call('GET', `/v1/compliance/audit?subject_id=${encodeURIComponent(id)}&limit=100`);
  const box = h('div', { className: 'card' }, h('h3', {}, 'Audit trail'));
  if (res.status !== 200) box.append(h('p', { className: 'error' }, explain(res)));
  else if (res.body.data.length === 0) box.append(h('p', { className: 'muted' }, 'No decisions have been attempted.'));
  else {
    box.append(
      h('div', { className: 'table-wrap' },
        h('table', {},
          h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Outcome', 'Reason'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, res.body.data.map((a) => h('tr', {}, h('td', {}, when(a.at)), h('td', {}, `${a.actor} (${a.actor_role ?? '?'})`), h('td', {}, a.action), h('td', {}, a.outcome), h('td', {}, a.reason ?? '')))),
        ),
      ),
    );
  }
  $('audit').replaceChildren(box);
}

/** The case's payment, screening and audit trail (the decision form's messages are left as they are). */
async function loadCase(kind, id) {
  const res = await call('GET', `/v1/${collectionOf(kind)}/${encodeURIComponent(id)}`);
  if (res.status !== 200) {
    $('case-body').replaceChildren(h('p', { className: 'error' }, explain(res, kind)));
    $('decide').hidden = true;
    return null;
  }
  const [hold] = await Promise.all([findHold(id), state.rules.size ? null : loadRules()]);
  renderCase(kind, res.body, hold);
  await renderAudit(id);
  return res.body;
}

async function showCase(kind, id) {
  stopRefresh();
  const token = ++state.caseToken;
  $('queue').hidden = true;
  $('case').hidden = false;
  $('case').dataset.kind = kind;
  $('case').dataset.id = id;
  $('case-title').textContent = `${kind === 'payout' ? 'Payout' : 'Transfer'} ${id}`;
  $('case-body').replaceChildren(h('p', { className: 'muted' }, 'Loading…'));
  $('audit').replaceChildren();
  $('decide').hidden = true;
  $('reason').value = '';
  show($('decide-message'), '');
  show($('decide-error'), '');
  try {
    await loadCase(kind, id);
  } catch (err) {
    if (!(err instanceof SignedOut)) throw err;
    return;
  }
  if (token === state.caseToken) $('case-title').focus();
}

/** After a decision: follow the payment until it settles (or stops changing for a while). */
async function followOutcome(kind, id, decision, first) {
  const token = state.caseToken;
  const verb = decision === 'release' ? 'Released' : 'Rejected';
  let payment = first;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const final = payment && !OPEN_STATUSES.includes(payment.status);
    show($('decide-message'), final ? `${verb}. Outcome: ${payment.status} (${payment.response_code} ${payment.message ?? ''}).` : `${verb}. Waiting for the outcome: ${payment?.status ?? 'processing'}…`);
    if (final || Date.now() > deadline || token !== state.caseToken) break;
    await new Promise((r) => setTimeout(r, 1000));
    if (token !== state.caseToken) return;
    const res = await call('GET', `/v1/${collectionOf(kind)}/${encodeURIComponent(id)}`);
    if (res.status === 200) payment = res.body;
  }
  if (token === state.caseToken) await loadCase(kind, id);
}

async function decide(decision) {
  const kind = $('case').dataset.kind;
  const id = $('case').dataset.id;
  const reason = $('reason').value.trim();
  show($('decide-message'), '');
  if (!reason) {
    show($('decide-error'), 'Give the reason for your decision: it is kept in the audit trail.');
    $('reason').focus();
    return;
  }
  show($('decide-error'), '');
  const buttons = $('decide-form').querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  show($('decide-message'), decision === 'release' ? 'Releasing…' : 'Rejecting…');
  try {
    const res = await call('POST', `/v1/${collectionOf(kind)}/${encodeURIComponent(id)}/${decision}`, { reason });
    if (res.status === 200) {
      $('decide').hidden = true;
      await followOutcome(kind, id, decision, res.body);
      return;
    }
    show($('decide-message'), '');
    show($('decide-error'), explain(res, kind));
    if (['already_decided', 'not_held'].includes(errorCode(res))) await loadCase(kind, id);
    else await renderAudit(id);
  } catch (err) {
    if (!(err instanceof SignedOut)) throw err;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

// ---------------------------------------------------------------------------------------------
// routing and start-up

function route() {
  if (!state.whoami) return;
  const match = /^#\/case\/(payout|transfer)\/([0-9a-f-]{36})$/.exec(location.hash);
  if (match) void showCase(match[1], match[2]);
  else showQueue();
}

function enter() {
  $('sign-in').hidden = true;
  $('session').hidden = false;
  $('session-label').textContent = `Signed in: compliance key ${state.whoami.key_id.slice(0, 8)}`;
  route();
}

async function start() {
  const cfg = await fetch('config.json', { cache: 'no-store' }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (cfg) state.config = cfg;

  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('key').value.trim();
    if (!key) return;
    const button = $('sign-in-form').querySelector('button');
    button.disabled = true;
    const error = await signIn(key);
    button.disabled = false;
    $('key').value = '';
    if (error) {
      show($('sign-in-error'), error);
      $('key').focus();
      return;
    }
    show($('sign-in-error'), '');
    enter();
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  $('status').addEventListener('change', () => void loadQueue());
  $('order').addEventListener('change', () => void loadQueue());
  $('refresh').addEventListener('click', () => void loadQueue());
  $('back').addEventListener('click', () => {
    location.hash = '#/queue';
  });
  $('decide-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void decide(event.submitter?.value === 'reject' ? 'reject' : 'release');
  });
  document.addEventListener('keydown', (event) => {
    const typing = event.target instanceof HTMLElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.target.tagName);
    if (event.key === 'Escape' && !typing && !$('case').hidden) location.hash = '#/queue';
  });
  window.addEventListener('hashchange', route);
  $('case-title').setAttribute('tabindex', '-1');

  // A key kept from earlier in this tab's session: check it again.
  if (sessionStorage.getItem(KEY_STORAGE)) {
    const res = await api('GET', '/v1/whoami');
    if (res.status === 200 && res.body?.role === 'compliance') {
      state.whoami = res.body;
      enter();
      return;
    }
    sessionStorage.removeItem(KEY_STORAGE);
  }
  $('key').focus();
}

void start();
