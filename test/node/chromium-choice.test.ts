/** Which Chromium the browser test drives (test/e2e/chromium.ts): a system one when found, else the bundled one. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSystemChromium } from '../e2e/chromium.ts';

function dirWith(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'usemysub-chromium-'));
  writeFileSync(join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

describe('the browser test finds a system Chromium', () => {
  it('on PATH, under any of its usual names', () => {
    const dir = dirWith('chromium-browser');
    expect(findSystemChromium({ PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'chromium-browser'));
  });

  it('nowhere when PATH has none, so the bundled one is used', () => {
    expect(findSystemChromium({ PATH: mkdtempSync(join(tmpdir(), 'usemysub-empty-')) })).toBeUndefined();
  });

  it('where CHROMIUM_PATH says, and nowhere when that path is missing (how to try the bundled one)', () => {
    const dir = dirWith('chromium');
    const other = dirWith('my-chrome');
    expect(findSystemChromium({ PATH: dir, CHROMIUM_PATH: join(other, 'my-chrome') })).toBe(join(other, 'my-chrome'));
    expect(findSystemChromium({ PATH: dir, CHROMIUM_PATH: '/nonexistent/chromium' })).toBeUndefined();
  });
});
