import type { Writable } from 'node:stream';

/** Bytes held for one socket within a turn past which they are written at once (the cork stays for the rest). */
export const FLUSH_BYTES = 64 * 1024;

/** Client sockets corked by {@link corkForTurn}, uncorked together when the current turn's code is done. */
const corked: Writable[] = [];

function uncorkAll(): void {
  // Read the length on every step: a write callback run while uncorking may cork (and append) another socket.
  for (let i = 0; i < corked.length; i++) corked[i].uncork();
  corked.length = 0;
}

/**
 * Holds a client socket's writes until the end of the current event-loop turn, then writes them with one
 * syscall (a writev): the replies a worker batch carries for one client (several messages in flight, a burst
 * of pushes) cost one write instead of one per message (DESIGN.md: one write per link per event-loop turn).
 * The order of the bytes does not change, and ws's own writes (pings, pongs, the close frame) queue behind the
 * same cork. Corked bytes count in `writableLength`, so the slow-consumer bound sees them.
 *
 * A socket already corked (by this turn's earlier sends) is left as it is; `end()` uncorks by itself and a
 * destroyed socket ignores the uncork, so a close within the turn loses nothing.
 */
export function corkForTurn(socket: Writable): void {
  if (socket.writableCorked !== 0) {
    // A big turn for one client (large messages, a long burst): what is held goes to the kernel now, as it would
    // have without the cork, so the slow-consumer bound (which counts held bytes) is not reached any sooner.
    if (socket.writableLength >= FLUSH_BYTES) {
      socket.uncork();
      socket.cork();
    }
    return;
  }
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}
