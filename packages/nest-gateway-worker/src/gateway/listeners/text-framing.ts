import { FramingError, type ClientFraming, type FramingDecoder } from './client-framing';
import { MessageParts } from './message-parts';

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');

/**
 * workerman's Text protocol: every message ends with "\n". A received message excludes the "\n" and any
 * "\r" right before it (PHP's rtrim($buffer, "\r\n")), so "\r\n" clients work; sent messages get "\n"
 * appended (a message that itself contains "\n" arrives as several lines: the framing has no escaping).
 * The size limit counts every byte before the "\n". Messages reach the worker as text.
 */
export class TextFraming implements ClientFraming {
  readonly name = 'text';
  readonly binary = false;

  createDecoder(maxMessageBytes: number, onMessage: (message: Buffer) => void): FramingDecoder {
    return new TextLineDecoder(maxMessageBytes, onMessage);
  }

  encode(message: Buffer): Buffer {
    return Buffer.concat([message, NEWLINE], message.length + 1);
  }
}

class TextLineDecoder implements FramingDecoder {
  private readonly pending = new MessageParts();

  constructor(
    private readonly max: number,
    private readonly onMessage: (message: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf < 0 ? chunk.length : lf;
      // Checked before keeping anything: a line without end cannot grow past the limit.
      if (this.pending.size + (end - start) > this.max) throw FramingError.oversize(this.max);
      if (lf < 0) {
        this.pending.add(start === 0 ? chunk : chunk.subarray(start));
        return;
      }
      const line = this.pending.take(chunk.subarray(start, lf));
      let length = line.length;
      while (length > 0 && line[length - 1] === CR) length--;
      this.onMessage(length === line.length ? line : line.subarray(0, length));
      start = lf + 1;
    }
  }
}
