import { registerOptionsFromEnv, runRole } from '@app/gateway';
import { NestFactory } from '@nestjs/core';
import { RegisterAppModule } from './register-app.module';

// Configured by REGISTER_LISTEN and SECRET_KEY (or INNER_PLAINTEXT=true); see README.md. Always one process:
// the register holds the gateway list, and several registers on different hosts are the way to scale it.
// SIGINT / SIGTERM: closes the listener and every link, then exits 0 (at most 5 s).
runRole({
  role: 'Register',
  configure: () => registerOptionsFromEnv(),
  shutdownTimeoutMs: () => 0,
  start: (options) => NestFactory.createApplicationContext(RegisterAppModule.configure(options)),
});
