import { readFileSync } from 'node:fs';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packageReadme, clientPackageReadme, TARGET, CLIENT_TARGET, ROOT } = require('./package-readme.js') as {
  packageReadme(root: string): string;
  clientPackageReadme(root: string): string;
  TARGET: string;
  CLIENT_TARGET: string;
  ROOT: string;
};

describe('the package README', () => {
  it("is the repository README's introduction, Install and five-minute sections (run `node scripts/package-readme.js` after editing them)", () => {
    const root = readFileSync(`${ROOT}/README.md`, 'utf8');
    expect(readFileSync(TARGET, 'utf8')).toBe(packageReadme(root));
  });

  it("of the client package is the repository README's Browser client section (run `node scripts/package-readme.js`)", () => {
    const root = readFileSync(`${ROOT}/README.md`, 'utf8');
    const page = readFileSync(CLIENT_TARGET, 'utf8');
    expect(page).toBe(clientPackageReadme(root));
    expect(page.startsWith('# nest-gateway-worker-client\n')).toBe(true);
  });

  it('keeps in-page links only to sections it contains', () => {
    const page = packageReadme(
      '# T\n\nintro [a](#here) [b](#elsewhere)\n\n## Install\n\n### Here\n\n## This repository\n',
    );
    expect(page).toContain('[a](#here)');
    expect(page).not.toContain('(#elsewhere)');
    expect(page).toContain(' b\n');
  });

  it('turns links to repository files it does not ship into plain text, and keeps web links', () => {
    const page = packageReadme(
      '# T\n\n[README.zh-CN.md](README.zh-CN.md) [npm](https://npmjs.com)\n\n## Install\n\n## This repository\n',
    );
    expect(page).toContain('\nREADME.zh-CN.md [npm](https://npmjs.com)\n');
  });
});
