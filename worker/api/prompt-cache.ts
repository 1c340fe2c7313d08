/**
 * A `prompt_cache_key` for requests whose client sent none. The backend reuses its prompt cache
 * (and we keep one upstream session id) only when consecutive requests of a conversation carry
 * the same key, and stateless clients resend the whole conversation each turn: what stays the
 * same from turn to turn is who asks, the model, the instructions and the first input item.
 */
import { bytesToBase64Url } from '../shared/encoding.ts';

const encoder = new TextEncoder();

/** A stable key for the conversation `body` belongs to, private to `userId` (the key reveals nothing of the text). */
export async function conversationCacheKey(
  userId: string,
  body: { model: string; instructions: string; input: readonly unknown[] },
): Promise<string> {
  const seed = JSON.stringify([userId, body.model, body.instructions, body.input[0] ?? null]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(seed)));
  return `usemysub-${bytesToBase64Url(digest.slice(0, 18))}`;
}
