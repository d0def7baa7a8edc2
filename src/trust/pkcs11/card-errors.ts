/**
 * Typed errors for smart cards and PKCS#11 tokens (docs/errors.md lists
 * codes and reasons). The PIN errors are 403, not 401: the calling software
 * is authenticated; it is the card holder's PIN that failed, and a 401 would
 * ask the caller to re-send its API credentials.
 */
import { PasserelleError } from "../../errors/index.js";

export type CardUnavailableReason =
  | "module_missing"
  | "token_absent"
  | "certificate_not_found"
  | "key_not_found"
  | "card_changed"
  | "unsupported_mechanism"
  | "device_error"
  | "closed";

/** What the token's flags say about the remaining PIN tries (PKCS#11 v2.40 §3.2 CK_TOKEN_INFO). */
export type PinStatus = "ok" | "count_low" | "final_try" | "locked" | "to_be_changed";

export function cardUnavailable(reason: CardUnavailableReason, detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_CARD_UNAVAILABLE", {
    detail,
    extensions: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function cardPinIncorrect(
  detail: string,
  info: { loginAttempted: boolean; pinStatus?: PinStatus },
  cause?: unknown,
): PasserelleError {
  return new PasserelleError("PASSERELLE_CARD_PIN_INCORRECT", {
    detail,
    extensions: { loginAttempted: info.loginAttempted, ...(info.pinStatus === undefined ? {} : { pinStatus: info.pinStatus }) },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function cardPinLocked(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_CARD_PIN_LOCKED", { detail, ...(cause === undefined ? {} : { cause }) });
}
