import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  parseHostPort,
  parseListenUrl,
  readListenUrlList,
  readPemCertificateFile,
  readPemPrivateKeyFile,
} from './environment';

/** The message of the ConfigError `read` throws (fails the test if it throws something else, or nothing). */
function configErrorOf(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** The base64 lines of a PEM text (what must never reach an error message). */
function pemBody(pem: string): string[] {
  return pem.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('-----'));
}

describe('ConfigError', () => {
  it('is an Error named ConfigError whose stack is its one line (no code locations for a user mistake)', () => {
    const err = new ConfigError('X="y" is invalid: expected z');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.stack).toBe('ConfigError: X="y" is invalid: expected z');
  });
});

describe('parseHostPort', () => {
  it('reads host:port, IPv6 in brackets, host names, port 0, around spaces', () => {
    expect(parseHostPort('REGISTER_ADDRESS', '127.0.0.1:1236')).toEqual({ host: '127.0.0.1', port: 1236 });
    expect(parseHostPort('REGISTER_ADDRESS', ' 10.0.0.5:0 ')).toEqual({ host: '10.0.0.5', port: 0 });
    expect(parseHostPort('REGISTER_ADDRESS', '[::1]:1236')).toEqual({ host: '::1', port: 1236 });
    expect(parseHostPort('REGISTER_ADDRESS', 'register.internal:65535')).toEqual({
      host: 'register.internal',
      port: 65535,
    });
  });

  it.each([
    ['no port', '127.0.0.1'],
    ['an empty port', '127.0.0.1:'],
    ['no host', ':1236'],
    ['empty brackets', '[]:1236'],
    ['a word for a port', '127.0.0.1:http'],
    ['six digits', '127.0.0.1:123456'],
    ['nothing', ''],
  ])('refuses %s, naming the variable and the text', (_what, text) => {
    expect(configErrorOf(() => parseHostPort('REGISTER_ADDRESS', text))).toBe(
      `REGISTER_ADDRESS=${JSON.stringify(text)} is invalid: expected host:port, e.g. 127.0.0.1:1236`,
    );
  });

  it('refuses a port above 65535 and says so', () => {
    expect(configErrorOf(() => parseHostPort('REGISTER_LISTEN', '0.0.0.0:65536'))).toBe(
      'REGISTER_LISTEN="0.0.0.0:65536" is invalid: port 65536 is above 65535',
    );
  });
});

describe('listen URLs', () => {
  it('parseListenUrl keeps the trimmed text, lower-cases the scheme, and takes "/" as no path', () => {
    expect(parseListenUrl('GATEWAY_LISTEN', ' Frame://127.0.0.1:7274/ ')).toEqual({
      text: 'Frame://127.0.0.1:7274/',
      scheme: 'frame',
      host: '127.0.0.1',
      port: 7274,
      path: '',
    });
    // A custom framing's name is a scheme too: which schemes exist is decided by the listeners, not here.
    expect(parseListenUrl('GATEWAY_LISTEN', 'my-framing+v2://0.0.0.0:0')).toMatchObject({
      scheme: 'my-framing+v2',
      port: 0,
    });
  });

  it('parseListenUrl refuses a port above 65535, a missing port and a query, naming the variable', () => {
    expect(configErrorOf(() => parseListenUrl('GATEWAY_LISTEN', 'ws://0.0.0.0:70000'))).toBe(
      'GATEWAY_LISTEN="ws://0.0.0.0:70000" is invalid: port 70000 is above 65535',
    );
    for (const text of ['ws://0.0.0.0', 'ws://0.0.0.0:7272/chat?x=1', '0.0.0.0:7272', 'ws://:7272']) {
      expect(configErrorOf(() => parseListenUrl('GATEWAY_LISTEN', text))).toMatch(
        new RegExp(
          `^GATEWAY_LISTEN=${JSON.stringify(text).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is invalid: expected scheme://host:port\\[/path\\]`,
        ),
      );
    }
  });

  it('readListenUrlList reads a comma-separated list, and the fallback when the variable is unset or blank', () => {
    const env = { GATEWAY_LISTEN: ' ws://0.0.0.0:7272/chat , text://0.0.0.0:7273,, ' };
    expect(
      readListenUrlList(env, 'GATEWAY_LISTEN', 'ws://0.0.0.0:1').map((u) => `${u.scheme} ${u.host}:${u.port}${u.path}`),
    ).toEqual(['ws 0.0.0.0:7272/chat', 'text 0.0.0.0:7273']);
    for (const unset of [{}, { GATEWAY_LISTEN: '' }, { GATEWAY_LISTEN: '   ' }]) {
      expect(readListenUrlList(unset, 'GATEWAY_LISTEN', 'ws://0.0.0.0:7272')).toEqual([
        { text: 'ws://0.0.0.0:7272', scheme: 'ws', host: '0.0.0.0', port: 7272, path: '' },
      ]);
    }
  });

  it('readListenUrlList refuses a list of nothing, and names the one bad URL of a list', () => {
    expect(
      configErrorOf(() => readListenUrlList({ GATEWAY_LISTEN: ' , ' }, 'GATEWAY_LISTEN', 'ws://0.0.0.0:7272')),
    ).toBe('GATEWAY_LISTEN is empty: expected scheme://host:port[,scheme://host:port...]');
    expect(
      configErrorOf(() =>
        readListenUrlList({ GATEWAY_LISTEN: 'ws://0.0.0.0:7272,text://0.0.0.0' }, 'GATEWAY_LISTEN', 'ws://0.0.0.0:1'),
      ),
    ).toMatch(/^GATEWAY_LISTEN="text:\/\/0\.0\.0\.0" is invalid: /);
  });
});

describe('PEM files (real files: keys made by node:crypto, a certificate by the openssl CLI)', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  let certPem: string;
  let keyPem: string;
  let encryptedKeyPem: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'environment-spec-'));
    // A self-signed certificate and its key (openssl: node:crypto cannot issue certificates).
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        file('cert-key.pem'),
        '-out',
        file('cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=environment-spec',
      ],
      { stdio: 'pipe' },
    );
    certPem = readFileSync(file('cert.pem'), 'utf8');
    // A second certificate after the first: a chain, where the server's certificate comes first.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        file('ca-key.pem'),
        '-out',
        file('ca.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=environment-spec-ca',
      ],
      { stdio: 'pipe' },
    );
    writeFileSync(file('chain.pem'), certPem + readFileSync(file('ca.pem'), 'utf8'));

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(file('key.pem'), keyPem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(file('rsa-pkcs1.pem'), rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    encryptedKeyPem = privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'environment-spec-pass' })
      .toString();
    writeFileSync(file('encrypted-key.pem'), encryptedKeyPem);
    writeFileSync(file('garbage.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    writeFileSync(file('empty.pem'), '');
    mkdirSync(file('a-directory'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unset or blank variable is no file', () => {
    for (const env of [{}, { GATEWAY_TLS_CERT: '' }, { GATEWAY_TLS_CERT: '  ' }]) {
      expect(readPemCertificateFile(env, 'GATEWAY_TLS_CERT')).toBeUndefined();
      expect(readPemPrivateKeyFile({ GATEWAY_TLS_KEY: env.GATEWAY_TLS_CERT }, 'GATEWAY_TLS_KEY')).toBeUndefined();
    }
  });

  it('reads a certificate, and the first certificate of a chain, keeping the PEM text as written', () => {
    const single = readPemCertificateFile({ GATEWAY_TLS_CERT: ` ${file('cert.pem')} ` }, 'GATEWAY_TLS_CERT')!;
    expect(single.pem).toBe(certPem);
    expect(single.certificate.subject).toContain('CN=environment-spec');
    const chain = readPemCertificateFile({ GATEWAY_TLS_CERT: file('chain.pem') }, 'GATEWAY_TLS_CERT')!;
    expect(chain.certificate.subject).toContain('CN=environment-spec');
    expect(chain.certificate.subject).not.toContain('environment-spec-ca');
    expect(chain.pem).toBe(readFileSync(file('chain.pem'), 'utf8'));
  });

  it('reads unencrypted private keys (PKCS#8 EC, PKCS#1 RSA); the certificate matches its own key only', () => {
    const ec = readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file('key.pem') }, 'GATEWAY_TLS_KEY')!;
    expect(ec.pem).toBe(keyPem);
    expect(ec.key.asymmetricKeyType).toBe('ec');
    expect(
      readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file('rsa-pkcs1.pem') }, 'GATEWAY_TLS_KEY')!.key.asymmetricKeyType,
    ).toBe('rsa');
    const cert = readPemCertificateFile({ GATEWAY_TLS_CERT: file('cert.pem') }, 'GATEWAY_TLS_CERT')!;
    const certKey = readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file('cert-key.pem') }, 'GATEWAY_TLS_KEY')!;
    expect(cert.certificate.checkPrivateKey(certKey.key)).toBe(true);
    expect(cert.certificate.checkPrivateKey(ec.key)).toBe(false);
  });

  it('a file that cannot be read: the variable, the path and the error code', () => {
    const missing = file('missing.pem');
    expect(configErrorOf(() => readPemCertificateFile({ GATEWAY_TLS_CERT: missing }, 'GATEWAY_TLS_CERT'))).toBe(
      `GATEWAY_TLS_CERT=${JSON.stringify(missing)} cannot be read (ENOENT): expected the path of a PEM certificate file`,
    );
    expect(configErrorOf(() => readPemPrivateKeyFile({ GATEWAY_TLS_KEY: missing }, 'GATEWAY_TLS_KEY'))).toBe(
      `GATEWAY_TLS_KEY=${JSON.stringify(missing)} cannot be read (ENOENT): expected the path of a PEM private key file`,
    );
    expect(
      configErrorOf(() => readPemCertificateFile({ GATEWAY_TLS_CERT: file('a-directory') }, 'GATEWAY_TLS_CERT')),
    ).toMatch(/^GATEWAY_TLS_CERT=".*a-directory" cannot be read \(EISDIR\)/);
  });

  it.each([
    ['a private key', 'key.pem'],
    ['a broken PEM block', 'garbage.pem'],
    ['an empty file', 'empty.pem'],
  ])('a certificate file holding %s is refused, naming the variable and the path', (_what, name) => {
    expect(configErrorOf(() => readPemCertificateFile({ GATEWAY_TLS_CERT: file(name) }, 'GATEWAY_TLS_CERT'))).toBe(
      `GATEWAY_TLS_CERT=${JSON.stringify(file(name))} is invalid: the file holds no readable PEM certificate`,
    );
  });

  it.each([
    ['a certificate', 'cert.pem'],
    ['an encrypted key', 'encrypted-key.pem'],
    ['a broken PEM block', 'garbage.pem'],
    ['an empty file', 'empty.pem'],
  ])(
    'a private key file holding %s is refused, naming the variable and the path, and how to decrypt',
    (_what, name) => {
      expect(configErrorOf(() => readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file(name) }, 'GATEWAY_TLS_KEY'))).toBe(
        `GATEWAY_TLS_KEY=${JSON.stringify(file(name))} is invalid: the file holds no readable unencrypted PEM private key ` +
          '(decrypt an encrypted key first, e.g. with `openssl pkey`)',
      );
    },
  );

  it('never prints a key: no line of a key file appears in any error, whichever variable it was given to', () => {
    const messages = [
      configErrorOf(() => readPemCertificateFile({ GATEWAY_TLS_CERT: file('key.pem') }, 'GATEWAY_TLS_CERT')),
      configErrorOf(() => readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file('encrypted-key.pem') }, 'GATEWAY_TLS_KEY')),
      configErrorOf(() => readPemPrivateKeyFile({ GATEWAY_TLS_KEY: file('cert.pem') }, 'GATEWAY_TLS_KEY')),
    ];
    const secretLines = [...pemBody(keyPem), ...pemBody(encryptedKeyPem)];
    expect(secretLines.length).toBeGreaterThan(3);
    for (const message of messages) {
      for (const line of secretLines) expect(message).not.toContain(line);
      expect(message).not.toContain('PRIVATE KEY-----');
      expect(message).not.toContain('environment-spec-pass');
    }
  });
});
