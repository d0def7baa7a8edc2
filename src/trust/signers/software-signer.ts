/**
 * A Signer whose private key is held in process memory, loaded from PEM or
 * PKCS#12 (the "software certificate" of a practitioner or organisation).
 * Signing is node:crypto on the libuv thread pool, so a large batch does not
 * stall the event loop.
 *
 * @example
 * ```ts
 * const signer = await SoftwareSigner.fromPkcs12(await readFile(path), config.keystorePassword, { alias: "sign" });
 * const signature = await signer.sign(data, "RSASSA-PKCS1-v1_5-SHA256");
 * ```
 */
import { constants, sign as signWithCallback, type KeyObject, type X509Certificate } from "node:crypto";
import { promisify } from "node:util";
import type { SignatureAlgorithm, Signer } from "../signer.js";
import { privateKeyMatchesCertificate } from "./certificate-chain.js";
import type { KeyStoreEntry } from "./key-store-entry.js";
import { keystoreInvalid } from "./keystore-errors.js";
import { loadPemIdentity, type PemIdentityInput } from "./load-pem.js";
import { loadPkcs12, type LoadPkcs12Options } from "./load-pkcs12.js";
import { algorithmsForKey, signatureAlgorithmSpec } from "./signature-algorithms.js";

const signAsync = promisify(signWithCallback);

export interface SoftwareSignerOptions {
  /** Label for logs and metrics; default `software:` + the first 16 hex digits of the certificate's SHA-256 fingerprint. */
  id?: string;
}

export class SoftwareSigner implements Signer {
  readonly id: string;
  readonly keyType: "RSA" | "EC";
  readonly algorithms: readonly SignatureAlgorithm[];
  readonly #privateKey: KeyObject;
  readonly #chain: readonly X509Certificate[];

  /**
   * Wraps a loaded key store entry. Throws `PASSERELLE_KEYSTORE_INVALID` when
   * the key does not match the certificate or is of a type no contract
   * algorithm uses (e.g. an Ed25519 or P-384 key).
   */
  constructor(entry: KeyStoreEntry, options: SoftwareSignerOptions = {}) {
    if (entry === null || typeof entry !== "object" || entry.privateKey?.type !== "private") {
      throw new TypeError("SoftwareSigner needs a key store entry with a private KeyObject");
    }
    if (!privateKeyMatchesCertificate(entry.privateKey, entry.certificate)) {
      throw keystoreInvalid("key_certificate_mismatch", "The private key does not match the certificate");
    }
    const algorithms = algorithmsForKey(entry.privateKey);
    if (algorithms.length === 0) {
      throw keystoreInvalid(
        "unsupported_key",
        `Unsupported signing key type ${entry.privateKey.asymmetricKeyType ?? "unknown"} (RSA or EC P-256 expected)`,
      );
    }
    this.#privateKey = entry.privateKey;
    this.#chain = [entry.certificate, ...entry.chain];
    this.keyType = entry.privateKey.asymmetricKeyType === "rsa" ? "RSA" : "EC";
    this.algorithms = Object.freeze(algorithms);
    this.id = options.id ?? `software:${entry.certificate.fingerprint256.replaceAll(":", "").slice(0, 16).toLowerCase()}`;
  }

  /** From PEM text (see {@link loadPemIdentity}). */
  static fromPem(input: PemIdentityInput, options: SoftwareSignerOptions = {}): SoftwareSigner {
    return new SoftwareSigner(loadPemIdentity(input), options);
  }

  /** From a PKCS#12 file (see {@link loadPkcs12}). */
  static async fromPkcs12(
    data: Uint8Array,
    password: string,
    options: LoadPkcs12Options & SoftwareSignerOptions = {},
  ): Promise<SoftwareSigner> {
    const entry = await loadPkcs12(data, password, options.alias === undefined ? {} : { alias: options.alias });
    return new SoftwareSigner(entry, options.id === undefined ? {} : { id: options.id });
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    if (!(data instanceof Uint8Array)) throw new TypeError("sign() needs the data as a Buffer or Uint8Array");
    const spec = signatureAlgorithmSpec(algorithm, this.algorithms, this.id);
    switch (spec.scheme) {
      case "pkcs1-v1_5":
        return signAsync(spec.digest, data, { key: this.#privateKey, padding: constants.RSA_PKCS1_PADDING });
      case "pss":
        return signAsync(spec.digest, data, {
          key: this.#privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: spec.saltLength ?? spec.digestLength,
        });
      case "ecdsa":
        // node:crypto's default DSA encoding is the DER Ecdsa-Sig-Value the contract asks for.
        return signAsync(spec.digest, data, { key: this.#privateKey, dsaEncoding: "der" });
    }
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [...this.#chain];
  }
}
