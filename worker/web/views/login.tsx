/** @jsxImportSource hono/jsx */
/** Sign-in pages: the email form, "check your inbox", the link confirmation and its problems. */
import type { FC } from 'hono/jsx';
import { CopyBlock, Csrf, Field, Notice, Time, describedBy } from './components.tsx';
import { Layout } from './layout.tsx';

interface Anonymous {
  csrfToken: string;
}

const EmailForm: FC<Anonymous & { email?: string | undefined; error?: string | undefined; submit: string }> = (props) => (
  <form method="post" action="/login" class="stack" novalidate>
    <Csrf token={props.csrfToken} />
    <Field id="email" label="Email address" error={props.error}>
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="email"
        inputmode="email"
        spellcheck={false}
        required
        maxlength={254}
        value={props.email ?? ''}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={describedBy('email', { error: props.error })}
        autofocus
      />
    </Field>
    <button type="submit" class="button button-primary button-block">{props.submit}</button>
  </form>
);

export type LoginNotice = 'signed_out' | 'account_deleted';

const LOGIN_NOTICES: Record<LoginNotice, string> = {
  signed_out: 'You are signed out.',
  account_deleted: 'Your account, your ChatGPT connection and all your keys have been deleted.',
};

export const LoginPage: FC<Anonymous & { email?: string; error?: string; notice?: LoginNotice | undefined }> = (props) => (
  <Layout title="Sign in" session={null} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>Sign in to UseMySub</h1>
      <p class="lead">Use your ChatGPT subscription from any OpenAI-compatible tool. Enter your email and we send you a
        sign-in link: no password. New here? The same form creates your account.</p>
      {props.notice ? <Notice tone="info">{LOGIN_NOTICES[props.notice]}</Notice> : null}
      <EmailForm csrfToken={props.csrfToken} email={props.email} error={props.error} submit="Email me a sign-in link" />
    </section>
  </Layout>
);

export const CheckInboxPage: FC<Anonymous & { email: string; ttlMinutes: number; devLink?: string | undefined }> = (props) => (
  <Layout title="Check your inbox" session={null} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>Check your inbox</h1>
      <p class="lead">
        If <strong>{props.email}</strong> can receive mail, a sign-in link is on its way. It works once and expires in{' '}
        {props.ttlMinutes} minutes.
      </p>
      <p class="muted">Nothing after a minute? Look in your spam folder, or <a href="/login">send another link</a>.</p>
      {props.devLink ? (
        <div class="dev-panel">
          <Notice tone="warning" title="Development mode">
            Mail is not sent (DEV_RETURN_MAGIC_LINK=true): use the link below.
          </Notice>
          <CopyBlock id="magic-link" label="Sign-in link" value={props.devLink} wrap />
          <p><a class="button button-primary" href={props.devLink} id="dev-magic-link">Open the sign-in link</a></p>
        </div>
      ) : null}
    </section>
  </Layout>
);

export const VerifyPage: FC<Anonymous> = (props) => (
  <Layout title="Confirm sign-in" session={null} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>Finish signing in</h1>
      <p class="lead">Continue to finish signing in on this device. The link then stops working.</p>
      <form method="post" action="/auth/verify" class="stack">
        <Csrf token={props.csrfToken} />
        {/* Filled from the link's #token by the page script, which then hides the paste field. */}
        <input type="hidden" name="token" id="magic-token" value="" />
        <div class="field" id="paste-link">
          <label for="link">Sign-in link from your email</label>
          <input type="url" name="link" id="link" autocomplete="off" placeholder="Paste the whole link here" />
        </div>
        <button type="submit" class="button button-primary button-block" autofocus>Continue</button>
      </form>
      <p class="muted small">The extra click keeps mail scanners, which open links on their own, from spending your link.</p>
    </section>
  </Layout>
);

export type LinkProblem = { kind: 'unknown' } | { kind: 'expired'; email: string } | { kind: 'used'; email: string };

const PROBLEM_TEXT: Record<LinkProblem['kind'], { title: string; body: string }> = {
  unknown: {
    title: 'This sign-in link is not valid',
    body: 'It may be incomplete (some mail apps cut long links) or older than a day. Ask for a new one below.',
  },
  expired: {
    title: 'This sign-in link has expired',
    body: 'Sign-in links work for 15 minutes. Ask for a new one below.',
  },
  used: {
    title: 'This sign-in link was already used',
    body: 'Each link works once. If you just signed in, you are done; otherwise ask for a new one below.',
  },
};

export const LinkProblemPage: FC<Anonymous & { problem: LinkProblem }> = (props) => {
  const text = PROBLEM_TEXT[props.problem.kind];
  const email = props.problem.kind === 'unknown' ? undefined : props.problem.email;
  return (
    <Layout title={text.title} session={null} csrfToken={props.csrfToken} narrow>
      <section class="card card-hero">
        <h1>{text.title}</h1>
        <p class="lead">{text.body}</p>
        {props.problem.kind === 'used' ? <p><a href="/dashboard">Go to your dashboard</a></p> : null}
        <EmailForm csrfToken={props.csrfToken} email={email} submit="Send a new link" />
      </section>
    </Layout>
  );
};

export const RateLimitedPage: FC<Anonymous & { resetsAt: number }> = (props) => (
  <Layout title="Too many sign-in requests" session={null} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>Too many sign-in requests</h1>
      <p class="lead">
        To protect inboxes, sign-in links are limited. You can ask again after <Time ms={props.resetsAt} />.
      </p>
      <p class="muted">A link you already received still works for 15 minutes.</p>
    </section>
  </Layout>
);

export const MailFailedPage: FC<Anonymous & { email: string; configured: boolean }> = (props) => (
  <Layout title="The sign-in mail was not sent" session={null} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>The sign-in mail was not sent</h1>
      {props.configured ? (
        <p class="lead">Our mail provider did not accept the message. Please try again in a minute.</p>
      ) : (
        <p class="lead">Email sign-in is not configured on this server. Please tell its operator.</p>
      )}
      <EmailForm csrfToken={props.csrfToken} email={props.email} submit="Try again" />
    </section>
  </Layout>
);
