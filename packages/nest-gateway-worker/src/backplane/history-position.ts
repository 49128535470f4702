import type { HistoryPosition } from './history-store';

/** Longest position text accepted from a client (an epoch of a few characters, ":" and an offset). */
export const MAX_POSITION_TEXT = 128;

/**
 * A position as one string, `<epoch>:<offset>` (e.g. `3f9a1c0b7e2d:42`): what a history send puts in a JSON
 * message's `$offset`, what the client library keeps and sends back as `?resume=` when it reconnects, and what
 * `GatewayClient.recover` accepts. "" when there is no stream yet (epoch "").
 */
export function formatHistoryPosition(position: HistoryPosition): string {
  return position.epoch === '' ? '' : `${position.epoch}:${position.offset}`;
}

/** The position a client reported, or null when it is not one (a stranger's input: never throws). */
export function parseHistoryPosition(text: unknown): HistoryPosition | null {
  if (typeof text !== 'string' || text.length > MAX_POSITION_TEXT) return null;
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const digits = text.slice(colon + 1);
  if (!/^\d{1,15}$/.test(digits)) return null;
  return { epoch: text.slice(0, colon), offset: Number(digits) };
}
