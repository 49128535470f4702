'use strict';
/**
 * Scenario 6: the cost of encryption. The echo chain of scenario 1 on two clusters in the same run, taking
 * turns: C (inner links with the AES-256-GCM record layer, random SECRET_KEY) and P (INNER_PLAINTEXT=true, no
 * SECRET_KEY). Cost = 1 - C/P throughput; target: at most 10 %.
 */
const { verdict } = require('../harness');
const { runEchoComparison, targetRows, roundRatios, warnings, describe, HEADER } = require('./echo');

async function run(config) {
  const echo = {
    connections: config.encryptionConnections,
    window: config.encryptionWindow,
    payloadBytes: config.encryptionPayloadBytes,
  };
  const specs = [
    { key: 'C', label: 'C' },
    { key: 'C', label: 'P', opts: { plaintext: true } },
  ];
  const data = await runEchoComparison(config, specs, [echo]);
  const c = data.configs[0];
  const names = { C: 'cluster, encrypted inner links', P: 'cluster, plaintext inner links (INNER_PLAINTEXT=true)' };
  const throughput = roundRatios(c, 'C', 'P', 'msgsPerSec');
  const cpu = roundRatios(c, 'C', 'P', 'serverCpuSecPerMillion');
  return {
    tables: [
      {
        caption: `${describe(echo)}, ${c.generators} generator process(es)`,
        header: HEADER,
        rows: targetRows(c, ['C', 'P'], names),
      },
      {
        caption: 'encryption cost per round',
        header: ['round', 'C/P throughput', 'throughput cost', 'C/P server CPU per msg'],
        rows: throughput.map((t, i) => [
          String(i + 1),
          t === null ? 'n/a' : `${t.toFixed(3)}x`,
          t === null ? 'n/a' : `${((1 - t) * 100).toFixed(1)}%`,
          cpu[i] === null ? 'n/a' : `${cpu[i].toFixed(3)}x`,
        ]),
      },
    ],
    verdicts: [verdict(`encryption: C/P echo throughput (cost <= 10 %)`, throughput, '>=', 0.9)],
    notes: [
      ...warnings(c, ['C', 'P']),
      'Both clusters are register + gateway + example echo worker; only the inner-link profile differs.',
    ],
    data,
  };
}

module.exports = {
  id: 'encryption',
  title: '6. Cost of encryption (echo chain with and without the record layer)',
  run,
};
