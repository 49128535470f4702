import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { asyncOptionsProviders, type RoleAsyncOptions } from '../../module/async-options';
import { dashboardController } from './dashboard-controller';
import {
  GATEWAY_DASHBOARD_OPTIONS,
  resolveDashboardOptions,
  type GatewayDashboardOptions,
  type ResolvedGatewayDashboardOptions,
} from './dashboard-options';
import { DashboardPage } from './dashboard-page';
import { GatewayDashboardService } from './gateway-dashboard.service';

/**
 * `GatewayDashboardModule.forRootAsync()`: the options other than `path` from DI (e.g. the token from
 * ConfigService). `path` is given here: a route's path is fixed when the module is built.
 */
export interface GatewayDashboardAsyncOptions extends RoleAsyncOptions<Omit<GatewayDashboardOptions, 'path'>> {
  path?: string;
}

/**
 * A live dashboard of the cluster for any app that has a GatewayClient (a worker, or an app with
 * `GatewayModule.forClient`): registers, gateways (connections, workers, uptime, memory, message rates), groups and
 * uids, a client lookup by client_id or uid with its session, and actions to message or kick a client. One page and
 * a JSON API under `path`, served by Nest controllers on the app's own HTTP adapter; no build step, no CDN.
 * Refused (403) until `auth` configures a token or a guard.
 */
@Module({})
export class GatewayDashboardModule {
  static forRoot(options: GatewayDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    return GatewayDashboardModule.build(
      resolved.path,
      [],
      [{ provide: GATEWAY_DASHBOARD_OPTIONS, useValue: resolved }],
    );
  }

  /** forRoot with options from DI: `{ path, imports, inject, useFactory }` (or `useClass` / `useExisting`). */
  static forRootAsync(options: GatewayDashboardAsyncOptions): DynamicModule {
    const { path } = resolveDashboardOptions({ path: options.path });
    return GatewayDashboardModule.build(
      path,
      options.imports ?? [],
      asyncOptionsProviders(
        'forRootAsync',
        GATEWAY_DASHBOARD_OPTIONS,
        options,
        (o: Omit<GatewayDashboardOptions, 'path'>) => resolveDashboardOptions({ ...o, path }),
        'GatewayDashboardModule',
      ),
    );
  }

  private static build(path: string, imports: DynamicModule['imports'], optionProviders: Provider[]): DynamicModule {
    return {
      module: GatewayDashboardModule,
      imports,
      controllers: [dashboardController(path)],
      providers: [
        ...optionProviders,
        GatewayDashboardService,
        {
          provide: DashboardPage,
          useFactory: (o: ResolvedGatewayDashboardOptions) => new DashboardPage(o.path, o.refreshIntervalMs),
          inject: [GATEWAY_DASHBOARD_OPTIONS],
        },
      ],
      exports: [GatewayDashboardService],
    };
  }
}
