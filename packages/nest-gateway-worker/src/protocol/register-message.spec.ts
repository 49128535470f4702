import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_MAX_LINE_LENGTH,
  LineDecoder,
  RegisterMessageError,
  encodeRegisterMessage,
  parseRegisterMessage,
  type RegisterMessage,
} from './register-message';

const VECTORS_FILE = path.join(__dirname, 'testdata', 'php-gatewayworker-vectors.json');

interface LineVector {
  id: string;
  kind: string;
  hex: string;
  text: string;
}

const lineVectors = (JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as { vectors: LineVector[] }).vectors.filter(
  (v) => v.kind === 'register_line',
);

const expectedById: Record<string, RegisterMessage> = {
  R1: { event: 'worker_connect', secret_key: '' },
  R2: { event: 'worker_connect', secret_key: 's3cr3t' },
  R3: { event: 'gateway_connect', address: '127.0.0.1:2300', secret_key: '' },
  R4: { event: 'gateway_connect', address: '127.0.0.2:2300', secret_key: 's3cr3t' },
  R5: { event: 'broadcast_addresses', addresses: [] },
  R6: { event: 'broadcast_addresses', addresses: ['127.0.0.1:2300'] },
  R7: { event: 'ping' },
};

function vector(id: string): LineVector {
  const v = lineVectors.find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} missing from ${VECTORS_FILE}`);
  return v;
}

describe('PHP register line vectors', () => {
  test('R1..R7 are all present, and nothing else is a register_line', () => {
    expect(lineVectors.map((v) => v.id).sort()).toEqual(Object.keys(expectedById).sort());
  });

  test.each(Object.entries(expectedById).map(([id, want]) => [id, JSON.stringify(want), want] as const))(
    '%s parses to %s',
    (id, _json, want) => {
      const v = vector(id);
      const bytes = Buffer.from(v.hex, 'hex');
      expect(bytes.toString('utf8')).toBe(v.text);
      expect(v.text.endsWith('\n')).toBe(true);
      const parsed = parseRegisterMessage(v.text.slice(0, -1));
      // secret_key (PHP's in-band auth) is kept as sent: the php wire profile's register checks it; the native
      // profile ignores it (its link authenticates in the handshake).
      expect(parsed).toEqual(want);
    },
  );

  test('all vectors as one byte stream through LineDecoder, one byte at a time', () => {
    const stream = Buffer.concat(lineVectors.map((v) => Buffer.from(v.hex, 'hex')));
    const decoder = new LineDecoder();
    const lines: string[] = [];
    for (let i = 0; i < stream.length; i++) lines.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(lines.map(parseRegisterMessage)).toEqual(lineVectors.map((v) => expectedById[v.id]));
  });
});

describe('parseRegisterMessage', () => {
  test('addresses as an object (PHP de-duplication keeps array keys) becomes a list', () => {
    expect(
      parseRegisterMessage('{"event":"broadcast_addresses","addresses":{"0":"10.0.0.1:2300","2":"10.0.0.2:2301"}}'),
    ).toEqual({ event: 'broadcast_addresses', addresses: ['10.0.0.1:2300', '10.0.0.2:2301'] });
  });

  test('an empty addresses object is an empty list', () => {
    expect(parseRegisterMessage('{"event":"broadcast_addresses","addresses":{}}')).toEqual({
      event: 'broadcast_addresses',
      addresses: [],
    });
  });

  test('whitespace anywhere and extra fields are tolerated', () => {
    expect(parseRegisterMessage(' { "event" : "gateway_connect" ,\t"address": "10.1.2.3:2000", "x": [1] } ')).toEqual({
      event: 'gateway_connect',
      address: '10.1.2.3:2000',
    });
    expect(parseRegisterMessage('{"event":"ping","extra":{"a":1}}')).toEqual({ event: 'ping' });
  });

  test.each([
    ['not JSON', 'hello'],
    ['empty line', ''],
    ['truncated JSON', '{"event":"ping"'],
    ['JSON array', '["ping"]'],
    ['JSON null', 'null'],
    ['JSON number', '42'],
    ['JSON string', '"ping"'],
    ['no event', '{}'],
    ['unknown event', '{"event":"shutdown"}'],
    ['event not a string', '{"event":1}'],
    ['gateway_connect without address', '{"event":"gateway_connect"}'],
    ['address is a hostname', '{"event":"gateway_connect","address":"localhost:2300"}'],
    ['address without port', '{"event":"gateway_connect","address":"127.0.0.1"}'],
    ['address with trailing space', '{"event":"gateway_connect","address":"127.0.0.1:2300 "}'],
    ['address is IPv6', '{"event":"gateway_connect","address":"[::1]:2300"}'],
    ['address is a number', '{"event":"gateway_connect","address":2300}'],
    ['broadcast without addresses', '{"event":"broadcast_addresses"}'],
    ['addresses is a string', '{"event":"broadcast_addresses","addresses":"127.0.0.1:2300"}'],
    ['addresses is null', '{"event":"broadcast_addresses","addresses":null}'],
    ['addresses holds a number', '{"event":"broadcast_addresses","addresses":[1]}'],
    ['addresses holds a bad address', '{"event":"broadcast_addresses","addresses":["127.0.0.1:2300","a:1"]}'],
    ['addresses object holds a bad address', '{"event":"broadcast_addresses","addresses":{"0":"a:1","2":"b:2"}}'],
  ])('%s is rejected with RegisterMessageError', (_name, line) => {
    expect(() => parseRegisterMessage(line)).toThrow(RegisterMessageError);
  });

  test.each([
    ['gateway_connect', '{"event":"gateway_connect","address":"127.0.0.1:02000"}'],
    ['broadcast_addresses', '{"event":"broadcast_addresses","addresses":["127.0.0.1:2000","127.0.0.1:02000"]}'],
    ['broadcast_addresses (object)', '{"event":"broadcast_addresses","addresses":{"0":"10.0.0.1:00080"}}'],
  ])('%s with a port written with a leading zero is refused, saying how to write it', (_name, line) => {
    expect(() => parseRegisterMessage(line)).toThrow(
      /the port has a leading zero \(write (127\.0\.0\.1:2000|10\.0\.0\.1:80)\)/,
    );
  });

  test('the error says what is wrong with the address', () => {
    expect(() => parseRegisterMessage('{"event":"gateway_connect","address":"127.0.0.1:70000"}')).toThrow(
      'gateway_connect needs "address" as "ipv4:port": "127.0.0.1:70000": the port must be 1-65535',
    );
    expect(() => parseRegisterMessage('{"event":"gateway_connect","address":"127.0.0.01:2000"}')).toThrow(
      /not an IPv4 address in dotted decimal/,
    );
  });

  test('RegisterMessageError is an Error with its own name', () => {
    let caught: unknown;
    try {
      parseRegisterMessage('{"event":"nope"}');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('RegisterMessageError');
    expect((caught as Error).message).toContain('nope');
  });
});

describe('encodeRegisterMessage', () => {
  const messages: RegisterMessage[] = [
    { event: 'gateway_connect', address: '192.168.0.10:2000' },
    { event: 'worker_connect' },
    { event: 'broadcast_addresses', addresses: [] },
    { event: 'broadcast_addresses', addresses: ['127.0.0.1:2300', '10.0.0.2:2301'] },
    { event: 'ping' },
  ];

  test.each(messages.map((m) => [JSON.stringify(m), m] as const))(
    '%s is one newline-terminated line that parses back',
    (_json, message) => {
      const bytes = encodeRegisterMessage(message);
      const text = bytes.toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text.indexOf('\n')).toBe(text.length - 1);
      expect(parseRegisterMessage(text.slice(0, -1))).toEqual(message);
      expect(new LineDecoder().push(bytes)).toEqual([text.slice(0, -1)]);
    },
  );

  test('several encoded messages in one stream decode in order', () => {
    const stream = Buffer.concat(messages.map(encodeRegisterMessage));
    expect(new LineDecoder().push(stream).map(parseRegisterMessage)).toEqual(messages);
  });
});

describe('LineDecoder', () => {
  // "é" is 2 bytes, "€" 3 bytes, "😀" 4 bytes (a surrogate pair in JS).
  const lines = ['{"event":"ping"}', 'café €5', '😀 at the end 😀', 'plain ascii'];
  const stream = Buffer.from(lines.join('\n') + '\n', 'utf8');

  test('the test stream really contains multi-byte characters', () => {
    expect(stream.length).toBeGreaterThan(lines.join('\n').length + 1);
  });

  test('split into two chunks at every point, including inside multi-byte characters', () => {
    const failures: number[] = [];
    for (let at = 0; at <= stream.length; at++) {
      const d = new LineDecoder();
      const got = [...d.push(stream.subarray(0, at)), ...d.push(stream.subarray(at))];
      if (JSON.stringify(got) !== JSON.stringify(lines)) failures.push(at);
    }
    expect(failures).toEqual([]);
  });

  test('one byte at a time', () => {
    const d = new LineDecoder();
    const got: string[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(lines);
  });

  test('a 4-byte character split 1+3, 2+2 and 3+1 across chunks', () => {
    const emoji = Buffer.from('😀', 'utf8');
    expect(emoji).toHaveLength(4);
    for (let cut = 1; cut < 4; cut++) {
      const d = new LineDecoder();
      expect(d.push(Buffer.concat([Buffer.from('a'), emoji.subarray(0, cut)]))).toEqual([]);
      expect(d.push(Buffer.concat([emoji.subarray(cut), Buffer.from('b\n')]))).toEqual(['a😀b']);
    }
  });

  test('"\\r\\n" line endings are stripped, even when "\\r" and "\\n" arrive apart', () => {
    const d = new LineDecoder();
    expect(d.push(Buffer.from('one\r\ntwo\r'))).toEqual(['one']);
    expect(d.push(Buffer.from('\nthree\n'))).toEqual(['two', 'three']);
  });

  test('a line without its newline is held back until the newline arrives', () => {
    const d = new LineDecoder();
    expect(d.push(Buffer.from('{"event":'))).toEqual([]);
    expect(d.push(Buffer.from('"ping"}'))).toEqual([]);
    expect(d.push(Buffer.from('\n'))).toEqual(['{"event":"ping"}']);
  });

  test('a line longer than the limit throws before its newline arrives', () => {
    const d = new LineDecoder(10);
    expect(d.push(Buffer.from('x'.repeat(10)))).toEqual([]);
    expect(() => d.push(Buffer.from('x'))).toThrow(RegisterMessageError);
  });

  test('a complete line longer than the limit throws', () => {
    expect(() => new LineDecoder(10).push(Buffer.from('ok\n' + 'y'.repeat(11) + '\nok\n'))).toThrow(
      RegisterMessageError,
    );
  });

  test('a line over the limit after good lines: the error carries the good lines, whatever the chunking', () => {
    const bytes = Buffer.from('one\r\ntwo\n' + 'y'.repeat(11) + '\nthree\n');
    const deliver = (chunks: Buffer[]): string[] => {
      const d = new LineDecoder(10);
      const got: string[] = [];
      for (const chunk of chunks) {
        try {
          got.push(...d.push(chunk));
        } catch (err) {
          expect(err).toBeInstanceOf(RegisterMessageError);
          return [...got, ...(err as RegisterMessageError).decoded, 'error'];
        }
      }
      return got;
    };
    expect(deliver([bytes])).toEqual(['one', 'two', 'error']);
    expect(deliver([...bytes].map((b) => Buffer.from([b])))).toEqual(['one', 'two', 'error']);
  });

  test('a line of exactly the limit is accepted', () => {
    expect(new LineDecoder(10).push(Buffer.from('z'.repeat(10) + '\n'))).toEqual(['z'.repeat(10)]);
  });

  test('a too-long line fed one byte at a time throws once it passes the limit', () => {
    const d = new LineDecoder(16);
    let thrownAt = -1;
    for (let i = 0; i < 100; i++) {
      try {
        d.push(Buffer.from('w'));
      } catch (err) {
        expect(err).toBeInstanceOf(RegisterMessageError);
        thrownAt = i;
        break;
      }
    }
    expect(thrownAt).toBe(16);
  });

  // A long line that arrives a few bytes at a time (tiny records from a peer, or a slow plaintext peer) must cost time
  // linear in its length: it used to be split from its start again on every chunk, quadratic (a 256 KiB line in
  // 1-byte chunks took 70 s of CPU, the event loop blocked). Linear, the 512 KiB below take about a second; the bound
  // is the test's timeout (the loop yields now and then so that the timeout can end it).
  test('a 512 KiB line arriving one byte at a time is decoded in linear time', async () => {
    const d = new LineDecoder();
    const byte = Buffer.from('a');
    let lines = 0;
    for (let i = 0; i < 512 * 1024; i++) {
      lines += d.push(byte).length;
      if (i % 4096 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(lines).toBe(0);
    expect(d.push(Buffer.from('\n'))).toEqual(['a'.repeat(512 * 1024)]);
  }, 30_000);

  test('the default limit is 1 MiB', () => {
    expect(DEFAULT_MAX_LINE_LENGTH).toBe(1024 * 1024);
    const d = new LineDecoder();
    expect(d.push(Buffer.alloc(DEFAULT_MAX_LINE_LENGTH, 0x61))).toEqual([]);
    expect(() => d.push(Buffer.from('a'))).toThrow(/line longer than/);
  });
});

describe('register addresses are checked as connectable ipv4:port', () => {
  it.each(['127.0.0.1:70000', '999.999.999.999:2000', '127.0.0.1:0', '127.0.0.1:'])('rejects %s', (address) => {
    expect(() => parseRegisterMessage(JSON.stringify({ event: 'gateway_connect', address }))).toThrow(
      RegisterMessageError,
    );
    expect(() => parseRegisterMessage(JSON.stringify({ event: 'broadcast_addresses', addresses: [address] }))).toThrow(
      RegisterMessageError,
    );
  });
});
