/**
 * The words of `codex_reauth_required`: every place that tells a client to reconnect its
 * ChatGPT account says it the same way, with the absolute /onboarding link (a client that
 * shows the message has no base to resolve a relative one against).
 */

const DEFAULT_ORIGIN = 'https://usemysub.com';

/** PUBLIC_APP_ORIGIN + `/onboarding`; the production origin when it is unset. */
export function onboardingUrl(publicAppOrigin: string | undefined): string {
  const origin = (publicAppOrigin ?? '').trim().replace(/\/+$/, '') || DEFAULT_ORIGIN;
  return `${origin}/onboarding`;
}

/** ChatGPT no longer accepts the stored login (refresh refused, or a 401 after a fresh token). */
export function reauthMessage(publicAppOrigin: string | undefined): string {
  return (
    'Your ChatGPT sign-in has expired or was revoked, so UseMySub can no longer use it. ' +
    `Reconnect your ChatGPT account at ${onboardingUrl(publicAppOrigin)}.`
  );
}
