// The gateway dashboard's page script (plain ES module, no build step). It polls the module's JSON API next to
// it (../api/ relative to this file), renders with textContent only (uids, groups and sessions are user data),
// and sends the token, when the app configured one, as `Authorization: Bearer` from this tab's sessionStorage.

const API = new URL('../api/', import.meta.url);
const TOKEN_KEY = 'gateway-dashboard-token';
const REFRESH_MS = Math.max(500, Number(document.body.dataset.refreshMs) || 2000);
/** The groups are asked for every this many overviews (they cost more). */
const GROUPS_EVERY = 3;
/** Points kept in the sparklines. */
const HISTORY = 60;

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  polls: 0,
  timer: null,
  signedIn: false,
  /** A token was entered in this tab (so a 401 now means a wrong one). */
  tried: false,
  groups: [],
  groupTotal: 0,
  history: { connections: [], in: [], out: [] },
};

// ---- HTTP ------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(new URL(path, API), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const message = data && data.message ? [].concat(data.message).join('; ') : `HTTP ${res.status}`;
    const err = new ApiError(res.status, message);
    if (res.status === 401 || res.status === 403) showLogin(err);
    throw err;
  }
  return data;
}

// ---- DOM helpers ---------------------------------------------------------------------------------------

/** An element with attributes (class, data-*, title...) and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function td(value, field, numeric = true) {
  return el('td', { class: numeric ? 'num' : undefined, 'data-field': field }, value);
}

function badge(text, kind) {
  return el('span', { class: `badge${kind ? ` badge-${kind}` : ''}` }, text);
}

// ---- formatting ------------------------------------------------------------------------------------------

const integer = new Intl.NumberFormat('en-US');

function count(n) {
  return n === null || n === undefined ? '–' : integer.format(n);
}

function rate(n) {
  if (n === null || n === undefined) return '–';
  return n >= 100 ? integer.format(Math.round(n)) : n.toFixed(1);
}

function bytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function time(epochMs) {
  return new Date(epochMs).toLocaleTimeString();
}

// ---- status, login ----------------------------------------------------------------------------------------

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = `status status-${kind}`;
}

function showLogin(err) {
  state.signedIn = false;
  clearTimeout(state.timer);
  state.timer = null;
  $('content').hidden = true;
  $('login').hidden = false;
  // 401: a token is expected (missing or wrong). 403: refused whatever the token (no auth configured, or the
  // app's guard said no): a form would not help.
  const wantsToken = err.status === 401;
  $('login-title').textContent = wantsToken ? 'Sign in' : 'Access refused';
  $('login-message').textContent = err.message;
  // Red once something was refused; a first visit without a token is only asked for one.
  $('login-message').className = `login-message${wantsToken && !state.token && !state.tried ? ' quiet' : ''}`;
  $('login-form').hidden = !wantsToken;
  if (wantsToken && state.token) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
  }
  $('logout').hidden = !state.token;
  if (wantsToken) $('token').focus();
  setStatus(err.status === 401 ? 'sign-in required' : 'access refused', 'error');
}

function showContent() {
  if (state.signedIn) return;
  state.signedIn = true;
  $('login').hidden = true;
  $('content').hidden = false;
  $('logout').hidden = !state.token;
}

// ---- overview --------------------------------------------------------------------------------------------

function pushHistory(key, value) {
  const list = state.history[key];
  list.push(value ?? 0);
  if (list.length > HISTORY) list.shift();
}

function sparkline(svg, values) {
  svg.replaceChildren();
  if (values.length < 2) return;
  // Spread over the whole width (the window fills up to HISTORY points), with headroom above the maximum.
  const max = Math.max(1, ...values);
  const step = 120 / (values.length - 1);
  const points = values.map((v, i) => [i * step, 27 - (v / max) * 20]);
  const line = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const ns = 'http://www.w3.org/2000/svg';
  const area = document.createElementNS(ns, 'path');
  area.setAttribute('class', 'area');
  area.setAttribute('d', `${line} L120,28 L0,28 Z`);
  const stroke = document.createElementNS(ns, 'path');
  stroke.setAttribute('class', 'line');
  stroke.setAttribute('d', line);
  svg.append(area, stroke);
}

const LIMIT_COUNTERS = [
  'slowConsumerDisconnects',
  'oversizeDisconnects',
  'malformedDisconnects',
  'rateLimitDisconnects',
  'heartbeatDisconnects',
  'pendingDisconnects',
];

function gatewayRow(g, maxConnections) {
  const limits = LIMIT_COUNTERS.reduce((n, k) => n + (g.counters[k] ?? 0), 0);
  const limitsTitle = LIMIT_COUNTERS.map((k) => `${k}: ${g.counters[k] ?? 0}`).join('\n');
  const share = maxConnections > 0 ? (g.connections / maxConnections) * 100 : 0;
  const bar = el('span', { class: 'bar' }, el('span'));
  bar.firstChild.style.width = `${share.toFixed(1)}%`;
  return el(
    'tr',
    { 'data-gateway': g.address },
    el('td', { class: 'mono', 'data-field': 'address' }, g.address),
    el('td', { class: 'num' }, bar, el('span', { 'data-field': 'connections' }, count(g.connections))),
    td(count(g.workers), 'workers'),
    td(duration(g.uptimeMs), 'uptime'),
    td(bytes(g.memoryRss), 'memory'),
    td(rate(g.messagesInPerSecond), 'in-rate'),
    td(rate(g.messagesOutPerSecond), 'out-rate'),
    td(count(g.counters.messagesIn), 'messages-in'),
    td(count(g.counters.messagesOut), 'messages-out'),
    td(count(g.counters.connectionsAccepted), 'accepted'),
    el('td', { class: 'num', title: limitsTitle, 'data-field': 'limits' }, count(limits)),
    backplaneCell(g.backplane),
  );
}

/** A gateway's lease on the backplane: synced (its directory entries can be relied on), epoch, id on hover. */
function backplaneCell(b) {
  if (!b) return el('td', { 'data-field': 'backplane', title: 'no Redis backplane' }, '–');
  const title =
    `${b.url}\nid ${b.id || '(none yet)'}\nresyncs ${b.resyncs}, write failures ${b.writeFailures}, ` +
    `leases lost ${b.leasesLost}`;
  const state = !b.announced ? badge('no lease', 'bad') : b.synced ? badge('synced', 'good') : badge('syncing', 'warn');
  return el('td', { 'data-field': 'backplane', title }, state, ` epoch ${b.epoch}`);
}

function renderBackplane(b) {
  $('backplane').hidden = b === null;
  if (b === null) return;
  $('backplane-url').textContent = b.url;
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  field('backplane-gateways').textContent = count(b.gateways.length);
  field('backplane-only-redis').textContent = b.onlyInRedis.join(', ') || '–';
  field('backplane-only-registers').textContent = b.onlyInRegisters.join(', ') || '–';
  field('backplane-narrowed').textContent = `${count(b.narrowed)} of ${count(b.reads)} reads`;
  field('backplane-fallbacks').textContent = count(b.fallbacks);
  field('backplane-fallbacks').className = `num${b.fallbacks > 0 ? ' warn' : ''}`;
}

function renderOverview(o) {
  $('total-connections').textContent = count(o.totals.connections);
  $('total-in').textContent = rate(o.totals.messagesInPerSecond);
  $('total-out').textContent = rate(o.totals.messagesOutPerSecond);
  $('total-gateways').textContent = count(o.totals.gateways);
  const gwNote = $('total-gateways-note');
  gwNote.textContent =
    o.unreachableGateways.length > 0 ? `${o.unreachableGateways.length} not answering` : 'all answering';
  gwNote.className = `tile-note${o.unreachableGateways.length > 0 ? ' bad' : ''}`;
  const up = o.registers.filter((r) => r.connected).length;
  $('total-registers').textContent = `${up} / ${o.registers.length}`;
  const regNote = $('total-registers-note');
  regNote.textContent = up === o.registers.length ? 'all linked' : `${o.registers.length - up} unreachable`;
  regNote.className = `tile-note${up === o.registers.length ? '' : ' bad'}`;
  $('total-uids').textContent = count(o.totals.uids);
  $('total-groups').textContent = o.totals.groups === null ? '' : `${count(o.totals.groups)} groups`;

  pushHistory('connections', o.totals.connections);
  pushHistory('in', o.totals.messagesInPerSecond);
  pushHistory('out', o.totals.messagesOutPerSecond);
  sparkline($('spark-connections'), state.history.connections);
  sparkline($('spark-in'), state.history.in);
  sparkline($('spark-out'), state.history.out);

  const maxConnections = Math.max(0, ...o.gateways.map((g) => g.connections));
  const rows = o.gateways.map((g) => gatewayRow(g, maxConnections));
  for (const address of o.unreachableGateways) {
    rows.push(
      el(
        'tr',
        { class: 'row-bad', 'data-gateway': address },
        el('td', { class: 'mono', 'data-field': 'address' }, address),
        el('td', { colSpan: 11 }, badge('not answering', 'bad'), ' listed, no statistics received'),
      ),
    );
  }
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'empty', colSpan: 12 }, 'No gateway registered')));
  $('gateways').tBodies[0].replaceChildren(...rows);
  $('gateways-note').textContent = `updated ${time(o.generatedAt)}`;

  $('registers').tBodies[0].replaceChildren(
    ...o.registers.map((r) =>
      el(
        'tr',
        { 'data-register': r.address },
        el('td', { class: 'mono' }, r.address),
        el('td', {}, r.connected ? badge('connected', 'good') : badge('unreachable', 'bad')),
        td(r.gateways === null ? '–' : count(r.gateways.length), 'listed'),
      ),
    ),
  );

  renderBackplane(o.backplane ?? null);

  const errors = $('errors');
  errors.hidden = o.errors.length === 0;
  errors.textContent = o.errors.join('\n');
}

function renderGroups() {
  const filter = $('group-filter').value.trim().toLowerCase();
  const shown = state.groups.filter((g) => g.group.toLowerCase().includes(filter));
  const rows = shown.map((g) =>
    el(
      'tr',
      { 'data-group': g.group },
      el('td', {}, g.group),
      td(count(g.clients), 'clients'),
      td(count(g.uids), 'uids'),
    ),
  );
  if (rows.length === 0)
    rows.push(el('tr', {}, el('td', { class: 'empty', colSpan: 3 }, filter ? 'No group matches' : 'No groups')));
  $('groups').tBodies[0].replaceChildren(...rows);
  $('groups-note').textContent =
    state.groupTotal > state.groups.length
      ? `the ${state.groups.length} largest of ${count(state.groupTotal)} groups`
      : `${count(state.groupTotal)} group(s)`;
}

async function poll() {
  state.timer = null;
  try {
    const overview = await api('overview');
    showContent();
    renderOverview(overview);
    if (state.polls++ % GROUPS_EVERY === 0) {
      const groups = await api('groups');
      state.groups = groups.groups;
      state.groupTotal = groups.total;
      renderGroups();
    }
    setStatus(`live · ${time(overview.generatedAt)}`, 'live');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
    setStatus(`error: ${err.message}`, 'error');
  }
  schedule();
}

/** The next overview; none while the tab is hidden (a forgotten tab does not keep asking every gateway). */
function schedule() {
  if (state.signedIn && state.timer === null && !document.hidden) state.timer = setTimeout(poll, REFRESH_MS);
}

// ---- lookup and actions ------------------------------------------------------------------------------------

function notice(text, bad = false) {
  return el('p', { class: `notice${bad ? ' bad' : ''}` }, text);
}

function clientCard(entry) {
  const c = entry.client;
  const result = el('div', { class: 'action-result', role: 'status' });
  const messageInput = el('textarea', {
    rows: 2,
    placeholder: 'Message text (sent as a text frame)',
    'aria-label': 'Message',
  });
  const reasonInput = el('input', {
    type: 'text',
    placeholder: 'Close reason (optional)',
    maxLength: 123,
    'aria-label': 'Close reason',
  });
  const sendButton = el('button', { type: 'submit' }, 'Send');
  const kickButton = el('button', { type: 'button', class: 'button-danger' }, 'Kick');
  const path = `clients/${encodeURIComponent(c.clientId)}`;

  const act = async (button, run) => {
    button.disabled = true;
    result.className = 'action-result';
    result.textContent = '…';
    try {
      const [text, good] = await run();
      result.textContent = text;
      result.className = `action-result ${good ? 'good' : 'bad'}`;
    } catch (err) {
      result.textContent = err.message;
      result.className = 'action-result bad';
    } finally {
      button.disabled = false;
    }
  };

  const sendForm = el('form', { class: 'row' }, messageInput, sendButton);
  sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const message = messageInput.value;
    if (message === '') return;
    void act(sendButton, async () => {
      const r = await api(`${path}/send`, { method: 'POST', body: { message } });
      messageInput.value = '';
      return r.delivered > 0
        ? ['Message delivered to the connection', true]
        : ['Not delivered: the client is offline', false];
    });
  });
  kickButton.addEventListener('click', () => {
    if (!window.confirm(`Disconnect client ${c.clientId}?`)) return;
    void act(kickButton, async () => {
      const r = await api(`${path}/kick`, { method: 'POST', body: { reason: reasonInput.value } });
      return r.closed ? ['Connection closed', true] : ['It was not online any more', false];
    });
  });

  const facts = el(
    'dl',
    { class: 'facts' },
    el('dt', {}, 'Connected'),
    el(
      'dd',
      { 'data-field': 'connected' },
      `${new Date(c.connectedAt).toLocaleString()} (${duration(Date.now() - c.connectedAt)} ago)`,
    ),
    el('dt', {}, 'Messages in / out'),
    el('dd', { 'data-field': 'messages' }, `${count(c.messagesIn)} / ${count(c.messagesOut)}`),
    el('dt', {}, 'Remote'),
    el('dd', { class: 'mono' }, `${c.remoteAddress}:${c.remotePort}`),
    el('dt', {}, 'Listener'),
    el('dd', { class: 'mono' }, c.listener),
    el('dt', {}, 'UID'),
    el('dd', { 'data-field': 'uid' }, c.uid ?? '–'),
    el('dt', {}, 'Groups'),
    el('dd', { 'data-field': 'groups' }, c.groups.length ? c.groups.map((g) => badge(g, 'accent')) : '–'),
  );
  for (const chip of facts.querySelectorAll('.badge')) chip.after(' ');

  return el(
    'article',
    { class: 'client', 'data-client': c.clientId },
    el(
      'div',
      { class: 'client-head' },
      el('span', { class: 'client-id' }, c.clientId),
      badge(c.protocol, 'accent'),
      c.uid ? badge(`uid ${c.uid}`) : null,
    ),
    el(
      'div',
      { class: 'client-grid' },
      el('div', {}, el('p', { class: 'section-label' }, 'Connection'), facts),
      el(
        'div',
        {},
        el('p', { class: 'section-label' }, 'Session'),
        el('pre', { class: 'session', 'data-field': 'session' }, JSON.stringify(entry.session, null, 2)),
      ),
    ),
    el('div', { class: 'actions' }, sendForm, el('div', { class: 'row' }, reasonInput, kickButton), result),
  );
}

async function lookup() {
  const kind = $('lookup-kind').value;
  const value = $('lookup-value').value.trim();
  const out = $('lookup-result');
  if (value === '') return;
  out.replaceChildren(notice('Looking up…'));
  try {
    if (kind === 'client') {
      const entry = await api(`clients/${encodeURIComponent(value)}`);
      out.replaceChildren(clientCard(entry));
    } else {
      const r = await api(`uids/${encodeURIComponent(value)}`);
      const more = r.total > r.clients.length ? ` (the first ${r.clients.length} shown)` : '';
      out.replaceChildren(notice(`uid ${r.uid}: ${r.total} connection(s)${more}`), ...r.clients.map(clientCard));
    }
  } catch (err) {
    out.replaceChildren(notice(err.message, true));
  }
}

// ---- start ---------------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  if (token === '') return;
  state.token = token;
  state.tried = true;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  $('login-message').textContent = '';
  void poll();
});

$('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  showLogin(new ApiError(401, 'Signed out.'));
});

$('lookup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void lookup();
});

$('group-filter').addEventListener('input', renderGroups);

document.addEventListener('visibilitychange', () => {
  if (document.hidden || !state.signedIn) return;
  clearTimeout(state.timer);
  state.timer = null;
  void poll();
});

void poll();
