/**
 * A Signer whose private key stays in a smart card or HSM reached through
 * PKCS#11: the French CPS card through the ANS Cryptolib, or SoftHSM in the
 * sandbox and the tests.
 *
 * What a real card needs, and this class does:
 * - The token is found **by label** (slot ids change when a card is
 *   reinserted); the key **by certificate**: the certificate object is found
 *   (by label and/or CKA_ID), then the private key with the same CKA_ID.
 * - **No PIN retry storm.** A CPS card locks after 3 wrong PINs. After one
 *   CKR_PIN_INCORRECT the signer makes no further login attempt with that
 *   PIN: every call fails at once with PASSERELLE_CARD_PIN_INCORRECT
 *   (`loginAttempted: false`) until {@link Pkcs11Signer.setPin} gives a new
 *   one. A locked PIN (CKR_PIN_LOCKED, or the token's CKF_USER_PIN_LOCKED
 *   flag) is never tried.
 * - One session, logged in once, every operation serialized: a PKCS#11
 *   session is not safe for concurrent use (PKCS#11 v2.40 §5.6).
 * - A card pulled and reinserted (session handle invalid, user not logged
 *   in, token not present…) is found again by label, checked to hold the same
 *   certificate (a different card is refused, and its PIN is not tried), and
 *   logged into again with the PIN that worked; the operation is retried once.
 *
 * Mechanism choice: the digest is computed here and the token does the raw
 * operation — CKM_RSA_PKCS on the DER DigestInfo (RFC 8017 §9.2), CKM_RSA_PKCS_PSS
 * on the digest, CKM_ECDSA on the digest — rather than CKM_SHA256_RSA_PKCS
 * and friends. CKM_RSA_PKCS is the RSA mechanism every card offers (IAS-ECC
 * cards such as CPS3/CPS4 compute only the private-key operation; hashing is
 * host-side in the middleware anyway), only 32–64 bytes cross the card link
 * instead of a whole PDF or SOAP message, and it is what OpenSSL's PKCS#11
 * engine uses in TLS, so one set of token capabilities serves both paths.
 *
 * @example
 * ```ts
 * const card = await Pkcs11Signer.open({ tokenLabel: "CPS-10000000001", certificateId: "02", pin });
 * const signature = await card.sign(signedInfo, "RSASSA-PKCS1-v1_5-SHA256");
 * await card.close();
 * ```
 */
import { X509Certificate, createHash } from "node:crypto";
import pkcs11js from "pkcs11js";
import { PasserelleError } from "../../errors/index.js";
import type { SignatureAlgorithm, Signer } from "../signer.js";
import {
  P256_CURVE_OID,
  RSA_SIGNATURE_ALGORITHMS,
  ecdsaRawToDer,
  signatureAlgorithmSpec,
  type SignatureAlgorithmSpec,
} from "../signers/signature-algorithms.js";
import { issuerChain } from "../signers/certificate-chain.js";
import { cardPinIncorrect, cardPinLocked, cardUnavailable } from "./card-errors.js";
import {
  Pkcs11Module,
  pinStatusOf,
  pkcs11ReturnCode,
  pkcs11ReturnName,
  type Pkcs11Handle,
  type Pkcs11ModuleOptions,
} from "./pkcs11-module.js";

export interface Pkcs11SignerOptions {
  /** Token label, e.g. `CPS-10000000001`. */
  tokenLabel: string;
  /** The user PIN. */
  pin: string;
  /** CKA_LABEL of the certificate object. */
  certificateLabel?: string;
  /** CKA_ID of the certificate object and its private key, in hex (e.g. `"02"`). */
  certificateId?: string;
  /** A loaded library shared with other signers; the signer does not close it. */
  module?: Pkcs11Module;
  /** Library to load when no `module` is given (see {@link Pkcs11ModuleOptions}). */
  modulePath?: string;
  /** Binding for tests (counting wrappers), when no `module` is given. */
  binding?: Pkcs11ModuleOptions["binding"];
  /** Issuing CA certificates (PEM or parsed) to complete `certificateChain()`; a card holds only its own. */
  issuerCertificates?: ReadonlyArray<string | X509Certificate>;
  /** Label for logs and metrics. Default `pkcs11:<token label>/<certificate label or id>`. */
  id?: string;
}

/** The CK_RV values that mean "the card went away (or was reset) under us": worth reconnecting once. */
const SESSION_LOST = new Set<number>([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
]);

/** A wrong PIN, or one the card refuses without checking it: each may have cost a try. */
const PIN_REJECTED = new Set<number>([pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE]);

/** Large enough for RSA-8192 and any ECDSA curve. */
const SIGNATURE_BUFFER_BYTES = 1024;

interface TokenCertificate {
  der: Buffer;
  id: Buffer;
  label: string;
}

interface KeyHandle {
  handle: Pkcs11Handle;
  alwaysAuthenticate: boolean;
}

export class Pkcs11Signer implements Signer {
  readonly id: string;
  readonly keyType: "RSA" | "EC";
  readonly algorithms: readonly SignatureAlgorithm[];

  readonly #module: Pkcs11Module;
  readonly #ownsModule: boolean;
  readonly #tokenLabel: string;
  readonly #certificate: TokenCertificate;
  readonly #chain: readonly X509Certificate[];
  #pin: string;
  #pinRejected = false;
  #pinLocked = false;
  #loginAttempts = 0;
  #slot: Pkcs11Handle | undefined;
  #session: Pkcs11Handle | undefined;
  #loggedIn = false;
  #key: KeyHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(init: {
    module: Pkcs11Module;
    ownsModule: boolean;
    tokenLabel: string;
    pin: string;
    slot: Pkcs11Handle;
    session: Pkcs11Handle;
    certificate: TokenCertificate;
    chain: X509Certificate[];
    keyType: "RSA" | "EC";
    algorithms: SignatureAlgorithm[];
    id: string;
  }) {
    this.#module = init.module;
    this.#ownsModule = init.ownsModule;
    this.#tokenLabel = init.tokenLabel;
    this.#pin = init.pin;
    this.#slot = init.slot;
    this.#session = init.session;
    this.#certificate = init.certificate;
    this.#chain = init.chain;
    this.keyType = init.keyType;
    this.algorithms = Object.freeze(init.algorithms);
    this.id = init.id;
  }

  /**
   * Loads the library, finds the token and reads the certificate — all
   * without logging in (a certificate is a public object), so opening never
   * costs a PIN try. The first signature logs in.
   */
  static async open(options: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
    assertOptions(options);
    const ownsModule = options.module === undefined;
    const module =
      options.module ??
      Pkcs11Module.open({
        ...(options.modulePath === undefined ? {} : { path: options.modulePath }),
        ...(options.binding === undefined ? {} : { binding: options.binding }),
      });
    let session: Pkcs11Handle | undefined;
    try {
      const slot = module.findSlotByTokenLabel(options.tokenLabel);
      if (slot === undefined) throw tokenAbsent(options.tokenLabel);
      session = module.binding.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      const certificate = findCertificate(module, session, options);
      const x509 = new X509Certificate(certificate.der);
      const { keyType, algorithms } = capabilities(module, slot, x509);
      const issuers = (options.issuerCertificates ?? []).map((issuer) =>
        typeof issuer === "string" ? new X509Certificate(issuer) : issuer,
      );
      const label = options.certificateLabel ?? (certificate.label || certificate.id.toString("hex"));
      return new Pkcs11Signer({
        module,
        ownsModule,
        tokenLabel: options.tokenLabel,
        pin: options.pin,
        slot,
        session,
        certificate,
        chain: [x509, ...issuerChain(x509, issuers)],
        keyType,
        algorithms,
        id: options.id ?? `pkcs11:${options.tokenLabel}/${label}`,
      });
    } catch (error) {
      if (session !== undefined) closeQuietly(module, session);
      if (ownsModule) module.close();
      throw mapDeviceError(error);
    }
  }

  /** Login attempts made so far (C_Login calls with the user PIN), for tests and metrics. */
  get loginAttempts(): number {
    return this.#loginAttempts;
  }

  /**
   * Gives a new PIN (the practitioner typed it again). The next operation
   * logs in with it; a PIN refused before is not tried again unless given here.
   */
  setPin(pin: string): void {
    if (typeof pin !== "string" || pin === "") throw new TypeError("The PIN must be a non-empty string");
    this.#pin = pin;
    this.#pinRejected = false;
    // A locked PIN stays locked: only the card's PUK unblocks it, and the flags tell us.
  }

  /** Logs in now (optionally with a new PIN) instead of at the first signature. */
  async login(pin?: string): Promise<void> {
    if (pin !== undefined) this.setPin(pin);
    await this.#serialized(() => this.#withSession(async () => undefined));
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    if (!(data instanceof Uint8Array)) throw new TypeError("sign() needs the data as a Buffer or Uint8Array");
    const spec = signatureAlgorithmSpec(algorithm, this.algorithms, this.id);
    const digest = createHash(spec.digest).update(data).digest();
    return this.#serialized(() => this.#withSession((session, key) => this.#signDigest(session, key, spec, digest)));
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [...this.#chain];
  }

  /** Logs out, closes the session and, if this signer loaded the library, finalizes it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#serialized(async () => {
      this.#closed = true;
      if (this.#session !== undefined) {
        if (this.#loggedIn) {
          try {
            this.#module.binding.C_Logout(this.#session);
          } catch {
            // Already logged out (card removed, or another session logged out): nothing to undo.
          }
        }
        closeQuietly(this.#module, this.#session);
      }
      this.#session = undefined;
      this.#loggedIn = false;
      this.#key = undefined;
      if (this.#ownsModule) this.#module.close();
    });
  }

  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `operation` on a ready session; after a lost session, reconnects and retries once. */
  async #withSession<T>(operation: (session: Pkcs11Handle, key: KeyHandle) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { session, key } = this.#ready();
        return await operation(session, key);
      } catch (error) {
        const code = pkcs11ReturnCode(error);
        if (code !== undefined && SESSION_LOST.has(code)) {
          // The card went away (or was reset): forget the session so the next call looks for it again.
          this.#dropSession(code);
          if (attempt === 0) continue;
        }
        throw mapDeviceError(error);
      }
    }
  }

  /**
   * Session open, same card, logged in, key found. PIN problems come out as
   * typed errors, raw PKCS#11 errors as they are (for the caller to judge).
   */
  #ready(): { session: Pkcs11Handle; key: KeyHandle } {
    if (this.#closed || this.#module.closed) throw cardUnavailable("closed", `Signer ${this.id} is closed`);
    if (this.#pinLocked) throw cardPinLocked(`The PIN of card ${this.#tokenLabel} is locked; no login attempted`);
    if (this.#pinRejected) {
      throw cardPinIncorrect(
        `The PIN of card ${this.#tokenLabel} was refused; no new login attempt was made with it ` +
          "(a card locks after 3 wrong PINs): provide the PIN again",
        { loginAttempted: false },
      );
    }
    const session = this.#session ?? this.#reconnect();
    if (!this.#loggedIn) this.#login(session);
    this.#key ??= findPrivateKey(this.#module, session, this.#certificate, this.#tokenLabel);
    return { session, key: this.#key };
  }

  #reconnect(): Pkcs11Handle {
    const slot = this.#module.findSlotByTokenLabel(this.#tokenLabel);
    if (slot === undefined) throw tokenAbsent(this.#tokenLabel);
    const session = this.#module.binding.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      // Same label is not same card: check the certificate before a PIN goes anywhere near it.
      const certificate = findCertificate(this.#module, session, {
        certificateId: this.#certificate.id.toString("hex"),
        ...(this.#certificate.label === "" ? {} : { certificateLabel: this.#certificate.label }),
      });
      if (!certificate.der.equals(this.#certificate.der)) {
        throw cardUnavailable(
          "card_changed",
          `The card labelled ${this.#tokenLabel} now holds another certificate: a different card was inserted`,
        );
      }
    } catch (error) {
      closeQuietly(this.#module, session);
      if (error instanceof PasserelleError && error.extensions?.reason === "certificate_not_found") {
        throw cardUnavailable("card_changed", `The card labelled ${this.#tokenLabel} no longer holds the signer's certificate`);
      }
      throw error;
    }
    this.#slot = slot;
    this.#session = session;
    return session;
  }

  /** One C_Login with the user PIN — never more for the same PIN if it is refused. */
  #login(session: Pkcs11Handle): void {
    const slot = this.#slot;
    if (slot !== undefined && pinStatusOf(this.#module.tokenFlags(slot)) === "locked") {
      this.#pinLocked = true;
      throw cardPinLocked(`The PIN of card ${this.#tokenLabel} is locked; no login attempted`);
    }
    this.#loginAttempts += 1;
    try {
      this.#module.binding.C_Login(session, pkcs11js.CKU_USER, this.#pin);
    } catch (error) {
      const code = pkcs11ReturnCode(error);
      // PKCS#11 login state is per application and token: another session of ours already logged in.
      if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
        throw this.#loginFailure(error, code);
      }
    }
    this.#loggedIn = true;
  }

  #loginFailure(error: unknown, code: number | undefined): unknown {
    if (code !== undefined && PIN_REJECTED.has(code)) {
      this.#pinRejected = true;
      const pinStatus = this.#pinStatusNow();
      return cardPinIncorrect(
        `Card ${this.#tokenLabel} refused the PIN${pinStatus === "final_try" ? " (one try left before it locks)" : ""}`,
        { loginAttempted: true, ...(pinStatus === undefined ? {} : { pinStatus }) },
        error,
      );
    }
    if (code === pkcs11js.CKR_PIN_LOCKED) {
      this.#pinLocked = true;
      return cardPinLocked(`The PIN of card ${this.#tokenLabel} is locked (unblock it with its PUK)`, error);
    }
    if (code === pkcs11js.CKR_PIN_EXPIRED) {
      this.#pinLocked = true;
      return cardPinLocked(`The PIN of card ${this.#tokenLabel} has expired and must be changed`, error);
    }
    return error;
  }

  #pinStatusNow(): "count_low" | "final_try" | "locked" | undefined {
    try {
      const status = this.#slot === undefined ? "ok" : pinStatusOf(this.#module.tokenFlags(this.#slot));
      if (status === "locked") this.#pinLocked = true;
      return status === "count_low" || status === "final_try" || status === "locked" ? status : undefined;
    } catch {
      return undefined;
    }
  }

  #dropSession(code: number): void {
    if (this.#session !== undefined) closeQuietly(this.#module, this.#session);
    this.#session = undefined;
    this.#slot = undefined;
    this.#loggedIn = false;
    this.#key = undefined;
    // Another user of the library (OpenSSL's engine, after a failed login) finalized it for the whole process.
    if (code === pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED && !this.#module.closed) this.#module.initialize();
  }

  async #signDigest(session: Pkcs11Handle, key: KeyHandle, spec: SignatureAlgorithmSpec, digest: Buffer): Promise<Buffer> {
    const binding = this.#module.binding;
    switch (spec.scheme) {
      case "pkcs1-v1_5":
        binding.C_SignInit(session, { mechanism: pkcs11js.CKM_RSA_PKCS }, key.handle);
        break;
      case "pss": {
        // PKCS#11 v2.40 §2.1.15: the parameters must match the digest we computed (SHA-256, MGF1-SHA-256, 32-byte salt).
        const parameter: pkcs11js.RsaPSS = {
          type: pkcs11js.CK_PARAMS_RSA_PSS,
          hashAlg: pkcs11js.CKM_SHA256,
          mgf: pkcs11js.CKG_MGF1_SHA256,
          saltLen: spec.saltLength ?? 32,
        };
        binding.C_SignInit(session, { mechanism: pkcs11js.CKM_RSA_PKCS_PSS, parameter }, key.handle);
        break;
      }
      case "ecdsa":
        binding.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key.handle);
        break;
    }
    if (key.alwaysAuthenticate) {
      // PKCS#11 v2.40 §4.9 CKA_ALWAYS_AUTHENTICATE: a qualified-signature key asks for the PIN for each signature.
      this.#loginAttempts += 1;
      try {
        binding.C_Login(session, pkcs11js.CKU_CONTEXT_SPECIFIC, this.#pin);
      } catch (error) {
        throw this.#loginFailure(error, pkcs11ReturnCode(error));
      }
    }
    const input = spec.scheme === "pkcs1-v1_5" ? Buffer.concat([spec.digestInfoPrefix ?? Buffer.alloc(0), digest]) : digest;
    const signature = await binding.C_SignAsync(session, input, Buffer.alloc(SIGNATURE_BUFFER_BYTES));
    return spec.scheme === "ecdsa" ? ecdsaRawToDer(signature) : Buffer.from(signature);
  }
}

function assertOptions(options: Pkcs11SignerOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("Pkcs11Signer.open needs options");
  if (typeof options.tokenLabel !== "string" || options.tokenLabel === "") throw new TypeError("tokenLabel must be a non-empty string");
  if (typeof options.pin !== "string" || options.pin === "") throw new TypeError("pin must be a non-empty string");
  if (options.certificateId !== undefined && !/^(?:[0-9a-fA-F]{2})+$/.test(options.certificateId)) {
    throw new TypeError("certificateId must be hex (e.g. \"02\")");
  }
  if (options.certificateLabel !== undefined && (typeof options.certificateLabel !== "string" || options.certificateLabel === "")) {
    throw new TypeError("certificateLabel must be a non-empty string");
  }
}

function tokenAbsent(label: string): PasserelleError {
  return cardUnavailable("token_absent", `No token labelled ${JSON.stringify(label)} is present (card not inserted?)`);
}

function closeQuietly(module: Pkcs11Module, session: Pkcs11Handle): void {
  try {
    module.binding.C_CloseSession(session);
  } catch {
    // The session died with the card; nothing to close.
  }
}

function findObjects(module: Pkcs11Module, session: Pkcs11Handle, template: pkcs11js.Template): Pkcs11Handle[] {
  const binding = module.binding;
  binding.C_FindObjectsInit(session, template);
  try {
    const found: Pkcs11Handle[] = [];
    for (;;) {
      const batch = binding.C_FindObjects(session, 16);
      found.push(...batch);
      if (batch.length < 16) return found;
    }
  } finally {
    binding.C_FindObjectsFinal(session);
  }
}

function attributes(module: Pkcs11Module, session: Pkcs11Handle, handle: Pkcs11Handle, types: number[]): Map<number, Buffer> {
  const result = module.binding.C_GetAttributeValue(session, handle, types.map((type) => ({ type })));
  return new Map(result.map((attribute) => [attribute.type, attribute.value]));
}

/** The X.509 certificate object selected by label and/or CKA_ID; exactly one must match. */
function findCertificate(
  module: Pkcs11Module,
  session: Pkcs11Handle,
  selector: { certificateLabel?: string; certificateId?: string; tokenLabel?: string },
): TokenCertificate {
  const template: pkcs11js.Template = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
  ];
  if (selector.certificateLabel !== undefined) {
    template.push({ type: pkcs11js.CKA_LABEL, value: selector.certificateLabel });
  }
  if (selector.certificateId !== undefined) template.push({ type: pkcs11js.CKA_ID, value: Buffer.from(selector.certificateId, "hex") });
  const handles = findObjects(module, session, template);
  const what = [
    selector.certificateLabel === undefined ? undefined : `label ${JSON.stringify(selector.certificateLabel)}`,
    selector.certificateId === undefined ? undefined : `id ${selector.certificateId}`,
  ]
    .filter((part) => part !== undefined)
    .join(" and ");
  if (handles.length === 0) {
    throw cardUnavailable("certificate_not_found", `The card holds no certificate${what === "" ? "" : ` with ${what}`}`);
  }
  if (handles.length > 1) {
    // A configuration gap, not a card fault: the caller must say which certificate (CPS cards hold two).
    throw new TypeError(`The card holds ${handles.length} certificates${what === "" ? "" : ` with ${what}`}: give certificateLabel or certificateId`);
  }
  const values = attributes(module, session, handles[0]!, [pkcs11js.CKA_VALUE, pkcs11js.CKA_ID, pkcs11js.CKA_LABEL]);
  return {
    der: values.get(pkcs11js.CKA_VALUE) ?? Buffer.alloc(0),
    id: values.get(pkcs11js.CKA_ID) ?? Buffer.alloc(0),
    label: (values.get(pkcs11js.CKA_LABEL) ?? Buffer.alloc(0)).toString("utf8"),
  };
}

/**
 * The private key with the certificate's CKA_ID (PKCS#11 v2.40 §4.4: CKA_ID
 * pairs a key with its certificate), checked against the certificate's public
 * key where the token shows it (RSA modulus; EC curve).
 */
function findPrivateKey(module: Pkcs11Module, session: Pkcs11Handle, certificate: TokenCertificate, tokenLabel: string): KeyHandle {
  const handles = findObjects(module, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_ID, value: certificate.id },
  ]);
  const x509 = new X509Certificate(certificate.der);
  const jwk = x509.publicKey.export({ format: "jwk" });
  for (const handle of handles) {
    const keyType = ulong(attributes(module, session, handle, [pkcs11js.CKA_KEY_TYPE]).get(pkcs11js.CKA_KEY_TYPE));
    const alwaysAuthenticate = isTrue(optionalAttribute(module, session, handle, pkcs11js.CKA_ALWAYS_AUTHENTICATE));
    if (keyType === pkcs11js.CKK_RSA && jwk.kty === "RSA") {
      const modulus = attributes(module, session, handle, [pkcs11js.CKA_MODULUS]).get(pkcs11js.CKA_MODULUS);
      if (modulus !== undefined && stripLeadingZeros(modulus).equals(Buffer.from(jwk.n ?? "", "base64url"))) {
        return { handle, alwaysAuthenticate };
      }
    } else if (keyType === pkcs11js.CKK_EC && jwk.kty === "EC" && jwk.crv === "P-256") {
      const params = attributes(module, session, handle, [pkcs11js.CKA_EC_PARAMS]).get(pkcs11js.CKA_EC_PARAMS);
      if (params !== undefined && params.equals(P256_NAMED_CURVE_DER)) return { handle, alwaysAuthenticate };
    }
  }
  throw cardUnavailable(
    "key_not_found",
    `Card ${tokenLabel} holds no private key for its certificate (CKA_ID ${certificate.id.toString("hex") || "empty"})`,
  );
}

function capabilities(module: Pkcs11Module, slot: Pkcs11Handle, certificate: X509Certificate): {
  keyType: "RSA" | "EC";
  algorithms: SignatureAlgorithm[];
} {
  const mechanisms = new Set(module.binding.C_GetMechanismList(slot));
  const publicKey = certificate.publicKey;
  if (publicKey.asymmetricKeyType === "rsa") {
    const algorithms = RSA_SIGNATURE_ALGORITHMS.filter((algorithm) =>
      algorithm === "RSA-PSS-SHA256" ? mechanisms.has(pkcs11js.CKM_RSA_PKCS_PSS) : mechanisms.has(pkcs11js.CKM_RSA_PKCS),
    );
    if (algorithms.length > 0) return { keyType: "RSA", algorithms };
  } else if (publicKey.asymmetricKeyType === "ec" && publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    if (mechanisms.has(pkcs11js.CKM_ECDSA)) return { keyType: "EC", algorithms: ["ECDSA-P256-SHA256"] };
  }
  throw cardUnavailable(
    "unsupported_mechanism",
    `The card cannot sign with its ${publicKey.asymmetricKeyType ?? "unknown"} key using a mechanism Passerelle supports (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA on ${P256_CURVE_OID})`,
  );
}

/** CKA_EC_PARAMS of a P-256 key: the DER OBJECT IDENTIFIER 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1). */
const P256_NAMED_CURVE_DER = Buffer.from("06082a8648ce3d030107", "hex");

/** A CK_ULONG attribute (native width and byte order: little-endian on the platforms we run on). */
function ulong(value: Buffer | undefined): number | undefined {
  if (value === undefined || value.length === 0) return undefined;
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

/** An attribute some tokens do not implement (C_GetAttributeValue then fails the whole call). */
function optionalAttribute(module: Pkcs11Module, session: Pkcs11Handle, handle: Pkcs11Handle, type: number): Buffer | undefined {
  try {
    return attributes(module, session, handle, [type]).get(type);
  } catch (error) {
    const code = pkcs11ReturnCode(error);
    if (code === pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID || code === pkcs11js.CKR_ATTRIBUTE_SENSITIVE) return undefined;
    throw error;
  }
}

function stripLeadingZeros(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  return value.subarray(start);
}

function isTrue(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}

/** Maps PKCS#11 errors that are not about the PIN to a typed 503; typed errors and TypeErrors pass through. */
function mapDeviceError(error: unknown): unknown {
  if (error instanceof PasserelleError || error instanceof TypeError) return error;
  const code = pkcs11ReturnCode(error);
  if (code === pkcs11js.CKR_TOKEN_NOT_PRESENT || code === pkcs11js.CKR_DEVICE_REMOVED) {
    return cardUnavailable("token_absent", "The card was removed", error);
  }
  if (code !== undefined) return cardUnavailable("device_error", `The card failed: ${pkcs11ReturnName(code)}`, error);
  return error;
}
