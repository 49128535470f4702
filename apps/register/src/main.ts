import { registerOptionsFromEnv, runOrExit } from '@app/gateway';
import { NestFactory } from '@nestjs/core';
import { RegisterAppModule } from './register-app.module';

// Configured by REGISTER_LISTEN and SECRET_KEY (or INNER_PLAINTEXT=true); see README.md.
runOrExit('Register', async () => {
  const options = registerOptionsFromEnv();
  const app = await NestFactory.createApplicationContext(RegisterAppModule.configure(options));
  app.enableShutdownHooks();
});
