/** @jsxImportSource hono/jsx */
/** The dashboard card where a user picks which of their GPT models answers each Claude model family. */
import type { FC } from 'hono/jsx';
import type { ClaudeFamily, ClaudeModelsView } from '../claude-models.ts';
import { Csrf, Field, describedBy } from './components.tsx';

const FAMILIES: { family: ClaudeFamily; label: string }[] = [
  { family: 'opus', label: 'Opus (Claude Code’s main model)' },
  { family: 'sonnet', label: 'Sonnet' },
  { family: 'haiku', label: 'Haiku (Claude Code’s small, fast model)' },
];

export interface ClaudeModelsProps {
  view: ClaudeModelsView;
  csrfToken: string;
  /** A refused submission: what was typed, and why. */
  form?: { values: Record<ClaudeFamily, string>; errors: Partial<Record<ClaudeFamily, string>> } | undefined;
}

export const ClaudeModels: FC<ClaudeModelsProps> = ({ view, csrfToken, form }) => (
  <section class="card" aria-labelledby="claude-models-heading">
    <h2 id="claude-models-heading">Claude models</h2>
    <p>
      Claude Code and other Anthropic clients name Claude models. Choose the model of your subscription that answers each
      family; add an effort (<code>gpt-5.5-high</code>) to fix it, or leave it out to let the client’s thinking setting choose.
      An empty field uses the default shown.
    </p>
    <form method="post" action="/dashboard/claude-models" class="stack">
      <Csrf token={csrfToken} />
      {FAMILIES.map(({ family, label }) => {
        const error = form?.errors[family];
        const hint = view.defaults[family] ? `Default: ${view.defaults[family]}` : undefined;
        return (
          <Field id={`claude_${family}`} label={label} hint={hint} error={error}>
            <input id={`claude_${family}`} name={family} type="text" autocomplete="off" spellcheck={false} maxlength={100}
              placeholder={view.defaults[family]} value={form ? form.values[family] : view.own[family]}
              aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy(`claude_${family}`, { hint: hint !== undefined, error })} />
          </Field>
        );
      })}
      <button type="submit" class="button button-primary">Save Claude models</button>
    </form>
  </section>
);
