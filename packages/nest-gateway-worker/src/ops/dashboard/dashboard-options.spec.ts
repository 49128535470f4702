import { Injectable, type CanActivate } from '@nestjs/common';
import { ConfigError } from '../../config/environment';
import {
  DEFAULT_DASHBOARD_MAX_MESSAGE_CHARS,
  DEFAULT_DASHBOARD_PATH,
  DEFAULT_DASHBOARD_REFRESH_MS,
  resolveDashboardOptions,
} from './dashboard-options';

@Injectable()
class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

describe('resolveDashboardOptions', () => {
  it('fills in the defaults: the default path, no auth (refused), 2 s refresh', () => {
    expect(resolveDashboardOptions()).toEqual({
      path: DEFAULT_DASHBOARD_PATH,
      auth: { token: null, guard: null },
      refreshIntervalMs: DEFAULT_DASHBOARD_REFRESH_MS,
      maxMessageChars: DEFAULT_DASHBOARD_MAX_MESSAGE_CHARS,
    });
    expect(DEFAULT_DASHBOARD_PATH).toBe('/gateway-dashboard');
  });

  it('takes a path of one or more segments; a trailing slash is dropped', () => {
    expect(resolveDashboardOptions({ path: '/ops/gateways/' }).path).toBe('/ops/gateways');
    expect(resolveDashboardOptions({ path: '/x' }).path).toBe('/x');
  });

  it.each([['gateway-dashboard'], ['/'], ['/a b'], ['/a/../b?x'], ['/<script>']])('refuses the path %j', (path) => {
    expect(() => resolveDashboardOptions({ path })).toThrow(ConfigError);
    expect(() => resolveDashboardOptions({ path })).toThrow(/GatewayDashboardOptions\.path=.* is invalid/);
  });

  it('takes a token of 16+ characters; a shorter one is refused by its length, never shown', () => {
    expect(resolveDashboardOptions({ auth: { token: 'sixteen-chars-ok' } }).auth.token).toBe('sixteen-chars-ok');
    let message = '';
    try {
      resolveDashboardOptions({ auth: { token: 'short-secret' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'GatewayDashboardOptions.auth.token is invalid: expected a string of at least 16 characters (got 12)',
    );
    expect(message).not.toContain('short-secret');
  });

  it('takes a guard as a class or an instance, and refuses anything else', () => {
    expect(resolveDashboardOptions({ auth: { guard: AllowAll } }).auth.guard).toBe(AllowAll);
    const instance = new AllowAll();
    expect(resolveDashboardOptions({ auth: { guard: instance } }).auth.guard).toBe(instance);
    expect(() => resolveDashboardOptions({ auth: { guard: {} as CanActivate } })).toThrow(
      'GatewayDashboardOptions.auth.guard is invalid: expected a CanActivate class or instance',
    );
  });

  it('keeps the refresh interval between 500 ms and 60 s', () => {
    expect(resolveDashboardOptions({ refreshIntervalMs: 500 }).refreshIntervalMs).toBe(500);
    expect(() => resolveDashboardOptions({ refreshIntervalMs: 100 })).toThrow(
      'GatewayDashboardOptions.refreshIntervalMs=100 is invalid: expected an integer from 500 to 60000',
    );
  });
});
