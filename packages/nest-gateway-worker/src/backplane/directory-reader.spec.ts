import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { BackplaneKeys } from './backplane-keys';
import { resolveBackplaneOptions } from './backplane-options';
import { BackplaneWarnings } from './backplane-warnings';
import { DirectoryReader, type LeaseView } from './directory-reader';
import type { RedisConnection } from './redis-connection';

/**
 * A connection to one server at a time (`serverId`): INFO answers its run_id, a pipeline of HKEYS answers `entries`
 * once the test calls `answer()`. `reconnect(to)` closes it and opens it again on another server.
 */
class FakeConnection extends EventEmitter {
  status = 'ready';
  serverId = 'aaaa';
  entries: Record<string, string[]> = {};
  private waiting: (() => void)[] = [];

  info(): Promise<string> {
    return Promise.resolve(`# Server\r\nrun_id:${this.serverId}\r\n`);
  }

  pipeline() {
    const keys: string[] = [];
    const p = {
      hkeys: (key: string) => (keys.push(key), p),
      exec: () =>
        new Promise<[Error | null, unknown][]>((resolve) =>
          // Answered by the server the connection reaches when the answer is given (a command resent after a
          // reconnection is answered by the new one).
          this.waiting.push(() => resolve(keys.map((k) => [null, this.entries[k] ?? []]))),
        ),
    };
    return p;
  }

  answer(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  reconnect(to: string, entries: Record<string, string[]>): void {
    this.status = 'reconnecting';
    this.emit('close');
    this.serverId = to;
    this.entries = entries;
    this.status = 'ready';
    this.emit('ready');
  }
}

const keys = new BackplaneKeys('gw');
const tick = () => new Promise((r) => setImmediate(r));

function setup() {
  const connection = new FakeConnection();
  const view: { viewServer: string | undefined | null } = { viewServer: 'aaaa' };
  const logger = new Logger('DirectoryReaderSpec');
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  const warnings = new BackplaneWarnings(logger, resolveBackplaneOptions('test', 'redis://127.0.0.1:6379')!);
  const reader = new DirectoryReader(
    connection as unknown as RedisConnection,
    keys,
    1_000,
    warnings,
    view as LeaseView,
  );
  const read = async (names: string[]) => {
    const p = reader.gatewaysOf('uid', names);
    await tick();
    connection.answer();
    return p;
  };
  return { connection, view, reader, read };
}

describe('DirectoryReader with a lease view', () => {
  it('answers once it knows its server is the one the leases were read on', async () => {
    const { connection, reader, read } = setup();
    connection.entries = { [keys.uid('u')]: ['g1'] };
    // Not known yet: the mesh, and the server is asked.
    expect(await read(['u'])).toBeNull();
    await tick();
    expect(reader.inView).toBe(true);
    expect(await read(['u'])).toEqual([['g1']]);
    expect(reader.stats).toEqual({ reads: 1, fallbacks: 1 });
  });

  it("answers null while the leases are another server's (a failover discovery has not caught up with)", async () => {
    const { connection, view, reader, read } = setup();
    await read(['u']);
    await tick();
    // The primary failed over: the directory connection is on the new one (which lost u's entry), discovery still
    // shows the old one's leases.
    connection.reconnect('bbbb', {});
    await tick();
    expect(reader.inView).toBe(false);
    expect(await read(['u'])).toBeNull();
    view.viewServer = 'bbbb';
    expect(reader.inView).toBe(true);
    expect(await read(['u'])).toEqual([[]]);
  });

  it('answers null when the leases move to another server while the read is in flight', async () => {
    const { connection, view, reader, read } = setup();
    connection.entries = { [keys.uid('u')]: ['g1'] };
    await read(['u']);
    await tick();
    const p = reader.gatewaysOf('uid', ['u']);
    await tick();
    view.viewServer = 'bbbb';
    connection.answer();
    expect(await p).toBeNull();
  });

  it('answers null for a read sent before a reconnection and answered after it (resent to another server)', async () => {
    const { connection, view, reader, read } = setup();
    connection.entries = { [keys.uid('u')]: ['g1'] };
    await read(['u']);
    await tick();
    const p = reader.gatewaysOf('uid', ['u']);
    await tick();
    connection.reconnect('bbbb', {});
    view.viewServer = 'bbbb';
    await tick(); // the new server is learnt
    expect(reader.inView).toBe(true);
    connection.answer();
    expect(await p).toBeNull();
    expect(await read(['u'])).toEqual([[]]);
  });

  it('answers before discovery has read any lease (none vouches for a gateway: every one is included)', async () => {
    const { connection, view, read } = setup();
    view.viewServer = null;
    connection.entries = { [keys.uid('u')]: ['g1'] };
    expect(await read(['u'])).toEqual([['g1']]);
  });

  it('without a view, answers whatever server it reaches (as before)', async () => {
    const connection = new FakeConnection();
    const logger = new Logger('DirectoryReaderSpec');
    const warnings = new BackplaneWarnings(logger, resolveBackplaneOptions('test', 'redis://127.0.0.1:6379')!);
    const reader = new DirectoryReader(connection as unknown as RedisConnection, keys, 1_000, warnings);
    connection.entries = { [keys.uid('u')]: ['g1'] };
    const p = reader.gatewaysOf('uid', ['u']);
    await tick();
    connection.answer();
    expect(await p).toEqual([['g1']]);
  });
});

/**
 * An ioredis Cluster as the reader sees it: primaries (`nodes('master')`, each answering INFO with its run_id), HKEYS
 * answered from `entries` once the test calls `answer()`, and the events that change the primaries.
 */
class FakeCluster extends EventEmitter {
  readonly isCluster = true;
  status = 'ready';
  primaries: { runId: string; info(): Promise<string> }[] = [FakeCluster.node('aaaa'), FakeCluster.node('bbbb')];
  entries: Record<string, string[]> = {};
  private waiting: (() => void)[] = [];

  static node(runId: string) {
    return { runId, info: () => Promise.resolve(`# Server\r\nrun_id:${runId}\r\n`) };
  }

  nodes(): unknown[] {
    return [...this.primaries];
  }

  hkeys(key: string): Promise<string[]> {
    return new Promise((resolve) => this.waiting.push(() => resolve(this.entries[key] ?? [])));
  }

  answer(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }
}

describe('DirectoryReader with a lease view, on a Redis Cluster', () => {
  function setupCluster() {
    const connection = new FakeCluster();
    // The leases say synced on the primaries aaaa and bbbb (clusterServerId: sorted run_ids).
    const view: { viewServer: string | undefined | null } = { viewServer: 'aaaa,bbbb' };
    const logger = new Logger('DirectoryReaderSpec');
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const warnings = new BackplaneWarnings(logger, resolveBackplaneOptions('test', 'redis+cluster://127.0.0.1:6379')!);
    const reader = new DirectoryReader(
      connection as unknown as RedisConnection,
      keys,
      1_000,
      warnings,
      view as LeaseView,
    );
    const read = async (names: string[]) => {
      const p = reader.gatewaysOf('uid', names);
      await tick();
      connection.answer();
      return p;
    };
    return { connection, view, reader, read };
  }

  it("answers once its primaries' run_ids are those the leases were read with", async () => {
    const { connection, reader, read } = setupCluster();
    connection.entries = { [keys.uid('u')]: ['g1'] };
    expect(await read(['u'])).toBeNull();
    await tick();
    expect(reader.inView).toBe(true);
    expect(await read(['u'])).toEqual([['g1']]);
  });

  it('answers null after a failover to a replica (another run_id) until discovery has read the leases with it', async () => {
    const { connection, view, reader, read } = setupCluster();
    await read(['u']);
    await tick();
    // CLUSTER FAILOVER TAKEOVER: the slot map names the replica cccc instead of bbbb (no node left the pool).
    connection.primaries = [connection.primaries[0], FakeCluster.node('cccc')];
    connection.emit('refresh');
    await tick();
    expect(reader.inView).toBe(false);
    expect(await read(['u'])).toBeNull();
    view.viewServer = 'aaaa,cccc';
    expect(reader.inView).toBe(true);
    expect(await read(['u'])).toEqual([[]]);
  });

  it('answers null when a MOVED redirect made a replica a primary while the read was in flight (no event yet)', async () => {
    const { connection, reader, read } = setupCluster();
    connection.entries = { [keys.uid('u')]: ['g1'] };
    await read(['u']);
    await tick();
    const p = reader.gatewaysOf('uid', ['u']);
    await tick();
    // ioredis follows the MOVED: the replica becomes a primary of the pool at once, the slot map refresh comes later.
    connection.primaries = [...connection.primaries, FakeCluster.node('cccc')];
    connection.entries = {};
    connection.answer();
    expect(await p).toBeNull();
  });
});
