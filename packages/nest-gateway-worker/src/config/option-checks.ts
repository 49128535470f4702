import { isIPv4 } from 'node:net';
import { ConfigError, MIN_SECRET_LENGTH, parseHostPort, type Env, type HostPort } from './environment';

/**
 * The checks every role's resolve function applies to its fields, the same whether a value was read from the
 * environment (a string) or given in code (a number, boolean, list...). `name` is what an error calls the field:
 * the variable for the environment (`GATEWAY_MAX_CONNECTIONS`), `Type.field` for code
 * (`GatewayOptions.maxConnections`). An unset value (undefined, null, or a blank string) takes the default.
 */

/** Options as a resolve function takes them: the typed fields from code, or the variables' text from the environment. */
export type RawOptions<T> = { [K in keyof T]?: unknown };

/** How a resolve function names a field in its errors. */
export type FieldNames<T> = (field: keyof T & string) => string;

/** Names of fields given in code: `GatewayOptions.maxConnections`. */
export function codeNames<T>(typeName: string): FieldNames<T> {
  return (field) => `${typeName}.${field}`;
}

/** Names of fields read from the environment: the variable, or the code name for a field no variable sets. */
export function environmentNames<T>(
  typeName: string,
  variables: Partial<Record<keyof T & string, string>>,
): FieldNames<T> {
  return (field) => variables[field] ?? `${typeName}.${field}`;
}

/**
 * A value as an error shows it: strings quoted (as read from the environment), numbers and booleans as they are, an
 * address object by its host and port only. Other objects and arrays are shown by their kind: whatever else they
 * hold (a secret, say) stays out of the message.
 */
function shown(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw === 'number' || typeof raw === 'boolean' || raw === null) return String(raw);
  if (typeof raw === 'object' && !Array.isArray(raw) && !Buffer.isBuffer(raw) && ('host' in raw || 'port' in raw)) {
    const { host, port } = raw as Partial<HostPort>;
    return JSON.stringify({ host, port });
  }
  return Array.isArray(raw) ? '(an array)' : `(${Buffer.isBuffer(raw) ? 'a Buffer' : `a value of type ${typeof raw}`})`;
}

function invalid(name: string, raw: unknown, expected: string): ConfigError {
  return new ConfigError(`${name}=${shown(raw)} is invalid: expected ${expected}`);
}

/** Undefined for an unset value: undefined, null or a string of blanks. Strings come back trimmed. */
function present(raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') {
    const t = raw.trim();
    return t === '' ? undefined : t;
  }
  return raw;
}

/** Whether a list option is unset (undefined, null, blanks) or empty (resolved options give `[]`). */
export function isUnsetList(raw: unknown): boolean {
  return present(raw) === undefined || (Array.isArray(raw) && raw.length === 0);
}

/** An integer in [min, max]: a number, or its decimal text. */
export function integerOption(name: string, raw: unknown, fallback: number, min: number, max: number): number {
  const v = present(raw);
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(name, v, `an integer from ${min} to ${max}`);
  }
  return n;
}

/** The integer variable `name` of `env` in [min, max], e.g. WORKER_COUNT=4 (for variables outside a role's options). */
export function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  return integerOption(name, env[name], fallback, min, max);
}

/** A decimal number in [min, max]: a number, or its decimal text (e.g. "0.5"). */
export function numberOption(name: string, raw: unknown, fallback: number, min: number, max: number): number {
  const v = present(raw);
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^-?(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw invalid(name, v, `a number from ${min} to ${max}`);
  }
  return n;
}

/** A port 0-65535 (0 = any free port). */
export function portOption(name: string, raw: unknown, fallback: number): number {
  const v = present(raw);
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw invalid(name, v, 'a port number 0-65535');
  return n;
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];

/** A boolean, or one of the words true/false, 1/0, yes/no, on/off. */
export function booleanOption(name: string, raw: unknown, fallback: boolean): boolean {
  const v = present(raw);
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  const text = typeof v === 'string' ? v.toLowerCase() : undefined;
  if (text !== undefined && TRUE_WORDS.includes(text)) return true;
  if (text !== undefined && FALSE_WORDS.includes(text)) return false;
  throw invalid(name, text ?? v, 'true or false');
}

/** A string matching `pattern` (trimmed); `what` says what the pattern allows. */
export function stringOption(name: string, raw: unknown, fallback: string, pattern: RegExp, what: string): string {
  const v = present(raw) ?? fallback;
  if (typeof v !== 'string' || !pattern.test(v)) throw invalid(name, v, what);
  return v;
}

/** One of a fixed set of names. */
export function choiceOption<T extends string>(name: string, raw: unknown, fallback: T, choices: readonly T[]): T {
  const v = present(raw) ?? fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
    throw invalid(name, v, `one of ${choices.join(', ')}`);
  return v as T;
}

/** A dotted IPv4 address that workers and clients can reach (client_ids embed it). */
export function ipv4Option(name: string, raw: unknown, fallback: string): string {
  const v = present(raw) ?? fallback;
  if (typeof v !== 'string' || !isIPv4(v)) {
    throw invalid(name, v, 'a dotted IPv4 address that workers and clients can reach (client_ids embed it)');
  }
  return v;
}

function isHostPort(v: unknown): v is HostPort {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as HostPort).host === 'string' &&
    typeof (v as HostPort).port === 'number'
  );
}

function hostPortOf(name: string, v: unknown): HostPort {
  if (typeof v === 'string') return parseHostPort(name, v);
  if (isHostPort(v) && v.host !== '' && Number.isInteger(v.port) && v.port >= 0 && v.port <= 65535) {
    return { host: v.host, port: v.port };
  }
  throw invalid(name, v, 'host:port, e.g. 127.0.0.1:1236, or { host, port } with a port 0-65535');
}

/** One address: "host:port" or `{ host, port }`. */
export function hostPortOption(name: string, raw: unknown, fallback: string): HostPort {
  return hostPortOf(name, present(raw) ?? fallback);
}

/** A list of addresses: "host:port", a comma-separated list of them, or an array of "host:port" / `{ host, port }`. */
export function hostPortListOption(name: string, raw: unknown, fallback: string): HostPort[] {
  const v = present(raw) ?? fallback;
  const items: unknown[] = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [v];
  const parts = items.map((p) => (typeof p === 'string' ? p.trim() : p)).filter((p) => p !== '');
  if (parts.length === 0) throw new ConfigError(`${name} is empty: expected host:port[,host:port...]`);
  return parts.map((p) => hostPortOf(name, p));
}

/** Names of the two fields that choose the inner links' protection. */
export interface SecretNames {
  secret: string;
  plaintext: string;
}

/**
 * The inner links' shared secret: a string (UTF-8) or Buffer of at least {@link MIN_SECRET_LENGTH} characters
 * (bytes), required unless `plaintext` is true, and then it must be unset (so nobody believes a key protects a
 * plaintext cluster). Null = plaintext. The value itself never appears in an error message.
 */
export function secretOption(names: SecretNames, rawSecret: unknown, rawPlaintext: unknown): Buffer | null {
  const plaintext = booleanOption(names.plaintext, rawPlaintext, false);
  const secret = rawSecret === '' || rawSecret === null ? undefined : rawSecret;
  if (secret !== undefined && typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
    throw new ConfigError(`${names.secret} is invalid: expected a string or a Buffer (got ${typeof secret})`);
  }
  if (plaintext) {
    if (secret !== undefined)
      throw new ConfigError(`${names.secret} is set together with ${names.plaintext}=true: choose one`);
    return null;
  }
  if (secret === undefined) {
    throw new ConfigError(
      `${names.secret} is not set: give every register, gateway, worker and client the same secret ` +
        `(at least ${MIN_SECRET_LENGTH} characters), or set ${names.plaintext}=true to run the inner links unencrypted`,
    );
  }
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  const length = secret.length;
  if (length < MIN_SECRET_LENGTH) {
    const unit = typeof secret === 'string' ? 'characters' : 'bytes';
    throw new ConfigError(`${names.secret} is too short (${length} ${unit}): use at least ${MIN_SECRET_LENGTH}`);
  }
  return bytes;
}

/**
 * Refuses option names that are not (or no longer) part of a role's options, e.g. the old forClient names
 * `registerAddress` / `secretKey`, with a ConfigError that names the replacement.
 */
export function refuseRenamedOptions(typeName: string, input: object, renamed: Record<string, string>): void {
  for (const [old, current] of Object.entries(renamed)) {
    if (Object.prototype.hasOwnProperty.call(input, old)) {
      throw new ConfigError(`${typeName}.${old} is not an option: it is called ${current} now`);
    }
  }
}
