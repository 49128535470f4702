import type * as PromClientModule from 'prom-client';
import { ConfigError } from '../../config/environment';

/** The prom-client module, loaded on demand. */
export type PromClient = typeof PromClientModule;

/**
 * prom-client, an optional peer dependency: loaded only when an admin listener is configured, so applications that
 * do not serve metrics need not install it. Missing, it is a ConfigError naming `name` (the variable or option that
 * asked for the admin listener) and the install command.
 */
export function loadPromClient(name: string): PromClient {
  try {
    // A require on demand, not an import: the module is optional and must not load unless metrics are served.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClient;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes("'prom-client'")) {
      throw new ConfigError(
        `${name} is set, but prom-client (the optional peer dependency that serves /metrics) is not installed: ` +
          'npm install prom-client',
      );
    }
    throw err;
  }
}
