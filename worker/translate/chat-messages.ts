/**
 * Chat Completions `messages` → Responses `instructions` + `input` items. Pure: no I/O.
 *
 * - Leading `system`/`developer` messages become `instructions`; later ones stay in place as
 *   developer messages (the backend refuses the system role in `input`).
 * - `user` text and images → `input_text` / `input_image`; files sent inline → `input_file`.
 * - `assistant` text → an assistant message; its `tool_calls` (or legacy `function_call`) →
 *   `function_call` items; `tool` (and legacy `function`) messages → `function_call_output`.
 * Anything that cannot be expressed upstream is a 400 naming the exact param.
 */
import { isObject } from './backend-rules.ts';
import { ApiError } from '../shared/errors.ts';
import { invalid, unsupported, requireString } from './request-errors.ts';

type Json = Record<string, unknown>;

export interface TranslatedMessages {
  /** Text of the leading system/developer messages; null when there are none. */
  instructions: string | null;
  input: Json[];
}

const IMAGE_DETAILS = new Set(['auto', 'low', 'high']);
// Data URLs must name an image type and be base64: the backend accepts nothing else inline.
const DATA_IMAGE_URL = /^data:image\/[a-z0-9.+-]+;base64,/i;
const HTTP_URL = /^https?:\/\/[^\s/]/i;

/** Text of a content that may only hold text: a string or `text` parts (joined). */
function plainText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    throw invalid(param, `Invalid value for '${param}': expected a string or an array of text parts.`);
  }
  let text = '';
  content.forEach((part: unknown, j) => {
    const at = `${param}[${j}]`;
    if (!isObject(part) || part.type !== 'text') {
      throw invalid(`${at}.type`, `Invalid value for '${at}.type': only 'text' parts are allowed in this message.`);
    }
    text += requireString(part.text, `${at}.text`);
  });
  return text;
}

function imagePart(part: Json, param: string): Json {
  // Some clients send the URL itself instead of `{url}`.
  const image = typeof part.image_url === 'string' ? { url: part.image_url } : part.image_url;
  if (!isObject(image)) throw invalid(`${param}.image_url`, `Missing required parameter: '${param}.image_url'.`);
  const url = requireString(image.url, `${param}.image_url.url`);
  if (!HTTP_URL.test(url) && !DATA_IMAGE_URL.test(url)) {
    throw invalid(
      `${param}.image_url.url`,
      `Invalid value for '${param}.image_url.url': expected an http(s) URL or a base64 data URL of an image (data:image/png;base64,…).`,
    );
  }
  const detail = image.detail ?? 'auto';
  if (typeof detail !== 'string' || !IMAGE_DETAILS.has(detail)) {
    throw invalid(`${param}.image_url.detail`, `Invalid value for '${param}.image_url.detail': expected auto, low or high.`);
  }
  return { type: 'input_image', image_url: url, detail };
}

function filePart(part: Json, param: string): Json {
  const file = part.file;
  if (!isObject(file)) throw invalid(`${param}.file`, `Missing required parameter: '${param}.file'.`);
  if (typeof file.file_data !== 'string') {
    throw unsupported(
      `${param}.file`,
      `Files must be sent inline as '${param}.file.file_data': uploaded files ('file_id') cannot be used here.`,
    );
  }
  const out: Json = { type: 'input_file', file_data: file.file_data };
  if (typeof file.filename === 'string') out.filename = file.filename;
  return out;
}

function userContent(content: unknown, param: string): Json[] {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  if (!Array.isArray(content)) {
    throw invalid(param, `Invalid value for '${param}': expected a string or an array of content parts.`);
  }
  return content.map((part: unknown, j) => {
    const at = `${param}[${j}]`;
    if (!isObject(part)) throw invalid(at, `Invalid value for '${at}': expected an object.`);
    switch (part.type) {
      case 'text':
        return { type: 'input_text', text: requireString(part.text, `${at}.text`) };
      case 'image_url':
        return imagePart(part, at);
      case 'file':
        return filePart(part, at);
      case 'input_audio':
        throw unsupported(`${at}.type`, `Audio input is not supported: the Codex backend accepts text, images and files ('${at}').`);
      default:
        throw invalid(`${at}.type`, `Invalid value for '${at}.type': expected 'text', 'image_url' or 'file'.`);
    }
  });
}

/** Assistant text and refusals, as the output parts the backend accepts in history. */
function assistantContent(message: Json, param: string): Json[] {
  const parts: Json[] = [];
  const content = message.content;
  if (typeof content === 'string') {
    if (content !== '') parts.push({ type: 'output_text', text: content });
  } else if (Array.isArray(content)) {
    content.forEach((part: unknown, j) => {
      const at = `${param}.content[${j}]`;
      if (isObject(part) && part.type === 'text') parts.push({ type: 'output_text', text: requireString(part.text, `${at}.text`) });
      else if (isObject(part) && part.type === 'refusal') parts.push({ type: 'refusal', refusal: requireString(part.refusal, `${at}.refusal`) });
      else throw invalid(`${at}.type`, `Invalid value for '${at}.type': expected 'text' or 'refusal'.`);
    });
  } else if (content !== undefined && content !== null) {
    throw invalid(`${param}.content`, `Invalid value for '${param}.content': expected a string, an array of parts or null.`);
  }
  if (typeof message.refusal === 'string' && message.refusal !== '') parts.push({ type: 'refusal', refusal: message.refusal });
  return parts;
}

/** Tool-call arguments as the JSON text the backend expects (some clients send an object). */
function argumentsText(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) return JSON.stringify(value);
  if (value === undefined || value === null) return '{}';
  throw invalid(param, `Invalid value for '${param}': expected a JSON string.`);
}

function toolCallItems(message: Json, param: string): Json[] {
  const calls = message.tool_calls;
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) throw invalid(`${param}.tool_calls`, `Invalid value for '${param}.tool_calls': expected an array.`);
  return calls.map((call: unknown, k) => {
    const at = `${param}.tool_calls[${k}]`;
    if (!isObject(call)) throw invalid(at, `Invalid value for '${at}': expected an object.`);
    if (call.type !== undefined && call.type !== 'function') {
      throw unsupported(`${at}.type`, `Only 'function' tool calls are supported ('${at}.type').`);
    }
    const fn = call.function;
    if (!isObject(fn)) throw invalid(`${at}.function`, `Missing required parameter: '${at}.function'.`);
    return {
      type: 'function_call',
      call_id: requireString(call.id, `${at}.id`),
      name: requireString(fn.name, `${at}.function.name`),
      arguments: argumentsText(fn.arguments, `${at}.function.arguments`),
    };
  });
}

/** The call id given to a legacy `function_call` turn, so its `function` answer can refer to it. */
export function legacyCallId(messageIndex: number): string {
  return `call_legacy_${messageIndex}`;
}

const ROLES = "'system', 'developer', 'user', 'assistant', 'tool' or 'function'";

/** Translates `messages`; throws ApiError (400) naming the first offending param. */
export function translateMessages(messages: unknown): TranslatedMessages {
  if (!Array.isArray(messages)) {
    throw invalid('messages', "Invalid value for 'messages': expected an array of messages.");
  }
  if (messages.length === 0) throw invalid('messages', "'messages' must contain at least one message.");
  const leading: string[] = [];
  const input: Json[] = [];
  // Legacy function calling has no ids: a `function` message answers the latest unanswered call.
  let openLegacyCall: { name: string; callId: string } | null = null;

  messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(message)) throw invalid(at, `Invalid value for '${at}': expected an object.`);
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = plainText(message.content, `${at}.content`);
        if (input.length === 0) leading.push(text);
        else input.push({ type: 'message', role: 'developer', content: [{ type: 'input_text', text }] });
        return;
      }
      case 'user':
        if (message.content === undefined || message.content === null) {
          throw invalid(`${at}.content`, `Missing required parameter: '${at}.content'.`);
        }
        input.push({ type: 'message', role: 'user', content: userContent(message.content, `${at}.content`) });
        return;
      case 'assistant': {
        const content = assistantContent(message, at);
        if (content.length > 0) input.push({ type: 'message', role: 'assistant', content });
        input.push(...toolCallItems(message, at));
        if (isObject(message.function_call)) {
          const name = requireString(message.function_call.name, `${at}.function_call.name`);
          const args = argumentsText(message.function_call.arguments, `${at}.function_call.arguments`);
          openLegacyCall = { name, callId: legacyCallId(i) };
          input.push({ type: 'function_call', call_id: openLegacyCall.callId, name, arguments: args });
        }
        return;
      }
      case 'tool':
        input.push({
          type: 'function_call_output',
          call_id: requireString(message.tool_call_id, `${at}.tool_call_id`),
          output: plainText(message.content ?? '', `${at}.content`),
        });
        return;
      case 'function': {
        const name = requireString(message.name, `${at}.name`);
        const call: { name: string; callId: string } | null = openLegacyCall;
        if (!call || call.name !== name) {
          throw invalid(at, `'${at}' answers function '${name}', but no earlier assistant message called it.`);
        }
        openLegacyCall = null;
        input.push({ type: 'function_call_output', call_id: call.callId, output: plainText(message.content ?? '', `${at}.content`) });
        return;
      }
      case undefined:
      case null:
        throw invalid(`${at}.role`, `Missing required parameter: '${at}.role'.`);
      default:
        throw invalid(`${at}.role`, `Invalid value for '${at}.role': expected ${ROLES}.`);
    }
  });

  // A conversation of system messages only still needs input: keep them as developer messages.
  if (input.length === 0) {
    return {
      instructions: null,
      input: leading.map((text) => ({ type: 'message', role: 'developer', content: [{ type: 'input_text', text }] })),
    };
  }
  const instructions = leading.filter((text) => text.trim() !== '').join('\n\n');
  return { instructions: instructions === '' ? null : instructions, input };
}
