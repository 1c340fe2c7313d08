/** @jsxImportSource hono/jsx */
/** The page frame: head, header with navigation and sign-out, main landmark, footer. */
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { WebSession } from '../context.ts';
import { ASSET_PATHS } from '../assets.ts';
import { Csrf } from './components.tsx';

export type Section = 'dashboard' | 'onboarding';

export interface PageFrame {
  title: string;
  session: WebSession | null;
  csrfToken: string;
  current?: Section;
  /** A narrow, centred column (sign-in pages). */
  narrow?: boolean;
}

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%230b5cd5'/%3E%3Cpath d='M9 10v7a7 7 0 0 0 14 0v-7' stroke='white' stroke-width='3.5' fill='none' stroke-linecap='round'/%3E%3C/svg%3E";

export const Layout: FC<PropsWithChildren<PageFrame>> = (props) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <meta name="referrer" content="no-referrer" />
      <title>{`${props.title} · UseMySub`}</title>
      <link rel="icon" href={FAVICON} />
      <link rel="stylesheet" href={ASSET_PATHS.css} />
      <script src={ASSET_PATHS.js} defer />
    </head>
    <body>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="site-header">
        <div class="container header-row">
          <a class="brand" href={props.session ? '/dashboard' : '/login'}>
            <span class="brand-mark" aria-hidden="true">U</span> UseMySub
          </a>
          {props.session ? (
            <nav aria-label="Main" class="nav">
              <a href="/dashboard" aria-current={props.current === 'dashboard' ? 'page' : undefined}>Dashboard</a>
              <a href="/onboarding" aria-current={props.current === 'onboarding' ? 'page' : undefined}>ChatGPT connection</a>
              <span class="nav-user" title="Signed in as">{props.session.email}</span>
              <form method="post" action="/logout" class="inline-form">
                <Csrf token={props.csrfToken} />
                <button type="submit" class="button button-quiet button-small">Sign out</button>
              </form>
            </nav>
          ) : null}
        </div>
      </header>
      <main id="main" class={props.narrow ? 'container narrow' : 'container'} tabindex={-1}>
        {props.children}
      </main>
      <footer class="site-footer">
        <div class="container">
          UseMySub serves your requests with your own ChatGPT subscription, never anyone else's. Check that your use
          complies with the OpenAI terms.
        </div>
      </footer>
    </body>
  </html>
);
