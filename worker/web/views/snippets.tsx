/** @jsxImportSource hono/jsx */
/**
 * The base URL and ready-made setup for the clients people use with a subscription: code
 * (curl, the openai SDKs, the AI SDK) and tools (Codex CLI, Claude Code, opencode, Cursor, Continue, Cline),
 * each with this deployment's base URL filled in and the key read from one environment variable.
 */
import type { FC } from 'hono/jsx';
import { CopyBlock } from './components.tsx';

const MODEL = 'gpt-5.5';
/** The one name for the key's environment variable, in every snippet here and in the README. */
export const KEY_ENV_VAR = 'USEMYSUB_API_KEY';
const KEY_PLACEHOLDER = 'cpk_…your key…';

export interface Snippet {
  id: string;
  label: string;
  /** What to do with the text: where the file lives, or which settings to open. */
  where: string;
  value: string;
}

/** Code that calls the API. */
export function codeSnippets(baseUrl: string): Snippet[] {
  return [
    {
      id: 'snippet-curl',
      label: 'curl',
      where: `With the key in ${KEY_ENV_VAR}:`,
      value: [
        `curl ${baseUrl}/responses \\`,
        `  -H "Authorization: Bearer $${KEY_ENV_VAR}" \\`,
        '  -H "Content-Type: application/json" \\',
        `  -d '{"model": "${MODEL}", "input": "Say hello"}'`,
      ].join('\n'),
    },
    {
      id: 'snippet-python',
      label: 'Python (openai SDK)',
      where: 'pip install openai',
      value: [
        'import os',
        'from openai import OpenAI',
        '',
        `client = OpenAI(base_url="${baseUrl}", api_key=os.environ["${KEY_ENV_VAR}"])`,
        `response = client.responses.create(model="${MODEL}", input="Say hello")`,
        'print(response.output_text)',
      ].join('\n'),
    },
    {
      id: 'snippet-node',
      label: 'JavaScript / TypeScript (openai SDK)',
      where: 'npm install openai',
      value: [
        "import OpenAI from 'openai';",
        '',
        `const client = new OpenAI({ baseURL: '${baseUrl}', apiKey: process.env.${KEY_ENV_VAR} });`,
        `const response = await client.responses.create({ model: '${MODEL}', input: 'Say hello' });`,
        'console.log(response.output_text);',
      ].join('\n'),
    },
    {
      id: 'snippet-ai-sdk',
      label: 'Vercel AI SDK',
      where: 'npm install ai @ai-sdk/openai-compatible',
      value: [
        "import { createOpenAICompatible } from '@ai-sdk/openai-compatible';",
        "import { generateText } from 'ai';",
        '',
        `const usemysub = createOpenAICompatible({ name: 'usemysub', baseURL: '${baseUrl}', apiKey: process.env.${KEY_ENV_VAR} });`,
        `const { text } = await generateText({ model: usemysub('${MODEL}'), prompt: 'Say hello' });`,
        'console.log(text);',
      ].join('\n'),
    },
  ];
}

/** Settings for tools that take a custom OpenAI-compatible provider, and for Claude Code (the Anthropic surface). */
export function toolSnippets(baseUrl: string): Snippet[] {
  return [
    {
      id: 'snippet-codex',
      label: 'Codex CLI',
      where: `Add to ~/.codex/config.toml, then run codex with the key in ${KEY_ENV_VAR}:`,
      value: [
        `model = "${MODEL}"`,
        'model_provider = "usemysub"',
        '',
        '[model_providers.usemysub]',
        'name = "UseMySub"',
        `base_url = "${baseUrl}"`,
        'wire_api = "responses"',
        `env_key = "${KEY_ENV_VAR}"`,
      ].join('\n'),
    },
    {
      id: 'snippet-claude-code',
      label: 'Claude Code',
      // Claude Code adds /v1/messages itself, so its base URL is the origin; the key goes as a bearer token.
      where: `In the shell you start claude from, with the key in ${KEY_ENV_VAR} (the Claude models map to yours under “Claude models” below):`,
      value: [
        `export ANTHROPIC_BASE_URL=${baseUrl.replace(/\/v1$/, '')}`,
        `export ANTHROPIC_AUTH_TOKEN=$${KEY_ENV_VAR}`,
        '# Keeps Claude Code from calling Anthropic for telemetry, error reports and updates:',
        'export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
        'claude',
      ].join('\n'),
    },
    {
      id: 'snippet-opencode',
      label: 'opencode',
      where: `Put in opencode.json (the project's, or ~/.config/opencode/opencode.json), with the key in ${KEY_ENV_VAR}, and pick usemysub/${MODEL} in /models:`,
      value: JSON.stringify({
        $schema: 'https://opencode.ai/config.json',
        provider: {
          usemysub: {
            npm: '@ai-sdk/openai-compatible',
            name: 'UseMySub',
            options: { baseURL: baseUrl, apiKey: `{env:${KEY_ENV_VAR}}` },
            models: { [MODEL]: { name: 'GPT-5.5 (UseMySub)' } },
          },
        },
      }, null, 2),
    },
    {
      id: 'snippet-cursor',
      label: 'Cursor',
      where: 'Cursor Settings → Models: under API Keys turn on “OpenAI API Key” and “Override OpenAI Base URL”, enter these, then add the model by name. '
        + 'Cursor calls from its own servers, so this works only with a base URL reachable from the internet.',
      value: [`Base URL: ${baseUrl}`, `API key:  ${KEY_PLACEHOLDER}`, `Model:    ${MODEL}`].join('\n'),
    },
    {
      id: 'snippet-continue',
      label: 'Continue',
      where: 'Add to the models of ~/.continue/config.yaml:',
      value: [
        'models:',
        '  - name: GPT-5.5 (UseMySub)',
        '    provider: openai',
        `    model: ${MODEL}`,
        `    apiBase: ${baseUrl}`,
        `    apiKey: ${KEY_PLACEHOLDER}`,
      ].join('\n'),
    },
    {
      id: 'snippet-cline',
      label: 'Cline',
      where: 'Cline settings → API Provider “OpenAI Compatible”, then:',
      value: [`Base URL: ${baseUrl}`, `API Key:  ${KEY_PLACEHOLDER}`, `Model ID: ${MODEL}`].join('\n'),
    },
    {
      id: 'snippet-generic',
      label: 'Any other OpenAI-compatible client',
      where: 'Environment variables most clients read, or the same values in their settings:',
      value: [`OPENAI_BASE_URL=${baseUrl}`, `OPENAI_API_KEY=${KEY_PLACEHOLDER}`, `# model: ${MODEL}, or ${MODEL}-high / -low for a reasoning effort`].join('\n'),
    },
  ];
}

const SnippetBlock: FC<{ snippet: Snippet }> = ({ snippet }) => (
  <details class="snippet">
    <summary>{snippet.label}</summary>
    <p class="hint">{snippet.where}</p>
    <CopyBlock id={snippet.id} label={snippet.label} value={snippet.value} />
  </details>
);

export const Snippets: FC<{ origin: string }> = ({ origin }) => {
  const baseUrl = `${origin}/v1`;
  return (
    <section class="card" aria-labelledby="use-heading">
      <h2 id="use-heading">Use it from your tools</h2>
      <p>
        Point any OpenAI-compatible client at this base URL and use one of your keys as the API key. The snippets read the key
        from <code>{KEY_ENV_VAR}</code>: <code>export {KEY_ENV_VAR}=cpk_…</code>
      </p>
      <CopyBlock id="base-url" label="Base URL" value={baseUrl} />
      <h3 class="snippet-group">Tools</h3>
      <div class="snippets">
        {toolSnippets(baseUrl).map((snippet) => <SnippetBlock snippet={snippet} />)}
      </div>
      <h3 class="snippet-group">Code</h3>
      <div class="snippets">
        {codeSnippets(baseUrl).map((snippet) => <SnippetBlock snippet={snippet} />)}
      </div>
    </section>
  );
};
