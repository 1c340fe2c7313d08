/** @jsxImportSource hono/jsx */
/** /dashboard/keys/:id/limits: a key's day limits, model allowlist and expiry. */
import type { FC } from 'hono/jsx';
import type { DayCount } from '../../accounts/key-limits.ts';
import type { ApiKeyRow } from '../../db/api-keys.ts';
import type { WebSession } from '../context.ts';
import type { LimitsErrors, LimitsForm } from '../key-limits.ts';
import { Csrf, Field, Notice, describedBy } from './components.tsx';
import { Layout } from './layout.tsx';

export interface KeyLimitsProps {
  session: WebSession;
  csrfToken: string;
  apiKey: ApiKeyRow;
  form: LimitsForm;
  errors?: LimitsErrors | undefined;
  saved?: boolean | undefined;
  today: DayCount | null;
  /** The account's model ids, offered as a hint (null when unknown). */
  accountModels: string[] | null;
}

const number = (n: number) => n.toLocaleString('en-US');

export const KeyLimitsPage: FC<KeyLimitsProps> = (props) => {
  const errors = props.errors ?? {};
  const invalid = Object.keys(errors).length > 0;
  const action = `/dashboard/keys/${props.apiKey.id}/limits`;
  return (
    <Layout title={`Limits of ${props.apiKey.name}`} session={props.session} csrfToken={props.csrfToken} current="dashboard" narrow>
      <section class="card card-hero">
        <h1>Limits of “{props.apiKey.name}”</h1>
        <p class="lead">
          Keep one app from using up your subscription: requests past a limit get HTTP 429 with the limit and when it
          resets. Leave a field empty for no limit. Changes apply from the next request.
        </p>
        {props.saved ? <Notice tone="success">The limits were saved. They apply from the next request.</Notice> : null}
        {invalid ? <Notice tone="error" title="The limits were not saved">Correct the fields marked below.</Notice> : null}
        {props.today ? (
          <dl class="facts">
            <dt>Key</dt>
            <dd><code>{props.apiKey.key_hint}</code></dd>
            <dt>Used today (UTC)</dt>
            <dd>{number(props.today.requests)} requests, {number(props.today.tokens)} tokens</dd>
          </dl>
        ) : null}
        <form method="post" action={action} class="stack" novalidate>
          <Csrf token={props.csrfToken} />
          <Field id="requests" label="Requests per day" hint="Model requests (Chat Completions, Responses). Counted per UTC day; resets at 00:00 UTC." error={errors.requests}>
            <input id="requests" name="requests" type="text" inputmode="numeric" autocomplete="off" value={props.form.requests}
              aria-invalid={errors.requests ? 'true' : undefined} aria-describedby={describedBy('requests', { hint: true, error: errors.requests })} />
          </Field>
          <Field id="tokens" label="Tokens per day" hint="Input plus output tokens of the key's answers. A request is let through while the day's total is below the limit; resets at 00:00 UTC." error={errors.tokens}>
            <input id="tokens" name="tokens" type="text" inputmode="numeric" autocomplete="off" value={props.form.tokens}
              aria-invalid={errors.tokens ? 'true' : undefined} aria-describedby={describedBy('tokens', { hint: true, error: errors.tokens })} />
          </Field>
          <Field id="models" label="Allowed models"
            hint={props.accountModels ? `Model ids, one per line or separated by commas; empty: all of them. Your account's models: ${props.accountModels.join(', ')}.` : 'Model ids, one per line or separated by commas; empty: all of your account\u2019s models.'}
            error={errors.models}>
            <textarea id="models" name="models" rows={3} autocomplete="off" spellcheck={false}
              aria-invalid={errors.models ? 'true' : undefined} aria-describedby={describedBy('models', { hint: true, error: errors.models })}>{props.form.models}</textarea>
          </Field>
          <Field id="expires" label="Works until (UTC date)" hint="The key stops working at the end of this day (UTC). Empty: it does not expire." error={errors.expires}>
            <input id="expires" name="expires" type="date" autocomplete="off" value={props.form.expires}
              aria-invalid={errors.expires ? 'true' : undefined} aria-describedby={describedBy('expires', { hint: true, error: errors.expires })} />
          </Field>
          <div class="button-row">
            <button type="submit" class="button button-primary">Save limits</button>
            <button type="submit" name="clear" value="1" class="button">Remove all limits</button>
            <a class="button button-quiet" href="/dashboard">Back to the dashboard</a>
          </div>
        </form>
      </section>
    </Layout>
  );
};
