import { Logger } from '@nestjs/common';
import { ConfigError } from './environment';

export interface RunOrExitOptions {
  /** Exit status after a configuration error. Default 1 (a cluster child uses its own, see runRole). */
  configErrorExitCode?: number;
}

/**
 * Entry-point helper for the apps: runs `main`; a configuration error prints one line naming the variable
 * and exits with status 1, any other start-up failure is logged with its stack and exits with status 1.
 */
export function runOrExit(role: string, main: () => Promise<unknown>, options: RunOrExitOptions = {}): void {
  main().catch((err: unknown) => {
    const logger = new Logger(role);
    if (err instanceof ConfigError) {
      logger.error(`Configuration error: ${err.message}`);
      process.exit(options.configErrorExitCode ?? 1);
    }
    logger.error(`failed to start: ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack);
    process.exit(1);
  });
}
