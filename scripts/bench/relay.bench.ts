/**
 * The relay's cost on the stream path (README, "Relay benchmark"). Each actor is its own process,
 * as in production: the fake Codex backend (or a near-free SSE source), the relay (`node
 * relay/server.ts`, as the image runs it) and this client. With `taskset` the relay gets a core of
 * its own, as a container or a Fly machine would, while upstream and client share the other; direct
 * and relayed requests alternate, and figures are medians, ratios and differences within one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { FakeCodexControl } from '../../test/support/fake-codex/control.ts';
import type { BenchTable } from './run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'bench-relay-token-0123456789abcdef';
const MIB = 1024 * 1024;
const PINNED = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
const RELAY_CPU = '1';
const OTHERS_CPU = '0';
const PLACEMENT = PINNED
  ? 'Relay pinned to CPU 1; upstream and client share CPU 0 (taskset).'
  : 'Not pinned (no taskset or one CPU): all processes share the machine.';

type Proc = { url: string; pid: number; stop: () => Promise<void> };

/** Starts `node <script>` on `cpu` and resolves with the URL it prints; its output is drained so it never blocks. */
function startNode(script: string, args: string[], env: Record<string, string>, pattern: RegExp, cpu: string): Promise<Proc> {
  const argv = [process.execPath, script, ...args];
  // taskset execs node in place, so the pid is node's (for /proc readings).
  const [command, ...rest] = PINNED ? ['taskset', '-c', cpu, ...argv] : argv;
  const child = spawn(command!, rest, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening:\n${out}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (listening) return; // later lines (the relay's request log) are only drained
      out += chunk.toString();
      const match = pattern.exec(out);
      if (!match) return;
      listening = true;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      resolve({ url: match[1]!, pid: child.pid!, stop: () => (child.exitCode === null && child.kill('SIGTERM'), exited) });
    });
  });
}

const startFake = () => startNode('test/support/fake-codex/main.ts', ['--port', '0'], {}, /fake-codex listening on (\S+)/, OTHERS_CPU);
const startSource = () => startNode('scripts/bench/sse-source.ts', [], {}, /sse-source listening on (\S+)/, OTHERS_CPU);
const startRelay = (upstream: string, extra: Record<string, string> = {}) =>
  startNode(
    'relay/server.ts',
    [],
    { HOST: '127.0.0.1', PORT: '0', UPSTREAM_RELAY_TOKEN: TOKEN, CODEX_BACKEND_URL: `${upstream}/backend-api`, OPENAI_AUTH_URL: upstream, ...extra },
    /relay listening on (\S+)/,
    RELAY_CPU,
  );

/** Resident and peak resident memory (MiB) and CPU time used so far (ms) of a process, from Linux /proc. */
function usage(pid: number): { rss: number; peak: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime, in 1/100 s
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024, cpuMs: ticks * 10 };
}

// undici keeps the client's own cost low.
const agent = new Agent({ connections: null });
const COMPLETED = 'event: response.completed';

type Result = { status: number; bytes: number; ttfbMs: number; totalMs: number; completed: boolean };

/** One POST; counts the body, times its first byte and notes whether the stream completed. */
async function post(url: string, headers: Record<string, string>, body: string): Promise<Result> {
  const start = performance.now();
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, dispatcher: agent });
  let bytes = 0;
  let ttfbMs = NaN;
  let tail = '';
  let completed = false;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (bytes === 0) ttfbMs = performance.now() - start;
    bytes += chunk.length;
    const text = tail + chunk.toString('latin1');
    completed ||= text.includes(COMPLETED);
    tail = text.slice(-COMPLETED.length);
  }
  return { status: res.statusCode, bytes, ttfbMs, totalMs: performance.now() - start, completed };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const median = (values: number[]) => percentile(values, 50);
const fixed = (n: number, digits = 1) => n.toFixed(digits);

type Account = { headers: Record<string, string>; accountId: string };

async function account(control: FakeCodexControl): Promise<Account> {
  const family = await control.createFamily();
  const headers = { authorization: `Bearer ${family.tokens.access_token}`, 'chatgpt-account-id': family.accountId, 'x-relay-token': TOKEN };
  return { accountId: family.accountId, headers };
}

const RESPONSES = '/backend-api/codex/responses';
const responsesBody = JSON.stringify({ model: 'gpt-5.5', instructions: 'bench', input: 'hi', store: false, stream: true });

async function throughputVsFake(fake: Proc, relay: Proc, acc: Account, control: FakeCodexControl): Promise<BenchTable> {
  const rounds = 7;
  const rates = { direct: [] as number[], relay: [] as number[] };
  const relayCpuPerMib: number[] = [];
  let size = 0;
  for (let i = 0; i <= rounds; i++) {
    for (const via of ['direct', 'relay'] as const) {
      await control.scriptResponses(acc.accountId, [{ kind: 'ok', text: 'x'.repeat(2 * MIB), chunkSize: 64, eventsPerChunk: 1 }]);
      const cpuBefore = usage(relay.pid).cpuMs;
      const r = await post(`${via === 'direct' ? fake.url : relay.url}${RESPONSES}`, acc.headers, responsesBody);
      if (r.status !== 200 || !r.completed) throw new Error(`${via} stream failed: ${r.status}`);
      if (i === 0) continue; // warm-up round: JIT, connection pools
      size = r.bytes;
      rates[via].push(r.bytes / MIB / (r.totalMs / 1000));
      if (via === 'relay') relayCpuPerMib.push((usage(relay.pid).cpuMs - cpuBefore) / (r.bytes / MIB));
    }
  }
  return {
    title: 'Relay throughput: SSE from the fake Codex backend, direct vs through the relay',
    columns: ['path', `MiB/s (median of ${rounds})`, 'ratio', 'relay CPU ms per MiB'],
    rows: [
      ['direct', fixed(median(rates.direct)), '1.00', '–'],
      ['through the relay', fixed(median(rates.relay)), fixed(median(rates.relay) / median(rates.direct), 2), fixed(median(relayCpuPerMib))],
    ],
    notes: [
      `One ${fixed(size / MIB)} MiB stream of 64-character text deltas (about 430 bytes per event), one event per network chunk as the backend sends them. Target: ratio ≥ 0.85.`,
      PLACEMENT,
    ],
  };
}

async function addedTtfb(fake: Proc, relay: Proc, acc: Account): Promise<BenchTable> {
  const samples = { direct: [] as number[], relay: [] as number[] };
  for (let i = 0; i < 20; i++) await post(relay.url + RESPONSES, acc.headers, responsesBody); // warm-up
  for (let i = 0; i < 400; i++) {
    for (const via of ['direct', 'relay'] as const) {
      const r = await post(`${via === 'direct' ? fake.url : relay.url}${RESPONSES}`, acc.headers, responsesBody);
      if (r.status !== 200) throw new Error(`ttfb request failed: ${r.status}`);
      samples[via].push(r.ttfbMs);
    }
  }
  const row = (label: string, p: number) => {
    const [d, r] = [percentile(samples.direct, p), percentile(samples.relay, p)];
    return [label, fixed(d, 2), fixed(r, 2), fixed(r - d, 2)];
  };
  return {
    title: 'Time to first byte added by the relay (loopback, keep-alive)',
    columns: ['percentile', 'direct ms', 'relay ms', 'added ms'],
    rows: [row('p50', 50), row('p99', 99)],
    notes: ['400 short Codex streams per path, alternating. Target: added p50 ≤ 1 ms.'],
  };
}

async function concurrentSlowStreams(fake: Proc, control: FakeCodexControl, acc: Account): Promise<BenchTable> {
  const streams = 500;
  // The default limit (256) is per instance; this run measures one relay carrying all 500.
  const relay = await startRelay(fake.url, { RELAY_MAX_CONCURRENT_REQUESTS: String(streams) });
  try {
    const idle = usage(relay.pid);
    const slow = { kind: 'slow' as const, delayMs: 100, text: 'y'.repeat(240), chunkSize: 8 };
    await control.scriptResponses(acc.accountId, Array.from({ length: streams }, () => slow));
    let peak = idle.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, usage(relay.pid).rss)), 100);
    const start = performance.now();
    const results = await Promise.all(
      Array.from({ length: streams }, () => post(relay.url + RESPONSES, acc.headers, responsesBody).catch(() => null)),
    );
    const wallS = (performance.now() - start) / 1000;
    clearInterval(sampler);
    const errors = results.filter((r) => r === null || r.status !== 200 || !r.completed).length;
    const longest = Math.max(...results.map((r) => r?.totalMs ?? 0)) / 1000;
    return {
      title: `${streams} concurrent slow streams through one relay`,
      columns: ['streams', 'errors', 'relay RSS idle (MiB)', 'relay RSS peak (MiB)', 'longest stream (s)', 'wall (s)'],
      rows: [[streams, errors, fixed(idle.rss), fixed(peak), fixed(longest), fixed(wallS)]],
      notes: ['Each stream: ~40 events 100 ms apart, as a model thinking and typing. Target: 0 errors.'],
    };
  } finally {
    await relay.stop();
  }
}

async function ceilingAndMemory(source: Proc): Promise<BenchTable[]> {
  const rows: (string | number)[][] = [];
  const memRows: (string | number)[][] = [];
  for (const mib of [16, 128, 512]) {
    const relay = await startRelay(source.url);
    try {
      const before = usage(relay.pid);
      const path = `${RESPONSES}?bytes=${mib * MIB}`;
      const direct = await post(source.url + path, {}, '{}');
      const relayed = await post(relay.url + path, { 'x-relay-token': TOKEN }, '{}');
      if (relayed.bytes !== mib * MIB || direct.bytes !== mib * MIB) throw new Error('short stream');
      const [directRate, relayRate] = [mib / (direct.totalMs / 1000), mib / (relayed.totalMs / 1000)];
      rows.push([`${mib} MiB`, fixed(directRate, 0), fixed(relayRate, 0), fixed(relayRate / directRate, 2)]);
      memRows.push([`${mib} MiB`, fixed(before.rss), fixed(usage(relay.pid).peak)]);
    } finally {
      await relay.stop();
    }
  }
  return [
    {
      title: 'Relay ceiling: a near-free SSE source, direct vs through the relay',
      columns: ['stream', 'direct MiB/s', 'relay MiB/s', 'ratio'],
      rows,
      notes: ['The source writes 64 KiB batches and costs almost nothing: this is the relay’s own copying limit, far above real Codex streams (kilobytes per second).'],
    },
    {
      title: 'Relay memory is flat in stream size',
      columns: ['one stream of', 'relay RSS before (MiB)', 'relay peak RSS (MiB)'],
      rows: memRows,
      notes: ['A fresh relay per size; its peak RSS (VmHWM) stays put: bodies are piped with backpressure, never buffered.'],
    },
  ];
}

export default async function relayBench(): Promise<BenchTable[]> {
  const everyCpu = `0-${availableParallelism() - 1}`;
  if (PINNED) spawnSync('taskset', ['-a', '-cp', OTHERS_CPU, String(process.pid)]);
  const fake = await startFake();
  const source = await startSource();
  const relay = await startRelay(fake.url);
  try {
    const control = new FakeCodexControl(fake.url);
    const acc = await account(control);
    return [
      await throughputVsFake(fake, relay, acc, control),
      await addedTtfb(fake, relay, acc),
      await concurrentSlowStreams(fake, control, await account(control)),
      ...(await ceilingAndMemory(source)),
    ];
  } finally {
    await Promise.all([relay.stop(), source.stop(), fake.stop()]);
    await agent.close();
    if (PINNED) spawnSync('taskset', ['-a', '-cp', everyCpu, String(process.pid)]);
  }
}
