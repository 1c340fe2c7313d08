/**
 * Outgoing mail through Resend's HTTP API: the one place that knows its URL. The API key goes
 * only into the Authorization header, never into an error or a log line.
 */

const RESEND_EMAILS_URL = 'https://api.resend.com/emails';
const SEND_TIMEOUT_MS = 10_000;

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Resend drops a second send with the same key within 24 hours (safe retries). */
  idempotencyKey?: string;
}

/** Why a mail was not sent. `message` is safe to log; it never contains the API key or the body. */
export class MailError extends Error {
  readonly reason: 'not_configured' | 'rejected' | 'unreachable';
  constructor(reason: MailError['reason'], message: string) {
    super(message);
    this.name = 'MailError';
    this.reason = reason;
  }
}

/** Sends one message; throws MailError. `transport` exists for tests, which must not reach the network. */
export async function sendMail(
  env: Pick<Env, 'RESEND_API_KEY' | 'AUTH_FROM_EMAIL'>,
  message: MailMessage,
  transport: typeof fetch = fetch,
): Promise<void> {
  const apiKey = (env.RESEND_API_KEY ?? '').trim();
  const from = (env.AUTH_FROM_EMAIL ?? '').trim();
  if (!apiKey) throw new MailError('not_configured', 'RESEND_API_KEY is not set');
  if (!from) throw new MailError('not_configured', 'AUTH_FROM_EMAIL is not set');

  const headers = new Headers({ Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' });
  if (message.idempotencyKey) headers.set('Idempotency-Key', message.idempotencyKey);
  let response: Response;
  try {
    response = await transport(RESEND_EMAILS_URL, {
      method: 'POST',
      headers,
      body: JSON.stringify({ from, to: [message.to], subject: message.subject, text: message.text, html: message.html }),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (err) {
    throw new MailError('unreachable', `Resend unreachable: ${err instanceof Error ? err.name : 'error'}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  // Resend answers {"statusCode","name","message"}; the name says what was wrong without echoing secrets.
  const body = (await response.json().catch(() => null)) as { name?: unknown } | null;
  const name = typeof body?.name === 'string' ? body.name : 'unknown';
  throw new MailError('rejected', `Resend answered ${response.status} (${name})`);
}
