/**
 * Waiting in end-to-end tests, always bounded in time, and failing with what was awaited and the last value
 * seen: `eventually` polls a probe, `within` bounds one promise, `exitWithin` bounds a process's exit.
 */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function describeValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

/**
 * Calls `probe` every `intervalMs` (default 50) until its value passes `ok` and returns that value; after
 * `timeoutMs` throws an error naming `what` and the last value (or error) seen.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${describeValue(last)}`);
    await sleep(intervalMs);
  }
}

/** Resolves as `promise` does, or rejects after `timeoutMs` with an error naming `what`. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The exit code of a process (null when a signal ended it), or 'still running' after `timeoutMs`; the process
 * is left running (the test's stopAll stops it).
 */
export async function exitWithin(
  proc: { exited: Promise<number | null> },
  timeoutMs: number,
): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), timeoutMs)));
  const code = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  return code;
}
