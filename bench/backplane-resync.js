#!/usr/bin/env node
'use strict';
/**
 * `node bench/backplane-resync.js [uids] [rounds]`: what one safety resync of a gateway's presence-directory entries
 * costs (GATEWAY_BACKPLANE_RESYNC_MS; the README's sizing figure). Starts its own redis-server (127.0.0.1, a free
 * port, persistence off, stopped by pid), runs the gateway's real PresencePublisher (from dist: `npm run build`
 * first) over a membership of `uids` online uids (one connection each, no groups), writes them once (the start),
 * then times `rounds` periodic resyncs (rewrite all, then the cleanup scan of the ownership set) and reports, per
 * resync: the wall time, the gateway's CPU time, redis-server's CPU time, and the commands Redis processed
 * (INFO stats). Needs redis-server and the ioredis dev dependency.
 */
const { Redis } = require('ioredis');
const { startRedisServer } = require('./redis-server');
const { PresencePublisher } = require('../packages/nest-gateway-worker/dist/backplane/presence-publisher');
const { BackplaneKeys } = require('../packages/nest-gateway-worker/dist/backplane/backplane-keys');

const N = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { port, stop } = await startRedisServer();
  try {
    const redis = new Redis({ host: '127.0.0.1', port });
    const probe = new Redis({ host: '127.0.0.1', port });
    const uids = Array.from({ length: N }, (_, i) => `user-${i}`);
    const one = { size: 1 };
    const membership = {
      uids: () => uids,
      groupIds: () => [],
      connectionsOfUid: () => one,
      membersOfGroup: () => undefined,
    };
    const publisher = new PresencePublisher(redis, new BackplaneKeys('gw'), membership, (what, err) => {
      throw new Error(`${what}: ${err.message}`);
    });
    const id = '10.0.0.12:2000/0123456789abcdef.0';
    const server = async () => {
      const stats = await probe.info('stats');
      const cpu = await probe.info('cpu');
      const num = (text, name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)[1]);
      return {
        commands: num(stats, 'total_commands_processed'),
        cpu: num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys'),
      };
    };
    await publisher.resync(id, false);
    const rows = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = await server();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await publisher.resync(id, true);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const after = await server();
      // The two INFO calls of `before` run before the counted span; the first INFO of `after` is counted.
      rows.push({
        wall,
        gatewayCpu: (cpu.user + cpu.system) / 1000,
        redisCpu: (after.cpu - before.cpu) * 1000,
        commands: after.commands - before.commands - 1,
      });
    }
    const version = /redis_version:(\S+)/.exec(await probe.info('server'))[1];
    const m = (k) => median(rows.map((x) => x[k]));
    console.log(
      `Redis ${version}, ${N} uids, ${ROUNDS} periodic resyncs (median): ${m('wall').toFixed(0)} ms wall, ` +
        `${m('gatewayCpu').toFixed(0)} ms gateway CPU, ${m('redisCpu').toFixed(0)} ms redis-server CPU, ` +
        `${m('commands')} Redis commands (${(m('commands') / N).toFixed(2)} per uid)`,
    );
    await publisher.stop();
    redis.disconnect();
    probe.disconnect();
  } finally {
    stop();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
