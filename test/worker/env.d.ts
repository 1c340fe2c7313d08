// Bindings that exist only in the worker test project (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    FAKE_CODEX_URL: string;
  }
}
