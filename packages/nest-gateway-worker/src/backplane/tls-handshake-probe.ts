import { connect } from 'node:tls';
import type { BackplaneTlsOptions } from './backplane-tls';
import type { RedisEndpoint } from './redis-topology';

/** How long the handshake of {@link probeTlsHandshake} may take, in milliseconds. */
export const TLS_PROBE_TIMEOUT_MS = 2_000;
/** Least time between two probes of one connection, in milliseconds (the warnings' own spacing). */
export const TLS_PROBE_INTERVAL_MS = 10_000;

/**
 * The error of a TLS handshake of our own with `endpoint` (the options a backplane connection uses), or null when it
 * succeeds. ioredis reports a sentinel or Cluster node it could not reach over TLS only as "All sentinels are
 * unreachable … Last error: Connection is closed." or "Failed to refresh slots cache." (it swallows the TLS error of
 * those connections): this finds the cause (an
 * untrusted certificate, a reset for want of a client certificate) to log beside it. Sends nothing but the
 * handshake (no AUTH, no command), and closes at once.
 */
export function probeTlsHandshake(
  endpoint: RedisEndpoint,
  tls: BackplaneTlsOptions | null,
  timeoutMs = TLS_PROBE_TIMEOUT_MS,
): Promise<Error | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, ...(tls ?? {}) });
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    // TLS 1.3: a server that refuses the client certificate says so after the handshake, with its first bytes.
    socket.once('secureConnect', () => setTimeout(() => done(null), 100).unref());
    socket.once('error', (err) => done(err));
    socket.once('end', () =>
      done(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' })),
    );
  });
}
