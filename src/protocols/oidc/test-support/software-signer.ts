/**
 * A {@link Signer} over a Node key object, for tests of code that signs
 * through the Signer interface (the real software/PKCS#11/KMS signers live in
 * src/trust). Signatures follow the interface: RSA raw, ECDSA DER.
 */
import { constants, generateKeyPairSync, sign, type KeyObject, type X509Certificate } from "node:crypto";
import type { SignatureAlgorithm, Signer } from "../../../trust/signer.js";

const DIGEST: Record<SignatureAlgorithm, string> = {
  "RSASSA-PKCS1-v1_5-SHA256": "sha256",
  "RSASSA-PKCS1-v1_5-SHA384": "sha384",
  "RSASSA-PKCS1-v1_5-SHA512": "sha512",
  "RSASSA-PKCS1-v1_5-SHA1": "sha1",
  "RSA-PSS-SHA256": "sha256",
  "ECDSA-P256-SHA256": "sha256",
};

export class TestSoftwareSigner implements Signer {
  readonly id: string;
  readonly keyType: "RSA" | "EC";
  readonly algorithms: readonly SignatureAlgorithm[];
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;
  /** Every signature made, for assertions that the key was really used. */
  signatures = 0;

  constructor(id: string, keyType: "RSA" | "EC") {
    const { privateKey, publicKey } =
      keyType === "RSA" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.id = id;
    this.keyType = keyType;
    this.algorithms =
      keyType === "RSA" ? ["RSASSA-PKCS1-v1_5-SHA256", "RSASSA-PKCS1-v1_5-SHA384", "RSASSA-PKCS1-v1_5-SHA512", "RSA-PSS-SHA256"] : ["ECDSA-P256-SHA256"];
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    if (!this.algorithms.includes(algorithm)) throw new TypeError(`${this.id} cannot sign ${algorithm}`);
    this.signatures += 1;
    const pss = algorithm === "RSA-PSS-SHA256";
    return sign(DIGEST[algorithm], data, pss ? { key: this.#privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : this.#privateKey);
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [];
  }
}
