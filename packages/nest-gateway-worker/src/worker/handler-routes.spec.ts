import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { HandlerRoutes } from './handler-routes';
import type { RequestId } from './request-reply';

const handler = (): MessageHandler => (async () => undefined) as MessageHandler;
const picked = () => ({ body: undefined as unknown, requestId: undefined as RequestId | undefined });

afterEach(() => jest.restoreAllMocks());

describe('HandlerRoutes', () => {
  it("warns about each route that is not a client event pattern (another transport's) and gives it no events", () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const untyped = handler();
    const routes = new HandlerRoutes([
      ['sum', handler()], // @MessagePattern('sum') without a transport id reaches every transport
      ['{"cmd":"sum"}', handler()],
      ['{"gw":"message"}', untyped],
    ]);
    expect(warn.mock.calls.map(([m]) => m)).toEqual([
      'handler pattern sum is not a client event (@OnClientConnect/Message/Close); it gets no events from gateways',
      'handler pattern {"cmd":"sum"} is not a client event (@OnClientConnect/Message/Close); it gets no events from gateways',
    ]);
    const into = picked();
    expect(routes.pick('message', Buffer.from('sum'), false, into)).toBe(untyped);
    expect(into.body).toBe('sum');
  });

  it('picks typed handlers by the JSON type, the untyped one otherwise, and warns once when a message has no handler', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const join = handler();
    const connect = handler();
    const routes = new HandlerRoutes([
      ['{"gw":"message","type":"join"}', join],
      ['{"gw":"connect"}', connect],
    ]);
    expect(routes.typedCount).toBe(1);
    expect(routes.hasUntypedMessage).toBe(false);
    const into = picked();
    expect(routes.pick('message', Buffer.from('{"type":"join","room":1}'), false, into)).toBe(join);
    expect(into.body).toEqual({ type: 'join', room: 1 });
    expect(routes.pick('connect', Buffer.alloc(0), false, into)).toBe(connect);
    expect(into.body).toBeUndefined();
    expect(routes.pick('close', Buffer.alloc(0), false, into)).toBeUndefined();
    expect(routes.pick('message', Buffer.from('{"type":"leave"}'), false, into)).toBeUndefined();
    expect(routes.pick('message', Buffer.from('{"type":"join"}'), true, into)).toBeUndefined(); // binary is never typed
    expect(Buffer.isBuffer(into.body)).toBe(true);
    expect(routes.pick('message', Buffer.from('not json {'), false, into)).toBeUndefined();
    expect(warn.mock.calls).toEqual([['a client message matched no @OnClientMessage() handler; dropped']]);
  });

  it('takes a request id ($rid: a number or a string of up to 64 characters) out of a parsed message', () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const join = handler();
    const untyped = handler();
    const routes = new HandlerRoutes([
      ['{"gw":"message","type":"join"}', join],
      ['{"gw":"message"}', untyped],
    ]);
    const pick = (text: string) => {
      const into = picked();
      return { handler: routes.pick('message', Buffer.from(text), false, into), ...into };
    };
    expect(pick('{"type":"join","room":"a","$rid":7}')).toEqual({
      handler: join,
      body: { type: 'join', room: 'a' },
      requestId: 7,
      route: 'join',
    });
    expect(pick('{"$rid":"r-1","type":"join"}')).toEqual({
      handler: join,
      body: { type: 'join' },
      requestId: 'r-1',
      route: 'join',
    });
    // Not an id: left in the message, no request.
    expect(pick('{"type":"join","$rid":{"x":1}}')).toEqual({
      handler: join,
      body: { type: 'join', $rid: { x: 1 } },
      requestId: undefined,
      route: 'join',
    });
    expect(pick(`{"type":"join","$rid":"${'x'.repeat(65)}"}`).requestId).toBeUndefined();
    // An untyped JSON message that was parsed still counts as a request; its body stays the text as sent.
    expect(pick('{"type":"other","$rid":3}')).toEqual({
      handler: untyped,
      body: '{"type":"other","$rid":3}',
      requestId: 3,
    });
    // Without the field: nothing changes.
    expect(pick('{"type":"join"}')).toEqual({
      handler: join,
      body: { type: 'join' },
      requestId: undefined,
      route: 'join',
    });
  });
});
