/**
 * Counts what a request costs in remote round trips: D1 queries and Durable Object calls, in
 * the order they leave, with the upstream fetch as a marker. The Worker is called with an `env`
 * whose bindings are wrapped; the AuthBroker's own D1 reads are counted by wrapping its `env`.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { vi } from 'vitest';

const QUERY_METHODS = new Set(['first', 'run', 'all', 'raw']);

type Fn = (...args: unknown[]) => unknown;

function countingStatement(statement: D1PreparedStatement, trips: string[], label: string): D1PreparedStatement {
  return new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'bind') return countingStatement((value as Fn).apply(target, args) as D1PreparedStatement, trips, label);
        if (QUERY_METHODS.has(String(prop))) trips.push(label);
        return (value as Fn).apply(target, args);
      };
    },
  });
}

/** A D1 binding that pushes `label` for every query (a batch counts once: it is one round trip). */
export function countingD1<T extends D1Database | D1DatabaseSession>(db: T, trips: string[], label = 'd1'): T {
  const originals = new WeakMap<object, D1PreparedStatement>();
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'prepare') {
          const statement = (value as Fn).apply(target, args) as D1PreparedStatement;
          const wrapped = countingStatement(statement, trips, label);
          originals.set(wrapped, statement);
          return wrapped;
        }
        if (prop === 'withSession') return countingD1((value as Fn).apply(target, args) as D1Database, trips, label);
        if (prop === 'batch') {
          trips.push(label);
          const statements = (args[0] as D1PreparedStatement[]).map((s) => originals.get(s) ?? s);
          return (value as Fn).apply(target, [statements]);
        }
        return (value as Fn).apply(target, args);
      };
    },
  });
}

/** A Durable Object namespace whose stubs push `<label>.<method>` for every RPC call. */
function countingNamespace<T extends object>(namespace: T, trips: string[], label: string): T {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'getByName' || typeof value !== 'function') return typeof value === 'function' ? (value as Fn).bind(target) : value;
      return (name: string) => {
        const stub = (value as Fn).call(target, name) as Record<string, unknown>;
        return new Proxy(stub, {
          get(stubTarget, method) {
            const member = Reflect.get(stubTarget, method) as unknown;
            if (typeof member !== 'function' || typeof method !== 'string') return member;
            return (...args: unknown[]) => {
              trips.push(`${label}.${method}`);
              return (member as Fn)(...args);
            };
          },
        });
      };
    },
  });
}

export interface RoundTrips {
  /** Everything that left, in order: `d1`, `AUTH_BROKER.<method>`, `RESPONSE_STORE.<method>`, `broker-d1`, `upstream`. */
  trips: string[];
  /** The Worker's env with counting bindings. */
  env: Env;
  /** What left before the first upstream fetch. */
  beforeUpstream(): string[];
  restore(): Promise<void>;
}

/** Starts counting; `userId`'s AuthBroker counts its own D1 queries as `broker-d1`. */
export async function countRoundTrips(userId: string): Promise<RoundTrips> {
  const trips: string[] = [];
  const counted = {
    ...env,
    DB: countingD1(env.DB, trips),
    AUTH_BROKER: countingNamespace(env.AUTH_BROKER, trips, 'AUTH_BROKER'),
    RESPONSE_STORE: countingNamespace(env.RESPONSE_STORE, trips, 'RESPONSE_STORE'),
  } as Env;
  const broker = env.AUTH_BROKER.getByName(userId);
  await runInDurableObject(broker, (instance) => {
    const own = instance as unknown as { env: Env };
    own.env = { ...own.env, DB: countingD1(own.env.DB, trips, 'broker-d1') };
  });
  const realFetch = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(env.FAKE_CODEX_URL) && !url.includes('/__fake/')) trips.push('upstream');
    return realFetch(input, init);
  });
  return {
    trips,
    env: counted,
    beforeUpstream: () => {
      const at = trips.indexOf('upstream');
      if (at < 0) throw new Error(`no upstream fetch among ${JSON.stringify(trips)}`);
      return trips.slice(0, at);
    },
    restore: async () => {
      spy.mockRestore();
      await runInDurableObject(broker, (instance) => {
        const own = instance as unknown as { env: Env };
        own.env = { ...own.env, DB: env.DB };
      });
    },
  };
}
