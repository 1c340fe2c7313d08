/** @jsxImportSource hono/jsx */
/** /dashboard: connection status, usage, proxy keys, how to call the API, account deletion. */
import type { FC } from 'hono/jsx';
import type { CreatedApiKey } from '../../accounts/api-keys.ts';
import type { ApiKeyRow } from '../../db/api-keys.ts';
import type { CodexTokenRow } from '../../db/codex-tokens.ts';
import type { RateLimitSnapshot, RateLimitWindow } from '../../upstream/rate-limits.ts';
import type { WebSession } from '../context.ts';
import { KEY_NAME_MAX_LENGTH } from '../settings.ts';
import { CopyBlock, Csrf, Field, Notice, Time, describedBy } from './components.tsx';
import { Layout } from './layout.tsx';
import { Snippets } from './snippets.tsx';
import { KeyTotals, UsageHistory, type UsageView } from './usage.tsx';
import { ClaudeModels, type ClaudeModelsProps } from './claude-models.tsx';
import type { ClaudeModelsView } from '../claude-models.ts';

export type DashboardNotice = 'connected' | 'key_revoked' | 'welcome' | 'claude_models_saved';

const NOTICES: Record<DashboardNotice, string> = {
  connected: 'Your ChatGPT account is connected. Create a key below and point your tools at UseMySub.',
  key_revoked: 'The key was revoked. Requests with it are refused from now on.',
  welcome: 'You are signed in.',
  claude_models_saved: 'Your Claude models are saved. The next request uses them.',
};

export interface DashboardProps {
  session: WebSession;
  csrfToken: string;
  origin: string;
  link: CodexTokenRow | null;
  usage: RateLimitSnapshot | null;
  keys: ApiKeyRow[];
  usageView: UsageView;
  newKey?: CreatedApiKey | undefined;
  keyForm?: { name: string; error: string } | undefined;
  notice?: DashboardNotice | undefined;
  claudeModels: ClaudeModelsView;
  claudeForm?: ClaudeModelsProps['form'];
}

export const DashboardPage: FC<DashboardProps> = (props) => (
  <Layout title="Dashboard" session={props.session} csrfToken={props.csrfToken} current="dashboard">
    <div class="page-head">
      <h1>Dashboard</h1>
      <p class="lead">Signed in as {props.session.email}.</p>
    </div>
    {props.notice ? <Notice tone="success">{NOTICES[props.notice]}</Notice> : null}
    {props.newKey ? <NewKey created={props.newKey} /> : null}
    <Connection link={props.link} />
    <section class="card" aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage</h2>
      <div class="usage-layout">
        <Limits link={props.link} usage={props.usage} />
        <UsageHistory view={props.usageView} keys={props.keys} />
      </div>
    </section>
    <Keys keys={props.keys} csrfToken={props.csrfToken} form={props.keyForm} usageView={props.usageView} />
    <Snippets origin={props.origin} />
    <ClaudeModels view={props.claudeModels} csrfToken={props.csrfToken} form={props.claudeForm} />
    <section class="card danger-zone" aria-labelledby="danger-heading">
      <h2 id="danger-heading">Delete your account</h2>
      <p>Removes your ChatGPT connection, every proxy key and your sign-in sessions. It cannot be undone.</p>
      <a class="button button-danger" href="/account/delete">Delete account…</a>
    </section>
  </Layout>
);

const NewKey: FC<{ created: CreatedApiKey }> = ({ created }) => (
  <section class="card new-key" aria-labelledby="new-key-heading">
    <h2 id="new-key-heading">Your new key “{created.name}”</h2>
    <Notice tone="warning">Copy it now: it is shown only this once. We store only a fingerprint of it.</Notice>
    <CopyBlock id="new-key-value" label="API key" value={created.key} secret />
  </section>
);

const Connection: FC<{ link: CodexTokenRow | null }> = ({ link }) => {
  const state = !link ? 'none' : link.status === 'reauth_required' ? 'reauth' : 'active';
  return (
    <section class="card" aria-labelledby="connection-heading">
      <h2 id="connection-heading">ChatGPT connection</h2>
      {state === 'none' ? (
        <>
          <p><span class="badge badge-muted">Not connected</span></p>
          <p>Connect the ChatGPT account whose subscription should answer your requests.</p>
          <a class="button button-primary" href="/onboarding">Connect ChatGPT</a>
        </>
      ) : (
        <>
          <p>
            {state === 'active' ? <span class="badge badge-ok">Connected</span> : <span class="badge badge-warn">Needs reconnect</span>}
          </p>
          <dl class="facts">
            <dt>Account</dt>
            <dd>{link?.account_email ?? link?.account_id}</dd>
            <dt>Plan</dt>
            <dd class="capitalize">{link?.plan_type ?? 'unknown'}</dd>
            {link?.refreshed_at ? (
              <>
                <dt>Tokens renewed</dt>
                <dd><Time ms={link.refreshed_at} relative /></dd>
              </>
            ) : null}
          </dl>
          {state === 'reauth' ? (
            <>
              <p>ChatGPT no longer accepts the saved login, so requests fail until you sign in again. Your keys stay the same.</p>
              <a class="button button-primary" href="/onboarding">Reconnect ChatGPT</a>
            </>
          ) : (
            <a class="button" href="/onboarding">Reconnect or switch account</a>
          )}
        </>
      )}
    </section>
  );
};

function windowLabel(window: RateLimitWindow, fallback: string): string {
  const minutes = window.windowMinutes;
  if (minutes === null || minutes <= 0) return fallback;
  if (minutes === 7 * 24 * 60) return 'Weekly limit';
  if (minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}-day limit`;
  if (minutes % 60 === 0) return `${minutes / 60}-hour limit`;
  return `${minutes}-minute limit`;
}

const UsageWindow: FC<{ id: string; window: RateLimitWindow; fallback: string }> = ({ id, window, fallback }) => {
  const used = Math.max(0, Math.min(100, Math.round(window.usedPercent)));
  return (
    <div class="meter">
      <div class="meter-head">
        <span id={`${id}-label`}>{windowLabel(window, fallback)}</span>
        <span class="meter-value">{used}% used</span>
      </div>
      <progress max={100} value={used} aria-labelledby={`${id}-label`} class={used >= 90 ? 'high' : used >= 70 ? 'mid' : undefined}>
        {used}%
      </progress>
      {window.resetsAt ? <p class="muted small">Resets <Time ms={window.resetsAt} relative /></p> : null}
    </div>
  );
};

const Limits: FC<{ link: CodexTokenRow | null; usage: RateLimitSnapshot | null }> = ({ link, usage }) => (
  <section class="usage-limits" aria-labelledby="limits-heading">
    <h3 id="limits-heading">ChatGPT limits</h3>
    {!link || link.status !== 'active' ? (
      <p class="muted">The limits of your plan appear once a ChatGPT account is connected.</p>
    ) : !usage || (!usage.primary && !usage.secondary) ? (
      <p class="muted">No usage reported yet. ChatGPT reports it with your first request.</p>
    ) : (
      <>
        {usage.primary ? <UsageWindow id="usage-primary" window={usage.primary} fallback="Short-term limit" /> : null}
        {usage.secondary ? <UsageWindow id="usage-secondary" window={usage.secondary} fallback="Long-term limit" /> : null}
        <p class="muted small">As reported by ChatGPT <Time ms={usage.capturedAt} relative />.</p>
      </>
    )}
  </section>
);

const Keys: FC<{ keys: ApiKeyRow[]; csrfToken: string; usageView: UsageView; form?: { name: string; error: string } | undefined }> = (props) => {
  const active = props.keys.filter((key) => key.revoked_at === null);
  const revoked = props.keys.filter((key) => key.revoked_at !== null);
  return (
    <section class="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <p>Each app or device gets its own key, so you can revoke one without touching the others.</p>
      <form method="post" action="/dashboard/keys" class="inline-fields">
        <Csrf token={props.csrfToken} />
        <Field id="key_name" label="New key name" error={props.form?.error}>
          <input id="key_name" name="name" type="text" required maxlength={KEY_NAME_MAX_LENGTH} autocomplete="off"
            placeholder="e.g. Laptop, Cursor, CI" value={props.form?.name ?? ''}
            aria-invalid={props.form?.error ? 'true' : undefined}
            aria-describedby={describedBy('key_name', { error: props.form?.error })} />
        </Field>
        <button type="submit" class="button button-primary">Create key</button>
      </form>
      {active.length === 0 ? (
        <p class="muted empty">No active keys yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="keys">
            <caption class="visually-hidden">Active API keys</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Last 24 h</th><th scope="col">Last 30 days</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              {active.map((key) => (
                <tr>
                  <th scope="row">{key.name}</th>
                  <td><code>{key.key_hint}</code></td>
                  <td class="key-created"><Time ms={key.created_at} /></td>
                  <td class="key-used">{key.last_used_at ? <Time ms={key.last_used_at} relative /> : <span class="muted">Never</span>}</td>
                  <td class="key-day"><KeyTotals report={props.usageView.report} keyId={key.id} range="hours" /></td>
                  <td class="key-month"><KeyTotals report={props.usageView.report} keyId={key.id} range="days" /></td>
                  <td class="actions">
                    <a class="button button-small" href={`/dashboard/keys/${key.id}/limits`}>
                      Limits…<span class="visually-hidden"> of {key.name}</span>
                    </a>{' '}
                    <a class="button button-small button-danger-quiet" href={`/dashboard/keys/${key.id}/revoke`}>
                      Revoke…<span class="visually-hidden"> {key.name}</span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoked.length > 0 ? (
        <details class="revoked">
          <summary>Revoked keys ({revoked.length})</summary>
          <ul class="plain">
            {revoked.map((key) => (
              <li><strong>{key.name}</strong> <code>{key.key_hint}</code>, revoked <Time ms={key.revoked_at ?? 0} /></li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
};

export const RevokeKeyPage: FC<{ session: WebSession; csrfToken: string; apiKey: ApiKeyRow }> = (props) => (
  <Layout title="Revoke key" session={props.session} csrfToken={props.csrfToken} current="dashboard" narrow>
    <section class="card card-hero">
      <h1>Revoke “{props.apiKey.name}”?</h1>
      <p class="lead">
        Apps using <code>{props.apiKey.key_hint}</code> stop working at once. This cannot be undone; you can create a new
        key at any time.
      </p>
      <form method="post" action={`/dashboard/keys/${props.apiKey.id}/revoke`} class="button-row">
        <Csrf token={props.csrfToken} />
        <button type="submit" class="button button-danger" autofocus>Revoke key</button>
        <a class="button" href="/dashboard">Cancel</a>
      </form>
    </section>
  </Layout>
);

export const DeleteAccountPage: FC<{ session: WebSession; csrfToken: string; keyCount: number; connected: boolean; error?: string | undefined }> = (props) => (
  <Layout title="Delete account" session={props.session} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>Delete your account?</h1>
      <p class="lead">This deletes, at once and for good:</p>
      <ul>
        <li>your account {props.session.email} and its sign-in sessions,</li>
        <li>{props.connected ? 'your ChatGPT connection (the stored tokens),' : 'any ChatGPT connection,'}</li>
        <li>{props.keyCount === 1 ? 'your 1 API key' : `your ${props.keyCount} API keys`} (apps using them stop working) and their usage history.</li>
      </ul>
      <form method="post" action="/account/delete" class="stack">
        <Csrf token={props.csrfToken} />
        <Field id="confirm_email" label="Type your email address to confirm" error={props.error}>
          <input id="confirm_email" name="confirm_email" type="email" autocomplete="off" required
            aria-invalid={props.error ? 'true' : undefined}
            aria-describedby={describedBy('confirm_email', { error: props.error })} />
        </Field>
        <div class="button-row">
          <button type="submit" class="button button-danger">Delete my account</button>
          <a class="button" href="/dashboard">Cancel</a>
        </div>
      </form>
    </section>
  </Layout>
);
