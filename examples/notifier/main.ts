import { NestFactory } from '@nestjs/core';
import { NotifierModule } from './notifier.module';
import { NotifierService } from './notifier.service';

/**
 * `notify <uid> <text>`: a one-shot push from outside the cluster (a cron job, a deploy hook...).
 * Needs REGISTER_ADDRESS and SECRET_KEY like the cluster's processes.
 */
async function main(): Promise<void> {
  const [uid, text] = process.argv.slice(2);
  if (!uid || !text) throw new Error('usage: notify <uid> <text>');
  // abortOnError: false hands a start-up error (e.g. a ConfigError naming a bad variable) to the catch below.
  const app = await NestFactory.createApplicationContext(NotifierModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  try {
    const delivered = await app.get(NotifierService).notifyUser(uid, text);
    console.log(delivered ? `sent to ${uid}` : `${uid} is offline`);
  } finally {
    await app.close();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
