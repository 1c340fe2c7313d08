/**
 * The Chat Completions wire shapes this proxy sends: `chat.completion.chunk` (streamed) and
 * `chat.completion` (not streamed), as the OpenAI SDKs type them, plus the usage mapping.
 */

import type { ChatUrlCitation } from './web-search.ts';

type Json = Record<string, unknown>;

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  refusal?: string;
  tool_calls?: ToolCallDelta[];
  function_call?: { name?: string; arguments: string };
  /** Web-search citations, sent as they become known (OpenAI streams them in the delta too). */
  annotations?: ChatUrlCitation[];
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: null;
  choices: { index: 0; delta: ChatDelta; logprobs: null; finish_reason: FinishReason | null }[];
  usage?: ChatUsage | null;
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: null;
  choices: {
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: string | null;
      reasoning_content?: string;
      tool_calls?: ChatToolCall[];
      function_call?: { name: string; arguments: string };
      annotations: ChatUrlCitation[];
    };
    logprobs: null;
    finish_reason: FinishReason;
  }[];
  usage?: ChatUsage;
}

function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Responses usage → Chat usage (`prompt_tokens`, `completion_tokens`, cached and reasoning details). */
export function chatUsage(usage: unknown): ChatUsage | null {
  const u = asRecord(usage);
  if (!u) return null;
  const prompt = count(u.input_tokens);
  const completion = count(u.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
    prompt_tokens_details: { cached_tokens: count(asRecord(u.input_tokens_details)?.cached_tokens) },
    completion_tokens_details: { reasoning_tokens: count(asRecord(u.output_tokens_details)?.reasoning_tokens) },
  };
}
