/**
 * One iHub template sync: download the latest package, verify it, apply it
 * (./template-store.ts does the checks and the atomic swap) and report
 * what changed. Called by `POST /v1/lu/templates/sync` and by the periodic
 * job (LU_TEMPLATE_SYNC_MINUTES).
 *
 * @example
 * ```ts
 * const ihub = new IhubClient({ baseUrl: settings.ihubUrl, tls: { ca: ihubTlsAnchors } });
 * const report = await syncTemplates({ store, ihub, trust: { anchors: [ihubSigningCa] } });
 * // { outcome: "applied", packageVersion: "1.1.0", updated: [{ id: "lu-ecit", from: "1.0.0", to: "1.1.0" }], … }
 * ```
 */
import { TemplatePackageError } from "./errors.js";
import type { IhubClient } from "./ihub-client.js";
import { decodeBundle } from "./package-format.js";
import type { PackageTrust } from "./package-signature.js";
import type { TemplateStore, TemplateSyncReport } from "./template-store.js";

export interface SyncTemplatesOptions {
  store: TemplateStore;
  ihub: IhubClient;
  /** Who may sign packages (the iHub signing CA from the truststore). */
  trust: PackageTrust;
  signal?: AbortSignal;
}

/**
 * Resolves with the report; rejects with `TemplatePackageError`
 * (`PASSERELLE_TEMPLATE_PACKAGE_REJECTED`, naming the upstream) when the
 * package is refused, or with the transport's `UpstreamError` when iHub
 * cannot be reached — in both cases the active templates stay.
 */
export async function syncTemplates(options: SyncTemplatesOptions): Promise<TemplateSyncReport> {
  const { store, ihub, trust } = options;
  const active = store.snapshot();
  const download = await ihub.fetchLatestPackage({ ifNoneMatch: active.digest, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  if (download.notModified) {
    return { outcome: "unchanged", packageVersion: active.packageVersion, previousPackageVersion: active.packageVersion, digest: active.digest, added: [], updated: [], removed: [] };
  }
  try {
    return await store.applyPackage(decodeBundle(download.bundle), { trust });
  } catch (error) {
    if (error instanceof TemplatePackageError) {
      throw new TemplatePackageError(error.reason, `iHub package refused: ${error.detail}`, { cause: error, upstream: ihub.name });
    }
    throw error;
  }
}
