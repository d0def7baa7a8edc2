/**
 * The sandbox profile's signers: every sandbox practitioner (the users of
 * the fr-psc, lu-aes and be-idp simulators) gets a software signing key with
 * a certificate from their country's sandbox CA, and — when SoftHSM is
 * installed — the first French practitioners also get their CPS card, a
 * SoftHSM token holding the same signature certificate whose key never
 * leaves the token.
 *
 * Ids: `fr-<RPPS>` (software) and `fr-<RPPS>-card` (PKCS#11), `lu-<CNS
 * provider code>`, `be-<NIHII>`.
 *
 * Start-up stays fast: nothing is issued, provisioned or opened before it is
 * used. The PKI caches certificates under `<DATA_DIR>/pki`, so a key is
 * generated once per data directory. The cards are provisioned together on
 * first use of any of them, into one SoftHSM token directory
 * `<DATA_DIR>/softhsm` (one configuration, one PKCS#11 library load, one
 * login per token), with a PIN drawn for the run.
 */
import { randomInt } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SandboxEndpoints } from "../../sandbox/index.js";
import { belgianPractitioners } from "../../sandbox/idp/be-idp-practitioners.js";
import { frenchPractitioners } from "../../sandbox/idp/fr-psc-practitioners.js";
import { luxembourgPractitioners } from "../../sandbox/idp/lu-aes-practitioners.js";
import type { SandboxPractitioner } from "../../sandbox/idp/practitioners.js";
import { Pkcs11Module, Pkcs11Signer, isSoftHsmAvailable } from "../../trust/pkcs11/index.js";
import { CPS_SIGNATURE_KEY, issueCpsCard, provisionCardToken, type CpsPractitioner, type ProvisionedCard } from "../../trust/pki/card-certificates.js";
import type { PemIdentity, SandboxCountry, SandboxPki } from "../../trust/pki/index.js";
import { SoftwareSigner } from "../../trust/signers/index.js";
import { lazySignerSource, type SignerSource } from "./signer-registry.js";

export interface SandboxSignerOptions {
  /** Provision CPS cards in SoftHSM when it is installed (default true). */
  cards?: boolean;
  /** How many French practitioners get a card (default 2, at most the number of practitioners). */
  maxCards?: number;
}

// RFC 9336 §3 id-kp-documentSigning, as the CPS signature certificate carries (src/trust/pki/card-certificates.ts).
const DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36";
const ORGANIZATION = "Passerelle Sandbox";
const DEFAULT_MAX_CARDS = 2;

/** A sandbox practitioner as a CPS card holder: the RPPS is PSC's SubjectNameID without its leading "8". */
function cpsPractitionerOf(practitioner: SandboxPractitioner): CpsPractitioner {
  const rpps = practitioner.aliases[0] ?? practitioner.login.replace(/^8/, "");
  return {
    rpps,
    givenName: String(practitioner.claims.given_name),
    familyName: String(practitioner.claims.family_name),
    profession: practitioner.profession.replaceAll("/", "-"),
  };
}

/** A document-signing certificate (nonRepudiation) for a LU or BE practitioner, from their country's CA. */
function practitionerSignatureIdentity(pki: SandboxPki, country: Exclude<SandboxCountry, "FR">, practitioner: SandboxPractitioner): Promise<PemIdentity> {
  const given = String(practitioner.claims.given_name);
  const family = String(practitioner.claims.family_name).toLocaleUpperCase("fr-FR");
  return pki.clientIdentity(`${country.toLowerCase()}-practitioner-${practitioner.login.replace(/[^A-Za-z0-9]/g, "")}-sign`, {
    country,
    subject: { C: country, O: ORGANIZATION, OU: practitioner.profession, SN: family, G: given, serialNumber: practitioner.login, CN: `${given} ${family}` },
    extendedKeyUsages: ["emailProtection", DOCUMENT_SIGNING_EKU],
    keyUsages: ["nonRepudiation", "digitalSignature"],
  });
}

function softwareSigner(id: string, identity: PemIdentity): SoftwareSigner {
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: [identity.certPem, ...identity.chainPem].join("") }, { id });
}

/**
 * The sandbox signers, in a stable order (FR, then LU, then BE; a card
 * right after the same practitioner's software key). The first one is the
 * default signer.
 */
export interface SignerSet {
  sources: SignerSource[];
  /** Releases what the sources share (the PKCS#11 library), after the sources themselves were closed. */
  close(): Promise<void>;
}

export async function sandboxSignerSources(sandbox: SandboxEndpoints, logger: Logger, dataDir: string, options: SandboxSignerOptions = {}): Promise<SignerSet> {
  const pki = sandbox.pki;
  const french = frenchPractitioners();
  const wantCards = (options.cards ?? true) && (await isSoftHsmAvailable());
  const carded = wantCards ? french.slice(0, Math.max(0, options.maxCards ?? DEFAULT_MAX_CARDS)) : [];
  const cards = carded.length > 0 ? new SandboxCards(pki, carded.map(cpsPractitionerOf), join(dataDir, "softhsm"), logger) : undefined;
  if (!wantCards) logger.info("SoftHSM not installed: sandbox practitioners sign with software keys only");

  const sources: SignerSource[] = [];
  for (const practitioner of french) {
    const cps = cpsPractitionerOf(practitioner);
    const nationalId = practitioner.login;
    sources.push(
      lazySignerSource(
        { id: `fr-${cps.rpps}`, kind: "software", label: `${practitioner.displayName} (${practitioner.profession}), software key`, country: "FR", practitionerId: nationalId },
        async () => softwareSigner(`fr-${cps.rpps}`, (await issueCpsCard(pki, cps)).signature),
      ),
    );
    if (cards !== undefined && carded.includes(practitioner)) {
      const id = `fr-${cps.rpps}-card`;
      sources.push(
        lazySignerSource(
          { id, kind: "pkcs11", label: `${practitioner.displayName} (${practitioner.profession}), CPS card (SoftHSM)`, country: "FR", practitionerId: nationalId },
          () => cards.open(cps.rpps, id),
        ),
      );
    }
  }
  for (const [country, practitioners] of [
    ["LU", luxembourgPractitioners()],
    ["BE", belgianPractitioners()],
  ] as const) {
    for (const practitioner of practitioners) {
      const id = `${country.toLowerCase()}-${practitioner.login}`;
      sources.push(
        lazySignerSource(
          { id, kind: "software", label: `${practitioner.displayName} (${practitioner.profession}), software key`, country, practitionerId: practitioner.login },
          async () => softwareSigner(id, await practitionerSignatureIdentity(pki, country, practitioner)),
        ),
      );
    }
  }
  return { sources, close: async () => cards?.close() };
}

/**
 * The sandbox CPS cards: provisioned into SoftHSM together on first use,
 * opened one by one through a shared PKCS#11 library.
 */
class SandboxCards {
  readonly #pki: SandboxPki;
  readonly #practitioners: readonly CpsPractitioner[];
  readonly #dir: string;
  readonly #logger: Logger;
  #ready: Promise<{ module: Pkcs11Module; cards: Map<string, ProvisionedCard> }> | undefined;

  constructor(pki: SandboxPki, practitioners: readonly CpsPractitioner[], dir: string, logger: Logger) {
    this.#pki = pki;
    this.#practitioners = practitioners;
    this.#dir = dir;
    this.#logger = logger;
  }

  async open(rpps: string, id: string): Promise<Pkcs11Signer> {
    const { module, cards } = await this.#provision();
    const card = cards.get(rpps);
    if (card === undefined) throw new TypeError(`No sandbox card for RPPS ${rpps}`);
    return Pkcs11Signer.open({
      tokenLabel: card.tokenLabel,
      pin: card.pin,
      certificateId: CPS_SIGNATURE_KEY.id,
      module,
      issuerCertificates: card.signature.chainPem,
      id,
    });
  }

  #provision(): Promise<{ module: Pkcs11Module; cards: Map<string, ProvisionedCard> }> {
    const attempt = (this.#ready ??= this.#provisionNow());
    attempt.catch(() => {
      if (this.#ready === attempt) this.#ready = undefined;
    });
    return attempt;
  }

  async #provisionNow(): Promise<{ module: Pkcs11Module; cards: Map<string, ProvisionedCard> }> {
    const started = Date.now();
    const cards = new Map<string, ProvisionedCard>();
    // One at a time: the tools write the same token directory.
    for (const practitioner of this.#practitioners) {
      const pin = String(randomInt(0, 100_000_000)).padStart(8, "0");
      cards.set(practitioner.rpps, await provisionCardToken(this.#pki, practitioner, { dir: this.#dir, pin }));
    }
    const configPath = [...cards.values()][0]?.softhsmConfigPath;
    if (configPath !== undefined) {
      // SoftHSM reads its configuration once, at the process's first C_Initialize (SoftHSM2 README,
      // "SOFTHSM2_CONF"): it must point at the sandbox cards before the library is loaded.
      const previous = process.env.SOFTHSM2_CONF;
      if (previous !== undefined && previous !== configPath) {
        this.#logger.warn({ previous, configPath }, "SOFTHSM2_CONF pointed elsewhere; the sandbox cards replace it for this process");
      }
      process.env.SOFTHSM2_CONF = configPath;
    }
    const modulePath = [...cards.values()][0]?.modulePath;
    const module = Pkcs11Module.open(modulePath === undefined ? {} : { path: modulePath });
    this.#logger.info({ cards: [...cards.values()].map((card) => card.tokenLabel), ms: Date.now() - started }, "sandbox CPS cards provisioned in SoftHSM");
    return { module, cards };
  }

  /** Unloads the library once the card signers are closed (their lazy sources close them). */
  async close(): Promise<void> {
    const ready = await this.#ready?.catch(() => undefined);
    ready?.module.close();
  }
}
