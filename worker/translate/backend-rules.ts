/**
 * Request rules shared by every endpoint that talks to the Codex backend (`/v1/responses` and
 * `/v1/chat/completions`): the default instructions, the reasoning effort choice, and how a
 * shape error names the offending parameter. Pure: no I/O.
 */
import type { z } from 'zod';
import { ApiError } from '../shared/errors.ts';
import { lookupModel, type CatalogModel, type ModelIndex, type ResolvedModel } from './model-catalog.ts';

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
 * model's own `supported_reasoning_levels` (400 naming `param`), else the model's default. Null
 * only for a model without reasoning levels that was asked for none.
 */
export function chooseEffort(model: CatalogModel, aliasEffort: string | null, requested: unknown, param: string): string | null {
  if (aliasEffort) return aliasEffort;
  if (requested === undefined || requested === null) return model.defaultEffort;
  if (typeof requested !== 'string' || !model.efforts.includes(requested)) {
    const supported = model.efforts.length > 0 ? `Supported values: ${model.efforts.join(', ')}.` : 'It takes no reasoning effort.';
    throw new ApiError(
      'invalid_request',
      `Unsupported value for '${param}' with model ${model.slug}: ${JSON.stringify(requested)}. ${supported}`,
      { param },
    );
  }
  return requested;
}

/**
 * The model a client's id names in the caller's catalog, or a 404 model_not_found before anything
 * is sent upstream. The message says which case it is: an effort alias the model lacks (listing
 * the efforts it has), a retired model (naming what to use instead), or an id we do not know.
 */
export function resolveServedModel(index: ModelIndex, id: string): ResolvedModel {
  const resolved = lookupModel(index, id);
  if (resolved) return resolved;
  const key = id.trim().toLowerCase();
  const listed = index.catalog.models.filter((model) => model.listed).map((model) => model.slug);
  const efforts = new Set(index.catalog.models.flatMap((model) => model.efforts));
  const base = index.catalog.models.find((model) => {
    const prefix = `${model.slug.toLowerCase()}-`;
    return key.startsWith(prefix) && efforts.has(key.slice(prefix.length));
  });
  let message: string;
  if (index.catalog.retired.includes(key)) {
    message =
      `The model '${id}' is no longer served by the Codex backend for ChatGPT accounts. ` +
      `Use one of: ${listed.join(', ')} (see GET /v1/models).`;
  } else if (base) {
    message = `The model '${id}' is not served here: ${base.slug} supports the efforts ${base.efforts.join(', ') || '(none)'}.`;
  } else {
    message = `The model '${id}' does not exist or is not available to your ChatGPT account. See GET /v1/models.`;
  }
  throw new ApiError('model_not_found', message, { param: 'model' });
}
