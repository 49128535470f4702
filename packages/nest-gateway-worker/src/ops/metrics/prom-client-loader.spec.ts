import { ConfigError } from '../../config/environment';

describe('loadPromClient: the optional peer dependency', () => {
  afterEach(() => jest.resetModules());

  it('loads prom-client when it is installed', () => {
    const { loadPromClient } = jest.requireActual<typeof import('./prom-client-loader')>('./prom-client-loader');
    expect(typeof loadPromClient('ADMIN_LISTEN').Registry).toBe('function');
  });

  it('stops with a line naming the variable and the install command when it is not', () => {
    jest.isolateModules(() => {
      // What Node throws for a package that is not installed (the module itself is third-party, not ours).
      jest.doMock('prom-client', () => {
        const err = new Error("Cannot find module 'prom-client'") as NodeJS.ErrnoException;
        err.code = 'MODULE_NOT_FOUND';
        throw err;
      });
      // Required inside isolateModules, after the mock: an import would load them before it.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { loadPromClient } = require('./prom-client-loader') as typeof import('./prom-client-loader');
      const { ConfigError: IsolatedConfigError } = require('../../config/environment') as {
        ConfigError: typeof ConfigError;
      };
      /* eslint-enable @typescript-eslint/no-require-imports */
      expect(() => loadPromClient('GatewayOptions.admin')).toThrow(IsolatedConfigError);
      expect(() => loadPromClient('GatewayOptions.admin')).toThrow(
        /^GatewayOptions\.admin is set, but prom-client .* is not installed: npm install prom-client$/,
      );
    });
  });
});
