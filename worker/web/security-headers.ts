/**
 * Response headers of every web page: a strict CSP (own stylesheet and script only, no
 * framing), no referrer (sign-in links carry a token in their query), no caching (pages show
 * keys, tokens' status and CSRF tokens).
 */
import { createMiddleware } from 'hono/factory';
import { secureHeaders } from 'hono/secure-headers';

const headers = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  strictTransportSecurity: 'max-age=31536000; includeSubDomains',
  permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
});

/** Security headers plus `Cache-Control: no-store`, for pages. */
export const pageHeaders = createMiddleware(async (c, next) => {
  await headers(c, next);
  c.header('Cache-Control', 'no-store');
});

/** Security headers for the static assets, which may be cached (their URLs change with their content). */
export const assetHeaders = createMiddleware(async (c, next) => {
  await headers(c, next);
  c.header('Cache-Control', 'public, max-age=31536000, immutable');
});
