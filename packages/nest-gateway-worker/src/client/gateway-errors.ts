/**
 * Errors GatewayClient rejects with. Each names what failed (the gateway's inner address, the argument) and
 * never carries message bodies or secrets. A malformed client_id rejects with InvalidClientIdError
 * (protocol/client-id.ts); a gateway that refused a request's parameters with GatewayRequestError
 * (protocol/gateway-request.ts).
 */

/** A gateway that is not registered, could not be linked within the timeout, or lost its link. */
export class GatewayUnavailableError extends Error {
  override name = 'GatewayUnavailableError';
  constructor(
    /** Inner address "ip:port" of the gateway. */
    readonly gatewayAddress: string,
    readonly reason: string,
  ) {
    super(`gateway ${gatewayAddress} unavailable: ${reason}`);
  }
}

/** A gateway that did not answer a request within the per-gateway timeout. */
export class GatewayTimeoutError extends GatewayUnavailableError {
  override name = 'GatewayTimeoutError';
  constructor(gatewayAddress: string, timeoutMs: number) {
    super(gatewayAddress, `no answer within ${timeoutMs} ms`);
  }
}

/**
 * A fire-and-forget command that was queued on a gateway's link, but the link closed before the command left
 * this process: the gateway never received it. Reported on `GatewayClient.failures` (the call had already
 * resolved); never retried. Commands already handed to the operating system when a link breaks are not
 * reported: whether the gateway read them is unknown.
 */
export class CommandNotSentError extends GatewayUnavailableError {
  override name = 'CommandNotSentError';
}

/** No register answered with a gateway list within the timeout. */
export class RegisterUnavailableError extends Error {
  override name = 'RegisterUnavailableError';
  constructor(registers: string[], timeoutMs: number) {
    super(`no gateway list from register ${registers.join(', ')} within ${timeoutMs} ms`);
  }
}

/** A uid, group, session or message argument the API cannot use (e.g. an empty uid). */
export class GatewayArgumentError extends TypeError {
  override name = 'GatewayArgumentError';
}

/**
 * One gateway's failure: during a call that went to several gateways, or a fire-and-forget command lost with its
 * link ({@link CommandNotSentError}).
 */
export interface GatewayFailure {
  /** The GatewayClient method, e.g. "sendToUid". */
  operation: string;
  gatewayAddress: string;
  error: Error;
  /** The target of a single-client command (a lost sendToClient, bindUid, ...); absent for multi-gateway calls. */
  clientId?: string;
}

/**
 * A multi-gateway call in which some gateways failed, when the client is configured to reject
 * (`rejectOnGatewayFailure`). The other gateways were still delivered to / asked.
 */
export class GatewayPartialFailureError extends Error {
  override name = 'GatewayPartialFailureError';
  constructor(
    readonly operation: string,
    readonly failures: GatewayFailure[],
  ) {
    super(
      `${operation}: ${failures.length} gateway(s) failed: ` +
        failures.map((f) => `${f.gatewayAddress} (${f.error.message})`).join('; '),
    );
  }
}
