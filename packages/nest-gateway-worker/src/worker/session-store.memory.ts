import type { SessionStore } from './session-store';

/**
 * A {@link SessionStore} in this process's memory: sessions are kept as JSON text (so a stored session cannot be
 * changed through an object a handler still holds) and live as long as the process. For tests and single-worker
 * deployments; several workers need a shared store (Redis, a database).
 */
export class InMemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, string>();

  async load(uid: string): Promise<Record<string, unknown> | null> {
    const json = this.sessions.get(uid);
    return json === undefined ? null : (JSON.parse(json) as Record<string, unknown>);
  }

  async save(uid: string, session: Record<string, unknown>): Promise<void> {
    this.sessions.set(uid, JSON.stringify(session));
  }

  /** Forgets the session of `uid`. */
  async delete(uid: string): Promise<void> {
    this.sessions.delete(uid);
  }

  /** Number of uids with a stored session. */
  get size(): number {
    return this.sessions.size;
  }
}
