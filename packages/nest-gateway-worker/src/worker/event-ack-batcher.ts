import { Cmd } from '../protocol/command';
import { encodeEventAcks } from '../protocol/event-ack';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';

/**
 * Collects a worker's event acknowledgements and sends them as one EventAck frame per gateway. The flush runs
 * on process.nextTick: after the handlers that finished in this turn (their replies and session write-backs are
 * already queued on the link) and before the link's own end-of-turn write, so acks ride the same write, and one
 * encrypted record, as the replies they follow.
 */
export class EventAckBatcher {
  /**
   * By link, not by gateway address: sequence numbers belong to one link, and an ack sent on a newer link to the
   * same gateway would settle the wrong events. Acks for a link that closed are dropped: that gateway has already
   * sent those events again elsewhere.
   */
  private readonly byLink = new Map<InnerLink<GatewayFrame>, number[]>();
  private scheduled = false;

  /** Acks still to be sent, all gateways together. */
  get size(): number {
    let n = 0;
    for (const seqs of this.byLink.values()) n += seqs.length;
    return n;
  }

  add(link: InnerLink<GatewayFrame>, seq: number): void {
    const seqs = this.byLink.get(link);
    if (seqs) seqs.push(seq);
    else this.byLink.set(link, [seq]);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Sends what is collected now. */
  flush(): void {
    this.scheduled = false;
    for (const [link, seqs] of this.byLink) {
      link.send(encodeFrame(frame({ cmd: Cmd.EventAck, body: encodeEventAcks(seqs) })));
    }
    this.byLink.clear();
  }
}
