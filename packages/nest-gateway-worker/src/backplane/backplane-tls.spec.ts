import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/environment';
import { gatewayClientOptionsFromEnv, resolveGatewayClientOptions } from '../client/gateway-client-options';
import { gatewayOptionsFromEnv } from '../gateway/gateway-options';
import { workerOptionsFromEnv } from '../worker/worker-options';
import { resolveBackplaneOptions } from './backplane-options';
import { connectionErrorText, tlsErrorText, tlsHint } from './redis-connection';

const SECRET = 'a-test-secret-of-some-length';

/** A self-signed certificate and its key, and another key, made with the openssl CLI (test/support has the e2e's). */
function makeFiles(dir: string): { cert: string; key: string; otherKey: string; garbage: string } {
  const ec = ['-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const files = {
    cert: join(dir, 'ca.pem'),
    key: join(dir, 'ca.key'),
    otherKey: join(dir, 'other.key'),
    garbage: join(dir, 'garbage.pem'),
  };
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', ...ec, '-nodes', '-keyout', files.key, '-out', files.cert].concat([
      '-days',
      '2',
      '-subj',
      '/CN=test',
    ]),
    { stdio: 'pipe' },
  );
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', ...ec, '-out', files.otherKey], { stdio: 'pipe' });
  writeFileSync(files.garbage, 'not a certificate\n');
  return files;
}

describe('backplane TLS options', () => {
  let dir: string;
  let files: ReturnType<typeof makeFiles>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'backplane-tls-spec-'));
    files = makeFiles(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads GATEWAY_BACKPLANE_TLS_CA / _CERT / _KEY on every role, for a rediss URL', () => {
    const env = {
      SECRET_KEY: SECRET,
      GATEWAY_BACKPLANE: 'rediss://gw:pw@redis.internal:6380',
      GATEWAY_BACKPLANE_TLS_CA: files.cert,
      GATEWAY_BACKPLANE_TLS_CERT: files.cert,
      GATEWAY_BACKPLANE_TLS_KEY: files.key,
    };
    for (const o of [gatewayOptionsFromEnv(env), workerOptionsFromEnv(env), gatewayClientOptionsFromEnv(env)]) {
      expect(o.backplane?.tls?.ca).toContain('-----BEGIN CERTIFICATE-----');
      expect(o.backplane?.tls?.cert).toContain('-----BEGIN CERTIFICATE-----');
      expect(o.backplane?.tls?.key).toContain('PRIVATE KEY-----');
    }
    // Sentinel and Cluster URLs too; none set: null (Node's trust store).
    for (const url of ['rediss+sentinel://h:26379/m', 'rediss+cluster://h:7000'])
      expect(gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE: url }).backplane?.tls?.ca).toContain('BEGIN');
    expect(gatewayOptionsFromEnv({ SECRET_KEY: SECRET, GATEWAY_BACKPLANE: 'rediss://h' }).backplane?.tls).toBeNull();
  });

  it('reads GATEWAY_BACKPLANE_TLS_SERVERNAME on every role, alone or with the files, for a rediss URL', () => {
    const env = {
      SECRET_KEY: SECRET,
      GATEWAY_BACKPLANE: 'rediss://gw:pw@10.0.0.5:6380',
      GATEWAY_BACKPLANE_TLS_SERVERNAME: ' redis.internal ',
    };
    for (const o of [gatewayOptionsFromEnv(env), workerOptionsFromEnv(env), gatewayClientOptionsFromEnv(env)])
      expect(o.backplane?.tls).toEqual({ servername: 'redis.internal' });
    const withCa = gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_TLS_CA: files.cert }).backplane?.tls;
    expect(withCa?.servername).toBe('redis.internal');
    expect(withCa?.ca).toContain('-----BEGIN CERTIFICATE-----');
    for (const url of ['rediss+sentinel://h:26379/m', 'rediss+cluster://h:7000'])
      expect(gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE: url }).backplane?.tls?.servername).toBe(
        'redis.internal',
      );
    // Empty: unset.
    expect(gatewayOptionsFromEnv({ ...env, GATEWAY_BACKPLANE_TLS_SERVERNAME: ' ' }).backplane?.tls).toBeNull();
  });

  it('refuses a GATEWAY_BACKPLANE_TLS_SERVERNAME that is not a host name, or with a plain URL, naming the variable', () => {
    const base = { SECRET_KEY: SECRET, GATEWAY_BACKPLANE: 'rediss://gw:secret-pw@10.0.0.5:6380' };
    const error = (env: Record<string, string>): string => {
      try {
        gatewayOptionsFromEnv({ ...base, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).not.toContain('secret-pw');
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    for (const bad of [
      'redis internal',
      'redis_1.internal',
      '-redis.internal',
      'redis..internal',
      'a.'.repeat(127) + 'b',
    ])
      expect(error({ GATEWAY_BACKPLANE_TLS_SERVERNAME: bad })).toBe(
        `GATEWAY_BACKPLANE_TLS_SERVERNAME=${JSON.stringify(bad)} is invalid: expected a host name ` +
          '(letters, digits, "-" and ".", e.g. redis.internal)',
      );
    for (const ip of ['10.0.0.5', '::1'])
      expect(error({ GATEWAY_BACKPLANE_TLS_SERVERNAME: ip })).toMatch(
        new RegExp(`^GATEWAY_BACKPLANE_TLS_SERVERNAME="${ip}" is invalid: expected a host name, not an IP address`),
      );
    expect(error({ GATEWAY_BACKPLANE: 'redis://h:6379', GATEWAY_BACKPLANE_TLS_SERVERNAME: 'redis.internal' })).toBe(
      'GATEWAY_BACKPLANE_TLS_SERVERNAME is set, but the backplane does not use TLS: use a rediss://, ' +
        'rediss+sentinel:// or rediss+cluster:// URL (or tls: true)',
    );
    expect(
      error({
        GATEWAY_BACKPLANE: 'redis+sentinel://h:26379/m',
        GATEWAY_BACKPLANE_TLS_CA: files.cert,
        GATEWAY_BACKPLANE_TLS_SERVERNAME: 'redis.internal',
      }),
    ).toMatch(/^GATEWAY_BACKPLANE_TLS_CA, GATEWAY_BACKPLANE_TLS_SERVERNAME is set, but the backplane does not use TLS/);
    // A name 253 characters long, of 63-character labels, is one.
    const longest = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
    expect(
      gatewayOptionsFromEnv({ ...base, GATEWAY_BACKPLANE_TLS_SERVERNAME: longest }).backplane?.tls?.servername,
    ).toBe(longest);
    expect(error({ GATEWAY_BACKPLANE_TLS_SERVERNAME: 'x'.repeat(64) + '.internal' })).toMatch(/expected a host name/);
  });

  it('names the variable of a bad file, a key that is not the certificate’s, a half pair, a plain URL', () => {
    const base = { SECRET_KEY: SECRET, GATEWAY_BACKPLANE: 'rediss://gw:secret-pw@h:6380' };
    const error = (env: Record<string, string>): string => {
      try {
        gatewayOptionsFromEnv({ ...base, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).not.toContain('secret-pw');
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(error({ GATEWAY_BACKPLANE_TLS_CA: join(dir, 'missing.pem') })).toMatch(
      /^GATEWAY_BACKPLANE_TLS_CA=".*missing\.pem" cannot be read \(ENOENT\)/,
    );
    expect(error({ GATEWAY_BACKPLANE_TLS_CA: files.garbage })).toMatch(
      /^GATEWAY_BACKPLANE_TLS_CA=.* the file holds no readable PEM certificate/,
    );
    expect(error({ GATEWAY_BACKPLANE_TLS_CERT: files.cert, GATEWAY_BACKPLANE_TLS_KEY: files.otherKey })).toMatch(
      /^GATEWAY_BACKPLANE_TLS_KEY=.* is not the private key of the certificate in GATEWAY_BACKPLANE_TLS_CERT/,
    );
    expect(error({ GATEWAY_BACKPLANE_TLS_CERT: files.cert })).toBe(
      'GATEWAY_BACKPLANE_TLS_CERT is set without GATEWAY_BACKPLANE_TLS_KEY: give both',
    );
    expect(error({ GATEWAY_BACKPLANE: 'redis://h:6379', GATEWAY_BACKPLANE_TLS_CA: files.cert })).toMatch(
      /^GATEWAY_BACKPLANE_TLS_CA is set, but the backplane does not use TLS: use a rediss:\/\//,
    );
  });

  it('takes backplane.tls in code, checks it, and refuses it with a plain connection or your own client', () => {
    const tls = { ca: 'PEM-CA', cert: Buffer.from('PEM-CERT'), key: 'PEM-KEY', servername: 'redis.internal' };
    expect(resolveBackplaneOptions('o.backplane', { url: 'rediss://10.0.0.5', tls })?.tls).toEqual(tls);
    expect(
      resolveBackplaneOptions('o.backplane', {
        sentinel: { sentinels: 'h', name: 'm', tls: true },
        tls: { ca: ['a', 'b'] },
      })?.tls,
    ).toEqual({ ca: ['a', 'b'] });
    const bad: [unknown, RegExp][] = [
      [{ url: 'redis://h', tls: { ca: 'x' } }, /^o\.backplane\.tls is set, but the backplane does not use TLS/],
      [{ cluster: { nodes: 'h' }, tls: { ca: 'x' } }, /does not use TLS/],
      [{ url: 'rediss://h', tls: { cert: 'x' } }, /^o\.backplane\.tls\.cert is set without o\.backplane\.tls\.key/],
      [{ url: 'rediss://h', tls: { ca: 5 } }, /^o\.backplane\.tls\.ca is invalid: expected PEM text/],
      [{ url: 'rediss://h', tls: { ca: [] } }, /^o\.backplane\.tls\.ca is invalid/],
      [{ url: 'rediss://h', tls: { rejectUnauthorized: false } }, /unknown field rejectUnauthorized/],
      [
        { url: 'rediss://h', tls: 'yes' },
        /^o\.backplane\.tls is invalid: expected \{ ca\?, cert\?, key\?, servername\? \}/,
      ],
      [{ client: { duplicate: () => null }, tls: { ca: 'x' } }, /your client's TLS settings are used/],
      [{ client: { duplicate: () => null }, tls: { servername: 'r.internal' } }, /your client's TLS settings are used/],
      [
        { url: 'redis://h', tls: { servername: 'r.internal' } },
        /^o\.backplane\.tls is set, but the backplane does not/,
      ],
      [
        { url: 'rediss://h', tls: { servername: '' } },
        /^o\.backplane\.tls\.servername is invalid: expected a host name$/,
      ],
      [
        { url: 'rediss://h', tls: { servername: 5 } },
        /^o\.backplane\.tls\.servername is invalid: expected a host name$/,
      ],
      [
        { url: 'rediss://h', tls: { servername: '10.0.0.5' } },
        /^o\.backplane\.tls\.servername is invalid: .*not an IP/,
      ],
      [{ url: 'rediss://h', tls: { servername: 'a b' } }, /^o\.backplane\.tls\.servername is invalid: expected a host/],
    ];
    for (const [raw, re] of bad) expect(() => resolveBackplaneOptions('o.backplane', raw)).toThrow(re);
    // TLS read from the environment (GATEWAY_BACKPLANE_TLS_SERVERNAME) with your own client: refused too.
    const fromEnv = gatewayOptionsFromEnv({
      SECRET_KEY: SECRET,
      GATEWAY_BACKPLANE: 'rediss://h',
      GATEWAY_BACKPLANE_TLS_SERVERNAME: 'r.internal',
    }).backplane!.tls;
    expect(() => resolveBackplaneOptions('o.backplane', { client: { duplicate: () => null }, tls: fromEnv })).toThrow(
      /^o\.backplane\.tls is invalid with o\.backplane\.client: your client's TLS settings are used/,
    );
    // The forClient form names the option.
    expect(() =>
      resolveGatewayClientOptions({ secret: SECRET, backplane: { url: 'redis://h', tls: { ca: 'x' } } }),
    ).toThrow(/GatewayClientOptions\.backplane\.tls is set/);
  });

  it('explains the TLS errors whose cause is a setting, and shows the cause a Cluster error keeps aside', () => {
    const rediss = resolveBackplaneOptions('b', 'rediss://h:6380')!;
    const withCert = resolveBackplaneOptions('b', { url: 'rediss://h:6380', tls: { cert: 'c', key: 'k' } })!;
    const plain = resolveBackplaneOptions('b', 'redis://h:6379')!;
    const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
    const untrusted = coded('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN');
    expect(tlsHint(untrusted, rediss)).toMatch(
      /^ \(SELF_SIGNED_CERT_IN_CHAIN: the Redis server's TLS certificate is not trusted; give the CA .*GATEWAY_BACKPLANE_TLS_CA/,
    );
    // A trusted certificate for another name: which name was checked, the names it has, and servername.
    const mismatch = Object.assign(coded('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID'), {
      host: '10.0.0.5',
      cert: { subjectaltname: 'DNS:redis.internal, DNS:bad\nline' },
    });
    expect(tlsHint(mismatch, rediss)).toBe(
      " (ERR_TLS_CERT_ALTNAME_INVALID: the Redis server's TLS certificate does not name the host connected to " +
        '(10.0.0.5); it names DNS:redis.internal, DNS:bad?line: connect by a name it carries, or set ' +
        'GATEWAY_BACKPLANE_TLS_SERVERNAME or backplane.tls.servername to one)',
    );
    const withName = resolveBackplaneOptions('b', { url: 'rediss://h:6380', tls: { servername: 'other.internal' } })!;
    expect(tlsHint(Object.assign(mismatch, { host: 'other.internal' }), withName)).toMatch(
      /does not name the servername set \(other\.internal\); it names DNS:redis\.internal/,
    );
    expect(tlsHint(coded('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID'), rediss)).toMatch(
      /does not name the host connected to: connect by a name it carries, or set GATEWAY_BACKPLANE_TLS_SERVERNAME or backplane\.tls\.servername/,
    );
    // A reset TLS connection without a client certificate: probably tls-auth-clients; with one, perhaps a certificate
    // the server does not trust (TLS 1.3 refuses it after the handshake); on plain TCP, no hint.
    const reset = coded('read ECONNRESET', 'ECONNRESET');
    expect(tlsHint(reset, rediss)).toMatch(/tls-auth-clients yes.*GATEWAY_BACKPLANE_TLS_CERT/);
    expect(tlsHint(reset, withCert)).toMatch(/it may not accept the one configured; a handshake of our own logs why/);
    expect(tlsHint(reset, plain)).toBe('');
    // The alert a TLS 1.3 server sends for want of a client certificate (a handshake of our own gets it first).
    const required = Object.assign(
      coded(
        '80CCD155FE7E0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:' +
          '../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      ),
      { reason: 'tlsv13 alert certificate required' },
    );
    expect(tlsErrorText(required)).toBe('tlsv13 alert certificate required');
    expect(tlsErrorText(untrusted)).toBe('self-signed certificate in certificate chain');
    expect(tlsHint(required, rediss)).toBe(
      ' (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: this Redis checks client certificates, tls-auth-clients yes being ' +
        'its default: give one in GATEWAY_BACKPLANE_TLS_CERT / GATEWAY_BACKPLANE_TLS_KEY or backplane.tls.cert / key, ' +
        'or set tls-auth-clients no or optional on the server)',
    );
    expect(tlsHint(required, withCert)).toMatch(/did not get the one configured\)$/);
    expect(tlsHint(coded('connect ECONNREFUSED', 'ECONNREFUSED'), rediss)).toBe('');
    expect(tlsHint(new Error('no code'), rediss)).toBe('');
    const cluster = Object.assign(new Error('Failed to refresh slots cache.'), {
      lastNodeError: new Error('WRONGPASS invalid username-password pair or user is disabled.'),
    });
    expect(connectionErrorText(cluster, plain)).toBe(
      'Failed to refresh slots cache. Last node error: WRONGPASS invalid username-password pair or user is disabled.',
    );
    expect(
      connectionErrorText(
        Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: untrusted }),
        rediss,
      ),
    ).toMatch(/Last node error: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN: /);
  });

  it('explains the alerts about a client certificate: untrusted or refused (TLS 1.2 and 1.3), none under TLS 1.2', () => {
    const rediss = resolveBackplaneOptions('b', 'rediss://h:6380')!;
    const withCert = resolveBackplaneOptions('b', { url: 'rediss://h:6380', tls: { cert: 'c', key: 'k' } })!;
    const alert = (code: string, reason: string) =>
      Object.assign(new Error(`80CC8C72237F0000:error:0A000418:SSL routines:ssl3_read_bytes:${reason}:x.c:1601\n`), {
        code,
        reason,
      });
    // What redis-server answers a client certificate issued by a CA it does not trust (tls-ca-cert-file), TLS 1.2 or 1.3.
    const unknownCa = alert('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca');
    expect(tlsErrorText(unknownCa)).toBe('tlsv1 alert unknown ca');
    expect(tlsHint(unknownCa, withCert)).toBe(
      ' (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: this Redis does not accept the client certificate configured: its ' +
        'tls-ca-cert-file (or tls-ca-cert-dir) must hold the CA that issued GATEWAY_BACKPLANE_TLS_CERT / ' +
        'backplane.tls.cert, and the certificate must be valid now and allow client authentication)',
    );
    expect(tlsHint(unknownCa, rediss)).toMatch(/none is configured: give one in GATEWAY_BACKPLANE_TLS_CERT/);
    for (const [code, reason] of [
      ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'sslv3 alert bad certificate'],
      ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'sslv3 alert certificate unknown'],
      ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'sslv3 alert certificate expired'],
    ])
      expect(tlsHint(alert(code, reason), withCert)).toMatch(
        new RegExp(`^ \\(${code}: this Redis does not accept the client certificate configured`),
      );
    // TLS 1.2 (tls-protocols "TLSv1.2") without a client certificate: "handshake failure", not "certificate required".
    const handshake = alert('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'sslv3 alert handshake failure');
    expect(tlsHint(handshake, rediss)).toBe(
      ' (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: this Redis refused the TLS handshake; a TLS 1.2 server does so when ' +
        'it checks client certificates, tls-auth-clients yes being its default, and gets none: give one in ' +
        'GATEWAY_BACKPLANE_TLS_CERT / GATEWAY_BACKPLANE_TLS_KEY or backplane.tls.cert / key, or set tls-auth-clients ' +
        'no or optional on the server; else it shares no TLS version or cipher with this process (its tls-protocols, ' +
        'tls-ciphers))',
    );
    expect(tlsHint(handshake, withCert)).toMatch(
      /no TLS version or cipher .* or it refused the client certificate configured\)$/,
    );
  });
});
