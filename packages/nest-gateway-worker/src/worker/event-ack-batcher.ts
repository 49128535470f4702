import { Cmd } from '../protocol/command';
import { maxEventAcksLength, writeEventAckRanges } from '../protocol/event-ack';
import { HEADER_LENGTH, frame, writeHeader, type GatewayFrame } from '../protocol/frame';
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
  /** The link added to last and its list (events come in runs from one link): no Map lookup for those. */
  private lastLink: InnerLink<GatewayFrame> | null = null;
  private lastSeqs: number[] = [];

  /** Acks still to be sent, all gateways together. */
  get size(): number {
    let n = 0;
    for (const seqs of this.byLink.values()) n += seqs.length;
    return n;
  }

  add(link: InnerLink<GatewayFrame>, seq: number): void {
    if (link === this.lastLink) {
      this.lastSeqs.push(seq); // a flush is scheduled: lastLink is set only between add() and flush()
      return;
    }
    let seqs = this.byLink.get(link);
    if (seqs) seqs.push(seq);
    else this.byLink.set(link, (seqs = [seq]));
    this.lastLink = link;
    this.lastSeqs = seqs;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Sends what is collected now. */
  flush(): void {
    this.scheduled = false;
    this.lastLink = null;
    this.lastSeqs = [];
    for (const [link, seqs] of this.byLink) {
      // Encoded straight into the link's batch, after the replies of the same turn: the record then holds one
      // buffer, not the batch and a buffer of the acks joined by a copy. (encodeFrame of the frame with
      // encodeEventAcks as its body gives the same bytes.)
      const out = link.reserve(HEADER_LENGTH + maxEventAcksLength(seqs.length));
      if (out === null) continue; // closed: the gateway has sent these events again elsewhere
      const at = link.reservedAt;
      const bodyLength = writeEventAckRanges(seqs, out, at + HEADER_LENGTH);
      writeHeader(out, ACK_HEADER, HEADER_LENGTH + bodyLength, 0, at);
      link.commit(HEADER_LENGTH + bodyLength);
    }
    this.byLink.clear();
  }
}

/** The header fields of an EventAck frame (all zero but the command and the flag). */
const ACK_HEADER = frame({ cmd: Cmd.EventAck });
