/**
 * The signing keys the KMS simulator holds for the sandbox practitioners:
 * one RSA-2048 key and one signing certificate per practitioner, issued by
 * the sandbox LU CA on first use.
 *
 * The certificate profile is a document-signing one: keyUsage
 * nonRepudiation (contentCommitment, RFC 5280 §4.2.1.3 — the key commits its
 * holder to what it signs), extendedKeyUsage emailProtection (what Adobe and
 * NSS accept for document signers) and id-kp-documentSigning (RFC 9336); the
 * subject names the practitioner and carries the CNS provider code as
 * serialNumber (X.520 §6.2.9, how qualified certificates carry a person's
 * identifier).
 *
 * Key generation is the slow part (~100 ms of a core). The PKI caches each
 * identity on disk (`<dataDir>/pki/clients/lu-kms-signer-<code>.*`, reloaded
 * and re-checked at the next start) and shares one generation between
 * concurrent first requests; the parsed key objects are kept here.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import type { SandboxPki } from "../../trust/pki/index.js";

/** A practitioner the KMS holds a key for. */
export interface KmsPractitioner {
  /** CNS provider code (code médecin / prestataire), the access token's `provider_code`. */
  providerCode: string;
  givenName: string;
  familyName: string;
}

export interface PractitionerKey {
  practitioner: KmsPractitioner;
  privateKey: KeyObject;
  certificate: X509Certificate;
  /** The issuing CA, then the root. */
  chain: X509Certificate[];
}

/** RFC 9336 §3.1 id-kp-documentSigning. */
export const DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36";

const PROVIDER_CODE = /^[0-9]{6}-[0-9]{2}$/;

export class PractitionerKeyring {
  readonly #pki: SandboxPki;
  readonly #practitioners = new Map<string, KmsPractitioner>();
  readonly #keys = new Map<string, Promise<PractitionerKey>>();

  constructor(pki: SandboxPki, practitioners: readonly KmsPractitioner[]) {
    this.#pki = pki;
    for (const practitioner of practitioners) {
      if (!PROVIDER_CODE.test(practitioner.providerCode)) {
        throw new TypeError(`Invalid provider code ${JSON.stringify(practitioner.providerCode)} (six digits, '-', two digits)`);
      }
      if (this.#practitioners.has(practitioner.providerCode)) throw new TypeError(`Two practitioners have the code ${practitioner.providerCode}`);
      this.#practitioners.set(practitioner.providerCode, { ...practitioner });
    }
  }

  get practitioners(): KmsPractitioner[] {
    return [...this.#practitioners.values()].map((practitioner) => ({ ...practitioner }));
  }

  knows(providerCode: string): boolean {
    return this.#practitioners.has(providerCode);
  }

  /** The practitioner's key and certificate; rejects with TypeError for a practitioner the KMS does not hold. */
  keyOf(providerCode: string): Promise<PractitionerKey> {
    const practitioner = this.#practitioners.get(providerCode);
    if (practitioner === undefined) return Promise.reject(new TypeError(`No KMS key for practitioner ${providerCode}`));
    let key = this.#keys.get(providerCode);
    if (key === undefined) {
      key = this.#load(practitioner);
      this.#keys.set(providerCode, key);
      // A failure is not kept: the next request tries again.
      key.catch(() => {
        if (this.#keys.get(providerCode) === key) this.#keys.delete(providerCode);
      });
    }
    return key;
  }

  async #load(practitioner: KmsPractitioner): Promise<PractitionerKey> {
    const identity = await this.#pki.clientIdentity(`lu-kms-signer-${practitioner.providerCode}`, {
      country: "LU",
      subject: {
        C: "LU",
        O: "Passerelle Sandbox",
        OU: "Remote signature (KMS)",
        SN: practitioner.familyName,
        G: practitioner.givenName,
        serialNumber: practitioner.providerCode,
        CN: `${practitioner.givenName} ${practitioner.familyName}`,
      },
      keyUsages: ["nonRepudiation"],
      extendedKeyUsages: ["emailProtection", DOCUMENT_SIGNING_EKU],
    });
    return {
      practitioner: { ...practitioner },
      privateKey: createPrivateKey(identity.keyPem),
      certificate: new X509Certificate(identity.certPem),
      chain: [...identity.chainPem.map((pem) => new X509Certificate(pem)), new X509Certificate(this.#pki.rootCertPem)],
    };
  }
}
