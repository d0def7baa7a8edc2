/**
 * Reading trust material from disk: a PEM file or bundle, a DER certificate,
 * a directory of those, or a PKCS#12 truststore with aliases.
 *
 * Everything read must be complete and well formed — a truncated PEM block,
 * an unreadable file, a directory with no certificate all fail — because a
 * trust store that silently shrinks while a file is half-written would
 * start refusing (or, worse, accepting) peers. TrustStore keeps its previous
 * content when this fails during a reload.
 *
 * @example
 * ```ts
 * const entries = await loadTruststore("/etc/passerelle/truststore.p12", { password: "changeit", aliases: ["luxtrust-root"] });
 * ```
 */
import { X509Certificate } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { PasserelleError } from "../../errors/index.js";
import { trustStoreInvalid } from "./errors.js";
import { looksLikePem, parsePemBlocks } from "./pem.js";
import { isPkcs12, readPkcs12Certificates, trustedCertificatesOf } from "./pkcs12-truststore.js";

export interface TrustedCertificate {
  certificate: X509Certificate;
  /** PKCS#12 alias, or the file name for certificates read from a directory. */
  alias: string | undefined;
  /** The file it came from. */
  file: string;
}

export interface LoadTruststoreOptions {
  /** PKCS#12 password; "" (default) for files written without one. */
  password?: string;
  /** Keep only these aliases (PKCS#12 friendlyNames, or file names in a directory); each must exist. */
  aliases?: readonly string[];
}

/** File extensions read from a trust directory; anything else (editors' backups, temporary files) is ignored. */
const CERTIFICATE_EXTENSIONS = new Set([".pem", ".crt", ".cer", ".der", ".p12", ".pfx"]);
const PKCS12_EXTENSIONS = new Set([".p12", ".pfx"]);

function invalid(file: string, message: string, cause?: unknown): PasserelleError {
  return trustStoreInvalid(`trust store ${file}: ${message}`, cause);
}

async function readCertificateFile(file: string, password: string): Promise<TrustedCertificate[]> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    throw invalid(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`, error);
  }
  if (data.length === 0) throw invalid(file, "is empty");
  if (looksLikePem(data)) {
    let blocks;
    try {
      blocks = parsePemBlocks(data.toString("utf8"));
    } catch (error) {
      throw invalid(file, (error as Error).message, error);
    }
    const other = blocks.find((block) => block.label !== "CERTIFICATE");
    if (other !== undefined) throw invalid(file, `holds a ${other.label} block; a trust store holds certificates only`);
    return blocks.map((block, index) => {
      try {
        return { certificate: new X509Certificate(block.der), alias: undefined, file };
      } catch (error) {
        throw invalid(file, `certificate ${index + 1} is not a valid X.509 certificate`, error);
      }
    });
  }
  if (PKCS12_EXTENSIONS.has(extname(file).toLowerCase()) || isPkcs12(data)) {
    try {
      const entries = trustedCertificatesOf(await readPkcs12Certificates(data, password));
      return entries.map((entry) => ({ certificate: entry.certificate, alias: entry.alias, file }));
    } catch (error) {
      throw invalid(file, (error as Error).message, error);
    }
  }
  try {
    return [{ certificate: new X509Certificate(data), alias: undefined, file }];
  } catch (error) {
    throw invalid(file, "is neither PEM, a DER certificate nor PKCS#12", error);
  }
}

/** Reads the certificates of a file or directory. Throws PASSERELLE_TRUST_STORE_INVALID. */
export async function loadTruststore(path: string, options: LoadTruststoreOptions = {}): Promise<TrustedCertificate[]> {
  if (typeof path !== "string" || path === "") throw new TypeError("loadTruststore needs a path");
  if (options.password !== undefined && typeof options.password !== "string") throw new TypeError("password must be a string");
  if (options.aliases !== undefined && (!Array.isArray(options.aliases) || options.aliases.some((a) => typeof a !== "string" || a === ""))) {
    throw new TypeError("aliases must be an array of non-empty strings");
  }
  const password = options.password ?? "";
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw invalid(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`, error);
  }

  let entries: TrustedCertificate[];
  if (isDirectory) {
    const names = (await readdir(path, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.startsWith(".") && CERTIFICATE_EXTENSIONS.has(extname(entry.name).toLowerCase()))
      .map((entry) => entry.name)
      .sort();
    const perFile = await Promise.all(
      names.map(async (name) => (await readCertificateFile(join(path, name), password)).map((entry) => ({ ...entry, alias: entry.alias ?? name }))),
    );
    entries = perFile.flat();
  } else {
    entries = await readCertificateFile(path, password);
  }

  if (options.aliases !== undefined) {
    const missing = options.aliases.filter((alias) => !entries.some((entry) => entry.alias === alias));
    if (missing.length > 0) {
      const known = [...new Set(entries.map((entry) => entry.alias).filter((alias) => alias !== undefined))];
      throw invalid(path, `has no entry ${missing.map((a) => JSON.stringify(a)).join(", ")} (it has ${known.map((a) => JSON.stringify(a)).join(", ") || "no aliases"})`);
    }
    entries = entries.filter((entry) => entry.alias !== undefined && options.aliases!.includes(entry.alias));
  }
  if (entries.length === 0) throw invalid(path, "holds no certificate");
  return entries;
}
