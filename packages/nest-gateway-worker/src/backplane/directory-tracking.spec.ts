import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { BackplaneKeys } from './backplane-keys';
import { resolveBackplaneOptions } from './backplane-options';
import { BackplaneWarnings } from './backplane-warnings';
import { DirectoryTracking } from './directory-tracking';
import type { RedisConnection } from './redis-connection';

/** A ready connection that accepts what arming the cache sends (CLIENT ID, SUBSCRIBE, CLIENT TRACKING, PING). */
class ReadyConnection extends EventEmitter {
  status = 'ready';
  call(command: string, sub?: string): Promise<unknown> {
    return Promise.resolve(command === 'client' && sub === 'id' ? 7 : 'OK');
  }
  subscribe(): Promise<unknown> {
    return Promise.resolve(1);
  }
  disconnect(): void {
    this.status = 'end';
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DirectoryTracking', () => {
  it('answers nothing from its entries while the reader would not combine its answers with the leases', async () => {
    const reader = {
      inView: true,
      reads: 0,
      async gatewaysOf(_kind: 'uid' | 'group', names: readonly string[]) {
        this.reads++;
        return this.inView ? names.map(() => ['g1']) : null;
      },
    };
    const logger = new Logger('DirectoryTrackingSpec');
    const warnings = new BackplaneWarnings(logger, resolveBackplaneOptions('test', 'redis://127.0.0.1:6379')!);
    const tracking = new DirectoryTracking(
      reader,
      new ReadyConnection() as unknown as RedisConnection,
      new ReadyConnection() as unknown as RedisConnection,
      new BackplaneKeys('gw'),
      warnings,
    );
    try {
      await tick();
      expect(tracking.cache.armed).toBe(true);
      expect(await tracking.gatewaysOf('uid', ['u'])).toEqual([['g1']]);
      expect(await tracking.gatewaysOf('uid', ['u'])).toEqual([['g1']]);
      expect(reader.reads).toBe(1); // the second from the cache
      // Discovery's leases now come from another server than the reader's (a failover half followed).
      reader.inView = false;
      expect(await tracking.gatewaysOf('uid', ['u'])).toBeNull();
      expect(reader.reads).toBe(2);
      // Back in view: the entry (still kept correct by its server's notices) is used again.
      reader.inView = true;
      expect(await tracking.gatewaysOf('uid', ['u'])).toEqual([['g1']]);
      expect(reader.reads).toBe(2);
    } finally {
      tracking.close();
    }
  });
});
