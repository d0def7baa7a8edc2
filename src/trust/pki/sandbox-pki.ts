/**
 * The sandbox test PKI: one root, one CA per country, and TLS server and client
 * identities issued on demand, cached under `<dataDir>/pki/`.
 *
 * ```
 * Passerelle Sandbox Root CA            (10 years, pathLen 1)
 * ├── Passerelle Sandbox FR CA          (5 years, pathLen 0)
 * │   ├── server "fr-dmp"               (TLS server: localhost, 127.0.0.1, ::1)
 * │   └── client "fr-practitioner-…"    (clientAuth)
 * ├── Passerelle Sandbox LU CA
 * ├── Passerelle Sandbox BE CA
 * └── server "sandbox-ca"               (generic servers hang off the root)
 * ```
 *
 * On open, every cached certificate is checked before use — parses, matches its
 * key, is signed by the current issuer, has the profile this code issues, and
 * stays valid for more than 30 days — and re-issued otherwise. A new root
 * re-issues everything, since nothing it did not sign can chain to it.
 *
 * The profile check is the costly one (ASN.1 in JavaScript, a few ms per
 * certificate, and a start asks for some twenty). So a pair that passed it
 * gets a stamp (pki-store.ts) naming the request it answers — the version of
 * the profiles and the request's inputs — and its fingerprint; when the same
 * request comes again, a matching stamp stands for the profile check, and the
 * others (key, issuer signature, validity) run on Node's native parser.
 *
 * This PKI is for the sandbox only: the keys sit unencrypted on disk.
 *
 * @example
 * ```ts
 * const pki = await SandboxPki.open(".passerelle");
 * const server = await pki.serverIdentity("fr-dmp", { country: "FR" });
 * https.createServer({ key: server.keyPem, cert: [server.certPem, ...server.chainPem].join("") }, handler);
 * // clients trust `pki.rootCertPem` only.
 * ```
 */
import { X509Certificate as NodeX509Certificate } from "node:crypto";
import { join } from "node:path";
import type { Extension, Name, X509Certificate } from "@peculiar/x509";
import { lazily } from "../../lazily.js";
import {
  assertClientKeyUsages,
  clientExtensions,
  countryCaExtensions,
  hasProfile,
  issueCertificate,
  issueSelfSignedCertificate,
  resolveExtendedKeyUsages,
  rootCaExtensions,
  tlsServerExtensions,
  type ClientKeyUsage,
  type IssuingAuthority,
} from "./certificate-profiles.js";
import {
  assertIdentityName,
  countryCaLocation,
  identityLocation,
  PkiStore,
  rootLocation,
  type IndexEntry,
  type PairLocation,
  type PkiIndex,
  type StoredIdentityKind,
  type StoredPair,
} from "./pki-store.js";
import { generateRsaKeyPair, importRsaSigningKey, privateKeyMatches, type GeneratedKeyPair } from "./rsa-keys.js";
import { buildSubjectName, type SubjectRecord } from "./subject-name.js";
import { loadX509, type X509Library } from "../x509-library.js";

export const SANDBOX_COUNTRIES = ["FR", "LU", "BE"] as const;
export type SandboxCountry = (typeof SANDBOX_COUNTRIES)[number];

export const SANDBOX_ROOT_CA_NAME = "Passerelle Sandbox Root CA";

/** A certificate, its private key and the CAs between it and the root. */
export interface PemIdentity {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** Issuing CAs from the issuer up to, excluding, the root (empty for root-issued identities). */
  chainPem: string[];
}

export interface SandboxPkiOptions {
  /** Clock used for validity periods and expiry checks (tests move it). */
  now?: () => Date;
}

export interface ServerIdentityOptions {
  /** Country CA that issues the certificate; the root when absent (generic services). */
  country?: SandboxCountry;
  /** Extra DNS names or IP addresses, besides `localhost`, `127.0.0.1` and `::1`. */
  hostnames?: readonly string[];
}

export interface ClientIdentityOptions {
  country: SandboxCountry;
  /** Subject attributes, e.g. `{ CN, O, OU, serialNumber, SN, G, T }`; an array gives repeated attributes (two OUs). */
  subject: SubjectRecord;
  /** Names (`clientAuth`, `emailProtection`, …) or dotted OIDs. Default `["clientAuth"]`. */
  extendedKeyUsages?: readonly string[];
  /** Default `["digitalSignature"]`; add `keyEncipherment` for certificates that also receive encrypted keys (BE ETK). */
  keyUsages?: readonly ClientKeyUsage[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A certificate that expires within this margin is re-issued rather than used. */
const RENEWAL_MARGIN_MS = 30 * DAY_MS;
/** Back-dating absorbs clock differences between the processes that use the certificates. */
const BACKDATE_MS = 60 * 60 * 1000;
const ROOT_VALIDITY_DAYS = 3652;
const COUNTRY_CA_VALIDITY_DAYS = 1826;
/** CA/Browser Forum Baseline Requirements §6.3.2 maximum, so a browser opening a simulator accepts it too. */
const SERVER_VALIDITY_DAYS = 397;
/** Three years, like a CPS card or a Belgian eHealth certificate. */
const CLIENT_VALIDITY_DAYS = 1095;
const LOOPBACK_HOSTNAMES = ["localhost", "127.0.0.1", "::1"];
const ORGANIZATION = "Passerelle Sandbox";

/** A CA loaded from the cache or just issued. */
interface Authority {
  certPem: string;
  nodeCertificate: NodeX509Certificate;
  indexEntry: IndexEntry;
  /** The parsed certificate and imported key, made on the first issuance: most opens issue nothing. */
  issuing(): Promise<IssuingAuthority>;
}

/** The subject and extensions a request asks for (built with @peculiar/x509: only when issuing or checking in full). */
interface CertificateShape {
  subject: Name;
  profile: Extension[];
}

/** Everything that determines a certificate; two requests with the same key get the same certificate. */
interface CertificateRequest {
  /** The profiles' version and the request's inputs, as text: what a stamp records. */
  key: string;
  /** Given the library, which the asynchronous caller loads (x509-library.ts). */
  shape(x509: X509Library): CertificateShape;
}

interface LeafRequest extends CertificateRequest {
  kind: StoredIdentityKind;
  name: string;
  country: SandboxCountry | undefined;
  validityDays: number;
}

/**
 * The version of what certificate-profiles.ts and subject-name.ts make of a
 * request. Bump it with any change there: stamps of older versions no longer
 * match, and every cached certificate is checked in full again (and re-issued
 * where its profile changed). certificate-profiles.test.ts pins the DER of
 * each profile to this number.
 */
export const CERTIFICATE_PROFILES_VERSION = 1;

function requestKey(...inputs: unknown[]): string {
  return JSON.stringify([CERTIFICATE_PROFILES_VERSION, ...inputs]);
}

const ROOT_REQUEST: CertificateRequest = {
  key: requestKey("root"),
  shape: (x509) => ({ subject: buildSubjectName(x509, { O: ORGANIZATION, CN: SANDBOX_ROOT_CA_NAME }), profile: rootCaExtensions(x509) }),
};

function countryCaRequest(country: SandboxCountry): CertificateRequest {
  return { key: requestKey("ca", country), shape: (x509) => ({ subject: countryCaSubject(x509, country), profile: countryCaExtensions(x509) }) };
}

interface LeafMemo {
  key: string;
  identity: Promise<PemIdentity>;
}

export class SandboxPki {
  readonly #store: PkiStore;
  readonly #now: () => Date;
  readonly #root: Authority;
  readonly #countryCas: Readonly<Record<SandboxCountry, Authority>>;
  /** Per identity, the promise of its certificate: concurrent requests share one generation. */
  readonly #leaves = new Map<string, LeafMemo>();

  private constructor(store: PkiStore, now: () => Date, root: Authority, countryCas: Record<SandboxCountry, Authority>) {
    this.#store = store;
    this.#now = now;
    this.#root = root;
    this.#countryCas = countryCas;
  }

  /**
   * Loads the PKI cached in `<dataDir>/pki/`, issuing whatever is missing,
   * damaged or about to expire. The first call on an empty directory makes
   * four RSA keys in parallel (well under a second on two cores).
   */
  static async open(dataDir: string, options: SandboxPkiOptions = {}): Promise<SandboxPki> {
    if (typeof dataDir !== "string" || dataDir.length === 0) throw new TypeError("dataDir must be a non-empty path");
    const now = options.now ?? (() => new Date());
    const store = await PkiStore.open(join(dataDir, "pki"));

    let root = await loadAuthority(store, rootLocation(), ROOT_REQUEST, undefined, now(), store.index.root);
    const cachedCas = await Promise.all(
      SANDBOX_COUNTRIES.map((country) =>
        root === undefined
          ? undefined
          : loadAuthority(store, countryCaLocation(country), countryCaRequest(country), root, now(), store.index.countryCas[country]),
      ),
    );

    // All missing keys are generated at once: RSA generation runs on the thread pool.
    const missingCountries = SANDBOX_COUNTRIES.filter((_, i) => cachedCas[i] === undefined);
    const [rootKeys, countryKeys] = await Promise.all([
      root === undefined ? generateRsaKeyPair() : undefined,
      Promise.all(missingCountries.map(() => generateRsaKeyPair())),
    ]);

    if (root === undefined) {
      if (rootKeys === undefined) throw new Error("unreachable: root keys were generated when the root was missing");
      const validity = validityFrom(now(), ROOT_VALIDITY_DAYS);
      const { subject, profile } = ROOT_REQUEST.shape(await loadX509());
      const certificate = await issueSelfSignedCertificate(subject, rootKeys.keys, validity, profile);
      root = await saveAuthority(store, rootLocation(), ROOT_REQUEST, certificate, rootKeys, undefined);
    }
    const issuingRoot = root;
    const issued = new Map<SandboxCountry, Authority>();
    await Promise.all(
      missingCountries.map(async (country, i) => {
        const keys = countryKeys[i];
        if (keys === undefined) throw new Error("unreachable: one key pair per missing country CA");
        const validity = validityFrom(now(), COUNTRY_CA_VALIDITY_DAYS, issuingRoot.nodeCertificate.validToDate);
        const request = countryCaRequest(country);
        const { subject, profile } = request.shape(await loadX509());
        const certificate = await issueCertificate(subject, keys.keys.publicKey, await issuingRoot.issuing(), validity, profile);
        issued.set(country, await saveAuthority(store, countryCaLocation(country), request, certificate, keys, issuingRoot));
      }),
    );

    const countryCas = {} as Record<SandboxCountry, Authority>;
    SANDBOX_COUNTRIES.forEach((country, i) => {
      const authority = cachedCas[i] ?? issued.get(country);
      if (authority === undefined) throw new Error(`unreachable: no ${country} CA after issuance`);
      countryCas[country] = authority;
    });

    await store.updateIndex((index) => {
      index.root = issuingRoot.indexEntry;
      for (const country of SANDBOX_COUNTRIES) index.countryCas[country] = countryCas[country].indexEntry;
      // Leaf entries signed by a CA that has since been re-issued no longer describe a usable certificate.
      const current = new Set([issuingRoot, ...Object.values(countryCas)].map((ca) => ca.indexEntry.fingerprintSha256));
      index.servers = keepEntriesIssuedBy(index.servers, current);
      index.clients = keepEntriesIssuedBy(index.clients, current);
    });
    return new SandboxPki(store, now, issuingRoot, countryCas);
  }

  /** The directory holding the PEM files (`<dataDir>/pki`). */
  get directory(): string {
    return this.#store.directory;
  }

  /** What exists, as written to index.json. */
  get index(): Readonly<PkiIndex> {
    return this.#store.index;
  }

  /** The trust anchor integrators and simulators configure. */
  get rootCertPem(): string {
    return this.#root.certPem;
  }

  caCertPem(country: SandboxCountry): string {
    return this.#authority(country).certPem;
  }

  /**
   * The TLS server identity called `name` (a simulator id), issued by the
   * country's CA or by the root, for `localhost`, `127.0.0.1`, `::1` and
   * `options.hostnames`. Rejects with `TypeError` on a bad name, country or
   * host name.
   */
  async serverIdentity(name: string, options: ServerIdentityOptions = {}): Promise<PemIdentity> {
    assertIdentityName(name);
    const country = options.country;
    if (country !== undefined) this.#authority(country);
    const hostnames = [...new Set([...LOOPBACK_HOSTNAMES, ...(options.hostnames ?? [])])];
    for (const host of hostnames) {
      if (typeof host !== "string" || !/^[A-Za-z0-9.:*-]+$/.test(host)) {
        throw new TypeError(`Invalid host name ${JSON.stringify(host)} for server identity "${name}"`);
      }
    }
    const subject = { ...(country ? { C: country } : {}), O: ORGANIZATION, CN: name };
    return this.#leafIdentity({
      kind: "servers",
      name,
      country,
      validityDays: SERVER_VALIDITY_DAYS,
      key: requestKey("servers", name, country ?? "root", subject, hostnames),
      shape: (x509) => ({ subject: buildSubjectName(x509, subject), profile: tlsServerExtensions(x509, hostnames) }),
    });
  }

  /**
   * The client certificate called `name` (a practitioner or organisation of
   * the sandbox), issued by `options.country`'s CA with `options.subject`.
   * Asking again with other options re-issues it. Rejects with `TypeError`
   * on a bad name, country, subject attribute or usage.
   */
  async clientIdentity(name: string, options: ClientIdentityOptions): Promise<PemIdentity> {
    assertIdentityName(name);
    if (options === undefined || typeof options !== "object") throw new TypeError("clientIdentity needs options");
    this.#authority(options.country);
    const subject = options.subject;
    const extendedKeyUsages = resolveExtendedKeyUsages(options.extendedKeyUsages ?? ["clientAuth"]);
    const keyUsages = options.keyUsages ?? ["digitalSignature"];
    assertClientKeyUsages(keyUsages);
    return this.#leafIdentity({
      kind: "clients",
      name,
      country: options.country,
      validityDays: CLIENT_VALIDITY_DAYS,
      // A subject that buildSubjectName refuses is never issued, so no stamp carries it: it fails in shape().
      key: requestKey("clients", name, options.country, subject, extendedKeyUsages, [...keyUsages].sort()),
      shape: (x509) => ({ subject: buildSubjectName(x509, subject), profile: clientExtensions(x509, extendedKeyUsages, keyUsages) }),
    });
  }

  #authority(country: SandboxCountry): Authority {
    if (!SANDBOX_COUNTRIES.includes(country)) {
      throw new TypeError(`Unknown sandbox country ${JSON.stringify(country)} (use ${SANDBOX_COUNTRIES.join(", ")})`);
    }
    return this.#countryCas[country];
  }

  #leafIdentity(request: LeafRequest): Promise<PemIdentity> {
    const memoKey = `${request.kind}/${request.name}`;
    const previous = this.#leaves.get(memoKey);
    if (previous !== undefined && previous.key === request.key) return previous.identity;
    // A changed request waits for the one in flight, so two writers never race on the same files.
    const after = previous === undefined ? Promise.resolve() : previous.identity.then(() => undefined, () => undefined);
    const memo: LeafMemo = { key: request.key, identity: after.then(() => this.#loadOrIssueLeaf(request)) };
    this.#leaves.set(memoKey, memo);
    // A failure is not cached: the next call tries again.
    memo.identity.catch(() => {
      if (this.#leaves.get(memoKey) === memo) this.#leaves.delete(memoKey);
    });
    return memo.identity;
  }

  async #loadOrIssueLeaf(request: LeafRequest): Promise<PemIdentity> {
    const location = identityLocation(request.kind, request.name);
    // Loaded without the lock (the usual case: issued on an earlier start); issued under it, after a second look.
    return (await this.#loadLeaf(request, location)) ?? this.#store.withPairLock(location, async () => (await this.#loadLeaf(request, location)) ?? this.#issueLeaf(request, location));
  }

  async #loadLeaf(request: LeafRequest, location: PairLocation): Promise<PemIdentity | undefined> {
    const issuer = request.country === undefined ? this.#root : this.#countryCas[request.country];
    const chainPem = request.country === undefined ? [] : [issuer.certPem];
    const cached = await loadCertifiedPair(this.#store, location, request, issuer, this.#now());
    if (cached === undefined) return undefined;
    const known = this.#store.index[request.kind][request.name];
    if (known?.fingerprintSha256 !== cached.nodeCertificate.fingerprint256) {
      const entry = describe(location, cached.nodeCertificate, issuer, await parseWithLibrary(cached.certPem));
      await this.#store.updateIndex((index) => {
        index[request.kind][request.name] = entry;
      });
    }
    return { certPem: cached.certPem, keyPem: cached.keyPem, chainPem };
  }

  async #issueLeaf(request: LeafRequest, location: PairLocation): Promise<PemIdentity> {
    const issuer = request.country === undefined ? this.#root : this.#countryCas[request.country];
    const chainPem = request.country === undefined ? [] : [issuer.certPem];
    const { subject, profile } = request.shape(await loadX509());
    const keys = await generateRsaKeyPair();
    const validity = validityFrom(this.#now(), request.validityDays, issuer.nodeCertificate.validToDate);
    const certificate = await issueCertificate(subject, keys.keys.publicKey, await issuer.issuing(), validity, profile);
    const pair = await saveIssued(this.#store, location, request, certificate, keys.privateKeyPem);
    const entry = describe(location, pair.nodeCertificate, issuer, certificate);
    await this.#store.updateIndex((index) => {
      index[request.kind][request.name] = entry;
    });
    return { certPem: pair.certPem, keyPem: pair.keyPem, chainPem };
  }
}

function countryCaSubject(x509: X509Library, country: SandboxCountry): Name {
  return buildSubjectName(x509, { C: country, O: ORGANIZATION, CN: `Passerelle Sandbox ${country} CA` });
}

function validityFrom(now: Date, days: number, issuerNotAfter?: Date): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const wanted = now.getTime() + days * DAY_MS;
  // Never outlive the issuer: RFC 5280 path validation would reject the tail anyway.
  const notAfter = new Date(issuerNotAfter === undefined ? wanted : Math.min(wanted, issuerNotAfter.getTime()));
  return { notBefore, notAfter };
}

interface CertifiedPair extends StoredPair {
  nodeCertificate: NodeX509Certificate;
}

/**
 * Reads a cached pair and returns it only if it can be used as is for
 * `request`. Anything unreadable as PEM/DER counts as absent (it is
 * re-issued); I/O errors other than "not found" propagate. A pair stamped for
 * this very request skips the profile check (the module comment says why);
 * one that passes the full check gets that stamp.
 */
async function loadCertifiedPair(
  store: PkiStore,
  location: PairLocation,
  request: CertificateRequest,
  issuer: Authority | undefined,
  now: Date,
): Promise<CertifiedPair | undefined> {
  const [stored, stamp] = await Promise.all([store.readPair(location), store.readStamp(location)]);
  if (stored === undefined) return undefined;
  let nodeCertificate: NodeX509Certificate;
  try {
    nodeCertificate = new NodeX509Certificate(stored.certPem);
    if (!privateKeyMatches(stored.keyPem, nodeCertificate.publicKey)) return undefined;
    const issuerCertificate = issuer?.nodeCertificate ?? nodeCertificate;
    if (!nodeCertificate.checkIssued(issuerCertificate) || !nodeCertificate.verify(issuerCertificate.publicKey)) return undefined;
    if (nodeCertificate.validFromDate.getTime() > now.getTime()) return undefined;
    if (nodeCertificate.validToDate.getTime() - RENEWAL_MARGIN_MS <= now.getTime()) return undefined;
    if (stamp?.request === request.key && stamp.fingerprintSha256 === nodeCertificate.fingerprint256) {
      return { ...stored, nodeCertificate };
    }
    const x509 = await loadX509();
    const { subject, profile } = request.shape(x509);
    if (!hasProfile(new x509.X509Certificate(stored.certPem), subject, profile)) return undefined;
  } catch {
    return undefined;
  }
  await store.writeStamp(location, { request: request.key, fingerprintSha256: nodeCertificate.fingerprint256 });
  return { ...stored, nodeCertificate };
}

/** Writes a certificate just issued for `request` with its key, and its stamp. */
async function saveIssued(
  store: PkiStore,
  location: PairLocation,
  request: CertificateRequest,
  certificate: X509Certificate,
  keyPem: string,
): Promise<CertifiedPair> {
  const certPem = certificate.toString("pem") + "\n";
  await store.writePair(location, { certPem, keyPem });
  const nodeCertificate = new NodeX509Certificate(certPem);
  await store.writeStamp(location, { request: request.key, fingerprintSha256: nodeCertificate.fingerprint256 });
  return { certPem, keyPem, nodeCertificate };
}

/** The parsed certificate and WebCrypto key of a CA, made once, when it first issues. */
function lazyIssuing(certPem: string, keyPem: string): () => Promise<IssuingAuthority> {
  return lazily(async () => ({ certificate: await parseWithLibrary(certPem), signingKey: await importRsaSigningKey(keyPem) }));
}

async function loadAuthority(
  store: PkiStore,
  location: PairLocation,
  request: CertificateRequest,
  issuer: Authority | undefined,
  now: Date,
  known: IndexEntry | undefined,
): Promise<Authority | undefined> {
  const pair = await loadCertifiedPair(store, location, request, issuer, now);
  if (pair === undefined) return undefined;
  return {
    certPem: pair.certPem,
    nodeCertificate: pair.nodeCertificate,
    indexEntry:
      known?.fingerprintSha256 === pair.nodeCertificate.fingerprint256
        ? known
        : describe(location, pair.nodeCertificate, issuer, await parseWithLibrary(pair.certPem)),
    issuing: lazyIssuing(pair.certPem, pair.keyPem),
  };
}

async function saveAuthority(
  store: PkiStore,
  location: PairLocation,
  request: CertificateRequest,
  certificate: X509Certificate,
  keys: GeneratedKeyPair,
  issuer: Authority | undefined,
): Promise<Authority> {
  const pair = await saveIssued(store, location, request, certificate, keys.privateKeyPem);
  return {
    certPem: pair.certPem,
    nodeCertificate: pair.nodeCertificate,
    indexEntry: describe(location, pair.nodeCertificate, issuer, certificate),
    issuing: async () => ({ certificate, signingKey: keys.keys.privateKey }),
  };
}

/** A certificate parsed by @peculiar/x509 (its RFC 4514 names, its extensions for issuing). */
async function parseWithLibrary(certPem: string): Promise<X509Certificate> {
  return new (await loadX509()).X509Certificate(certPem);
}

/** The index entry of a certificate, from both parses (`certificate` gives the RFC 4514 names). */
function describe(location: PairLocation, nodeCertificate: NodeX509Certificate, issuer: Authority | undefined, certificate: X509Certificate): IndexEntry {
  return {
    ...location,
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    fingerprintSha256: nodeCertificate.fingerprint256,
    issuerFingerprintSha256: issuer?.indexEntry.fingerprintSha256 ?? nodeCertificate.fingerprint256,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
  };
}

function keepEntriesIssuedBy(entries: Record<string, IndexEntry>, issuers: Set<string>): Record<string, IndexEntry> {
  return Object.fromEntries(Object.entries(entries).filter(([, entry]) => issuers.has(entry.issuerFingerprintSha256)));
}
