import { DashboardToken } from './dashboard-token';

describe('DashboardToken', () => {
  const token = new DashboardToken('the-dashboard-token-1234');

  it('accepts the token and nothing else (a prefix, a longer string, another case)', () => {
    expect(token.matches('the-dashboard-token-1234')).toBe(true);
    expect(token.matches('the-dashboard-token-123')).toBe(false);
    expect(token.matches('the-dashboard-token-12345')).toBe(false);
    expect(token.matches('THE-DASHBOARD-TOKEN-1234')).toBe(false);
    expect(token.matches('')).toBe(false);
  });

  it('reads a bearer token from an Authorization header (scheme in any case), else null', () => {
    expect(DashboardToken.fromHeader('Bearer abc.def')).toBe('abc.def');
    expect(DashboardToken.fromHeader('bearer   abc ')).toBe('abc');
    expect(DashboardToken.fromHeader(['Bearer first', 'Bearer second'])).toBe('first');
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer a b', 'abc'])
      expect({ header, token: DashboardToken.fromHeader(header) }).toEqual({ header, token: null });
  });
});
