import { Cmd } from './command';
import { decodeFrame } from './frame';
import {
  GatewayRequestError,
  decodeReply,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  encodeRequest,
} from './gateway-request';

describe('gateway requests (native command parameters)', () => {
  it('round-trips every field', () => {
    const request = {
      rid: 7,
      uid: 'u1',
      uids: ['a', 'b'],
      group: 'g',
      groups: ['g1'],
      connections: [1, 2],
      exclude: [3],
      select: 'groupUids' as const,
    };
    expect(decodeRequest(encodeRequest(request))).toEqual(request);
  });

  it('accepts "0" as a uid and a group (PHP\'s empty() refuses it; we do not)', () => {
    expect(decodeRequest(encodeRequest({ uid: '0', groups: ['0'] }))).toEqual({ uid: '0', groups: ['0'] });
  });

  it('round-trips a close code and reason (CloseWithReason, RejectConnection)', () => {
    for (const code of [1000, 1001, 1008, 1011, 1013, 3000, 4401, 4999]) {
      expect(decodeRequest(encodeRequest({ code, reason: 'bad token ✗' }))).toEqual({ code, reason: 'bad token ✗' });
    }
  });

  it('reads an empty ext as no parameters', () => {
    expect(decodeRequest(Buffer.alloc(0))).toEqual({});
  });

  it.each([
    ['not json', 'ext_data is not JSON'],
    ['[1]', 'ext_data must be a JSON object'],
    ['null', 'ext_data must be a JSON object'],
    ['{"rid":-1}', 'rid must be an integer'],
    ['{"rid":1.5}', 'rid must be an integer'],
    ['{"uid":""}', 'uid must be a non-empty string'],
    ['{"uid":42}', 'uid must be a non-empty string'],
    ['{"group":""}', 'group must be a non-empty string'],
    ['{"uids":"u1"}', 'uids must be a list of non-empty strings'],
    ['{"groups":["ok",""]}', 'groups must be a list of non-empty strings'],
    ['{"connections":[1,"2"]}', 'connections must be a list of connection ids'],
    ['{"exclude":[4294967296]}', 'exclude must be a list of connection ids'],
    ['{"select":"everything"}', 'select must be one of'],
    ['{"code":1006}', 'code must be a WebSocket close code'],
    ['{"code":999}', 'code must be a WebSocket close code'],
    ['{"code":5000}', 'code must be a WebSocket close code'],
    ['{"code":4000.5}', 'code must be a WebSocket close code'],
    ['{"code":"4403"}', 'code must be a WebSocket close code'],
    ['{"reason":403}', 'reason must be a string'],
  ])('rejects %s with a reason', (text, reason) => {
    expect(() => decodeRequest(Buffer.from(text))).toThrow(GatewayRequestError);
    expect(() => decodeRequest(Buffer.from(text))).toThrow(reason);
  });

  it('carries the request id in the Reply frame header and the result as JSON', () => {
    const f = decodeFrame(encodeReply(0xfffffffe, '{"a":[1,2]}'));
    expect(f.cmd).toBe(Cmd.Reply);
    expect(f.connectionId).toBe(0xfffffffe);
    expect(decodeReply(f.ext, f.body)).toEqual({ a: [1, 2] });
  });

  it("turns an error Reply into a GatewayRequestError with the gateway's reason", () => {
    const f = decodeFrame(encodeErrorReply(3, 'group is required'));
    expect(f.connectionId).toBe(3);
    expect(() => decodeReply(f.ext, f.body)).toThrow(new GatewayRequestError('group is required'));
  });
});
