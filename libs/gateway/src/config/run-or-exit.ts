import { Logger } from '@nestjs/common';
import { ConfigError } from './environment';

/**
 * Entry-point helper for the apps: runs `main`; a configuration error prints one line naming the variable
 * and exits with status 1, any other start-up failure is logged with its stack and exits with status 1.
 */
export function runOrExit(role: string, main: () => Promise<unknown>): void {
  main().catch((err: unknown) => {
    const logger = new Logger(role);
    if (err instanceof ConfigError) logger.error(`Configuration error: ${err.message}`);
    else logger.error(`failed to start: ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack);
    process.exit(1);
  });
}
