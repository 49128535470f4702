import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { HandlerRoutes } from './handler-routes';

const handler = (): MessageHandler => (async () => undefined) as MessageHandler;

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
    const into = { body: undefined as unknown };
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
    const into = { body: undefined as unknown };
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
});
