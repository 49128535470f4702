import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError } from '../config/environment';
import {
  DEFAULT_HEAP_GROWING_PERCENT,
  HEAP_GROWING_PERCENT_VARIABLE,
  applyHeapGrowingPercent,
  readHeapGrowingPercent,
} from './heap-growth';

/**
 * A fresh Node process that builds a live heap of ≈ 20 MB, runs a full GC, then allocates long-lived objects until V8
 * starts incremental marking, with --trace-incremental-marking on: V8 prints the old generation's limit at that
 * start ("(size/limit/slack) v8: 80MB / 84MB / 4MB"), which is compared with the heap's size right after the full GC. `apply` (a percent, or null) is what the process
 * calls before building the heap, through the compiled heap-growth module.
 */
function limitOverLive(apply: number | null): number {
  const moduleFile = join(__dirname, '..', '..', 'dist', 'process', 'heap-growth.js');
  const script = `
    const v8 = require('node:v8');
    ${apply === null ? '' : `require(${JSON.stringify(moduleFile)}).applyHeapGrowingPercent(${apply}, []);`}
    v8.setFlagsFromString('--trace-incremental-marking');
    const live = [];
    for (let i = 0; i < 200000; i++) live.push({ i, s: 'x' + i, a: [i] });
    global.gc();
    console.log('LIVE', v8.getHeapStatistics().used_heap_size);
    const more = [];
    for (let i = 0; i < 2000000; i++) more.push({ i, s: 'y' + i });
  `;
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const live = /LIVE (\d+)/.exec(out.stdout);
  const m = /\(size\/limit\/slack\) v8: (\d+)MB \/ (\d+)MB/.exec(out.stdout);
  if (!live || !m) throw new Error(`no incremental marking start traced: ${out.stdout.slice(0, 500)} ${out.stderr}`);
  return (Number(m[2]) * 1024 * 1024) / Number(live[1]);
}

describe('heap growth (HEAP_GROWING_PERCENT)', () => {
  it('reads the variable: default 300, 0 = off, bad values are configuration errors', () => {
    expect(readHeapGrowingPercent({})).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(300);
    expect(readHeapGrowingPercent({ [HEAP_GROWING_PERCENT_VARIABLE]: '0' })).toBe(0);
    expect(readHeapGrowingPercent({ [HEAP_GROWING_PERCENT_VARIABLE]: '150' })).toBe(150);
    expect(() => readHeapGrowingPercent({ [HEAP_GROWING_PERCENT_VARIABLE]: '-1' })).toThrow(ConfigError);
    expect(() => readHeapGrowingPercent({ [HEAP_GROWING_PERCENT_VARIABLE]: '1001' })).toThrow(ConfigError);
    expect(() => readHeapGrowingPercent({ [HEAP_GROWING_PERCENT_VARIABLE]: 'lots' })).toThrow(/HEAP_GROWING_PERCENT/);
  });

  it('leaves V8 alone for 0 and when node was started with its own --heap-growing-percent', () => {
    expect(applyHeapGrowingPercent(0, [])).toBe(false);
    expect(applyHeapGrowingPercent(300, ['--heap-growing-percent=50'])).toBe(false);
    expect(applyHeapGrowingPercent(300, ['--heap_growing_percent', '50'])).toBe(false);
  });

  it("sets V8's growing factor: the old-generation limit after a full GC follows (1 + n/100) × the live size", () => {
    // V8's limit is live × factor + the young generation's capacity (up to 32 MB). Its own factor here is about 4
    // (it judges this allocation fast), so a small percent is what shows that the flag took effect.
    const none = limitOverLive(null);
    const half = limitOverLive(50);
    const double = limitOverLive(100);
    expect(none).toBeGreaterThan(3);
    expect(half).toBeLessThan(2.6); // 1.5 + at most 32 MB over ≈ 30 MB live
    expect(double).toBeGreaterThan(half);
    expect(double).toBeLessThan(none);
  }, 60_000);
});
