/**
 * A user's usage over time, as the dashboard and `GET /v1/usage` show it: the last 24 hours by
 * hour (the current hour and the 23 before it) and the last 30 days by UTC day (today and the 29
 * before it), per key and for the whole account. Built from `key_usage` sums; every bucket of
 * the range is present, the empty ones as zeros.
 */
import { DAY_MS, HOUR_MS, readKeyUsage, type KeyUsageSum } from '../db/key-usage.ts';

export const REPORT_HOURS = 24;
export const REPORT_DAYS = 30;

export interface UsageTotals {
  requests: number;
  /** Of which ended in an error. */
  failed: number;
  /** Including the cached ones. */
  inputTokens: number;
  cachedInputTokens: number;
  /** Including the reasoning ones. */
  outputTokens: number;
  reasoningTokens: number;
}

export interface UsageBucket {
  /** Epoch ms of the hour's or the UTC day's start. */
  start: number;
  totals: UsageTotals;
}

export interface UsageSeries {
  buckets: UsageBucket[];
  total: UsageTotals;
}

export interface UsageReport {
  hourly: KeyUsageSum[];
  daily: KeyUsageSum[];
  /** Epoch ms of the first hour and the first day in range. */
  firstHour: number;
  firstDay: number;
}

export type UsageRange = 'hours' | 'days';

/** Input plus output tokens: what a key's daily token limit counts. */
export function totalTokens(totals: UsageTotals): number {
  return totals.inputTokens + totals.outputTokens;
}

export function emptyTotals(): UsageTotals {
  return { requests: 0, failed: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };
}

function add(into: UsageTotals, row: KeyUsageSum): void {
  into.requests += row.requests;
  into.failed += row.failed;
  into.inputTokens += row.input_tokens;
  into.cachedInputTokens += row.cached_input_tokens;
  into.outputTokens += row.output_tokens;
  into.reasoningTokens += row.reasoning_tokens;
}

/** Where the two ranges start at `now` (epoch ms). */
export function reportStarts(now: number): { firstHour: number; firstDay: number } {
  return {
    firstHour: now - (now % HOUR_MS) - (REPORT_HOURS - 1) * HOUR_MS,
    firstDay: now - (now % DAY_MS) - (REPORT_DAYS - 1) * DAY_MS,
  };
}

/** Reads the user's usage for both ranges (one D1 batch). */
export async function loadUsageReport(db: D1Database, userId: string, now: number): Promise<UsageReport> {
  const { firstHour, firstDay } = reportStarts(now);
  const { hourly, daily } = await readKeyUsage(db, userId, firstHour, firstDay);
  return { hourly, daily, firstHour, firstDay };
}

/** One range's buckets and total, for one key or (keyId null) the whole account. */
export function usageSeries(report: UsageReport, range: UsageRange, keyId: string | null): UsageSeries {
  const [rows, first, step, count] =
    range === 'hours' ? [report.hourly, report.firstHour, HOUR_MS, REPORT_HOURS] : [report.daily, report.firstDay, DAY_MS, REPORT_DAYS];
  const buckets = Array.from({ length: count }, (_, i) => ({ start: first + i * step, totals: emptyTotals() }));
  const total = emptyTotals();
  for (const row of rows) {
    if (keyId !== null && row.key_id !== keyId) continue;
    const bucket = buckets[Math.floor((row.bucket - first) / step)];
    if (!bucket) continue;
    add(bucket.totals, row);
    add(total, row);
  }
  return { buckets, total };
}
