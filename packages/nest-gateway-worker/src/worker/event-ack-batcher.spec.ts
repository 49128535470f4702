import { Cmd } from '../protocol/command';
import { decodeEventAcks } from '../protocol/event-ack';
import { FrameDecoder } from '../protocol/frame-decoder';
import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';
import { ClientTracker } from './client-tracker';
import { EventAckBatcher } from './event-ack-batcher';

/** A link stand-in that decodes what is sent on it. */
function link(): InnerLink<GatewayFrame> & { frames: GatewayFrame[]; sends: number } {
  const decoder = new FrameDecoder(1 << 20);
  const fake = {
    frames: [] as GatewayFrame[],
    sends: 0,
    send(bytes: Buffer) {
      fake.sends++;
      fake.frames.push(...decoder.push(bytes));
      return true;
    },
    // InnerLink.reserve/commit: each commit is taken as one send here.
    batch: Buffer.alloc(0),
    reservedAt: 0,
    reserve(length: number) {
      fake.batch = Buffer.alloc(length + 5, 0xee); // bytes before and after the reservation are not part of it
      fake.reservedAt = 3;
      return fake.batch;
    },
    commit(length: number) {
      fake.send(fake.batch.subarray(fake.reservedAt, fake.reservedAt + length));
    },
  };
  return fake as unknown as InnerLink<GatewayFrame> & { frames: GatewayFrame[]; sends: number };
}

function acked(frames: GatewayFrame[]): number[] {
  const out: number[] = [];
  for (const f of frames) {
    expect(f.cmd).toBe(Cmd.EventAck);
    decodeEventAcks(f.body, (first, last) => {
      for (let s = first; s <= last; s++) out.push(s);
    });
  }
  return out;
}

describe('EventAckBatcher', () => {
  it('sends the acks of one turn as one frame per link, after the handlers that finished in it', async () => {
    const batcher = new EventAckBatcher();
    const [g1, g2] = [link(), link()];
    const tracker = new ClientTracker();
    // Ten events of five clients, finishing in the same turn in some order.
    for (let seq = 1; seq <= 10; seq++) {
      void tracker.enqueue(`c${seq % 5}`, async () => batcher.add(seq % 2 ? g1 : g2, seq));
    }
    expect(g1.sends + g2.sends).toBe(0); // nothing before the turn ends
    await new Promise((r) => setImmediate(r));
    expect([g1.sends, g2.sends]).toEqual([1, 1]);
    expect(acked(g1.frames)).toEqual([1, 3, 5, 7, 9]);
    expect(acked(g2.frames)).toEqual([2, 4, 6, 8, 10]);
    expect(batcher.size).toBe(0);
  });

  it('flushes on demand (the end of a drain) and keeps links apart', () => {
    const batcher = new EventAckBatcher();
    const [oldLink, newLink] = [link(), link()];
    batcher.add(oldLink, 5);
    batcher.add(newLink, 1);
    expect(batcher.size).toBe(2);
    batcher.flush();
    expect(acked(oldLink.frames)).toEqual([5]);
    expect(acked(newLink.frames)).toEqual([1]);
  });
});

describe('ClientTracker.whenIdle', () => {
  it('resolves once every queued and running event is done', async () => {
    const tracker = new ClientTracker();
    await tracker.whenIdle(); // nothing queued: at once
    let finished = 0;
    const slow = () => new Promise<void>((r) => setTimeout(() => (finished++, r()), 20));
    void tracker.enqueue('a', slow);
    void tracker.enqueue('a', slow);
    void tracker.enqueue('b', slow);
    expect(tracker.inFlight).toBe(3);
    await tracker.whenIdle();
    expect(finished).toBe(3);
    expect(tracker.inFlight).toBe(0);
  });
});
