/**
 * The Azure OpenAI dialect of Chat Completions, for clients (some Cursor plans) that offer only an
 * Azure setting: `POST /openai/deployments/<deployment>/chat/completions?api-version=…` with the
 * key in an `api-key` header. The deployment name is the model; everything else is the same
 * translation as `/v1/chat/completions`. Mounted at `/openai` in index.ts, behind the key check.
 */
import { Hono } from 'hono';
import { isObject } from '../translate/backend-rules.ts';
import { ApiError } from '../shared/errors.ts';
import { answerChat, methodNotAllowed, readJsonBody, type AppEnv } from './openai-compatible.ts';

export const azureOpenAiApp = new Hono<AppEnv>()
  .post('/deployments/:deployment/chat/completions', async (c) => {
    const raw = await readJsonBody(c.req.raw);
    if (!isObject(raw)) throw new ApiError('invalid_request', 'The request body must be a JSON object.');
    // Azure routes by deployment and ignores a `model` in the body; so do we.
    return answerChat(c, { ...raw, model: c.req.param('deployment') });
  })
  .all('/deployments/:deployment/chat/completions', (c) => methodNotAllowed(c.req.method));
