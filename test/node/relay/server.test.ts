import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RELAY_TOKEN, RecordingUpstream, endingOf, nextEvent, signal } from './harness.ts';

const SERVER = fileURLToPath(new URL('../../../relay/server.ts', import.meta.url));

type Child = {
  proc: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line matching `pattern`. */
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
};

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
});

/** Runs `node relay/server.ts` with only the given env (plus PATH), like `npm run relay` would. */
function startServer(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.slice()) {
      const match = out.match(w.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  });
  proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const child: Child = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const match = out.match(pattern);
        if (match) return resolve(match);
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`relay exited (${code}) before printing ${pattern}:\n${out}\n${err}`)));
      }),
  };
  children.push(child);
  return child;
}

const LISTENING = /relay listening on (http:\/\/127\.0\.0\.1:\d+)/;

// Each test starts a Node process; give a busy machine room (the assertions are about order, not speed).
describe('relay server entrypoint', { timeout: 30_000 }, () => {
  it('prints where it listens, serves /healthz and exits cleanly on SIGTERM', async () => {
    const child = startServer({ PORT: '0', HOST: '127.0.0.1' });
    const [, url] = await child.waitFor(LISTENING);
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });

  it('refuses to start on a public address without UPSTREAM_RELAY_TOKEN, exiting 1 with a clear message', async () => {
    const child = startServer({ PORT: '0', HOST: '0.0.0.0' });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/UPSTREAM_RELAY_TOKEN/);
    expect(child.stdout()).not.toMatch(LISTENING);
  });

  it('lets an in-flight stream finish after SIGTERM, then exits', async () => {
    const upstream = await new RecordingUpstream().start();
    const arrived = signal();
    const release = signal();
    upstream.handle = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {}\n\n');
      arrived.resolve();
      await release.promise;
      res.end('event: response.completed\ndata: {}\n\n');
    };
    try {
      const child = startServer({
        PORT: '0',
        HOST: '127.0.0.1',
        UPSTREAM_RELAY_TOKEN: RELAY_TOKEN,
        CODEX_BACKEND_URL: `${upstream.url}/backend-api`,
        OPENAI_AUTH_URL: upstream.url,
      });
      const [, url] = await child.waitFor(LISTENING);
      const req = request(`${url}/backend-api/codex/models`, { headers: { 'x-relay-token': RELAY_TOKEN } });
      req.end();
      const res = (await nextEvent(req, 'response')) as IncomingMessage;
      await arrived.promise;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const ended = nextEvent(res, 'end');

      child.proc.kill('SIGTERM');
      await child.waitFor(/SIGTERM received/);
      // While it drains, nothing new gets in: not even a health check (so load balancers move on).
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      release.resolve(); // only now may the upstream finish: the relay must still be carrying the stream
      await ended;
      expect(text).toContain('response.completed');
      expect(await child.exited).toBe(0);
    } finally {
      await upstream.close();
    }
  });

  it('cuts streams still running when the grace period ends, then exits', async () => {
    const upstream = await new RecordingUpstream().start();
    const upstreamClosed = signal();
    upstream.handle = (_req, res) => {
      res.on('close', () => upstreamClosed.resolve());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {}\n\n'); // and never more
    };
    try {
      const child = startServer({
        PORT: '0',
        HOST: '127.0.0.1',
        UPSTREAM_RELAY_TOKEN: RELAY_TOKEN,
        CODEX_BACKEND_URL: `${upstream.url}/backend-api`,
        OPENAI_AUTH_URL: upstream.url,
        RELAY_SHUTDOWN_GRACE_MS: '300',
      });
      const [, url] = await child.waitFor(LISTENING);
      const req = request(`${url}/backend-api/codex/models`, { headers: { 'x-relay-token': RELAY_TOKEN } });
      req.end();
      const res = (await nextEvent(req, 'response')) as IncomingMessage;
      const outcome = endingOf(res);

      child.proc.kill('SIGTERM');
      expect(await outcome).toBe('cut');
      await upstreamClosed.promise;
      expect(await child.exited).toBe(0);
      expect(child.stderr()).toMatch(/grace period over/);
    } finally {
      await upstream.close();
    }
  });
});
