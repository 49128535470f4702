import { readFileSync } from 'node:fs';

/**
 * The figures the fault scenarios print (never assert: the machine is shared and timings vary): latency
 * summaries, byte counts in MiB, and the resident set size of a process this test started.
 */

/** "n=120 p50=3.1 p99=15.0 max=22.4 ms" (or "n=0") for latencies in milliseconds. */
export function latencySummary(ms: number[]): string {
  if (ms.length === 0) return 'n=0';
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `n=${sorted.length} p50=${at(0.5).toFixed(1)} p99=${at(0.99).toFixed(1)} max=${sorted[sorted.length - 1].toFixed(1)} ms`;
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Resident set size of process `pid` in bytes (Linux /proc), or undefined where /proc is not available. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
