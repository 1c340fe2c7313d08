/**
 * The walls between the Worker's parts (docs/architecture.md), read from the source: which file
 * imports which, and which names appear where. A failure names the file and what crossed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface SourceFile {
  /** Repository-relative, with forward slashes. */
  path: string;
  /** The text without comments, so a sentence about a header is not a use of it. */
  code: string;
  /** Repository-relative paths of the project files it imports. */
  imports: string[];
  /** Package names it imports (`hono`, `zod`, `cloudflare:workers`). */
  packages: string[];
}

function listSources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return /\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function stripComments(text: string): string {
  // A line comment needs a space or line start before `//`, so `https://` inside strings stays.
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g;

function readSource(path: string): SourceFile {
  const code = stripComments(readFileSync(join(ROOT, path), 'utf8'));
  const imports: string[] = [];
  const packages: string[] = [];
  for (const [, , specifier] of code.matchAll(SPECIFIER)) {
    if (specifier!.startsWith('.')) imports.push(posix.normalize(posix.join(posix.dirname(path), specifier!)));
    else packages.push(specifier!);
  }
  return { path, code, imports, packages };
}

const sources = new Map<string, SourceFile>(
  ['worker', 'relay', 'scripts'].flatMap(listSources).map((path) => [path, readSource(path)]),
);
const under = (folder: string) => [...sources.values()].filter((file) => file.path.startsWith(`${folder}/`));

/** Every project file `start` reaches through imports, itself included. */
function reachable(start: string): SourceFile[] {
  const seen = new Map<string, SourceFile>();
  const visit = (path: string) => {
    const file = sources.get(path);
    if (!file || seen.has(path)) return;
    seen.set(path, file);
    file.imports.forEach(visit);
  };
  visit(start);
  return [...seen.values()];
}

/** What makes a module do I/O: network, D1, Durable Objects, containers, the runtime's bindings. */
const IO_MARKERS: readonly RegExp[] = [
  /\bfetch\(/,
  /\.prepare\(/,
  /\bgetByName\(/,
  /\bctx\.storage\b/,
  /\benv\.DB\b/,
  /\bcaches\./,
];
const IO_PACKAGES = /^(cloudflare:|@cloudflare\/|hono|undici|fastify|node:)/;

describe('the walls between the parts of the Worker', () => {
  it('finds the folders it guards (a moved tree must move this test with it)', () => {
    for (const folder of ['worker/api', 'worker/translate', 'worker/upstream', 'worker/accounts', 'worker/web', 'worker/db', 'relay']) {
      expect(under(folder).length, folder).toBeGreaterThan(0);
    }
  });

  it('keeps the translators pure: nothing they import, however indirectly, does I/O', () => {
    const crossings: string[] = [];
    for (const translator of under('worker/translate')) {
      for (const file of reachable(translator.path)) {
        const via = file.path === translator.path ? '' : ` (via ${file.path})`;
        for (const marker of IO_MARKERS) if (marker.test(file.code)) crossings.push(`${translator.path}${via}: ${marker}`);
        for (const name of file.packages) if (IO_PACKAGES.test(name)) crossings.push(`${translator.path}${via}: imports ${name}`);
        if (/^worker\/(db|web|api|accounts)\//.test(file.path)) crossings.push(`${translator.path}: reaches ${file.path}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('keeps the relay on its own: relay/ imports nothing from worker/', () => {
    const crossings = under('relay').flatMap((file) => file.imports.filter((path) => path.startsWith('worker/')).map((path) => `${file.path} -> ${path}`));
    expect(crossings).toEqual([]);
  });

  it('keeps the web pages off the API surface: web/ imports nothing from api/ or translate/', () => {
    const crossings = under('worker/web').flatMap((file) =>
      file.imports.filter((path) => /^worker\/(api|translate)\//.test(path)).map((path) => `${file.path} -> ${path}`),
    );
    expect(crossings).toEqual([]);
  });

  it('names upstream URLs and Codex headers only inside worker/upstream/', () => {
    const upstreamNames = [
      /chatgpt\.com/i,
      /auth\.openai\.com/i,
      /\/backend-api\b/i,
      /\/oauth\/token\b/i,
      /chatgpt-account-id/i,
      /\boriginator\b/i,
      /x-codex-/i,
      /openai-beta/i,
      /\bsession[_-]id['"]/i,
    ];
    const crossings: string[] = [];
    for (const file of under('worker')) {
      if (file.path.startsWith('worker/upstream/')) continue;
      for (const name of upstreamNames) if (name.test(file.code)) crossings.push(`${file.path}: ${name}`);
    }
    expect(crossings).toEqual([]);
  });

  it('touches key material only in worker/accounts/crypto.ts (Web Crypto keys, signing, encryption)', () => {
    const keyOperations = /crypto\.subtle\.(importKey|exportKey|generateKey|deriveKey|deriveBits|sign|verify|encrypt|decrypt|wrapKey|unwrapKey)\b/;
    const crossings = [...under('worker'), ...under('scripts')]
      .filter((file) => file.path !== 'worker/accounts/crypto.ts' && keyOperations.test(file.code))
      .map((file) => file.path);
    expect(crossings).toEqual([]);
  });

  it('has one entry: only worker/index.ts sits at the top of worker/', () => {
    const top = under('worker').filter((file) => !relative('worker', file.path).includes('/'));
    expect(top.map((file) => file.path)).toEqual(['worker/index.ts']);
  });
});
