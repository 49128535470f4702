import { BackplaneKeys } from './backplane-keys';
import { Janitor } from './janitor';
import type { RedisConnection } from './redis-connection';

describe('Janitor', () => {
  it('releases its lock when a purge fails, so that the next look can retry at once', async () => {
    const keys = new BackplaneKeys('gw');
    const locks = new Set<string>();
    let failHdel = true;
    const pipeline = {
      hdel: () => pipeline,
      exec: async () => [[failHdel ? new Error('CLUSTERDOWN The cluster is down') : null, 1]],
    };
    const redis = {
      isCluster: false,
      set: async (key: string, _value: string, ...args: (string | number)[]) => {
        if (args.includes('NX') && locks.has(key)) return null;
        locks.add(key);
        return 'OK';
      },
      get: async () => null,
      del: async (key: string) => Number(locks.delete(key)),
      sscan: async () => ['0', ['u1']],
      srem: async () => 1,
      publish: async () => 0,
      pipeline: () => pipeline,
    } as unknown as RedisConnection;
    const janitor = new Janitor(redis, keys);
    await expect(janitor.purge('gw-1')).rejects.toThrow(/CLUSTERDOWN/);
    expect(locks.has(keys.janitor('gw-1'))).toBe(false);
    failHdel = false;
    await expect(janitor.purge('gw-1')).resolves.toBe(true);
    expect(janitor.purged).toBe(1);
  });
});
