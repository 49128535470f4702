import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Reading the environment: the parsers of addresses, listen URLs and PEM files that the roles' options use (the
 * checks shared by environment and code are in option-checks.ts). Every failure is a {@link ConfigError} whose
 * message starts with the variable's (or option's) name and says what is wrong, so a process can print it and exit.
 */
export type Env = Record<string, string | undefined>;

export interface HostPort {
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
}

/**
 * A bad variable or option: the user's input, not a bug, so its stack is its one line (a log that prints the stack,
 * such as Nest's handler of errors in module creation, shows the message once and no code locations).
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
    this.stack = `${this.name}: ${message}`;
  }
}

/** Smallest accepted SECRET_KEY length in characters. */
export const MIN_SECRET_LENGTH = 16;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === '' ? undefined : v;
}

export function parseHostPort(name: string, text: string): HostPort {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!m || m[1] === '') {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected host:port, e.g. 127.0.0.1:1236`);
  }
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: port ${port} is above 65535`);
  return { host: m[1], port };
}

/** One listen URL, e.g. `ws://0.0.0.0:7272/chat`, `text://0.0.0.0:7273`; the scheme is not checked here. */
export interface ListenUrl {
  /** The URL as written (trimmed). */
  text: string;
  /** Lower-case scheme without "://": "ws", "wss", "text", "frame", or a custom framing's name. */
  scheme: string;
  /** Host to bind, without IPv6 brackets. */
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  /** Path the WebSocket upgrade must ask for ("" = any); never set for raw TCP schemes. */
  path: string;
}

const LISTEN_URL = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^/:?#[\]\s]+):(\d{1,5})(\/[^?#\s]*)?$/i;

/** Parses `scheme://host:port[/path]` (the port is required: scheme defaults would hide which port is used). */
export function parseListenUrl(name: string, text: string): ListenUrl {
  const m = LISTEN_URL.exec(text.trim());
  if (!m) {
    throw new ConfigError(
      `${name}=${JSON.stringify(text)} is invalid: expected scheme://host:port[/path], e.g. ws://0.0.0.0:7272 or text://0.0.0.0:7273`,
    );
  }
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: port ${port} is above 65535`);
  const path = m[4] && m[4] !== '/' ? m[4] : '';
  return { text: text.trim(), scheme: m[1].toLowerCase(), host: m[2].replace(/^\[|\]$/g, ''), port, path };
}

/** A comma-separated list of listen URLs, e.g. GATEWAY_LISTEN=ws://0.0.0.0:7272,text://0.0.0.0:7273. */
export function readListenUrlList(env: Env, name: string, fallback: string): ListenUrl[] {
  const text = value(env, name) ?? fallback;
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0)
    throw new ConfigError(`${name} is empty: expected scheme://host:port[,scheme://host:port...]`);
  return parts.map((p) => parseListenUrl(name, p));
}

function readFileNamed(name: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      `${name}=${JSON.stringify(path)} cannot be read (${code}): expected the path of a PEM ${what} file`,
    );
  }
}

/** A PEM certificate file (a chain is fine; the first certificate is the server's); undefined when unset. */
export function readPemCertificateFile(
  env: Env,
  name: string,
): { pem: string; certificate: X509Certificate } | undefined {
  const path = value(env, name);
  if (path === undefined) return undefined;
  const pem = readFileNamed(name, path, 'certificate');
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate block');
    return { pem, certificate: new X509Certificate(pem) };
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(path)} is invalid: the file holds no readable PEM certificate`);
  }
}

/**
 * A PEM private key file (unencrypted); undefined when unset. The key's text never appears in an error:
 * only the variable and the path do.
 */
export function readPemPrivateKeyFile(env: Env, name: string): { pem: string; key: KeyObject } | undefined {
  const path = value(env, name);
  if (path === undefined) return undefined;
  const pem = readFileNamed(name, path, 'private key');
  try {
    return { pem, key: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    throw new ConfigError(
      `${name}=${JSON.stringify(path)} is invalid: the file holds no readable unencrypted PEM private key ` +
        '(decrypt an encrypted key first, e.g. with `openssl pkey`)',
    );
  }
}
