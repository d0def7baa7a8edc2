/**
 * Damaged packages on demand, for the negative tests of template sync: once
 * a mode is set (`POST /_test/latest`), `GET …/templates/packages/latest`
 * answers with the latest package damaged in that one way, until cleared.
 *
 * - `corrupt-file`       a template file altered after signing (its hash no longer matches)
 * - `tampered-manifest`  a template file altered and the manifest's hash updated to match: the signature no longer verifies
 * - `unsigned`           no signature
 * - `untrusted-signer`   signed by a self-signed certificate (with the code-signing usage)
 * - `wrong-purpose`      signed by a certificate of the trusted LU CA without the code-signing usage
 * - `extra-file`         a file the manifest does not list
 * - `truncated`          the bundle cut in half (not JSON)
 *
 * A downgrade needs no damage: pin `latest` to an older published version
 * (`{ "version": "1.0.0" }`).
 */
import { buildManifest, encodeBundle, type TemplatePackage } from "../../services/lu/templates/package-format.js";
import type { Signer } from "../../trust/signer.js";
import { LU_IHUB_PUBLISHER, signWith } from "./catalogue.js";

export const PACKAGE_FAULT_MODES = [
  "corrupt-file",
  "tampered-manifest",
  "unsigned",
  "untrusted-signer",
  "wrong-purpose",
  "extra-file",
  "truncated",
] as const;
export type PackageFaultMode = (typeof PACKAGE_FAULT_MODES)[number];

export interface LatestOverride {
  /** Serve this published version as `latest` instead of the newest. */
  version?: string;
  mode?: PackageFaultMode;
}

/** Validates a `POST /_test/latest` body; returns the override or a message for a 400. */
export function parseLatestOverride(body: unknown, versions: readonly string[]): LatestOverride | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The body must be a JSON object";
  const { version, mode, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `Unknown member ${unknown.join(", ")} (allowed: version, mode)`;
  if (version !== undefined && (typeof version !== "string" || !versions.includes(version))) {
    return `version must be one of ${versions.join(", ")}`;
  }
  if (mode !== undefined && (typeof mode !== "string" || !(PACKAGE_FAULT_MODES as readonly string[]).includes(mode))) {
    return `mode must be one of ${PACKAGE_FAULT_MODES.join(", ")}`;
  }
  if (version === undefined && mode === undefined) return "Give a version, a mode, or both";
  return { ...(version === undefined ? {} : { version }), ...(mode === undefined ? {} : { mode: mode as PackageFaultMode }) };
}

export interface FaultSigners {
  wrongPurpose: () => Promise<Signer>;
  untrusted: () => Promise<Signer>;
}

const DAMAGED_FILE = "templates/lu-ecit.json";

function damagedFiles(pkg: TemplatePackage): Map<string, Buffer> {
  const files = new Map(pkg.files);
  const original = files.get(DAMAGED_FILE);
  if (original === undefined) throw new Error(`the package has no ${DAMAGED_FILE}`);
  // Same length, one character changed: only the hash can tell.
  const altered = Buffer.from(original);
  const at = altered.indexOf("Certificat");
  altered.write("Cortificat", at);
  files.set(DAMAGED_FILE, altered);
  return files;
}

/** The bundle bytes of `pkg` damaged by `mode`. */
export async function damagedBundle(pkg: TemplatePackage, mode: PackageFaultMode, signers: FaultSigners): Promise<Buffer> {
  switch (mode) {
    case "corrupt-file":
      return encodeBundle({ ...pkg, files: damagedFiles(pkg) });
    case "tampered-manifest": {
      const files = damagedFiles(pkg);
      const manifestBytes = buildManifest({ packageVersion: pkg.manifest.packageVersion, publisher: LU_IHUB_PUBLISHER, files });
      return encodeBundle({ manifestBytes, files, signature: pkg.signature });
    }
    case "unsigned":
      return encodeBundle({ ...pkg, signature: undefined });
    case "untrusted-signer":
      return encodeBundle(await signWith(pkg.manifestBytes, pkg.files, await signers.untrusted()));
    case "wrong-purpose":
      return encodeBundle(await signWith(pkg.manifestBytes, pkg.files, await signers.wrongPurpose()));
    case "extra-file": {
      const files = new Map(pkg.files);
      files.set("templates/lu-extra.json", Buffer.from('{"id":"lu-extra"}\n'));
      return encodeBundle({ ...pkg, files });
    }
    case "truncated": {
      const bundle = encodeBundle(pkg);
      return bundle.subarray(0, Math.floor(bundle.length / 2));
    }
  }
}
