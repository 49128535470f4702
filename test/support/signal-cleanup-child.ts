/**
 * A test process for test/signal-cleanup.e2e-spec.ts (run with ts-node): it creates a network namespace lab with
 * one host and starts a redis-server, prints what it made as one JSON line ("made {…}"), then waits to be ended by
 * a signal. Bounded: it exits by itself after CHILD_LIFETIME_MS.
 */
import { NetnsLab } from './netns-lab';
import { RedisServer } from './redis-server';

const CHILD_LIFETIME_MS = 60_000;

async function main(): Promise<void> {
  const lab = new NetnsLab();
  lab.create();
  const host = lab.addHost(1);
  lab.checkRoutes();
  const redis = await RedisServer.start({ host: lab.dataAddress, args: ['--protected-mode', 'no'] });
  const made = {
    namespaces: [host.ns],
    links: [lab.meshBridge, lab.dataBridge, host.meshPeer, host.dataPeer],
    redisPid: redis.pid,
    redisDir: (redis as unknown as { dir: string }).dir,
  };
  console.log(`made ${JSON.stringify(made)}`);
  setTimeout(() => process.exit(3), CHILD_LIFETIME_MS);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(2);
});
