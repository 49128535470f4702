import { StringDecoder } from 'node:string_decoder';
import {
  LineDecoder,
  RegisterMessageError,
  encodeRegisterMessage,
  parseRegisterMessage,
  type RegisterMessage,
} from 'nest-gateway-worker/internal';
import { byteChunks, mutate, pick, randomBytes, randomChunks, type Rand } from '../support/fuzz-mutations';
import { check, fuzzTimeoutMs, HEAP_DELTA_BOUND, runFuzz } from '../support/fuzz-run';
import { phpVectors } from '../support/php-vectors';
import { randomInt } from '../support/seeded-random';

/**
 * Fuzz target: the register protocol's line splitter and message parser (src/protocol/register-message.ts), what a
 * register, a gateway and every worker run on the lines of their register links. Inputs are streams of register
 * messages (valid ones, near misses: bad addresses, unknown events, wrong types, extra fields, non-ASCII text),
 * the PHP-captured lines, their mutations and random bytes, split into lines with a random line limit. Properties:
 *  - the splitter throws nothing but RegisterMessageError, and gives the lines a reference (UTF-8 decoding of the
 *    whole input, split at "\n", one "\r" dropped, empty lines skipped, the limit applied) gives, whatever the
 *    chunking (a multi-byte character split across chunks included);
 *  - the parser throws nothing but RegisterMessageError; what it accepts is a documented message whose addresses
 *    are "ipv4:port" a worker can connect to (the hellos keep a `secret_key` as sent, for the php wire profile), and
 *    encodes back to a line that parses to the same message;
 *  - the heap does not grow over the run.
 */

const PHP_LINES = phpVectors('register_line');
const LIMITS = [1, 16, 64, 200, 1024, 1024 * 1024];

const GOOD_ADDRESSES = ['127.0.0.1:2000', '10.0.0.5:1', '192.168.1.200:65535', '0.0.0.0:7272', '255.255.255.255:2300'];
const BAD_ADDRESSES = [
  '127.0.0.1',
  '127.0.0.1:',
  ':2000',
  '127.0.0.1:0',
  '127.0.0.1:65536',
  '127.0.0.1:-1',
  '127.0.0.1:2e3',
  '256.0.0.1:2000',
  '127.0.0.01:2000',
  '127.0.0:2000',
  'localhost:2000',
  '[::1]:2000',
  '::1:2000',
  ' 127.0.0.1:2000',
  '127.0.0.1:2000 ',
  '127.0.0.1:20 00',
  '127.0.0.1:２０００',
  '',
];
const TEXT = ['', 'x', 'gateway', 'Zoë', '名字', '😀', '\u0000', '\\', '"', '\u2028', 'a'.repeat(300)];
const EVENTS = ['gateway_connect', 'worker_connect', 'ping', 'broadcast_addresses', 'connect', 'GATEWAY_CONNECT', ''];

function randomValue(rand: Rand, depth = 0): unknown {
  switch (randomInt(rand, 0, depth > 2 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick(rand, [0, -1, 1.5, 2000, 1e21, Number.MAX_SAFE_INTEGER]);
    case 3:
      return pick(rand, TEXT);
    case 4:
      return pick(rand, rand() < 0.5 ? GOOD_ADDRESSES : BAD_ADDRESSES);
    case 5:
      return Array.from({ length: randomInt(rand, 0, 3) }, () => randomValue(rand, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: randomInt(rand, 0, 3) }, () => [pick(rand, TEXT), randomValue(rand, depth + 1)]),
      );
  }
}

function address(rand: Rand): unknown {
  const r = rand();
  return r < 0.6 ? pick(rand, GOOD_ADDRESSES) : r < 0.9 ? pick(rand, BAD_ADDRESSES) : randomValue(rand);
}

/** A register message as a JS object: valid, nearly valid, or anything. */
function randomMessage(rand: Rand): Record<string, unknown> {
  const m: Record<string, unknown> = { event: rand() < 0.9 ? pick(rand, EVENTS) : randomValue(rand) };
  if (m.event === 'gateway_connect' || rand() < 0.1) m.address = address(rand);
  if (m.event === 'broadcast_addresses' || rand() < 0.1) {
    const list = Array.from({ length: randomInt(rand, 0, 4) }, () =>
      rand() < 0.9 ? pick(rand, GOOD_ADDRESSES) : address(rand),
    );
    m.addresses = rand() < 0.8 ? list : Object.fromEntries(list.map((a, i) => [String(i), a]));
  }
  if (rand() < 0.3) m.secret_key = pick(rand, TEXT); // PHP peers send it; ignored
  if (rand() < 0.2) m[pick(rand, TEXT)] = randomValue(rand);
  return m;
}

/** A stream of lines: JSON messages (pretty-printed now and then), "\r\n" endings, blank lines, a last partial line. */
function randomStream(rand: Rand): Buffer {
  const parts: string[] = [];
  for (let n = randomInt(rand, 0, 5); n > 0; n--) {
    const m = randomMessage(rand);
    parts.push(rand() < 0.1 ? ` ${JSON.stringify(m, null, ' ').replace(/\n/g, ' ')}\t` : JSON.stringify(m));
    parts.push(pick(rand, ['\n', '\n', '\n', '\r\n', '\n\n', '\r\r\n']));
  }
  if (rand() < 0.2) parts.push(JSON.stringify(randomMessage(rand)).slice(0, randomInt(rand, 0, 20)));
  return Buffer.from(parts.join(''), 'utf8');
}

/** The reference splitter: the whole input decoded at once, then cut at "\n". */
function referenceLines(input: Buffer, max: number): { lines: string[]; tooLong: boolean } {
  const parts = new StringDecoder('utf8').write(input).split('\n');
  const tooLong = parts.some((p) => p.length > max);
  const complete = parts.slice(0, -1);
  return {
    lines: complete.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.length > 0),
    tooLong,
  };
}

function split(chunks: Buffer[], max: number, input: Buffer): { lines: string[]; tooLong: boolean } {
  const decoder = new LineDecoder(max);
  const lines: string[] = [];
  for (const chunk of chunks) {
    try {
      lines.push(...decoder.push(chunk));
    } catch (err) {
      check(
        err instanceof RegisterMessageError,
        `push threw ${(err as Error)?.name}: ${(err as Error)?.message}`,
        input,
      );
      check(/^line longer than \d+ characters$/.test(err.message), `unexpected error: ${err.message}`, input);
      return { lines, tooLong: true };
    }
  }
  return { lines, tooLong: false };
}

const IPV4_PORT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/;

/** An address a worker can connect to: four decimal octets ≤ 255 and a port 1-65535 (written here, not imported). */
function connectable(value: unknown): boolean {
  const m = typeof value === 'string' ? IPV4_PORT.exec(value) : null;
  if (!m) return false;
  const port = Number(m[5]);
  return (
    m.slice(1, 5).every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0'))) && port >= 1 && port <= 65535
  );
}

/** Parses one line; checks what an accepted message may be. Returns whether it was accepted. */
function parseChecked(line: string, input: Buffer): boolean {
  let message: RegisterMessage;
  try {
    message = parseRegisterMessage(line);
  } catch (err) {
    check(err instanceof RegisterMessageError, `parse threw ${(err as Error)?.name}: ${(err as Error)?.message}`, line);
    return false;
  }
  // The two hellos keep a `secret_key` the line has (any JSON type but null: the php wire profile compares it as PHP
  // does); nothing else is kept besides the documented fields.
  const sent = (JSON.parse(line) as { secret_key?: unknown }).secret_key;
  const secret = sent === undefined || sent === null ? '' : ',secret_key';
  switch (message.event) {
    case 'gateway_connect':
      check(connectable(message.address), `accepted address ${JSON.stringify(message.address)}`, line);
      check(Object.keys(message).join() === `event,address${secret}`, 'fields other than the documented ones', line);
      break;
    case 'broadcast_addresses':
      check(
        Array.isArray(message.addresses) && message.addresses.every(connectable),
        'accepted a bad address list',
        line,
      );
      check(Object.keys(message).join() === 'event,addresses', 'fields other than the documented ones', line);
      break;
    case 'worker_connect':
      check(Object.keys(message).join() === `event${secret}`, 'fields other than the documented ones', line);
      break;
    case 'ping':
      check(Object.keys(message).join() === 'event', 'fields other than the documented ones', line);
      break;
    default:
      check(false, `accepted event ${JSON.stringify((message as { event: unknown }).event)}`, line);
  }
  if (secret && (message.event === 'gateway_connect' || message.event === 'worker_connect')) {
    const kept = (message as { secret_key?: unknown }).secret_key;
    check(JSON.stringify(kept) === JSON.stringify(sent), 'secret_key changed', line);
  }
  const encoded = encodeRegisterMessage(message);
  check(
    encoded[encoded.length - 1] === 0x0a && encoded.indexOf(0x0a) === encoded.length - 1,
    'encoding is not one line',
    input,
  );
  const again = parseRegisterMessage(encoded.subarray(0, -1).toString('utf8'));
  check(JSON.stringify(again) === JSON.stringify(message), 'does not survive encode → parse', line);
  return true;
}

describe('fuzz: register lines (LineDecoder + parseRegisterMessage)', () => {
  it(
    'splits any input, in any chunking, as the reference does, and accepts only documented messages',
    () => {
      let previous: Buffer = Buffer.alloc(0);
      const report = runFuzz('register-lines', (rand, index) => {
        const max = rand() < 0.7 ? pick(rand, LIMITS.slice(-1)) : pick(rand, LIMITS);
        const mode = rand();
        const input =
          mode < 0.45
            ? randomStream(rand)
            : mode < 0.85
              ? mutate(rand, rand() < 0.2 ? pick(rand, PHP_LINES) : randomStream(rand), [], previous)
              : randomBytes(rand, 200);
        previous = input;

        const expected = referenceLines(input, max);
        const runs = [split([input], max, input), split(randomChunks(rand, input), max, input)];
        if (index % 8 === 0 && input.length <= 2048) runs.push(split(byteChunks(input), max, input));
        for (const [k, got] of runs.entries()) {
          const how = ['all at once', 'in random chunks', 'byte by byte'][k];
          check(
            got.tooLong === expected.tooLong,
            `${how}: line limit error ${got.tooLong}, expected ${expected.tooLong}`,
            input,
          );
          check(got.lines.length <= expected.lines.length, `${how}: more lines than the input holds`, input);
          got.lines.forEach((l, i) => check(l === expected.lines[i], `${how}: line ${i} differs`, input));
          if (!expected.tooLong) check(got.lines.length === expected.lines.length, `${how}: lines lost`, input);
        }
        if (expected.tooLong) return 'RegisterMessageError (line too long)';
        if (expected.lines.length === 0) return 'no complete line';
        const accepted = expected.lines.filter((line) => parseChecked(line, input)).length;
        return accepted === expected.lines.length
          ? 'every line a message'
          : accepted === 0
            ? 'every line refused (RegisterMessageError)'
            : 'some lines refused (RegisterMessageError)';
      });
      expect(report.heapDelta).toBeLessThan(HEAP_DELTA_BOUND);
    },
    fuzzTimeoutMs(1_000),
  );
});
