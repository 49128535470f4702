import { WebSocket as NodeWs } from 'ws';
import { GatewayWorkerClient } from './gateway-worker-client.js';
import type { WebSocketConstructor } from './websocket.js';

/**
 * Type-level checks (the repository's `tsc --noEmit` and ts-jest compile this file; every `@ts-expect-error` must
 * meet an error): the WebSocket classes that fit, and a schema typing messages by their `type`.
 */

interface ChatSchema {
  receive: {
    say: { type: 'say'; from_client_name: string; content: string };
    logout: { type: 'logout'; client_id: string };
  };
  send: { say: { content: string; to?: string }; leave: object };
  requests: {
    login: { request: { name: string; room: string }; response: { client_id: string } };
    online: { request: object; response: { client_list: Record<string, string> } };
  };
}

/** Never called: its body is what the compiler checks. */
function typed(client: GatewayWorkerClient<ChatSchema>): void {
  client.on('say', (m) => m.content.toUpperCase());
  client.on('logout', (m) => m.client_id.length);
  // @ts-expect-error a type the schema does not receive
  client.on('unknown', () => undefined);
  // @ts-expect-error a field the message does not have
  client.on('say', (m) => m.missing);

  client.send({ type: 'say', content: 'hi' });
  client.send({ type: 'say', content: 'psst', to: '7f00000107d000000001' });
  client.send({ type: 'leave' });
  // @ts-expect-error content must be a string
  client.send({ type: 'say', content: 1 });
  // @ts-expect-error a type the schema does not send
  client.send({ type: 'shout', content: 'hi' });

  void client.request({ type: 'login', name: 'Ann', room: 'lobby' }).then((w) => w.client_id.length);
  void client.request({ type: 'online' }).then((o) => Object.keys(o.client_list));
  // @ts-expect-error room is required
  void client.request({ type: 'login', name: 'Ann' });
  // @ts-expect-error not a request type
  void client.request({ type: 'say', content: 'x' });
}

/** Without a schema, anything with a type goes, and fields are unknown. */
function untyped(client: GatewayWorkerClient): void {
  client.on('anything', (m) => m.type.length);
  client.send({ type: 'anything', n: 1 });
  void client.request({ type: 'anything' }).then((r: unknown) => r);
  // @ts-expect-error a message needs a type
  client.send({ n: 1 });
}

describe('types', () => {
  it('the ws class and the DOM WebSocket both fit the WebSocket option', () => {
    const fromWs: WebSocketConstructor = NodeWs;
    const fromDom: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof globalThis.WebSocket })
      .WebSocket;
    expect(typeof fromWs).toBe('function');
    void fromDom;
    void typed;
    void untyped;
  });
});
