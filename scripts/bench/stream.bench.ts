/**
 * The streaming cost of our Worker against workerd's own floor (README, "Streaming benchmark";
 * issue 11). One run starts the local stack as `npm start` does (wrangler dev, the relay, the fake
 * Codex backend) plus the bench-only floor Worker (scripts/bench/floor/) under its own wrangler
 * dev, both calling upstream through the same relay. The fake sends one event per network chunk,
 * as the real backend does (and, in one row, 150 per chunk). Every figure is given as a ratio to
 * the floors measured in the same run, so it holds on any machine:
 *   CPU per request of the workerd processes (from /proc), time to first byte, MB/s, 500
 *   concurrent streams, and workerd's resident memory over the run.
 * The isolate's own CPU per request (what the Workers Free plan limits) comes from the workerd
 * inspector's profiler; `npm run bench -- stream --profile` also writes that profile to a file.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, WebSocket } from 'undici';
import { startLocalStack, type LocalStack } from '../../test/e2e/local-stack.ts';
import type { ResponseStep } from '../../test/support/fake-codex/types.ts';
import { freePort, PROJECT_ROOT, spawnGroup, stopGroup, waitForHttp } from '../lib/processes.ts';
import type { BenchTable } from './run.ts';

const PROFILE = process.argv.includes('--profile');
const agent = new Agent({ connections: null, headersTimeout: 120_000, bodyTimeout: 120_000 });
const progress = (what: string) => console.error(`stream bench: ${what}…`);
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

// ---- processes and /proc -------------------------------------------------------------------

function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The workerd processes descended from `root`: wrangler dev runs its proxy in one and the Worker (with the inspector) in another. */
function workerdUnder(root: number): number[] {
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  return pids.filter((pid) => {
    if (!/\bworkerd\b/.test(commandOf(pid).split(' ')[0] ?? '')) return false;
    for (let p = parentOf(pid); p > 1; p = parentOf(p)) if (p === root) return true;
    return false;
  });
}

/** CPU time (ns) used so far by every thread of `pids`: the precise per-thread scheduler counters. */
function cpuNs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
  }
  return total;
}

function rssMb(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024, 0);
}

// ---- the two Workers -------------------------------------------------------------------------

interface Floor {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

async function startFloor(relayUrl: string): Promise<Floor> {
  const port = await freePort();
  const { NODE_ENV: _mode, ...inherited } = process.env;
  const child = spawnGroup(
    'npx',
    ['wrangler', 'dev', '-c', 'scripts/bench/floor/wrangler.jsonc', '--ip', '127.0.0.1', '--port', String(port),
      '--var', `RELAY_URL:${relayUrl}`, '--show-interactive-dev-session=false'],
    { cwd: PROJECT_ROOT, stdio: 'ignore', env: { ...inherited, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 120_000, child);
  return { url, pid: child.pid!, stop: () => stopGroup(child) };
}

interface Setup {
  stack: LocalStack;
  floor: Floor;
  key: string;
  accountId: string;
  upstreamHeaders: Record<string, string>;
  ours: () => number[];
  floors: () => number[];
}

async function setUp(): Promise<Setup> {
  // 500 concurrent streams go through one local relay; its default limit is 256.
  process.env.RELAY_MAX_CONCURRENT_REQUESTS = '2000';
  const stack = await startLocalStack();
  const floor = await startFloor(stack.relayUrl);
  const family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const key = /cpk_[A-Za-z0-9]+/.exec(await stack.provision(['--email', 'bench@example.com', '--auth-file', authFile]))?.[0] ?? '';
  const floorPids = workerdUnder(floor.pid);
  const ourPids = workerdUnder(process.pid).filter((pid) => !floorPids.includes(pid));
  return {
    stack,
    floor,
    key,
    accountId: family.accountId,
    upstreamHeaders: {
      authorization: `Bearer ${family.tokens.access_token}`,
      'chatgpt-account-id': family.accountId,
      'x-relay-token': stack.devVars.UPSTREAM_RELAY_TOKEN ?? '',
      accept: 'text/event-stream',
    },
    ours: () => ourPids,
    floors: () => floorPids,
  };
}

// ---- one request -----------------------------------------------------------------------------

type Path = 'pipe' | 'reencode' | 'identity' | 'chat' | 'responses';
const PATHS: Path[] = ['pipe', 'reencode', 'identity', 'chat', 'responses'];
const LABEL: Record<Path, string> = {
  pipe: 'floor (a): `new Response(upstream.body)`',
  reencode: 'floor (b): one TransformStream, parse + re-encode',
  identity: 'floor (c): one pass-through TransformStream',
  chat: 'ours, /v1/chat/completions',
  responses: 'ours, /v1/responses',
};

type Result = { status: number; bytes: number; ttfbMs: number; totalMs: number; ended: boolean };

const UPSTREAM_BODY = JSON.stringify({
  model: 'gpt-5.5', instructions: 'Be brief.', store: false, stream: true,
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
});

function call(setup: Setup, path: Path): { url: string; headers: Record<string, string>; body: string } {
  if (path === 'chat' || path === 'responses') {
    const body = path === 'chat'
      ? { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream: true }
      : { model: 'gpt-5.5', input: 'hi', stream: true, store: false };
    const url = `${setup.stack.workerUrl}/v1/${path === 'chat' ? 'chat/completions' : 'responses'}`;
    return { url, headers: { authorization: `Bearer ${setup.key}` }, body: JSON.stringify(body) };
  }
  return { url: `${setup.floor.url}/${path}`, headers: setup.upstreamHeaders, body: UPSTREAM_BODY };
}

async function send(setup: Setup, path: Path): Promise<Result> {
  const { url, headers, body } = call(setup, path);
  const start = performance.now();
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, dispatcher: agent });
  let bytes = 0;
  let ttfbMs = NaN;
  // Each path's own end: [DONE] for chat, the terminal event for the others.
  const marker = path === 'chat' ? 'data: [DONE]' : 'event: response.completed';
  let tail = '';
  let ended = false;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (bytes === 0) ttfbMs = performance.now() - start;
    bytes += chunk.length;
    const text = tail + chunk.toString('latin1');
    ended ||= text.includes(marker);
    tail = text.slice(-marker.length);
  }
  return { status: res.statusCode, bytes, ttfbMs, totalMs: performance.now() - start, ended };
}

// ---- scenarios -------------------------------------------------------------------------------

interface Scenario {
  name: string;
  step: ResponseStep;
  /** Requests per CPU reading: /proc is read before and after the batch. */
  batch: number;
  rounds: number;
}

/** An answer of `tokens` deltas of about 4 characters, `perChunk` events per network chunk. */
const tokens = (count: number, perChunk: number): ResponseStep => ({
  kind: 'ok', text: 'abc '.repeat(count), chunkSize: 4, eventsPerChunk: perChunk,
});

const SCENARIOS: Scenario[] = [
  { name: "'hi' (7 deltas)", step: { kind: 'ok', eventsPerChunk: 1, chunkSize: 4 }, batch: 20, rounds: 3 },
  { name: '2,000 tokens', step: tokens(2000, 1), batch: 1, rounds: 3 },
  { name: '4,000 tokens', step: tokens(4000, 1), batch: 1, rounds: 3 },
  { name: '4,000 tokens, 150 events per chunk', step: tokens(4000, 150), batch: 1, rounds: 3 },
];

type Figures = { cpuMs: number; workerCpuMs: number; ttfbMs: number; mbps: number };

/** The workerd process that runs the Worker itself (it has the inspector), not wrangler's proxy. */
const workerProcess = (pids: number[]) => pids.filter((pid) => commandOf(pid).includes('--inspector-addr'));

async function measure(setup: Setup, scenario: Scenario, path: Path): Promise<Figures> {
  const pids = path === 'chat' || path === 'responses' ? setup.ours() : setup.floors();
  setup.stack.fake.state.scriptResponses(setup.accountId, Array.from({ length: scenario.batch }, () => scenario.step));
  const [before, workerBefore] = [cpuNs(pids), cpuNs(workerProcess(pids))];
  const results: Result[] = [];
  for (let i = 0; i < scenario.batch; i++) results.push(await send(setup, path));
  const cpuMs = (cpuNs(pids) - before) / 1e6 / scenario.batch;
  const workerCpuMs = (cpuNs(workerProcess(pids)) - workerBefore) / 1e6 / scenario.batch;
  const bad = results.find((r) => r.status !== 200 || !r.ended);
  if (bad) throw new Error(`${path} ${scenario.name}: status ${bad.status}, ended ${bad.ended}`);
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  const ms = results.reduce((n, r) => n + r.totalMs, 0);
  return { cpuMs, workerCpuMs, ttfbMs: median(results.map((r) => r.ttfbMs)), mbps: bytes / 1e6 / (ms / 1000) };
}

/** Median time to first byte of GET /v1/models: what the key check and the AuthBroker call cost before any upstream call. */
async function modelsTtfb(setup: Setup): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    const res = await request(`${setup.stack.workerUrl}/v1/models`, { headers: { authorization: `Bearer ${setup.key}` }, dispatcher: agent });
    for await (const _chunk of res.body) if (times.length === i) times.push(performance.now() - start);
  }
  return median(times);
}

async function streamCost(setup: Setup, perProcess: Map<string, { ours: number; floor: number }>): Promise<BenchTable[]> {
  const tables: BenchTable[] = [];
  for (const scenario of SCENARIOS) {
    progress(scenario.name);
    await measure(setup, { ...scenario, batch: 2 }, 'chat'); // warm-up: JIT, connections
    for (const path of PATHS) await measure(setup, { ...scenario, batch: 1 }, path);
    const runs: Record<Path, Figures[]> = { pipe: [], reencode: [], identity: [], chat: [], responses: [] };
    // Interleaved rounds, so machine noise hits every path alike.
    for (let round = 0; round < scenario.rounds; round++) for (const path of PATHS) runs[path].push(await measure(setup, scenario, path));
    const of = (path: Path, key: keyof Figures) => median(runs[path].map((f) => f[key]));
    const [a, b] = [of('pipe', 'cpuMs'), of('reencode', 'cpuMs')];
    for (const path of ['chat', 'responses'] as const) {
      perProcess.set(`${scenario.name}/${path}`, { ours: of(path, 'workerCpuMs'), floor: of('pipe', 'workerCpuMs') });
    }
    const keyOnly = scenario === SCENARIOS[0] ? await modelsTtfb(setup) : null;
    tables.push({
      title: `Streaming cost, ${scenario.name}`,
      columns: ['path', 'workerd CPU ms / request', '× floor (a)', '× floor (b)', 'of it, the Worker’s process', 'TTFB ms', 'TTFB − floor (a)', 'MB/s'],
      rows: PATHS.map((path) => [
        LABEL[path], fixed(of(path, 'cpuMs')), fixed(of(path, 'cpuMs') / a, 2), fixed(of(path, 'cpuMs') / b, 2), fixed(of(path, 'workerCpuMs')),
        fixed(of(path, 'ttfbMs'), 2), fixed(of(path, 'ttfbMs') - of('pipe', 'ttfbMs'), 2), fixed(of(path, 'mbps'), 2),
      ]),
      notes: [
        `Medians of ${scenario.rounds} interleaved rounds of ${scenario.batch} request(s) per path; CPU summed over every thread of both workerd processes of each wrangler dev, its proxy and the Worker's (/proc/<pid>/task/*/schedstat).`,
        'Targets: chat ≤ 1.25× floor (b); /v1/responses ≤ 1.5× floor (a); \'hi\' TTFB ≤ floor (a) + 2 ms.',
        ...(keyOnly === null ? [] : [`For comparison, GET /v1/models through our Worker (the key check and the AuthBroker call, no upstream call): median TTFB ${fixed(keyOnly, 2)} ms.`]),
      ],
    });
  }
  return tables;
}

async function concurrent(setup: Setup): Promise<BenchTable> {
  const streams = 500;
  const slow: ResponseStep = { kind: 'slow', delayMs: 100, text: 'y'.repeat(240), chunkSize: 8 };
  const rows: (string | number)[][] = [];
  const wall: Partial<Record<Path, number>> = {};
  for (const path of ['pipe', 'chat', 'responses'] as const) {
    progress(`${streams} concurrent streams, ${path}`);
    setup.stack.fake.state.scriptResponses(setup.accountId, Array.from({ length: streams }, () => slow));
    const start = performance.now();
    const results = await Promise.all(Array.from({ length: streams }, () => send(setup, path).catch(() => null)));
    wall[path] = (performance.now() - start) / 1000;
    const errors = results.filter((r) => r === null || r.status !== 200 || !r.ended).length;
    rows.push([LABEL[path], streams, errors, fixed(wall[path]!, 2), fixed(wall[path]! / wall.pipe!, 2)]);
  }
  return {
    title: `${streams} concurrent streams`,
    columns: ['path', 'streams', 'errors', 'wall s', '× floor (a)'],
    rows,
    notes: ['Each stream: ~40 events 100 ms apart (a model typing). Targets: 0 errors, wall ≤ 1.3× floor (a).'],
  };
}

type MemorySample = { label: string; ours: number; floor: number };

async function memory(setup: Setup, samples: MemorySample[]): Promise<BenchTable> {
  return {
    title: 'workerd memory over this run',
    columns: ['after', 'ours, workerd RSS (MB)', 'floor, workerd RSS (MB)'],
    rows: samples.map((s) => [s.label, fixed(s.ours, 0), fixed(s.floor, 0)]),
    notes: [
      'RSS of the workerd processes of each wrangler dev; both run the same requests. A leak grows with every request; memory that peaks with the open streams and then stays or falls is the runtime keeping what it once needed.',
      `Total requests through our Worker: ${setup.stack.fake.state.accountStats(setup.accountId).requests} upstream calls (floor included).`,
    ],
  };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds of JavaScript (our code, the libraries, garbage collection) in a profile: every sample but "(idle)" and "(program)". */
function jsMs(profile: CpuProfile): number {
  const outside = new Set(profile.nodes.filter((n) => ['(idle)', '(program)'].includes(n.callFrame.functionName)).map((n) => n.id));
  let us = 0;
  profile.samples.forEach((node, i) => {
    if (!outside.has(node)) us += profile.timeDeltas[i] ?? 0;
  });
  return us / 1000;
}

type Inspector = { command: (method: string, params?: Record<string, unknown>) => Promise<unknown>; close: () => void };

/** A Chrome DevTools protocol session with our Worker's isolate (wrangler dev's inspector allows one at a time). */
async function inspect(setup: Setup): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${setup.stack.inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // The inspector proxy wants a local Origin; undici's WebSocket can send one.
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { origin: 'http://localhost' } });
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('close', () => reject(new Error('the inspector closed the connection')), { once: true });
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const command = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method}`)), 30_000);
      pending.set(++id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { command, close: () => socket.close() };
}

/**
 * What a production isolate would likely spend per request, two ways: the JavaScript time in our
 * Worker's isolate (workerd inspector profile: no wrangler proxy, no socket work, no D1, which runs
 * in its own isolate), and the Worker process's CPU above the floor's (everything our Worker adds,
 * local Durable Objects and D1 included, which production bills elsewhere).
 */
async function isolateCpu(setup: Setup, session: Inspector, perProcess: Map<string, { ours: number; floor: number }>): Promise<BenchTable> {
  await session.command('Profiler.enable');
  const cases: { label: string; scenario: string; path: 'chat' | 'responses'; step: ResponseStep; n: number }[] = [
    { label: "'hi', chat", scenario: SCENARIOS[0]!.name, path: 'chat', step: SCENARIOS[0]!.step, n: 20 },
    { label: "'hi', responses", scenario: SCENARIOS[0]!.name, path: 'responses', step: SCENARIOS[0]!.step, n: 20 },
    { label: '2,000 tokens, chat', scenario: SCENARIOS[1]!.name, path: 'chat', step: tokens(2000, 1), n: 3 },
    { label: '2,000 tokens, responses', scenario: SCENARIOS[1]!.name, path: 'responses', step: tokens(2000, 1), n: 3 },
    { label: '4,000 tokens, chat', scenario: SCENARIOS[2]!.name, path: 'chat', step: tokens(4000, 1), n: 3 },
    { label: '4,000 tokens, responses', scenario: SCENARIOS[2]!.name, path: 'responses', step: tokens(4000, 1), n: 3 },
  ];
  const rows: (string | number)[][] = [];
  for (const c of cases) {
    setup.stack.fake.state.scriptResponses(setup.accountId, Array.from({ length: c.n }, () => c.step));
    await session.command('Profiler.start');
    for (let i = 0; i < c.n; i++) await send(setup, c.path);
    const { profile } = (await session.command('Profiler.stop')) as { profile: CpuProfile };
    const js = jsMs(profile) / c.n;
    const process = perProcess.get(`${c.scenario}/${c.path}`);
    const added = process ? process.ours - process.floor : NaN;
    rows.push([c.label, fixed(js, 1), fixed(added, 1), js <= 10 ? 'yes' : 'no']);
    if (PROFILE && c.label === '4,000 tokens, chat') {
      const file = join(tmpdir(), 'usemysub-chat-4000.cpuprofile');
      writeFileSync(file, JSON.stringify(profile));
      console.error(`CPU profile of ${c.n} chat streams of 4,000 tokens: ${file} (open it in Chrome DevTools).`);
    }
  }
  return {
    title: 'CPU per request a production isolate would likely spend (the Workers Free plan allows 10 ms)',
    columns: ['request', 'JS in our isolate, ms (profile)', 'Worker process CPU over floor (a), ms', 'JS within 10 ms'],
    rows,
    notes: [
      'JS: samples of the workerd inspector’s profiler in our Worker’s isolate that are neither idle nor "(program)" (the runtime’s own work, stream plumbing included, which production also bills in part).',
      'Process CPU over floor (a): the streaming-cost rows above (both workerd processes’ threads, local SQLite included). Both columns overstate a production isolate: the profiler adds its own overhead, and locally the AuthBroker and ResponseStore Durable Objects run in the same isolate and process, while production bills them separately.',
    ],
  };
}

export default async function streamBench(): Promise<BenchTable[]> {
  progress('starting the local stack and the floor Worker');
  const setup = await setUp();
  let session: Inspector | undefined;
  try {
    // wrangler dev's inspector proxy reaches the isolate once it has served a request.
    setup.stack.fake.state.scriptResponses(setup.accountId, [SCENARIOS[0]!.step]);
    await send(setup, 'chat');
    const samples: MemorySample[] = [];
    const sample = (label: string) => samples.push({ label, ours: rssMb(setup.ours()), floor: rssMb(setup.floors()) });
    sample('start');
    const perProcess = new Map<string, { ours: number; floor: number }>();
    const tables = await streamCost(setup, perProcess);
    sample('the streaming-cost rows');
    tables.push(await concurrent(setup));
    sample('500 concurrent streams');
    for (let round = 1; round <= 3; round++) {
      progress(`memory, round ${round}`);
      setup.stack.fake.state.scriptResponses(setup.accountId, Array.from({ length: 180 }, () => ({ kind: 'ok', eventsPerChunk: 1 }) as ResponseStep));
      for (let i = 0; i < 60; i++) await Promise.all([send(setup, 'chat'), send(setup, 'responses'), send(setup, 'pipe')]);
      sample(`${round * 60} more 'hi' requests per path`);
    }
    tables.push(await memory(setup, samples));
    progress('isolate CPU (inspector profiles)');
    session = await inspect(setup);
    tables.push(await isolateCpu(setup, session, perProcess));
    return tables;
  } finally {
    session?.close();
    await setup.floor.stop();
    await setup.stack.stop();
    await agent.close();
  }
}
