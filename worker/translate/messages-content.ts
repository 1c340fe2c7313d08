/**
 * Anthropic Messages `system` + `messages` → Responses `instructions` + `input` items. Pure: no I/O.
 *
 * - `system` (a string or text blocks) becomes `instructions`; `system` messages in the
 *   conversation become developer messages where they are.
 * - user `text`, `image` (base64 or URL) and `document` (PDF, plain text, content blocks, URL)
 *   blocks → `input_text` / `input_image` / `input_file`; `tool_result` blocks →
 *   `function_call_output` items placed before the rest of their message.
 * - assistant `text` → an assistant message; `tool_use` → `function_call`; `thinking` blocks
 *   whose signature is ours → the `reasoning` item (with its encrypted content) they came from.
 * Anything that cannot be expressed upstream is a 400 naming the exact param.
 */
import { isObject } from './backend-rules.ts';
import { ApiError } from '../shared/errors.ts';
import { invalid, unsupported, requireString } from './request-errors.ts';

type Json = Record<string, unknown>;

/**
 * Marks a thinking block's `signature` as carrying the backend's encrypted reasoning, so that a
 * signature from elsewhere (a conversation begun on Anthropic's API) is never sent upstream.
 */
export const SIGNATURE_PREFIX = 'usemysub.v1.';

/** Whether a tool failure is flagged in the output the model reads (the backend has no `is_error`). */
export const TOOL_ERROR_PREFIX = 'Error: ';

export interface TranslatedConversation {
  instructions: string | null;
  input: Json[];
}

function blocksOf(content: unknown, param: string): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalid(param, `Invalid value for '${param}': expected a string or an array of content blocks.`);
  return content.map((block: unknown, i) => {
    if (!isObject(block)) throw invalid(`${param}[${i}]`, `Invalid value for '${param}[${i}]': expected an object.`);
    return block;
  });
}

/** `system` (or a system message's content): a string or text blocks, joined by blank lines. */
export function systemText(system: unknown, param = 'system'): string | null {
  if (system === undefined || system === null) return null;
  const text = blocksOf(system, param)
    .map((block, i) => {
      if (block.type !== 'text') throw invalid(`${param}[${i}].type`, `Invalid value for '${param}[${i}].type': only 'text' blocks are allowed here.`);
      return requireString(block.text, `${param}[${i}].text`);
    })
    .filter((text) => text.trim() !== '')
    .join('\n\n');
  return text === '' ? null : text;
}

function imagePart(block: Json, param: string): Json {
  const source = block.source;
  if (!isObject(source)) throw invalid(`${param}.source`, `Missing required parameter: '${param}.source'.`);
  if (source.type === 'base64') {
    const mediaType = requireString(source.media_type, `${param}.source.media_type`);
    if (!mediaType.startsWith('image/')) throw invalid(`${param}.source.media_type`, `Invalid value for '${param}.source.media_type': expected an image type.`);
    return { type: 'input_image', image_url: `data:${mediaType};base64,${requireString(source.data, `${param}.source.data`)}`, detail: 'auto' };
  }
  if (source.type === 'url') return { type: 'input_image', image_url: requireString(source.url, `${param}.source.url`), detail: 'auto' };
  throw unsupported(`${param}.source.type`, `Images must be sent as 'base64' or 'url' sources ('${param}.source.type'): uploaded files cannot be used here.`);
}

function documentParts(block: Json, param: string): Json[] {
  const source = block.source;
  if (!isObject(source)) throw invalid(`${param}.source`, `Missing required parameter: '${param}.source'.`);
  const title = typeof block.title === 'string' && block.title !== '' ? block.title : null;
  switch (source.type) {
    case 'base64': {
      const mediaType = requireString(source.media_type, `${param}.source.media_type`);
      const data = requireString(source.data, `${param}.source.data`);
      return [{ type: 'input_file', filename: title ?? 'document.pdf', file_data: `data:${mediaType};base64,${data}` }];
    }
    case 'url':
      return [{ type: 'input_file', file_url: requireString(source.url, `${param}.source.url`) }];
    case 'text': {
      const text = requireString(source.data, `${param}.source.data`);
      return [{ type: 'input_text', text: title ? `${title}\n\n${text}` : text }];
    }
    case 'content':
      return blocksOf(source.content, `${param}.source.content`).map((inner, i) => userPart(inner, `${param}.source.content[${i}]`));
    default:
      throw unsupported(`${param}.source.type`, `Documents must be 'base64', 'url', 'text' or 'content' sources ('${param}.source.type'): uploaded files cannot be used here.`);
  }
}

function userPart(block: Json, param: string): Json {
  switch (block.type) {
    case 'text':
      return { type: 'input_text', text: requireString(block.text, `${param}.text`) };
    case 'image':
      return imagePart(block, param);
    default:
      throw invalid(`${param}.type`, `Invalid value for '${param}.type': expected 'text' or 'image'.`);
  }
}

/** A tool result's content: text as one string; with images, the parts themselves. */
function toolOutput(block: Json, param: string): string | Json[] {
  const error = block.is_error === true ? TOOL_ERROR_PREFIX : '';
  if (block.content === undefined || block.content === null) return error;
  const parts = blocksOf(block.content, `${param}.content`).map((inner, i) => {
    if (inner.type === 'document') {
      throw unsupported(`${param}.content[${i}].type`, `Documents inside a tool result are not supported ('${param}.content[${i}]'): send them in a user message.`);
    }
    return userPart(inner, `${param}.content[${i}]`);
  });
  if (parts.every((part) => part.type === 'input_text')) return error + parts.map((part) => part.text).join('\n');
  return error ? [{ type: 'input_text', text: error.trim() }, ...parts] : parts;
}

function userItems(content: unknown, param: string): Json[] {
  const outputs: Json[] = [];
  const parts: Json[] = [];
  blocksOf(content, param).forEach((block, i) => {
    const at = `${param}[${i}]`;
    switch (block.type) {
      case 'tool_result':
        outputs.push({ type: 'function_call_output', call_id: requireString(block.tool_use_id, `${at}.tool_use_id`), output: toolOutput(block, at) });
        return;
      case 'document':
        parts.push(...documentParts(block, at));
        return;
      case 'text':
      case 'image':
        parts.push(userPart(block, at));
        return;
      default:
        throw invalid(`${at}.type`, `Invalid value for '${at}.type': expected 'text', 'image', 'document' or 'tool_result'.`);
    }
  });
  return parts.length > 0 ? [...outputs, { type: 'message', role: 'user', content: parts }] : outputs;
}

/** The reasoning item a thinking block of ours stands for; null for a block we cannot replay. */
function reasoningItem(block: Json): Json | null {
  const signature = typeof block.signature === 'string' ? block.signature : '';
  if (!signature.startsWith(SIGNATURE_PREFIX) || signature.length === SIGNATURE_PREFIX.length) return null;
  const text = typeof block.thinking === 'string' ? block.thinking : '';
  return {
    type: 'reasoning',
    summary: text === '' ? [] : [{ type: 'summary_text', text }],
    encrypted_content: signature.slice(SIGNATURE_PREFIX.length),
  };
}

function assistantItems(content: unknown, param: string): Json[] {
  const items: Json[] = [];
  let text: Json[] = [];
  const flush = () => {
    if (text.length > 0) items.push({ type: 'message', role: 'assistant', content: text });
    text = [];
  };
  blocksOf(content, param).forEach((block, i) => {
    const at = `${param}[${i}]`;
    switch (block.type) {
      case 'text': {
        const value = requireString(block.text, `${at}.text`);
        if (value !== '') text.push({ type: 'output_text', text: value });
        return;
      }
      case 'tool_use': {
        flush();
        const input = block.input ?? {};
        if (!isObject(input)) throw invalid(`${at}.input`, `Invalid value for '${at}.input': expected an object.`);
        items.push({ type: 'function_call', call_id: requireString(block.id, `${at}.id`), name: requireString(block.name, `${at}.name`), arguments: JSON.stringify(input) });
        return;
      }
      case 'thinking': {
        flush();
        const reasoning = reasoningItem(block);
        if (reasoning) items.push(reasoning);
        return;
      }
      // Anthropic's own encrypted reasoning means nothing to the backend.
      case 'redacted_thinking':
        return;
      default:
        throw invalid(`${at}.type`, `Invalid value for '${at}.type': expected 'text', 'tool_use' or 'thinking'.`);
    }
  });
  flush();
  return items;
}

/** Translates `system` and `messages`; throws ApiError (400) naming the first offending param. */
export function translateConversation(system: unknown, messages: unknown): TranslatedConversation {
  if (!Array.isArray(messages)) throw invalid('messages', "Invalid value for 'messages': expected an array of messages.");
  if (messages.length === 0) throw invalid('messages', "'messages' must contain at least one message.");
  const input: Json[] = [];
  messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(message)) throw invalid(at, `Invalid value for '${at}': expected an object.`);
    if (message.content === undefined || message.content === null) throw invalid(`${at}.content`, `Missing required parameter: '${at}.content'.`);
    if (message.role === 'user') input.push(...userItems(message.content, `${at}.content`));
    // Claude Code sends system messages mid-conversation; the backend takes them as developer messages.
    else if (message.role === 'system') input.push({ type: 'message', role: 'developer', content: [{ type: 'input_text', text: systemText(message.content, `${at}.content`) ?? '' }] });
    else if (message.role === 'assistant') input.push(...assistantItems(message.content, `${at}.content`));
    else if (message.role === undefined || message.role === null) throw invalid(`${at}.role`, `Missing required parameter: '${at}.role'.`);
    else throw invalid(`${at}.role`, `Invalid value for '${at}.role': expected 'user', 'assistant' or 'system'.`);
  });
  return { instructions: systemText(system), input };
}
