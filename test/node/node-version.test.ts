import { expect, it } from 'vitest';
it('runs on Node 22 or newer, which wrangler and the relay need', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
});
