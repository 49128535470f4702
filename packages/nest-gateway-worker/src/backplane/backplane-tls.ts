import { isIP } from 'node:net';
import { ConfigError, readPemCertificateFile, readPemPrivateKeyFile, type Env } from '../config/environment';

/**
 * `backplane.tls`: what a TLS connection to Redis (`rediss://`, `rediss+sentinel://`, `rediss+cluster://`, or
 * `tls: true` of the sentinel / cluster options) trusts and presents, as Node's TLS options take them. Without it,
 * Node's trust store is used (its built-in CAs plus NODE_EXTRA_CA_CERTS) and no client certificate is sent.
 */
export interface BackplaneTlsOptions {
  /** PEM CA certificate(s) that sign the Redis servers' certificates (replaces Node's built-in CAs). */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * PEM client certificate (chain) and its unencrypted private key, for a Redis that checks clients' certificates
   * (redis-server's default `tls-auth-clients yes`). Both or neither.
   */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * The name the servers' certificates are checked against (and sent as SNI), when it is not the host of the URL: a
   * DNS host name, not an IP address.
   */
  servername?: string;
}

/** The TLS variables (PEM file paths, and the name to check), read by every role that reads GATEWAY_BACKPLANE. */
export const BACKPLANE_TLS_ENVIRONMENT = {
  ca: 'GATEWAY_BACKPLANE_TLS_CA',
  cert: 'GATEWAY_BACKPLANE_TLS_CERT',
  key: 'GATEWAY_BACKPLANE_TLS_KEY',
  servername: 'GATEWAY_BACKPLANE_TLS_SERVERNAME',
} as const;

/** Marks TLS options read from the environment: their errors name the variables. */
const FROM_ENVIRONMENT = Symbol('backplane TLS from the environment');

/**
 * The TLS files named by GATEWAY_BACKPLANE_TLS_CA / _CERT / _KEY, read and checked now (readable, PEM, the key is
 * the certificate's), and the name in GATEWAY_BACKPLANE_TLS_SERVERNAME (checked by resolveBackplaneTls), or
 * undefined when none is set. The key's text never appears in an error.
 */
export function backplaneTlsFromEnv(env: Env): BackplaneTlsOptions | undefined {
  const ca = readPemCertificateFile(env, BACKPLANE_TLS_ENVIRONMENT.ca);
  const cert = readPemCertificateFile(env, BACKPLANE_TLS_ENVIRONMENT.cert);
  const key = readPemPrivateKeyFile(env, BACKPLANE_TLS_ENVIRONMENT.key);
  const servername = env[BACKPLANE_TLS_ENVIRONMENT.servername]?.trim() || undefined;
  if (!ca && !cert && !key && servername === undefined) return undefined;
  if (cert && key && !cert.certificate.checkPrivateKey(key.key)) {
    throw new ConfigError(
      `${BACKPLANE_TLS_ENVIRONMENT.key}=${JSON.stringify(env[BACKPLANE_TLS_ENVIRONMENT.key]?.trim())} is invalid: ` +
        `it is not the private key of the certificate in ${BACKPLANE_TLS_ENVIRONMENT.cert}`,
    );
  }
  const tls: BackplaneTlsOptions & { [FROM_ENVIRONMENT]?: true } = { [FROM_ENVIRONMENT]: true };
  if (ca) tls.ca = ca.pem;
  if (cert) tls.cert = cert.pem;
  if (key) tls.key = key.pem;
  if (servername !== undefined) tls.servername = servername;
  return tls;
}

/** A DNS host name: dot-separated labels of letters, digits and inner hyphens (at most 63 each, 253 in all). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Why `v` is not a TLS server name, or undefined when it is one: a DNS host name; not an IP address (RFC 6066 has
 * none in SNI, and a certificate naming an IP address is checked against the address connected to).
 */
function serverNameProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return 'expected a host name';
  if (isIP(v) !== 0)
    return 'expected a host name, not an IP address (a certificate for an address is checked against the one in the URL)';
  if (!HOST_NAME.test(v)) return 'expected a host name (letters, digits, "-" and ".", e.g. redis.internal)';
  return undefined;
}

function isPem(v: unknown): v is string | Buffer {
  return (typeof v === 'string' && v !== '') || (Buffer.isBuffer(v) && v.length > 0);
}

/**
 * Checks `backplane.tls` (`name`: the option's name in errors) against whether the connection uses TLS (`tls`:
 * a `rediss…` URL or `tls: true`), and returns it with only the known fields, or null when not given. A TLS option
 * for a plain connection is an error (it would be silently unused), and so is a certificate without its key.
 */
export function resolveBackplaneTls(name: string, raw: unknown, tls: boolean): BackplaneTlsOptions | null {
  if (raw === undefined || raw === null) return null;
  const env = typeof raw === 'object' && (raw as { [FROM_ENVIRONMENT]?: true })[FROM_ENVIRONMENT] === true;
  const field = (f: keyof BackplaneTlsOptions) => (env ? BACKPLANE_TLS_ENVIRONMENT[f] : `${name}.${f}`);
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${name} is invalid: expected { ca?, cert?, key?, servername? } (PEM text or Buffers)`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['ca', 'cert', 'key', 'servername'].includes(k))
      throw new ConfigError(`${name} is invalid: unknown field ${k} (known: ca, cert, key, servername)`);
  const given = (['ca', 'cert', 'key', 'servername'] as const).filter((k) => o[k] !== undefined && o[k] !== null);
  if (!tls) {
    const what = env ? given.map(field).join(', ') : name;
    throw new ConfigError(
      `${what} is set, but the backplane does not use TLS: use a rediss://, rediss+sentinel:// or rediss+cluster:// URL ` +
        '(or tls: true)',
    );
  }
  const out: BackplaneTlsOptions = {};
  if (o.ca !== undefined && o.ca !== null) {
    const list = Array.isArray(o.ca) ? o.ca : [o.ca];
    if (list.length === 0 || !list.every(isPem))
      throw new ConfigError(`${field('ca')} is invalid: expected PEM text or a Buffer (or a list of them)`);
    out.ca = o.ca as BackplaneTlsOptions['ca'];
  }
  for (const k of ['cert', 'key'] as const) {
    if (o[k] === undefined || o[k] === null) continue;
    if (!isPem(o[k])) throw new ConfigError(`${field(k)} is invalid: expected PEM text or a Buffer`);
    out[k] = o[k] as string | Buffer;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) {
    const [has, lacks] = out.cert === undefined ? ['key', 'cert'] : ['cert', 'key'];
    throw new ConfigError(
      `${field(has as 'cert' | 'key')} is set without ${field(lacks as 'cert' | 'key')}: give both`,
    );
  }
  if (o.servername !== undefined && o.servername !== null) {
    const problem = serverNameProblem(o.servername);
    if (problem !== undefined) {
      const value = typeof o.servername === 'string' ? `=${JSON.stringify(o.servername.slice(0, 300))}` : '';
      throw new ConfigError(`${field('servername')}${env ? value : ''} is invalid: ${problem}`);
    }
    out.servername = o.servername as string;
  }
  return out;
}
