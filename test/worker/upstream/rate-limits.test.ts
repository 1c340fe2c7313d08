import { describe, expect, it } from 'vitest';
import { mergeRateLimits, parseRateLimitEvent, parseRateLimitHeaders } from '../../../worker/upstream/rate-limits.ts';

const NOW = 1_764_000_000_000;

describe('rate-limit headers', () => {
  it('reads both usage windows and the credits from a model response', () => {
    const headers = new Headers({
      'x-codex-primary-used-percent': '42.5',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-at': '1764003600',
      'x-codex-secondary-used-percent': '7',
      'x-codex-secondary-window-minutes': '10080',
      'x-codex-secondary-reset-at': '1764500000',
      'x-codex-credits-has-credits': 'False',
      'x-codex-credits-unlimited': 'false',
      'x-codex-credits-balance': '0',
    });
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      capturedAt: NOW,
      primary: { usedPercent: 42.5, windowMinutes: 300, resetsAt: 1_764_003_600_000 },
      secondary: { usedPercent: 7, windowMinutes: 10080, resetsAt: 1_764_500_000_000 },
      credits: { hasCredits: false, unlimited: false, balance: '0' },
      planType: null,
    });
  });

  it('understands the older relative reset header', () => {
    const headers = new Headers({
      'x-codex-primary-used-percent': '10',
      'x-codex-primary-reset-after-seconds': '120',
    });
    expect(parseRateLimitHeaders(headers, NOW)?.primary).toEqual({
      usedPercent: 10,
      windowMinutes: null,
      resetsAt: NOW + 120_000,
    });
  });

  it('keeps a window absent when the backend sends only the other one', () => {
    const snap = parseRateLimitHeaders(new Headers({ 'x-codex-secondary-used-percent': '3' }), NOW);
    expect(snap?.primary).toBeNull();
    expect(snap?.secondary?.usedPercent).toBe(3);
    expect(snap?.credits).toBeNull();
  });

  it('returns nothing when a response has no usage headers, so the last snapshot is kept', () => {
    expect(parseRateLimitHeaders(new Headers({ 'content-type': 'text/event-stream' }), NOW)).toBeNull();
    expect(parseRateLimitHeaders(new Headers({ 'x-codex-primary-used-percent': 'abc' }), NOW)).toBeNull();
  });
});

describe('codex.rate_limits event', () => {
  it('reads the windows, credits and plan of a newer backend event', () => {
    const snap = parseRateLimitEvent(
      {
        type: 'codex.rate_limits',
        plan_type: 'plus',
        rate_limits: {
          primary: { used_percent: 50, window_minutes: 300, reset_at: 1764003600 },
          secondary: null,
        },
        credits: { has_credits: true, unlimited: false, balance: '12.5' },
      },
      NOW,
    );
    expect(snap).toEqual({
      capturedAt: NOW,
      primary: { usedPercent: 50, windowMinutes: 300, resetsAt: 1_764_003_600_000 },
      secondary: null,
      credits: { hasCredits: true, unlimited: false, balance: '12.5' },
      planType: 'plus',
    });
  });

  it('ignores an event without figures', () => {
    expect(parseRateLimitEvent({ type: 'codex.rate_limits' }, NOW)).toBeNull();
  });
});

describe('keeping the latest figures', () => {
  const fromEvent = {
    capturedAt: NOW,
    primary: { usedPercent: 50, windowMinutes: 300, resetsAt: 1 },
    secondary: null,
    credits: { hasCredits: true, unlimited: false, balance: '12.5' },
    planType: 'plus',
  };

  it('keeps the plan and credits an earlier event reported when newer headers lack them', () => {
    const fromHeaders = { capturedAt: NOW + 1, primary: { usedPercent: 60, windowMinutes: 300, resetsAt: 2 }, secondary: null, credits: null, planType: null };
    expect(mergeRateLimits(fromEvent, fromHeaders)).toEqual({ ...fromHeaders, credits: fromEvent.credits, planType: 'plus' });
  });

  it('takes the newer windows as they are', () => {
    expect(mergeRateLimits(null, fromEvent)).toEqual(fromEvent);
  });
});
