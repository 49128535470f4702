import { formatHistoryPosition, parseHistoryPosition } from '../backplane/history-position';
import { FrameFlag } from '../protocol/command';
import { GatewayArgumentError } from './gateway-errors';
import { deliveredFields, keptMessage } from './history-message';

const text = (fields: { body: Buffer }) => fields.body.toString('utf8');

describe('history messages: what is kept, and what is delivered with its position', () => {
  it('a JSON object is kept without $offset and delivered with it first (the rest byte for byte)', () => {
    const kept = keptMessage({ type: 'say', text: 'hi', $offset: 'mine' });
    expect([kept.format, kept.body.toString()]).toEqual(['json', '{"type":"say","text":"hi"}']);
    const fields = deliveredFields(kept, 'e1:7');
    expect(text(fields)).toBe('{"$offset":"e1:7","type":"say","text":"hi"}');
    expect(fields.flag & FrameFlag.Binary).toBe(0);
    expect(JSON.parse(text(fields))).toEqual({ $offset: 'e1:7', type: 'say', text: 'hi' });
    expect(text(deliveredFields(keptMessage({}), 'e1:8'))).toBe('{"$offset":"e1:8"}');
    // A string holding a JSON object is one too.
    expect(text(deliveredFields(keptMessage('{"a":[1,{"b":2}]}'), 'e:1'))).toBe('{"$offset":"e:1","a":[1,{"b":2}]}');
  });

  it('binary stays binary, other text and arrays stay as sent (no position in them)', () => {
    const binary = keptMessage(Buffer.from([0x7b, 0x00]));
    expect(binary.format).toBe('binary');
    const fields = deliveredFields(binary, 'e:1');
    expect([fields.body, fields.flag & FrameFlag.Binary]).toEqual([Buffer.from([0x7b, 0x00]), FrameFlag.Binary]);
    expect(keptMessage(new Uint8Array([1, 2])).format).toBe('binary');
    for (const [message, body] of [
      ['plain', 'plain'],
      ['{not json', '{not json'],
      [[1, 2], '[1,2]'],
      ['[1]', '[1]'],
      [new Date(0), '"1970-01-01T00:00:00.000Z"'],
    ] as [unknown, string][]) {
      const kept = keptMessage(message);
      expect([kept.format, text(deliveredFields(kept, 'e:1'))]).toEqual(['text', body]);
    }
    expect(() => keptMessage(undefined)).toThrow(GatewayArgumentError);
  });

  it("positions: `<epoch>:<offset>` both ways; a stranger's text is null, never an error", () => {
    expect(formatHistoryPosition({ epoch: '3f9a', offset: 42 })).toBe('3f9a:42');
    expect(formatHistoryPosition({ epoch: '', offset: 0 })).toBe('');
    expect(parseHistoryPosition('3f9a:42')).toEqual({ epoch: '3f9a', offset: 42 });
    expect(parseHistoryPosition('a:b:7')).toEqual({ epoch: 'a:b', offset: 7 });
    for (const bad of [
      undefined,
      '',
      '42',
      ':4',
      'e:',
      'e:-1',
      'e:1.5',
      'e:1e3',
      `e:${'9'.repeat(16)}`,
      'x'.repeat(200) + ':1',
      42,
    ])
      expect(parseHistoryPosition(bad)).toBeNull();
  });
});
