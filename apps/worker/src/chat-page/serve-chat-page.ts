import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The page's files: apps/worker/src/chat-page/public, copied next to the built main.js by `nest build` (assets). */
export const CHAT_PAGE_DIR = join(__dirname, 'chat-page', 'public');
/** Where the page loads the client library from: `<script type="module">` imports `/lib/<bundle>`. */
export const CLIENT_LIBRARY_PATH = '/lib';
/** The client library's one-file browser build (`npm run build` makes it; see its package). */
const CLIENT_BUNDLE = 'nest-gateway-worker-client.min.js';

/**
 * The chat demo page at `/` of the example worker's HTTP server: static files (no CDN), and the client library
 * `nest-gateway-worker-client` served from its package's dist/browser. The page connects to the gateway itself
 * (`?gateway=ws://host:port`, default port 7272 on the page's host). Returns false, with a warning, when a part
 * is not built.
 */
export function serveChatPage(app: NestExpressApplication): boolean {
  const log = new Logger('ChatPage');
  const libraryDir = clientLibraryDir();
  const missing = [join(CHAT_PAGE_DIR, 'index.html'), join(libraryDir, CLIENT_BUNDLE)].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    log.warn(`chat page not served: ${missing.join(', ')} missing (run \`npm run build\`)`);
    return false;
  }
  app.useStaticAssets(libraryDir, { prefix: CLIENT_LIBRARY_PATH, index: false });
  app.useStaticAssets(CHAT_PAGE_DIR, { index: 'index.html' });
  return true;
}

/** dist/browser of the installed client package, found as Node finds the package (webpack leaves this call alone). */
function clientLibraryDir(): string {
  const manifest = createRequire(__filename).resolve('nest-gateway-worker-client/package.json');
  return join(dirname(manifest), 'dist', 'browser');
}
