import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

/**
 * Reading the environment into typed options. Every failure is a {@link ConfigError} whose message starts
 * with the variable's name and says what is wrong, so a process can print it and exit.
 */
export type Env = Record<string, string | undefined>;

export interface HostPort {
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
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

export function readHostPort(env: Env, name: string, fallback: string): HostPort {
  return parseHostPort(name, value(env, name) ?? fallback);
}

/** A comma-separated host:port list, e.g. REGISTER_ADDRESS=10.0.0.1:1236,10.0.0.2:1236. */
export function readHostPortList(env: Env, name: string, fallback: string): HostPort[] {
  const text = value(env, name) ?? fallback;
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError(`${name} is empty: expected host:port[,host:port...]`);
  return parts.map((p) => parseHostPort(name, p));
}

export function readPort(env: Env, name: string, fallback: number): number {
  const text = value(env, name);
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected a port number 0-65535`);
  }
  return Number(text);
}

/** An integer in [min, max], e.g. GATEWAY_TIMEOUT_MS=3000. */
export function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = value(env, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected an integer from ${min} to ${max}`);
  }
  return n;
}

export function readIPv4(env: Env, name: string, fallback: string): string {
  const text = value(env, name) ?? fallback;
  if (!isIPv4(text)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(text)} is invalid: expected a dotted IPv4 address that workers and clients can reach (client_ids embed it)`,
    );
  }
  return text;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const text = value(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected true or false`);
}

export function readString(env: Env, name: string, fallback: string, pattern: RegExp, what: string): string {
  const text = value(env, name) ?? fallback;
  if (!pattern.test(text)) throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected ${what}`);
  return text;
}

/**
 * The inner links' shared secret. SECRET_KEY is required unless INNER_PLAINTEXT=true chooses plaintext
 * explicitly (then SECRET_KEY must be unset, so nobody believes a key protects a plaintext cluster).
 * The value itself never appears in an error message.
 */
export function readSecret(env: Env): Buffer | null {
  const secret = env.SECRET_KEY;
  const plaintext = readBoolean(env, 'INNER_PLAINTEXT', false);
  if (plaintext) {
    if (secret) throw new ConfigError('SECRET_KEY is set together with INNER_PLAINTEXT=true: choose one');
    return null;
  }
  if (!secret) {
    throw new ConfigError(
      'SECRET_KEY is not set: give every register, gateway, worker and client the same secret ' +
        `(at least ${MIN_SECRET_LENGTH} characters), or set INNER_PLAINTEXT=true to run the inner links unencrypted`,
    );
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`SECRET_KEY is too short (${secret.length} characters): use at least ${MIN_SECRET_LENGTH}`);
  }
  return Buffer.from(secret, 'utf8');
}

/** An HTTP listen address ("host:port", port 0 = any free port), or null when set to "off". */
export function readHttpListen(env: Env, name: string, fallback: string): HostPort | null {
  const text = value(env, name) ?? fallback;
  if (/^(off|false|no|0)$/i.test(text)) return null;
  return parseHostPort(name, text);
}

/** A decimal number in [min, max], e.g. GATEWAY_PING_INTERVAL=0.5. */
export function readNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = value(env, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected a number from ${min} to ${max}`);
  }
  return n;
}

/** One of a fixed set of names, e.g. GATEWAY_ROUTER=random. */
export function readChoice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const text = value(env, name) ?? fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new ConfigError(`${name}=${JSON.stringify(text)} is invalid: expected one of ${choices.join(', ')}`);
  }
  return text as T;
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
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError(`${name} is empty: expected scheme://host:port[,scheme://host:port...]`);
  return parts.map((p) => parseListenUrl(name, p));
}

function readFileNamed(name: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`${name}=${JSON.stringify(path)} cannot be read (${code}): expected the path of a PEM ${what} file`);
  }
}

/** A PEM certificate file (a chain is fine; the first certificate is the server's); undefined when unset. */
export function readPemCertificateFile(env: Env, name: string): { pem: string; certificate: X509Certificate } | undefined {
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
