import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { GatewayModule } from '../gateway.module';
import { GatewayTransport } from './gateway-transport';
import { GATEWAY_SESSION_STORE, type SessionStore } from './session-store';
import { InMemorySessionStore } from './session-store.memory';
import type { WorkerOptions } from './worker-options';

const options: WorkerOptions = { registers: '127.0.0.1:1', plaintext: true, name: 'spec' };

const PREFIX = Symbol('PREFIX');

/** A store with a dependency from another module, as a Redis-backed one would have its client. */
@Injectable()
class PrefixedStore extends InMemorySessionStore implements SessionStore {
  constructor(@Inject(PREFIX) readonly prefix: string) {
    super();
  }
}

@Module({ providers: [{ provide: PREFIX, useValue: 'session:' }], exports: [PREFIX] })
class PrefixModule {}

describe('GatewayModule.forWorker session store wiring (no links are opened: the transport is not listening)', () => {
  it('no store: the transport has none', async () => {
    const module = await Test.createTestingModule({ imports: [GatewayModule.forWorker(options)] }).compile();
    expect(module.get(GatewayTransport).options.sessionStore).toBeUndefined();
    expect(() => module.get(GATEWAY_SESSION_STORE)).toThrow();
  });

  it('a store instance in the options is used as is', async () => {
    const store = new InMemorySessionStore();
    const module = await Test.createTestingModule({
      imports: [GatewayModule.forWorker({ ...options, sessionStore: store })],
    }).compile();
    expect(module.get(GatewayTransport).options.sessionStore).toBe(store);
  });

  it('a store class from DI, with its dependencies from imported modules, under GATEWAY_SESSION_STORE', async () => {
    const module = await Test.createTestingModule({
      imports: [
        GatewayModule.forWorker(options, { imports: [PrefixModule], sessionStore: { useClass: PrefixedStore } }),
      ],
    }).compile();
    const store = module.get<PrefixedStore>(GATEWAY_SESSION_STORE);
    expect(store).toBeInstanceOf(PrefixedStore);
    expect(store.prefix).toBe('session:');
    expect(module.get(GatewayTransport).options.sessionStore).toBe(store);
  });

  it('a store from a factory', async () => {
    const store = new InMemorySessionStore();
    const module = await Test.createTestingModule({
      imports: [GatewayModule.forWorker(options, { sessionStore: { useFactory: () => store } })],
    }).compile();
    expect(module.get(GatewayTransport).options.sessionStore).toBe(store);
  });
});
