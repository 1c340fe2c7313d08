/**
 * Which Chromium the browser tests drive. A system Chromium when there is one (Debian's
 * `chromium` package, or whatever `CHROMIUM_PATH` names); otherwise the Chromium that the npm
 * package `@sparticuz/chromium` ships inside itself, unpacked once into node_modules/.cache.
 * Nothing is ever downloaded, and there is always a browser: `npm install` alone is enough.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { PROJECT_ROOT } from '../../scripts/lib/processes.ts';

export interface ChromiumChoice {
  /** `system` or `bundled`, for the test log. */
  kind: 'system' | 'bundled';
  executablePath: string;
  /** Extra environment for the browser process (the bundled one's libraries and fonts). */
  env: Record<string, string>;
}

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];
const PACKAGE_DIR = join(PROJECT_ROOT, 'node_modules', '@sparticuz', 'chromium');

/**
 * `CHROMIUM_PATH` set: that file if it exists, else the bundled browser (so a missing path is
 * how to try the bundled one on a machine that has Chromium). Unset: the first Chromium on PATH.
 */
export function findSystemChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH !== undefined) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of SYSTEM_NAMES) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

export async function chooseChromium(): Promise<ChromiumChoice> {
  const system = findSystemChromium();
  if (system) return { kind: 'system', executablePath: system, env: {} };
  return bundledChromium();
}

/** The package's browser, unpacked into a directory named for its version (once per version). */
export async function bundledChromium(): Promise<ChromiumChoice> {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string };
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'usemysub-chromium', version);
  if (!existsSync(join(dir, 'ready'))) await unpack(dir);
  return {
    kind: 'bundled',
    executablePath: join(dir, 'chromium'),
    // Its build expects NSS and expat from the package (not the host) and ships one font family.
    env: { LD_LIBRARY_PATH: join(dir, 'lib'), FONTCONFIG_PATH: join(dir, 'fontconfig') },
  };
}

/** Unpacks into a private directory and renames it into place, so parallel runs never see half a browser. */
async function unpack(dir: string): Promise<void> {
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const bin = join(PACKAGE_DIR, 'bin');
  await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(),
    createWriteStream(join(staging, 'chromium'), { mode: 0o755 }));
  // The SwiftShader GL libraries must sit beside the binary; the system libraries go to lib/.
  await untar(join(bin, 'swiftshader.tar.br'), staging);
  await untar(join(bin, 'al2023.tar.br'), staging);
  await untar(join(bin, 'fonts.tar.br'), staging);
  mkdirSync(join(staging, 'fontconfig'));
  writeFileSync(join(staging, 'fontconfig', 'fonts.conf'), [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
    '<fontconfig>',
    `  <dir>${join(dir, 'fonts')}</dir>`,
    '  <dir>/usr/share/fonts</dir>',
    `  <cachedir>${join(dir, 'fontconfig', 'cache')}</cachedir>`,
    '</fontconfig>',
    '',
  ].join('\n'));
  writeFileSync(join(staging, 'ready'), '');
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another run got there first with the same files.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, 'ready'))) throw err;
  }
}

/** A brotli-compressed tarball, through the system `tar` (every Debian has it). */
async function untar(archive: string, into: string): Promise<void> {
  const tar = spawn('tar', ['-x', '-C', into], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code} on ${archive}`))));
  });
  await pipeline(createReadStream(archive), createBrotliDecompress(), tar.stdin);
  await exited;
}
