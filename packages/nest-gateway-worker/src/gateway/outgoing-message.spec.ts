import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { ClientFraming } from './listeners/client-framing';
import { GatewayWebSocket } from './listeners/gateway-websocket';
import { TextFraming } from './listeners/text-framing';
import { FrameFraming } from './listeners/frame-framing';
import { JOIN_LIMIT, OutgoingMessage } from './outgoing-message';
import { FLUSH_BYTES } from './listeners/turn-cork';

/** What ws itself would write for the message (unmasked server frame). */
function wsFrame(body: Buffer, binary: boolean): Buffer {
  const parts = (
    (WebSocket as unknown as { Sender: unknown }).Sender as { frame(d: Buffer, o: object): Buffer[] }
  ).frame(body, {
    fin: true,
    opcode: binary ? 2 : 1,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
  return Buffer.concat(parts);
}

describe('OutgoingMessage', () => {
  it.each([0, 1, 125, 126, 200, 65535, 65536, 70000])('frames a %i-byte payload exactly as ws does', (size) => {
    const body = Buffer.alloc(size, 0x61);
    for (const binary of [false, true]) {
      const m = new OutgoingMessage(body, binary);
      const bytes = m.joined ? m.webSocketFrame() : Buffer.concat([m.webSocketHeader(), body]);
      expect(bytes.equals(wsFrame(body, binary))).toBe(true);
      expect(m.joined).toBe(size <= JOIN_LIMIT);
    }
  });

  it('builds each encoding once and reuses it', () => {
    const m = new OutgoingMessage(Buffer.from('hi'), false);
    expect(m.webSocketFrame()).toBe(m.webSocketFrame());
    const text = new TextFraming();
    const frame = new FrameFraming();
    const encode = jest.spyOn(text, 'encode');
    const encodeFrame = jest.spyOn(frame, 'encode');
    const first = m.encodedFor(text);
    expect(m.encodedFor(frame)).toEqual(Buffer.from([0, 0, 0, 6, 0x68, 0x69]));
    expect(m.encodedFor(text)).toBe(first);
    expect(m.encodedFor(frame)).toBe(m.encodedFor(frame as ClientFraming));
    expect(first.toString()).toBe('hi\n');
    expect(encode).toHaveBeenCalledTimes(1);
    expect(encodeFrame).toHaveBeenCalledTimes(1);
  });
});

describe('GatewayWebSocket.sendMessage', () => {
  let wss: WebSocketServer;
  let server: Promise<GatewayWebSocket>;
  let client: WebSocket;

  beforeEach(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, WebSocket: GatewayWebSocket });
    await new Promise((resolve) => wss.once('listening', resolve));
    server = new Promise((resolve) => wss.once('connection', (ws: GatewayWebSocket) => resolve(ws)));
    client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once('open', resolve));
  });

  afterEach(async () => {
    client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('delivers prebuilt frames in order with ws sends, pings and the close frame; text stays text, binary binary', async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) =>
      got.push(`${isBinary ? 'bin' : 'text'}:${data.length}:${data[0] ?? ''}`),
    );
    client.on('ping', () => got.push('ping'));
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    const shared = new OutgoingMessage(Buffer.alloc(300, 7), true);
    ws.sendMessage(new OutgoingMessage(Buffer.from('a'), false));
    ws.send(Buffer.from('b'), false);
    ws.sendMessage(shared);
    ws.ping();
    ws.sendMessage(new OutgoingMessage(Buffer.alloc(0), false));
    ws.sendMessage(new OutgoingMessage(Buffer.alloc(JOIN_LIMIT + 1000, 9), true));
    ws.sendMessage(shared);
    ws.close(4001, 'done');
    // After the close frame: dropped, as ws drops sends on a closing socket.
    ws.sendMessage(shared);
    expect(await closed).toBe(4001);
    expect(got).toEqual([
      'text:1:97',
      'text:1:98',
      'bin:300:7',
      'ping',
      'text:0:',
      `bin:${JOIN_LIMIT + 1000}:9`,
      'bin:300:7',
    ]);
  });

  it('holds the writes of one turn for a client and writes them together when the turn ends', async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer) => got.push(data.toString()));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    const writev = jest.spyOn(socket as unknown as { _writev: (...args: unknown[]) => void }, '_writev');
    for (const text of ['1', '2', '3']) ws.sendMessage(new OutgoingMessage(Buffer.from(text), false));
    expect(socket.writableCorked).toBe(1);
    expect(ws.bufferedAmount).toBeGreaterThan(0); // the slow-consumer bound sees corked bytes
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(writev).toHaveBeenCalledTimes(1);
    await new Promise<void>((resolve) => client.on('message', () => got.length === 3 && resolve()));
    expect(got).toEqual(['1', '2', '3']);
  });

  it('holds the one message of a turn for a client and writes it alone at the end of the turn, without a cork', async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer) => got.push(data.toString()));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    const write = jest.spyOn(socket as unknown as { _write: (...args: unknown[]) => void }, '_write');
    const writev = jest.spyOn(socket as unknown as { _writev: (...args: unknown[]) => void }, '_writev');
    ws.sendMessage(new OutgoingMessage(Buffer.from('hello'), false));
    expect(socket.writableCorked).toBe(0);
    expect(socket.writableLength).toBe(0);
    expect(ws.bufferedAmount).toBe(7); // the held frame (2 + 5 bytes) counts for the slow-consumer bound
    expect(write).not.toHaveBeenCalled();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(write).toHaveBeenCalledTimes(1);
    expect(writev).not.toHaveBeenCalled();
    expect(ws.bufferedAmount).toBe(0);
    await new Promise<void>((resolve) => client.on('message', () => got.length === 1 && resolve()));
    expect(got).toEqual(['hello']);
  });

  it('writes the held message before a close frame sent in the same turn', async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer) => got.push(data.toString()));
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    ws.sendMessage(new OutgoingMessage(Buffer.from('bye'), false));
    ws.close(4002, 'done');
    expect(await closed).toBe(4002);
    expect(got).toEqual(['bye']);
  });

  it('writes at once what a turn holds for a client past FLUSH_BYTES, so the slow-consumer bound is not reached sooner', async () => {
    const ws = await server;
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    const big = new OutgoingMessage(Buffer.alloc(FLUSH_BYTES / 2 + 1), true);
    ws.sendMessage(big);
    ws.sendMessage(big);
    expect(socket.writableCorked).toBe(1);
    const held = ws.bufferedAmount;
    ws.sendMessage(big); // more than FLUSH_BYTES held: handed to the socket before this one is held
    expect(socket.writableCorked).toBe(1);
    expect(ws.bufferedAmount).toBeLessThan(held + FLUSH_BYTES / 2);
  });

  it('a send followed by terminate in the same turn still sends (the corked bytes go out first)', async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer) => got.push(data.toString()));
    const closed = new Promise((resolve) => client.once('close', resolve));
    ws.sendMessage(new OutgoingMessage(Buffer.from('last words'), false));
    ws.terminate();
    await closed;
    expect(got).toEqual(['last words']);
  });

  it("falls back to ws's own send while ws's sender holds queued work", async () => {
    const ws = await server;
    const got: string[] = [];
    client.on('message', (data: Buffer) => got.push(data.toString()));
    const sender = (ws as unknown as { _sender: { _state: number; dequeue(): void } })._sender;
    const send = jest.spyOn(WebSocket.prototype, 'send');
    // As while ws deflates or reads a Blob: its sends queue behind that work.
    sender._state = 1;
    ws.sendMessage(new OutgoingMessage(Buffer.from('queued'), false));
    expect(send).toHaveBeenCalledTimes(1);
    sender._state = 0;
    sender.dequeue();
    ws.sendMessage(new OutgoingMessage(Buffer.from('direct'), false));
    await new Promise<void>((resolve) => client.on('message', () => got.length === 2 && resolve()));
    expect(got).toEqual(['queued', 'direct']);
    send.mockRestore();
  });
});
