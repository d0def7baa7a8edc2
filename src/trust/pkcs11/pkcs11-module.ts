/**
 * One loaded PKCS#11 library (a smart-card middleware such as the ANS
 * Cryptolib CPS, or SoftHSM): loading, C_Initialize / C_Finalize, and
 * finding tokens by label.
 *
 * PKCS#11 initialisation is per process (PKCS#11 v2.40 §5.4 C_Initialize):
 * a second C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED and one
 * C_Finalize ends every session of the process. So a module only finalizes
 * the library if it initialized it, and signers on the same library (a CPS
 * card's authentication and signature keys) should share one Pkcs11Module.
 * OpenSSL's PKCS#11 engine (tls-engine.ts) loads the library on its own in
 * the same process; a signer that finds it finalized re-initializes it.
 */
import { existsSync } from "node:fs";
import pkcs11js from "pkcs11js";
import { cardUnavailable, type PinStatus } from "./card-errors.js";

export const DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

/** PKCS#11 v2.40 §3.2 CK_SLOT_INFO flags: a token is in the slot (missing from pkcs11js's typings). */
const CKF_TOKEN_PRESENT = 0x1;

/** The pkcs11js methods Passerelle uses; tests wrap a real binding to count calls. */
export type Pkcs11Binding = Pick<
  pkcs11js.PKCS11,
  | "load"
  | "close"
  | "C_Initialize"
  | "C_Finalize"
  | "C_GetSlotList"
  | "C_GetSlotInfo"
  | "C_GetTokenInfo"
  | "C_GetMechanismList"
  | "C_OpenSession"
  | "C_CloseSession"
  | "C_Login"
  | "C_Logout"
  | "C_FindObjectsInit"
  | "C_FindObjects"
  | "C_FindObjectsFinal"
  | "C_GetAttributeValue"
  | "C_SignInit"
  | "C_SignAsync"
>;

export type Pkcs11Handle = Buffer;

export interface Pkcs11ModuleOptions {
  /** Path of the PKCS#11 library. Default {@link DEFAULT_PKCS11_MODULE}. */
  path?: string;
  /** An unloaded binding to use instead of a new `pkcs11js.PKCS11` (tests count calls through a wrapper). */
  binding?: Pkcs11Binding;
}

/** One slot as {@link Pkcs11Module.listTokens} describes it. */
export interface TokenDescription {
  /** The slot id (decimal). Slot ids can change when a card is reinserted: select tokens by label. */
  slotId: string;
  slotDescription: string;
  present: boolean;
  /** The token fields are set when a token is present. */
  label?: string;
  serialNumber?: string;
  manufacturer?: string;
  model?: string;
  initialized?: boolean;
  pinStatus?: PinStatus;
}

/** Numeric PKCS#11 return code of a pkcs11js error, or undefined for other errors. */
export function pkcs11ReturnCode(error: unknown): number | undefined {
  if (error instanceof pkcs11js.Pkcs11Error) return error.code;
  return undefined;
}

/** `CKR_PIN_INCORRECT` for 0xa0, from pkcs11js's constant table. */
export function pkcs11ReturnName(code: number): string {
  for (const [name, value] of Object.entries(pkcs11js)) {
    if (name.startsWith("CKR_") && value === code) return name;
  }
  return `CKR_0x${code.toString(16)}`;
}

/** PKCS#11 v2.40 §3.2: what the token's flags say about its user PIN. */
export function pinStatusOf(flags: number): PinStatus {
  if (flags & pkcs11js.CKF_USER_PIN_LOCKED) return "locked";
  if (flags & pkcs11js.CKF_USER_PIN_FINAL_TRY) return "final_try";
  if (flags & pkcs11js.CKF_USER_PIN_COUNT_LOW) return "count_low";
  if (flags & pkcs11js.CKF_USER_PIN_TO_BE_CHANGED) return "to_be_changed";
  return "ok";
}

/** CK_UTF8CHAR fields are blank-padded to a fixed width (PKCS#11 v2.40 §3.2). */
function unpad(text: string): string {
  return text.replace(/[\s\0]+$/u, "");
}

function slotIdText(handle: Pkcs11Handle): string {
  return handle.length >= 8 ? handle.readBigUInt64LE(0).toString() : handle.readUInt32LE(0).toString();
}

export class Pkcs11Module {
  readonly path: string;
  readonly binding: Pkcs11Binding;
  /** Whether this module's C_Initialize did the initialisation (and so may finalize). */
  #initializedHere = false;
  #closed = false;

  private constructor(path: string, binding: Pkcs11Binding) {
    this.path = path;
    this.binding = binding;
  }

  /**
   * Loads and initializes the library. Throws `PASSERELLE_CARD_UNAVAILABLE`
   * (`module_missing`) when the file is absent or is not a PKCS#11 library.
   */
  static open(options: Pkcs11ModuleOptions = {}): Pkcs11Module {
    const path = options.path ?? DEFAULT_PKCS11_MODULE;
    if (typeof path !== "string" || path === "") throw new TypeError("PKCS#11 module path must be a non-empty string");
    if (!existsSync(path)) throw cardUnavailable("module_missing", `PKCS#11 module ${path} not found`);
    const binding = options.binding ?? new pkcs11js.PKCS11();
    try {
      binding.load(path);
    } catch (error) {
      throw cardUnavailable("module_missing", `PKCS#11 module ${path} cannot be loaded`, error);
    }
    const module = new Pkcs11Module(path, binding);
    module.initialize();
    return module;
  }

  /**
   * C_Initialize with OS locking (the signers sign on libuv worker threads).
   * Also used to recover after another user of the library (the OpenSSL
   * engine) finalized it under us.
   */
  initialize(): void {
    try {
      this.binding.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      this.#initializedHere = true;
    } catch (error) {
      if (pkcs11ReturnCode(error) === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) return;
      throw cardUnavailable("module_missing", `PKCS#11 module ${this.path} failed to initialize`, error);
    }
  }

  /** The slot holding an initialized token with exactly this label (trailing blanks ignored), if any. */
  findSlotByTokenLabel(label: string): Pkcs11Handle | undefined {
    this.#assertOpen();
    for (const slot of this.binding.C_GetSlotList(true)) {
      let info: pkcs11js.TokenInfo;
      try {
        info = this.binding.C_GetTokenInfo(slot);
      } catch (error) {
        // The card was pulled between the two calls.
        if (pkcs11ReturnCode(error) === pkcs11js.CKR_TOKEN_NOT_PRESENT) continue;
        throw error;
      }
      if (unpad(info.label) === label && info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) return slot;
    }
    return undefined;
  }

  /** The token's flags now (PIN status, login required…). */
  tokenFlags(slot: Pkcs11Handle): number {
    return this.binding.C_GetTokenInfo(slot).flags;
  }

  /** Every slot, with its token when one is present. */
  listTokens(): TokenDescription[] {
    this.#assertOpen();
    return this.binding.C_GetSlotList(false).map((slot) => {
      const slotInfo = this.binding.C_GetSlotInfo(slot);
      const present = (slotInfo.flags & CKF_TOKEN_PRESENT) !== 0;
      const description: TokenDescription = {
        slotId: slotIdText(slot),
        slotDescription: unpad(slotInfo.slotDescription),
        present,
      };
      if (!present) return description;
      const token = this.binding.C_GetTokenInfo(slot);
      return {
        ...description,
        label: unpad(token.label),
        serialNumber: unpad(token.serialNumber),
        manufacturer: unpad(token.manufacturerID),
        model: unpad(token.model),
        initialized: (token.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0,
        pinStatus: pinStatusOf(token.flags),
      };
    });
  }

  /** C_Finalize (when this module initialized the library) and unload. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#initializedHere) {
      try {
        this.binding.C_Finalize();
      } catch (error) {
        // Already finalized by another user of the library: nothing left to release.
        if (pkcs11ReturnCode(error) !== pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED) throw error;
      }
    }
    this.binding.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw cardUnavailable("closed", `PKCS#11 module ${this.path} is closed`);
  }
}

/**
 * Lists the slots and tokens of a PKCS#11 library (label, serial, present,
 * PIN status), e.g. to show which card is inserted.
 */
export function listTokens(options: Pkcs11ModuleOptions = {}): TokenDescription[] {
  const module = Pkcs11Module.open(options);
  try {
    return module.listTokens();
  } finally {
    module.close();
  }
}
