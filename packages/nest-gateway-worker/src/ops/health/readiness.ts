/**
 * What `GET /health/ready` answers: 200 when the role can do its job now, else 503 with the reason; the body is
 * this object as JSON either way.
 */
export interface Readiness {
  ready: boolean;
  /** Why it is not ready (absent when ready). */
  reason?: string;
  /** The figures the verdict was made from (counts and states, never client data). */
  checks: Record<string, number | boolean | string>;
}

/** A verdict from `checks`: ready unless a reason is given. */
export function readiness(checks: Readiness['checks'], reason?: string): Readiness {
  return reason === undefined ? { ready: true, checks } : { ready: false, reason, checks };
}
