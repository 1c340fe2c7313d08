/** The bundled catalog as an index, for translator tests that need a model catalog without an account. */
import { buildModelIndex } from '../../../worker/translate/model-catalog.ts';
import { DEFAULT_CODEX_CLIENT_VERSION } from '../../../worker/upstream/egress.ts';
import { bundledModels, catalogOf } from '../../../worker/upstream/models.ts';

export const MODELS = buildModelIndex(catalogOf(bundledModels(DEFAULT_CODEX_CLIENT_VERSION)));
