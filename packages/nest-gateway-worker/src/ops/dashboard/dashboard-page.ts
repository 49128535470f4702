import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config/environment';

/** The page's files, shipped beside the compiled code (the package build copies src/ops/dashboard/assets). */
export const DASHBOARD_ASSETS_DIR = join(__dirname, 'assets');

/**
 * The dashboard's single page: its HTML, script and stylesheet, read once from the package at start-up. The HTML
 * points at the assets relative to the URL it was asked for, so the page works under the app's global prefix and
 * behind a reverse proxy that mounts the app under a sub-path: `…/gateway-dashboard` loads
 * `./gateway-dashboard/assets/…`, `…/gateway-dashboard/` loads `./assets/…`.
 */
export class DashboardPage {
  readonly script: string;
  readonly stylesheet: string;
  private readonly template: string;
  /** The mount path's last segment ("gateway-dashboard"). */
  private readonly lastSegment: string;

  constructor(
    path: string,
    private readonly refreshIntervalMs: number,
    dir: string = DASHBOARD_ASSETS_DIR,
  ) {
    this.lastSegment = path.slice(path.lastIndexOf('/') + 1);
    const read = (name: string) => {
      try {
        return readFileSync(join(dir, name), 'utf8');
      } catch (err) {
        throw new ConfigError(
          `GatewayDashboardModule: the page's file ${join(dir, name)} cannot be read (${(err as Error).message}); ` +
            'the package was built without its dashboard assets',
        );
      }
    };
    this.template = read('index.html');
    this.script = read('dashboard.js');
    this.stylesheet = read('dashboard.css');
  }

  /** The HTML for a request to `requestUrl` (the path as the app received it, query included or not). */
  html(requestUrl: string): string {
    const pathname = requestUrl.split('?')[0];
    const base = pathname.endsWith('/') ? './' : `./${this.lastSegment}/`;
    return this.template
      .replaceAll('{{base}}', base)
      .replaceAll('{{refreshIntervalMs}}', String(this.refreshIntervalMs));
  }
}
