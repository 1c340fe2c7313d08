/**
 * The 400s a request translator raises for a client's body, worded the way OpenAI words them,
 * shared by every surface's translator (Chat Completions, Responses, Anthropic Messages).
 */
import { ApiError } from '../shared/errors.ts';

/** A parameter with a wrong value or shape. */
export function invalid(param: string, message: string): ApiError {
  return new ApiError('invalid_request', message, { param });
}

/** A parameter we understand but cannot honour. */
export function unsupported(param: string, message: string): ApiError {
  return new ApiError('unsupported_parameter', message, { param });
}

/** The string at `param`, or the 400 naming it when it is missing or not a string. */
export function requireString(value: unknown, param: string): string {
  if (value === undefined || value === null) throw invalid(param, `Missing required parameter: '${param}'.`);
  if (typeof value !== 'string') throw invalid(param, `Invalid value for '${param}': expected a string.`);
  return value;
}
