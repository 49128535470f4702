import { decodeFrame } from '../protocol/frame';
import { encodeErrorReply, encodeReply, GatewayRequestError } from '../protocol/gateway-request';
import { GatewayTimeoutError, GatewayUnavailableError } from './gateway-errors';
import { RequestTracker } from './request-tracker';

const A = '10.0.0.1:2000';
const B = '10.0.0.2:2000';

/** The Reply frame a gateway sends for request `rid`, as the link decodes it. */
const reply = (rid: number, result: unknown) => decodeFrame(encodeReply(rid, JSON.stringify(result)));

describe('RequestTracker', () => {
  it('settles each request with the reply carrying its id, in whatever order the replies come', async () => {
    const tracker = new RequestTracker();
    const [r1, r2] = [tracker.nextId(), tracker.nextId()];
    expect(r2).not.toBe(r1);
    const first = tracker.wait(r1, A, 5_000, 5_000);
    const second = tracker.wait(r2, A, 5_000, 5_000);
    expect(tracker.size).toBe(2);
    tracker.settle(reply(r2, { n: 2 }), A);
    tracker.settle(reply(r1, ['one']), A);
    await expect(first).resolves.toEqual(['one']);
    await expect(second).resolves.toEqual({ n: 2 });
    expect(tracker.size).toBe(0);
  });

  it('drops a reply from another gateway and one nobody waits for; the request then times out naming the limit', async () => {
    const tracker = new RequestTracker();
    const rid = tracker.nextId();
    const pending = tracker.wait(rid, A, 30, 3_000);
    tracker.settle(reply(rid, true), B); // same id, wrong gateway
    tracker.settle(reply(rid + 1000, true), A); // nobody waits for it
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayTimeoutError);
    expect((err as GatewayTimeoutError).gatewayAddress).toBe(A);
    expect((err as Error).message).toBe(`gateway ${A} unavailable: no answer within 3000 ms`);
    // A reply after the timeout has nobody waiting either.
    tracker.settle(reply(rid, true), A);
    expect(tracker.size).toBe(0);
  });

  it("rejects with the gateway's GatewayRequestError when it refused the parameters", async () => {
    const tracker = new RequestTracker();
    const rid = tracker.nextId();
    const pending = tracker.wait(rid, A, 5_000, 5_000);
    tracker.settle(decodeFrame(encodeErrorReply(rid, 'uid must be a non-empty string')), A);
    await expect(pending).rejects.toEqual(new GatewayRequestError('uid must be a non-empty string'));
  });

  it('fails every request waiting on a gateway whose link closed, and only those', async () => {
    const tracker = new RequestTracker();
    const onA = [tracker.nextId(), tracker.nextId()].map((rid) => tracker.wait(rid, A, 5_000, 5_000));
    const ridB = tracker.nextId();
    const onB = tracker.wait(ridB, B, 5_000, 5_000);
    tracker.failAll(A, 'link closed (socket error: read ECONNRESET)');
    for (const p of onA) {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayUnavailableError);
      expect(err).not.toBeInstanceOf(GatewayTimeoutError);
      expect((err as Error).message).toBe(`gateway ${A} unavailable: link closed (socket error: read ECONNRESET)`);
    }
    expect(tracker.size).toBe(1);
    tracker.settle(reply(ridB, 7), B);
    await expect(onB).resolves.toBe(7);
  });

  it('fails one request that could not be sent with the error given', async () => {
    const tracker = new RequestTracker();
    const rid = tracker.nextId();
    const pending = tracker.wait(rid, A, 5_000, 5_000);
    const err = new GatewayUnavailableError(A, 'link closed');
    tracker.fail(rid, err);
    await expect(pending).rejects.toBe(err);
    expect(tracker.size).toBe(0);
  });
});
