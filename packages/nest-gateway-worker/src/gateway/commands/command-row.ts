import type { Cmd } from '../../protocol/command';
import type { GatewayFrame } from '../../protocol/frame';
import type { GatewayBackplaneState } from '../../protocol/connection-stats';
import type { GatewayRequest } from '../../protocol/gateway-request';
import type { ClientHub } from '../client-hub';

/** A parameter of a request command (the fields of the ext JSON). */
export type RequestKey = keyof GatewayRequest;

/** Decoded parameters in which the `K` fields are known to be present (the table checked them). */
export type Params<K extends RequestKey> = GatewayRequest & Required<Pick<GatewayRequest, K>>;

/** What a command row may use: the hub, and what GetGatewayStats and the warnings need. */
export interface CommandContext {
  readonly hub: ClientHub;
  /** Workers linked now. */
  readonly workerCount: number;
  /** When the gateway started (its uptime counts from it), epoch ms. */
  readonly startedAt: number;
  now(): number;
  /** Command frames received, by command code (one header byte), whether executed or not. */
  readonly received: Float64Array;
  /** The gateway's state on the Redis backplane; null without one. */
  backplaneState(): GatewayBackplaneState | null;
  /** A command that was not carried out: a warning, at most one per command code every 10 s. */
  warnIgnored(cmd: number, reason: string): void;
}

/**
 * One row per command code, by kind:
 *  - `direct`: a single-connection command whose parameters are the header and the body (SendToOne, Kick,
 *    Destroy). Its ext is empty (fire and forget: nothing is parsed) or `{"rid":n}` (confirmed: answered with
 *    the number `run` returns);
 *  - `raw`: the ext is not a request (the session of SetSession / UpdateSession; nothing for Ping); never answered;
 *  - `action`: the ext is a request, decoded and checked once; answered with the number `run` returns (the
 *    connections reached) when it carries a rid;
 *  - `query`: the ext is a request with a rid; answered with the JSON text `run` returns.
 */
export type CommandRow =
  | { readonly cmd: Cmd; readonly kind: 'direct'; run(ctx: CommandContext, f: GatewayFrame): number }
  | { readonly cmd: Cmd; readonly kind: 'raw'; run(ctx: CommandContext, f: GatewayFrame): void }
  | {
      readonly cmd: Cmd;
      readonly kind: 'action';
      readonly required: readonly RequestKey[];
      run(ctx: CommandContext, f: GatewayFrame, p: GatewayRequest): number;
    }
  | {
      readonly cmd: Cmd;
      readonly kind: 'query';
      readonly required: readonly RequestKey[];
      run(ctx: CommandContext, f: GatewayFrame, p: GatewayRequest): string;
    };

export function direct(cmd: Cmd, run: (ctx: CommandContext, f: GatewayFrame) => number): CommandRow {
  return { cmd, kind: 'direct', run };
}

export function raw(cmd: Cmd, run: (ctx: CommandContext, f: GatewayFrame) => void): CommandRow {
  return { cmd, kind: 'raw', run };
}

/** An action row; `run` sees the `required` fields as present (decodeRequest checks types, the table presence). */
export function action<K extends RequestKey = never>(
  cmd: Cmd,
  required: readonly K[],
  run: (ctx: CommandContext, f: GatewayFrame, p: Params<K>) => number,
): CommandRow {
  return {
    cmd,
    kind: 'action',
    required,
    run: run as (ctx: CommandContext, f: GatewayFrame, p: GatewayRequest) => number,
  };
}

/** A query row: `rid` is required besides `required`. */
export function query<K extends RequestKey = never>(
  cmd: Cmd,
  required: readonly K[],
  run: (ctx: CommandContext, f: GatewayFrame, p: Params<K | 'rid'>) => string,
): CommandRow {
  return {
    cmd,
    kind: 'query',
    required: ['rid', ...required],
    run: run as (ctx: CommandContext, f: GatewayFrame, p: GatewayRequest) => string,
  };
}
