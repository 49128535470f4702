import type { RateLimitedLog } from '../../logging/rate-limited-log';
import { rejectionReasonLabel } from './label-bounds';
import type { MetricsSink } from './metrics-sink';

/**
 * `gatewayworker_inner_link_rejections_total{reason}`: links a listening side (a gateway's inner port, a register)
 * closed for bad input, from its rejected-links log, summed by bounded reason (see rejectionReasonLabel).
 */
export function rejectionMetric(m: MetricsSink, rejections: () => RateLimitedLog): void {
  m.counter(
    'gatewayworker_inner_link_rejections_total',
    'Inner links closed for bad input by this listening side, by reason (not_inner_protocol, plaintext_mismatch, ' +
      'wrong_secret and handshake_timeout are failed handshakes).',
    ['reason'],
    () => {
      const byLabel = new Map<string, number>();
      for (const [reason, n] of Object.entries(rejections().counts())) {
        const label = rejectionReasonLabel(reason);
        byLabel.set(label, (byLabel.get(label) ?? 0) + n);
      }
      return [...byLabel].map(([reason, value]) => ({ labels: { reason }, value }));
    },
  );
}
