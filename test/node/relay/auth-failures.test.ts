import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../../relay/auth-failures.ts';

function limiter(options: { limit?: number; windowMs?: number; maxClients?: number } = {}) {
  let now = 1_000_000;
  const l = new AuthFailureLimiter({ limit: options.limit ?? 3, windowMs: options.windowMs ?? 60_000, now: () => now, ...(options.maxClients ? { maxClients: options.maxClients } : {}) });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('limiting repeated wrong relay tokens', () => {
  it('lets a client guess `limit` times, then makes it wait for the rest of the window', () => {
    const { l, advance } = limiter();
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('a')).toBe(0);
      l.recordFailure('a');
    }
    expect(l.retryAfterSeconds('a')).toBe(60);
    advance(59_500);
    expect(l.retryAfterSeconds('a')).toBe(1);
    advance(500);
    expect(l.retryAfterSeconds('a')).toBe(0);
  });

  it('counts each client on its own', () => {
    const { l } = limiter({ limit: 1 });
    l.recordFailure('attacker');
    expect(l.retryAfterSeconds('attacker')).toBeGreaterThan(0);
    expect(l.retryAfterSeconds('worker')).toBe(0);
  });

  it('forgets the oldest clients first once it tracks too many', () => {
    const { l } = limiter({ limit: 1, maxClients: 2 });
    l.recordFailure('first');
    l.recordFailure('second');
    l.recordFailure('third');
    expect(l.retryAfterSeconds('first')).toBe(0);
    expect(l.retryAfterSeconds('second')).toBeGreaterThan(0);
    expect(l.retryAfterSeconds('third')).toBeGreaterThan(0);
  });
});
