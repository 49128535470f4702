import { EventEmitter } from 'node:events';
import { ConnectionHeartbeat, type HeartbeatConnection } from './connection-heartbeat';

/** A connection whose PINGs are answered or not, as the test says; disconnect(true) is recorded. */
class FakeConnection extends EventEmitter {
  status = 'ready';
  answer = true;
  pings = 0;
  reconnects = 0;

  call(command: string): Promise<unknown> {
    expect(command).toBe('ping');
    this.pings++;
    return this.answer ? Promise.resolve('PONG') : new Promise(() => undefined);
  }

  disconnect(reconnect?: boolean): void {
    if (reconnect) this.reconnects++;
    this.status = 'reconnecting';
  }
}

describe('ConnectionHeartbeat', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('moves confirmedAt to the send time of each PING answered, and reopens nothing', async () => {
    const c = new FakeConnection();
    const hb = new ConnectionHeartbeat(c as unknown as HeartbeatConnection, () => undefined, undefined, 1_000, 2_000);
    hb.start();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(c.pings).toBe(5);
    expect(hb.confirmedAt).toBe(1_005_000);
    expect(c.reconnects).toBe(0);
    hb.stop();
  });

  it('closes a connection whose PING goes unanswered for the timeout (once), and starts again on the new one', async () => {
    const c = new FakeConnection();
    const timeouts: number[] = [];
    const hb = new ConnectionHeartbeat(
      c as unknown as HeartbeatConnection,
      (ms) => timeouts.push(ms),
      undefined,
      1_000,
      2_000,
    );
    hb.start();
    await jest.advanceTimersByTimeAsync(1_000);
    const confirmed = hb.confirmedAt;
    c.answer = false;
    await jest.advanceTimersByTimeAsync(1_000); // PING sent at 1 002 000, never answered
    await jest.advanceTimersByTimeAsync(1_000);
    expect(c.reconnects).toBe(0);
    await jest.advanceTimersByTimeAsync(1_000); // 2 s without an answer
    expect(c.reconnects).toBe(1);
    expect(timeouts).toEqual([2_000]);
    expect(hb.reopened).toBe(1);
    expect(hb.confirmedAt).toBe(confirmed);
    // While it reconnects: no PING, no second close.
    await jest.advanceTimersByTimeAsync(3_000);
    expect(c.reconnects).toBe(1);
    const pings = c.pings;
    c.status = 'ready';
    c.answer = true;
    c.emit('ready');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(c.pings).toBe(pings + 1);
    expect(hb.confirmedAt).toBeGreaterThan(confirmed);
    hb.stop();
  });

  it('sends no PING while not active', async () => {
    const c = new FakeConnection();
    let active = false;
    const hb = new ConnectionHeartbeat(
      c as unknown as HeartbeatConnection,
      () => undefined,
      () => active,
      1_000,
      2_000,
    );
    hb.start();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(c.pings).toBe(0);
    active = true;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(c.pings).toBe(1);
    hb.stop();
  });
});
