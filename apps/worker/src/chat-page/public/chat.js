// The chat demo page (workerman-chat's features) on nest-gateway-worker-client. The worker's handlers are in
// apps/worker/src/chat/chat.controller.ts: login, say (to the room or to one client), online, rooms, process.
// With the Redis backplane the room's messages carry their position (`$stream`, `$offset`): the page keeps the last
// one of each room and sends it as `since` when it rejoins after a reconnect, and the worker replays what it missed.
import {
  ConnectionClosedError,
  GatewayWorkerClient,
  NotConnectedError,
  RequestError,
} from '/lib/nest-gateway-worker-client.min.js';

const params = new URLSearchParams(location.search);
/** The gateway's WebSocket URL: `?gateway=ws://host:port`, else port 7272 on the page's host (wss for an https page). */
const GATEWAY_URL =
  params.get('gateway') ||
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname || '127.0.0.1'}:7272`;
const ROOMS = ['lobby', 'nest', 'random'];

const $ = (id) => document.getElementById(id);
const el = {
  status: $('status'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  bannerRetry: $('banner-retry'),
  who: $('who'),
  whoName: $('who-name'),
  whoRoom: $('who-room'),
  whoWorker: $('who-worker'),
  rooms: $('rooms'),
  newRoom: $('new-room'),
  newRoomName: $('new-room-name'),
  members: $('members'),
  onlineCount: $('online-count'),
  messages: $('messages'),
  composer: $('composer'),
  to: $('to'),
  text: $('text'),
  send: $('send'),
  login: $('login'),
  loginForm: $('login-form'),
  loginName: $('login-name'),
  loginRoom: $('login-room'),
  roomList: $('room-list'),
  loginError: $('login-error'),
  loginSubmit: $('login-submit'),
};

/** What the page knows: who we are, where, and who is there. */
const state = {
  name: sessionStorage.getItem('chat.name') || '',
  room: '',
  clientId: '',
  /** client_id → name of the current room's members. */
  members: new Map(),
  /**
   * Member counts by room, from the `rooms` request. The current room's count is not taken from here but from
   * `members` (see renderRooms).
   */
  roomCounts: {},
  /** client_id of the private target, or 'all'. */
  to: 'all',
  /**
   * The last known position of each room's history (`group:<room>` → `<epoch>:<offset>`), from the messages'
   * `$stream`/`$offset` and the welcome's `$offsets`; only with the Redis backplane (without it, it stays empty).
   */
  positions: new Map(),
};

// resume: the client library keeps each stream's last `$offset` (client.offsets) and drops a message that arrives
// twice (a replay that raced live delivery); onOffset tells the page each position as it arrives.
const client = new GatewayWorkerClient(GATEWAY_URL, {
  resume: { onOffset: (offset, stream) => stream && notePosition(stream, offset) },
});
// For the browser tests and for poking around in the console.
window.chat = { client, state };

// ---- connection lifecycle: status pill, reconnect banner, rejoin --------------------------------------------------

client.hook('connecting', () => setStatus(state.clientId ? 'reconnecting' : 'connecting'));

client.hook('connected', ({ reconnected }) => {
  setStatus('online');
  hideBanner();
  if (reconnected && state.room) {
    // A new connection is a new client_id: log in to the room again.
    join(state.room, { rejoin: true }).catch(() => undefined);
  } else if (!state.room) {
    el.loginSubmit.disabled = false;
  }
  refreshRooms();
});

/** The close that started the current outage, for the banner. */
let lostWith = '';

client.hook('disconnected', ({ code, reason, wasOpen, willReconnect }) => {
  setComposerEnabled(false);
  if (wasOpen) lostWith = describeClose(code, reason);
  if (willReconnect) {
    setStatus('reconnecting');
    showBanner(`Connection lost (${lostWith}). Reconnecting…`, 'reconnecting');
  } else {
    setStatus('offline');
    showBanner(`Disconnected (${describeClose(code, reason)}).`, 'offline', true);
  }
});

client.hook('reconnecting', ({ delayMs, attempt }) => {
  const seconds = (delayMs / 1000).toFixed(1);
  const why = lostWith ? ` (${lostWith})` : '';
  showBanner(
    `Connection lost${why}. Reconnecting in ${seconds} s${attempt > 1 ? `, attempt ${attempt}` : ''}…`,
    'reconnecting',
  );
});

el.bannerRetry.addEventListener('click', () => client.connect().catch(() => undefined));

// ---- messages from the room --------------------------------------------------------------------------------------

client.on('say', (m) => {
  // Our own public messages come back through the room like everyone's; private copies come as request results.
  if (m.to_client_id !== 'all' && m.from_client_id === state.clientId) return;
  addMessage(m);
});

client.on('login', (m) => {
  if (m.client_id === state.clientId) return;
  state.members.set(m.client_id, m.client_name);
  renderMembers();
  addNotice(`${m.client_name} joined`);
  refreshRooms();
});

client.on('logout', (m) => {
  // Our own leave notice, replayed after a reconnect (the room kept it while we were away), is not news to us.
  if (m.client_id === state.clientId || !state.members.has(m.client_id)) return;
  state.members.delete(m.client_id);
  if (state.to === m.client_id) selectTarget('all');
  renderMembers();
  addNotice(`${m.client_name ?? 'someone'} left`);
  refreshRooms();
});

client.on('error', (m) => addNotice(m.message, 'error'));

// ---- logging in, switching rooms -----------------------------------------------------------------------------------

/**
 * Logs in to `room` with our name (a request: the answer is the welcome, or the validation error). A rejoin after a
 * reconnect sends the room's last position as `since`: with the backplane, what was missed arrives first (after a
 * "while you were away" separator), then the welcome.
 */
async function join(room, { rejoin = false } = {}) {
  const message = { type: 'login', name: state.name, room };
  const since = rejoin ? state.positions.get(streamOf(room)) : undefined;
  if (since) message.since = since;
  // Where the replayed messages will start (they arrive before the welcome): shown only if there are any.
  const away = since ? addSeparator() : null;
  let welcome;
  try {
    welcome = await client.request(message);
  } catch (err) {
    away?.remove();
    throw err;
  }
  for (const [stream, position] of Object.entries(welcome.$offsets ?? {})) notePosition(stream, position);
  if (away && welcome.replayed > 0) {
    away.textContent = 'While you were away';
    away.hidden = false;
  } else {
    away?.remove();
  }
  const changed = room !== state.room;
  state.room = welcome.room;
  state.clientId = welcome.client_id;
  state.members = new Map(Object.entries(welcome.client_list));
  if (!state.members.has(state.to)) state.to = 'all';
  if (changed) el.messages.replaceChildren();
  el.who.hidden = false;
  el.whoName.textContent = state.name;
  el.whoRoom.textContent = `#${state.room}`;
  renderMembers(); // and the room list
  setComposerEnabled(true);
  if (rejoin) addNotice(`Reconnected: back in #${state.room}`, 'ok');
  else addNotice(`You joined #${state.room}`, 'ok');
  // A gap the history could not fill (trimmed, lost, ...); `no-position` is a first join, or a room without history.
  if (welcome.recovered === false && welcome.reason && welcome.reason !== 'no-position')
    addNotice(`Some messages were missed while you were away (${welcome.reason}).`, 'warn');
  showWorker();
  refreshRooms();
  return welcome;
}

el.loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  state.name = el.loginName.value.trim();
  el.loginError.hidden = true;
  el.loginSubmit.disabled = true;
  try {
    await client.connect();
    await join(el.loginRoom.value.trim());
    sessionStorage.setItem('chat.name', state.name);
    el.login.close();
    el.text.focus();
  } catch (err) {
    el.loginError.textContent = errorText(err);
    el.loginError.hidden = false;
  } finally {
    el.loginSubmit.disabled = false;
  }
});

el.newRoom.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = el.newRoomName.value.trim();
  if (room) switchRoom(room).then(() => (el.newRoomName.value = ''));
});

async function switchRoom(room) {
  if (room === state.room) return;
  try {
    await join(room);
  } catch (err) {
    addNotice(errorText(err), 'error');
  }
}

// ---- sending -------------------------------------------------------------------------------------------------------

el.composer.addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = el.text.value;
  if (!content.trim()) return;
  const message = { type: 'say', content };
  if (state.to !== 'all') message.to = state.to;
  el.text.value = '';
  try {
    // A request: a private message answers with our copy; a room message with nothing (ours comes via the room).
    const copy = await client.request(message);
    if (copy) addMessage(copy);
  } catch (err) {
    el.text.value = content;
    addNotice(`Not sent: ${errorText(err)}`, 'error');
  }
});

el.to.addEventListener('change', () => selectTarget(el.to.value));

function selectTarget(clientId) {
  state.to = state.members.has(clientId) && clientId !== state.clientId ? clientId : 'all';
  renderMembers();
  el.text.focus();
}

// ---- rendering -----------------------------------------------------------------------------------------------------

function setStatus(kind) {
  el.status.dataset.state = kind;
  el.status.textContent = kind;
}

function showBanner(text, kind, retry = false) {
  el.banner.dataset.kind = kind;
  el.bannerText.textContent = text;
  el.bannerRetry.hidden = !retry;
  el.banner.hidden = false;
}

function hideBanner() {
  el.banner.hidden = true;
}

function setComposerEnabled(enabled) {
  el.text.disabled = !enabled;
  el.send.disabled = !enabled;
}

/**
 * The room list with each room's member count: the current room's is the size of the member list the page shows
 * (the welcome's, kept current by the join and leave notices), so the two always agree; the others come from the
 * last `rooms` answer. Taking the current room's count from that answer too showed it stale beside a fresh member
 * list until the next refresh: a page that rejoined after a reconnect rendered the welcome's members with the count
 * it had read before it dropped ("#tunnel 1" beside "Online 2" when someone joined meanwhile), and every join or
 * leave notice did the same for the refresh's debounce and round trip.
 */
function renderRooms() {
  const rooms = [...new Set([...ROOMS, ...Object.keys(state.roomCounts), state.room].filter(Boolean))];
  el.rooms.replaceChildren(
    ...rooms.map((room) => {
      const li = document.createElement('li');
      li.dataset.room = room;
      if (room === state.room) li.setAttribute('aria-current', 'true');
      const name = document.createElement('span');
      name.textContent = `#${room}`;
      const n = document.createElement('span');
      n.className = 'n';
      n.textContent = String(room === state.room ? state.members.size : (state.roomCounts[room] ?? 0));
      li.append(name, n);
      li.addEventListener('click', () => (state.name ? switchRoom(room) : undefined));
      return li;
    }),
  );
  el.roomList.replaceChildren(
    ...rooms.map((room) => {
      const option = document.createElement('option');
      option.value = room;
      return option;
    }),
  );
}

function renderMembers() {
  const entries = [...state.members].sort(([, a], [, b]) => a.localeCompare(b));
  el.onlineCount.textContent = String(entries.length);
  el.members.replaceChildren(
    ...entries.map(([id, name]) => {
      const li = document.createElement('li');
      li.dataset.clientId = id;
      if (id === state.clientId) li.className = 'me';
      if (id === state.to) li.setAttribute('aria-selected', 'true');
      const span = document.createElement('span');
      span.textContent = name;
      li.append(span);
      li.addEventListener('click', () => selectTarget(state.to === id ? 'all' : id));
      return li;
    }),
  );
  const everyone = document.createElement('option');
  everyone.value = 'all';
  everyone.textContent = 'To everyone';
  const others = entries
    .filter(([id]) => id !== state.clientId)
    .map(([id, name]) => {
      const option = document.createElement('option');
      option.value = id;
      option.textContent = `To ${name} only`;
      return option;
    });
  el.to.replaceChildren(everyone, ...others);
  el.to.value = state.to;
  el.to.classList.toggle('private', state.to !== 'all');
  renderRooms(); // the current room's count is the member list's
}

function addMessage(m) {
  const mine = m.from_client_id === state.clientId;
  const isPrivate = m.to_client_id !== 'all';
  const li = document.createElement('li');
  li.className = `msg${mine ? ' mine' : ''}${isPrivate ? ' private' : ''}`;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = mine ? 'You' : m.from_client_name;
  meta.append(from);
  if (isPrivate) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = mine ? `private to ${state.members.get(m.to_client_id) ?? 'someone'}` : 'private to you';
    meta.append(tag);
  }
  const time = document.createElement('time');
  time.textContent = new Date(m.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  meta.append(time);
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = m.content;
  li.append(meta, body);
  append(li);
}

function addNotice(text, kind = '') {
  const li = document.createElement('li');
  li.className = `notice${kind ? ` ${kind}` : ''}`;
  li.textContent = text;
  append(li);
}

/** A hidden "while you were away" separator at the end of the list (join() shows or removes it). */
function addSeparator() {
  const li = document.createElement('li');
  li.className = 'separator';
  li.hidden = true;
  el.messages.append(li);
  return li;
}

function append(li) {
  const list = el.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** Which worker process serves this connection (the `process` handler), shown in the header. */
async function showWorker() {
  try {
    const info = await client.request({ type: 'process' });
    el.whoWorker.textContent = `served by ${info.worker}`;
  } catch {
    el.whoWorker.textContent = '';
  }
}

/** The stream name of a room's history, as messages carry it in `$stream`. */
function streamOf(room) {
  return `group:${room}`;
}

/**
 * Keeps `position` (`<epoch>:<offset>`) as the last one of `stream`, in arrival order, except that within one
 * history a lower offset never replaces a higher one (the welcome's position can arrive after live messages that
 * came after it). Anything else is ignored.
 */
function notePosition(stream, position) {
  if (typeof position !== 'string') return;
  const at = parsePosition(position);
  if (!at) return;
  const kept = parsePosition(state.positions.get(stream));
  if (kept && kept.epoch === at.epoch && kept.offset >= at.offset) return;
  state.positions.set(stream, position);
}

function parsePosition(text) {
  const m = typeof text === 'string' ? /^(.+):(\d{1,15})$/.exec(text) : null;
  return m ? { epoch: m[1], offset: Number(m[2]) } : null;
}

let roomsTimer = 0;
/** Asks for every room's member count (debounced: logins and logouts come in bursts). */
function refreshRooms() {
  clearTimeout(roomsTimer);
  roomsTimer = setTimeout(async () => {
    try {
      state.roomCounts = (await client.request({ type: 'rooms' })).rooms;
      renderRooms();
    } catch {
      // not connected now: the next connect refreshes
    }
  }, 150);
}

function describeClose(code, reason) {
  return reason ? `${code} ${reason}` : String(code);
}

function errorText(err) {
  if (err instanceof RequestError) return err.message;
  if (err instanceof NotConnectedError) return 'not connected, try again in a moment';
  if (err instanceof ConnectionClosedError) return `the connection closed (${describeClose(err.code, err.reason)})`;
  return err instanceof Error ? err.message : String(err);
}

// ---- start ---------------------------------------------------------------------------------------------------------

renderRooms();
el.loginName.value = state.name;
el.loginSubmit.disabled = true;
el.login.showModal();
client.connect().catch(() => undefined);
