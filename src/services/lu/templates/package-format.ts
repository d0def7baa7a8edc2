/**
 * The template package: what iHub publishes, what the store keeps on disk,
 * and what is built into the gateway — one format, data only.
 *
 * A package is a set of files with a manifest:
 *
 * ```text
 * manifest.json            the manifest (below), UTF-8 JSON
 * manifest.p7s             detached CMS SignedData (RFC 5652) over the exact bytes of manifest.json
 * templates/lu-ecit.json   one file per template (./template-definition.ts)
 * fonts/DejaVuSans.ttf     assets the templates refer to (fonts, their licence)
 * ```
 *
 * ```json
 * {
 *   "format": "passerelle.lu-templates/1",
 *   "packageVersion": "1.1.0",
 *   "publisher": "CNS iHub",
 *   "templates": [ { "id": "lu-ecit", "version": "1.1.0", "path": "templates/lu-ecit.json" } ],
 *   "files": [ { "path": "templates/lu-ecit.json", "size": 5120, "sha256": "<64 hex>" } ]
 * }
 * ```
 *
 * The signature covers the manifest, and the manifest pins every file by
 * size and SHA-256: verifying the signature and then each file's hash
 * authenticates the whole package. Every file must be listed, and nothing
 * outside the list is accepted. Paths are relative, `/`-separated, made of
 * `[A-Za-z0-9._-]` segments not starting with a dot (no `..`, no hidden
 * files, no absolute paths), so a package can be written to disk as is.
 *
 * On the wire (iHub `GET …/templates/packages/latest`) a package is one JSON
 * document, the **bundle**, `application/json`:
 *
 * ```json
 * { "format": "passerelle.lu-templates.bundle/1", "manifest": "<base64>", "signature": "<base64 DER>",
 *   "files": { "templates/lu-ecit.json": "<base64>", … } }
 * ```
 *
 * Anyone can check a package with OpenSSL: write the manifest and the
 * signature to files, then `openssl cms -verify -binary -inform DER -in
 * manifest.p7s -content manifest.json -CAfile ihub-ca.pem -purpose any`,
 * and `sha256sum` the files.
 */
import { createHash } from "node:crypto";
import { Type, type Static } from "typebox";
import { Check, Errors } from "typebox/schema";
import { TemplatePackageError } from "./errors.js";
import { compareSemver, isSemver } from "./semver.js";

export const PACKAGE_FORMAT = "passerelle.lu-templates/1";
export const BUNDLE_FORMAT = "passerelle.lu-templates.bundle/1";
export const MANIFEST_FILE = "manifest.json";
export const SIGNATURE_FILE = "manifest.p7s";
export const BUNDLE_MEDIA_TYPE = "application/json";

/** Bounds that keep a hostile or broken package from exhausting memory. */
export const PACKAGE_LIMITS = {
  bundleBytes: 48 * 1024 * 1024,
  files: 128,
  fileBytes: 16 * 1024 * 1024,
  templates: 64,
} as const;

const PATH_PATTERN = "^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$";

const ManifestSchema = Type.Object(
  {
    format: Type.Literal(PACKAGE_FORMAT),
    packageVersion: Type.String({ maxLength: 64 }),
    publisher: Type.String({ minLength: 1, maxLength: 200 }),
    templates: Type.Array(
      Type.Object(
        {
          id: Type.String({ pattern: "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", maxLength: 64 }),
          version: Type.String({ maxLength: 64 }),
          path: Type.String({ pattern: PATH_PATTERN, maxLength: 200 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: PACKAGE_LIMITS.templates },
    ),
    files: Type.Array(
      Type.Object(
        {
          path: Type.String({ pattern: PATH_PATTERN, maxLength: 200 }),
          size: Type.Integer({ minimum: 0, maximum: PACKAGE_LIMITS.fileBytes }),
          sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: PACKAGE_LIMITS.files },
    ),
  },
  { additionalProperties: false },
);

export type PackageManifest = Static<typeof ManifestSchema>;

/** A package read from the wire or from disk, not yet trusted. */
export interface TemplatePackage {
  /** The manifest exactly as signed. */
  readonly manifestBytes: Buffer;
  readonly manifest: PackageManifest;
  /** SHA-256 (hex) of `manifestBytes`: names the package (and, through the hashes, its content). */
  readonly digest: string;
  readonly files: ReadonlyMap<string, Buffer>;
  /** DER CMS SignedData over `manifestBytes`; absent for the built-in package and unsigned uploads. */
  readonly signature: Buffer | undefined;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Parses and checks a manifest's structure; throws `TemplatePackageError` (`malformed`). */
export function parseManifest(bytes: Buffer): PackageManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TemplatePackageError("malformed", "The package manifest is not UTF-8 JSON", { cause: error });
  }
  // Interpreted, not compiled: one small document per package, where compiling the schema cost ten times the check.
  if (!Check(ManifestSchema, parsed)) {
    const [, errors] = Errors(ManifestSchema, parsed);
    const first = errors[0];
    throw new TemplatePackageError("malformed", `The package manifest is invalid at ${first?.instancePath || "/"}: ${first?.message ?? "?"}`);
  }
  const manifest = parsed as PackageManifest;
  if (!isSemver(manifest.packageVersion)) {
    throw new TemplatePackageError("malformed", `packageVersion ${JSON.stringify(manifest.packageVersion)} is not a semantic version`);
  }
  const paths = new Set<string>();
  for (const file of manifest.files) {
    if (paths.has(file.path)) throw new TemplatePackageError("malformed", `The manifest lists ${file.path} twice`);
    if (file.path === MANIFEST_FILE || file.path === SIGNATURE_FILE) {
      throw new TemplatePackageError("malformed", `${file.path} cannot be a package file`);
    }
    paths.add(file.path);
  }
  const ids = new Set<string>();
  for (const template of manifest.templates) {
    if (ids.has(template.id)) throw new TemplatePackageError("malformed", `The manifest lists template ${template.id} twice`);
    ids.add(template.id);
    if (!isSemver(template.version)) {
      throw new TemplatePackageError("malformed", `Template ${template.id}: version ${JSON.stringify(template.version)} is not a semantic version`);
    }
    if (!paths.has(template.path)) throw new TemplatePackageError("malformed", `Template ${template.id}: ${template.path} is not among the manifest's files`);
  }
  return manifest;
}

/**
 * Checks that `files` are exactly the manifest's files, each with its size
 * and SHA-256. Throws `TemplatePackageError` (`file_missing`,
 * `file_unexpected`, `hash_mismatch`).
 */
export function checkPackageFiles(manifest: PackageManifest, files: ReadonlyMap<string, Uint8Array>): void {
  const listed = new Set(manifest.files.map((file) => file.path));
  for (const path of files.keys()) {
    if (!listed.has(path)) throw new TemplatePackageError("file_unexpected", `The package holds ${path}, which its manifest does not list`);
  }
  for (const file of manifest.files) {
    const bytes = files.get(file.path);
    if (bytes === undefined) throw new TemplatePackageError("file_missing", `The package lacks ${file.path}, listed in its manifest`);
    if (bytes.length !== file.size || sha256Hex(bytes) !== file.sha256) {
      throw new TemplatePackageError("hash_mismatch", `${file.path} does not match the SHA-256 of the manifest (altered or truncated)`);
    }
  }
}

export function packageFrom(manifestBytes: Buffer, files: ReadonlyMap<string, Buffer>, signature: Buffer | undefined): TemplatePackage {
  return { manifestBytes, manifest: parseManifest(manifestBytes), digest: sha256Hex(manifestBytes), files, signature };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: unknown, what: string): Buffer {
  // Buffer.from(…, "base64") skips characters it does not know: a damaged bundle must fail, not shrink.
  if (typeof text !== "string" || !BASE64.test(text)) throw new TemplatePackageError("malformed", `${what} is not base64`);
  return Buffer.from(text, "base64");
}

/** Reads a bundle (the wire form). Throws `TemplatePackageError` (`malformed`) on anything but a well-formed bundle. */
export function decodeBundle(bytes: Uint8Array): TemplatePackage {
  if (bytes.length > PACKAGE_LIMITS.bundleBytes) throw new TemplatePackageError("malformed", `The package exceeds ${PACKAGE_LIMITS.bundleBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TemplatePackageError("malformed", "The package is not a JSON bundle (truncated or corrupt)", { cause: error });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new TemplatePackageError("malformed", "The package is not a JSON object");
  const bundle = parsed as Record<string, unknown>;
  if (bundle.format !== BUNDLE_FORMAT) throw new TemplatePackageError("malformed", `Unknown package format ${JSON.stringify(bundle.format)} (expected ${BUNDLE_FORMAT})`);
  const manifestBytes = decodeBase64(bundle.manifest, "The manifest");
  const signature = bundle.signature === undefined || bundle.signature === null ? undefined : decodeBase64(bundle.signature, "The signature");
  const filesObject = bundle.files;
  if (filesObject === null || typeof filesObject !== "object" || Array.isArray(filesObject)) throw new TemplatePackageError("malformed", "The package has no files object");
  const entries = Object.entries(filesObject);
  if (entries.length > PACKAGE_LIMITS.files) throw new TemplatePackageError("malformed", `The package has more than ${PACKAGE_LIMITS.files} files`);
  const files = new Map<string, Buffer>(entries.map(([path, content]) => [path, decodeBase64(content, `File ${path}`)]));
  return packageFrom(manifestBytes, files, signature);
}

/** The wire form of a package (what the iHub simulator serves). */
export function encodeBundle(pkg: Pick<TemplatePackage, "manifestBytes" | "files" | "signature">): Buffer {
  const files: Record<string, string> = {};
  for (const path of [...pkg.files.keys()].sort()) files[path] = pkg.files.get(path)!.toString("base64");
  return Buffer.from(
    JSON.stringify({
      format: BUNDLE_FORMAT,
      manifest: pkg.manifestBytes.toString("base64"),
      ...(pkg.signature === undefined ? {} : { signature: pkg.signature.toString("base64") }),
      files,
    }),
  );
}

export interface BuildManifestOptions {
  packageVersion: string;
  publisher: string;
  /** Template id → package path of its definition; the version is read from the definition. */
  files: ReadonlyMap<string, Buffer>;
}

/**
 * Writes the manifest of a set of files: every file with its size and hash,
 * and every `templates/*.json` as a template. The bytes are deterministic
 * (paths sorted, two-space JSON, final new line).
 */
export function buildManifest(options: BuildManifestOptions): Buffer {
  if (!isSemver(options.packageVersion)) throw new TypeError(`packageVersion ${options.packageVersion} is not a semantic version`);
  const paths = [...options.files.keys()].sort();
  const templates = paths
    .filter((path) => /^templates\/[^/]+\.json$/.test(path))
    .map((path) => {
      const definition = JSON.parse(options.files.get(path)!.toString("utf8")) as { id?: unknown; version?: unknown };
      if (typeof definition.id !== "string" || typeof definition.version !== "string") throw new TypeError(`${path} has no id or version`);
      return { id: definition.id, version: definition.version, path };
    });
  const manifest: PackageManifest = {
    format: PACKAGE_FORMAT,
    packageVersion: options.packageVersion,
    publisher: options.publisher,
    templates,
    files: paths.map((path) => ({ path, size: options.files.get(path)!.length, sha256: sha256Hex(options.files.get(path)!) })),
  };
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** Orders packages by version (for reports and the downgrade check). */
export function comparePackageVersions(a: PackageManifest, b: PackageManifest): number {
  return compareSemver(a.packageVersion, b.packageVersion);
}
