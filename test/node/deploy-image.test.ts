/**
 * The relay image without Docker: the Dockerfile is parsed, and its CMD and HEALTHCHECK are run
 * with Node from the repository, with the image's environment, as the container would run them.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_HEALTH_PATH, RELAY_PORT } from '../../relay/contract.ts';
import { RELAY_TOKEN, RecordingUpstream } from './relay/harness.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(root + file, 'utf8');

type Instruction = { op: string; args: string };

/** Dockerfile instructions in order, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const instructions = parseDockerfile(read('Dockerfile'));
const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
const all = (op: string, from = instructions) => from.filter((i) => i.op === op).map((i) => i.args);
const one = (op: string, from = instructions) => {
  const found = all(op, from);
  expect(found, op).toHaveLength(1);
  return found[0]!;
};

/** `ENV A=1 B=2` lines of the final stage, as the container's environment. */
const imageEnv: Record<string, string> = Object.fromEntries(
  all('ENV', finalStage).flatMap((args) => args.split(/\s+/).map((pair) => pair.split('=') as [string, string])),
);
const cmd = JSON.parse(one('CMD', finalStage)) as string[];
const healthcheck = JSON.parse(one('HEALTHCHECK', finalStage).replace(/^.*?CMD\s+/, '')) as string[];

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs one of the image's exec-form commands with Node from this checkout, in the repository root. */
function runImageCommand(argv: string[], env: Record<string, string>, onStdout?: (text: string) => void) {
  const [program, ...args] = argv;
  expect(program).toBe('node');
  const proc = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout);
  });
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { proc, done };
}

describe('the Dockerfile builds a small, unprivileged relay image', () => {
  it('is multi-stage, on a slim Node 22 base, with production dependencies only', () => {
    const bases = all('FROM');
    expect(bases.length).toBeGreaterThanOrEqual(2);
    expect(bases.at(-1)).toMatch(/^node:22[\w.-]*-slim\b/);
    expect(all('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
    expect(all('COPY', finalStage)).toEqual(['--from=deps /app/node_modules ./node_modules', 'package.json ./', 'relay ./relay']);
  });

  it('runs as a non-root user, listens on 0.0.0.0 at the relay port, and stops with SIGTERM', () => {
    expect(one('USER', finalStage)).not.toMatch(/^(root|0)(:|$)/);
    expect(imageEnv).toMatchObject({ HOST: '0.0.0.0', PORT: String(RELAY_PORT), NODE_ENV: 'production' });
    expect(one('EXPOSE', finalStage)).toBe(String(RELAY_PORT));
    expect(one('STOPSIGNAL', finalStage)).toBe('SIGTERM');
  });

  it('needs nothing at run time beyond relay/ and package.json `dependencies`', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const used = new Set<string>();
    for (const file of readdirSync(root + 'relay').filter((f) => f.endsWith('.ts'))) {
      for (const [, spec] of read(`relay/${file}`).matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
        if (spec!.startsWith('.')) {
          expect(spec, `relay/${file} imports ${spec}`).toMatch(/^\.\/[\w-]+\.ts$/);
          continue;
        }
        if (spec!.startsWith('node:') || builtins.has(spec!)) continue;
        used.add(spec!.split('/')[0]!);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(pkg.dependencies).sort());
  });
});

describe('the image’s CMD, run as the container runs it', { timeout: 30_000 }, () => {
  let upstream: RecordingUpstream;
  beforeAll(async () => {
    upstream = await new RecordingUpstream().start();
  });
  afterAll(() => upstream.close());

  const containerEnv = (extra: Record<string, string>) => ({
    ...imageEnv,
    PORT: '0', // the image's 8788 may be taken on a shared machine
    CODEX_BACKEND_URL: `${upstream.url}/backend-api`,
    OPENAI_AUTH_URL: upstream.url,
    ...extra,
  });

  it('serves on 0.0.0.0 with the token required, passes its own HEALTHCHECK, logs no secrets, and stops on SIGTERM', async () => {
    let announce!: (port: string) => void;
    const listening = new Promise<string>((resolve) => (announce = resolve));
    const relay = runImageCommand(cmd, containerEnv({ UPSTREAM_RELAY_TOKEN: RELAY_TOKEN }), (out) => {
      const match = /relay listening on http:\/\/0\.0\.0\.0:(\d+)/.exec(out);
      if (match) announce(match[1]!);
    });
    try {
      const port = await Promise.race([listening, relay.done.then((r) => Promise.reject(new Error(r.stderr)))]);
      const base = `http://127.0.0.1:${port}`;

      expect((await fetch(base + RELAY_HEALTH_PATH)).status).toBe(200);
      expect((await fetch(`${base}/backend-api/codex/models`)).status).toBe(401);
      const forwarded = await fetch(`${base}/backend-api/codex/responses?q=QUERY-SECRET`, {
        method: 'POST',
        headers: { 'x-relay-token': RELAY_TOKEN, authorization: 'Bearer ACCESS-TOKEN-VALUE' },
        body: '{"input":"BODY-SECRET"}',
      });
      expect(forwarded.status).toBe(200);
      expect(upstream.seen.at(-1)?.url).toBe('/backend-api/codex/responses?q=QUERY-SECRET');

      const check = await runImageCommand(healthcheck, { PORT: port }).done;
      expect(check.code).toBe(0);

      relay.proc.kill('SIGTERM');
      const exited = await relay.done;
      expect(exited.code).toBe(0);
      const output = exited.stdout + exited.stderr;
      expect(output).toMatch(/"msg":"request"/);
      for (const secret of [RELAY_TOKEN, 'ACCESS-TOKEN-VALUE', 'BODY-SECRET', 'QUERY-SECRET']) expect(output).not.toContain(secret);
    } finally {
      if (relay.proc.exitCode === null) relay.proc.kill('SIGKILL');
    }
  });

  it('HEALTHCHECK fails when nothing answers', async () => {
    const check = await runImageCommand(healthcheck, { PORT: '9' }).done; // discard port: nothing listens
    expect(check.code).toBe(1);
  });

  it.each([
    ['without UPSTREAM_RELAY_TOKEN', {}],
    ['with a guessable UPSTREAM_RELAY_TOKEN', { UPSTREAM_RELAY_TOKEN: 'short' }],
  ])('refuses to start %s, exiting 1 with a message that names the variable', async (_what, extra) => {
    const result = await runImageCommand(cmd, containerEnv(extra)).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/UPSTREAM_RELAY_TOKEN/);
    expect(result.stdout).not.toMatch(/listening/);
  });
});
