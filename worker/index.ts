import { Hono } from 'hono';
export { AuthBroker } from './auth-broker.ts';
export { CodexRelay } from './codex-relay.ts';

const app = new Hono<{ Bindings: Env }>();
app.get('/healthz', (c) => c.json({ ok: true }));
export default app;
