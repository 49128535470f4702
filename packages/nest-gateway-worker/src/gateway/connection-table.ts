import type { ClientConnection } from './client-connection';

const MAX_CONNECTION_ID = 0xffffffff;

/**
 * The gateway's client connections by connection id. Ids come from a counter that skips ids still in use
 * and wraps to 1 after 2^32-1 (PHP's rule), so an id is reused only after wrap-around.
 */
export class ConnectionTable {
  private readonly byId = new Map<number, ClientConnection>();
  private lastId = 0;

  nextId(): number {
    do {
      this.lastId = this.lastId >= MAX_CONNECTION_ID ? 1 : this.lastId + 1;
    } while (this.byId.has(this.lastId));
    return this.lastId;
  }

  add(connection: ClientConnection): void {
    this.byId.set(connection.id, connection);
  }

  get(id: number): ClientConnection | undefined {
    return this.byId.get(id);
  }

  delete(id: number): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<ClientConnection> {
    return this.byId.values();
  }
}
