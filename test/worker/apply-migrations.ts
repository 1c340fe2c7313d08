import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Every worker test file starts from the real migrations, as production does.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
