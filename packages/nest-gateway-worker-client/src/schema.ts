/**
 * Typing the messages of an application, by their `type` field. A schema names what the server sends (`receive`),
 * what the client sends (`send`) and the requests with their responses (`requests`), each keyed by type; every part
 * is optional, and what is left out is typed loosely.
 *
 * ```ts
 * interface ChatSchema {
 *   receive: { say: { type: 'say'; from_client_name: string; content: string } };
 *   send: { say: { content: string; to?: string } };
 *   requests: { login: { request: { name: string; room: string }; response: { client_id: string } } };
 * }
 * const client = new GatewayWorkerClient<ChatSchema>(url);
 * client.on('say', (m) => m.content);                 // m: ChatSchema['receive']['say']
 * client.send({ type: 'say', content: 'hi' });
 * const welcome = await client.request({ type: 'login', name: 'Ann', room: 'lobby' }); // { client_id: string }
 * ```
 */
export interface ClientSchema {
  receive?: object;
  send?: object;
  requests?: object;
}

/** A JSON object of any shape. */
export type JsonObject = { [field: string]: unknown };

/** A message routed by type, when the schema does not say more. */
export type UntypedMessage = { type: string } & JsonObject;

type ReceiveMap<S> = S extends { receive: infer R extends object } ? R : Record<string, UntypedMessage>;
type SendMap<S> = S extends { send: infer M extends object } ? M : Record<string, JsonObject>;
type RequestMap<S> = S extends { requests: infer Q extends object }
  ? Q
  : Record<string, { request: JsonObject; response: unknown }>;

/** The types of messages the server sends. */
export type ReceivedType<S> = keyof ReceiveMap<S> & string;
/** The message of type `K` the server sends. */
export type ReceivedMessage<S, K extends ReceivedType<S>> = ReceiveMap<S>[K];

/** Any message the client may send: `{ type, ...fields }`, one member per type. */
export type SentMessage<S> = { [K in keyof SendMap<S> & string]: { type: K } & SendMap<S>[K] }[keyof SendMap<S> &
  string];

/** The types of requests. */
export type RequestType<S> = keyof RequestMap<S> & string;
/** The request message of type `K`: `{ type: K, ...fields }`. */
export type RequestMessage<S, K extends RequestType<S>> = { type: K } & (RequestMap<S>[K] extends {
  request: infer R;
}
  ? R
  : JsonObject);
/** What the worker's handler of request type `K` returns. */
export type ResponseOf<S, K extends RequestType<S>> = RequestMap<S>[K] extends { response: infer R } ? R : unknown;
