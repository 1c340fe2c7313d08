/** Small node:http helpers shared by the fake's handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer computed by a handler, written by `send`. */
export type Answer = { status: number; headers?: Record<string, string>; body: string | object };

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('fake-codex: request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function send(res: ServerResponse, answer: Answer): void {
  const isText = typeof answer.body === 'string';
  const payload = isText ? (answer.body as string) : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
    ...answer.headers,
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

/** `application/json; charset=utf-8` → `application/json`; null when absent. */
export function mediaType(req: IncomingMessage): string | null {
  const value = req.headers['content-type'];
  if (value === undefined) return null;
  return value.split(';')[0]!.trim().toLowerCase();
}

export function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
