import { ClientCloseWarnings } from './client-close-warnings';

describe('ClientCloseWarnings', () => {
  it('logs the first close of each reason and suppresses the rest of the window, per reason', () => {
    const lines: string[] = [];
    const warnings = new ClientCloseWarnings({ warn: (line: string) => void lines.push(line) });
    for (let i = 0; i < 100; i++) warnings.warn('oversize', `client ${i} closed with 1009`);
    for (let i = 0; i < 100; i++) warnings.warn('slow consumer', `client ${i} disconnected: slow consumer`);
    expect(lines).toEqual(['client 0 closed with 1009', 'client 0 disconnected: slow consumer']);
  });
});
