import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { encodeClientId } from '../protocol/client-id';
import { FrameFlag } from '../protocol/command';
import { decodeDeadLetterMeta } from '../protocol/dead-letter-frame';
import type { GatewayFrame } from '../protocol/frame';
import type { DeadLetter } from './dead-letter';
import type { GatewayContext } from './gateway.context';

/** The DeadLetter a DeadLetter frame from the gateway at `gatewayAddress` stands for; throws when its ext is bad. */
export function deadLetterOf(f: GatewayFrame, gatewayAddress: string): DeadLetter {
  const meta = decodeDeadLetterMeta(f.ext);
  return {
    clientId: encodeClientId(f),
    kind: meta.kind,
    body: f.body,
    size: f.body.length,
    binary: (f.flag & FrameFlag.Binary) !== 0,
    deaths: meta.deaths,
    uid: meta.uid ?? null,
    gatewayAddress,
  };
}

/**
 * Runs an `@OnDeadLetter()` handler (Nest's wrapper: pipes, guards, interceptors, filters) on `letter` and waits
 * for it to finish: a Promise, an Observable (until it completes). What it produces is dropped; the returned promise
 * rejects with its failure (a throw, a rejection, or the error its exception filters turned it into).
 */
export async function runDeadLetterHandler(
  handler: MessageHandler,
  letter: DeadLetter,
  ctx: GatewayContext,
): Promise<void> {
  const result: unknown = await handler(letter, ctx);
  if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
}
