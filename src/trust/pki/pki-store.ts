/**
 * The on-disk cache of the sandbox PKI: `<dataDir>/pki/`.
 *
 * ```
 * pki/
 *   index.json                      what exists (descriptive: the files are the truth)
 *   root-ca.cert.pem  root-ca.key.pem  root-ca.stamp.json
 *   ca-fr.cert.pem    ca-fr.key.pem    ca-fr.stamp.json    (and ca-lu, ca-be)
 *   servers/<name>.cert.pem  servers/<name>.key.pem  servers/<name>.stamp.json
 *   clients/<name>.cert.pem  clients/<name>.key.pem  clients/<name>.stamp.json
 * ```
 *
 * A stamp says for which request a pair was issued or last checked in full,
 * and which certificate that was (its fingerprint): a later open that asks
 * for the same thing uses the pair after the cheap checks only
 * (sandbox-pki.ts). A stamp that does not name the certificate next to it is
 * ignored.
 *
 * Every file is written to a temporary name, flushed, then renamed over the
 * target, so a reader sees the old file or the new one, never half of one.
 * A crash between the renames of a key and its certificate leaves a pair that
 * does not match: the PKI checks key/certificate agreement on load and
 * re-issues such a pair. Private keys are created with mode 0600 and the
 * directory with 0700.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

/** Identity names become file names: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Temporary files older than this are leftovers of a crash and are removed on open. */
const STALE_TEMPORARY_FILE_MS = 60_000;
/** An issuance lock older than this was left by a crashed process (issuing one leaf takes well under a second). */
const STALE_LOCK_MS = 30_000;
const LOCK_POLL_MS = 10;

export type StoredIdentityKind = "servers" | "clients";

/** Where one certificate and its key live, relative to the PKI directory. */
export interface PairLocation {
  certificateFile: string;
  keyFile: string;
}

export interface StoredPair {
  certPem: string;
  keyPem: string;
}

/** What a pair's stamp file holds. */
export interface PairStamp {
  /** The request the pair answers, as sandbox-pki.ts writes it (profile version and inputs). */
  request: string;
  fingerprintSha256: string;
}

/** What index.json says about one certificate. */
export interface IndexEntry extends PairLocation {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  /** Fingerprint of the issuing CA: entries whose issuer was re-issued are dropped. */
  issuerFingerprintSha256: string;
  notBefore: string;
  notAfter: string;
}

export interface PkiIndex {
  format: 1;
  description: string;
  updatedAt: string;
  root?: IndexEntry;
  countryCas: Record<string, IndexEntry>;
  servers: Record<string, IndexEntry>;
  clients: Record<string, IndexEntry>;
}

/** Throws `TypeError` unless `name` is safe to use as a file name (no separators, no `..`). */
export function assertIdentityName(name: string): void {
  if (typeof name !== "string" || !IDENTITY_NAME.test(name)) {
    throw new TypeError(
      `Invalid sandbox PKI identity name ${JSON.stringify(name)}: use 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

export function rootLocation(): PairLocation {
  return { certificateFile: "root-ca.cert.pem", keyFile: "root-ca.key.pem" };
}

export function countryCaLocation(country: string): PairLocation {
  const base = `ca-${country.toLowerCase()}`;
  return { certificateFile: `${base}.cert.pem`, keyFile: `${base}.key.pem` };
}

function stampFile(location: PairLocation): string {
  return location.certificateFile.replace(/\.cert\.pem$/, ".stamp.json");
}

export function identityLocation(kind: StoredIdentityKind, name: string): PairLocation {
  assertIdentityName(name);
  return { certificateFile: `${kind}/${name}.cert.pem`, keyFile: `${kind}/${name}.key.pem` };
}

export class PkiStore {
  readonly directory: string;
  #index: PkiIndex;
  /** Serialises index.json writes so a later snapshot never lands before an earlier one. */
  #indexWrites: Promise<void> = Promise.resolve();

  private constructor(directory: string, index: PkiIndex) {
    this.directory = directory;
    this.#index = index;
  }

  static async open(directory: string): Promise<PkiStore> {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await Promise.all([
      mkdir(join(directory, "servers"), { recursive: true, mode: 0o700 }),
      mkdir(join(directory, "clients"), { recursive: true, mode: 0o700 }),
    ]);
    await Promise.all(["", "servers", "clients"].map((sub) => removeStaleTemporaryFiles(join(directory, sub))));
    return new PkiStore(directory, await readIndex(join(directory, "index.json")));
  }

  get index(): Readonly<PkiIndex> {
    return this.#index;
  }

  /** Reads a pair; `undefined` when either file is missing. Other I/O errors throw with the file named. */
  async readPair(location: PairLocation): Promise<StoredPair | undefined> {
    const [certPem, keyPem] = await Promise.all([
      this.#readOptional(location.certificateFile),
      this.#readOptional(location.keyFile),
    ]);
    if (certPem === undefined || keyPem === undefined) return undefined;
    return { certPem, keyPem };
  }

  /** Writes the key first, then the certificate (see the module comment for why the order is safe). */
  async writePair(location: PairLocation, pair: StoredPair): Promise<void> {
    await writeFileAtomically(join(this.directory, location.keyFile), pair.keyPem, 0o600);
    await writeFileAtomically(join(this.directory, location.certificateFile), pair.certPem, 0o644);
  }

  /** The pair's stamp; `undefined` when missing or unreadable as one. */
  async readStamp(location: PairLocation): Promise<PairStamp | undefined> {
    const text = await this.#readOptional(stampFile(location));
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed) && typeof parsed.request === "string" && typeof parsed.fingerprintSha256 === "string") {
        return { request: parsed.request, fingerprintSha256: parsed.fingerprintSha256 };
      }
    } catch {
      // not JSON: as if missing
    }
    return undefined;
  }

  /** Written after the pair it describes: a crash in between leaves a stamp naming another certificate, which is ignored. */
  async writeStamp(location: PairLocation, stamp: PairStamp): Promise<void> {
    await writeFileAtomically(join(this.directory, stampFile(location)), JSON.stringify(stamp) + "\n", 0o644);
  }

  /**
   * Runs `issue` holding the lock of one pair, across processes: the gateway
   * and its sandbox process (src/sandbox/child-process.ts) open the same PKI
   * and may ask for the same identity at the same time (an OIDC client, a
   * practitioner). The lock is a `<certificate file>.lock` created exclusively;
   * whoever waits for it then finds the pair the holder wrote, instead of
   * issuing a second key that the other process would never see.
   */
  async withPairLock<T>(location: PairLocation, issue: () => Promise<T>): Promise<T> {
    const lockPath = join(this.directory, `${location.certificateFile}.lock`);
    const deadline = Date.now() + STALE_LOCK_MS;
    for (;;) {
      try {
        await (await open(lockPath, "wx", 0o600)).close();
        break;
      } catch (error) {
        if (!isErrnoException(error) || error.code !== "EEXIST") throw new Error(`Cannot lock sandbox PKI file ${lockPath}`, { cause: error });
      }
      const info = await stat(lockPath).catch(() => undefined);
      if (info !== undefined && Date.now() - info.mtimeMs > STALE_LOCK_MS) await unlink(lockPath).catch(() => undefined);
      else if (Date.now() > deadline) throw new Error(`Sandbox PKI file ${lockPath} stayed locked for ${STALE_LOCK_MS} ms`);
      else await delay(LOCK_POLL_MS);
    }
    try {
      return await issue();
    } finally {
      await unlink(lockPath).catch(() => undefined);
    }
  }

  /**
   * Applies `change` to the index and persists it (atomically, in call order).
   * The gateway and its sandbox process share the directory, each with its
   * own copy of the index: the change is applied to what index.json holds
   * now, so neither process drops the entries the other wrote since it
   * opened. An index the change leaves as it was is not written.
   */
  updateIndex(change: (index: PkiIndex) => void): Promise<void> {
    change(this.#index);
    const target = join(this.directory, "index.json");
    const write = this.#indexWrites.then(async () => {
      const current = await readIndex(target);
      const before = JSON.stringify({ ...current, updatedAt: "" });
      change(current);
      if (JSON.stringify({ ...current, updatedAt: "" }) === before) return;
      current.updatedAt = new Date().toISOString();
      await writeFileAtomically(target, JSON.stringify(current, null, 2) + "\n", 0o644);
    });
    // Keep the chain alive after a failed write; the caller still sees the failure.
    this.#indexWrites = write.catch(() => undefined);
    return write;
  }

  async #readOptional(relativePath: string): Promise<string | undefined> {
    const path = join(this.directory, relativePath);
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      if (isErrnoException(error) && error.code === "ENOENT") return undefined;
      throw new Error(`Cannot read sandbox PKI file ${path}`, { cause: error });
    }
  }
}

function emptyIndex(): PkiIndex {
  return {
    format: 1,
    description: "Passerelle sandbox test PKI: NOT FOR PRODUCTION. Files are PEM; keys are PKCS#8.",
    updatedAt: new Date(0).toISOString(),
    // Listed first so that index.json reads top-down: root, CAs, leaves.
    root: undefined,
    countryCas: {},
    servers: {},
    clients: {},
  };
}

/** A missing or unreadable index is replaced: it only describes files that are checked anyway. */
async function readIndex(path: string): Promise<PkiIndex> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isErrnoException(error) && error.code === "ENOENT") return emptyIndex();
    throw new Error(`Cannot read sandbox PKI file ${path}`, { cause: error });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed) || parsed.format !== 1) return emptyIndex();
    const index = emptyIndex();
    if (isIndexEntry(parsed.root)) index.root = parsed.root;
    index.countryCas = entriesOf(parsed.countryCas);
    index.servers = entriesOf(parsed.servers);
    index.clients = entriesOf(parsed.clients);
    return index;
  } catch {
    return emptyIndex();
  }
}

function entriesOf(value: unknown): Record<string, IndexEntry> {
  const entries: Record<string, IndexEntry> = {};
  if (!isRecord(value)) return entries;
  for (const [name, entry] of Object.entries(value)) {
    if (isIndexEntry(entry)) entries[name] = entry;
  }
  return entries;
}

function isIndexEntry(value: unknown): value is IndexEntry {
  if (!isRecord(value)) return false;
  const fields = ["certificateFile", "keyFile", "subject", "issuer", "serialNumber", "fingerprintSha256", "issuerFingerprintSha256", "notBefore", "notAfter"];
  return fields.every((field) => typeof value[field] === "string");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

async function writeFileAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    // "wx": never follow or reuse an existing file; `mode` applies at creation,
    // so a key is never readable by others, not even for an instant.
    const handle = await open(temporary, "wx", mode);
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new Error(`Cannot write sandbox PKI file ${path}`, { cause: error });
  }
}

async function removeStaleTemporaryFiles(directory: string): Promise<void> {
  const names = await readdir(directory);
  const now = Date.now();
  await Promise.all(
    names
      .filter((name) => name.endsWith(".tmp"))
      .map(async (name) => {
        const path = join(directory, name);
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && now - info.mtimeMs > STALE_TEMPORARY_FILE_MS) {
          await unlink(path).catch(() => undefined);
        }
      }),
  );
}
