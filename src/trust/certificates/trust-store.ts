/**
 * A set of trust anchors (and optional intermediates) read from files, that
 * follows those files without a restart: national services rotate their TSA
 * and CA certificates, and operators replace the files.
 *
 * Change detection is `fs.watch` on the files' directories (debounced: an
 * editor or `cp` writes in several steps) plus a periodic `stat` of the
 * files, for file systems where watching is unreliable (network mounts,
 * some container volumes). A reload reads everything again and swaps the
 * whole set at once; if anything fails to read or parse — a half-written
 * file, a truncated PEM, a wrong password — the previous set stays in use,
 * the failure is logged and counted, and the next change tries again.
 *
 * Every reload attempt that finds the files changed logs one line and
 * increments `passerelle_trust_reloads_total{store, outcome="success"|"error"}`.
 *
 * @example
 * ```ts
 * const store = await TrustStore.open({
 *   name: "lu-kms",
 *   sources: [{ path: "/etc/passerelle/lu-truststore.p12", password, aliases: ["luxtrust-root"] }],
 *   logger,
 *   metrics,
 *   watch: { debounceMs: 200, pollIntervalMs: 5000 },
 * });
 * store.onReload((snapshot) => kmsClient.setTrustAnchors(snapshot.anchors));
 * const result = await store.validate(peerCertificate, { purpose: "tls-server" });
 * await store.close();
 * ```
 */
import type { X509Certificate } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "pino";
import type { GatewayMetrics } from "../../observability/metrics.js";
import type { CertificateInput } from "./certificate-input.js";
import { loadTruststore, type TrustedCertificate } from "./load-truststore.js";
import { validateChain, type ChainValidationResult, type ValidateChainOptions } from "./validate-chain.js";

export type TrustRole = "anchors" | "intermediates";

export interface TrustStoreSource {
  /** A PEM file or bundle, a DER certificate, a PKCS#12 truststore, or a directory of those. */
  path: string;
  /** Default "anchors". Intermediates only help build paths; they are not trusted. */
  role?: TrustRole;
  /** PKCS#12 password. */
  password?: string;
  /** Keep only these aliases (PKCS#12 friendlyNames, or file names in a directory). */
  aliases?: readonly string[];
}

export interface TrustStoreOptions {
  /** Names the store in logs and in the metric's `store` label, e.g. `lu-kms`. */
  name: string;
  sources: readonly TrustStoreSource[];
  logger: Logger;
  metrics?: GatewayMetrics;
  /** How to follow the files; `false` loads once. Default: file events and a 5 s stat check. */
  watch?: false | TrustStoreWatchOptions;
}

export interface TrustStoreWatchOptions {
  /** React to file system events (fs.watch on the files' directories). Default true. */
  fileEvents?: boolean;
  /** Quiet time after a file event before reloading. Default 200 ms. */
  debounceMs?: number;
  /** Period of the stat-based check, which also covers file systems without events; 0 disables it. Default 5000 ms. */
  pollIntervalMs?: number;
}

export interface TrustStoreEntry extends TrustedCertificate {
  role: TrustRole;
}

export interface TrustStoreSnapshot {
  /** Increases by one at each successful reload that changed something. */
  readonly version: number;
  readonly loadedAt: Date;
  readonly anchors: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  readonly entries: readonly TrustStoreEntry[];
}

export type TrustStoreReloadOutcome = "reloaded" | "unchanged" | "failed";

export type TrustStoreListener = (snapshot: TrustStoreSnapshot) => void;

const DEFAULT_DEBOUNCE_MS = 200;
const DEFAULT_POLL_INTERVAL_MS = 5_000;

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`${name} must be an integer ≥ 0`);
  return value;
}

function checkSources(sources: unknown): readonly TrustStoreSource[] {
  if (!Array.isArray(sources) || sources.length === 0) throw new TypeError("a trust store needs at least one source");
  for (const source of sources as TrustStoreSource[]) {
    if (typeof source?.path !== "string" || source.path === "") throw new TypeError("each trust store source needs a path");
    if (source.role !== undefined && source.role !== "anchors" && source.role !== "intermediates") {
      throw new TypeError(`source ${source.path}: role must be "anchors" or "intermediates"`);
    }
  }
  if (!(sources as TrustStoreSource[]).some((source) => (source.role ?? "anchors") === "anchors")) {
    throw new TypeError("a trust store needs at least one source of anchors");
  }
  return Object.freeze([...(sources as TrustStoreSource[])]);
}

async function loadSources(sources: readonly TrustStoreSource[]): Promise<TrustStoreEntry[]> {
  const loaded = await Promise.all(
    sources.map(async (source) => {
      const entries = await loadTruststore(source.path, {
        ...(source.password === undefined ? {} : { password: source.password }),
        ...(source.aliases === undefined ? {} : { aliases: source.aliases }),
      });
      return entries.map((entry) => ({ ...entry, role: source.role ?? "anchors" }));
    }),
  );
  // The same certificate twice (two files, or anchor and intermediate) counts once, as an anchor if it is one anywhere.
  const byFingerprint = new Map<string, TrustStoreEntry>();
  for (const entry of loaded.flat()) {
    const known = byFingerprint.get(entry.certificate.fingerprint256);
    if (known === undefined || (known.role === "intermediates" && entry.role === "anchors")) byFingerprint.set(entry.certificate.fingerprint256, entry);
  }
  return [...byFingerprint.values()];
}

function snapshotOf(entries: readonly TrustStoreEntry[], version: number): TrustStoreSnapshot {
  return Object.freeze({
    version,
    loadedAt: new Date(),
    anchors: Object.freeze(entries.filter((entry) => entry.role === "anchors").map((entry) => entry.certificate)),
    intermediates: Object.freeze(entries.filter((entry) => entry.role === "intermediates").map((entry) => entry.certificate)),
    entries: Object.freeze([...entries]),
  });
}

function contentKey(entries: readonly TrustStoreEntry[]): string {
  return entries
    .map((entry) => `${entry.role}:${entry.certificate.fingerprint256}`)
    .sort()
    .join(",");
}

export class TrustStore {
  readonly name: string;
  readonly #sources: readonly TrustStoreSource[];
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #debounceMs: number;
  readonly #listeners = new Set<TrustStoreListener>();
  readonly #watchers: FSWatcher[] = [];
  #snapshot: TrustStoreSnapshot;
  #contentKey: string;
  #fileStamp = "";
  #queue: Promise<TrustStoreReloadOutcome> = Promise.resolve("unchanged");
  #debounceTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;

  private constructor(options: TrustStoreOptions, entries: TrustStoreEntry[], debounceMs: number) {
    this.name = options.name;
    this.#sources = options.sources;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#debounceMs = debounceMs;
    this.#snapshot = snapshotOf(entries, 1);
    this.#contentKey = contentKey(entries);
  }

  /**
   * Reads the sources and, unless `watch: false`, starts following them.
   * Throws PASSERELLE_TRUST_STORE_INVALID when they cannot be read: at
   * start there is no previous content to fall back on.
   */
  static async open(options: TrustStoreOptions): Promise<TrustStore> {
    if (typeof options !== "object" || options === null) throw new TypeError("TrustStore.open needs options");
    if (typeof options.name !== "string" || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(options.name)) {
      throw new TypeError("a trust store name is 1–64 letters, digits, '.', '_' or '-' (it is a metric label)");
    }
    if (typeof options.logger?.info !== "function") throw new TypeError("TrustStore.open needs a pino logger");
    const sources = checkSources(options.sources);
    const watchOptions = options.watch ?? {};
    if (watchOptions !== false && (typeof watchOptions !== "object" || watchOptions === null)) {
      throw new TypeError("watch must be false or an object of watch options");
    }
    const debounceMs = nonNegativeInteger("watch.debounceMs", watchOptions === false ? undefined : watchOptions.debounceMs, DEFAULT_DEBOUNCE_MS);
    const pollIntervalMs = nonNegativeInteger(
      "watch.pollIntervalMs",
      watchOptions === false ? undefined : watchOptions.pollIntervalMs,
      DEFAULT_POLL_INTERVAL_MS,
    );
    const stamp = await fileStamp(sources);
    const store = new TrustStore({ ...options, sources }, await loadSources(sources), debounceMs);
    store.#fileStamp = stamp;
    store.#logger.info(
      { store: store.name, anchors: store.#snapshot.anchors.length, intermediates: store.#snapshot.intermediates.length },
      "trust store loaded",
    );
    if (watchOptions !== false) {
      if (watchOptions.fileEvents !== false) {
        const directories = new Set<string>();
        for (const source of sources) if ((await stat(source.path)).isDirectory()) directories.add(source.path);
        store.#watchDirectories(directories);
      }
      store.#poll(pollIntervalMs);
    }
    return store;
  }

  get anchors(): readonly X509Certificate[] {
    return this.#snapshot.anchors;
  }

  get intermediates(): readonly X509Certificate[] {
    return this.#snapshot.intermediates;
  }

  /** The current content; a reload replaces the snapshot, never mutates it. */
  snapshot(): TrustStoreSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` after each reload that changed the content. Returns the unsubscribe function. */
  onReload(listener: TrustStoreListener): () => void {
    if (typeof listener !== "function") throw new TypeError("onReload needs a function");
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Validates a chain to this store's anchors, with its intermediates available for path building. */
  validate(leaf: CertificateInput, options: Omit<ValidateChainOptions, "anchors">): Promise<ChainValidationResult> {
    const snapshot = this.#snapshot;
    return validateChain(leaf, { ...options, anchors: snapshot.anchors, intermediates: [...snapshot.intermediates, ...(options.intermediates ?? [])] });
  }

  /** Reads the sources again now (reloads are serialised). */
  reload(): Promise<TrustStoreReloadOutcome> {
    const run = (): Promise<TrustStoreReloadOutcome> => (this.#closed ? Promise.resolve("unchanged") : this.#reloadNow());
    this.#queue = this.#queue.then(run, run);
    return this.#queue;
  }

  /** Stops following the files; waits for a reload in progress. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounceTimer);
    clearInterval(this.#pollTimer);
    for (const watcher of this.#watchers.splice(0)) watcher.close();
    this.#listeners.clear();
    await this.#queue;
  }

  async #reloadNow(): Promise<TrustStoreReloadOutcome> {
    // Stamped before reading: a write that lands while we read changes the stamp again, so polling retries.
    const stamp = await fileStamp(this.#sources);
    let entries: TrustStoreEntry[];
    try {
      entries = await loadSources(this.#sources);
    } catch (error) {
      this.#fileStamp = stamp;
      this.#metrics?.trustReloads.inc({ store: this.name, outcome: "error" });
      this.#logger.error({ store: this.name, err: error }, "trust store reload failed; keeping the previous certificates");
      return "failed";
    }
    this.#fileStamp = stamp;
    const key = contentKey(entries);
    if (key === this.#contentKey) {
      this.#logger.debug({ store: this.name }, "trust store files touched, content unchanged");
      return "unchanged";
    }
    const previous = this.#snapshot;
    const next = snapshotOf(entries, previous.version + 1);
    const before = new Set(previous.entries.map((entry) => entry.certificate.fingerprint256));
    const after = new Set(next.entries.map((entry) => entry.certificate.fingerprint256));
    this.#snapshot = next;
    this.#contentKey = key;
    this.#metrics?.trustReloads.inc({ store: this.name, outcome: "success" });
    this.#logger.info(
      {
        store: this.name,
        version: next.version,
        anchors: next.anchors.length,
        intermediates: next.intermediates.length,
        added: next.entries.filter((entry) => !before.has(entry.certificate.fingerprint256)).map((entry) => entry.certificate.subject),
        removed: previous.entries.filter((entry) => !after.has(entry.certificate.fingerprint256)).map((entry) => entry.certificate.subject),
      },
      "trust store reloaded",
    );
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch (error) {
        this.#logger.error({ store: this.name, err: error }, "a trust store reload listener failed");
      }
    }
    return "reloaded";
  }

  #watchDirectories(directorySources: ReadonlySet<string>): void {
    // Watch directories, not files: an atomic replace (write + rename) gives the file a new inode, which a file watch loses.
    const watched = new Map<string, Set<string> | "all">();
    for (const source of this.#sources) {
      const isDirectory = directorySources.has(source.path);
      const directory = isDirectory ? source.path : dirname(source.path);
      const names = watched.get(directory);
      if (isDirectory || names === "all") watched.set(directory, "all");
      else watched.set(directory, new Set([...(names ?? []), basename(source.path)]));
    }
    for (const [directory, names] of watched) {
      try {
        const watcher = watch(directory, { persistent: false }, (_event, filename) => {
          if (names === "all" || filename === null || names.has(filename.toString())) this.#scheduleReload();
        });
        watcher.on("error", (error) => {
          this.#logger.warn({ store: this.name, directory, err: error }, "trust store directory watch failed; relying on periodic checks");
        });
        this.#watchers.push(watcher);
      } catch (error) {
        this.#logger.warn({ store: this.name, directory, err: error }, "cannot watch trust store directory; relying on periodic checks");
      }
    }
  }

  #poll(intervalMs: number): void {
    if (intervalMs === 0) return;
    this.#pollTimer = setInterval(() => void this.#checkStamp(), intervalMs);
    this.#pollTimer.unref();
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => void this.reload(), this.#debounceMs);
    this.#debounceTimer.unref();
  }

  async #checkStamp(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      if ((await fileStamp(this.#sources)) !== this.#fileStamp) await this.reload();
    } finally {
      this.#polling = false;
    }
  }
}

/** Size, modification time and inode of every source file: what changes when a file is rewritten or replaced. */
async function fileStamp(sources: readonly TrustStoreSource[]): Promise<string> {
  const parts: string[] = [];
  const describeFile = async (file: string): Promise<void> => {
    try {
      const info = await stat(file);
      parts.push(`${file}:${info.ino}:${info.size}:${info.mtimeMs}`);
    } catch (error) {
      parts.push(`${file}:${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
  };
  for (const source of sources) {
    let names: string[] | undefined;
    try {
      if ((await stat(source.path)).isDirectory()) names = (await readdir(source.path)).sort();
    } catch {
      names = undefined;
    }
    if (names === undefined) await describeFile(source.path);
    else for (const name of names) await describeFile(join(source.path, name));
  }
  return parts.join("|");
}
