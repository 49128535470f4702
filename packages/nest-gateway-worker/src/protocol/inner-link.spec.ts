import { Logger } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { InnerLink } from './inner-link';
import { HELLO_LENGTH, PROOF_LENGTH } from './record-layer';
import { LineDecoder } from './register-message';

/** Real sockets, bounded waits, no timing assertions. */
jest.setTimeout(20_000);

const WAIT_MS = 5_000;
const HANDSHAKE_BYTES = HELLO_LENGTH + PROOF_LENGTH; // 36 + 32 bytes each way before the first record

/** Resolves with the event's arguments; rejects after `ms` (5 s by default). */
function waitFor(emitter: EventEmitter, event: string, ms = WAIT_MS): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    emitter.once(event, onEvent);
  });
}

/** A real Nest Logger that records every line instead of printing it. */
class RecordingLogger extends Logger {
  readonly lines: Array<{ level: string; text: string }> = [];
  private record(level: string, message: unknown, params: unknown[]): void {
    this.lines.push({ level, text: [message, ...params].map((p) => String(p)).join(' ') });
  }
  override log(message: unknown, ...params: unknown[]): void {
    this.record('log', message, params);
  }
  override warn(message: unknown, ...params: unknown[]): void {
    this.record('warn', message, params);
  }
  override error(message: unknown, ...params: unknown[]): void {
    this.record('error', message, params);
  }
  override debug(message: unknown, ...params: unknown[]): void {
    this.record('debug', message, params);
  }
  override verbose(message: unknown, ...params: unknown[]): void {
    this.record('verbose', message, params);
  }
  override fatal(message: unknown, ...params: unknown[]): void {
    this.record('fatal', message, params);
  }
}

/** Records what a link does from the moment it is built, so no event can be missed. */
class Probe {
  opened = false;
  closeReason: string | undefined;
  readonly messages: string[] = [];

  constructor(readonly link: InnerLink<string>) {
    link.on('open', () => (this.opened = true));
    link.on('message', (m: string) => this.messages.push(m));
    link.on('close', (reason: string) => (this.closeReason = reason));
  }

  /** Resolves on 'open'; rejects with the close reason if the link closes first, or after 5 s. */
  untilOpen(): Promise<void> {
    if (this.opened) return Promise.resolve();
    if (this.closeReason !== undefined) return Promise.reject(new Error(`closed before open: ${this.closeReason}`));
    return Promise.race([
      waitFor(this.link, 'open').then(() => undefined),
      waitFor(this.link, 'close').then(([reason]) => {
        if (!this.opened) throw new Error(`closed before open: ${String(reason)}`);
      }),
    ]);
  }

  async untilClosed(): Promise<string> {
    if (this.closeReason !== undefined) return this.closeReason;
    const [reason] = await waitFor(this.link, 'close');
    return reason as string;
  }

  /** Resolves once `n` messages have arrived; rejects after 5 s. */
  untilMessages(n: number): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length >= n) {
          clearTimeout(timer);
          this.link.off('message', check);
          resolve(this.messages);
        }
      };
      const timer = setTimeout(() => {
        this.link.off('message', check);
        reject(new Error(`timed out waiting for ${n} messages, got ${JSON.stringify(this.messages)}`));
      }, WAIT_MS);
      this.link.on('message', check);
      check();
    });
  }
}

// ---- resources opened by a test, all released in afterEach -------------------------------------------------

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

function track(socket: net.Socket): net.Socket {
  sockets.push(socket);
  return socket;
}

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => onConnection(track(socket)));
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

// ---- link pairs ----------------------------------------------------------------------------------------------

interface Side {
  secret: string | null;
  maxLineLength?: number;
  handshakeTimeoutMs?: number;
}

interface Pair {
  client: Probe;
  server: Probe;
  clientLogger: RecordingLogger;
  serverLogger: RecordingLogger;
}

type LinkOptions = { onServerLink?: (link: InnerLink<string>) => void };

/** Listens on an ephemeral port; each accepted socket becomes a responder link. */
async function startServer(
  side: Side,
  options: LinkOptions = {},
): Promise<{ port: number; server: Promise<Probe>; serverLogger: RecordingLogger }> {
  const serverLogger = new RecordingLogger('server');
  let resolveServer!: (probe: Probe) => void;
  const server = new Promise<Probe>((resolve) => (resolveServer = resolve));
  const port = await listen((socket) => {
    const link = new InnerLink<string>(socket, {
      secret: side.secret === null ? null : Buffer.from(side.secret),
      role: 'responder',
      decoder: new LineDecoder(side.maxLineLength),
      label: 'test server link',
      logger: serverLogger,
      handshakeTimeoutMs: side.handshakeTimeoutMs,
    });
    // Listeners go on synchronously: a plaintext link opens on the next tick.
    const probe = new Probe(link);
    options.onServerLink?.(link);
    resolveServer(probe);
  });
  return { port, server: withTimeout(server, 'the server to accept'), serverLogger };
}

/** Connects an initiator link to `port`. */
function connectClient(port: number, side: Side): { client: Probe; clientLogger: RecordingLogger } {
  const clientLogger = new RecordingLogger('client');
  const socket = track(net.connect(port, '127.0.0.1'));
  const client = new Probe(
    new InnerLink<string>(socket, {
      secret: side.secret === null ? null : Buffer.from(side.secret),
      role: 'initiator',
      decoder: new LineDecoder(side.maxLineLength),
      label: 'test client link',
      logger: clientLogger,
      handshakeTimeoutMs: side.handshakeTimeoutMs,
    }),
  );
  return { client, clientLogger };
}

/**
 * Builds a server-side (responder) link and a client-side (initiator) link over real TCP; `viaProxy`
 * puts a proxy between them.
 */
async function linkPair(
  serverSide: Side,
  clientSide: Side,
  options: LinkOptions & { viaProxy?: (targetPort: number) => Promise<number> } = {},
): Promise<Pair> {
  const started = await startServer(serverSide, options);
  const connectPort = options.viaProxy ? await options.viaProxy(started.port) : started.port;
  const { client, clientLogger } = connectClient(connectPort, clientSide);
  const server = await started.server;
  return { client, server, clientLogger, serverLogger: started.serverLogger };
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    }),
  ]);
}

/** Per-connection, per-direction byte rewriting (stateful), e.g. to flip or duplicate bytes. */
type Rewrite = (chunk: Buffer) => Buffer;

/**
 * A man-in-the-middle TCP proxy: forwards bytes between the client and `targetPort`, passing the
 * client→server bytes through `c2s()` and server→client bytes through `s2c()` (fresh functions per connection).
 */
function proxy(rewrite: { c2s?: () => Rewrite; s2c?: () => Rewrite }) {
  return async (targetPort: number): Promise<number> =>
    listen((inbound) => {
      const outbound = track(net.connect(targetPort, '127.0.0.1'));
      const c2s = rewrite.c2s?.() ?? ((b: Buffer) => b);
      const s2c = rewrite.s2c?.() ?? ((b: Buffer) => b);
      inbound.on('data', (chunk) => outbound.write(c2s(chunk)));
      outbound.on('data', (chunk) => inbound.write(s2c(chunk)));
      inbound.on('end', () => outbound.end());
      outbound.on('end', () => inbound.end());
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
}

/** Flips bits `mask` of the byte at stream offset `offset`. */
function flipByteAt(offset: number, mask: number): () => Rewrite {
  return () => {
    let seen = 0;
    return (chunk) => {
      const out = Buffer.from(chunk);
      if (offset >= seen && offset < seen + chunk.length) out[offset - seen] ^= mask;
      seen += chunk.length;
      return out;
    };
  };
}

/** Passes the handshake through, then sends the first complete record twice. */
function replayFirstRecord(): Rewrite {
  let seen = 0;
  let held = Buffer.alloc(0);
  let done = false;
  return (chunk) => {
    if (done) return chunk;
    const handshakeLeft = Math.max(0, HANDSHAKE_BYTES - seen);
    seen += chunk.length;
    const out: Buffer[] = [chunk.subarray(0, handshakeLeft)];
    held = Buffer.concat([held, chunk.subarray(handshakeLeft)]);
    if (held.length >= 4 && held.length >= 4 + held.readUInt32BE(0)) {
      const record = held.subarray(0, 4 + held.readUInt32BE(0));
      out.push(record, record, held.subarray(record.length));
      held = Buffer.alloc(0);
      done = true;
    }
    return Buffer.concat(out);
  };
}

/** Records every byte passing in one direction. */
function capture(into: Buffer[]): () => Rewrite {
  return () => (chunk) => {
    into.push(Buffer.from(chunk));
    return chunk;
  };
}

function allLogText(...loggers: RecordingLogger[]): string {
  return loggers.flatMap((l) => l.lines.map((line) => line.text)).join('\n');
}

// ---- tests ---------------------------------------------------------------------------------------------------

const SECRET = 'the-shared-secret-7f3a9c';

describe('InnerLink, same secret on both sides', () => {
  test('both sides open and messages flow both ways', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: SECRET });
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    expect(client.link.isOpen).toBe(true);
    expect(server.link.isOpen).toBe(true);

    expect(client.link.send(Buffer.from('hello from the client\n'))).toBe(true);
    expect(await server.untilMessages(1)).toEqual(['hello from the client']);

    server.link.send(Buffer.from('hello from the server\n'));
    expect(await client.untilMessages(1)).toEqual(['hello from the server']);
  });

  test('several send() calls within one tick all arrive, in order', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: SECRET });
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    const lines = Array.from({ length: 20 }, (_, i) => `message ${i} ${'x'.repeat(i * 50)}`);
    for (const line of lines) client.link.send(Buffer.from(line + '\n'));
    for (const line of lines) server.link.send(Buffer.from(line.toUpperCase() + '\n'));
    expect(await server.untilMessages(lines.length)).toEqual(lines);
    expect(await client.untilMessages(lines.length)).toEqual(lines.map((l) => l.toUpperCase()));
  });

  test('messages sent before the handshake completes are delivered after it', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: SECRET });
    expect(client.opened).toBe(false);
    client.link.send(Buffer.from('early one\n'));
    client.link.send(Buffer.from('early two\n'));
    expect(await server.untilMessages(2)).toEqual(['early one', 'early two']);
  });

  test('a message larger than one record (1 MiB) arrives whole', async () => {
    const { client, server } = await linkPair({ secret: SECRET, maxLineLength: 4 * 1024 * 1024 }, { secret: SECRET });
    await client.untilOpen();
    const big = 'b'.repeat(2.5 * 1024 * 1024);
    client.link.send(Buffer.from(big + '\nafter\n'));
    const got = await server.untilMessages(2);
    expect(got[0].length).toBe(big.length);
    expect(got[0] === big).toBe(true);
    expect(got[1]).toBe('after');
  });

  test('the wire carries neither the secret nor the plaintext, and one tick of sends is one record', async () => {
    const c2s: Buffer[] = [];
    const s2c: Buffer[] = [];
    const { client, server } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      { viaProxy: proxy({ c2s: capture(c2s), s2c: capture(s2c) }) },
    );
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    client.link.send(Buffer.from('confidential-one\n'));
    client.link.send(Buffer.from('confidential-two\n'));
    client.link.send(Buffer.from('confidential-three\n'));
    expect(await server.untilMessages(3)).toEqual(['confidential-one', 'confidential-two', 'confidential-three']);

    const up = Buffer.concat(c2s);
    const down = Buffer.concat(s2c);
    for (const wire of [up, down]) {
      expect(wire.includes(Buffer.from(SECRET))).toBe(false);
      expect(wire.includes(Buffer.from(SECRET).toString('hex'))).toBe(false);
      expect(wire.includes(Buffer.from(SECRET).toString('base64'))).toBe(false);
      expect(wire.subarray(0, 4).toString()).toBe('GWN1');
    }
    expect(up.includes(Buffer.from('confidential'))).toBe(false);

    // After the 68 handshake bytes: exactly one record holding the three messages.
    const records = up.subarray(HANDSHAKE_BYTES);
    const firstLength = records.readUInt32BE(0);
    expect(records.length).toBe(4 + firstLength);
    expect(firstLength - 16).toBe('confidential-one\nconfidential-two\nconfidential-three\n'.length);
  });

  test('an orderly end() closes both sides with an empty reason; send() afterwards returns false', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: SECRET });
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    client.link.send(Buffer.from('last words\n'));
    client.link.end();
    expect(client.link.send(Buffer.from('too late\n'))).toBe(false);
    expect(await server.untilClosed()).toBe('');
    expect(await client.untilClosed()).toBe('');
    expect(server.messages).toEqual(['last words']);
    expect(server.link.isClosed).toBe(true);
  });

  test('malformed data from the peer closes the link with a reason', async () => {
    const { client, server, serverLogger } = await linkPair({ secret: SECRET, maxLineLength: 16 }, { secret: SECRET });
    await client.untilOpen();
    client.link.send(Buffer.from('short\n'));
    await server.untilMessages(1);
    client.link.send(Buffer.from('a line that is far too long for the limit\nnever\n'));
    const reason = await server.untilClosed();
    expect(reason).toMatch(/malformed data from peer/);
    expect(server.messages).toEqual(['short']);
    expect(serverLogger.lines.some((l) => l.level === 'warn' && l.text.includes('malformed data'))).toBe(true);
    await client.untilClosed();
  });

  test('a throwing message handler is logged and the link stays open', async () => {
    const { client, server, serverLogger } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      {
        onServerLink: (link) =>
          link.on('message', (m: string) => {
            if (m === 'boom') throw new Error('handler exploded');
          }),
      },
    );
    await client.untilOpen();
    client.link.send(Buffer.from('boom\n'));
    client.link.send(Buffer.from('still here\n'));
    expect(await server.untilMessages(2)).toEqual(['boom', 'still here']);
    expect(server.link.isOpen).toBe(true);
    expect(serverLogger.lines.some((l) => l.level === 'error' && l.text.includes('message handler failed'))).toBe(true);
  });
});

describe('InnerLink, plaintext on both sides (explicitly chosen)', () => {
  test('opens without a handshake and carries bytes as is', async () => {
    const c2s: Buffer[] = [];
    const { client, server } = await linkPair(
      { secret: null },
      { secret: null },
      { viaProxy: proxy({ c2s: capture(c2s) }) },
    );
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    client.link.send(Buffer.from('plain one\n'));
    client.link.send(Buffer.from('plain two\n'));
    server.link.send(Buffer.from('plain back\n'));
    expect(await server.untilMessages(2)).toEqual(['plain one', 'plain two']);
    expect(await client.untilMessages(1)).toEqual(['plain back']);
    expect(Buffer.concat(c2s).toString()).toBe('plain one\nplain two\n');
  });
});

describe('InnerLink, malformed input after good messages', () => {
  test('the messages before the bad one in the same TCP chunk are delivered, then the link closes', async () => {
    const started = await startServer({ secret: null, maxLineLength: 16 });
    const raw = track(net.connect(started.port, '127.0.0.1'));
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    // One write: two good lines, a line over the limit, a good line after it (never delivered).
    raw.write(`one\ntwo\n${'x'.repeat(40)}\nthree\n`);
    const server = await started.server;
    expect(await server.untilClosed()).toMatch(/malformed data from peer: line longer than 16 characters/);
    expect(server.messages).toEqual(['one', 'two']);
  });
});

describe('InnerLink, mismatched configuration', () => {
  test('different secrets: both sides close naming SECRET_KEY, and no secret is in any reason or log line', async () => {
    const serverSecret = 'server-only-secret-AAAA';
    const clientSecret = 'client-only-secret-BBBB';
    const { client, server, clientLogger, serverLogger } = await linkPair(
      { secret: serverSecret },
      { secret: clientSecret },
    );
    const [clientReason, serverReason] = await Promise.all([client.untilClosed(), server.untilClosed()]);

    expect(clientReason).toMatch(/SECRET_KEY/);
    expect(serverReason).toMatch(/SECRET_KEY/);
    expect(client.opened).toBe(false);
    expect(server.opened).toBe(false);

    const logs = allLogText(clientLogger, serverLogger);
    expect(logs).toMatch(/SECRET_KEY/);
    for (const secret of [serverSecret, clientSecret]) {
      for (const form of [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64')]) {
        expect(clientReason).not.toContain(form);
        expect(serverReason).not.toContain(form);
        expect(logs).not.toContain(form);
      }
    }
  });

  test('plaintext client against an encrypted server: both sides get a clear reason', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: null });
    // A plaintext peer (e.g. PHP) talks first.
    client.link.send(Buffer.from('{"event":"worker_connect"}\n'));
    const [clientReason, serverReason] = await Promise.all([client.untilClosed(), server.untilClosed()]);
    expect(serverReason).toMatch(/does not speak the encrypted inner protocol/);
    expect(serverReason).toMatch(/SECRET_KEY/);
    expect(clientReason).toMatch(/peer speaks the encrypted inner protocol but this process runs in plaintext/);
    expect(server.messages).toEqual([]);
    expect(server.opened).toBe(false);
  });

  test('plaintext server against an encrypted client: both sides get a clear reason', async () => {
    const { client, server } = await linkPair(
      { secret: null },
      { secret: SECRET },
      { onServerLink: (link) => link.send(Buffer.from('{"event":"broadcast_addresses","addresses":[]}\n')) },
    );
    const [clientReason, serverReason] = await Promise.all([client.untilClosed(), server.untilClosed()]);
    expect(clientReason).toMatch(/does not speak the encrypted inner protocol/);
    expect(serverReason).toMatch(/peer speaks the encrypted inner protocol but this process runs in plaintext/);
    expect(client.messages).toEqual([]);
    expect(client.opened).toBe(false);
  });

  test('a peer that never completes the handshake is closed when the handshake times out', async () => {
    const { port, server } = await startServer({ secret: SECRET, handshakeTimeoutMs: 200 });
    // A raw TCP client that reads the server's hello and never answers.
    const silent = track(net.connect(port, '127.0.0.1'));
    silent.on('data', () => undefined);
    const probe = await server;
    expect(await probe.untilClosed()).toMatch(/handshake timed out/);
    expect(probe.opened).toBe(false);
  });
});

describe('InnerLink under a man-in-the-middle', () => {
  test('one flipped bit in client→server traffic after the handshake: the server closes, "failed authentication"', async () => {
    // Offset 68 + 8: inside the ciphertext of the first record (4-byte length, then ciphertext).
    const { client, server } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      { viaProxy: proxy({ c2s: flipByteAt(HANDSHAKE_BYTES + 8, 0x04) }) },
    );
    await client.untilOpen();
    client.link.send(Buffer.from('this message will be tampered with\n'));
    const reason = await server.untilClosed();
    expect(reason).toMatch(/failed authentication/);
    expect(server.messages).toEqual([]);
    await client.untilClosed();
  });

  test('one flipped bit in the tag of a server→client record: the client closes, "failed authentication"', async () => {
    const line = 'server says hi\n';
    // First server record: 4-byte length, ciphertext (line length), 16-byte tag; flip the last tag byte.
    const { client, server } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      { viaProxy: proxy({ s2c: flipByteAt(HANDSHAKE_BYTES + 4 + line.length + 15, 0x80) }) },
    );
    await server.untilOpen();
    server.link.send(Buffer.from(line));
    expect(await client.untilClosed()).toMatch(/failed authentication/);
    expect(client.messages).toEqual([]);
  });

  test('a replayed (duplicated) record after the handshake: the receiver closes', async () => {
    const { client, server } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      { viaProxy: proxy({ c2s: replayFirstRecord }) },
    );
    await client.untilOpen();
    client.link.send(Buffer.from('pay 100 to mallory\n'));
    const reason = await server.untilClosed();
    expect(reason).toMatch(/failed authentication/);
    // The proxy writes the record and its copy together: the original is delivered (the records before a bad one
    // are, whatever the TCP split), the copy never.
    expect(server.messages).toEqual(['pay 100 to mallory']);
  });

  test('a flipped bit in a hello nonce makes the proofs disagree: both sides close, nothing opens', async () => {
    const { client, server } = await linkPair(
      { secret: SECRET },
      { secret: SECRET },
      { viaProxy: proxy({ c2s: flipByteAt(10, 0x01) }) },
    );
    const [clientReason, serverReason] = await Promise.all([client.untilClosed(), server.untilClosed()]);
    expect(client.opened || server.opened).toBe(false);
    expect(serverReason).not.toBe('');
    expect(clientReason).not.toBe('');
  });
});

describe('InnerLink, bytes that never left this process', () => {
  /** Collects the reports of 'unsent' events, in order. */
  function unsentOf(link: InnerLink<string>): unknown[] {
    const reports: unknown[] = [];
    link.on('unsent', (list: unknown[]) => reports.push(...list));
    return reports;
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + WAIT_MS; !check();) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('reports what was still queued when the link closed, and nothing sent without a report', async () => {
    const { client, server } = await linkPair({ secret: SECRET }, { secret: SECRET });
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    const reports = unsentOf(client.link);
    client.link.send(Buffer.from('plain\n'));
    client.link.send(Buffer.from('one\n'), 'report-1');
    client.link.send(Buffer.from('two\n'), 'report-2');
    client.link.destroy('test: closed before the flush');
    expect(await client.untilClosed()).toBe('test: closed before the flush');
    expect(reports).toEqual(['report-1', 'report-2']);
    // Once closed, send refuses (and there is nothing to report later: the caller knows at once).
    expect(client.link.send(Buffer.from('late\n'), 'report-late')).toBe(false);
    expect(reports).toEqual(['report-1', 'report-2']);
  });

  test('reports what was still in the socket buffer when the peer died, never what the peer received', async () => {
    const { client, server } = await linkPair({ secret: SECRET, maxLineLength: 4 * 1024 * 1024 }, { secret: SECRET });
    await Promise.all([client.untilOpen(), server.untilOpen()]);
    const reports = unsentOf(client.link);
    client.link.send(Buffer.from('received\n'), 'report-received');
    expect(await server.untilMessages(1)).toEqual(['received']);
    // The peer stops reading: once the kernel buffers are full, flushed batches wait in Node's socket buffer.
    server.link.socket.pause();
    const chunk = Buffer.from('x'.repeat(1024 * 1024 - 1) + '\n');
    let n = 0;
    for (; client.link.socket.writableLength === 0; n++) {
      if (n >= 500) throw new Error('the socket buffer never filled');
      client.link.send(chunk, `report-${n}`);
      await new Promise((r) => setImmediate(r));
    }
    client.link.send(chunk, 'report-queued'); // not even flushed yet
    // The peer dies with unread data: its kernel resets the connection.
    server.link.socket.destroy();
    await client.untilClosed();
    await until(() => reports.includes('report-queued'), 'the queued batch to be reported');
    expect(reports).not.toContain('report-received');
    expect(new Set(reports).size).toBe(reports.length); // each at most once
    // What is reported is the tail of what was sent: the batches the kernel never accepted.
    const sent = [...Array.from({ length: n }, (_, i) => `report-${i}`), 'report-queued'];
    expect(reports.length).toBeGreaterThan(1);
    expect(sent.slice(sent.length - reports.length)).toEqual(reports);
  });
});
