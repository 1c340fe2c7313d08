/** @jsxImportSource hono/jsx */
/** Small building blocks shared by the pages. */
import type { Child, FC, PropsWithChildren } from 'hono/jsx';

/** The hidden CSRF field every state-changing form carries. */
export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

/** A message box. Errors are announced at once (role=alert); other notices politely. */
export const Notice: FC<PropsWithChildren<{ tone: 'info' | 'success' | 'warning' | 'error'; title?: string }>> = (props) => (
  <div class={`notice notice-${props.tone}`} role={props.tone === 'error' ? 'alert' : 'status'}>
    {props.title ? <p class="notice-title">{props.title}</p> : null}
    <div>{props.children}</div>
  </div>
);

/**
 * Text to copy: shown in full (selectable without script), with a Copy button that app.js
 * wires to the clipboard. Without script the button stays hidden.
 */
export const CopyBlock: FC<{ id: string; label: string; value: string; wrap?: boolean; secret?: boolean }> = (props) => (
  <div class="copy">
    <div class="copy-head">
      <span class="copy-label" id={`${props.id}-label`}>{props.label}</span>
      <button type="button" class="button button-small copy-button" data-copy={props.id} aria-describedby={`${props.id}-label`} hidden>
        Copy
      </button>
    </div>
    <pre class={props.wrap ? 'wrap' : undefined} tabindex={0} aria-labelledby={`${props.id}-label`}>
      <code id={props.id} class={props.secret ? 'secret' : undefined}>{props.value}</code>
    </pre>
  </div>
);

/** A timestamp: UTC text on the server, turned into the reader's local time by app.js. */
export const Time: FC<{ ms: number; relative?: boolean }> = ({ ms, relative }) => {
  const iso = new Date(ms).toISOString();
  return (
    <time datetime={iso} data-local={relative ? 'relative' : 'absolute'}>
      {`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`}
    </time>
  );
};

/** A labelled form field with an optional hint and error; the input inside uses describedBy(). */
export const Field: FC<PropsWithChildren<{ id: string; label: string; hint?: Child; error?: string | undefined }>> = (props) => (
  <div class={`field${props.error ? ' field-invalid' : ''}`}>
    <label for={props.id}>{props.label}</label>
    {props.hint ? <p class="hint" id={`${props.id}-hint`}>{props.hint}</p> : null}
    {props.children}
    {props.error ? <p class="field-error" id={`${props.id}-error`}>{props.error}</p> : null}
  </div>
);

/** The aria-describedby value that points an input at its Field's hint and error. */
export function describedBy(id: string, parts: { hint?: boolean; error?: string | undefined }): string | undefined {
  const ids = [parts.hint ? `${id}-hint` : null, parts.error ? `${id}-error` : null].filter((x) => x !== null);
  return ids.length > 0 ? ids.join(' ') : undefined;
}
