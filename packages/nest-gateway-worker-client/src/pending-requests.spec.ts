import { RequestError, RequestTimeoutError } from './errors.js';
import { PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands out ids 1, 2, 3 and resolves each with the data of the envelope that echoes it', async () => {
    const requests = new PendingRequests();
    const a = requests.open('a', 1000);
    const b = requests.open('b', 1000);
    expect([a.id, b.id, requests.size]).toEqual([1, 2, 2]);
    expect(requests.answer(2, { $rid: 2, data: { ok: 'b' } })).toBe(true);
    expect(requests.answer(1, { $rid: 1 })).toBe(true);
    await expect(b.reply).resolves.toEqual({ ok: 'b' });
    await expect(a.reply).resolves.toBeUndefined(); // the handler returned nothing
    expect(requests.size).toBe(0);
  });

  it("rejects with the worker's error message and status", async () => {
    const requests = new PendingRequests();
    const { id, reply } = requests.open('say', 1000);
    requests.answer(id, { $rid: id, error: 'content must be a string', statusCode: 400 });
    const error = await reply.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({
      message: 'content must be a string',
      statusCode: 400,
      type: 'say',
      name: 'RequestError',
    });
  });

  it('rejects with RequestTimeoutError when no reply comes in time; a late reply is recognised as ours and dropped', async () => {
    const requests = new PendingRequests();
    const { id, reply } = requests.open('getHistory', 250);
    const settled = reply.catch((e: unknown) => e);
    jest.advanceTimersByTime(249);
    expect(requests.size).toBe(1);
    jest.advanceTimersByTime(1);
    const error = await settled;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toBe('no reply to "getHistory" within 250 ms');
    expect(requests.answer(id, { $rid: id, data: 1 })).toBe(false);
    expect([requests.issued(id), requests.issued(id + 1), requests.issued('1'), requests.issued(0)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('failAll rejects everything in flight and clears their timers', async () => {
    const requests = new PendingRequests();
    const replies = [requests.open('a', 1000).reply, requests.open('b', 1000).reply].map((p) =>
      p.catch((e: unknown) => e),
    );
    requests.failAll(new Error('connection closed (1006)'));
    expect(await Promise.all(replies)).toEqual([
      new Error('connection closed (1006)'),
      new Error('connection closed (1006)'),
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a timeout that is not a positive number', () => {
    expect(() => new PendingRequests().open('a', 0)).toThrow('timeoutMs must be a positive number');
  });
});
