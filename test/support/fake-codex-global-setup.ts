/** Vitest globalSetup: one fake Codex backend on a loopback port for the worker test project. */
import type { TestProject } from 'vitest/node';
import { startFakeCodex } from './fake-codex/index.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fake = await startFakeCodex();
  project.provide('fakeCodexUrl', fake.url);
  return () => fake.close();
}

declare module 'vitest' {
  interface ProvidedContext {
    fakeCodexUrl: string;
  }
}
