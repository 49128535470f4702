import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its unencrypted private key, as PEM file paths. */
export interface TestCertificate {
  cert: string;
  key: string;
}

/** EC P-256 keys: quick to make. */
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
/** Certificates live for the test run only. */
const DAYS = '2';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/**
 * Test certificates made with the openssl CLI in a temporary directory of their own (remove() deletes it): a
 * self-signed certificate, a CA and certificates it issues (for 127.0.0.1 by default, usable by servers and clients),
 * loose keys and arbitrary files. Nothing here is trusted by anything outside the test.
 */
export class TestPki {
  private constructor(readonly dir: string) {}

  static create(prefix: string): TestPki {
    return new TestPki(mkdtempSync(join(tmpdir(), `${prefix}-`)));
  }

  /** A self-signed certificate (no CA) with `san` (e.g. `IP:127.0.0.1`). */
  selfSigned(name: string, san = 'IP:127.0.0.1'): TestCertificate {
    const out = this.paths(name);
    openssl(
      ['req', '-x509', ...EC, '-keyout', out.key, '-out', out.cert, '-days', DAYS, '-subj', `/CN=${name}`].concat([
        '-addext',
        `subjectAltName=${san}`,
      ]),
    );
    return out;
  }

  /** A CA certificate (basicConstraints CA:TRUE) and its key. */
  ca(name: string): TestCertificate {
    const out = this.paths(name);
    openssl([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      out.key,
      '-out',
      out.cert,
      '-days',
      DAYS,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return out;
  }

  /** A certificate issued by `ca` for `san`, valid for TLS servers and clients both. */
  issue(ca: TestCertificate, name: string, san = 'IP:127.0.0.1'): TestCertificate {
    const out = this.paths(name);
    const csr = join(this.dir, `${name}.csr`);
    const ext = this.file(
      `${name}.ext`,
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    openssl(['req', '-new', ...EC, '-keyout', out.key, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(
      ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'].concat([
        '-out',
        out.cert,
        '-days',
        DAYS,
        '-extfile',
        ext,
      ]),
    );
    return out;
  }

  /** A loose EC private key (belongs to no certificate). */
  key(name: string): string {
    const path = join(this.dir, `${name}.pem`);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', path]);
    return path;
  }

  /** A file of this directory with `text`. */
  file(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private paths(name: string): TestCertificate {
    return { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}-key.pem`) };
  }
}
