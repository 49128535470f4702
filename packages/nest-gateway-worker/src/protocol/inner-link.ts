import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { RateLimitedLog } from '../logging/rate-limited-log';
import {
  HELLO_LENGTH,
  HELLO_MAGIC,
  PROOF_LENGTH,
  RecordOpener,
  RecordSealer,
  createHello,
  deriveLinkKeys,
  looksLikeHello,
  proofMatches,
  type LinkRole,
} from './record-layer';

/**
 * Anything that turns a byte stream into messages (frames, register lines); throws on malformed input. What it
 * throws may carry `decoded`, the messages the same push completed before the bad input: the link delivers them,
 * then closes, so the messages that run do not depend on how TCP split the stream.
 */
export interface StreamDecoder<T> {
  push(chunk: Buffer): T[];
}

/** The messages a decoder's error says were decoded before the bad input (none when it says nothing). */
function decodedBefore<T>(err: unknown): readonly T[] {
  const decoded = (err as { decoded?: unknown } | null)?.decoded;
  return Array.isArray(decoded) ? (decoded as T[]) : [];
}

export interface InnerLinkOptions<T> {
  /** Shared secret. `null` means plaintext, which the caller must have chosen explicitly. */
  secret: Buffer | null;
  /** The side that opened the TCP connection is the initiator. */
  role: LinkRole;
  decoder: StreamDecoder<T>;
  /** How the link is named in logs, e.g. "gateway 10.0.0.5:2000". Never holds secrets. */
  label: string;
  logger: Logger;
  /** Time allowed for the handshake, in milliseconds. Default 10 000. */
  handshakeTimeoutMs?: number;
  /**
   * A listening side's links (gateway inner port, register): the warning of a link closed for bad input goes
   * there, rate-limited per reason and counted, instead of one line per link. Without it (the side that connects,
   * one link per peer) every such warning is logged.
   */
  rejections?: RateLimitedLog;
}

type LinkState = 'handshake' | 'open' | 'closed';

/** First size of a link's batch buffer (see InnerLink.reserve); it doubles when a turn needs more. */
const BATCH_BYTES = 16 * 1024;
/** A batch buffer larger than this is dropped after its flush instead of being kept for the next turn. */
const MAX_KEPT_BATCH_BYTES = 256 * 1024;
/**
 * How long bytes committed as deferrable (see InnerLink.commit) may wait for others: connect and close events of
 * clients whose handshakes arrive one per event-loop turn then share a write and a record instead of one each.
 */
export const DEFERRED_FLUSH_MS = 1;

/**
 * When committed bytes leave (InnerLink.commit): `false` at the end of this event-loop turn; `true` up to
 * {@link DEFERRED_FLUSH_MS} later, with whatever else comes meanwhile; `'when-busy'` with the flush already waiting if
 * there is one (either kind), else at the end of this turn if the link has not written for {@link BUSY_LINK_MS}, else
 * deferred like `true`. A quiet link adds no delay; a busy one writes about once per DEFERRED_FLUSH_MS, in fewer and
 * larger records (fewer wake-ups of the reader, each of which costs it cold caches: see bench/RESULTS.md).
 */
export type CommitTiming = boolean | 'when-busy';

/**
 * A link that wrote less than this ago counts as busy (CommitTiming 'when-busy'). 5 ms: at 1 000 clients with one
 * message each in flight the gateway writes every 1–2 ms, so a 1 ms window missed most turns; a quiet link (a write
 * every 5 ms or less often) adds no delay.
 */
export const BUSY_LINK_MS = 5;

/**
 * One inner link (gateway↔worker, client↔gateway, anything↔register) over a TCP socket: the record-layer
 * handshake, encryption, decoding into messages, and batched writes. Everything sent within one event-loop
 * turn goes out as one socket write and, when encrypted, one record (DESIGN.md, performance principles).
 *
 * Events: `open` (handshake done), `message` (T), `close` (reason: string; empty for an orderly close),
 * `unsent` (reports: unknown[], reason: string): the reports of bytes sent with one (see {@link send}) that never
 * left this process because the link closed first.
 * A link never throws at its owner: bad bytes, failed authentication and socket errors close this link only.
 */
export class InnerLink<T> extends EventEmitter {
  private state: LinkState = 'handshake';
  private readonly ownHello: Buffer | null;
  private inbound: Buffer = Buffer.alloc(0);
  private peerHello: Buffer | null = null;
  private expectedProof: Buffer | null = null;
  private sealer: RecordSealer | null = null;
  private opener: RecordOpener | null = null;
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  /** The reports given with the queued bytes (null while none was given: the common, allocation-free case). */
  private outgoingReports: unknown[] | null = null;
  private flushScheduled = false;
  /** The timer of a deferred flush (see {@link commit}); null when none is waiting. */
  private deferredFlush: NodeJS.Timeout | null = null;
  /** performance.now() at the last flush that wrote (see CommitTiming 'when-busy'). */
  private lastWriteAt = -Infinity;
  /** Socket writes made by flushes (one record each when encrypted), for tests and benchmarks. */
  private writes = 0;
  /**
   * Where {@link reserve}/{@link commit} encode messages in place: bytes `batchStart`..`batchEnd` are queued after
   * everything in {@link outgoing} (earlier segments of the buffer are already there, as views). Reused from one
   * turn to the next once a record is sealed (sealing copies); a plaintext link hands the buffer itself to the
   * socket, so it starts a new one.
   */
  private batch: Buffer | null = null;
  private batchStart = 0;
  private batchEnd = 0;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private closeReason = '';
  private firstChunk = true;
  private pendingOpener: RecordOpener | null = null;

  constructor(
    readonly socket: Socket,
    private readonly options: InnerLinkOptions<T>,
  ) {
    super();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Socket errors (refused, reset) are not logged here: the owner sees the reason in 'close' and decides
    // whether it is news (a reconnect loop must not print a line per attempt).
    socket.on('error', (err) => this.fail(`socket error: ${err.message}`, null));
    socket.on('end', () => this.end());
    socket.on('close', () => this.finish());
    if (options.secret) {
      this.ownHello = createHello();
      socket.write(this.ownHello);
      this.handshakeTimer = setTimeout(
        () => this.fail('handshake timed out (is the peer speaking the encrypted inner protocol?)'),
        options.handshakeTimeoutMs ?? 10_000,
      );
      this.handshakeTimer.unref();
    } else {
      this.ownHello = null;
      // Plaintext has no handshake; open once the owner has attached its listeners.
      process.nextTick(() => this.open());
    }
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Bytes sent on this link that have not left this process yet: queued here, or in Node's socket buffer. */
  get pendingBytes(): number {
    return this.outgoingBytes + this.socket.writableLength;
  }

  /**
   * Queues bytes for the peer; they leave with everything else sent in this event-loop turn.
   * Returns false (and drops the bytes) when the link is closed.
   *
   * With `unsentReport`, the link tells (event `unsent`) if these bytes did not leave this process: still queued
   * here when the link closed, or written to the socket but not yet fully handed to the operating system when the
   * socket was destroyed (waiting in Node's buffer because the peer stopped reading, or cut part-way). Bytes the
   * operating system accepted are not reported: whether the peer read them is unknown. Reports are per batch
   * (what one event-loop turn sent), each at most once.
   */
  send(bytes: Buffer, unsentReport?: unknown): boolean {
    if (this.state === 'closed') return false;
    if (this.batchEnd !== this.batchStart) this.closeSegment();
    this.outgoing.push(bytes);
    this.outgoingBytes += bytes.length;
    if (unsentReport !== undefined) (this.outgoingReports ??= []).push(unsentReport);
    this.scheduleFlush();
    return true;
  }

  /**
   * For an encoder that writes a message straight into this turn's batch instead of handing over a buffer of its
   * own (one allocation and one copy fewer per message): returns a buffer with room for `length` bytes from
   * {@link reservedAt} on, or null when the link is closed. Write them, then {@link commit} them; they leave in
   * order with everything else sent in this turn. Nothing else may be sent between the two calls.
   */
  reserve(length: number): Buffer | null {
    if (this.state === 'closed') return null;
    const batch = this.batch;
    if (batch !== null && batch.length - this.batchEnd >= length) return batch;
    const open = this.batchEnd - this.batchStart;
    const grown = Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, 2 * (open + length)));
    if (batch !== null && open > 0) batch.copy(grown, 0, this.batchStart, this.batchEnd);
    this.batch = grown;
    this.batchStart = 0;
    this.batchEnd = open;
    return grown;
  }

  /** Where the bytes reserved by {@link reserve} start in the buffer it returned. */
  get reservedAt(): number {
    return this.batchEnd;
  }

  /**
   * Queues the `length` bytes written after {@link reserve}. `deferrable` (see {@link CommitTiming}): `true` lets them
   * wait up to {@link DEFERRED_FLUSH_MS} for more instead of leaving at the end of this turn, `'when-busy'` only when
   * the link wrote less than {@link BUSY_LINK_MS} ago (order is kept either way; anything sent without it flushes them
   * at the end of its turn).
   */
  commit(length: number, deferrable: CommitTiming = false): void {
    if (this.state === 'closed') return;
    this.batchEnd += length;
    this.outgoingBytes += length;
    if (deferrable === 'when-busy') {
      // A flush already on its way takes these bytes too: nothing to decide (and no clock read per message).
      if (this.flushScheduled || this.deferredFlush !== null) return;
      deferrable = performance.now() - this.lastWriteAt < BUSY_LINK_MS;
    }
    if (deferrable) this.scheduleDeferredFlush();
    else this.scheduleFlush();
  }

  /** Socket writes this link's flushes made so far (each one record when encrypted). */
  get writeCount(): number {
    return this.writes;
  }

  /** The flush waiting now: at the end of this turn, deferred (see {@link commit}), or none. For tests. */
  get pendingFlush(): 'turn' | 'deferred' | 'none' {
    return this.flushScheduled ? 'turn' : this.deferredFlush !== null ? 'deferred' : 'none';
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled && this.state === 'open') {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private scheduleDeferredFlush(): void {
    if (!this.flushScheduled && this.deferredFlush === null && this.state === 'open') {
      this.deferredFlush = setTimeout(this.flushDeferred, DEFERRED_FLUSH_MS);
    }
  }

  private readonly flushDeferred = (): void => {
    this.deferredFlush = null;
    this.flush();
  };

  private clearDeferredFlush(): void {
    if (this.deferredFlush !== null) clearTimeout(this.deferredFlush);
    this.deferredFlush = null;
  }

  /** Queues the open part of the batch as a view (for a send after it, or the flush). */
  private closeSegment(): void {
    this.outgoing.push(this.batch!.subarray(this.batchStart, this.batchEnd));
    this.batchStart = this.batchEnd;
  }

  /** Flushes what is queued, then closes the connection in an orderly way. */
  end(): void {
    if (this.state === 'closed') return;
    this.flush();
    this.state = 'closed';
    this.socket.end();
    // A peer that never closes its side must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  /** Closes the link at once; `reason` is logged (at warn) when given. */
  destroy(reason?: string): void {
    if (reason) this.fail(reason);
    else {
      this.state = 'closed';
      this.socket.destroy();
    }
  }

  private fail(reason: string, level: 'warn' | null = 'warn'): void {
    if (this.state === 'closed') return;
    this.closeReason = reason;
    if (level) {
      const line = `${this.options.label}: ${reason}; link closed`;
      if (this.options.rejections) this.options.rejections.warn(reason, line);
      else this.options.logger[level](line);
    }
    const wasHandshake = this.state === 'handshake';
    this.state = 'closed';
    if (wasHandshake) {
      // Let the peer read our proof and reach its own verdict (both sides log why), then drop.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    } else {
      this.socket.destroy();
    }
  }

  private finish(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.clearDeferredFlush();
    this.state = 'closed';
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.batch = null;
    this.batchStart = this.batchEnd = 0;
    const reason = this.closeReason;
    this.closeReason = '';
    const reports = this.outgoingReports;
    this.outgoingReports = null;
    if (reports) this.emit('unsent', reports, reason);
    this.emit('close', reason);
    this.removeAllListeners('message');
  }

  private open(): void {
    if (this.state !== 'handshake') return;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'open';
    this.emit('open');
    if (this.outgoing.length || this.batchEnd !== this.batchStart) this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    this.clearDeferredFlush();
    if (this.state !== 'open') return;
    if (this.batchEnd !== this.batchStart) this.closeSegment();
    if (this.outgoing.length === 0) return;
    const plain = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (this.batch !== null) {
      // Sealing copies, so the batch is free again once this record is sealed (below, synchronously); plaintext
      // hands these very bytes to the socket. A batch grown for one large message is not kept.
      if (this.sealer && this.batch.length <= MAX_KEPT_BATCH_BYTES) this.batchStart = this.batchEnd = 0;
      else {
        this.batch = null;
        this.batchStart = this.batchEnd = 0;
      }
    }
    this.writes++;
    this.lastWriteAt = performance.now();
    const reports = this.outgoingReports;
    if (!reports) {
      this.socket.write(this.sealer ? this.sealer.seal(plain) : plain);
      return;
    }
    this.outgoingReports = null;
    // The write did not complete before the socket was destroyed: it failed, or it was still waiting in Node's
    // buffer / being handed to the operating system (Node then calls back without an error, on a destroyed socket).
    const socket = this.socket;
    socket.write(this.sealer ? this.sealer.seal(plain) : plain, (err) => {
      if (err || socket.destroyed) this.emit('unsent', reports, this.closeReason || err?.message || 'socket destroyed');
    });
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake' && this.options.secret) {
      chunk = this.handshake(chunk);
      if (!this.isOpen || chunk.length === 0) return;
    }
    let plain: readonly Buffer[];
    // A bad record after good ones in the same chunk: the good ones are delivered first, then the link closes.
    let recordError: Error | null = null;
    if (this.opener) {
      try {
        plain = this.opener.push(chunk);
      } catch (err) {
        recordError = err as Error;
        plain = decodedBefore<Buffer>(err);
      }
    } else {
      if (this.firstChunk && looksLikeHello(chunk)) {
        return this.fail(
          'peer speaks the encrypted inner protocol but this process runs in plaintext: set the same SECRET_KEY on both sides',
        );
      }
      plain = [chunk];
    }
    this.firstChunk = false;
    for (const bytes of plain) {
      let messages: readonly T[];
      let malformed: Error | null = null;
      try {
        messages = this.options.decoder.push(bytes);
      } catch (err) {
        malformed = err as Error;
        messages = decodedBefore<T>(err);
      }
      for (const message of messages) {
        if (this.isClosed) return;
        try {
          this.emit('message', message);
        } catch (err) {
          this.options.logger.error(`${this.options.label}: message handler failed`, (err as Error).stack);
        }
      }
      if (malformed) return this.fail(`malformed data from peer: ${malformed.message}`);
    }
    if (recordError) this.fail(recordError.message);
  }

  /** Consumes handshake bytes; returns what is left over for the record layer. */
  private handshake(chunk: Buffer): Buffer {
    this.inbound = this.inbound.length ? Buffer.concat([this.inbound, chunk]) : chunk;
    if (!this.peerHello) {
      const magicBytes = Math.min(this.inbound.length, HELLO_MAGIC.length);
      if (!this.inbound.subarray(0, magicBytes).equals(HELLO_MAGIC.subarray(0, magicBytes))) {
        this.fail(
          'peer does not speak the encrypted inner protocol (a plaintext or PHP peer?): set the same SECRET_KEY on both sides',
        );
        return Buffer.alloc(0);
      }
      if (this.inbound.length < HELLO_LENGTH) return Buffer.alloc(0);
      this.peerHello = this.inbound.subarray(0, HELLO_LENGTH);
      this.inbound = this.inbound.subarray(HELLO_LENGTH);
      const keys = deriveLinkKeys(this.options.secret!, this.options.role, this.ownHello!, this.peerHello);
      this.sealer = new RecordSealer(keys.sealKey, keys.sealSalt);
      this.expectedProof = keys.peerProof;
      this.socket.write(keys.ownProof);
      this.pendingOpener = new RecordOpener(keys.openKey, keys.openSalt);
    }
    if (this.inbound.length < PROOF_LENGTH) return Buffer.alloc(0);
    const proof = this.inbound.subarray(0, PROOF_LENGTH);
    const rest = this.inbound.subarray(PROOF_LENGTH);
    this.inbound = Buffer.alloc(0);
    if (!proofMatches(this.expectedProof!, proof)) {
      this.fail('peer could not prove it knows the shared secret: SECRET_KEY differs between the two sides');
      return Buffer.alloc(0);
    }
    this.opener = this.pendingOpener;
    this.pendingOpener = null;
    this.open();
    return rest;
  }
}
