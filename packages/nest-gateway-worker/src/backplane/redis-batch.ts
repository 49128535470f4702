import type { RedisConnection, RedisPipeline } from './redis-connection';

/** The commands a batch may hold (each on one key, or keys of one slot). */
export type BatchCommand = 'sadd' | 'srem' | 'hset' | 'hdel' | 'hkeys' | 'del';

/** A failed step's reason, given to the commands after it that were therefore not sent. */
export const BATCH_NOT_SENT = 'not sent: a command of an earlier step of the batch failed';

/**
 * Commands sent together, in steps, that work on one server and on a Redis Cluster alike:
 *  - one server (or a Sentinel-managed primary): one pipeline, in order; a step boundary costs nothing, since one
 *    connection applies commands in the order they were sent;
 *  - a Cluster: keys of different slots live on different nodes, and a pipeline may only hold keys of one node.
 *    Each command is sent on its own, all of a step at once; the connection's automatic pipelining groups them into
 *    one pipeline per node. A step starts only once every command of the step before has answered, which keeps the
 *    order the callers rely on across nodes (an ownership entry before the field it covers); after a step with a
 *    failure, the later steps are not sent (reported failed with {@link BATCH_NOT_SENT}).
 * `exec` resolves with one [error, reply] per command, in the order they were added (like a pipeline's exec).
 */
export class RedisBatch {
  private readonly steps: [BatchCommand, string[]][][] = [[]];

  constructor(private readonly redis: RedisConnection) {}

  /** The number of commands added. */
  get length(): number {
    return this.steps.reduce((n, step) => n + step.length, 0);
  }

  add(command: BatchCommand, ...args: (string | number)[]): this {
    this.steps[this.steps.length - 1].push([command, args.map(String)]);
    return this;
  }

  /** What is added from now on is applied only after everything added before. */
  step(): this {
    if (this.steps[this.steps.length - 1].length > 0) this.steps.push([]);
    return this;
  }

  async exec(): Promise<[Error | null, unknown][]> {
    if (this.redis.isCluster !== true) {
      const pipeline = this.redis.pipeline();
      for (const step of this.steps)
        for (const [command, args] of step)
          (pipeline[command] as (...a: string[]) => RedisPipeline).apply(pipeline, args);
      const results = await pipeline.exec();
      if (results === null) throw new Error('pipeline aborted');
      return results;
    }
    const out: [Error | null, unknown][] = [];
    let failed = false;
    for (const step of this.steps) {
      if (failed) {
        for (let i = 0; i < step.length; i++) out.push([new Error(BATCH_NOT_SENT), null]);
        continue;
      }
      const results = await Promise.all(
        step.map(([command, args]) =>
          (this.redis[command] as (...a: string[]) => Promise<unknown>).apply(this.redis, args).then(
            (value): [Error | null, unknown] => [null, value],
            (err: Error): [Error | null, unknown] => [err, null],
          ),
        ),
      );
      failed = results.some(([err]) => err !== null);
      out.push(...results);
    }
    return out;
  }
}
