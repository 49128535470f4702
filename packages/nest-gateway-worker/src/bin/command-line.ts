import { variablesOf, type RoleName } from '../config/environment-variables';
import { runGateway, runRegister } from '../process/roles';

/** Exit status of a command line the bin does not understand (as most CLIs: 2 = usage error). */
export const USAGE_EXIT_CODE = 2;

const ROLES: Record<'register' | 'gateway', { summary: string; run(): void }> = {
  register: {
    summary: 'service discovery: gateways announce themselves, workers and clients learn the list',
    run: () => runRegister(),
  },
  gateway: { summary: 'holds client connections and forwards their events to workers', run: () => runGateway() },
};

interface Output {
  write(text: string): unknown;
}

/**
 * Runs `gateway-worker <role>` or prints help. Returns the exit status for what it printed (0 for help, 2 for a
 * usage error) or undefined when a role was started (the role's process sets its own status).
 */
export function runGatewayWorkerCommand(args: string[], out: Output, err: Output): number | undefined {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const role = command === 'help' ? rest[0] : undefined;
    if (role !== undefined && !(role in ROLES)) return usageError(err, `unknown role "${role}"`);
    out.write(role ? roleHelp(role as RoleName) : generalHelp());
    return command === undefined ? USAGE_EXIT_CODE : 0;
  }
  if (command === '--version' || command === '-v') {
    out.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!(command in ROLES)) return usageError(err, `unknown command "${command}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    out.write(roleHelp(command as RoleName));
    return 0;
  }
  const unknown = rest[0];
  if (unknown !== undefined)
    return usageError(err, `unexpected argument "${unknown}": ${command} is configured by environment variables only`);
  ROLES[command as keyof typeof ROLES].run();
  return undefined;
}

function usageError(err: Output, message: string): number {
  err.write(`gateway-worker: ${message}\nRun \`gateway-worker --help\` for the commands and their variables.\n`);
  return USAGE_EXIT_CODE;
}

function generalHelp(): string {
  const lines = [
    'Usage: gateway-worker <command>',
    '',
    'The ready-made roles of nest-gateway-worker, configured by environment variables. Your workers are your own',
    'Nest apps (GatewayModule.forWorker); the register and the gateways are configuration.',
    '',
    'Commands:',
    ...Object.entries(ROLES).map(([name, r]) => `  ${name.padEnd(10)}${r.summary}`),
    '  help <cmd> the variables of one command',
    '',
    "Options: --help, -h   this text (after a command: that command's variables)   --version, -v",
    '',
    roleHelp('register'),
    roleHelp('gateway'),
  ];
  return lines.join('\n');
}

function roleHelp(role: RoleName): string {
  const variables = variablesOf(role);
  const width = Math.max(...variables.map((v) => v.name.length)) + 2;
  const lines = [`Environment of \`gateway-worker ${role}\`:`, ''];
  for (const v of variables) {
    lines.push(`  ${v.name.padEnd(width)}default: ${v.defaultText}`);
    for (const line of wrap(v.meaning, 100 - width - 2)) lines.push(`  ${''.padEnd(width)}${line}`);
  }
  lines.push('', 'A bad value stops the process with one line naming the variable, exit status 1.', '');
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}
