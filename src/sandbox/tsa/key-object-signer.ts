/**
 * A `Signer` over a private key held in memory (a `node:crypto` KeyObject):
 * what the sandbox TSA signs its tokens with. Sandbox-only and deliberately
 * small — the gateway's configurable software signer lives in
 * src/trust/signers.
 */
import { constants, sign, type KeyObject, type X509Certificate } from "node:crypto";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";

const RSA_ALGORITHMS: readonly SignatureAlgorithm[] = [
  "RSASSA-PKCS1-v1_5-SHA256",
  "RSASSA-PKCS1-v1_5-SHA384",
  "RSASSA-PKCS1-v1_5-SHA512",
];
const EC_ALGORITHMS: readonly SignatureAlgorithm[] = ["ECDSA-P256-SHA256"];

const DIGEST: Partial<Record<SignatureAlgorithm, string>> = {
  "RSASSA-PKCS1-v1_5-SHA256": "sha256",
  "RSASSA-PKCS1-v1_5-SHA384": "sha384",
  "RSASSA-PKCS1-v1_5-SHA512": "sha512",
  "ECDSA-P256-SHA256": "sha256",
};

export class KeyObjectSigner implements Signer {
  readonly id: string;
  readonly keyType: "RSA" | "EC";
  readonly algorithms: readonly SignatureAlgorithm[];
  readonly #key: KeyObject;
  readonly #chain: X509Certificate[];

  /** `chain` is the key's certificate first, then its issuers up to (not including) the root. */
  constructor(id: string, privateKey: KeyObject, chain: X509Certificate[]) {
    if (privateKey.type !== "private") throw new TypeError("KeyObjectSigner needs a private key");
    const [leaf] = chain;
    if (leaf === undefined || !leaf.checkPrivateKey(privateKey)) {
      throw new TypeError("The first certificate of the chain must be the private key's");
    }
    const type = privateKey.asymmetricKeyType;
    if (type === "rsa") {
      this.keyType = "RSA";
      this.algorithms = RSA_ALGORITHMS;
    } else if (type === "ec" && privateKey.asymmetricKeyDetails?.namedCurve === "prime256v1") {
      this.keyType = "EC";
      this.algorithms = EC_ALGORITHMS;
    } else {
      throw new TypeError(`KeyObjectSigner supports RSA and P-256 keys, not ${String(type)}`);
    }
    this.id = id;
    this.#key = privateKey;
    this.#chain = [...chain];
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    const digest = DIGEST[algorithm];
    if (digest === undefined || !this.algorithms.includes(algorithm)) {
      throw new TypeError(`Signer ${this.id} cannot sign with ${algorithm}`);
    }
    const key =
      this.keyType === "RSA"
        ? { key: this.#key, padding: constants.RSA_PKCS1_PADDING }
        : // Signer contract: ECDSA signatures are DER Ecdsa-Sig-Value (RFC 3279), as CMS wants them.
          { key: this.#key, dsaEncoding: "der" as const };
    return sign(digest, data, key);
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [...this.#chain];
  }
}
