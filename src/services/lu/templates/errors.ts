/**
 * The errors of the template store: each a PasserelleError with a catalogue
 * code (src/errors/catalogue.ts, docs/errors.md).
 */
import { PasserelleError, type InvalidParam } from "../../../errors/index.js";

/** Why a template package from iHub was refused (the problem document's `reason`). */
export type PackageRejectionReason =
  | "malformed"
  | "unsigned"
  | "signature_invalid"
  | "signer_untrusted"
  | "hash_mismatch"
  | "file_missing"
  | "file_unexpected"
  | "template_invalid"
  | "downgrade"
  | "version_reused";

export class TemplatePackageError extends PasserelleError {
  readonly reason: PackageRejectionReason;

  constructor(reason: PackageRejectionReason, detail: string, options: { cause?: unknown; upstream?: string } = {}) {
    super("PASSERELLE_TEMPLATE_PACKAGE_REJECTED", {
      detail,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      extensions: { reason, ...(options.upstream === undefined ? {} : { upstream: options.upstream }) },
    });
    this.name = "TemplatePackageError";
    this.reason = reason;
  }
}

export function templateUnknown(id: string, version: string | undefined, available: string | undefined): PasserelleError {
  const wanted = version === undefined ? `"${id}"` : `"${id}" version ${version}`;
  const hint = available === undefined ? "" : ` (available: ${available})`;
  return new PasserelleError("PASSERELLE_TEMPLATE_UNKNOWN", {
    detail: `No document template ${wanted}${hint}`,
    extensions: { template: id, ...(version === undefined ? {} : { version }) },
  });
}

/** Data that does not fit the template: 422 with one entry per offending field. */
export function templateDataInvalid(templateId: string, version: string, invalidParams: InvalidParam[]): PasserelleError {
  const first = invalidParams[0];
  const summary = first === undefined ? "" : `: ${first.pointer === "" ? "(document)" : first.pointer} ${first.detail}`;
  const more = invalidParams.length > 1 ? ` (and ${invalidParams.length - 1} more)` : "";
  return new PasserelleError("PASSERELLE_UNPROCESSABLE", {
    detail: `The data does not fit template ${templateId} ${version}${summary}${more}`,
    invalidParams,
    extensions: { template: templateId, templateVersion: version },
  });
}

export function templateStoreInvalid(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_TEMPLATE_STORE_INVALID", { detail, ...(cause === undefined ? {} : { cause }) });
}
