/**
 * Packages on disk: the built-in directory shipped with the gateway, and the
 * applied packages the store keeps under its data directory.
 *
 * Writing is atomic the POSIX way: every file goes into a fresh temporary
 * directory beside the target, each file and directory is fsynced, then one
 * rename(2) makes the package appear whole; a crash leaves either nothing or
 * a `.tmp-*` directory that the next start removes. Small state files are
 * replaced the same way (write a temporary file, fsync, rename over).
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MANIFEST_FILE, SIGNATURE_FILE, checkPackageFiles, packageFrom, type TemplatePackage } from "./package-format.js";

/** The templates shipped with Passerelle (`builtin/` beside this module, in src/ and in dist/). */
export function builtinTemplatesDirectory(): string {
  return fileURLToPath(new URL("./builtin/", import.meta.url));
}

function filePath(directory: string, packagePath: string): string {
  // Package paths are checked against PATH_PATTERN (no "..", no absolute paths) when the manifest is parsed.
  return join(directory, ...packagePath.split("/"));
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Reads a package directory and checks its files against the manifest.
 * Throws `TemplatePackageError` for a damaged package, and the file
 * system's error when the manifest cannot be read at all.
 */
export async function readPackageDirectory(directory: string): Promise<TemplatePackage> {
  const manifestBytes = await readFile(join(directory, MANIFEST_FILE));
  const signature = await readOptional(join(directory, SIGNATURE_FILE));
  const listed = packageFrom(manifestBytes, new Map(), signature);
  const files = new Map<string, Buffer>();
  for (const file of listed.manifest.files) {
    const bytes = await readOptional(filePath(directory, file.path));
    if (bytes !== undefined) files.set(file.path, bytes);
  }
  checkPackageFiles(listed.manifest, files);
  return { ...listed, files };
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync(2) of a directory, so the entries just created or renamed in it survive a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `pkg` as `<parent>/<name>` atomically. An existing directory of
 * that name (left by an interrupted run: names are derived from the
 * manifest's digest) is replaced.
 */
export async function writePackageDirectory(pkg: TemplatePackage, parent: string, name: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  const temporary = await mkdtemp(join(parent, ".tmp-"));
  try {
    const directories = new Set<string>([temporary]);
    const entries: [string, Uint8Array][] = [[MANIFEST_FILE, pkg.manifestBytes], ...[...pkg.files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))];
    if (pkg.signature !== undefined) entries.push([SIGNATURE_FILE, pkg.signature]);
    for (const [path, bytes] of entries) {
      const target = filePath(temporary, path);
      await mkdir(dirname(target), { recursive: true });
      directories.add(dirname(target));
      await writeDurably(target, bytes);
    }
    for (const directory of directories) await syncDirectory(directory);
    const final = join(parent, name);
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
    await syncDirectory(parent);
    return final;
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Replaces a small file atomically (temporary file, fsync, rename, fsync of the directory). */
export async function replaceFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await writeDurably(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}
