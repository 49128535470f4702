import { FrameFraming, FramingError, TextFraming, type ClientFraming } from 'nest-gateway-worker/internal';
import { byteChunks, mutate, pick, randomBytes, randomChunks, type Rand } from '../support/fuzz-mutations';
import { check, fuzzTimeoutMs, HEAP_DELTA_BOUND, runFuzz } from '../support/fuzz-run';
import { randomInt } from '../support/seeded-random';

/**
 * Fuzz targets: the raw TCP client framings of the gateway's text:// and frame:// listeners
 * (src/gateway/listeners/text-framing.ts, frame-framing.ts), which read bytes from anyone who can connect. Inputs
 * are encodings of random messages, their mutations and random bytes, with a random message size limit.
 * Properties, for every input:
 *  - the decoder throws nothing but FramingError (`oversize` set exactly when a message is over the limit);
 *  - it delivers exactly the messages a reference written here from workerman's definitions gives, and fails at
 *    the same point, whatever the chunking: all at once, random chunks, byte by byte;
 *  - encoded messages decode back to themselves;
 *  - the heap does not grow over the run.
 */

type Failure = 'oversize' | 'malformed' | null;
interface Decoded {
  messages: Buffer[];
  failure: Failure;
}

const LIMITS = [0, 1, 4, 16, 100, 1024, 1024 * 1024];

function decode(framing: ClientFraming, chunks: Buffer[], max: number, input: Buffer): Decoded {
  const messages: Buffer[] = [];
  // Copied: a decoder may hand out views of its chunks, and the test keeps them past the next push.
  const decoder = framing.createDecoder(max, (m) => messages.push(Buffer.from(m)));
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (err) {
      check(err instanceof FramingError, `push threw ${(err as Error)?.name}: ${(err as Error)?.message}`, input);
      return { messages, failure: err.oversize ? 'oversize' : 'malformed' };
    }
  }
  return { messages, failure: null };
}

/** workerman Text: messages end with "\n"; "\r"s before it are dropped; a line over the limit fails. */
function textReference(input: Buffer, max: number): Decoded {
  const messages: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lf = input.indexOf(0x0a, at);
    const end = lf < 0 ? input.length : lf;
    if (end - at > max) return { messages, failure: 'oversize' };
    if (lf < 0) return { messages, failure: null };
    let last = lf;
    while (last > at && input[last - 1] === 0x0d) last--;
    messages.push(input.subarray(at, last));
    at = lf + 1;
  }
}

/** workerman Frame: a u32 big-endian length counting its own 4 bytes, then the message. */
function frameReference(input: Buffer, max: number): Decoded {
  const messages: Buffer[] = [];
  let at = 0;
  while (input.length - at >= 4) {
    const total = input.readUInt32BE(at);
    if (total < 4) return { messages, failure: 'malformed' };
    if (total - 4 > max) return { messages, failure: 'oversize' };
    if (input.length - at < total) break;
    messages.push(input.subarray(at + 4, at + total));
    at += total;
  }
  return { messages, failure: null };
}

function randomMessage(rand: Rand, text: boolean): Buffer {
  const m = randomBytes(rand, rand() < 0.95 ? 64 : 2000);
  if (!text) return m;
  // A text message can hold neither "\n" nor trailing "\r"s (the framing has no escaping).
  for (let i = 0; i < m.length; i++) if (m[i] === 0x0a) m[i] = 0x20;
  let end = m.length;
  while (end > 0 && m[end - 1] === 0x0d) end--;
  return m.subarray(0, end);
}

function fuzzFraming(name: string, framing: ClientFraming, reference: (input: Buffer, max: number) => Decoded): void {
  let previous: Buffer = Buffer.alloc(0);
  const text = framing.name === 'text';
  const report = runFuzz(name, (rand, index) => {
    const max = rand() < 0.5 ? pick(rand, LIMITS) : 1024 * 1024;
    let sent: Buffer[] | null = null;
    let input: Buffer;
    const mode = rand();
    if (mode < 0.3) {
      // Text clients may end lines with "\r\n"; the "\r" counts against the limit (every byte before the "\n").
      const crlf = text && rand() < 0.3;
      sent = Array.from({ length: randomInt(rand, 0, 6) }, () => randomMessage(rand, text)).filter(
        (m) => m.length + (crlf ? 1 : 0) <= max,
      );
      input = Buffer.concat(sent.map((m) => framing.encode(m)));
      if (crlf) input = Buffer.from(input.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    } else if (mode < 0.8) {
      const base = Buffer.concat(
        Array.from({ length: randomInt(rand, 1, 4) }, () => framing.encode(randomMessage(rand, text))),
      );
      input = mutate(rand, base, [3, 4, 5, max + 3, max + 4, max + 5], previous);
    } else {
      input = randomBytes(rand, 300);
    }
    previous = input;

    const expected = reference(input, max);
    const runs = [decode(framing, [input], max, input), decode(framing, randomChunks(rand, input), max, input)];
    if (index % 8 === 0 && input.length <= 4096) runs.push(decode(framing, byteChunks(input), max, input));
    for (const [k, got] of runs.entries()) {
      const how = ['all at once', 'in random chunks', 'byte by byte'][k];
      check(got.failure === expected.failure, `${how}: failure ${got.failure}, expected ${expected.failure}`, input);
      check(
        got.messages.length === expected.messages.length,
        `${how}: ${got.messages.length} messages, expected ${expected.messages.length}`,
        input,
      );
      got.messages.forEach((m, i) => check(m.equals(expected.messages[i]), `${how}: message ${i} differs`, input));
    }
    if (sent) {
      check(
        expected.failure === null && expected.messages.length === sent.length,
        'encoded messages did not decode',
        input,
      );
      sent.forEach((m, i) => check(m.equals(runs[0].messages[i]), `message ${i} changed in a round trip`, input));
      return 'encoded messages round-tripped';
    }
    return expected.failure ? `FramingError (${expected.failure})` : 'messages';
  });
  expect(report.heapDelta).toBeLessThan(HEAP_DELTA_BOUND);
}

describe('fuzz: client framings of the raw TCP listeners', () => {
  it(
    'text:// decodes any input, in any chunking, as workerman Text does; only FramingError escapes',
    () => {
      fuzzFraming('text-framing', new TextFraming(), textReference);
    },
    fuzzTimeoutMs(500),
  );

  it(
    'frame:// decodes any input, in any chunking, as workerman Frame does; only FramingError escapes',
    () => {
      fuzzFraming('frame-framing', new FrameFraming(), frameReference);
    },
    fuzzTimeoutMs(500),
  );
});
