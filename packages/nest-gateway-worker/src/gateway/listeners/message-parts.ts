/**
 * Collects the pieces of one message that arrives in several chunks; a message that arrives whole is passed
 * on as a view of its chunk, without a copy.
 */
export class MessageParts {
  private parts: Buffer[] | null = null;
  /** Bytes collected so far. */
  size = 0;

  add(piece: Buffer): void {
    if (piece.length === 0) return;
    (this.parts ??= []).push(piece);
    this.size += piece.length;
  }

  /** The collected pieces followed by `last`, as one Buffer; empties the collection. */
  take(last: Buffer): Buffer {
    const parts = this.parts;
    if (parts === null) return last;
    parts.push(last);
    const whole = Buffer.concat(parts, this.size + last.length);
    this.parts = null;
    this.size = 0;
    return whole;
  }
}
