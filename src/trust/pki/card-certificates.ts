/**
 * Sandbox CPS cards: the two certificates a French practitioner's card
 * (Carte de Professionnel de Santé) carries, issued by the sandbox FR CA,
 * and their loading into a SoftHSM token that plays the card.
 *
 * A CPS card holds an authentication certificate (TLS client authentication,
 * e.g. the DMP's "direct authentication") and a signature certificate
 * (documents: PAdES, XAdES, CMS), each with its own key (IGC-Santé
 * "certificats embarqués dans les cartes CPx"). The subject is shaped after
 * them: `C=FR`, the organisation, the profession, the practitioner's names,
 * and the national identifier — "8" (the RPPS identifier type) followed by
 * the 11-digit RPPS number — both as `serialNumber` and at the head of the
 * CN, `CN=810000000001/DUPONT/JEAN`. Code that needs the RPPS reads
 * `serialNumber`, or the CN up to the first "/". (We could not consult the
 * IGC-Santé certificate templates offline; this shape is documented here so
 * that it is a deliberate choice, not an accident.)
 *
 * @example
 * ```ts
 * if (await isSoftHsmAvailable()) {
 *   const practitioner = { rpps: "10000000001", givenName: "Jean", familyName: "Dupont", profession: "Médecin" };
 *   const card = await provisionCardToken(pki, practitioner, { dir, pin: "1234" });
 *   process.env.SOFTHSM2_CONF = card.softhsmConfigPath;
 * }
 * ```
 */
import { randomBytes } from "node:crypto";
import { createSoftHsmToken, importIdentity } from "../pkcs11/softhsm-fixture.js";
import type { PemIdentity, SandboxPki } from "./sandbox-pki.js";

export interface CpsPractitioner {
  /** RPPS number: 11 digits (the last is a Luhn check digit on real numbers; not checked here). */
  rpps: string;
  givenName: string;
  familyName: string;
  /** E.g. "Médecin", "Pharmacien", "Infirmier". */
  profession: string;
  /** Organisation (structure d'exercice) in the subject's O. Default "Passerelle Sandbox". */
  organization?: string;
}

export interface CpsCardIdentities {
  /** digitalSignature, EKU clientAuth: the key that signs the TLS handshake. */
  authentication: PemIdentity;
  /** nonRepudiation + digitalSignature, EKU emailProtection + documentSigning, no clientAuth: the key that signs documents. */
  signature: PemIdentity;
}

/** Where one identity lives on the card: the CKA_LABEL and CKA_ID of its key and certificate. */
export interface CardKeyLocation {
  label: string;
  /** Hex. */
  id: string;
}

export const CPS_AUTHENTICATION_KEY: Readonly<CardKeyLocation> = Object.freeze({ label: "Authentification CPS", id: "01" });
export const CPS_SIGNATURE_KEY: Readonly<CardKeyLocation> = Object.freeze({ label: "Signature CPS", id: "02" });

export interface CardTokenOptions {
  /** Directory for the SoftHSM configuration and token files. */
  dir: string;
  /** The card's user PIN. */
  pin: string;
  /** Default `CPS-<rpps>`. */
  label?: string;
  /** Default: random (nobody needs the security officer in the sandbox). */
  soPin?: string;
  /** Default /usr/lib/softhsm/libsofthsm2.so. */
  modulePath?: string;
}

export interface ProvisionedCardKey extends CardKeyLocation {
  certPem: string;
  /** Issuing CAs up to, excluding, the sandbox root. */
  chainPem: string[];
}

export interface ProvisionedCard {
  practitioner: CpsPractitioner;
  tokenLabel: string;
  pin: string;
  modulePath: string;
  /** Put this in SOFTHSM2_CONF (before the process first initializes SoftHSM) to see the card. */
  softhsmConfigPath: string;
  authentication: ProvisionedCardKey;
  signature: ProvisionedCardKey;
}

// RFC 9336 §3: id-kp-documentSigning.
const DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36";
const RPPS = /^\d{11}$/;

/** The CPS national identifier of a practitioner: identifier type 8 (RPPS) + the RPPS number. */
export function cpsNationalIdentifier(rpps: string): string {
  if (typeof rpps !== "string" || !RPPS.test(rpps)) throw new TypeError(`An RPPS number is 11 digits, got ${JSON.stringify(rpps)}`);
  return `8${rpps}`;
}

function assertPractitioner(practitioner: CpsPractitioner): void {
  if (practitioner === null || typeof practitioner !== "object") {
    throw new TypeError("A practitioner is { rpps, givenName, familyName, profession }");
  }
  cpsNationalIdentifier(practitioner.rpps);
  for (const field of ["givenName", "familyName", "profession"] as const) {
    const value = practitioner[field];
    if (typeof value !== "string" || value.trim() === "" || value.includes("/")) {
      throw new TypeError(`practitioner.${field} must be a non-empty string without "/"`);
    }
  }
}

/** The card subject (see the module comment for the shape and why). */
export function cpsSubject(practitioner: CpsPractitioner): Record<string, string> {
  assertPractitioner(practitioner);
  const nationalId = cpsNationalIdentifier(practitioner.rpps);
  const family = practitioner.familyName.trim().toLocaleUpperCase("fr-FR");
  const given = practitioner.givenName.trim();
  return {
    C: "FR",
    O: practitioner.organization ?? "Passerelle Sandbox",
    OU: practitioner.profession.trim(),
    SN: family,
    G: given,
    serialNumber: nationalId,
    CN: `${nationalId}/${family}/${given.toLocaleUpperCase("fr-FR")}`,
  };
}

/**
 * Issues (or reuses from the PKI cache) a practitioner's authentication and
 * signature certificates, from the sandbox FR CA, each with its own RSA key.
 */
export async function issueCpsCard(pki: SandboxPki, practitioner: CpsPractitioner): Promise<CpsCardIdentities> {
  const subject = cpsSubject(practitioner);
  const [authentication, signature] = await Promise.all([
    pki.clientIdentity(`fr-cps-${practitioner.rpps}-auth`, {
      country: "FR",
      subject,
      extendedKeyUsages: ["clientAuth"],
      keyUsages: ["digitalSignature"],
    }),
    pki.clientIdentity(`fr-cps-${practitioner.rpps}-sign`, {
      country: "FR",
      subject,
      // emailProtection: S/MIME (MSSanté) signing and what `openssl cms -verify` expects by default.
      extendedKeyUsages: ["emailProtection", DOCUMENT_SIGNING_EKU],
      keyUsages: ["nonRepudiation", "digitalSignature"],
    }),
  ]);
  return { authentication, signature };
}

/**
 * Issues the practitioner's two certificates and personalises a SoftHSM
 * token as their card: label `CPS-<rpps>`, the authentication key and
 * certificate under id 01, the signature ones under id 02, keys not
 * extractable. Re-provisioning replaces a token of the same label. The
 * sandbox calls this at start when {@link isSoftHsmAvailable} says so.
 */
export async function provisionCardToken(
  pki: SandboxPki,
  practitioner: CpsPractitioner,
  options: CardTokenOptions,
): Promise<ProvisionedCard> {
  if (options === null || typeof options !== "object") throw new TypeError("provisionCardToken needs { dir, pin }");
  const identities = await issueCpsCard(pki, practitioner);
  const tokenLabel = options.label ?? `CPS-${practitioner.rpps}`;
  const token = await createSoftHsmToken({
    label: tokenLabel,
    soPin: options.soPin ?? randomBytes(8).toString("hex"),
    userPin: options.pin,
    dir: options.dir,
    ...(options.modulePath === undefined ? {} : { modulePath: options.modulePath }),
  });
  const load = async (location: CardKeyLocation, identity: PemIdentity): Promise<ProvisionedCardKey> => {
    await importIdentity(token, { keyPem: identity.keyPem, certPem: identity.certPem, label: location.label, id: location.id });
    return { ...location, certPem: identity.certPem, chainPem: [...identity.chainPem] };
  };
  // One tool run at a time: both write the same token files.
  const authentication = await load(CPS_AUTHENTICATION_KEY, identities.authentication);
  const signature = await load(CPS_SIGNATURE_KEY, identities.signature);
  return {
    practitioner: { ...practitioner },
    tokenLabel,
    pin: options.pin,
    modulePath: token.modulePath,
    softhsmConfigPath: token.configPath,
    authentication,
    signature,
  };
}

export { isSoftHsmAvailable } from "../pkcs11/softhsm-fixture.js";
