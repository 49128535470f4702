import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { variablesOf } from '../config/environment-variables';
import { runGatewayWorkerCommand, USAGE_EXIT_CODE } from './command-line';

function run(...args: string[]): { status: number | undefined; out: string; err: string } {
  let out = '';
  let err = '';
  const status = runGatewayWorkerCommand(
    args,
    { write: (t: string) => (out += t) },
    { write: (t: string) => (err += t) },
  );
  return { status, out, err };
}

describe('gateway-worker command line', () => {
  it('--help lists both commands and every variable of each role with its default', () => {
    const { status, out, err } = run('--help');
    expect(status).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^ {2}register {2}/m);
    expect(out).toMatch(/^ {2}gateway {3}/m);
    for (const role of ['register', 'gateway'] as const) {
      for (const v of variablesOf(role))
        expect(out).toMatch(
          new RegExp(`^ {2}${v.name} +default: ${v.defaultText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
        );
    }
    expect(out).toContain('GATEWAY_COUNT');
    expect(out).not.toContain('WORKER_DRAIN_TIMEOUT_MS'); // a worker variable: workers are the user's own apps
  });

  it('`<role> --help` and `help <role>` show that role only', () => {
    for (const args of [
      ['gateway', '--help'],
      ['help', 'gateway'],
      ['gateway', '-h'],
    ]) {
      const { status, out } = run(...args);
      expect(status).toBe(0);
      expect(out).toContain('GATEWAY_LISTEN');
      expect(out).not.toContain('REGISTER_LISTEN');
    }
    const register = run('help', 'register');
    expect(register.out).toContain('REGISTER_LISTEN');
    expect(register.out).not.toContain('GATEWAY_LISTEN');
  });

  it('no command prints the help to stdout with the usage status', () => {
    const { status, out } = run();
    expect(status).toBe(USAGE_EXIT_CODE);
    expect(out).toContain('Usage: gateway-worker <command>');
  });

  it('an unknown command or role, or an extra argument, is a usage error naming it', () => {
    for (const [args, text] of [
      [['worker'], 'unknown command "worker"'],
      [['help', 'nope'], 'unknown role "nope"'],
      [['register', '--port=1'], 'unexpected argument "--port=1"'],
    ] as const) {
      const { status, out, err } = run(...args);
      expect(status).toBe(USAGE_EXIT_CODE);
      expect(out).toBe('');
      expect(err).toContain(text);
      expect(err).toContain('gateway-worker --help');
    }
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(run('--version')).toEqual({ status: 0, out: `${pkg.version}\n`, err: '' });
  });
});
