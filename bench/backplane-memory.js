#!/usr/bin/env node
'use strict';
/**
 * `node bench/backplane-memory.js [uids]`: what the Redis backplane's presence directory costs in Redis memory,
 * per online uid (the README's sizing figure). Starts its own redis-server (127.0.0.1, a free port, persistence
 * off, stopped by pid), writes what the gateways' PresencePublisher writes for each uid (its ownership entry,
 * then its hash field: `SADD <p>:own:{<id>}:u <uid>`, `HSET <p>:u:{<uid>} <id> 1`, pipelined by 1 000) for one
 * gateway, then the same uids on a second gateway, and reports `used_memory` per uid from INFO. Uids look like
 * `user-123456`, ids like `10.0.0.12:2000/<16 hex>.0`. Needs redis-server and the ioredis dev dependency.
 */
const { Redis } = require('ioredis');
const { startRedisServer } = require('./redis-server');

const N = Number(process.argv[2] ?? 100_000);
const BATCH = 1_000;

async function main() {
  const { port, stop } = await startRedisServer();
  try {
    const redis = new Redis({ host: '127.0.0.1', port });
    const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
    const write = async (id) => {
      for (let i = 0; i < N; i += BATCH) {
        const p = redis.pipeline();
        for (let j = i; j < Math.min(N, i + BATCH); j++)
          p.sadd(`gw:own:{${id}}:u`, `user-${j}`).hset(`gw:u:{user-${j}}`, id, 1);
        await p.exec();
      }
    };
    const base = await used();
    await write('10.0.0.12:2000/0123456789abcdef.0');
    const one = await used();
    await write('10.0.0.13:2000/fedcba9876543210.0');
    const two = await used();
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))[1];
    console.log(
      `Redis ${version}, ${N} uids: ${Math.round((one - base) / N)} bytes per uid on one gateway, ` +
        `+${Math.round((two - one) / N)} per uid on a second gateway`,
    );
    redis.disconnect();
  } finally {
    stop();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
