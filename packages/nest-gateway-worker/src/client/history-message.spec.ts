import { formatHistoryPosition, parseHistoryPosition } from '../backplane/history-position';
import { FrameFlag } from '../protocol/command';
import { GatewayArgumentError } from './gateway-errors';
import { deliveredFields, historyStreamOf, keptMessage } from './history-message';
import { resumePosition } from './resume-position';

const text = (fields: { body: Buffer }) => fields.body.toString('utf8');

describe('history messages: what is kept, and what is delivered with its position', () => {
  it('a JSON object is kept without $offset/$stream and delivered with both first (the rest byte for byte)', () => {
    const kept = keptMessage({ type: 'say', text: 'hi', $offset: 'mine', $stream: 'forged' });
    expect([kept.format, kept.body.toString()]).toEqual(['json', '{"type":"say","text":"hi"}']);
    const fields = deliveredFields(kept, 'e1:7', 'group:room');
    expect(text(fields)).toBe('{"$offset":"e1:7","$stream":"group:room","type":"say","text":"hi"}');
    expect(fields.flag & FrameFlag.Binary).toBe(0);
    expect(JSON.parse(text(fields))).toEqual({ $offset: 'e1:7', $stream: 'group:room', type: 'say', text: 'hi' });
    expect(text(deliveredFields(keptMessage({}), 'e1:8', 'uid:7'))).toBe('{"$offset":"e1:8","$stream":"uid:7"}');
    // A string holding a JSON object is one too; a stream name is JSON-escaped.
    expect(text(deliveredFields(keptMessage('{"a":[1,{"b":2}]}'), 'e:1', 'group:"q"'))).toBe(
      '{"$offset":"e:1","$stream":"group:\\"q\\"","a":[1,{"b":2}]}',
    );
    expect(historyStreamOf('group', 'room')).toBe('group:room');
  });

  it('resumePosition: the per-stream parameter, else the plain one only from a client that sent no stream', () => {
    const both = { resume: 'e9:1', 'resume.group:room': 'e1:5', 'resume.uid:7': 'e2:3' };
    expect(resumePosition(both, 'group', 'room')).toBe('e1:5');
    expect(resumePosition(both, 'uid', 7)).toBe('e2:3');
    // A stream the client never followed: no position (not another stream's).
    expect(resumePosition(both, 'group', 'other')).toBeUndefined();
    expect(resumePosition({ resume: 'e9:1' }, 'group', 'room')).toBe('e9:1');
    expect(resumePosition({}, 'group', 'room')).toBeUndefined();
    // Repeated parameters (arrays) are not a position.
    expect(resumePosition({ resume: ['a:1', 'b:2'] }, 'group', 'room')).toBeUndefined();
    expect(resumePosition({ 'resume.group:room': ['a:1', 'b:2'] }, 'group', 'room')).toBeUndefined();
  });

  it('binary stays binary, other text and arrays stay as sent (no position in them)', () => {
    const binary = keptMessage(Buffer.from([0x7b, 0x00]));
    expect(binary.format).toBe('binary');
    const fields = deliveredFields(binary, 'e:1', 'uid:u');
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
      expect([kept.format, text(deliveredFields(kept, 'e:1', 'uid:u'))]).toEqual(['text', body]);
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
