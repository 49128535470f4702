import { RESUME_QUERY_PARAM } from '../protocol/client-conventions';
import type { Id } from './gateway-client';
import { historyStreamOf } from './history-message';

/**
 * The position a reconnecting client reported for one history, from its handshake's query, for
 * `GatewayClient.recover`: `resume.<kind>:<target>` (the client library sends one per stream it followed, named by the
 * messages' `$stream`), else — from a client that reported no stream of its own (a single-stream client, an older
 * library, or your own) — the plain `resume`. undefined when the client reported none for this history: `recover`
 * then answers `no-position` and the current position.
 */
export function resumePosition(
  query: Readonly<Record<string, string | string[] | undefined>>,
  kind: 'uid' | 'group',
  target: Id,
): string | undefined {
  const perStream = query[`${RESUME_QUERY_PARAM}.${historyStreamOf(kind, String(target))}`];
  if (perStream !== undefined) return typeof perStream === 'string' ? perStream : undefined;
  for (const name of Object.keys(query)) if (name.startsWith(`${RESUME_QUERY_PARAM}.`)) return undefined;
  const plain = query[RESUME_QUERY_PARAM];
  return typeof plain === 'string' ? plain : undefined;
}
