import type { SecureContextOptions } from 'node:tls';

/**
 * One client listener of a gateway (`GatewayOptions.listeners`). The URL's scheme picks the kind:
 *  - `ws://host:port[/path]`: WebSocket; with a path, only upgrades to that path are accepted;
 *  - `wss://host:port[/path]`: WebSocket over TLS, `tls` required;
 *  - `text://host:port`, `frame://host:port`: raw TCP with workerman's Text / Frame framing;
 *  - `<name>://host:port`: raw TCP with the custom framing registered as `name` in `GatewayOptions.framings`.
 * Port 0 binds any free port (the ready line and the handshake's `listener` show the real one).
 */
export interface ListenerOptions {
  /** e.g. "ws://0.0.0.0:7272". From GATEWAY_LISTEN (comma-separated), default "ws://0.0.0.0:7272". */
  url: string;
  /**
   * Certificate and key of a wss:// listener (Node's TLS options: `cert`, `key`, `ca`, `passphrase`, ...).
   * From GATEWAY_TLS_CERT / GATEWAY_TLS_KEY (PEM file paths) for every wss:// listener in GATEWAY_LISTEN.
   */
  tls?: SecureContextOptions;
}
