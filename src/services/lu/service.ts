/**
 * The Luxembourg use cases, without HTTP — what the CNS eConnector SaaS does
 * for practice software, on the gateway's parts:
 *
 * - official documents: validate the data against the template's schema,
 *   render the PDF (deterministic), sign it PAdES-B-T in the practitioner's
 *   name through the remote signature service (KMS: the practitioner's key,
 *   the KMS's time-stamp), and optionally deposit it on mySecu;
 * - mySecu deposits of already signed documents, idempotent on the caller's key;
 * - the template catalogue and its iHub updates.
 *
 * The practitioner acts through their AeS access token: brought by the caller
 * (validated here before anything is used — signature, issuer, audience,
 * expiry), or taken from a gateway login session. The document must name the
 * same practitioner: a token of Dr A never signs a document written as Dr B.
 *
 * Nothing is kept between requests but what the vault holds (mySecu
 * idempotency) and the template store: two instances serve any request.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { AuditOutcome, AuditSink } from "../../audit/index.js";
import { PasserelleError } from "../../errors/index.js";
import { loadPades } from "../../protocols/pades/load.js";
import type { IdentityService } from "../identity/service.js";
import type { Vault } from "../../vault/index.js";
import { KmsSigner, type KmsClient, type KmsTrust } from "./kms/index.js";
import { IdempotentRunner, type MySecuClient, type MySecuDeposit } from "./mysecu/index.js";
import type { PackageTrust } from "./templates/package-signature.js";
import { syncTemplates, type IhubClient, type TemplateRollbackReport, type TemplateStore, type TemplateSyncReport } from "./templates/index.js";
import type { TemplateSummary } from "./templates/template-set.js";

/**
 * How long a sign-and-deposit result (the signed PDF, ~100 kB) answers retries
 * with the same idempotency key. Retries come within minutes; a day of PDFs
 * would weigh gigabytes in Redis. Later, the same key with the same data is
 * refused by mySecu's own idempotency (the new signature differs): 422.
 */
const DOCUMENT_RESULT_TTL_SEC = 10 * 60;
/**
 * How long a sign-and-deposit claim protects its run from a concurrent retry:
 * longer than the worst case of one run (the request timeout, three KMS calls
 * and the mySecu claim), so a retry after a client-side timeout waits or gets
 * 409 instead of signing the document a second time.
 */
const DOCUMENT_CLAIM_MS = 5 * 60_000;

/** The AeS provider of the identity service (src/services/identity, PROVIDER_PROFILES). */
export const AES_PROVIDER = "lu-aes";

export interface LuCallContext {
  caller: string;
  requestId: string;
  signal?: AbortSignal;
}

/** How the practitioner is authenticated: their AeS access token, or a gateway session holding one. */
export type PractitionerCredential = { accessToken: string } | { session: string };

export interface CreateDocumentInput {
  templateId: string;
  version?: string;
  data: unknown;
  practitioner: PractitionerCredential;
  /** Deposit on mySecu in the same call, under this idempotency key. */
  deposit?: { idempotencyKey: string; title?: string };
}

export interface DocumentMetadata {
  documentId: string;
  templateId: string;
  templateVersion: string;
  packageVersion: string;
  title: string;
  pages: number;
  /** SHA-256 (hex) of the signed PDF. */
  sha256: string;
  size: number;
  signedAt: string;
  signer: { providerCode: string; subject: string; serialNumber: string };
  signatureLevel: "PAdES-B-T";
}

export interface CreatedDocument {
  pdf: Uint8Array;
  document: DocumentMetadata;
  deposit?: MySecuDeposit;
}

export interface DepositInput {
  pdf: Uint8Array;
  practitioner: PractitionerCredential;
  idempotencyKey: string;
  patientMatricule?: string;
  documentType?: string;
  title?: string;
  fileName?: string;
}

export interface LuServiceOptions {
  templates: TemplateStore;
  /** Holds the results of sign-and-deposit calls for their retries (idempotency), shared by every instance. */
  vault: Vault;
  identity: IdentityService;
  audit: AuditSink;
  logger: Logger;
  kms?: { client: KmsClient; trust: KmsTrust };
  mysecu?: MySecuClient;
  ihub?: { client: IhubClient; trust: PackageTrust };
  /** Settings each missing part needs, for the 503 that says so. */
  missing: { kms: readonly string[]; mysecu: readonly string[]; ihub: readonly string[] };
}

interface Practitioner {
  accessToken: string;
  providerCode: string;
}

export class LuService {
  readonly #options: LuServiceOptions;
  /** One sync at a time per instance; a second caller gets the running one's report. */
  #syncing: Promise<TemplateSyncReport> | undefined;
  readonly #documents: IdempotentRunner;

  constructor(options: LuServiceOptions) {
    this.#options = options;
    // A retry of "sign and deposit" must return the first signed PDF and deposit, not sign again: every
    // signature differs (its time, its time-stamp), so mySecu would see another document under the same key.
    this.#documents = new IdempotentRunner({
      vault: options.vault,
      namespace: "lu:document",
      ttlSeconds: DOCUMENT_RESULT_TTL_SEC,
      leaseMs: DOCUMENT_CLAIM_MS,
      waitMs: 15_000,
      pollIntervalMs: 200,
      logger: options.logger,
    });
  }

  get templates(): TemplateStore {
    return this.#options.templates;
  }

  listTemplates(): TemplateSummary[] {
    return this.#options.templates.list();
  }

  /** Downloads, verifies and applies the latest iHub package (see templates/sync-templates.ts). */
  syncTemplates(ctx: LuCallContext): Promise<TemplateSyncReport> {
    const ihub = this.#options.ihub;
    if (ihub === undefined) throw notConfigured("iHub template updates", this.#options.missing.ihub);
    this.#syncing ??= this.#audited("lu.templates.sync", ctx, undefined, async (note) => {
      const report = await syncTemplates({ store: this.#options.templates, ihub: ihub.client, trust: ihub.trust, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      note.push(`outcome=${report.outcome}`, `package=${report.packageVersion}`);
      this.#options.logger.info(
        { outcome: report.outcome, packageVersion: report.packageVersion, added: report.added, updated: report.updated, removed: report.removed },
        "iHub template sync",
      );
      return report;
    }).finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async rollbackTemplates(ctx: LuCallContext): Promise<TemplateRollbackReport> {
    return this.#audited("lu.templates.rollback", ctx, undefined, async () => this.#options.templates.rollback());
  }

  async createDocument(ctx: LuCallContext, input: CreateDocumentInput): Promise<CreatedDocument> {
    const kms = this.#options.kms;
    if (kms === undefined) throw notConfigured("the remote signature service (KMS)", this.#options.missing.kms);
    if (input.deposit !== undefined && this.#options.mysecu === undefined) throw notConfigured("mySecu deposits", this.#options.missing.mysecu);
    const templates = this.#options.templates;
    // The version is resolved once: validation and rendering use the same template even if a sync lands in between.
    const pinned: CreateDocumentInput = { ...input, version: input.version ?? templates.get(input.templateId).version };
    // Validation first: a 422 costs no token check and no upstream call.
    templates.validate(input.templateId, input.data, { version: pinned.version, pointerPrefix: "/data" });
    const named = namedPeople(input.data);
    const practitioner = await this.#practitioner(ctx, input.practitioner);
    if (input.deposit !== undefined) {
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([input.templateId, input.version ?? null, practitioner.providerCode, input.deposit.title ?? null, input.data]))
        .digest("hex");
      const outcome = await this.#documents.run(ctx.caller, input.deposit.idempotencyKey, fingerprint, async () => {
        const created = await this.#createDocument(ctx, pinned, practitioner, named);
        return { pdf: Buffer.from(created.pdf).toString("base64"), document: created.document, deposit: created.deposit };
      });
      const { pdf, document, deposit } = outcome.result;
      if (outcome.replayed) {
        // The first signed document leaves the gateway again: an access to patient data like the first one.
        await this.#options.audit.append({
          action: "lu.document.create",
          caller: { software: ctx.caller, practitioner: practitioner.providerCode },
          ...(named.matricule === undefined ? {} : { patientId: named.matricule }),
          outcome: "success",
          requestId: ctx.requestId,
          detail: `template=${document.templateId} version=${document.templateVersion} replayed=true deposit=${deposit?.depositId ?? "none"}`,
        });
      }
      return { pdf: Buffer.from(pdf, "base64"), document, ...(deposit === undefined ? {} : { deposit: { ...deposit, replayed: deposit.replayed || outcome.replayed } }) };
    }
    return this.#createDocument(ctx, pinned, practitioner, named);
  }

  async #createDocument(
    ctx: LuCallContext,
    input: CreateDocumentInput,
    practitioner: Practitioner,
    named: { providerCode: string | undefined; matricule: string | undefined },
  ): Promise<CreatedDocument> {
    const templates = this.#options.templates;
    const kms = this.#options.kms;
    if (kms === undefined) throw notConfigured("the remote signature service (KMS)", this.#options.missing.kms);
    const versionOption = input.version === undefined ? {} : { version: input.version };
    return this.#audited("lu.document.create", ctx, { practitioner: practitioner.providerCode, patientId: named.matricule }, async (note) => {
      note.push(`template=${input.templateId}`);
      if (named.providerCode !== practitioner.providerCode) {
        throw new PasserelleError("PASSERELLE_FORBIDDEN", {
          detail: "The document names another practitioner (data.practitioner.providerCode) than the one whose access token signs it",
          invalidParams: [{ in: "body", pointer: "/data/practitioner/providerCode", detail: "must be the provider code of the logged-in practitioner" }],
        });
      }
      // The template version is the one this request started with, whatever a sync does meanwhile.
      const rendered = await templates.render(input.templateId, input.data, versionOption);
      note.push(`version=${rendered.templateVersion}`);
      const signer = await KmsSigner.create({ client: kms.client, trust: kms.trust, accessToken: practitioner.accessToken, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      const signedAt = new Date();
      const { signPdf } = await loadPades();
      const signed = await signPdf(rendered.signable, { signer, timestamp: signer.signatureTimestamp, reason: rendered.title, location: "Luxembourg", signingTime: signedAt });
      const certificate = signer.certificate;
      const document: DocumentMetadata = {
        documentId: rendered.documentId,
        templateId: rendered.templateId,
        templateVersion: rendered.templateVersion,
        packageVersion: rendered.packageVersion,
        title: rendered.title,
        pages: rendered.pages,
        sha256: sha256Hex(signed),
        size: signed.length,
        signedAt: signedAt.toISOString(),
        signer: { providerCode: practitioner.providerCode, subject: certificate.subject.replaceAll("\n", ", "), serialNumber: certificate.serialNumber },
        signatureLevel: "PAdES-B-T",
      };
      if (input.deposit === undefined) return { pdf: signed, document };
      const deposit = await this.#deposit(ctx, {
        pdf: signed,
        practitioner,
        idempotencyKey: input.deposit.idempotencyKey,
        ...(named.matricule === undefined ? {} : { patientMatricule: named.matricule }),
        // mySecu's document types are upper-case codes (ECIT, MEMOIRE_HONORAIRES, PID).
        documentType: templates.get(rendered.templateId, rendered.templateVersion).documentType.toUpperCase(),
        title: input.deposit.title ?? rendered.title,
        fileName: `${rendered.templateId}-${rendered.documentId.slice(0, 16)}.pdf`,
      });
      note.push(`deposit=${deposit.depositId}`);
      return { pdf: signed, document, deposit };
    });
  }

  async deposit(ctx: LuCallContext, input: DepositInput): Promise<MySecuDeposit> {
    if (this.#options.mysecu === undefined) throw notConfigured("mySecu deposits", this.#options.missing.mysecu);
    const practitioner = await this.#practitioner(ctx, input.practitioner);
    return this.#audited(
      "lu.mysecu.deposit",
      ctx,
      { practitioner: practitioner.providerCode, patientId: input.patientMatricule },
      async (note) => {
        const deposit = await this.#deposit(ctx, { ...input, practitioner });
        note.push(`deposit=${deposit.depositId}`, `replayed=${deposit.replayed}`);
        return deposit;
      },
    );
  }

  async #deposit(ctx: LuCallContext, input: Omit<DepositInput, "practitioner"> & { practitioner: Practitioner }): Promise<MySecuDeposit> {
    const mysecu = this.#options.mysecu;
    if (mysecu === undefined) throw notConfigured("mySecu deposits", this.#options.missing.mysecu);
    return mysecu.deposit({
      pdf: input.pdf,
      providerCode: input.practitioner.providerCode,
      idempotencyKey: input.idempotencyKey,
      callerId: ctx.caller,
      ...(input.patientMatricule === undefined ? {} : { patientMatricule: input.patientMatricule }),
      ...(input.documentType === undefined ? {} : { documentType: input.documentType }),
      ...(input.title === undefined ? {} : { title: input.title }),
      ...(input.fileName === undefined ? {} : { fileName: input.fileName }),
    });
  }

  /** The practitioner behind the credential, with a token the gateway has validated itself. */
  async #practitioner(ctx: LuCallContext, credential: PractitionerCredential): Promise<Practitioner> {
    const identity = this.#options.identity;
    if ("session" in credential) {
      const tokens = await identity.sessionTokens({ caller: ctx.caller, requestId: ctx.requestId }, credential.session);
      if (tokens.provider !== AES_PROVIDER) {
        throw new PasserelleError("PASSERELLE_FORBIDDEN", { detail: `This session is with ${tokens.provider}; Luxembourg services need an Agence eSanté (${AES_PROVIDER}) login` });
      }
      if (tokens.practitionerId === undefined) throw new PasserelleError("PASSERELLE_AUTH_TOKEN_INVALID", { detail: "The session's token names no provider code" });
      return { accessToken: tokens.accessToken, providerCode: tokens.practitionerId };
    }
    if (identity.providers.provider(AES_PROVIDER)?.accessTokens === undefined) {
      throw notConfigured("Agence eSanté access tokens", ["AES_ISSUER", "AES_CLIENT_ID or AES_AUDIENCE"]);
    }
    const validated = await identity.validateBroughtToken(AES_PROVIDER, credential.accessToken);
    if (validated.practitionerId === undefined) {
      throw new PasserelleError("PASSERELLE_AUTH_TOKEN_INVALID", { detail: "The access token carries no provider_code claim: it does not identify a practitioner" });
    }
    return { accessToken: credential.accessToken, providerCode: validated.practitionerId };
  }

  async #audited<T>(
    action: string,
    ctx: LuCallContext,
    subject: { practitioner: string; patientId: string | undefined } | undefined,
    run: (note: string[]) => Promise<T>,
  ): Promise<T> {
    const note: string[] = [];
    const record = (outcome: AuditOutcome) =>
      this.#options.audit.append({
        action,
        caller: { software: ctx.caller, ...(subject === undefined ? {} : { practitioner: subject.practitioner }) },
        ...(subject?.patientId === undefined ? {} : { patientId: subject.patientId }),
        outcome,
        requestId: ctx.requestId,
        ...(note.length === 0 ? {} : { detail: note.join(" ").slice(0, 1000) }),
      });
    let result: T;
    try {
      result = await run(note);
    } catch (error) {
      if (error instanceof PasserelleError) note.push(`error=${error.code}`);
      const denied = error instanceof PasserelleError && error.status === 403;
      await record(denied ? "denied" : "failure").catch((auditError: unknown) =>
        this.#options.logger.error({ err: auditError, action }, "audit record of a failed Luxembourg operation could not be written"),
      );
      throw error;
    }
    // The audit record is written before the document leaves: no record, no document.
    await record("success");
    return result;
  }
}

function notConfigured(what: string, settings: readonly string[]): PasserelleError {
  return new PasserelleError("PASSERELLE_SERVICE_NOT_CONFIGURED", {
    detail: `This gateway is not configured for ${what}: set ${settings.join(", ")}`,
  });
}

/** The practitioner and patient the (schema-valid) template data names: every CNS template has both. */
function namedPeople(data: unknown): { providerCode: string | undefined; matricule: string | undefined } {
  const record = data as { practitioner?: { providerCode?: unknown }; patient?: { matricule?: unknown } } | null;
  const providerCode = record?.practitioner?.providerCode;
  const matricule = record?.patient?.matricule;
  return {
    providerCode: typeof providerCode === "string" ? providerCode : undefined,
    matricule: typeof matricule === "string" ? matricule : undefined,
  };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
