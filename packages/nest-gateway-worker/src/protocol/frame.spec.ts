import * as fs from 'node:fs';
import * as path from 'node:path';
import { ipv4ToNumber, ipv4ToString } from './client-id';
import { Cmd, cmdName } from './command';
import { FrameError, HEADER_LENGTH, decodeFrame, decodeFrameAt, encodeFrame, frame, writeHeader } from './frame';

/** Captured from PHP GatewayWorker; a copy of /work/shared/reference/php-gatewayworker-vectors.json. */
const VECTORS_FILE = path.join(__dirname, 'testdata', 'php-gatewayworker-vectors.json');
/** The shared original, present in the development checkout only (CI runs on a clean clone). */
const SHARED_VECTORS_FILE = path.resolve(__dirname, '../../../../../shared/reference/php-gatewayworker-vectors.json');

interface FrameFields {
  pack_len: number;
  cmd: number;
  cmd_name: string;
  local_ip: string;
  local_port: number;
  client_ip: string;
  client_port: number;
  connection_id: number;
  flag: number;
  gateway_port: number;
  ext_len: number;
  ext_data: string;
  body: string;
}

interface FrameVector {
  id: string;
  title: string;
  kind: 'gateway_frame';
  hex: string;
  fields: FrameFields;
}

const allVectors = (JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as { vectors: Array<{ kind: string }> }).vectors;
const frameVectors = allVectors.filter((v): v is FrameVector => v.kind === 'gateway_frame');
const table = frameVectors.map((v) => [v.id, v] as const);

/** CMD_ON_WEBSOCKET_CONNECT → "onwebsocketconnect" (compared case-insensitively with the enum key). */
function phpNameToKey(phpName: string): string {
  return phpName.replace(/^CMD_/, '').replace(/_/g, '').toLowerCase();
}

const knownCmdValues = Object.values(Cmd).filter((v): v is number => typeof v === 'number');

describe('PHP GatewayWorker frame vectors', () => {
  test('the vector table is loaded and not silently empty', () => {
    expect(frameVectors.length).toBeGreaterThan(40);
    expect(new Set(frameVectors.map((v) => v.id)).size).toBe(frameVectors.length);
  });

  const sharedExists = fs.existsSync(SHARED_VECTORS_FILE);
  (sharedExists ? test : test.skip)('the testdata copy is identical to the shared reference file', () => {
    expect(fs.readFileSync(VECTORS_FILE).equals(fs.readFileSync(SHARED_VECTORS_FILE))).toBe(true);
  });

  test.each(table)('%s decodes to the captured header fields', (_id, v) => {
    const bytes = Buffer.from(v.hex, 'hex');
    const f = decodeFrame(bytes);
    const want = v.fields;

    expect(bytes.length).toBe(want.pack_len);
    expect(bytes.readUInt32BE(0)).toBe(want.pack_len);
    expect(f.cmd).toBe(want.cmd);
    expect(ipv4ToString(f.localIp)).toBe(want.local_ip);
    expect(f.localPort).toBe(want.local_port);
    expect(ipv4ToString(f.clientIp)).toBe(want.client_ip);
    expect(f.clientPort).toBe(want.client_port);
    expect(f.connectionId).toBe(want.connection_id);
    expect(f.flag).toBe(want.flag);
    expect(f.gatewayPort).toBe(want.gateway_port);
    expect(f.ext.length).toBe(want.ext_len);
    expect(HEADER_LENGTH + f.ext.length + f.body.length).toBe(want.pack_len);
    expect(f.ext.toString('utf8')).toBe(want.ext_data);
    expect(f.body.toString('utf8')).toBe(want.body);
  });

  test.each(table)('%s has a command code known to the Cmd enum, with the matching name', (_id, v) => {
    const f = decodeFrame(Buffer.from(v.hex, 'hex'));
    expect(knownCmdValues).toContain(f.cmd);
    expect(cmdName(f.cmd)).not.toMatch(/^cmd \d+$/);
    expect(cmdName(f.cmd).toLowerCase()).toBe(phpNameToKey(v.fields.cmd_name));
  });

  test.each(table)('%s re-encodes from its fields to the exact captured bytes', (_id, v) => {
    const want = v.fields;
    const ext = Buffer.from(want.ext_data, 'utf8');
    const body = Buffer.from(want.body, 'utf8');
    // ext_data and body are text: the utf8 round trip must be lossless for the comparison to mean anything.
    const captured = Buffer.from(v.hex, 'hex');
    expect(ext.equals(captured.subarray(HEADER_LENGTH, HEADER_LENGTH + want.ext_len))).toBe(true);
    expect(body.equals(captured.subarray(HEADER_LENGTH + want.ext_len))).toBe(true);

    const encoded = encodeFrame(
      frame({
        cmd: want.cmd,
        localIp: ipv4ToNumber(want.local_ip),
        localPort: want.local_port,
        clientIp: ipv4ToNumber(want.client_ip),
        clientPort: want.client_port,
        connectionId: want.connection_id,
        flag: want.flag,
        gatewayPort: want.gateway_port,
        ext,
        body,
      }),
    );
    expect(encoded.toString('hex')).toBe(v.hex.toLowerCase());
  });
});

describe('frame() / encodeFrame() / decodeFrame()', () => {
  test('frame() fills zero header fields, empty ext/body and the scalar flag', () => {
    const f = frame({ cmd: Cmd.Ping });
    expect(f).toEqual({
      cmd: 201,
      localIp: 0,
      localPort: 0,
      clientIp: 0,
      clientPort: 0,
      connectionId: 0,
      flag: 0x01,
      gatewayPort: 0,
      ext: Buffer.alloc(0),
      body: Buffer.alloc(0),
    });
    expect(encodeFrame(f).toString('hex')).toBe(
      ['0000001c', 'c9', '00000000', '0000', '00000000', '0000', '00000000', '01', '0000', '00000000'].join(''),
    );
  });

  test('round trips maximum header values and binary ext/body', () => {
    const original = frame({
      cmd: 255,
      localIp: 0xffffffff,
      localPort: 65535,
      clientIp: 0x80000001,
      clientPort: 65535,
      connectionId: 4294967295,
      flag: 0xff,
      gatewayPort: 65535,
      ext: Buffer.from([0x00, 0xff, 0x80, 0x0a]),
      body: Buffer.from([0xc3, 0x28, 0x00, 0xfe, 0xfd]),
    });
    const bytes = encodeFrame(original);
    expect(bytes.length).toBe(HEADER_LENGTH + 4 + 5);
    expect(bytes.readUInt32BE(0)).toBe(bytes.length);
    expect(bytes.readUInt32BE(24)).toBe(4);
    expect(decodeFrame(bytes)).toEqual(original);
  });

  test('a frame whose ext fills the whole payload decodes with an empty body', () => {
    const bytes = encodeFrame(frame({ cmd: Cmd.BindUid, connectionId: 7, ext: Buffer.from('u42') }));
    const f = decodeFrame(bytes);
    expect(f.ext.toString()).toBe('u42');
    expect(f.body.length).toBe(0);
  });

  test('decodeFrameAt reads every header field at any offset, with the bytes in network order', () => {
    // Every header byte differs, so a field read from the wrong bytes or in the wrong order shows.
    const fields = {
      cmd: 0x11,
      localIp: 0x8a9bacbd,
      localPort: 0xf10e,
      clientIp: 0xc1d2e3f4,
      clientPort: 0x0102,
      connectionId: 0xfedcba98,
      flag: 0x7e,
      gatewayPort: 0xa55a,
    };
    const one = encodeFrame(frame({ ...fields, ext: Buffer.from('ext'), body: Buffer.from('body!') }));
    const many = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), one, one]);
    for (const at of [3, 3 + one.length]) {
      const f = decodeFrameAt(many, at, one.length);
      expect({ ...f, ext: f.ext.toString(), body: f.body.toString() }).toEqual({
        ...fields,
        ext: 'ext',
        body: 'body!',
      });
    }
    // A frame that does not fit in what is given is a FrameError, not a read past the end.
    expect(() => decodeFrameAt(many, 3 + one.length + 1, one.length)).toThrow(FrameError);
    expect(() => decodeFrameAt(one, 0, one.length + 10)).toThrow(/does not fit/);
    expect(() => decodeFrameAt(many, 3, HEADER_LENGTH - 1)).toThrow(FrameError);
  });

  test('writeHeader writes what Buffer#writeUInt*BE wrote, and refuses what they refused', () => {
    const f = frame({ cmd: 200, localIp: -2, localPort: 65535, clientIp: 2 ** 32 + 7, connectionId: 0x89abcdef });
    const out = Buffer.alloc(40, 0xee);
    writeHeader(out, f, 0xfffffff0, 12, 5);
    const expected = Buffer.alloc(HEADER_LENGTH);
    expected.writeUInt32BE(0xfffffff0, 0);
    expected.writeUInt8(200, 4);
    expected.writeUInt32BE(-2 >>> 0, 5);
    expected.writeUInt16BE(65535, 9);
    expected.writeUInt32BE(7, 11); // u32 fields modulo 2^32, as `>>> 0` made them
    expected.writeUInt32BE(0x89abcdef, 17);
    expected.writeUInt8(f.flag, 21);
    expected.writeUInt32BE(12, 24);
    expect(out.subarray(5, 5 + HEADER_LENGTH).toString('hex')).toBe(expected.toString('hex'));
    expect(out[4]).toBe(0xee);
    expect(out[5 + HEADER_LENGTH]).toBe(0xee);
    expect(() => writeHeader(out, { ...f, clientPort: 65536 }, 28, 0)).toThrow(RangeError);
    expect(() => writeHeader(out, { ...f, gatewayPort: -1 }, 28, 0)).toThrow(RangeError);
    expect(() => writeHeader(out, { ...f, cmd: 256 }, 28, 0)).toThrow(RangeError);
    expect(() => writeHeader(out, f, 2 ** 32, 0)).toThrow(RangeError);
    expect(() => writeHeader(out, f, 28, 0, 13)).toThrow(RangeError);
  });

  test('cmdName names known codes and labels unknown ones', () => {
    expect(cmdName(Cmd.OnMessage)).toBe('OnMessage');
    expect(cmdName(205)).toBe('OnWebSocketConnect');
    expect(cmdName(2)).toBe('cmd 2');
    expect(cmdName(99)).toBe('cmd 99');
  });
});

describe('decodeFrame errors', () => {
  const valid = encodeFrame(
    frame({ cmd: Cmd.OnMessage, connectionId: 1, ext: Buffer.from('sess'), body: Buffer.from('hello') }),
  );

  test.each([0, 1, 4, 27])('a %i-byte buffer is shorter than the header', (n) => {
    expect(() => decodeFrame(valid.subarray(0, n))).toThrow(FrameError);
  });

  test('pack_len larger than the buffer (truncated frame)', () => {
    expect(() => decodeFrame(valid.subarray(0, valid.length - 1))).toThrow(FrameError);
    expect(() => decodeFrame(valid.subarray(0, HEADER_LENGTH))).toThrow(/pack_len/);
  });

  test('pack_len smaller than the buffer (trailing bytes)', () => {
    expect(() => decodeFrame(Buffer.concat([valid, Buffer.from([0])]))).toThrow(FrameError);
  });

  test('pack_len field altered to disagree with the buffer', () => {
    const bad = Buffer.from(valid);
    bad.writeUInt32BE(valid.length + 100, 0);
    expect(() => decodeFrame(bad)).toThrow(FrameError);
  });

  test('ext_len one byte beyond the payload', () => {
    const bad = Buffer.from(valid);
    bad.writeUInt32BE(valid.length - HEADER_LENGTH + 1, 24);
    expect(() => decodeFrame(bad)).toThrow(FrameError);
    expect(() => decodeFrame(bad)).toThrow(/ext_len/);
  });

  test('ext_len 0xffffffff', () => {
    const bad = Buffer.from(valid);
    bad.writeUInt32BE(0xffffffff, 24);
    expect(() => decodeFrame(bad)).toThrow(FrameError);
  });

  test('ext_len exactly the payload is still valid (boundary)', () => {
    const edge = Buffer.from(valid);
    edge.writeUInt32BE(valid.length - HEADER_LENGTH, 24);
    const f = decodeFrame(edge);
    expect(f.ext.toString()).toBe('sesshello');
    expect(f.body.length).toBe(0);
  });

  test('FrameError is an Error with its own name', () => {
    let caught: unknown;
    try {
      decodeFrame(Buffer.alloc(3));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('FrameError');
  });
});
