import { Cmd, FrameFlag } from '../protocol/command';
import { frame } from '../protocol/frame';
import { phpClientMessage, RawOutgoingMessage } from './php-message';
import { phpSerialize } from './php-serialize';
import { fromJson } from './php-value';

const ser = (v: Parameters<typeof phpSerialize>[0]) => phpSerialize(v).toString('utf8');

describe("PHP's message body rule (phpClientMessage)", () => {
  const message = (flag: number, body: string) =>
    phpClientMessage(frame({ cmd: Cmd.SendToOne, flag, body: Buffer.from(body, 'utf8') }));
  it('flag 1: raw bytes; flag 1 + 0x02: written as they are; flag 0: unserialized as workerman sends it', () => {
    expect(message(FrameFlag.BodyIsScalar, 'hi')?.body.toString()).toBe('hi');
    const raw = phpClientMessage(
      frame({
        cmd: Cmd.SendToOne,
        flag: FrameFlag.BodyIsScalar | FrameFlag.NotCallEncode,
        body: Buffer.from('\x81\x02hi', 'latin1'),
      }),
    );
    expect(raw).toBeInstanceOf(RawOutgoingMessage);
    expect(raw?.webSocketFrame().toString('latin1')).toBe('\x81\x02hi');
    expect(message(0, 'N;')).toBeNull();
    expect(message(0, ser(fromJson({ not: 'scalar', s: 'a/b' })))?.body.toString()).toBe(
      '{"not":"scalar","s":"a\\/b"}',
    );
    expect(message(0, 'i:12345;')?.body.toString()).toBe('12345');
    // (string)(0.1 + 0.2) with PHP's precision 14; true is "1", false "".
    expect(message(0, 'd:0.30000000000000004;')?.body.toString()).toBe('0.3');
    expect(message(0, 'b:1;')?.body.toString()).toBe('1');
    expect(message(0, 'b:0;')?.body.toString()).toBe('');
    // What does not unserialize is PHP's false: an empty message.
    expect(message(0, 'garbage')?.body.toString()).toBe('');
    expect(message(0, 'garbage')?.binary).toBe(false);
  });
});
