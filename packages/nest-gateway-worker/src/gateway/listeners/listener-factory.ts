import type { SecureContextOptions } from 'node:tls';
import { ConfigError, parseListenUrl, type ListenUrl } from '../../config/environment';
import type { ClientFraming } from './client-framing';
import type { ClientListener, ListenerHooks } from './client-listener';
import { FrameFraming } from './frame-framing';
import type { ListenerOptions } from './listener-options';
import { TcpListener } from './tcp-listener';
import { TextFraming } from './text-framing';
import { WebSocketListener } from './websocket-listener';

/** A listener whose options have been checked: what {@link createClientListener} builds from. */
export interface ResolvedListener {
  where: ListenUrl;
  /** The raw TCP framing; null for ws:// and wss://. */
  framing: ClientFraming | null;
  /** TLS options of a wss:// listener. */
  tls?: SecureContextOptions;
}

const WEBSOCKET_SCHEMES = new Set(['ws', 'wss']);
const FRAMING_NAME = /^[a-z][a-z0-9+.-]*$/;

/** The framings by scheme: the built-in `text` and `frame`, then the custom ones (which may replace them). */
export function framingRegistry(custom: readonly ClientFraming[] = []): Map<string, ClientFraming> {
  const registry = new Map<string, ClientFraming>([
    ['text', new TextFraming()],
    ['frame', new FrameFraming()],
  ]);
  for (const framing of custom) {
    if (!FRAMING_NAME.test(framing.name) || WEBSOCKET_SCHEMES.has(framing.name)) {
      throw new ConfigError(
        `framings: ${JSON.stringify(framing.name)} cannot name a framing: expected a lower-case URL scheme other than ws and wss`,
      );
    }
    registry.set(framing.name, framing);
  }
  return registry;
}

/**
 * Checks the listeners and picks each one's kind. `nameOf(i)` names the setting of listener i in errors
 * (the environment variable, or `listeners[i].url` for module options).
 */
export function resolveListeners(
  listeners: readonly ListenerOptions[],
  framings: Map<string, ClientFraming>,
  nameOf: (index: number) => string,
): ResolvedListener[] {
  if (listeners.length === 0) throw new ConfigError(`${nameOf(0)}: at least one client listener is needed`);
  const bound = new Set<string>();
  return listeners.map((options, i) => {
    const name = nameOf(i);
    const where = parseListenUrl(name, options.url);
    const invalid = (why: string) => new ConfigError(`${name}=${JSON.stringify(options.url)} is invalid: ${why}`);
    if (where.port !== 0) {
      const key = `${where.host}:${where.port}`;
      if (bound.has(key)) throw invalid(`${key} is already used by another listener`);
      bound.add(key);
    }
    if (WEBSOCKET_SCHEMES.has(where.scheme)) {
      if (where.scheme === 'wss' && !options.tls) throw invalid('a wss:// listener needs a certificate and key (tls)');
      return { where, framing: null, tls: where.scheme === 'wss' ? options.tls : undefined };
    }
    const framing = framings.get(where.scheme);
    if (!framing) {
      throw invalid(`unknown scheme "${where.scheme}": expected ws, wss, ${[...framings.keys()].join(', ')}`);
    }
    if (where.path) throw invalid(`a ${where.scheme}:// listener is raw TCP and takes no path`);
    return { where, framing };
  });
}

/** What every listener of a gateway shares: the message size limit and the handshake timeout. */
export interface ListenerLimits {
  maxMessageBytes: number;
  handshakeTimeoutMs: number;
}

/** Builds one listener (not yet bound). */
export function createClientListener(
  resolved: ResolvedListener,
  hooks: ListenerHooks,
  limits: ListenerLimits,
): ClientListener {
  return resolved.framing
    ? new TcpListener(resolved.where, resolved.framing, hooks, limits.maxMessageBytes)
    : new WebSocketListener(resolved.where, hooks, limits.maxMessageBytes, limits.handshakeTimeoutMs, resolved.tls);
}
