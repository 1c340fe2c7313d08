/** The sign-in mail, as plain text and HTML (values escaped by hono/html). */
import { html } from 'hono/html';

export function magicLinkMail(input: { link: string; origin: string; ttlMinutes: number }): { subject: string; text: string; html: string } {
  const host = new URL(input.origin).host;
  const text = [
    `Sign in to UseMySub (${host}) with this link:`,
    '',
    input.link,
    '',
    `It works once and expires in ${input.ttlMinutes} minutes.`,
    "If you did not ask for it, ignore this mail: nobody can sign in without the link.",
  ].join('\n');
  const body = html`<!DOCTYPE html>
<html lang="en"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1b1f24;max-width:32rem;margin:0 auto;padding:24px">
<h1 style="font-size:20px">Sign in to UseMySub</h1>
<p>Use this button to sign in to <strong>${host}</strong>. It works once and expires in ${input.ttlMinutes} minutes.</p>
<p><a href="${input.link}" style="display:inline-block;background:#0b5cd5;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600">Sign in</a></p>
<p style="font-size:13px;color:#57606a">Or paste this address into your browser:<br>${input.link}</p>
<p style="font-size:13px;color:#57606a">If you did not ask for it, ignore this mail: nobody can sign in without the link.</p>
</body></html>`;
  return { subject: 'Your UseMySub sign-in link', text, html: body.toString() };
}
