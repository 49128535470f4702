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
  writeHeader(out, f, packLength);
  f.ext.copy(out, HEADER_LENGTH);
  f.body.copy(out, HEADER_LENGTH + f.ext.length);
  return out;
}

/** Writes the 28-byte header of `f` at offset 0 of `out`. */
export function writeHeader(out: Buffer, f: GatewayFrame, packLength: number): void {
  out.writeUInt32BE(packLength, 0);
  out.writeUInt8(f.cmd, 4);
  out.writeUInt32BE(f.localIp >>> 0, 5);
  out.writeUInt16BE(f.localPort, 9);
  out.writeUInt32BE(f.clientIp >>> 0, 11);
  out.writeUInt16BE(f.clientPort, 15);
  out.writeUInt32BE(f.connectionId >>> 0, 17);
  out.writeUInt8(f.flag, 21);
  out.writeUInt16BE(f.gatewayPort, 22);
  out.writeUInt32BE(f.ext.length, 24);
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
  const extLength = buf.readUInt32BE(24);
  if (extLength > packLength - HEADER_LENGTH) {
    throw new FrameError(`ext_len ${extLength} exceeds the frame's ${packLength - HEADER_LENGTH} bytes after the header`);
  }
  return {
    cmd: buf.readUInt8(4),
    localIp: buf.readUInt32BE(5),
    localPort: buf.readUInt16BE(9),
    clientIp: buf.readUInt32BE(11),
    clientPort: buf.readUInt16BE(15),
    connectionId: buf.readUInt32BE(17),
    flag: buf.readUInt8(21),
    gatewayPort: buf.readUInt16BE(22),
    // Most frames leave ext (replies, commands) or body (acks of nothing) empty: the shared empty buffer costs
    // no subarray allocation.
    ext: extLength === 0 ? EMPTY : buf.subarray(HEADER_LENGTH, HEADER_LENGTH + extLength),
    body: packLength === HEADER_LENGTH + extLength ? EMPTY : buf.subarray(HEADER_LENGTH + extLength),
  };
}

/** A byte sequence that is not a valid frame; it closes the link it came from, nothing else. */
export class FrameError extends Error {
  override name = 'FrameError';
}
