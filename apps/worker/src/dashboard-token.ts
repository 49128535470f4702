import { ConfigError } from 'nest-gateway-worker';

/** Shortest DASHBOARD_TOKEN accepted (the package's minimum for a dashboard token). */
export const MIN_DASHBOARD_TOKEN_LENGTH = 16;

/**
 * DASHBOARD_TOKEN: the bearer token of the example's dashboard at /gateway-dashboard, or null when unset (the
 * dashboard then refuses every request). Never logged.
 */
export function readDashboardToken(env: Record<string, string | undefined> = process.env): string | null {
  const token = env.DASHBOARD_TOKEN?.trim();
  if (!token) return null;
  if (token.length < MIN_DASHBOARD_TOKEN_LENGTH) {
    throw new ConfigError(
      `DASHBOARD_TOKEN is invalid: expected at least ${MIN_DASHBOARD_TOKEN_LENGTH} characters (got ${token.length})`,
    );
  }
  return token;
}
