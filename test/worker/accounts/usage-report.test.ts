/**
 * The ranges of the usage report: the current hour and the 23 before it, today and the 29 UTC
 * days before it, every bucket present, rows at the edges counted once and rows outside dropped.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadUsageReport, reportStarts, usageSeries } from '../../../worker/accounts/usage-report.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import { insertKeyUsage } from '../helpers/key-usage.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// 2026-12-03 17:42:10 UTC
const NOW = Date.UTC(2026, 11, 3, 17, 42, 10);

describe('the usage report', () => {
  it('starts 23 hours before the current hour and 29 days before today (UTC)', () => {
    expect(reportStarts(NOW)).toEqual({ firstHour: Date.UTC(2026, 11, 2, 18), firstDay: Date.UTC(2026, 10, 4) });
  });

  it('counts the first hour and day of each range and nothing before them', async () => {
    const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, NOW);
    const { firstHour, firstDay } = reportStarts(NOW);
    await insertKeyUsage([
      { userId: user.id, keyId: 'key_a', at: firstHour, requests: 1, input: 10 },
      { userId: user.id, keyId: 'key_a', at: firstHour - 1, requests: 100, input: 1_000 },
      { userId: user.id, keyId: 'key_b', at: NOW, requests: 2, output: 20 },
      { userId: user.id, keyId: 'key_a', at: firstDay + 23 * HOUR, requests: 4, input: 40 },
      { userId: user.id, keyId: 'key_a', at: firstDay - HOUR, requests: 1_000, input: 10_000 },
    ]);
    const report = await loadUsageReport(env.DB, user.id, NOW);

    const hours = usageSeries(report, 'hours', null);
    expect(hours.buckets).toHaveLength(24);
    expect(hours.buckets[0]).toEqual({ start: firstHour, totals: expect.objectContaining({ requests: 1, inputTokens: 10 }) });
    expect(hours.buckets[23]?.totals).toMatchObject({ requests: 2, outputTokens: 20 });
    expect(hours.total.requests).toBe(3);

    const days = usageSeries(report, 'days', null);
    expect(days.buckets).toHaveLength(30);
    expect(days.buckets[0]).toEqual({ start: firstDay, totals: expect.objectContaining({ requests: 4, inputTokens: 40 }) });
    // Yesterday holds the hour before the 24-hour range began and the range's first hour.
    expect(days.buckets[28]?.totals.requests).toBe(101);
    expect(days.total.requests).toBe(107);

    expect(usageSeries(report, 'days', 'key_b').total).toMatchObject({ requests: 2, outputTokens: 20, inputTokens: 0 });
  });
});
