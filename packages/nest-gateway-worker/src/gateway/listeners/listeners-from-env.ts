import {
  ConfigError,
  readListenUrlList,
  readPemCertificateFile,
  readPemPrivateKeyFile,
  type Env,
} from '../../config/environment';
import type { ClientFraming } from './client-framing';
import { framingRegistry, resolveListeners } from './listener-factory';
import type { ListenerOptions } from './listener-options';

export const DEFAULT_LISTEN = 'ws://0.0.0.0:7272';

/**
 * GATEWAY_LISTEN (comma-separated listener URLs, default ws://0.0.0.0:7272) and, when it has a wss://
 * listener, GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (PEM file paths), read and checked at startup: the
 * files must be readable, hold a certificate and an unencrypted private key, and the key must be the
 * certificate's. Without a wss:// listener the TLS variables are not used. `framings` are the custom
 * framings whose names GATEWAY_LISTEN may use as schemes.
 */
export function listenersFromEnv(env: Env, framings: readonly ClientFraming[] = []): ListenerOptions[] {
  const urls = readListenUrlList(env, 'GATEWAY_LISTEN', DEFAULT_LISTEN);
  let tls: ListenerOptions['tls'];
  if (urls.some((u) => u.scheme === 'wss')) {
    const cert = readPemCertificateFile(env, 'GATEWAY_TLS_CERT');
    if (!cert)
      throw new ConfigError(
        'GATEWAY_TLS_CERT is not set: a wss:// listener in GATEWAY_LISTEN needs a PEM certificate file',
      );
    const key = readPemPrivateKeyFile(env, 'GATEWAY_TLS_KEY');
    if (!key)
      throw new ConfigError(
        'GATEWAY_TLS_KEY is not set: a wss:// listener in GATEWAY_LISTEN needs a PEM private key file',
      );
    if (!cert.certificate.checkPrivateKey(key.key)) {
      throw new ConfigError(
        `GATEWAY_TLS_KEY=${JSON.stringify(env.GATEWAY_TLS_KEY?.trim())} is invalid: it is not the private key of the certificate in GATEWAY_TLS_CERT`,
      );
    }
    tls = { cert: cert.pem, key: key.pem };
  }
  const listeners = urls.map((u) => ({ url: u.text, ...(u.scheme === 'wss' ? { tls } : {}) }));
  resolveListeners(listeners, framingRegistry(framings), () => 'GATEWAY_LISTEN');
  return listeners;
}
