/** The Resend client: the request it sends, and failures that never reveal the API key. */
import { describe, expect, it } from 'vitest';
import { MailError, sendMail } from '../../../worker/web/mail.ts';
import { magicLinkMail } from '../../../worker/web/mail-templates.ts';

const ENV = { RESEND_API_KEY: 're_secret_key', AUTH_FROM_EMAIL: 'UseMySub <login@usemysub.com>' };
const MESSAGE = { to: 'a@example.com', subject: 'S', text: 'T', html: '<p>H</p>', idempotencyKey: 'magic-link/abc' };

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  if (!(err instanceof MailError)) throw new Error(`expected a MailError, got ${String(err)}`);
  expect(err.message).not.toContain('re_secret_key');
  return err;
}

describe('sendMail', () => {
  it('posts one JSON message to Resend with the key only in Authorization', async () => {
    const requests: Request[] = [];
    await sendMail(ENV, MESSAGE, async (input, init) => {
      requests.push(new Request(input, init));
      return Response.json({ id: 'x' });
    });
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://api.resend.com/emails');
    expect(request.headers.get('authorization')).toBe('Bearer re_secret_key');
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(request.headers.get('idempotency-key')).toBe('magic-link/abc');
    expect(await request.json()).toEqual({ from: ENV.AUTH_FROM_EMAIL, to: ['a@example.com'], subject: 'S', text: 'T', html: '<p>H</p>' });
  });

  it('fails as not configured without a key or a sender, before any request', async () => {
    const never = async () => {
      throw new Error('no request expected');
    };
    expect((await failure(sendMail({ ...ENV, RESEND_API_KEY: ' ' }, MESSAGE, never))).reason).toBe('not_configured');
    expect((await failure(sendMail({ ...ENV, AUTH_FROM_EMAIL: '' }, MESSAGE, never))).reason).toBe('not_configured');
  });

  it('fails as rejected (with Resend’s error name) or unreachable', async () => {
    const rejected = await failure(sendMail(ENV, MESSAGE, async () =>
      Response.json({ statusCode: 422, name: 'invalid_from_address', message: 're_secret_key is fine but from is not' }, { status: 422 })));
    expect(rejected.reason).toBe('rejected');
    expect(rejected.message).toBe('Resend answered 422 (invalid_from_address)');
    const unreachable = await failure(sendMail(ENV, MESSAGE, async () => {
      throw new TypeError('connect ECONNREFUSED');
    }));
    expect(unreachable.reason).toBe('unreachable');
  });
});

describe('the sign-in mail', () => {
  it('carries the link in text and HTML, escaped, with its lifetime', () => {
    const mail = magicLinkMail({ link: 'https://usemysub.com/auth/verify?token=abc&x="y"', origin: 'https://usemysub.com', ttlMinutes: 15 });
    expect(mail.subject).toBe('Your UseMySub sign-in link');
    expect(mail.text).toContain('https://usemysub.com/auth/verify?token=abc&x="y"');
    expect(mail.text).toContain('expires in 15 minutes');
    expect(mail.html).toContain('href="https://usemysub.com/auth/verify?token=abc&amp;x=&quot;y&quot;"');
    expect(mail.html).toContain('<strong>usemysub.com</strong>');
  });
});
