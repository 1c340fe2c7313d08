/**
 * Runs the fake Codex backend standalone, for manual runs of the local stack:
 *
 *   npm run fake-codex -- --port 9999 [--host 127.0.0.1] [--auth-json /tmp/auth.json]
 *
 * `--auth-json` creates a token family and writes its `auth.json` there (for `npm run provision`).
 * Then start the stack with CODEX_BACKEND_URL=<url>/backend-api and OPENAI_AUTH_URL=<url>.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startFakeCodex } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'auth-json': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`fake-codex: invalid --port ${values.port}`);
  process.exit(1);
}

const fake = await startFakeCodex({ port, host: values.host });
console.log(`fake-codex listening on ${fake.url}`);
console.log(`  CODEX_BACKEND_URL=${fake.url}/backend-api OPENAI_AUTH_URL=${fake.url}`);

if (values['auth-json']) {
  const created = fake.state.createFamily();
  await writeFile(values['auth-json'], JSON.stringify(created.authJson, null, 2) + '\n', { mode: 0o600 });
  console.log(`  wrote ${values['auth-json']} (account ${created.accountId}, family ${created.family})`);
}

const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
