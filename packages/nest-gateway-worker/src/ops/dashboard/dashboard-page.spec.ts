import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config/environment';
import { DashboardPage } from './dashboard-page';

describe('DashboardPage', () => {
  const page = new DashboardPage('/ops/gateway-dashboard', 1500);

  it('points at its assets relative to the URL asked for, so any prefix or proxy sub-path works', () => {
    const plain = page.html('/ops/gateway-dashboard');
    expect(plain).toContain('href="./gateway-dashboard/assets/dashboard.css"');
    expect(plain).toContain('src="./gateway-dashboard/assets/dashboard.js"');
    expect(page.html('/api/v1/ops/gateway-dashboard?tab=1')).toContain('src="./gateway-dashboard/assets/dashboard.js"');
    expect(page.html('/ops/gateway-dashboard/')).toContain('src="./assets/dashboard.js"');
    expect(page.html('/ops/gateway-dashboard/?x=/')).toContain('src="./assets/dashboard.js"');
  });

  it('carries the refresh interval and no placeholder is left', () => {
    const html = page.html('/ops/gateway-dashboard');
    expect(html).toContain('data-refresh-ms="1500"');
    expect(html).not.toMatch(/\{\{\w+\}\}/);
  });

  it('loads only its own scripts and styles (Content-Security-Policy), and ships a script and a stylesheet', () => {
    const html = page.html('/ops/gateway-dashboard');
    expect(html).toMatch(/http-equiv="Content-Security-Policy"[\s\S]*script-src 'self'/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    expect(page.script).toContain("new URL('../api/', import.meta.url)");
    expect(page.script).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
    expect(page.stylesheet).toContain('.tiles');
  });

  it('names the missing file when the package was built without its assets', () => {
    const empty = mkdtempSync(join(tmpdir(), 'dashboard-assets-'));
    try {
      expect(() => new DashboardPage('/x', 2000, empty)).toThrow(ConfigError);
      expect(() => new DashboardPage('/x', 2000, empty)).toThrow(/index\.html cannot be read/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
