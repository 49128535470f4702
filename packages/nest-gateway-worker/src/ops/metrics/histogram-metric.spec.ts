import { Registry } from 'prom-client';
import { parseScrape, samplesOf, valueOf } from '../../../../../test/support/prometheus-text';
import { DURATION_BUCKETS_SECONDS, DurationHistogram } from './duration-histogram';
import { HistogramMetric } from './histogram-metric';

describe('DurationHistogram and HistogramMetric', () => {
  it('counts each observation in the first bucket whose bound it does not exceed', () => {
    const h = new DurationHistogram([0.1, 1]);
    for (const s of [0.05, 0.1, 0.5, 1, 2, 30]) h.observe(s);
    expect(h.cumulative()).toEqual([2, 4, 6]);
    expect(h.count).toBe(6);
    expect(h.sum).toBeCloseTo(33.65);
  });

  it('is formatted by a prom-client Registry as a Prometheus histogram with its labels', async () => {
    const registry = new Registry();
    const a = new DurationHistogram();
    const b = new DurationHistogram();
    new HistogramMetric('test_duration_seconds', 'A test.', () => [
      { labels: { type: 'a' }, histogram: a },
      { labels: { type: 'b\n"quoted"' }, histogram: b },
    ]).registerIn(registry);
    for (let i = 0; i < 10; i++) a.observe(0.0002 * i);
    b.observe(20);
    const scrape = parseScrape(await registry.metrics());
    expect(scrape.families.get('test_duration_seconds')).toBe('histogram');
    expect(valueOf(scrape, 'test_duration_seconds_count', { type: 'a' })).toBe(10);
    expect(valueOf(scrape, 'test_duration_seconds_bucket', { type: 'a', le: '0.001' })).toBe(6);
    expect(valueOf(scrape, 'test_duration_seconds_bucket', { type: 'a', le: '+Inf' })).toBe(10);
    expect(samplesOf(scrape, 'test_duration_seconds_bucket', { type: 'a' })).toHaveLength(
      DURATION_BUCKETS_SECONDS.length + 1,
    );
    expect(valueOf(scrape, 'test_duration_seconds_sum', { type: 'a' })).toBeCloseTo(0.009);
    expect(valueOf(scrape, 'test_duration_seconds_bucket', { type: 'b\n"quoted"', le: '10' })).toBe(0);
    expect(valueOf(scrape, 'test_duration_seconds_bucket', { type: 'b\n"quoted"', le: '+Inf' })).toBe(1);
  });

  it("the tests' parser refuses what is not exposition text (the library alone accepts it)", () => {
    expect(() => parseScrape('# TYPE a gauge\nfoo bar baz\n')).toThrow(/line 2 is not a valid sample/);
    expect(() => parseScrape('a{b="c} 1\n')).toThrow(/not a valid sample/);
    expect(() => parseScrape('a 1\n')).toThrow(/no # TYPE line/);
    const scrape = parseScrape('# TYPE a gauge\na{b="x"} Nan\na{b="y"} +Inf\n');
    expect(samplesOf(scrape, 'a').map((s) => s.value)).toEqual([NaN, Infinity]);
  });
});
