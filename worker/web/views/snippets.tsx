/** @jsxImportSource hono/jsx */
/** The base URL and copy-paste client snippets shown on the dashboard. */
import type { FC } from 'hono/jsx';
import { CopyBlock } from './components.tsx';

const MODEL = 'gpt-5.5';

export function clientSnippets(baseUrl: string): { id: string; label: string; value: string }[] {
  return [
    {
      id: 'snippet-curl',
      label: 'curl',
      value: [
        `curl ${baseUrl}/responses \\`,
        '  -H "Authorization: Bearer $USEMYSUB_API_KEY" \\',
        '  -H "Content-Type: application/json" \\',
        `  -d '{"model": "${MODEL}", "input": "Say hello"}'`,
      ].join('\n'),
    },
    {
      id: 'snippet-python',
      label: 'Python (openai SDK)',
      value: [
        'import os',
        'from openai import OpenAI',
        '',
        `client = OpenAI(base_url="${baseUrl}", api_key=os.environ["USEMYSUB_API_KEY"])`,
        `response = client.responses.create(model="${MODEL}", input="Say hello")`,
        'print(response.output_text)',
      ].join('\n'),
    },
    {
      id: 'snippet-node',
      label: 'JavaScript / TypeScript (openai SDK)',
      value: [
        "import OpenAI from 'openai';",
        '',
        `const client = new OpenAI({ baseURL: '${baseUrl}', apiKey: process.env.USEMYSUB_API_KEY });`,
        `const response = await client.responses.create({ model: '${MODEL}', input: 'Say hello' });`,
        'console.log(response.output_text);',
      ].join('\n'),
    },
    {
      id: 'snippet-generic',
      label: 'Any OpenAI-compatible client (environment or settings)',
      value: [`OPENAI_BASE_URL=${baseUrl}`, 'OPENAI_API_KEY=cpk_…your key…', `# model: ${MODEL}, or ${MODEL}-high / -low for a reasoning effort`].join('\n'),
    },
  ];
}

export const Snippets: FC<{ origin: string }> = ({ origin }) => {
  const baseUrl = `${origin}/v1`;
  return (
    <section class="card" aria-labelledby="use-heading">
      <h2 id="use-heading">Use it from your tools</h2>
      <p>Point any OpenAI-compatible client at this base URL and use one of your keys as the API key.</p>
      <CopyBlock id="base-url" label="Base URL" value={baseUrl} />
      <div class="snippets">
        {clientSnippets(baseUrl).map((snippet) => (
          <CopyBlock id={snippet.id} label={snippet.label} value={snippet.value} />
        ))}
      </div>
    </section>
  );
};
