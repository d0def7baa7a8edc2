/**
 * Luxembourg CNS document templates: versioned templates (eCIT, mémoire
 * d'honoraires, PID) with a JSON Schema for their data and a layout
 * rendered to a deterministic PDF with embedded fonts; the template store
 * (active set, previous set, persistence); iHub template packages (signed
 * manifest, per-file SHA-256) and their verified, atomic sync.
 *
 * The package format is described in ./package-format.ts and README.md.
 */
export {
  TemplateStore,
  diffTemplateSets,
  type ApplyPackageOptions,
  type TemplateChanges,
  type TemplateRollbackReport,
  type TemplateStoreOptions,
  type TemplateSyncReport,
  type TemplateVersionChange,
  type TemplateVersionRef,
} from "./template-store.js";
export {
  TemplateSet,
  type RenderOptions,
  type RenderedDocument,
  type TemplateSetOrigin,
  type TemplateSummary,
  type ValidateOptions,
} from "./template-set.js";
export { syncTemplates, type SyncTemplatesOptions } from "./sync-templates.js";
export {
  IHUB_LATEST_PACKAGE_PATH,
  IHUB_PACKAGE_INDEX_PATH,
  IHUB_UPSTREAM_NAME,
  IhubClient,
  type IhubClientOptions,
  type PackageDownload,
  type PackageIndexEntry,
} from "./ihub-client.js";
export {
  BUNDLE_FORMAT,
  BUNDLE_MEDIA_TYPE,
  MANIFEST_FILE,
  PACKAGE_FORMAT,
  PACKAGE_LIMITS,
  SIGNATURE_FILE,
  buildManifest,
  checkPackageFiles,
  decodeBundle,
  encodeBundle,
  packageFrom,
  parseManifest,
  sha256Hex,
  type BuildManifestOptions,
  type PackageManifest,
  type TemplatePackage,
} from "./package-format.js";
export { CODE_SIGNING_EKU, signManifest, verifyPackageSignature, type PackageSigner, type PackageTrust } from "./package-signature.js";
export { builtinTemplatesDirectory, readPackageDirectory, writePackageDirectory } from "./package-directory.js";
export { TemplatePackageError, type PackageRejectionReason } from "./errors.js";
export { completeLuxembourgMatricule, isCnsProviderCode, isLuxembourgMatricule } from "./lu-identifiers.js";
export { compareSemver, isSemver } from "./semver.js";
export type { TemplateDefinition } from "./template-definition.js";
