/**
 * The backend keeps nothing (`store` must be false), so an input item that names something
 * stored — an `item_reference`, or any item carrying an `id`, which the backend looks up — is
 * answered 404 as the real one does ("Item with id '…' not found. Items are not persisted when
 * `store` is set to false…", seen by opencode, Continue and the AI SDK's users).
 */
import type { Answer } from './http.ts';

/** The 404 for the first input item that refers to stored state, else null. */
export function storedItemViolation(body: Record<string, unknown>): Answer | null {
  if (!Array.isArray(body.input)) return null;
  for (const item of body.input as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const id = (item as { id?: unknown }).id;
    if (typeof id !== 'string') continue;
    return {
      status: 404,
      body: {
        error: {
          message: `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
          type: 'invalid_request_error',
          param: 'input',
          code: null,
        },
      },
    };
  }
  return null;
}
