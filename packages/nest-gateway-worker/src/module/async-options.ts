import type { FactoryProvider, InjectionToken, ModuleMetadata, Provider, Type } from '@nestjs/common';
import { ConfigError } from '../config/environment';

/** A class that makes a role's options (for `useClass` / `useExisting`), e.g. one that reads ConfigService. */
export interface RoleOptionsFactory<T> {
  create(): T | Promise<T>;
}

/**
 * Options of a role from DI, the Nest convention of `forRootAsync` (the shape of ConfigurableModuleBuilder's async
 * options): exactly one of `useFactory` (with `inject`), `useClass` or `useExisting`; `imports` are the modules
 * their dependencies come from. What they return is checked like options given to the synchronous method.
 */
export interface RoleAsyncOptions<T> extends Pick<ModuleMetadata, 'imports'> {
  // any[], as Nest's own FactoryProvider: a factory's parameters are the injected types (unknown[] would refuse them).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory?: (...args: any[]) => T | Promise<T>;
  inject?: FactoryProvider['inject'];
  useClass?: Type<RoleOptionsFactory<T>>;
  useExisting?: InjectionToken<RoleOptionsFactory<T>>;
}

/**
 * The providers that put a role's resolved options under `token`: the user's factory (or class) runs when the
 * module is created, and `resolve` checks what it returns (a bad value: ConfigError naming the option). `owner`
 * is the module class errors name with `method`.
 */
export function asyncOptionsProviders<T, R>(
  method: string,
  token: InjectionToken,
  options: RoleAsyncOptions<T>,
  resolve: (options: T) => R,
  owner = 'GatewayModule',
): Provider[] {
  const given = [options.useFactory, options.useClass, options.useExisting].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new ConfigError(`${owner}.${method}: give exactly one of useFactory, useClass or useExisting (got ${given})`);
  }
  if (options.useFactory) {
    const factory = options.useFactory;
    return [
      {
        provide: token,
        useFactory: async (...args: unknown[]) => resolve(await factory(...args)),
        inject: options.inject ?? [],
      },
    ];
  }
  const fromFactory = { provide: token, useFactory: async (f: RoleOptionsFactory<T>) => resolve(await f.create()) };
  if (options.useClass) {
    return [
      { provide: options.useClass, useClass: options.useClass },
      { ...fromFactory, inject: [options.useClass] },
    ];
  }
  return [{ ...fromFactory, inject: [options.useExisting!] }];
}
