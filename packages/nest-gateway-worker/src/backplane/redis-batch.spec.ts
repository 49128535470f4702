import { BATCH_NOT_SENT, RedisBatch } from './redis-batch';
import type { RedisConnection } from './redis-connection';

/** A stand-in for a Cluster connection: records when each command is sent, answers when the test says so. */
function clusterLike() {
  const sent: string[] = [];
  const pending: { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  const command =
    (name: string) =>
    (...args: string[]) =>
      new Promise((resolve, reject) => {
        sent.push(`${name} ${args.join(' ')}`);
        pending.push({ command: `${name} ${args.join(' ')}`, resolve, reject });
      });
  const redis = {
    isCluster: true,
    sadd: command('sadd'),
    srem: command('srem'),
    hset: command('hset'),
    hdel: command('hdel'),
    hkeys: command('hkeys'),
    del: command('del'),
    pipeline: () => {
      throw new Error('a Cluster batch must not use one pipeline');
    },
  } as unknown as RedisConnection;
  return { redis, sent, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RedisBatch', () => {
  it('on a Cluster: a step is sent only once the step before answered; results in the order added', async () => {
    const { redis, sent, pending } = clusterLike();
    const batch = new RedisBatch(redis)
      .add('sadd', 'own:{g}', 'u1', 'u2')
      .step()
      .add('hset', 'u:{u1}', 'g', 1)
      .add('hset', 'u:{u2}', 'g', 2)
      .step()
      .add('srem', 'own:{g}', 'u3');
    const done = batch.exec();
    await tick();
    expect(sent).toEqual(['sadd own:{g} u1 u2']);
    pending.shift()!.resolve(2);
    await tick();
    // Both fields at once (one per node, pipelined by the connection), not before the ownership entry.
    expect(sent).toEqual(['sadd own:{g} u1 u2', 'hset u:{u1} g 1', 'hset u:{u2} g 2']);
    pending.shift()!.resolve(1);
    await tick();
    expect(sent).toHaveLength(3);
    pending.shift()!.resolve(1);
    await tick();
    expect(sent[3]).toBe('srem own:{g} u3');
    pending.shift()!.resolve(1);
    expect(await done).toEqual([
      [null, 2],
      [null, 1],
      [null, 1],
      [null, 1],
    ]);
  });

  it('on a Cluster: after a step with a failure, the later steps are not sent', async () => {
    const { redis, sent, pending } = clusterLike();
    const done = new RedisBatch(redis).add('sadd', 'own:{g}', 'u1').step().add('hset', 'u:{u1}', 'g', 1).exec();
    await tick();
    pending.shift()!.reject(new Error('OOM'));
    const results = await done;
    expect(sent).toEqual(['sadd own:{g} u1']);
    expect(results.map(([err]) => err?.message)).toEqual(['OOM', BATCH_NOT_SENT]);
  });

  it('on one server: one pipeline, every step in order', async () => {
    const queued: string[] = [];
    const pipeline: Record<string, unknown> = {};
    for (const name of ['sadd', 'srem', 'hset', 'hdel', 'hkeys', 'del'])
      pipeline[name] = (...args: string[]) => {
        queued.push(`${name} ${args.join(' ')}`);
        return pipeline;
      };
    pipeline.exec = async () => queued.map(() => [null, 1]);
    const redis = { isCluster: false, pipeline: () => pipeline } as unknown as RedisConnection;
    const results = await new RedisBatch(redis).add('sadd', 'a', 'x').step().add('hdel', 'b', 'y').exec();
    expect(queued).toEqual(['sadd a x', 'hdel b y']);
    expect(results).toHaveLength(2);
  });
});
