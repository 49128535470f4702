import { ConfigError } from 'nest-gateway-worker';

/** Where the example app's HTTP API listens by default. */
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:3000';

/** HTTP_LISTEN: where the HTTP API listens ("host:port", port 0 = any free port), or null for "off". */
export function readHttpListen(
  env: Record<string, string | undefined> = process.env,
): { host: string; port: number } | null {
  const text = env.HTTP_LISTEN?.trim() || DEFAULT_HTTP_LISTEN;
  if (/^(off|false|no|0)$/i.test(text)) return null;
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (!m || m[1] === '' || Number(m[2]) > 65535) {
    throw new ConfigError(`HTTP_LISTEN=${JSON.stringify(text)} is invalid: expected host:port (port 0-65535) or off`);
  }
  return { host: m[1], port: Number(m[2]) };
}
