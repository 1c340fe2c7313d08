/** Email addresses as UseMySub stores and compares them. */

/** Trimmed and lower-cased, so one person is one row whatever they type. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A pragmatic check (one @, a dotted domain, no spaces, RFC length limit); the mail itself is the real test. */
export function isValidEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@"'<>(),;:\\]+@[^\s@"'<>(),;:\\]+\.[^\s@"'<>(),;:\\]+$/.test(email);
}
