import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import './test/support/fake-codex-global-setup.ts';

// Three projects: Worker code inside workerd (real D1, real Durable Objects); the relay and
// scripts in Node; end-to-end runs of the local stack (wrangler dev + relay + fake backend).
// `npm test` runs them all.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: './wrangler.jsonc' },
            // workerd's --verbose logs every refused or cut connection as "uncaught exception …
            // Network connection lost", even when our code caught the failure (the tests of a
            // relay that is down or a stream cut mid-way cause those on purpose). Without it
            // the output shows only our logs; an unhandled rejection of ours still fails the run.
            verbose: false,
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
                API_KEY_PEPPER: 'test-pepper-not-a-secret',
                TOKEN_ENCRYPTION_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
                // The fake serves the relay's paths, so it stands in for the loopback relay.
                FAKE_CODEX_URL: inject('fakeCodexUrl'),
                CODEX_RELAY_URL: inject('fakeCodexUrl'),
                ALLOW_LOOPBACK_RELAY: 'true',
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['./test/support/fake-codex-global-setup.ts'],
          setupFiles: ['./test/worker/apply-migrations.ts'],
        },
      },
      {
        test: { name: 'node', environment: 'node', include: ['test/node/**/*.test.ts'] },
      },
      {
        // Each file starts its own wrangler dev; one at a time keeps a 2-core machine responsive.
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          hookTimeout: 180_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
