import { Logger } from '@nestjs/common';
import * as net from 'node:net';
import { BUSY_LINK_MS, InnerLink, type CommitTiming } from './inner-link';
import { LineDecoder } from './register-message';

/**
 * InnerLink.reserve / commit: messages encoded straight into the link's batch buffer leave in order with those
 * handed over with send(), in the same turn and across turns (the buffer is reused or replaced between flushes),
 * encrypted and in plaintext. Real sockets, bounded waits, no timing assertions.
 */
jest.setTimeout(20_000);

const logger = new Logger('test');
logger.log = logger.warn = logger.error = logger.debug = () => undefined;
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function pair(secret: string | null): Promise<{ sender: InnerLink<string>; received: string[] }> {
  const received: string[] = [];
  let accepted!: (l: InnerLink<string>) => void;
  const serverLink = new Promise<InnerLink<string>>((r) => (accepted = r));
  const server = net.createServer((socket) => {
    const link = new InnerLink<string>(socket, {
      secret: secret === null ? null : Buffer.from(secret),
      role: 'responder',
      decoder: new LineDecoder(),
      label: 'receiver',
      logger,
    });
    link.on('message', (m: string) => received.push(m));
    accepted(link);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const sender = new InnerLink<string>(socket, {
    secret: secret === null ? null : Buffer.from(secret),
    role: 'initiator',
    decoder: new LineDecoder(),
    label: 'sender',
    logger,
  });
  closers.push(() => {
    socket.destroy();
    server.close();
  });
  const receiver = await serverLink;
  closers.push(() => receiver.destroy());
  return { sender, received };
}

/** Writes `text` + "\n" through reserve/commit. */
function encodeInto(link: InnerLink<string>, text: string, deferrable: CommitTiming = false): void {
  const length = Buffer.byteLength(text) + 1;
  const out = link.reserve(length)!;
  const at = link.reservedAt;
  out.write(`${text}\n`, at);
  link.commit(length, deferrable);
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe.each([
  ['encrypted', 'a shared secret'],
  ['plaintext', null],
])('InnerLink batch encoding (%s)', (_name, secret) => {
  it('keeps the order of encoded and handed-over messages within a turn and across turns, through buffer growth', async () => {
    const { sender, received } = await pair(secret);
    const expected: string[] = [];
    const big = 'x'.repeat(40_000); // larger than the first batch buffer: it grows mid-turn
    for (let turn = 0; turn < 5; turn++) {
      for (let i = 0; i < 50; i++) {
        const text = i === 25 ? `${turn}.${i}.${big}` : `${turn}.${i}`;
        if (i % 3 === 0) sender.send(Buffer.from(`${text}\n`));
        else encodeInto(sender, text);
        expected.push(text);
      }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => received.length >= expected.length, `${expected.length} messages`);
    expect(received).toEqual(expected);
  });

  it('queues what is encoded before the link opens and sends it once open', async () => {
    const { sender, received } = await pair(secret);
    // pair() resolves once the receiver accepted the TCP connection: the encrypted handshake may still be running.
    encodeInto(sender, 'early');
    sender.send(Buffer.from('handed\n'));
    encodeInto(sender, 'late');
    await until(() => received.length >= 3, 'three messages');
    expect(received).toEqual(['early', 'handed', 'late']);
  });

  it('deferrable commits of consecutive turns share a write; a plain commit takes them along at the end of its turn, in order', async () => {
    const { sender, received } = await pair(secret);
    await until(() => sender.isOpen, 'the link to open');
    const before = sender.writeCount;
    for (let i = 0; i < 10; i++) {
      encodeInto(sender, `deferred ${i}`, true);
      await nextTurn(); // a flush at the end of the turn would have written by now
    }
    encodeInto(sender, 'plain');
    await until(() => received.length >= 11, 'eleven messages');
    expect(received).toEqual([...Array.from({ length: 10 }, (_, i) => `deferred ${i}`), 'plain']);
    // One write per turn would be 10 or 11; the deferred ones wait for each other (DEFERRED_FLUSH_MS) and the plain one.
    expect(sender.writeCount - before).toBeLessThan(10);
  });

  it('sends deferrable commits on their own once the deferral ends, in one write', async () => {
    const { sender, received } = await pair(secret);
    await until(() => sender.isOpen, 'the link to open');
    const before = sender.writeCount;
    encodeInto(sender, 'a', true);
    encodeInto(sender, 'b', true);
    await until(() => received.length >= 2, 'two messages');
    expect(received).toEqual(['a', 'b']);
    expect(sender.writeCount - before).toBe(1);
  });

  it("'when-busy' on a link that has not written for BUSY_LINK_MS leaves at the end of its turn", async () => {
    const { sender, received } = await pair(secret);
    await until(() => sender.isOpen, 'the link to open');
    await new Promise((r) => setTimeout(r, BUSY_LINK_MS * 4));
    const before = sender.writeCount;
    encodeInto(sender, 'quiet', 'when-busy');
    expect(sender.pendingFlush).toBe('turn');
    await nextTurn(); // queued after the flush the commit scheduled for this turn
    expect(sender.writeCount - before).toBe(1);
    await until(() => received.length >= 1, 'the message');
    expect(received).toEqual(['quiet']);
  });

  it("'when-busy' right after a write is deferred, and what comes meanwhile joins it, in order", async () => {
    const { sender, received } = await pair(secret);
    await until(() => sender.isOpen, 'the link to open');
    const expected: string[] = [];
    // The rule needs the commits within BUSY_LINK_MS of the write: a stalled machine gets another try. The decision
    // is read synchronously (pendingFlush), so the deferred timer's own timing plays no part.
    for (let attempt = 0; attempt < 5; attempt++) {
      await new Promise((r) => setTimeout(r, BUSY_LINK_MS * 4));
      const start = performance.now(); // before the write: the time since the write is shorter
      const before = sender.writeCount;
      encodeInto(sender, `first ${attempt}`, 'when-busy');
      await nextTurn(); // written at the end of the turn: the link was quiet
      expect(sender.writeCount - before).toBe(1);
      encodeInto(sender, `busy ${attempt}`, 'when-busy');
      const afterBusy = sender.pendingFlush;
      encodeInto(sender, `busy too ${attempt}`, 'when-busy');
      const afterBusyToo = sender.pendingFlush;
      const inTime = performance.now() - start < BUSY_LINK_MS;
      expected.push(`first ${attempt}`, `busy ${attempt}`, `busy too ${attempt}`);
      await until(() => received.length >= expected.length, 'the messages');
      expect(received).toEqual(expected);
      if (!inTime) continue;
      expect([afterBusy, afterBusyToo]).toEqual(['deferred', 'deferred']);
      return;
    }
    throw new Error(`no attempt committed within ${BUSY_LINK_MS} ms of a write`);
  });

  it('takes nothing once closed', async () => {
    const { sender } = await pair(secret);
    sender.destroy();
    expect(sender.reserve(10)).toBeNull();
  });
});
