import type { CanActivate, Type } from '@nestjs/common';
import { ConfigError } from '../../config/environment';
import { integerOption, stringOption } from '../../config/option-checks';

/** Where the dashboard is mounted by default (relative to the app's global prefix, if any). */
export const DEFAULT_DASHBOARD_PATH = '/gateway-dashboard';
/** How often the page asks for the overview (gateways, registers, totals), in milliseconds. */
export const DEFAULT_DASHBOARD_REFRESH_MS = 2_000;
/** Bounds of `refreshIntervalMs`: every refresh asks every gateway, so not faster than this. */
export const MIN_DASHBOARD_REFRESH_MS = 500;
export const MAX_DASHBOARD_REFRESH_MS = 60_000;
/** Shortest accepted `auth.token`, in characters (as SECRET_KEY). */
export const MIN_DASHBOARD_TOKEN_LENGTH = 16;
/** Longest message the page may send to a client, in characters. */
export const DEFAULT_DASHBOARD_MAX_MESSAGE_CHARS = 65_536;
/** Groups listed at most (the largest first); the total count is always shown. */
export const DEFAULT_DASHBOARD_GROUP_LIMIT = 200;
/** Connections of one uid shown at most by a lookup. */
export const DEFAULT_DASHBOARD_UID_CLIENT_LIMIT = 50;

/**
 * Who may use the dashboard. Nothing configured refuses every data and action request with 403 (the page itself
 * loads and shows why): the dashboard shows sessions and can message and disconnect clients. Give one or both:
 *
 * - `token`: a shared secret of at least 16 characters; requests must carry `Authorization: Bearer <token>` (the
 *   page asks for it once and keeps it in the tab's sessionStorage). Compared in constant time; 401 when missing
 *   or wrong.
 * - `guard`: a Nest guard (a `CanActivate` class, resolved with DI from the dashboard module's `imports` or
 *   the app's global providers, or an instance): your own session, SSO, IP allowlist... false means 403.
 *
 * With both, a request needs the token and the guard's yes.
 */
export interface DashboardAuth {
  token?: string;
  guard?: Type<CanActivate> | CanActivate;
}

/** `GatewayDashboardModule.forRoot()` options. */
export interface GatewayDashboardOptions {
  /** URL path of the page; its JSON API is under `<path>/api`. Default `/gateway-dashboard`. */
  path?: string;
  /** Who may see and act; refused by default (see DashboardAuth). */
  auth?: DashboardAuth;
  /** How often the page refreshes the overview, in ms (500 … 60 000). Default 2000. */
  refreshIntervalMs?: number;
  /** Longest message the page may send to a client, in characters (1 … 1 048 576). Default 65 536. */
  maxMessageChars?: number;
}

/** The options with every default filled in. */
export interface ResolvedGatewayDashboardOptions {
  path: string;
  auth: { token: string | null; guard: Type<CanActivate> | CanActivate | null };
  refreshIntervalMs: number;
  maxMessageChars: number;
}

/** A URL path of one or more segments of unreserved characters: `/gateway-dashboard`, `/ops/gateways`. */
const PATH_PATTERN = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/** Checks the options (a bad one is a ConfigError naming it) and fills in the defaults. */
export function resolveDashboardOptions(options: GatewayDashboardOptions = {}): ResolvedGatewayDashboardOptions {
  const name = (field: string) => `GatewayDashboardOptions.${field}`;
  const rawPath = typeof options.path === 'string' ? options.path.trim().replace(/\/+$/, '') : options.path;
  const path = stringOption(
    name('path'),
    rawPath === '' ? '/' : rawPath,
    DEFAULT_DASHBOARD_PATH,
    PATH_PATTERN,
    'a URL path such as /gateway-dashboard (letters, digits, ".", "_", "~", "-" between slashes)',
  );
  const auth = options.auth ?? {};
  if (typeof auth !== 'object' || auth === null) throw new ConfigError(`${name('auth')} must be an object`);
  const token = auth.token === undefined || auth.token === null ? null : auth.token;
  if (token !== null && (typeof token !== 'string' || token.length < MIN_DASHBOARD_TOKEN_LENGTH)) {
    // The value is a secret: its length is all the message tells.
    throw new ConfigError(
      `${name('auth.token')} is invalid: expected a string of at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters` +
        (typeof token === 'string' ? ` (got ${token.length})` : ''),
    );
  }
  const guard = auth.guard ?? null;
  if (guard !== null && typeof guard !== 'function' && typeof (guard as CanActivate).canActivate !== 'function') {
    throw new ConfigError(`${name('auth.guard')} is invalid: expected a CanActivate class or instance`);
  }
  return {
    path,
    auth: { token, guard },
    refreshIntervalMs: integerOption(
      name('refreshIntervalMs'),
      options.refreshIntervalMs,
      DEFAULT_DASHBOARD_REFRESH_MS,
      MIN_DASHBOARD_REFRESH_MS,
      MAX_DASHBOARD_REFRESH_MS,
    ),
    maxMessageChars: integerOption(
      name('maxMessageChars'),
      options.maxMessageChars,
      DEFAULT_DASHBOARD_MAX_MESSAGE_CHARS,
      1,
      1_048_576,
    ),
  };
}

/** Injection token of the dashboard's resolved options. */
export const GATEWAY_DASHBOARD_OPTIONS = Symbol('GATEWAY_DASHBOARD_OPTIONS');
