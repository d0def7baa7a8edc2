/**
 * The trust settings (signers, trust anchors, time-stamping authority), in
 * the format of src/config/settings.ts, for the gateway to merge into its
 * settings table.
 *
 * Like src/services/identity/settings.ts, they are built from the gateway's
 * own parsers, passed in rather than imported: src/config/settings.ts
 * spreads this table into SETTINGS, and an import back from it would be a
 * module cycle. This module has no runtime import at all.
 *
 * Secrets (`SIGNER_KEYSTORE_PASSWORD`, `SIGNER_PKCS11_PIN`,
 * `TRUST_ANCHORS_PASSWORD`) may be given as `NAME_FILE` too: the loader does
 * that for every setting marked `secret`.
 *
 * @example
 * ```ts
 * // src/config/settings.ts
 * export const SETTINGS = { ...coreSettings, ...trustSettingSpecs({ parseString, parseUrl, parseInteger, SettingError }) } as const;
 * ```
 */
import type { Parser, SettingSpec } from "../../config/settings.js";

export interface TrustSettingParsers {
  parseString: Parser<string>;
  parseUrl(schemes: readonly string[]): Parser<string>;
  parseInteger(min: number, max: number): Parser<number>;
  /** The error a parser throws to say what it expected (the loader reports it per setting). */
  SettingError: new (expected: string) => Error;
}

/** Which signers each calling software may use, in order (the first is its default). */
export type SignerCallers = Readonly<Record<string, readonly string[]>>;

/** The ids the gateway gives the signers it builds from these settings. */
export const KEYSTORE_SIGNER_ID = "keystore";
export const PKCS11_SIGNER_ID = "pkcs11";

// Same alphabet as caller ids (src/config/settings.ts) and signer ids (`fr-10001234565-card`).
const CALLER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SIGNER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HEX_ID = /^(?:[0-9a-fA-F]{2}){1,32}$/;
// Dotted OID (X.660), as a TSA policy is written.
const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

export function trustSettingSpecs(p: TrustSettingParsers) {
  const parseHttpUrl = p.parseUrl(["http", "https"]);
  const parseSignerCallers: Parser<SignerCallers> = (raw) => {
    const expected = "a comma-separated list of callerId:signerId[+signerId...] entries";
    const out: Record<string, readonly string[]> = {};
    for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
      const colon = item.indexOf(":");
      const caller = colon < 0 ? item : item.slice(0, colon);
      const signers = colon < 0 ? [] : item.slice(colon + 1).split("+").map((s) => s.trim());
      if (!CALLER_ID.test(caller)) throw new p.SettingError(`${expected} (bad caller id "${caller}")`);
      if (signers.length === 0 || !signers.every((s) => SIGNER_ID.test(s))) throw new p.SettingError(`${expected} (entry "${caller}" names no valid signer id)`);
      if (Object.hasOwn(out, caller)) throw new p.SettingError(`${expected} (caller "${caller}" listed twice)`);
      out[caller] = [...new Set(signers)];
    }
    if (Object.keys(out).length === 0) throw new p.SettingError(expected);
    return out;
  };
  const parseFileList: Parser<string[]> = (raw) => {
    const files = raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (files.length === 0) throw new p.SettingError("a comma-separated list of file paths");
    return files;
  };
  const parseHexId: Parser<string> = (raw) => {
    if (!HEX_ID.test(raw.trim())) throw new p.SettingError('a CKA_ID in hexadecimal, e.g. "02"');
    return raw.trim().toLowerCase();
  };
  const parseOid: Parser<string> = (raw) => {
    if (!OID.test(raw.trim())) throw new p.SettingError("a dotted OID, e.g. 1.2.3.4.1");
    return raw.trim();
  };
  return {
    signerKeystoreFile: {
      env: "SIGNER_KEYSTORE_FILE",
      description: "Software signing key and certificate chain (signer id `keystore`): PKCS#12 (.p12/.pfx) or PEM; reloaded when the file changes",
      parse: p.parseString,
    },
    signerKeystorePassword: {
      env: "SIGNER_KEYSTORE_PASSWORD",
      description: "Password of SIGNER_KEYSTORE_FILE (PKCS#12, or an encrypted PEM key)",
      parse: p.parseString,
      secret: true,
    },
    signerKeystoreAlias: {
      env: "SIGNER_KEYSTORE_ALIAS",
      description: "Alias (friendlyName) of the key to use when the PKCS#12 SIGNER_KEYSTORE_FILE holds several",
      parse: p.parseString,
    },
    signerPkcs11Module: {
      env: "SIGNER_PKCS11_MODULE",
      description: "PKCS#11 library of the signing card or HSM, e.g. the ANS Cryptolib (default /usr/lib/softhsm/libsofthsm2.so)",
      parse: p.parseString,
    },
    signerPkcs11TokenLabel: {
      env: "SIGNER_PKCS11_TOKEN_LABEL",
      description: "Label of the token (card) holding the signing key (signer id `pkcs11`), e.g. CPS-10001234565",
      parse: p.parseString,
    },
    signerPkcs11Pin: {
      env: "SIGNER_PKCS11_PIN",
      description: "User PIN of SIGNER_PKCS11_TOKEN_LABEL (one login per start; a wrong PIN is never retried)",
      parse: p.parseString,
      secret: true,
    },
    signerPkcs11KeyId: {
      env: "SIGNER_PKCS11_KEY_ID",
      description: "CKA_ID (hex) of the signing certificate and key on the token (default 02, the CPS signature key)",
      parse: parseHexId,
    },
    signerCallers: {
      env: "SIGNER_CALLERS",
      description:
        "Signers each non-admin caller may use: callerId:signerId+signerId,... (the first is its default; admin callers may use every signer; sandbox default: everyone may use every sandbox signer)",
      parse: parseSignerCallers,
    },
    trustAnchorsFile: {
      env: "TRUST_ANCHORS_FILE",
      description: "Trust anchors for signatures, signer certificates and time-stamps: PEM/DER file, directory or PKCS#12 truststore; reloaded when it changes",
      parse: p.parseString,
    },
    trustAnchorsPassword: {
      env: "TRUST_ANCHORS_PASSWORD",
      description: "Password of a PKCS#12 TRUST_ANCHORS_FILE",
      parse: p.parseString,
      secret: true,
    },
    trustIntermediatesFile: {
      env: "TRUST_INTERMEDIATES_FILE",
      description: "Intermediate CA certificates (not trusted, used to complete chains, e.g. a card's issuer): PEM/DER file or directory",
      parse: p.parseString,
    },
    trustCrlFiles: {
      env: "TRUST_CRL_FILES",
      description: "CRL files (PEM or DER, comma-separated), re-read when they change; when set, every certificate below an anchor needs a current CRL",
      parse: parseFileList,
    },
    tsaUrl: {
      env: "TSA_URL",
      description: "RFC 3161 time-stamping authority for PAdES-B-T signatures and POST /v1/timestamp",
      parse: parseHttpUrl,
    },
    tsaCaFile: {
      env: "TSA_CA_FILE",
      description: "PEM trust anchors of the TSA's TLS certificate (default: system roots); its tokens are checked against TRUST_ANCHORS_FILE",
      parse: p.parseString,
    },
    tsaPolicy: {
      env: "TSA_POLICY",
      description: "TSA policy OID to request, and to require in the tokens",
      parse: parseOid,
    },
    tsaTimeoutMs: {
      env: "TSA_TIMEOUT_MS",
      description: "Time budget of one time-stamp request (retries included) before it fails with 504",
      parse: p.parseInteger(100, 120_000),
      default: 10_000,
    },
  } as const satisfies Record<string, SettingSpec<unknown>>;
}
