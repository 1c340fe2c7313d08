/**
 * The deploy files for the three egress options agree with the relay: port, health check, token
 * wiring, shutdown timing and limits. Parsed, not eyeballed, since none of them can be run here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { experimental_readRawConfig } from 'wrangler';
import { parse as parseYaml } from 'yaml';
import { loadRelayConfig } from '../../relay/config.ts';
import { CONTAINER_POOL_SIZE, RELAY_HEALTH_PATH, RELAY_PORT } from '../../relay/contract.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(root + file, 'utf8');
const GOOD_TOKEN = 'f'.repeat(64);
/** The relay's own hard exit comes this long after its grace period (relay/server.ts). */
const HARD_EXIT_AFTER_GRACE_MS = 5_000;

type FlyConfig = {
  kill_signal: string;
  kill_timeout: number;
  build: { dockerfile: string };
  env: Record<string, string>;
  http_service: {
    internal_port: number;
    force_https: boolean;
    auto_stop_machines: string;
    auto_start_machines: boolean;
    concurrency: { type: string; soft_limit: number; hard_limit: number };
    checks: { path: string; method: string }[];
  };
};

describe('fly.toml runs the relay image on Fly.io', () => {
  const fly = parseToml(read('fly.toml')) as unknown as FlyConfig;

  it('builds ./Dockerfile and routes to the port the relay listens on', () => {
    expect(fly.build.dockerfile).toBe('Dockerfile');
    expect(fly.http_service.internal_port).toBe(RELAY_PORT);
    expect(fly.env).toMatchObject({ HOST: '0.0.0.0', PORT: String(RELAY_PORT) });
    expect(fly.http_service.force_https).toBe(true);
  });

  it('health-checks /healthz, which the relay answers without a token', () => {
    expect(fly.http_service.checks).toContainEqual(expect.objectContaining({ method: 'GET', path: RELAY_HEALTH_PATH }));
  });

  it('keeps the token out of the file (a Fly secret) and refuses to start until it is set', () => {
    expect(fly.env).not.toHaveProperty('UPSTREAM_RELAY_TOKEN');
    expect(read('fly.toml')).toMatch(/fly secrets set UPSTREAM_RELAY_TOKEN=/);
    expect(() => loadRelayConfig(fly.env)).toThrow(/UPSTREAM_RELAY_TOKEN/);
    const config = loadRelayConfig({ ...fly.env, UPSTREAM_RELAY_TOKEN: GOOD_TOKEN });
    expect(config).toMatchObject({ host: '0.0.0.0', port: RELAY_PORT, clientIpHeader: 'fly-client-ip' });
  });

  it('lets streams finish on SIGTERM before Fly kills the machine', () => {
    const config = loadRelayConfig({ ...fly.env, UPSTREAM_RELAY_TOKEN: GOOD_TOKEN });
    expect(fly.kill_signal).toBe('SIGTERM');
    expect(fly.kill_timeout).toBeLessThanOrEqual(300);
    expect(config.shutdownGraceMs + HARD_EXIT_AFTER_GRACE_MS).toBeLessThan(fly.kill_timeout * 1000);
  });

  it('caps requests per machine below the relay’s own limit, and stops and starts machines on demand', () => {
    const config = loadRelayConfig({ ...fly.env, UPSTREAM_RELAY_TOKEN: GOOD_TOKEN });
    const { concurrency } = fly.http_service;
    expect(concurrency.type).toBe('requests');
    expect(concurrency.soft_limit).toBeLessThan(concurrency.hard_limit);
    expect(concurrency.hard_limit).toBeLessThan(config.maxConcurrentRequests);
    expect(fly.http_service.auto_stop_machines).toBe('stop');
    expect(fly.http_service.auto_start_machines).toBe(true);
  });
});

type ComposeService = {
  build: string;
  env_file: string | string[];
  environment: Record<string, string>;
  ports: string[];
  healthcheck: { test: string[] };
  stop_grace_period: string;
};

describe('docker-compose.yml runs the relay image locally', () => {
  const relay = (parseYaml(read('docker-compose.yml')) as { services: { relay: ComposeService } }).services.relay;

  it('builds ./Dockerfile and publishes the relay port on loopback only', () => {
    expect(relay.build).toBe('.');
    expect(relay.environment).toMatchObject({ HOST: '0.0.0.0', PORT: String(RELAY_PORT) });
    expect(relay.ports).toEqual([`127.0.0.1:${RELAY_PORT}:${RELAY_PORT}`]);
  });

  it('health-checks /healthz on the relay port', () => {
    expect(relay.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${RELAY_PORT}${RELAY_HEALTH_PATH}`);
  });

  it('takes the token from relay.env, which git and the image build never see', () => {
    expect(relay.env_file).toBe('relay.env');
    expect(relay.environment).not.toHaveProperty('UPSTREAM_RELAY_TOKEN');
    expect(read('.gitignore').split('\n')).toContain('relay.env');
    // .dockerignore is an allowlist, so relay.env and .dev.vars stay out of the build context.
    expect(read('.dockerignore').split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '*',
      '!package.json',
      '!package-lock.json',
      '!relay/',
    ]);
  });

  it('ships an example env file whose empty token makes the relay refuse to start until it is filled in', () => {
    const example = Object.fromEntries(
      read('relay.env.example')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(example).toHaveProperty('UPSTREAM_RELAY_TOKEN', '');
    expect(() => loadRelayConfig({ ...example, ...relay.environment })).toThrow(/UPSTREAM_RELAY_TOKEN/);
    expect(loadRelayConfig({ ...example, ...relay.environment, UPSTREAM_RELAY_TOKEN: GOOD_TOKEN }).port).toBe(RELAY_PORT);
  });

  it('gives streams their shutdown grace before Docker kills the container', () => {
    const graceMs = loadRelayConfig({ ...relay.environment, UPSTREAM_RELAY_TOKEN: GOOD_TOKEN }).shutdownGraceMs;
    const stopSeconds = Number(/^(\d+)s$/.exec(relay.stop_grace_period)?.[1]);
    expect(stopSeconds * 1000).toBeGreaterThanOrEqual(graceMs + HARD_EXIT_AFTER_GRACE_MS);
  });
});

type ContainerEntry = { class_name: string; image: string; instance_type: string; max_instances: number };

describe('wrangler.jsonc runs the relay image as a Cloudflare Container', () => {
  const { rawConfig } = experimental_readRawConfig({ config: root + 'wrangler.jsonc' });
  const containers = rawConfig.containers as ContainerEntry[];

  it('binds CodexRelay as CODEX_RELAY, built from ./Dockerfile with a chosen instance type', () => {
    expect(rawConfig.durable_objects?.bindings).toContainEqual(expect.objectContaining({ name: 'CODEX_RELAY', class_name: 'CodexRelay' }));
    expect(containers).toEqual([
      expect.objectContaining({ class_name: 'CodexRelay', image: './Dockerfile', instance_type: expect.any(String) }),
    ]);
  });

  it('allows at least as many instances as the Worker spreads requests over', () => {
    expect(containers[0]!.max_instances).toBeGreaterThanOrEqual(CONTAINER_POOL_SIZE);
  });

  it('runs the hourly purge (the `scheduled` handler) from a cron trigger', () => {
    expect(rawConfig.triggers).toEqual({ crons: ['17 * * * *'] });
  });

  it('keeps query strings (where clients put keys by mistake) out of the platform’s logs', () => {
    expect(rawConfig.observability).toMatchObject({ enabled: true, redact_query_string: true });
  });

  it('keeps containers out of `wrangler dev`, which runs without Docker', () => {
    expect(rawConfig.dev?.enable_containers).toBe(false);
  });
});
