/** @jsxImportSource hono/jsx */
/**
 * The dashboard's usage over time: bar charts of the last 24 hours and 30 days, drawn on the
 * server as SVG (no script, no third-party asset: the CSP allows neither), each with the same
 * figures as a table for screen readers and anyone who wants the numbers.
 */
import type { FC } from 'hono/jsx';
import { totalTokens, usageSeries, type UsageBucket, type UsageRange, type UsageReport, type UsageTotals } from '../../accounts/usage-report.ts';
import type { ApiKeyRow } from '../../db/api-keys.ts';

export type UsageMetric = 'tokens' | 'requests';

export interface UsageView {
  report: UsageReport;
  /** The key the charts show; null: the whole account. */
  keyId: string | null;
  metric: UsageMetric;
}

const COUNT = new Intl.NumberFormat('en-US');
const COMPACT = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Plot height in px; the labels sit below it. */
const PLOT_HEIGHT = 120;
const LABEL_SPACE = 22;

export function formatCount(n: number): string {
  return COUNT.format(n);
}

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function valueOf(totals: UsageTotals, metric: UsageMetric): number {
  return metric === 'tokens' ? totalTokens(totals) : totals.requests;
}

function bucketLabel(start: number, range: UsageRange): string {
  const d = new Date(start);
  if (range === 'hours') return `${String(d.getUTCHours()).padStart(2, '0')}:00`;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

function summary(totals: UsageTotals): string {
  return `${plural(totalTokens(totals), 'token', 'tokens')}, ${plural(totals.requests, 'request', 'requests')}`;
}

/** Whole-percent geometry of bar `i` of `n`, with a small gap between bars. */
function barX(i: number, n: number): { x: string; width: string } {
  const slot = 100 / n;
  return { x: `${(i * slot + slot * 0.12).toFixed(3)}%`, width: `${(slot * 0.76).toFixed(3)}%` };
}

const Bars: FC<{ id: string; buckets: UsageBucket[]; range: UsageRange; metric: UsageMetric; label: string }> = (props) => {
  const values = props.buckets.map((bucket) => valueOf(bucket.totals, props.metric));
  const max = Math.max(...values, 0);
  const step = props.range === 'hours' ? 6 : 7;
  return (
    <svg class="chart-bars" width="100%" height={PLOT_HEIGHT + LABEL_SPACE} role="img" aria-labelledby={`${props.id}-title`}>
      <title id={`${props.id}-title`}>{props.label}</title>
      <line class="chart-axis" x1="0" x2="100%" y1={PLOT_HEIGHT + 0.5} y2={PLOT_HEIGHT + 0.5} />
      {props.buckets.map((bucket, i) => {
        const value = values[i] ?? 0;
        if (value === 0 || max === 0) return null;
        // At least 3 px, so an hour with a single small request is still visible.
        const height = Math.max(3, Math.round((value / max) * (PLOT_HEIGHT - 4)));
        return (
          <rect class="chart-bar" {...barX(i, props.buckets.length)} y={PLOT_HEIGHT - height} height={height} rx="2">
            <title>{`${bucketLabel(bucket.start, props.range)}: ${summary(bucket.totals)}`}</title>
          </rect>
        );
      })}
      {props.buckets.map((bucket, i) =>
        i % step === 0 && i <= props.buckets.length - step ? (
          <text class="chart-label" x={barX(i, props.buckets.length).x} y={PLOT_HEIGHT + 16}>{bucketLabel(bucket.start, props.range)}</text>
        ) : null,
      )}
    </svg>
  );
};

const UsageTable: FC<{ buckets: UsageBucket[]; range: UsageRange; caption: string }> = (props) => {
  const used = props.buckets.filter((bucket) => bucket.totals.requests > 0);
  if (used.length === 0) return null;
  return (
    <details class="chart-table">
      <summary>Show as a table</summary>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">{props.range === 'hours' ? 'Hour (UTC)' : 'Day (UTC)'}</th>
              <th scope="col" class="num">Requests</th><th scope="col" class="num">Input</th><th scope="col" class="num">Cached</th>
              <th scope="col" class="num">Output</th><th scope="col" class="num">Reasoning</th>
            </tr>
          </thead>
          <tbody>
            {used.map((bucket) => (
              <tr>
                <th scope="row">{bucketLabel(bucket.start, props.range)}</th>
                <td class="num">{formatCount(bucket.totals.requests)}</td>
                <td class="num">{formatCount(bucket.totals.inputTokens)}</td>
                <td class="num">{formatCount(bucket.totals.cachedInputTokens)}</td>
                <td class="num">{formatCount(bucket.totals.outputTokens)}</td>
                <td class="num">{formatCount(bucket.totals.reasoningTokens)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
};

const Chart: FC<{ view: UsageView; range: UsageRange; title: string; scope: string }> = ({ view, range, title, scope }) => {
  const series = usageSeries(view.report, range, view.keyId);
  const id = `usage-${range}`;
  const max = Math.max(...series.buckets.map((bucket) => valueOf(bucket.totals, view.metric)), 0);
  const unit = view.metric === 'tokens' ? 'tokens' : 'requests';
  return (
    <figure class="chart" id={id} aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>
        <span class="chart-title">{title}</span>
        <span class="chart-total" data-total={range}>{summary(series.total)}</span>
      </figcaption>
      {series.total.requests === 0 ? (
        <p class="muted small chart-empty">No requests {range === 'hours' ? 'in the last 24 hours' : 'in the last 30 days'}.</p>
      ) : (
        <>
          <p class="chart-scale muted small" aria-hidden="true">{`${COMPACT.format(max)} ${unit}`}</p>
          <Bars id={`${id}-chart`} buckets={series.buckets} range={range} metric={view.metric}
            label={`${title}: ${unit} per ${range === 'hours' ? 'hour' : 'day'} for ${scope}, at most ${formatCount(max)}. The table below has the figures.`} />
          <UsageTable buckets={series.buckets} range={range} caption={`${title} for ${scope}`} />
        </>
      )}
    </figure>
  );
};

/** The filter (which key, which measure) is a plain GET form, so it works without script. */
export const UsageHistory: FC<{ view: UsageView; keys: ApiKeyRow[] }> = ({ view, keys }) => {
  const shown = keys.find((key) => key.id === view.keyId);
  const scope = shown ? `the key “${shown.name}”` : 'all keys';
  return (
    <div class="usage-history">
      <form method="get" action="/dashboard" class="chart-filter">
        <span class="chart-filter-field">
          <label for="usage_key">Key</label>
          <select id="usage_key" name="usage_key">
            <option value="" selected={view.keyId === null}>All keys</option>
            {keys.map((key) => (
              <option value={key.id} selected={key.id === view.keyId}>{key.revoked_at === null ? key.name : `${key.name} (revoked)`}</option>
            ))}
          </select>
        </span>
        <span class="chart-filter-field">
          <label for="usage_metric">Show</label>
          <select id="usage_metric" name="usage_metric">
            <option value="tokens" selected={view.metric === 'tokens'}>Tokens</option>
            <option value="requests" selected={view.metric === 'requests'}>Requests</option>
          </select>
        </span>
        <button type="submit" class="button button-small">Update</button>
      </form>
      <Chart view={view} range="hours" title="Last 24 hours, by hour (UTC)" scope={scope} />
      <Chart view={view} range="days" title="Last 30 days, by day (UTC)" scope={scope} />
      <p class="muted small">Tokens are input plus output. Recorded after each answer, up to a minute late.</p>
    </div>
  );
};

/** A key's totals for the key table: tokens, then requests. */
export const KeyTotals: FC<{ report: UsageReport; keyId: string; range: UsageRange }> = ({ report, keyId, range }) => {
  const total = usageSeries(report, range, keyId).total;
  return (
    <>
      <span class="key-tokens">{plural(totalTokens(total), 'token', 'tokens')}</span>{' '}
      <span class="muted small key-requests">{plural(total.requests, 'request', 'requests')}</span>
    </>
  );
};
