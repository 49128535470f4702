import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/**
 * A `/metrics` scrape as tests read it. The metric families (name, type, help) come from the library
 * `parse-prometheus-text-format`; its sample view flattens a labelled histogram into one unlabelled series, and
 * it accepts lines that are not valid exposition text (`foo bar baz`), so every sample line is also checked here
 * against the text format's grammar and read with its labels.
 */
export interface PromSample {
  /** The sample's own name (`..._bucket`, `..._sum`, `..._count` for histograms). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromScrape {
  /** Family name → type (lower case: counter, gauge, histogram, summary, untyped). */
  families: Map<string, string>;
  samples: PromSample[];
}

const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE_LINE = new RegExp(`^(${METRIC_NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?[0-9]+)?$`);
/** A value as Go's strconv.ParseFloat reads it (what Prometheus uses): NaN and Inf in any case (prom-client writes "Nan"). */
const VALUE = /^[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|inf|infinity|nan)$/i;
const LABEL_PAIR = new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, 'g');

/** Parses exposition text strictly: throws naming the first line that is not a comment, blank, or a valid sample. */
export function parseScrape(text: string): PromScrape {
  const families = new Map<string, string>();
  for (const family of parsePrometheusTextFormat(text)) families.set(family.name, family.type.toLowerCase());
  const samples: PromSample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m || !VALUE.test(m[3])) throw new Error(`line ${i + 1} is not a valid sample: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (m[2] ?? '').matchAll(LABEL_PAIR)) {
      labels[name] = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    samples.push({ name: m[1], labels, value: numberOf(m[3]) });
  }
  for (const s of samples) {
    // The library makes an "untyped" family of samples without a # TYPE line; prom-client always writes one.
    const type = families.get(familyOf(s.name, families));
    if (type === undefined || type === 'untyped') throw new Error(`sample ${s.name} has no # TYPE line for its family`);
  }
  return { families, samples };
}

function numberOf(text: string): number {
  if (/nan$/i.test(text)) return NaN;
  if (/inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** The family a sample belongs to: its name, or its name without a histogram's or summary's suffix. */
export function familyOf(name: string, families: Map<string, string>): string {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(base) ? base : name;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(scrape: PromScrape, name: string, labels: Record<string, string> = {}): PromSample[] {
  return scrape.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function valueOf(scrape: PromScrape, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(scrape, name, labels).reduce((sum, s) => sum + s.value, 0);
}
