#!/usr/bin/env node
import 'reflect-metadata';
import { runGatewayWorkerCommand } from './command-line';

// `gateway-worker register|gateway`: the ready-made roles, configured by the environment (see --help).
process.exitCode = runGatewayWorkerCommand(process.argv.slice(2), process.stdout, process.stderr);
