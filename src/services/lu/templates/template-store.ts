/**
 * The template store: the active template set, the previous one (for
 * rollback), and the applied packages kept on disk.
 *
 * Sets are immutable and swapped by reference: `snapshot()` hands out the
 * set in force, and a request that took it renders with it to the end even
 * if a newer package is applied meanwhile — no lock on the rendering path,
 * no restart. Applying a package and rolling back are serialised.
 *
 * `applyPackage` is the only way in, and it checks everything before
 * anything changes: the signature over the manifest (trusted iHub
 * certificate), every file's size and SHA-256, the version (no downgrade,
 * no reuse of a version for other content), every template compiles. Only
 * then is the package written to disk (atomically), the state file
 * replaced (atomically), and the new set swapped in. A refusal leaves the
 * store exactly as it was.
 *
 * On disk, under `dataDir`:
 *
 * ```text
 * state.json                      {"format":1,"current":…,"previous":…,"rolledBack":[…]}
 * packages/<version>-<digest12>/  applied packages (current and previous only)
 * ```
 *
 * Applied packages are re-checked against their manifests (hashes) when the
 * store opens; their signatures were verified when they were applied and
 * are kept (`manifest.p7s`) for audit, not re-verified — an iHub
 * certificate that expires later must not make a gateway lose its
 * templates at restart. When the built-in set is newer than the applied one
 * (the gateway was upgraded), the built-in set wins.
 */
import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { PasserelleError } from "../../../errors/index.js";
import { TemplatePackageError, templateStoreInvalid, templateUnknown } from "./errors.js";
import { builtinTemplatesDirectory, readPackageDirectory, replaceFileAtomically, writePackageDirectory } from "./package-directory.js";
import { checkPackageFiles, type TemplatePackage } from "./package-format.js";
import { verifyPackageSignature, type PackageSigner, type PackageTrust } from "./package-signature.js";
import { compareSemver } from "./semver.js";
import { TemplateSet, type RenderOptions, type RenderedDocument, type TemplateSummary, type ValidateOptions } from "./template-set.js";

export interface TemplateStoreOptions {
  /** Where applied packages and the store's state are kept (LU_TEMPLATES_DIR). Without it nothing persists across restarts. */
  dataDir?: string;
  /** The built-in package; default the one shipped with Passerelle. */
  builtinDir?: string;
  logger?: Logger;
}

export interface TemplateVersionRef {
  id: string;
  version: string;
}

export interface TemplateVersionChange {
  id: string;
  from: string;
  to: string;
}

/** What changed between two sets. */
export interface TemplateChanges {
  added: TemplateVersionRef[];
  updated: TemplateVersionChange[];
  removed: TemplateVersionRef[];
}

export interface TemplateSyncReport extends TemplateChanges {
  /**
   * `applied`: the package is now active; `unchanged`: it is the active one
   * already; `skipped`: it was rolled back by an operator and stays out
   * until a newer package is published.
   */
  outcome: "applied" | "unchanged" | "skipped";
  packageVersion: string;
  previousPackageVersion: string;
  /** SHA-256 (hex) of the package's manifest. */
  digest: string;
  signer?: PackageSigner;
}

export interface TemplateRollbackReport extends TemplateChanges {
  packageVersion: string;
  rolledBackFrom: string;
}

export interface ApplyPackageOptions {
  trust: PackageTrust;
}

/** Where a set lives: the built-in directory, or a package directory under `packages/`. */
type Location = { kind: "builtin" } | { kind: "applied"; name: string };

interface StoreState {
  current: TemplateSet;
  currentLocation: Location;
  previous: TemplateSet | undefined;
  previousLocation: Location | undefined;
  /** Digests of packages an operator rolled back: a sync does not re-apply them. */
  rolledBack: readonly string[];
}

interface StateFile {
  format: 1;
  current: string | null;
  previous: string | null;
  rolledBack: string[];
}

const STATE_FILE = "state.json";
const PACKAGES_DIR = "packages";
const BUILTIN_MARKER = "builtin";
const ROLLED_BACK_KEPT = 20;

function locationName(location: Location | undefined): string | null {
  return location === undefined ? null : location.kind === "builtin" ? BUILTIN_MARKER : location.name;
}

function packageDirectoryName(pkg: TemplatePackage): string {
  return `${pkg.manifest.packageVersion.replace(/[^0-9A-Za-z.-]/g, "_")}-${pkg.digest.slice(0, 12)}`;
}

/** Template-level differences, from the templates' ids and versions. */
export function diffTemplateSets(from: TemplateSet, to: TemplateSet): TemplateChanges {
  const before = new Map(from.list().map((t) => [t.id, t.version]));
  const after = new Map(to.list().map((t) => [t.id, t.version]));
  const changes: TemplateChanges = { added: [], updated: [], removed: [] };
  for (const [id, version] of after) {
    const old = before.get(id);
    if (old === undefined) changes.added.push({ id, version });
    else if (old !== version) changes.updated.push({ id, from: old, to: version });
  }
  for (const [id, version] of before) if (!after.has(id)) changes.removed.push({ id, version });
  return changes;
}

export class TemplateStore {
  readonly #dataDir: string | undefined;
  readonly #builtin: TemplateSet;
  readonly #logger: Logger | undefined;
  #state: StoreState;
  /** Applies and rollbacks run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dataDir: string | undefined, builtin: TemplateSet, state: StoreState, logger: Logger | undefined) {
    this.#dataDir = dataDir;
    this.#builtin = builtin;
    this.#state = state;
    this.#logger = logger;
  }

  /**
   * Loads the built-in templates (a damaged built-in directory throws
   * `PASSERELLE_TEMPLATE_STORE_INVALID`), then the applied packages under
   * `dataDir`, if any (damaged ones are logged and ignored).
   */
  static async open(options: TemplateStoreOptions = {}): Promise<TemplateStore> {
    if (options.dataDir !== undefined && (typeof options.dataDir !== "string" || options.dataDir === "")) {
      throw new TypeError("dataDir must be a non-empty path");
    }
    const builtinDir = options.builtinDir ?? builtinTemplatesDirectory();
    let builtin: TemplateSet;
    try {
      builtin = await TemplateSet.compile(await readPackageDirectory(builtinDir), "builtin");
    } catch (error) {
      const why = error instanceof PasserelleError ? error.detail : error instanceof Error ? error.message : String(error);
      throw templateStoreInvalid(`The template directory ${builtinDir} cannot be loaded: ${why}`, error);
    }
    const logger = options.logger;
    let state: StoreState = { current: builtin, currentLocation: { kind: "builtin" }, previous: undefined, previousLocation: undefined, rolledBack: [] };
    if (options.dataDir !== undefined) state = await loadPersistedState(options.dataDir, builtin, logger);
    return new TemplateStore(options.dataDir, builtin, state, logger);
  }

  /** The set in force: take it once per request and use it throughout. */
  snapshot(): TemplateSet {
    return this.#state.current;
  }

  /** The set a rollback would return to, if any. */
  previousSnapshot(): TemplateSet | undefined {
    return this.#state.previous;
  }

  list(): TemplateSummary[] {
    return this.#state.current.list();
  }

  /**
   * A template of the active set, or — when `version` names the version it
   * had before the last update — of the previous set. Throws
   * `PASSERELLE_TEMPLATE_UNKNOWN` otherwise.
   */
  get(id: string, version?: string): TemplateSummary {
    return this.#setFor(id, version).get(id, version);
  }

  validate(id: string, data: unknown, options: RenderOptions & ValidateOptions = {}): void {
    this.#setFor(id, options.version).validate(id, data, options);
  }

  /** Renders with the set in force when called (see `snapshot()`). */
  async render(id: string, data: unknown, options: RenderOptions = {}): Promise<RenderedDocument> {
    return this.#setFor(id, options.version).render(id, data, options);
  }

  /** Whether an operator rolled this package back (sync skips it). */
  isRolledBack(digest: string): boolean {
    return this.#state.rolledBack.includes(digest);
  }

  /**
   * Verifies and applies a package (see the module comment for the checks).
   * Throws `TemplatePackageError` when refused; the store is then unchanged.
   */
  applyPackage(pkg: TemplatePackage, options: ApplyPackageOptions): Promise<TemplateSyncReport> {
    if (options?.trust === undefined) throw new TypeError("applyPackage needs options.trust");
    return this.#serialised(() => this.#apply(pkg, options.trust));
  }

  /**
   * Makes the previous set active again and remembers the package rolled
   * back, so the next sync does not bring it back. Throws
   * `PASSERELLE_CONFLICT` when there is no previous set.
   */
  rollback(): Promise<TemplateRollbackReport> {
    return this.#serialised(async () => {
      const state = this.#state;
      if (state.previous === undefined || state.previousLocation === undefined) {
        throw new PasserelleError("PASSERELLE_CONFLICT", { detail: `No previous template package to roll back to (active: ${state.current.packageVersion})` });
      }
      const next: StoreState = {
        current: state.previous,
        currentLocation: state.previousLocation,
        previous: undefined,
        previousLocation: undefined,
        rolledBack: [...state.rolledBack.filter((d) => d !== state.current.digest), state.current.digest].slice(-ROLLED_BACK_KEPT),
      };
      await this.#persist(next);
      this.#state = next;
      this.#logger?.warn({ from: state.current.packageVersion, to: next.current.packageVersion }, "template package rolled back");
      return { packageVersion: next.current.packageVersion, rolledBackFrom: state.current.packageVersion, ...diffTemplateSets(state.current, next.current) };
    });
  }

  #setFor(id: string, version: string | undefined): TemplateSet {
    const { current, previous } = this.#state;
    if (version === undefined || current.has(id, version)) return current;
    if (previous?.has(id, version)) return previous;
    throw templateUnknown(id, version, current.has(id) ? current.get(id).version : undefined);
  }

  #serialised<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(pkg: TemplatePackage, trust: PackageTrust): Promise<TemplateSyncReport> {
    const state = this.#state;
    const current = state.current;
    const base = { digest: pkg.digest, packageVersion: pkg.manifest.packageVersion, previousPackageVersion: current.packageVersion };
    try {
      // Authenticity first: nothing of the package is interpreted beyond its manifest before this.
      const signer = await verifyPackageSignature(pkg, trust);
      checkPackageFiles(pkg.manifest, pkg.files);
      if (pkg.digest === current.digest) return { outcome: "unchanged", ...base, added: [], updated: [], removed: [], signer };
      if (state.rolledBack.includes(pkg.digest)) return { outcome: "skipped", ...base, added: [], updated: [], removed: [], signer };
      this.#checkVersions(pkg, current);
      const next = await TemplateSet.compile(pkg, "ihub", { previous: current });
      let location: Location = { kind: "applied", name: packageDirectoryName(pkg) };
      if (this.#dataDir !== undefined) {
        await writePackageDirectory(pkg, join(this.#dataDir, PACKAGES_DIR), location.name);
      } else {
        location = { kind: "applied", name: `memory:${location.name}` };
      }
      const nextState: StoreState = { current: next, currentLocation: location, previous: current, previousLocation: state.currentLocation, rolledBack: state.rolledBack };
      await this.#persist(nextState);
      // The swap: from here on new requests get `next`; those holding `current` finish with it.
      this.#state = nextState;
      const changes = diffTemplateSets(current, next);
      this.#logger?.info({ packageVersion: next.packageVersion, previous: current.packageVersion, digest: pkg.digest, signer: signer.subject, ...changes }, "template package applied");
      return { outcome: "applied", ...base, ...changes, signer };
    } catch (error) {
      if (error instanceof TemplatePackageError) {
        this.#logger?.warn({ reason: error.reason, packageVersion: pkg.manifest.packageVersion, digest: pkg.digest, detail: error.detail }, "template package refused");
      }
      throw error;
    }
  }

  #checkVersions(pkg: TemplatePackage, current: TemplateSet): void {
    const order = compareSemver(pkg.manifest.packageVersion, current.packageVersion);
    if (order < 0) {
      throw new TemplatePackageError("downgrade", `Package ${pkg.manifest.packageVersion} is older than the active package ${current.packageVersion}`);
    }
    if (order === 0) {
      throw new TemplatePackageError("version_reused", `Package version ${pkg.manifest.packageVersion} is active with other content`);
    }
    for (const template of pkg.manifest.templates) {
      if (!current.has(template.id)) continue;
      const active = current.get(template.id).version;
      if (compareSemver(template.version, active) < 0) {
        throw new TemplatePackageError("downgrade", `Template ${template.id} would go back from ${active} to ${template.version}`);
      }
    }
  }

  /** Writes the state file, then removes what it no longer references. */
  async #persist(state: StoreState): Promise<void> {
    const dataDir = this.#dataDir;
    if (dataDir === undefined) return;
    const file: StateFile = {
      format: 1,
      current: state.currentLocation.kind === "builtin" ? null : state.currentLocation.name,
      previous: locationName(state.previousLocation),
      rolledBack: [...state.rolledBack],
    };
    await replaceFileAtomically(join(dataDir, STATE_FILE), Buffer.from(`${JSON.stringify(file, null, 2)}\n`));
    await prunePackages(dataDir, [file.current, file.previous], this.#logger);
  }

  /** The built-in set (what a fresh data directory starts from). */
  get builtin(): TemplateSet {
    return this.#builtin;
  }
}

async function prunePackages(dataDir: string, keep: readonly (string | null)[], logger: Logger | undefined): Promise<void> {
  const directory = join(dataDir, PACKAGES_DIR);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  for (const name of names) {
    if (keep.includes(name)) continue;
    // Best effort: a leftover directory costs disk space, not correctness.
    await rm(join(directory, name), { recursive: true, force: true }).catch((error: unknown) => logger?.warn({ err: error, name }, "could not remove an old template package"));
  }
}

async function readStateFile(dataDir: string): Promise<StateFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, STATE_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<StateFile>;
  const name = (value: unknown): value is string | null => value === null || (typeof value === "string" && /^[0-9A-Za-z._-]+$/.test(value));
  if (parsed.format !== 1 || !name(parsed.current) || !name(parsed.previous) || !Array.isArray(parsed.rolledBack)) {
    throw new Error(`${STATE_FILE} is not a template store state`);
  }
  return { format: 1, current: parsed.current, previous: parsed.previous, rolledBack: parsed.rolledBack.filter((d): d is string => typeof d === "string") };
}

async function loadPersistedState(dataDir: string, builtin: TemplateSet, logger: Logger | undefined): Promise<StoreState> {
  const fresh: StoreState = { current: builtin, currentLocation: { kind: "builtin" }, previous: undefined, previousLocation: undefined, rolledBack: [] };
  const packagesDir = join(dataDir, PACKAGES_DIR);
  // Leftovers of an interrupted write: never referenced by the state file.
  const leftovers = await readdir(packagesDir).catch(() => [] as string[]);
  await Promise.all(leftovers.filter((name) => name.startsWith(".tmp-")).map((name) => rm(join(packagesDir, name), { recursive: true, force: true })));

  let file: StateFile | undefined;
  try {
    file = await readStateFile(dataDir);
  } catch (error) {
    logger?.error({ err: error, dataDir }, "template store state unreadable; starting from the built-in templates");
    return fresh;
  }
  if (file === undefined) return fresh;

  const load = async (name: string | null): Promise<{ set: TemplateSet; location: Location } | undefined> => {
    if (name === null || name === BUILTIN_MARKER) return { set: builtin, location: { kind: "builtin" } };
    try {
      const set = await TemplateSet.compile(await readPackageDirectory(join(packagesDir, name)), "ihub", { previous: builtin });
      return { set, location: { kind: "applied", name } };
    } catch (error) {
      logger?.error({ err: error, package: name }, "applied template package damaged; ignored");
      return undefined;
    }
  };
  const current = await load(file.current);
  const previous = file.previous === null ? undefined : await load(file.previous);
  let state: StoreState;
  if (current !== undefined) {
    state = { current: current.set, currentLocation: current.location, previous: previous?.set, previousLocation: previous?.location, rolledBack: file.rolledBack };
  } else if (previous !== undefined) {
    state = { current: previous.set, currentLocation: previous.location, previous: undefined, previousLocation: undefined, rolledBack: file.rolledBack };
  } else {
    state = { ...fresh, rolledBack: file.rolledBack };
  }
  if (state.currentLocation.kind === "applied" && compareSemver(builtin.packageVersion, state.current.packageVersion) > 0) {
    logger?.info({ builtin: builtin.packageVersion, applied: state.current.packageVersion }, "built-in templates newer than the applied package; using them");
    state = { current: builtin, currentLocation: { kind: "builtin" }, previous: state.current, previousLocation: state.currentLocation, rolledBack: state.rolledBack };
  }
  return state;
}
