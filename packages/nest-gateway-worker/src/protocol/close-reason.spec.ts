import { MAX_CLOSE_REASON_BYTES, isSendableCloseCode, truncateCloseReason } from './close-reason';

describe('close codes and reasons', () => {
  it.each([1000, 1001, 1008, 1011, 1013, 3000, 4000, 4403, 4999])('%i may be sent', (code) => {
    expect(isSendableCloseCode(code)).toBe(true);
  });

  it.each([0, 999, 1002, 1005, 1006, 1015, 2999, 5000, 4403.5, NaN, '4403', null])('%p may not', (code) => {
    expect(isSendableCloseCode(code)).toBe(false);
  });

  it('keeps a reason that fits, cuts a longer one to 123 bytes on a character boundary', () => {
    expect(truncateCloseReason('')).toBe('');
    expect(truncateCloseReason('a'.repeat(123))).toBe('a'.repeat(123));
    expect(truncateCloseReason('a'.repeat(200))).toBe('a'.repeat(MAX_CLOSE_REASON_BYTES));
    // 2-byte é: 61 fit (122 bytes); 4-byte 😀 after 120 ASCII bytes does not fit (124).
    expect(truncateCloseReason('é'.repeat(100))).toBe('é'.repeat(61));
    expect(truncateCloseReason('a'.repeat(120) + '😀' + 'b')).toBe('a'.repeat(120));
    for (const reason of ['€'.repeat(50), 'x😀'.repeat(40)]) {
      const cut = truncateCloseReason(reason);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
      expect(reason.startsWith(cut)).toBe(true);
      expect(Buffer.from(cut).toString('utf8')).toBe(cut); // still valid UTF-8
    }
  });
});
