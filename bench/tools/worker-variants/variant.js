'use strict';
/**
 * A measuring experiment, never a product path: preloaded into a worker (through one of the one-line files beside
 * this one), it replaces what the worker does with a client message by less, so that paired echo-cpu runs split the
 * worker's CPU per echo into what the parts of its path cost:
 *
 *   transport  the inner transport alone: the frame and its envelope decoded, the body's bytes written back as a
 *              reply (a binary frame to the client: the same copy, no string), the event acknowledged. No client_id,
 *              no ordering, no handler, no string.
 *   strings    transport + the body turned into a string and the reply written from it (what handing a handler a
 *              string and sending its string back cost).
 *   ordered    strings, run as a task of the client's ordering queue (the client_id lookup + ClientTracker), as
 *              the worker runs every event.
 *
 * What remains between `ordered` and the real worker is the rest of the event runner: the EventRun, the handler's
 * route, the session's snapshot and write-back check, the Nest handler (its fast path) and the reply of its value.
 * Connect and close events, and anything else, take the worker's own path. Usage (this checkout's build; the option
 * reaches the gateway too, which this leaves alone):
 *
 *   T=$PWD/bench/tools/worker-variants
 *   ECHO_CPU_ROOTS="c=.,transport=.@-r $T/transport.js,strings=.@-r $T/strings.js,ordered=.@-r $T/ordered.js,te=TE" \
 *     node bench/tools/echo-cpu.js 8 1000x1x512
 */
const path = require('node:path');

const DIST = path.join(__dirname, '..', '..', '..', 'packages', 'nest-gateway-worker', 'dist');

module.exports = function install(variant) {
  if (!['transport', 'strings', 'ordered'].includes(variant)) throw new Error(`unknown worker variant ${variant}`);
  // Only the worker app (dist/apps/worker/main.js); the gateway is started with the same NODE_OPTIONS.
  if (path.basename(path.dirname(process.argv[1] || '')) !== 'worker') return;
  const { EventRunner } = require(path.join(DIST, 'worker', 'event-runner.js'));
  const { Cmd } = require(path.join(DIST, 'protocol', 'command.js'));
  const { decodeEventEnvelope } = require(path.join(DIST, 'protocol', 'event-envelope.js'));
  const { writeReplyFrame } = require(path.join(DIST, 'protocol', 'client-message.js'));
  const original = EventRunner.prototype.frame;

  /** The echo of `f` written into its gateway link's batch as the worker writes a reply, then the event's ack. */
  function reply(runner, f, gatewayAddress, link, seq) {
    const batch = runner.links.batchFor(gatewayAddress);
    if (batch === null) return;
    // transport: the body's bytes as they came (a binary reply: the same copy, no string); else its string.
    const value = variant === 'transport' ? f.body : f.body.toString('utf8');
    if (writeReplyFrame(batch, Cmd.SendToOne, f.connectionId, value) !== 'sent') return;
    if (seq !== undefined) runner.acks.add(link, seq);
  }

  EventRunner.prototype.frame = function frame(f, gatewayAddress, link) {
    if (f.cmd !== Cmd.OnMessage) return original.call(this, f, gatewayAddress, link);
    let envelope;
    try {
      envelope = decodeEventEnvelope(f.ext);
    } catch {
      return original.call(this, f, gatewayAddress, link);
    }
    if (variant !== 'ordered') return reply(this, f, gatewayAddress, link, envelope.q);
    this.tracker.schedule(this.ids.of(f), { start: () => reply(this, f, gatewayAddress, link, envelope.q) });
  };
  process.stderr.write(`worker variant ${variant} installed\n`);
};
