/**
 * Certificate revocation lists (RFC 5280 §5) and where they come from: a
 * configured file (PEM or DER, re-read when it changes), an HTTP
 * distribution point fetched through the UpstreamClient and cached until the
 * CRL's nextUpdate, or CRLs given in memory.
 *
 * A source only returns what it has; whether a CRL is usable for a given
 * certificate (right issuer, valid signature, current, in scope) is decided
 * by the validator (revocation.ts).
 *
 * @example
 * ```ts
 * const crls = [
 *   new FileCrlSource("/etc/passerelle/crl/ans-ca.crl"),
 *   new HttpCrlSource({ client: new UpstreamClient({ name: "crl-lu", baseUrl: "http://crl.luxtrust.lu" }), path: "/LTGQCA.crl" }),
 * ];
 * await validateChain(leaf, { anchors, intermediates, purpose: "signature", crls });
 * ```
 */
import { stat, readFile } from "node:fs/promises";
import type { CRLDistributionPointsExtension, X509Crl } from "@peculiar/x509";
import type { UpstreamClient } from "../../transport/index.js";
import { ExtensionOid } from "../certificate-constants.js";
import { loadX509 } from "../x509-library.js";
import { parseCertificate, type CertificateInput } from "./certificate-input.js";
import { looksLikePem, parsePemBlocks } from "./pem.js";

/** A parsed CRL (made by parseCrls). */
export class Crl {
  readonly der: Buffer;
  readonly x509: X509Crl;
  /** DER of the issuer Name, compared with the issuing CA's subject. */
  readonly issuerDer: Buffer;

  private constructor(der: Buffer, x509: X509Crl) {
    this.der = der;
    this.x509 = x509;
    this.issuerDer = Buffer.from(x509.issuerName.toArrayBuffer());
  }

  /** Parses one DER CRL; throws CrlError when it is not one. */
  static async fromDer(der: Uint8Array): Promise<Crl> {
    const { X509Crl } = await loadX509();
    const bytes = Buffer.from(der);
    let x509: X509Crl;
    try {
      x509 = new X509Crl(bytes);
    } catch (error) {
      throw new CrlError("not a DER X.509 CRL", error);
    }
    return new Crl(bytes, x509);
  }

  get issuer(): string {
    return this.x509.issuer;
  }

  get thisUpdate(): Date {
    return this.x509.thisUpdate;
  }

  get nextUpdate(): Date | undefined {
    return this.x509.nextUpdate;
  }
}

/** A CRL that cannot be read or fetched. The validator reports it as `revocation_unavailable`. */
export class CrlError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CrlError";
  }
}

/** Parses a CRL file or HTTP body: one DER CRL, or PEM with one or more `X509 CRL` blocks. */
export async function parseCrls(data: Uint8Array | string): Promise<Crl[]> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  if (!looksLikePem(bytes)) return [await Crl.fromDer(bytes)];
  let blocks;
  try {
    // RFC 7468 §5 names the label "X509 CRL"; some producers (including @peculiar/x509) write "CRL".
    blocks = parsePemBlocks(Buffer.from(bytes).toString("utf8")).filter((block) => block.label === "X509 CRL" || block.label === "CRL");
  } catch (error) {
    throw new CrlError(`damaged PEM CRL: ${(error as Error).message}`, error);
  }
  if (blocks.length === 0) throw new CrlError('no "X509 CRL" PEM block');
  return Promise.all(blocks.map((block) => Crl.fromDer(block.der)));
}

/** Where CRLs come from. Implementations may fetch; they throw when they cannot. */
export interface CrlSource {
  /** For messages: a file path or an upstream and path. */
  readonly description: string;
  /** The CRLs this source holds (current as the source sees them); the validator picks those of the right issuer. */
  crls(): Promise<readonly Crl[]>;
}

/** CRLs given in memory (configuration, tests). */
export class StaticCrlSource implements CrlSource {
  readonly description: string;
  readonly #given: ReadonlyArray<Crl | Uint8Array | string>;
  /** The parse, made at the first crls() call and kept, failed or not: the same CRLs give the same answer. */
  #parsed: Promise<readonly Crl[]> | undefined;

  /**
   * Parses the CRLs at the first crls() call, once; a CRL that does not
   * parse makes it reject with a TypeError naming it: these are the caller's own.
   */
  constructor(crls: ReadonlyArray<Crl | Uint8Array | string>, description = "configured CRLs") {
    if (!Array.isArray(crls)) throw new TypeError("StaticCrlSource needs an array of CRLs");
    if (!crls.every((crl) => crl instanceof Crl || crl instanceof Uint8Array || typeof crl === "string")) {
      throw new TypeError("StaticCrlSource takes CRLs as Crl objects, DER bytes or PEM text");
    }
    this.#given = [...crls];
    this.description = description;
  }

  crls(): Promise<readonly Crl[]> {
    this.#parsed ??= Promise.all(
      this.#given.map(async (crl, index) => {
        if (crl instanceof Crl) return [crl];
        try {
          return await parseCrls(crl);
        } catch (error) {
          throw new TypeError(`CRL ${index + 1}: ${(error as Error).message}`, { cause: error });
        }
      }),
    ).then((parsed) => parsed.flat());
    return this.#parsed;
  }
}

/** A CRL file (PEM or DER), re-read whenever its size or modification time changes. */
export class FileCrlSource implements CrlSource {
  readonly description: string;
  readonly #path: string;
  #cached: { key: string; crls: readonly Crl[] } | undefined;

  constructor(path: string) {
    if (typeof path !== "string" || path === "") throw new TypeError("FileCrlSource needs a file path");
    this.#path = path;
    this.description = `CRL file ${path}`;
  }

  async crls(): Promise<readonly Crl[]> {
    let key: string;
    try {
      const info = await stat(this.#path);
      key = `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      throw new CrlError(`cannot read ${this.description}`, error);
    }
    if (this.#cached?.key === key) return this.#cached.crls;
    const crls = await parseCrls(await readFile(this.#path).catch((error: unknown) => {
      throw new CrlError(`cannot read ${this.description}`, error);
    }));
    this.#cached = { key, crls };
    return crls;
  }
}

export interface HttpCrlSourceOptions {
  /** The upstream serving the CRL (timeouts, retries, TLS and metrics come with it). */
  client: UpstreamClient;
  /** Path of the CRL under the client's base URL, e.g. `/crl/fr-ca.crl`. */
  path: string;
  /** How long to keep a CRL that has no nextUpdate. Default one hour. */
  maxAgeMs?: number;
  /** Clock (tests move it). */
  now?: () => Date;
}

/**
 * A CRL distribution point over HTTP (RFC 5280 §4.2.1.13), fetched through
 * the UpstreamClient and cached until the CRL's nextUpdate. When a refresh
 * fails, the previous CRL is still returned — past its nextUpdate, so the
 * validator's stale-CRL policy decides — and the failure is thrown only when
 * there is nothing at all.
 */
export class HttpCrlSource implements CrlSource {
  readonly description: string;
  readonly #client: UpstreamClient;
  readonly #path: string;
  readonly #maxAgeMs: number;
  readonly #now: () => Date;
  #cached: { crls: readonly Crl[]; expiresAt: number } | undefined;
  #inflight: Promise<readonly Crl[]> | undefined;
  #fetches = 0;

  constructor(options: HttpCrlSourceOptions) {
    if (typeof options?.client?.request !== "function") throw new TypeError("HttpCrlSource needs an UpstreamClient");
    if (typeof options.path !== "string" || !options.path.startsWith("/")) throw new TypeError("HttpCrlSource path must start with /");
    if (options.maxAgeMs !== undefined && (!Number.isInteger(options.maxAgeMs) || options.maxAgeMs < 1)) {
      throw new TypeError("maxAgeMs must be a positive integer");
    }
    this.#client = options.client;
    this.#path = options.path;
    this.#maxAgeMs = options.maxAgeMs ?? 60 * 60 * 1000;
    this.#now = options.now ?? (() => new Date());
    this.description = `CRL ${options.path} of upstream ${options.client.name}`;
  }

  /** How many times the CRL was downloaded (for tests and diagnostics). */
  get fetches(): number {
    return this.#fetches;
  }

  async crls(): Promise<readonly Crl[]> {
    if (this.#cached !== undefined && this.#now().getTime() < this.#cached.expiresAt) return this.#cached.crls;
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<readonly Crl[]> {
    try {
      this.#fetches += 1;
      const answer = await this.#client.request({ method: "GET", path: this.#path, headers: { accept: "application/pkix-crl" } });
      const crls = await parseCrls(answer.body);
      const fetchedAt = this.#now().getTime();
      const nextUpdates = crls.map((crl) => crl.nextUpdate?.getTime()).filter((time): time is number => time !== undefined);
      const expiresAt = nextUpdates.length === crls.length ? Math.min(...nextUpdates) : fetchedAt + this.#maxAgeMs;
      this.#cached = { crls, expiresAt };
      return crls;
    } catch (error) {
      if (this.#cached !== undefined) return this.#cached.crls;
      throw error instanceof CrlError ? error : new CrlError(`cannot fetch ${this.description}`, error);
    }
  }
}

/** The http(s) URLs of a certificate's cRLDistributionPoints (RFC 5280 §4.2.1.13), to configure HttpCrlSources from. */
export async function crlDistributionPointUrls(certificate: CertificateInput): Promise<string[]> {
  // @peculiar/x509 parses this extension; Node's X509Certificate does not expose it.
  const extension = (await parseCertificate(certificate)).x509.getExtension<CRLDistributionPointsExtension>(ExtensionOid.cRLDistributionPoints);
  if (extension === null) return [];
  const urls: string[] = [];
  for (const point of extension.distributionPoints) {
    for (const name of point.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri !== undefined && /^https?:\/\//i.test(uri)) urls.push(uri);
    }
  }
  return urls;
}
