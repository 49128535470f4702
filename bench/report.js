'use strict';
/**
 * The markdown report: a summary of every target verdict (median of the per-round ratios against the issue's
 * target), then each scenario's tables and notes. Printed to stdout and written to bench/results/latest.md.
 */
const { fmt } = require('./format');

const cell = (s) => String(s).replace(/\|/g, '\\|');

function mdTable(header, rows) {
  return (
    [
      `| ${header.map(cell).join(' | ')} |`,
      `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
      ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

function verdictText(v) {
  if (v.info) return 'info';
  return v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL';
}

const verdictValue = (v, x) =>
  v.unit === 'count'
    ? typeof x === 'number' && Number.isFinite(x)
      ? String(x)
      : 'n/a'
    : v.unit === 'us'
      ? `${fmt.num(x)} µs`
      : fmt.x(x);

function formatReport(report) {
  const { machine, config, scenarios } = report;
  let out = `# GatewayWorker for Node: benchmark${config.smoke ? ' (SMOKE: tiny sizes, numbers meaningless)' : ''}\n\n`;
  out +=
    `${report.generatedAt}, node ${machine.node}, ${machine.cpus} CPU(s) (${machine.cpuModel}), ${machine.totalMemMiB} MiB, ` +
    `open files limit ${machine.openFilesLimit}, commit ${machine.commit ? machine.commit.slice(0, 12) : 'n/a'}. ` +
    `Load average at start: ${machine.loadAverageAtStart.join(', ')}${machine.loadAverageAtStart[0] > 0.5 * machine.cpus ? ' (the machine was busy: every number is skewed)' : ''}. ` +
    `${config.rounds} round(s) per scenario, targets interleaved in every round; ratios are taken per round, verdicts on their median. ` +
    'Absolute numbers are context only.\n\n';

  const verdicts = scenarios.flatMap((s) => (s.verdicts || []).map((v) => ({ ...v, scenario: s.title })));
  if (verdicts.length) {
    out += '## Goals (ratios in the same run)\n\n';
    out += mdTable(
      ['measure', 'per round', 'median', 'goal', 'verdict'],
      verdicts.map((v) => [
        v.label,
        v.perRound.map((x) => verdictValue(v, x)).join(' / '),
        verdictValue(v, v.median),
        v.target,
        verdictText(v),
      ]),
    );
    out += '\n';
  }

  for (const s of scenarios) {
    out += `## ${s.title}\n\n`;
    if (s.error) out += `**FAILED**: ${s.error.split('\n')[0]}\n\n`;
    for (const t of s.tables || []) {
      if (t.caption) out += `${t.caption}\n\n`;
      out += mdTable(t.header, t.rows) + '\n';
    }
    if (s.notes && s.notes.length) out += s.notes.map((n) => `- ${n}`).join('\n') + '\n\n';
    out += `(${(s.elapsedMs / 1000).toFixed(1)} s)\n\n`;
  }
  return out;
}

module.exports = { formatReport, mdTable };
