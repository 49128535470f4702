/**
 * Body of an EventAck frame: the sequence numbers a worker acknowledges, as inclusive ranges
 * (u32 first, u32 last), big-endian, 8 bytes per range. A worker handling a steady stream acknowledges runs of
 * consecutive numbers, so a whole event-loop turn of acks is usually one or a few ranges.
 */
const RANGE_BYTES = 8;

/** Largest sequence number; the gateway wraps to 1 after it. */
export const MAX_EVENT_SEQ = 0xffffffff;

/** Packs sequence numbers (any order, duplicates allowed; sorted in place) into ranges. */
export function encodeEventAcks(seqs: number[]): Buffer {
  const out = Buffer.allocUnsafe(seqs.length * RANGE_BYTES);
  return out.subarray(0, writeEventAckRanges(seqs, out, 0));
}

/** Room an EventAck body of `count` sequence numbers may take at most (one range each). */
export function maxEventAcksLength(count: number): number {
  return count * RANGE_BYTES;
}

/**
 * {@link encodeEventAcks} written at `at` of `out` (which has room for {@link maxEventAcksLength} bytes); returns
 * the number of bytes written. Sorts `seqs` in place when they are not ascending.
 */
export function writeEventAckRanges(seqs: number[], out: Buffer, at: number): number {
  // Acks are collected in the order handlers finish, which is nearly always ascending: a sort with a comparator
  // on every flush was a visible share of the worker's CPU, a check is not.
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] < seqs[i - 1]) {
      seqs.sort((a, b) => a - b);
      break;
    }
  }
  let length = at;
  let i = 0;
  while (i < seqs.length) {
    const first = seqs[i];
    let last = first;
    while (i + 1 < seqs.length && seqs[i + 1] <= last + 1) last = seqs[++i];
    i++;
    out.writeUInt32BE(first >>> 0, length);
    out.writeUInt32BE(last >>> 0, length + 4);
    length += RANGE_BYTES;
  }
  return length - at;
}

/**
 * Calls `range(first, last)` for every range of an EventAck body. Throws when the body is not a whole number of
 * ranges or a range is reversed (the caller closes the link: its peer is broken).
 */
export function decodeEventAcks(body: Buffer, range: (first: number, last: number) => void): void {
  if (body.length % RANGE_BYTES !== 0)
    throw new Error(`EventAck body of ${body.length} bytes is not a list of u32 ranges`);
  for (let offset = 0; offset < body.length; offset += RANGE_BYTES) {
    const first = body.readUInt32BE(offset);
    const last = body.readUInt32BE(offset + 4);
    if (first > last) throw new Error(`EventAck range ${first}-${last} is reversed`);
    range(first, last);
  }
}
