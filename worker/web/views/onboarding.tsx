/** @jsxImportSource hono/jsx */
/** /onboarding: connect (or reconnect) a ChatGPT account. */
import type { FC } from 'hono/jsx';
import type { CodexTokenRow } from '../../db/codex-tokens.ts';
import { DEVICE_VERIFICATION_URL } from '../../upstream/device-auth.ts';
import { OAUTH_REDIRECT_URI } from '../../upstream/oauth.ts';
import type { DeviceLoginView } from '../device-login.ts';
import type { WebSession } from '../context.ts';
import type { ConnectFailure } from '../onboarding.ts';
import { CopyBlock, Csrf, Field, Notice, Time, describedBy } from './components.tsx';
import { Layout } from './layout.tsx';

export type OnboardingForm = 'device' | 'callback' | 'auth_file';

export interface OnboardingProps {
  session: WebSession;
  csrfToken: string;
  authorizeUrl: string;
  link: CodexTokenRow | null;
  /** What went wrong with the last paste, upload or device sign-in, and which form it came from. */
  failure?: { failure: ConnectFailure; from: OnboardingForm } | undefined;
  /** The device-code sign-in this browser has under way, if any. */
  device?: DeviceLoginView | null | undefined;
  /** The no-script "continue" button was pressed before the code was approved. */
  deviceWaiting?: boolean | undefined;
  pasted?: string | undefined;
}

/** One ChatGPT account serves one UseMySub account; the other user is never named. */
export const ACCOUNT_TAKEN_MESSAGE =
  'This ChatGPT account is already connected to another UseMySub account, and one ChatGPT account can serve only one ' +
  'UseMySub account. Sign in here with the email of that account instead, or connect a different ChatGPT account.';

/** The message for each way a connection attempt can fail: what happened, and what to do now. */
export function failureMessage(failure: ConnectFailure): string {
  switch (failure.kind) {
    case 'unreadable':
      return failure.reason === 'empty'
        ? 'Paste the address your browser shows after you sign in to ChatGPT.'
        : failure.reason === 'no_state'
          ? 'That address has a code but no state. Copy the whole address from the address bar, including everything after the “?”.'
          : `That is not the address we need. After signing in, your browser opens ${OAUTH_REDIRECT_URI}?code=…&state=… (the page itself fails to load, which is expected): copy that whole address.`;
    case 'denied':
      return `The ChatGPT sign-in was cancelled or refused${failure.description ? `: ${failure.description}` : '.'} Start again with the link below.`;
    case 'state_mismatch':
      return 'That address belongs to a different sign-in than the one started here (another tab, another account, or an older attempt). Use the new sign-in link below, then paste the address it leads to.';
    case 'state_expired':
      return 'That sign-in took longer than 15 minutes and has expired. Use the new sign-in link below.';
    case 'state_used':
      return 'That address was already used. Each sign-in works once: use the new sign-in link below.';
    case 'code_rejected':
      return 'ChatGPT did not accept the sign-in code: it expires within minutes and works once. Use the new sign-in link below and paste the address right away.';
    case 'exchange_unavailable':
      return 'ChatGPT could not be reached to finish the sign-in. Please try again in a minute with the new sign-in link below.';
    case 'incomplete_tokens':
      return 'ChatGPT answered without a complete login (no account id or refresh token). Try again, and choose a ChatGPT workspace if asked.';
    case 'account_taken':
      return ACCOUNT_TAKEN_MESSAGE;
    case 'device_disabled':
      return 'ChatGPT does not offer sign-in with a code right now. Use the sign-in link below instead.';
    case 'device_unavailable':
      return 'ChatGPT could not be reached to get a sign-in code. Try again in a minute, or use the sign-in link below.';
    case 'device_expired':
      return 'That sign-in code expired (codes last 15 minutes) or was ended by ChatGPT. Get a new code and approve it right away.';
    case 'device_challenged':
      return 'ChatGPT asked the server to prove it is a browser, so sign-in with a code cannot finish here. Use the sign-in link below instead.';
    case 'auth_file':
      return failure.message;
  }
}

const LinkStatus: FC<{ link: CodexTokenRow | null }> = ({ link }) => {
  if (!link) return null;
  if (link.status === 'reauth_required') {
    return (
      <Notice tone="warning" title="Your ChatGPT connection needs to be renewed">
        ChatGPT no longer accepts the saved login{link.account_email ? ` for ${link.account_email}` : ''}. Sign in again below;
        your proxy keys stay the same.
      </Notice>
    );
  }
  return (
    <Notice tone="info" title="A ChatGPT account is connected">
      {link.account_email ?? link.account_id}
      {link.plan_type ? ` (${link.plan_type})` : ''}. Signing in again replaces it; your proxy keys stay the same.
    </Notice>
  );
};

/** Device-code sign-in: get a code, approve it at auth.openai.com, and the page moves on by itself. */
const DeviceSection: FC<OnboardingProps> = (props) => {
  const device = props.device;
  if (device?.state === 'pending' || device?.state === 'finishing') {
    const login = device.state === 'pending' ? device.login : null;
    return (
      <section class="card device" aria-labelledby="device-heading">
        <h2 id="device-heading">Sign in with a code</h2>
        <ol class="device-steps">
          <li>
            Open{' '}
            <a href={DEVICE_VERIFICATION_URL} target="_blank" rel="noopener noreferrer" id="device-link">
              {DEVICE_VERIFICATION_URL.replace(/^https:\/\//, '')}<span class="visually-hidden"> (opens in a new tab)</span>
            </a>{' '}
            on this or any other device, and sign in to ChatGPT.
          </li>
          <li>Enter this code and approve:</li>
        </ol>
        {login ? (
          <>
            <CopyBlock id="device-code" label="Your sign-in code" value={login.userCode} />
            <p class="hint">
              It expires <Time ms={login.expiresAt} relative />. Never share it: anyone who enters it could link their
              ChatGPT account here.
            </p>
          </>
        ) : null}
        {props.deviceWaiting ? (
          <Notice tone="warning" title="Not approved yet">Approve the code at ChatGPT first, then press Continue again.</Notice>
        ) : null}
        <form method="post" action="/onboarding/device/poll" class="button-row" id="device-poll"
          data-device-poll={String(login?.intervalMs ?? 1000)}>
          <Csrf token={props.csrfToken} />
          <button type="submit" class="button button-primary">I have approved it, continue</button>
          <span class="muted small" id="device-status" role="status" aria-live="polite">
            {login ? 'Waiting for your approval…' : 'Finishing the sign-in…'}
          </span>
        </form>
        <form method="post" action="/onboarding/device" class="inline-form">
          <Csrf token={props.csrfToken} />
          <button type="submit" class="button button-quiet button-small">Get a new code</button>
        </form>
      </section>
    );
  }
  return (
    <section class="card device" aria-labelledby="device-heading">
      <h2 id="device-heading">Sign in with a code</h2>
      <p>
        Get a one-time code, approve it in ChatGPT (on this or any other device), and this page moves on by itself.
        This is what <code>codex login --device-auth</code> does.
      </p>
      <form method="post" action="/onboarding/device">
        <Csrf token={props.csrfToken} />
        <button type="submit" class="button button-primary" id="device-start">Get a sign-in code</button>
      </form>
    </section>
  );
};

export const OnboardingPage: FC<OnboardingProps> = (props) => {
  const deviceError = props.failure?.from === 'device' ? failureMessage(props.failure.failure) : undefined;
  const callbackError = props.failure?.from === 'callback' ? failureMessage(props.failure.failure) : undefined;
  const fileError = props.failure?.from === 'auth_file' ? failureMessage(props.failure.failure) : undefined;
  return (
    <Layout title="Connect ChatGPT" session={props.session} csrfToken={props.csrfToken} current="onboarding">
      <div class="page-head">
        <h1>Connect your ChatGPT account</h1>
        <p class="lead">
          UseMySub answers your API requests with your own ChatGPT subscription. Sign in to ChatGPT once, the way the Codex
          CLI does; the tokens are stored encrypted and refreshed for you.
        </p>
      </div>
      <LinkStatus link={props.link} />
      {callbackError ? <Notice tone="error" title="Not connected yet">{callbackError}</Notice> : null}

      {deviceError ? <Notice tone="error" title="Not connected yet">{deviceError}</Notice> : null}
      <DeviceSection {...props} />

      <h2 class="section-heading">Or sign in with a link and paste the address</h2>
      <ol class="steps">
        <li class="card step">
          <h2><span class="step-number" aria-hidden="true">1</span> Sign in to ChatGPT</h2>
          <p>Open the ChatGPT sign-in and log in with the account whose subscription you want to use.</p>
          <p>
            <a class="button button-primary" href={props.authorizeUrl} target="_blank" rel="noopener noreferrer" id="authorize-link">
              Open ChatGPT sign-in <span class="visually-hidden">(opens in a new tab)</span>
            </a>
          </p>
          <details>
            <summary>Prefer another browser? Copy the sign-in link</summary>
            <CopyBlock id="authorize-url" label="ChatGPT sign-in link (valid 15 minutes)" value={props.authorizeUrl} wrap />
          </details>
        </li>
        <li class="card step">
          <h2><span class="step-number" aria-hidden="true">2</span> Paste the address you land on</h2>
          <p>
            After you sign in, the browser tries to open <code>{OAUTH_REDIRECT_URI}</code> and shows an error such as
            “This site can’t be reached”. That is expected: copy the <strong>whole address</strong> from the address bar
            and paste it here.
          </p>
          <form method="post" action="/onboarding/callback" class="stack">
            <Csrf token={props.csrfToken} />
            <Field id="callback_url" label="Address from the address bar" error={callbackError ? 'See the message above.' : undefined}
              hint="It starts with http://localhost:1455/auth/callback?code=">
              <input
                id="callback_url"
                name="callback_url"
                type="text"
                inputmode="url"
                autocomplete="off"
                spellcheck={false}
                required
                placeholder="http://localhost:1455/auth/callback?code=…&state=…"
                value={props.pasted ?? ''}
                aria-invalid={callbackError ? 'true' : undefined}
                aria-describedby={describedBy('callback_url', { hint: true, error: callbackError })}
              />
            </Field>
            <button type="submit" class="button button-primary">Connect</button>
          </form>
        </li>
      </ol>

      <details class="card alternative" open={fileError !== undefined}>
        <summary>
          <h2 class="summary-heading">Alternative: use an auth.json from the Codex CLI</h2>
        </summary>
        <p>
          If you have run <code>codex login</code> (“Sign in with ChatGPT”), its <code>~/.codex/auth.json</code> holds the
          same tokens. Paste its contents or upload the file. The file stays usable by the CLI only until one of the two
          refreshes it, so prefer the sign-in above for long-term use.
        </p>
        {fileError ? <Notice tone="error" title="That auth.json cannot be used">{fileError}</Notice> : null}
        <form method="post" action="/onboarding/auth-json" enctype="multipart/form-data" class="stack">
          <Csrf token={props.csrfToken} />
          <Field id="auth_json" label="Contents of auth.json">
            <textarea id="auth_json" name="auth_json" rows={5} spellcheck={false} autocomplete="off"
              placeholder='{"tokens": {"id_token": "…", "access_token": "…", "refresh_token": "…"}}' />
          </Field>
          <Field id="auth_file" label="Or upload the file">
            <input id="auth_file" name="auth_file" type="file" accept=".json,application/json" />
          </Field>
          <button type="submit" class="button">Connect with auth.json</button>
        </form>
      </details>
    </Layout>
  );
};
