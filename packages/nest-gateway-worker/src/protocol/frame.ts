import { FrameFlag } from './command';

/** Length of the fixed GatewayProtocol header in bytes. */
export const HEADER_LENGTH = 28;

/**
 * One GatewayProtocol frame (reference/php-gatewayworker-spec.md §2.1). All integers are unsigned;
 * IPv4 addresses are u32 in network order (127.0.0.1 = 0x7f000001).
 */
export interface GatewayFrame {
  cmd: number;
  /** Gateway lan IPv4 as u32; 0 in worker→gateway frames. */
  localIp: number;
  /** Gateway inner port; 0 in worker→gateway frames. */
  localPort: number;
  /** Client remote IPv4 as u32 (0 for IPv6 clients). */
  clientIp: number;
  clientPort: number;
  /** Per-gateway-process connection id, 0 when not applicable. */
  connectionId: number;
  flag: number;
  /** The gateway's client-facing listen port. */
  gatewayPort: number;
  ext: Buffer;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** A frame with every header field zero and empty ext/body, overridden by `fields`. */
export function frame(fields: Partial<GatewayFrame> & { cmd: number }): GatewayFrame {
  return {
    localIp: 0,
    localPort: 0,
    clientIp: 0,
    clientPort: 0,
    connectionId: 0,
    flag: FrameFlag.BodyIsScalar,
    gatewayPort: 0,
    ext: EMPTY,
    body: EMPTY,
    ...fields,
  };
}

/** Serialises a frame into one buffer: header, ext, body. */
export function encodeFrame(f: GatewayFrame): Buffer {
  const packLength = HEADER_LENGTH + f.ext.length + f.body.length;
  const out = Buffer.allocUnsafe(packLength);
  writeHeader(out, f, packLength, f.ext.length);
  f.ext.copy(out, HEADER_LENGTH);
  f.body.copy(out, HEADER_LENGTH + f.ext.length);
  return out;
}

/** The header fields of a frame (everything but ext and body). */
export type FrameHeader = Omit<GatewayFrame, 'ext' | 'body'>;

/**
 * Writes the 28-byte header of `f` at offset `at` (default 0) of `out`.
 *
 * Byte by byte: Buffer#writeUInt32BE and friends check offset and value on every call, ~90 ns for a header against
 * ~15 here (once per event on the gateway). The checks they made are made once instead: the header must fit, and a
 * u16 or u8 field out of its range is a RangeError as before; u32 fields are taken modulo 2^32 (`>>> 0`, as before).
 */
export function writeHeader(out: Buffer, f: FrameHeader, packLength: number, extLength: number, at = 0): void {
  if (at < 0 || at + HEADER_LENGTH > out.length) {
    throw new RangeError(`a ${HEADER_LENGTH}-byte header does not fit at ${at} of ${out.length} bytes`);
  }
  if ((f.localPort | f.clientPort | f.gatewayPort) >>> 0 > 0xffff || (f.cmd | f.flag) >>> 0 > 0xff) {
    throw new RangeError(
      `frame header field out of range (cmd ${f.cmd}, flag ${f.flag}, ports ${f.localPort}/${f.clientPort}/${f.gatewayPort})`,
    );
  }
  if (packLength > 0xffffffff || extLength > 0xffffffff || packLength < 0 || extLength < 0) {
    throw new RangeError(`pack_len ${packLength} / ext_len ${extLength} out of range`);
  }
  putU32(out, at, packLength);
  out[at + 4] = f.cmd;
  putU32(out, at + 5, f.localIp);
  putU16(out, at + 9, f.localPort);
  putU32(out, at + 11, f.clientIp);
  putU16(out, at + 15, f.clientPort);
  putU32(out, at + 17, f.connectionId);
  out[at + 21] = f.flag;
  putU16(out, at + 22, f.gatewayPort);
  putU32(out, at + 24, extLength);
}

/** Writes `value` modulo 2^32 as a big-endian u32 at `at` of `out` (the caller has checked that it fits). */
export function putU32(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

function putU16(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value;
}

/**
 * Parses one complete frame (`buf` holds exactly pack_len bytes). ext and body are views into `buf`,
 * not copies. Throws {@link FrameError} when the lengths are inconsistent.
 */
export function decodeFrame(buf: Buffer): GatewayFrame {
  if (buf.length < HEADER_LENGTH) {
    throw new FrameError(`frame shorter than the ${HEADER_LENGTH}-byte header (${buf.length} bytes)`);
  }
  const packLength = buf.readUInt32BE(0);
  if (packLength !== buf.length) {
    throw new FrameError(`pack_len ${packLength} does not match the ${buf.length} bytes given`);
  }
  return decodeFrameAt(buf, 0, packLength);
}

/**
 * Parses the frame of `packLength` bytes (at least the header, as its own pack_len says) at `offset` of `buf`,
 * without making a view of the whole frame first: ext and body are views straight into `buf`. The stream
 * decoder reads frames this way in place from a received chunk.
 *
 * The header's integers are read byte by byte ({@link u32At}, {@link u16At}): Buffer#readUInt32BE and friends check
 * their offset on every call and were not always inlined here, which made this ~180 ns per frame instead of ~90 (the
 * rest is the two views). The frame's bounds are checked once, up front.
 */
export function decodeFrameAt(buf: Buffer, offset: number, packLength: number): GatewayFrame {
  if (packLength < HEADER_LENGTH || offset < 0 || offset + packLength > buf.length) {
    throw new FrameError(`a frame of ${packLength} bytes at ${offset} does not fit in the ${buf.length} bytes given`);
  }
  const extLength = u32At(buf, offset + 24);
  if (extLength > packLength - HEADER_LENGTH) {
    throw new FrameError(
      `ext_len ${extLength} exceeds the frame's ${packLength - HEADER_LENGTH} bytes after the header`,
    );
  }
  const extAt = offset + HEADER_LENGTH;
  const bodyAt = extAt + extLength;
  const end = offset + packLength;
  return {
    cmd: buf[offset + 4],
    localIp: u32At(buf, offset + 5),
    localPort: u16At(buf, offset + 9),
    clientIp: u32At(buf, offset + 11),
    clientPort: u16At(buf, offset + 15),
    connectionId: u32At(buf, offset + 17),
    flag: buf[offset + 21],
    gatewayPort: u16At(buf, offset + 22),
    // Most frames leave ext (replies, commands) or body (acks of nothing) empty: the shared empty buffer costs
    // no view allocation.
    ext: extLength === 0 ? EMPTY : buf.subarray(extAt, bodyAt),
    body: bodyAt === end ? EMPTY : buf.subarray(bodyAt, end),
  };
}

/** The big-endian u32 at `at` of `buf` (the caller has checked that its 4 bytes are there). */
export function u32At(buf: Buffer, at: number): number {
  return buf[at] * 0x1000000 + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

/** The big-endian u16 at `at` of `buf` (the caller has checked that its 2 bytes are there). */
function u16At(buf: Buffer, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

/** A byte sequence that is not a valid frame; it closes the link it came from, nothing else. */
export class FrameError extends Error {
  override name = 'FrameError';

  constructor(
    message: string,
    /**
     * The frames the same push of the stream decoder (FrameDecoder) decoded before the bad one, in order: they are delivered before
     * the link closes, so which frames run does not depend on how TCP split the stream. Empty when rethrown.
     */
    readonly decoded: readonly GatewayFrame[] = [],
  ) {
    super(message);
  }
}
