/**
 * README.zh-CN.md is a translation of README.md, kept in step by hand. This spec finds where they drifted apart:
 * the configuration table (every variable, with its roles and default), the close-code tables, the npm scripts of
 * the quick starts, the code samples (copied verbatim), the links between the two files and the in-page links.
 * Each problem is one line naming the variable, code or script and the file that lacks it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const EN = 'README.md';
const ZH = 'README.zh-CN.md';

/** The sections compared, by their heading in each file. */
const HEADINGS = {
  configuration: { en: '## Configuration', zh: '## 配置' },
  closeCodes: { en: '#### Close codes', zh: '#### 关闭码' },
  quickStarts: {
    en: ['## Five minutes to a working app', '## This repository: quick start'],
    zh: ['## 五分钟上手', '## 本仓库快速开始'],
  },
};

/** The "used by" cells the Chinese table translates; role names themselves stay in English. */
const ZH_ROLES: Record<string, string> = { 全部: 'all', '示例 worker': 'example worker' };

interface Readme {
  file: string;
  text: string;
}

/** GitHub's anchor of a heading (as scripts/package-readme.js computes it). */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The headings of a text, line by line (`#` lines inside fenced code blocks are comments, not headings). */
function headingLines(text: string): (string | null)[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && /^#{1,6} /.test(line) ? line : null;
  });
}

/** The text under `heading` (a whole line), up to the next heading of the same or a higher level. */
function section(readme: Readme, heading: string): string {
  const lines = readme.text.split('\n');
  const headings = headingLines(readme.text);
  const start = headings.indexOf(heading);
  if (start < 0) throw new Error(`${readme.file} has no "${heading}" heading (the spec looks its tables up by it)`);
  const level = heading.indexOf(' ');
  let end = start + 1;
  while (end < lines.length && !(headings[end] !== null && headings[end]!.indexOf(' ') <= level)) end++;
  return lines.slice(start + 1, end).join('\n');
}

/** The body rows of every table in `text`, as trimmed cells (header and separator rows left out). */
function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('|') || /^\|[-| :]+\|$/.test(lines[i])) continue;
    if (i + 1 < lines.length && /^\|[-| :]+\|$/.test(lines[i + 1])) continue; // a header row
    rows.push(
      lines[i]
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** The `code` spans of a cell: what must read the same in both languages. */
function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

interface VariableRow {
  name: string;
  roles: string;
  defaults: string[];
}

function configurationRows(readme: Readme, heading: string): VariableRow[] {
  return tableRows(section(readme, heading))
    .filter((cells) => /^`[A-Z][A-Z0-9_]*`$/.test(cells[0]))
    .map((cells) => ({
      name: cells[0].replace(/`/g, ''),
      roles: ZH_ROLES[cells[1]] ?? cells[1],
      defaults: codeSpans(cells[2] ?? ''),
    }));
}

/** Names in `a` that `b` lacks, each as often as it is missing. */
function missing(a: string[], b: string[]): string[] {
  const left = [...b];
  return a.filter((name) => {
    const at = left.indexOf(name);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

function configurationProblems(en: Readme, zh: Readme): string[] {
  const enRows = configurationRows(en, HEADINGS.configuration.en);
  const zhRows = configurationRows(zh, HEADINGS.configuration.zh);
  const problems: string[] = [];
  if (enRows.length === 0) problems.push(`${en.file}'s configuration table has no rows the spec can read`);
  const enNames = enRows.map((r) => r.name);
  const zhNames = zhRows.map((r) => r.name);
  for (const name of missing(enNames, zhNames)) {
    problems.push(`${zh.file}'s configuration table has no row for ${name} (${en.file}'s has): translate it`);
  }
  for (const name of missing(zhNames, enNames)) {
    problems.push(`${zh.file}'s configuration table lists ${name}, which ${en.file}'s does not`);
  }
  for (const row of enRows) {
    const other = zhRows.find((r) => r.name === row.name);
    if (!other) continue;
    if (other.roles !== row.roles) {
      problems.push(`${row.name} is used by "${row.roles}" in ${en.file} but by "${other.roles}" in ${zh.file}`);
    }
    if (other.defaults.join(' ') !== row.defaults.join(' ')) {
      problems.push(
        `${row.name}'s default is ${JSON.stringify(row.defaults)} in ${en.file} but ${JSON.stringify(other.defaults)} in ${zh.file}`,
      );
    }
  }
  const common = enNames.filter((n) => zhNames.includes(n));
  const zhOrder = zhNames.filter((n) => enNames.includes(n));
  if (problems.length === 0 && common.join() !== zhOrder.join()) {
    problems.push(`${zh.file}'s configuration table is not in ${en.file}'s order: ${common.join(', ')}`);
  }
  return problems;
}

interface CloseCodeRow {
  codes: string;
  reasons: string[];
}

/** Rows of the close-code tables, keyed by the codes their first cell names ("4000,4401,4403", "1000,...,3000-4999"). */
function closeCodeRows(readme: Readme, heading: string): CloseCodeRow[] {
  return tableRows(section(readme, heading)).map((cells) => ({
    codes: (cells[0].match(/\d{4}(?:-\d{4})?/g) ?? ['(none)']).join(','),
    reasons: codeSpans(cells[1] ?? ''),
  }));
}

function closeCodeProblems(en: Readme, zh: Readme): string[] {
  const enRows = closeCodeRows(en, HEADINGS.closeCodes.en);
  const zhRows = closeCodeRows(zh, HEADINGS.closeCodes.zh);
  const problems: string[] = [];
  if (enRows.length === 0) problems.push(`${en.file}'s close-code tables have no rows the spec can read`);
  const enCodes = enRows.map((r) => r.codes);
  const zhCodes = zhRows.map((r) => r.codes);
  for (const codes of missing(enCodes, zhCodes)) {
    problems.push(`${zh.file}'s close-code tables have no row for ${codes} (${en.file}'s have): translate it`);
  }
  for (const codes of missing(zhCodes, enCodes)) {
    problems.push(`${zh.file}'s close-code tables have a row for ${codes}, which ${en.file}'s do not`);
  }
  if (problems.length > 0) return problems;
  enRows.forEach((row, i) => {
    if (zhRows[i].codes !== row.codes) {
      problems.push(
        `row ${i + 1} of the close-code tables is ${row.codes} in ${en.file} but ${zhRows[i].codes} in ${zh.file}`,
      );
    } else if (zhRows[i].reasons.join(' ') !== row.reasons.join(' ')) {
      problems.push(
        `close code ${row.codes}: reason ${JSON.stringify(row.reasons)} in ${en.file} but ${JSON.stringify(zhRows[i].reasons)} in ${zh.file}`,
      );
    }
  });
  return problems;
}

/** The npm scripts a text runs: `npm start`, `npm test`, `npm run <name>`. */
function npmScripts(text: string): string[] {
  const names = [...text.matchAll(/\bnpm (?:run ([\w:.-]+)|(start|test)\b)/g)].map((m) => m[1] ?? m[2]);
  return [...new Set(names)].sort();
}

function quickStartProblems(en: Readme, zh: Readme, scripts: Record<string, string>): string[] {
  const enScripts = npmScripts(HEADINGS.quickStarts.en.map((h) => section(en, h)).join('\n'));
  const zhScripts = npmScripts(HEADINGS.quickStarts.zh.map((h) => section(zh, h)).join('\n'));
  return [
    ...missing(enScripts, zhScripts).map(
      (s) => `${zh.file}'s quick starts do not mention \`npm ${s}\` (${en.file}'s do)`,
    ),
    ...missing(zhScripts, enScripts).map(
      (s) => `${zh.file}'s quick starts mention \`npm ${s}\`, which ${en.file}'s do not`,
    ),
    ...[...enScripts, ...zhScripts]
      .filter((s, i, all) => all.indexOf(s) === i && !(s in scripts))
      .map((s) => `the quick starts mention \`npm ${s}\`, which package.json does not define`),
  ];
}

/** Fenced code blocks with the line they start on; `php` blocks (PHP shown for comparison) are left out. */
function codeBlocks(text: string): { line: number; code: string }[] {
  return [...text.matchAll(/^```(\w*)\n[\s\S]*?^```$/gm)]
    .filter((m) => m[1] !== 'php')
    .map((m) => ({ line: text.slice(0, m.index).split('\n').length, code: m[0] }));
}

function codeSampleProblems(en: Readme, zh: Readme): string[] {
  const english = new Set(codeBlocks(en.text).map((b) => b.code));
  return codeBlocks(zh.text)
    .filter((b) => !english.has(b.code))
    .map(
      (b) =>
        `${zh.file}:${b.line}: this code block is not in ${en.file} (copy the English one verbatim): ${b.code.split('\n')[1]}`,
    );
}

function linkProblems(en: Readme, zh: Readme): string[] {
  const anchors = (r: Readme) =>
    new Set(
      headingLines(r.text)
        .filter((line): line is string => line !== null)
        .map((line) => anchorOf(line.replace(/^#+ /, ''))),
    );
  const enAnchors = anchors(en);
  const zhAnchors = anchors(zh);
  const problems: string[] = [];
  if (!en.text.includes(`](${zh.file})`)) problems.push(`${en.file} does not link to ${zh.file}`);
  if (!zh.text.includes(`](${en.file})`)) problems.push(`${zh.file} does not link back to ${en.file}`);
  for (const [, anchor] of zh.text.matchAll(/\]\(#([^)]+)\)/g)) {
    if (!zhAnchors.has(anchor)) problems.push(`${zh.file} links to #${anchor}, a heading it does not have`);
  }
  for (const [, anchor] of zh.text.matchAll(new RegExp(`\\]\\(${en.file.replace('.', '\\.')}#([^)]+)\\)`, 'g'))) {
    if (!enAnchors.has(anchor))
      problems.push(`${zh.file} links to ${en.file}#${anchor}, a heading ${en.file} does not have`);
  }
  return problems;
}

describe('README.zh-CN.md keeps in step with README.md', () => {
  const read = (file: string): Readme => ({ file, text: readFileSync(resolve(ROOT, file), 'utf8') });
  const en = read(EN);
  const zh = read(ZH);

  it('its configuration table lists the same variables, with the same roles and defaults, in the same order', () => {
    expect(configurationProblems(en, zh)).toEqual([]);
  });

  it('its close-code tables have the same codes and reasons', () => {
    expect(closeCodeProblems(en, zh)).toEqual([]);
  });

  it('its quick starts run the same npm scripts, all defined in package.json', () => {
    const { scripts } = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(quickStartProblems(en, zh, scripts)).toEqual([]);
  });

  it('its code samples are the English ones, verbatim (PHP comparisons aside)', () => {
    expect(codeSampleProblems(en, zh)).toEqual([]);
  });

  it('the two files link to each other, and its links reach headings that exist', () => {
    expect(linkProblems(en, zh)).toEqual([]);
  });
});

describe('the comparison itself', () => {
  const en: Readme = {
    file: EN,
    text: [
      '# T',
      '## Configuration',
      '| variable | used by | default | meaning |',
      '|---|---|---|---|',
      '| `SECRET_KEY` | all | — (required) | x |',
      '| `NEW_LIMIT` | gateway | `5` (five) | y |',
      '| `HTTP_LISTEN` | example worker | `127.0.0.1:3000` | z |',
      '#### Close codes',
      '| code | reason | when |',
      '|---|---|---|',
      '| 1001 | `gateway shutting down` | a |',
      '| 4000 + HTTP status (4401, 4403, …) | message | b |',
      '| 4010 | `new code` | c |',
      '## Next',
    ].join('\n'),
  };
  const zh: Readme = {
    file: ZH,
    text: [
      '# T',
      '## 配置',
      '| 变量 | 使用者 | 默认值 | 含义 |',
      '|---|---|---|---|',
      '| `SECRET_KEY` | 全部 | —（必填） | x |',
      '| `HTTP_LISTEN` | 示例 worker | `127.0.0.1:3001` | z |',
      '#### 关闭码',
      '| 关闭码 | 原因 | 何时 |',
      '|---|---|---|',
      '| 1001 | `gateway shutting down` | a |',
      '| 4000 + HTTP 状态码（4401、4403……） | message | b |',
      '## 下一节',
    ].join('\n'),
  };

  it('names the variable missing from the Chinese table, and a default that differs', () => {
    expect(configurationProblems(en, zh)).toEqual([
      "README.zh-CN.md's configuration table has no row for NEW_LIMIT (README.md's has): translate it",
      'HTTP_LISTEN\'s default is ["127.0.0.1:3000"] in README.md but ["127.0.0.1:3001"] in README.zh-CN.md',
    ]);
  });

  it('names the close code missing from the Chinese tables, and reads translated code cells', () => {
    expect(closeCodeProblems(en, zh)).toEqual([
      "README.zh-CN.md's close-code tables have no row for 4010 (README.md's have): translate it",
    ]);
  });

  it('names a heading it cannot find', () => {
    expect(() => configurationProblems(en, { file: ZH, text: '# T\n## Configuration\n' })).toThrow(
      'README.zh-CN.md has no "## 配置" heading',
    );
  });
});
