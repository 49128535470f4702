import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigError } from '../config/environment';
import { GATEWAY_REGISTER_OPTIONS, GatewayModule } from '../gateway.module';
import { RegisterServer } from '../register/register-server';
import type { RegisterOptions, ResolvedRegisterOptions } from '../register/register-options';
import type { RoleOptionsFactory } from './async-options';

const SECRET = 'async-secret-0123456';
const LISTEN = Symbol('LISTEN');

@Module({ providers: [{ provide: LISTEN, useValue: '127.0.0.1:0' }], exports: [LISTEN] })
class SettingsModule {}

@Injectable()
class RegisterConfig implements RoleOptionsFactory<RegisterOptions> {
  constructor(@Inject(LISTEN) private readonly listen: string) {}
  create(): RegisterOptions {
    return { listen: this.listen, secret: SECRET, helloTimeoutMs: '2000' as unknown as number };
  }
}

@Module({ imports: [SettingsModule], providers: [RegisterConfig], exports: [RegisterConfig] })
class RegisterConfigModule {}

/** Module creation only (no init): nothing listens. */
async function resolvedBy(module: ReturnType<typeof GatewayModule.forRegisterAsync>): Promise<ResolvedRegisterOptions> {
  const ref = await Test.createTestingModule({ imports: [module] }).compile();
  expect(ref.get(RegisterServer)).toBeInstanceOf(RegisterServer);
  return ref.get(GATEWAY_REGISTER_OPTIONS);
}

describe('GatewayModule.for*Async options providers', () => {
  const expected = {
    listen: { host: '127.0.0.1', port: 0 },
    secret: Buffer.from(SECRET),
    plaintext: false,
    wireProfile: 'native',
    phpSecretKey: '',
    helloTimeoutMs: 2000,
    admin: null,
  };

  it('useFactory with inject from an imported module: the result is resolved', async () => {
    const module = GatewayModule.forRegisterAsync({
      imports: [SettingsModule],
      inject: [LISTEN],
      useFactory: async (listen: string) => ({ listen, secret: SECRET, helloTimeoutMs: 2000 }),
    });
    expect(await resolvedBy(module)).toEqual(expected);
  });

  it('useClass: the class is created with its dependencies from imports', async () => {
    expect(
      await resolvedBy(GatewayModule.forRegisterAsync({ imports: [SettingsModule], useClass: RegisterConfig })),
    ).toEqual(expected);
  });

  it('useExisting: a provider of an imported module', async () => {
    expect(
      await resolvedBy(
        GatewayModule.forRegisterAsync({ imports: [RegisterConfigModule], useExisting: RegisterConfig }),
      ),
    ).toEqual(expected);
  });

  it('the sync method resolves when called', async () => {
    expect(
      await resolvedBy(GatewayModule.forRegister({ listen: '127.0.0.1:0', secret: SECRET, helloTimeoutMs: 2000 })),
    ).toEqual(expected);
    expect(() => GatewayModule.forRegister({ listen: 'x', secret: SECRET })).toThrow(
      /^RegisterOptions\.listen="x" is invalid/,
    );
  });

  it('a bad value from the factory fails module creation with a ConfigError naming the option', async () => {
    const module = GatewayModule.forRegisterAsync({ useFactory: () => ({ secret: SECRET, helloTimeoutMs: 1 }) });
    const compile = Test.createTestingModule({ imports: [module] }).compile();
    await expect(compile).rejects.toThrow(ConfigError);
  });

  it('needs exactly one of useFactory, useClass, useExisting', () => {
    expect(() => GatewayModule.forGatewayAsync({})).toThrow(
      /^GatewayModule\.forGatewayAsync: give exactly one of useFactory, useClass or useExisting \(got 0\)$/,
    );
    expect(() => GatewayModule.forClientAsync({ useFactory: () => ({}), useClass: RegisterConfig as never })).toThrow(
      /\(got 2\)$/,
    );
  });
});
