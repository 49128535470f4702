import { Cmd } from '../protocol/command';
import { encodeEventEnvelope } from '../protocol/event-envelope';
import type { GatewayFrame } from '../protocol/frame';
import { handshakeFromPhp } from './php-handshake';
import { PhpSerializeError, phpUnserialize } from './php-serialize';
import { toJsonSession } from './php-value';

/**
 * Longest a PHP gateway's CMD_ON_CONNECT waits for the client's CMD_ON_WEBSOCKET_CONNECT, in milliseconds: PHP sends
 * the connect at the TCP accept and the handshake once the upgrade request is read (usually within milliseconds); a
 * raw TCP client (text://, frame://) never gets one, and its connect handler runs after this bound or at its first
 * message, whichever comes first.
 */
export const PHP_CONNECT_HOLD_MS = 1_000;

/** What the translation keeps per client of a PHP gateway. */
interface ClientState {
  /** The session string the last event carried (latin1 text of its bytes). */
  lastSession: string;
  /** Counts the session strings seen change: the native envelope's `v` (see below). */
  version: number;
  /** A CMD_ON_CONNECT held until its CMD_ON_WEBSOCKET_CONNECT (or the client's next frame, or a short bound). */
  heldConnect: { f: GatewayFrame; emit: (f: GatewayFrame) => void; timer: NodeJS.Timeout } | null;
  /** The handshake of CMD 205, for the native envelope of the client's next event. */
  handshakeJson?: string;
}

/**
 * Client events from a PHP gateway (reference/php-gatewayworker-spec.md §2.4, §2.6) as the native events a worker
 * runs (ext = the envelope `{"v","session","handshake"?}`), so the worker's event runner needs no second path:
 *  - the session: ext_data is '' or the PHP serialize() string; it becomes the envelope's JSON session. PHP's worker
 *    spots a session older than its own write-back by crc32 and fetches it again (CMD 203); ours does the same with
 *    `v`: a count of the changes of the session string per client. An event carrying the string the worker's own
 *    write was based on has the old `v`, so the worker keeps its fresher write (ClientTracker); the string it wrote,
 *    or anyone else's, is a change, a new `v`, and is used;
 *  - the handshake: PHP sends CMD_ON_CONNECT at the TCP accept and CMD_ON_WEBSOCKET_CONNECT (the handshake array)
 *    after the upgrade. The connect is held until the 205 of the same client (then the connect handler sees the
 *    handshake), the client's next frame, or PHP_CONNECT_HOLD_MS (a raw TCP client never gets a 205);
 *  - no sequence numbers: a PHP gateway expects no acknowledgement. Ping (201) and anything else is dropped.
 */
export class PhpEventTranslation {
  /** Per gateway address, per connection id. */
  private readonly clients = new Map<string, Map<number, ClientState>>();

  /** One frame from the PHP gateway at `address`: `emit` gets the native event frames it stands for, in order. */
  frame(f: GatewayFrame, address: string, emit: (f: GatewayFrame) => void): void {
    if (
      f.cmd !== Cmd.OnConnect &&
      f.cmd !== Cmd.OnMessage &&
      f.cmd !== Cmd.OnClose &&
      f.cmd !== Cmd.OnWebSocketConnect
    ) {
      return;
    }
    const state = this.state(address, f.connectionId, f.ext);
    if (f.cmd === Cmd.OnWebSocketConnect) {
      state.handshakeJson = handshakeJson(f.body, address);
      this.release(state, address);
      return;
    }
    this.release(state, address);
    if (f.cmd === Cmd.OnConnect) {
      const timer = setTimeout(() => this.release(state, address), PHP_CONNECT_HOLD_MS);
      timer.unref();
      state.heldConnect = { f, emit, timer };
      return;
    }
    emit(this.native(state, f, address));
    if (f.cmd === Cmd.OnClose) this.clients.get(address)?.delete(f.connectionId);
  }

  /** The link to the gateway is gone: its clients' state goes (their close events will not come here). */
  gatewayDown(address: string): void {
    for (const state of this.clients.get(address)?.values() ?? []) this.drop(state);
    this.clients.delete(address);
  }

  stop(): void {
    for (const byId of this.clients.values()) for (const state of byId.values()) this.drop(state);
    this.clients.clear();
  }

  /** Forgets a held connect without running it (its gateway link is gone). */
  private drop(state: ClientState): void {
    if (state.heldConnect) clearTimeout(state.heldConnect.timer);
    state.heldConnect = null;
  }

  /** Emits the held connect, with the handshake if it has come. */
  private release(state: ClientState, address: string): void {
    const held = state.heldConnect;
    if (!held) return;
    clearTimeout(held.timer);
    state.heldConnect = null;
    held.emit(this.native(state, held.f, address));
  }

  private state(address: string, connectionId: number, ext: Buffer): ClientState {
    let byId = this.clients.get(address);
    if (!byId) this.clients.set(address, (byId = new Map()));
    const session = ext.toString('latin1');
    let state = byId.get(connectionId);
    if (!state) {
      byId.set(connectionId, (state = { lastSession: session, version: 0, heldConnect: null }));
    } else if (session !== state.lastSession) {
      state.lastSession = session;
      state.version++;
    }
    return state;
  }

  /** The native event frame: same header and body, ext = the envelope (its handshake once). */
  private native(state: ClientState, f: GatewayFrame, address: string): GatewayFrame {
    void address;
    const handshake = state.handshakeJson;
    state.handshakeJson = undefined;
    return {
      ...f,
      flag: f.flag,
      ext: encodeEventEnvelope(state.version, sessionJson(Buffer.from(state.lastSession, 'latin1')), handshake),
    };
  }
}

/** A PHP session string as the envelope's session JSON ('null' when none or unreadable). */
function sessionJson(bytes: Buffer): string {
  if (bytes.length === 0) return 'null';
  try {
    const session = toJsonSession(phpUnserialize(bytes));
    return session === null ? 'null' : JSON.stringify(session);
  } catch (err) {
    if (err instanceof PhpSerializeError) return 'null';
    throw err;
  }
}

function handshakeJson(body: Buffer, address: string): string | undefined {
  try {
    return JSON.stringify(handshakeFromPhp(phpUnserialize(body), address));
  } catch (err) {
    if (err instanceof PhpSerializeError) return undefined;
    throw err;
  }
}
