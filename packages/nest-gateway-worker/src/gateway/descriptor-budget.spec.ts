import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descriptorBudget, descriptorReserve, openFilesLimit } from './descriptor-budget';

describe('descriptor budget', () => {
  it('reads the soft open-files limit from a limits file, null when unlimited or unreadable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = (soft: string): string => {
      const path = join(dir, `limits-${soft}`);
      writeFileSync(
        path,
        'Limit                     Soft Limit           Hard Limit           Units     \n' +
          `Max open files            ${soft}                20000                files     \n`,
      );
      return path;
    };
    expect(openFilesLimit(file('1024'))).toBe(1024);
    expect(openFilesLimit(file('unlimited'))).toBeNull();
    expect(openFilesLimit(join(dir, 'missing'))).toBeNull();
  });

  it('keeps 10 % of the limit from clients, at least 64 and at most 1 024', () => {
    expect(descriptorReserve(300)).toBe(64);
    expect(descriptorReserve(1024)).toBe(102);
    expect(descriptorReserve(20_000)).toBe(1024);
  });

  it('derives the cap from the limit when unlimited, keeps a configured one and says when it is over the budget', () => {
    expect(descriptorBudget(0, 1024)).toMatchObject({ maxConnections: 922, derived: true, overBudget: false });
    expect(descriptorBudget(500, 1024)).toMatchObject({ maxConnections: 500, derived: false, overBudget: false });
    expect(descriptorBudget(1000, 1024)).toMatchObject({ maxConnections: 1000, derived: false, overBudget: true });
    expect(descriptorBudget(0, null)).toMatchObject({ maxConnections: 0, derived: false, reserve: 0 });
  });
});
