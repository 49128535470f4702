import { CloseCode, isReconnectable, isRejection, RECONNECTABLE_CLOSE_CODES } from './close-codes.js';

describe('the reconnect policy by close code', () => {
  it("reconnects after the closes the README marks reconnectable, a lost connection, and proxies' restarts", () => {
    expect([...RECONNECTABLE_CLOSE_CODES].sort()).toEqual([1001, 1006, 1012, 1013, 1014, 4008, 4009, 4010]);
    for (const code of [1001, 1006, 1012, 1013, 1014, 4008, 4009, 4010])
      expect([code, isReconnectable(code)]).toEqual([code, true]);
  });

  it('never after a normal close, a rejection (4000 + HTTP status), a message too big, a rate limit or a protocol error', () => {
    for (const code of [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1011, 4000, 4401, 4403, 4429, 4500, 4503, 3000])
      expect([code, isReconnectable(code)]).toEqual([code, false]);
  });

  it('tells rejections by their 44xx/45xx code', () => {
    expect([4400, 4401, 4403, 4429, 4503].map(isRejection)).toEqual([true, true, true, true, true]);
    expect([1000, 1013, 4008, 4009, 4000, 4600].map(isRejection)).toEqual([false, false, false, false, false, false]);
  });

  it("names the gateway's codes", () => {
    expect(CloseCode).toMatchObject({
      GATEWAY_SHUTTING_DOWN: 1001,
      NO_WORKER: 1013,
      SLOW_CONSUMER: 4008,
      HEARTBEAT_TIMEOUT: 4009,
      EVENT_NOT_HANDLED: 4010,
      MESSAGE_TOO_BIG: 1009,
      RATE_LIMITED: 1008,
    });
  });
});
