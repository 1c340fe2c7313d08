/**
 * Request rules shared by every endpoint that talks to the Codex backend (`/v1/responses` and
 * `/v1/chat/completions`): the default instructions, the reasoning effort choice, and how a
 * shape error names the offending parameter. Pure: no I/O.
 */
import type { z } from 'zod';
import { ApiError } from '../shared/errors.ts';
import { findModel, isReasoningEffort, REASONING_EFFORTS, resolveModel, type ReasoningEffort, type ResolvedModel } from '../upstream/models.ts';

/** Used when a request brings no (or empty) instructions: the backend requires non-empty text. */
export const DEFAULT_INSTRUCTIONS =
  'You are a helpful assistant. Answer clearly and accurately, and follow the user’s instructions.';

/** Always requested (`store:false` means reasoning can only be carried over encrypted). */
export const ENCRYPTED_REASONING_INCLUDE = 'reasoning.encrypted_content';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `input[2].content` style, as OpenAI names nested params. */
export function paramName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)),
    '',
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The 400 for a failed shape check: "Missing required parameter" or "Invalid value for", naming the param. */
export function schemaError(body: unknown, issue: z.core.$ZodIssue | undefined): ApiError {
  if (!issue) return new ApiError('invalid_request', 'The request body is not valid.');
  const param = paramName(issue.path);
  if (valueAt(body, issue.path) === undefined) {
    return new ApiError('invalid_request', `Missing required parameter: '${param}'.`, { param });
  }
  const expected = issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message;
  return new ApiError('invalid_request', `Invalid value for '${param}': ${expected}.`, { param });
}

/**
 * The effort sent upstream. An alias (`gpt-5.5-high`) is the user's explicit choice in tools that
 * only offer a model picker, so it wins; otherwise the requested effort, checked against the
 * model's own list (400 naming `param`), else the model's default.
 */
export function chooseEffort(slug: string, aliasEffort: ReasoningEffort | null, requested: unknown, param: string): ReasoningEffort {
  const model = findModel(slug);
  if (!model) throw new Error(`model table has no row for ${slug}`);
  if (aliasEffort) return aliasEffort;
  if (requested === undefined || requested === null) return model.defaultEffort;
  if (!isReasoningEffort(requested) || !model.efforts.includes(requested)) {
    throw new ApiError(
      'invalid_request',
      `Unsupported value for '${param}' with model ${slug}: ${JSON.stringify(requested)}. ` +
        `Supported values: ${model.efforts.join(', ')}.`,
      { param },
    );
  }
  return requested;
}

/**
 * The model a client's id names, or a 404 model_not_found. An effort alias the model lacks
 * (`gpt-5.1-codex-mini-low`) gets a message listing the efforts it has.
 */
export function resolveServedModel(id: string): ResolvedModel {
  const resolved = resolveModel(id);
  if (resolved) return resolved;
  const key = id.trim().toLowerCase();
  const effort = REASONING_EFFORTS.find((e) => key.endsWith(`-${e}`));
  const model = effort ? findModel(key.slice(0, -effort.length - 1)) : null;
  const message = model
    ? `The model '${id}' is not served here: ${model.slug} supports the efforts ${model.efforts.join(', ')}.`
    : `The model '${id}' does not exist or is not served here. See GET /v1/models.`;
  throw new ApiError('model_not_found', message, { param: 'model' });
}
