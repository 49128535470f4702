import * as server from 'nest-gateway-worker/internal';
import { CloseCode, RECONNECTABLE_CLOSE_CODES } from './close-codes.js';
import * as client from './conventions.js';

/**
 * This library defines the server's wire names and close codes itself (no run-time dependency on the server
 * package); here both definitions meet.
 */
describe('the client library and the server agree', () => {
  it('on the reserved messages and fields', () => {
    expect(client).toEqual({
      CLIENT_PING: server.CLIENT_PING,
      CLIENT_PONG: server.CLIENT_PONG,
      REQUEST_ID_FIELD: server.REQUEST_ID_FIELD,
      REPLY_DATA_FIELD: server.REPLY_DATA_FIELD,
      REPLY_ERROR_FIELD: server.REPLY_ERROR_FIELD,
      REPLY_STATUS_FIELD: server.REPLY_STATUS_FIELD,
      RESUME_OFFSET_FIELD: server.RESUME_OFFSET_FIELD,
      RESUME_QUERY_PARAM: server.RESUME_QUERY_PARAM,
      RESUME_STREAM_FIELD: server.RESUME_STREAM_FIELD,
      RESUME_OFFSETS_FIELD: server.RESUME_OFFSETS_FIELD,
    });
  });

  it("on the gateway's close codes, and the reconnectable ones among them", () => {
    expect(CloseCode.GATEWAY_SHUTTING_DOWN).toBe(server.SHUTDOWN_CLOSE.code);
    expect(CloseCode.NO_WORKER).toBe(server.NO_WORKER_CLOSE.code);
    expect(CloseCode.SLOW_CONSUMER).toBe(server.SLOW_CONSUMER_CLOSE.code);
    expect(CloseCode.HEARTBEAT_TIMEOUT).toBe(server.HEARTBEAT_CLOSE.code);
    expect(CloseCode.EVENT_NOT_HANDLED).toBe(server.DEAD_LETTER_CLOSE.code);
    expect(CloseCode.RATE_LIMITED).toBe(server.RATE_LIMIT_CLOSE.code);
    expect(CloseCode.MESSAGE_TOO_BIG).toBe(server.MESSAGE_TOO_BIG);
    expect(CloseCode.NORMAL).toBe(server.DEFAULT_CLOSE_CODE);
    for (const close of [
      server.SHUTDOWN_CLOSE,
      server.NO_WORKER_CLOSE,
      server.SLOW_CONSUMER_CLOSE,
      server.HEARTBEAT_CLOSE,
      server.DEAD_LETTER_CLOSE,
    ])
      expect(RECONNECTABLE_CLOSE_CODES).toContain(close.code);
    for (const code of [server.RATE_LIMIT_CLOSE.code, server.MESSAGE_TOO_BIG, server.DEFAULT_REJECT_CODE])
      expect(RECONNECTABLE_CLOSE_CODES).not.toContain(code);
  });
});
