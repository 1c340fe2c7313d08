/** @jsxImportSource hono/jsx */
/** The HTML error page of the web routes (the API keeps its JSON errors). */
import type { FC } from 'hono/jsx';
import type { WebSession } from '../context.ts';
import { Layout } from './layout.tsx';

export const ErrorPage: FC<{ title: string; message: string; session: WebSession | null; csrfToken: string }> = (props) => (
  <Layout title={props.title} session={props.session} csrfToken={props.csrfToken} narrow>
    <section class="card card-hero">
      <h1>{props.title}</h1>
      <p class="lead">{props.message}</p>
      <p>
        <a class="button" href={props.session ? '/dashboard' : '/login'}>
          {props.session ? 'Back to your dashboard' : 'Go to sign-in'}
        </a>
      </p>
    </section>
  </Layout>
);
