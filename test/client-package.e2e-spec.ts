import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { consumerEnv, runCommand } from './support/consumer-app';
import { startGateway, startRegister, startWorker, stopAll } from './support/roles';

/**
 * The packed client package (`npm pack` of packages/nest-gateway-worker-client) installed in a temporary directory,
 * as a user's project gets it: what the tarball holds, an ES module script and a CommonJS script that import it by
 * name and talk to the example worker through a real gateway (with `ws`, and with Node's own WebSocket), and the
 * size of its one-file browser build. The package has no dependencies: installing the tarball needs no registry.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packPackage } = require('../scripts/pack-package.js') as {
  packPackage(dest: string, name: string): string;
};
const PACK_TIMEOUT_MS = 120_000;
const INSTALL_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 30_000;
/** A generous budget for the minified + gzipped browser build (it is about 4 KiB). */
const BROWSER_GZIP_BUDGET_BYTES = 8 * 1024;

/** The repository's `ws`, for the scripts (the package itself depends on nothing). */
const WS_PATH = require.resolve('ws');

const ESM_SCRIPT = `
import { createRequire } from 'node:module';
import { GatewayWorkerClient, CloseCode, RequestError } from 'nest-gateway-worker-client';
const [url, wsPath, useGlobal] = process.argv.slice(2);
const WebSocket = useGlobal === 'global' ? undefined : createRequire(import.meta.url)(wsPath);
const client = new GatewayWorkerClient(url, { WebSocket });
await client.connect();
const answer = await client.request({ type: 'process' });
const refused = await client.request({ type: 'say', content: 'x' }).catch((e) => e);
client.close();
console.log(JSON.stringify({
  resolved: import.meta.resolve('nest-gateway-worker-client'),
  answer: answer.type,
  refused: refused instanceof RequestError ? refused.message : String(refused),
  shutdown: CloseCode.GATEWAY_SHUTTING_DOWN,
}));
`;

const CJS_SCRIPT = `
const { GatewayWorkerClient, CloseCode, RequestError } = require('nest-gateway-worker-client');
const [url, wsPath] = process.argv.slice(2);
(async () => {
  const client = new GatewayWorkerClient(url, { WebSocket: require(wsPath) });
  await client.connect();
  const answer = await client.request({ type: 'process' });
  const refused = await client.request({ type: 'say', content: 'x' }).catch((e) => e);
  client.close();
  console.log(JSON.stringify({
    resolved: require.resolve('nest-gateway-worker-client'),
    answer: answer.type,
    refused: refused instanceof RequestError ? refused.message : String(refused),
    shutdown: CloseCode.GATEWAY_SHUTTING_DOWN,
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** The last line a script printed, parsed. */
function lastJson(output: string): Record<string, unknown> {
  const lines = output.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

describe('the packed nest-gateway-worker-client', () => {
  let dir: string;
  let tarball: string;
  let gatewayUrl: string;

  beforeAll(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'ngw-client-'));
      tarball = packPackage(join(dir, 'pack'), 'nest-gateway-worker-client');
      const app = join(dir, 'app');
      execFileSync('mkdir', ['-p', app]);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'client-consumer', private: true }));
      writeFileSync(join(app, 'esm.mjs'), ESM_SCRIPT);
      writeFileSync(join(app, 'cjs.cjs'), CJS_SCRIPT);
      await runCommand(
        'npm',
        ['install', '--no-audit', '--no-fund', '--no-update-notifier', tarball],
        app,
        INSTALL_TIMEOUT_MS,
      );
      const register = await startRegister();
      const gateway = await startGateway(register.address);
      await startWorker(register.address, {}, gateway.inner);
      gatewayUrl = gateway.url;
    },
    PACK_TIMEOUT_MS + INSTALL_TIMEOUT_MS + 60_000,
  );

  afterAll(async () => {
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the ES module and CommonJS builds with their types, the browser build, README and LICENSE; no specs', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    for (const file of [
      'package/package.json',
      'package/README.md',
      'package/LICENSE',
      'package/dist/esm/index.js',
      'package/dist/esm/index.d.ts',
      'package/dist/cjs/index.js',
      'package/dist/cjs/index.d.ts',
      'package/dist/cjs/package.json',
      'package/dist/browser/nest-gateway-worker-client.min.js',
      'package/src/gateway-worker-client.ts',
    ])
      expect(files).toContain(file);
    expect(files.filter((f) => /\.spec\.|tsbuildinfo|scripts\//.test(f))).toEqual([]);
  });

  it.each([
    ['an ES module script (with ws)', 'esm.mjs', 'dist/esm/index.js'],
    ['a CommonJS script (with ws)', 'cjs.cjs', 'dist/cjs/index.js'],
  ])('%s imports it by name and talks to the example worker through a real gateway', async (_what, script, entry) => {
    const output = await runCommand(
      process.execPath,
      [script, gatewayUrl, WS_PATH],
      join(dir, 'app'),
      RUN_TIMEOUT_MS,
      consumerEnv(),
    );
    const result = lastJson(output);
    expect(String(result.resolved)).toContain(`node_modules/nest-gateway-worker-client/${entry}`);
    expect(result).toMatchObject({ answer: 'process', refused: 'login first', shutdown: 1001 });
  });

  it("works with Node's own WebSocket, without ws (Node 22+, or 20's --experimental-websocket)", async () => {
    const major = Number(process.versions.node.split('.')[0]);
    const flags = major >= 22 ? [] : ['--experimental-websocket'];
    const output = await runCommand(
      process.execPath,
      [...flags, 'esm.mjs', gatewayUrl, '', 'global'],
      join(dir, 'app'),
      RUN_TIMEOUT_MS,
    );
    expect(lastJson(output)).toMatchObject({ answer: 'process', refused: 'login first' });
  });

  it('its browser build is small (minified and gzipped size reported; a generous budget asserted)', () => {
    const bundle = readFileSync(
      join(
        dir,
        'app',
        'node_modules',
        'nest-gateway-worker-client',
        'dist',
        'browser',
        'nest-gateway-worker-client.min.js',
      ),
    );
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    console.log(`nest-gateway-worker-client browser build: ${bundle.length} bytes minified, ${gzipped} bytes gzipped`);
    expect(gzipped).toBeLessThan(BROWSER_GZIP_BUDGET_BYTES);
    // No Node built-ins in the browser build.
    expect(bundle.toString('utf8')).not.toMatch(/\brequire\(|from ?["']node:/);
  });
});
