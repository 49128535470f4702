import {
  InvalidClientIdError,
  decodeClientId,
  encodeClientId,
  gatewayAddressOf,
  isClientId,
  type ClientAddress,
} from 'nest-gateway-worker/internal';
import { pick, randomBytes, type Rand } from '../support/fuzz-mutations';
import { check, fuzzTimeoutMs, HEAP_DELTA_BOUND, runFuzz } from '../support/fuzz-run';
import { randomInt } from '../support/seeded-random';

/**
 * Fuzz target: the PHP-format client_id codec (src/protocol/client-id.ts), which every GatewayClient call runs on
 * ids that come from applications (stored ids, HTTP parameters). Inputs are valid ids (either case), their
 * mutations (a character replaced, inserted or removed, non-ASCII look-alikes, whitespace) and values of other
 * types. Properties, for every input:
 *  - decoding throws nothing but InvalidClientIdError, and throws exactly when isClientId says false, and exactly
 *    when the value is not 20 hex characters (a reference written here);
 *  - a decoded id holds integers in range (no NaN), encodes back to the id in lower case, and its gateway address
 *    is "a.b.c.d:port" of those numbers; any address encodes to an id that decodes back to it;
 *  - the heap does not grow over the run.
 */

const HEX = '0123456789abcdefABCDEF';
const LOOKALIKES = [
  '０',
  'ａ',
  'Ａ',
  'ꞵ',
  'е',
  '٠',
  'ℯ',
  '\u0000',
  ' ',
  '\t',
  '\n',
  '-',
  'g',
  'G',
  'x',
  'İ',
  'ß',
  '😀',
];
const circular: Record<string, unknown> = {};
circular.self = circular;
const OTHER_TYPES: unknown[] = [
  null,
  undefined,
  0,
  0x7f00000108fc,
  NaN,
  true,
  {},
  [],
  ['7f00000108fc00000001'],
  { toString: () => '7f00000108fc00000001' },
  Buffer.from('7f00000108fc00000001'),
  Symbol('id'),
  10n,
  circular,
];

function validId(rand: Rand): string {
  let id = '';
  for (let i = 0; i < 20; i++) id += HEX[randomInt(rand, 0, rand() < 0.8 ? 15 : HEX.length - 1)];
  return id;
}

function mutateId(rand: Rand, id: string): string {
  const at = randomInt(rand, 0, id.length);
  switch (randomInt(rand, 0, 5)) {
    case 0:
      return id.slice(0, at) + pick(rand, LOOKALIKES) + id.slice(at + 1);
    case 1:
      return id.slice(0, at) + pick(rand, [...LOOKALIKES, ...HEX]) + id.slice(at);
    case 2:
      return id.slice(0, at) + id.slice(at + 1);
    case 3:
      return pick(rand, [' ', '\n', '0x', '']) + id + pick(rand, [' ', '\n', '\u0000', '']);
    case 4:
      return id.repeat(randomInt(rand, 0, 3));
    default:
      return randomBytes(rand, 24).toString(pick(rand, ['latin1', 'utf8', 'hex', 'base64'] as const));
  }
}

/** 20 ASCII hex characters, either case: the reference, written without a regular expression. */
function isTwentyHex(value: unknown): boolean {
  if (typeof value !== 'string' || value.length !== 20) return false;
  for (const c of value) if (!HEX.includes(c)) return false;
  return true;
}

const u32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

describe('fuzz: client_id codec', () => {
  it(
    'decodes exactly the 20-hex ids, round-trips them, and throws only InvalidClientIdError',
    () => {
      const report = runFuzz('client-id', (rand) => {
        const r = rand();
        const value: unknown =
          r < 0.3 ? validId(rand) : r < 0.9 ? mutateId(rand, validId(rand)) : pick(rand, OTHER_TYPES);
        const shown = typeof value === 'string' ? value : String(typeof value);

        let decoded: ClientAddress | null = null;
        try {
          decoded = decodeClientId(value as string);
        } catch (err) {
          check(
            err instanceof InvalidClientIdError,
            `threw ${(err as Error)?.name}: ${(err as Error)?.message}`,
            shown,
          );
        }
        check((decoded !== null) === isTwentyHex(value), `decoded: ${decoded !== null}`, shown);
        check(isClientId(value) === (decoded !== null), 'isClientId disagrees with decodeClientId', shown);
        if (decoded === null) return 'InvalidClientIdError';

        const id = value as string;
        const { localIp, localPort, connectionId } = decoded;
        check(
          u32(localIp) && u32(connectionId) && Number.isInteger(localPort) && localPort >= 0 && localPort <= 0xffff,
          'fields out of range',
          id,
        );
        check(encodeClientId(decoded) === id.toLowerCase(), 'does not encode back to itself', id);
        const ip = [localIp >>> 24, (localIp >>> 16) & 0xff, (localIp >>> 8) & 0xff, localIp & 0xff].join('.');
        check(gatewayAddressOf(id) === `${ip}:${localPort}`, `gateway address ${gatewayAddressOf(id)}`, id);

        const address = {
          localIp: randomInt(rand, 0, 0xffffffff),
          localPort: randomInt(rand, 0, 0xffff),
          connectionId: randomInt(rand, 0, 0xffffffff),
        };
        const encoded = encodeClientId(address);
        check(isTwentyHex(encoded) && encoded === encoded.toLowerCase(), 'encoded an invalid id', encoded);
        const back = decodeClientId(encoded);
        check(
          back.localIp === address.localIp &&
            back.localPort === address.localPort &&
            back.connectionId === address.connectionId,
          'an address did not survive encode → decode',
          encoded,
        );
        return id === id.toLowerCase() ? 'valid ids round-tripped' : 'valid ids (upper case) round-tripped';
      });
      expect(report.heapDelta).toBeLessThan(HEAP_DELTA_BOUND);
    },
    fuzzTimeoutMs(200),
  );
});
