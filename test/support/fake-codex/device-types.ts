/**
 * Public types of the fake's device-code sign-in (`codex login --device-auth`). No Node imports:
 * workerd tests import this file through the control client.
 */
import type { FamilyOptions } from './types.ts';

/** The redirect URI the real device flow binds its code to; the fake's code exchange demands it. */
export const FAKE_DEVICE_REDIRECT_URI = 'https://auth.openai.com/deviceauth/callback';

/**
 * Where a device code stands. `pending` answers polls with `pendingStatus` (403 or 404, both mean
 * "not yet" to the Codex CLI); `approved` answers the next poll with the code and the verifier the
 * server made, once; `expired` answers 400 (the real answer to an expired code is not documented:
 * clients must also stop by their own 15-minute clock).
 */
export type DeviceCodeStatus = 'pending' | 'approved' | 'redeemed' | 'expired';

export type DeviceCodeInfo = {
  userCode: string;
  status: DeviceCodeStatus;
  pendingStatus: 403 | 404;
  /** Polls of `/api/accounts/deviceauth/token` for this code, whatever they answered. */
  polls: number;
};

export type DeviceAuthSettings = {
  /** false: `usercode` answers 404 ("device code login is not enabled"). Default true. */
  enabled?: boolean;
  /** The `interval` string handed out with new codes. Default "5". */
  interval?: string;
  /** true: polls get the HTML 403 of a bot check (openai/codex #16052), as non-browser clients sometimes do. */
  challenge?: boolean;
};

/** Approving a code: for an existing family, or a new one made with these options. */
export type DeviceApprovalOptions = { family?: string } & FamilyOptions;

export type DeviceApproval = { userCode: string; family: string; accountId: string; email: string };
