import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';
import { ClientConnection } from './client-connection';
import { ConnectionTable } from './connection-table';
import { WorkerChannel } from './worker-channel';
import { WorkerRouter } from './worker-router';
import type { ClientSocket } from './client-socket';

function worker(key: string): WorkerChannel & { up: boolean } {
  const state = { up: true };
  const link = { get isOpen() { return state.up; } } as unknown as InnerLink<GatewayFrame>;
  const channel = new WorkerChannel(key, '127.0.0.1', link) as WorkerChannel & { up: boolean };
  Object.defineProperty(channel, 'up', { get: () => state.up, set: (v: boolean) => (state.up = v) });
  return channel;
}

const handshake = { listener: 'ws://127.0.0.1:0', protocol: 'ws', remoteAddress: '127.0.0.1', remotePort: 1, url: '/', query: {}, headers: {} };
let nextId = 1;
const client = () => new ClientConnection(nextId++, {} as ClientSocket, 0, handshake);

describe('WorkerRouter', () => {
  it('picks the worker with the fewest clients and keeps each client there', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    router.add(b);
    const clients = [client(), client(), client(), client()];
    const first = clients.map((c) => router.route(c)!.workerKey);
    expect(first.filter((k) => k === 'a')).toHaveLength(2);
    expect(first.filter((k) => k === 'b')).toHaveLength(2);
    expect(clients.map((c) => router.route(c)!.workerKey)).toEqual(first);
  });

  it('re-routes the clients of a worker that went away and counts releases', () => {
    const router = new WorkerRouter();
    const [a, b] = [worker('a'), worker('b')];
    router.add(a);
    const c1 = client();
    expect(router.route(c1)).toBe(a);
    router.add(b);
    a.up = false;
    router.remove(a);
    expect(router.route(c1)).toBe(b);
    expect(b.assigned).toBe(1);
    router.release(c1);
    expect(b.assigned).toBe(0);
    expect(c1.worker).toBeNull();
  });

  it('returns undefined when no worker is open', () => {
    const router = new WorkerRouter();
    const a = worker('a');
    router.add(a);
    a.up = false;
    expect(router.route(client())).toBeUndefined();
  });

  it('replaces a worker that reconnects with the same key', () => {
    const router = new WorkerRouter();
    const old = worker('a');
    expect(router.add(old)).toBeUndefined();
    expect(router.add(worker('a'))).toBe(old);
    expect(router.size).toBe(1);
  });
});

describe('ConnectionTable', () => {
  it('allocates increasing ids, skipping ids in use, wrapping after 2^32-1', () => {
    const table = new ConnectionTable();
    expect(table.nextId()).toBe(1);
    table.add(Object.assign(client(), { id: 2 }) as ClientConnection);
    expect(table.nextId()).toBe(3);
    (table as unknown as { lastId: number }).lastId = 0xffffffff;
    expect(table.nextId()).toBe(1);
    expect(table.nextId()).toBe(3); // 2 is still in use
  });
});
