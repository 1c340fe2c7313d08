/**
 * The Anthropic Messages wire shapes this proxy sends: the `message` object, its content blocks,
 * the stream events and their deltas, as the Anthropic SDK types them, plus the usage mapping.
 */

type Json = Record<string, unknown>;

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  /** Input tokens not read from the prompt cache (Anthropic counts cached ones apart). */
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'tool_use'; id: string; name: string; input: Json };

export type BlockDelta =
  | { type: 'text_delta'; text: string }
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string }
  | { type: 'input_json_delta'; partial_json: string };

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export type MessagesEvent =
  | { type: 'message_start'; message: AnthropicMessage }
  | { type: 'ping' }
  | { type: 'content_block_start'; index: number; content_block: ContentBlock }
  | { type: 'content_block_delta'; index: number; delta: BlockDelta }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: StopReason; stop_sequence: string | null }; usage: AnthropicUsage }
  | { type: 'message_stop' };

function asRecord(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export const ZERO_USAGE: AnthropicUsage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

/** Responses usage → Anthropic usage: cached input counted as `cache_read_input_tokens`, apart from `input_tokens`. */
export function anthropicUsage(usage: unknown): AnthropicUsage | null {
  const u = asRecord(usage);
  if (!u) return null;
  const cached = count(asRecord(u.input_tokens_details)?.cached_tokens);
  return {
    input_tokens: Math.max(0, count(u.input_tokens) - cached),
    output_tokens: count(u.output_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}
