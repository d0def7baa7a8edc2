import type { ConfigIssue } from "./load.js";

/**
 * Reads the files that settings name (certificates, keystores), turning an
 * unreadable one into a configuration issue instead of an exception, so that
 * start-up reports every bad setting at once.
 *
 * @example
 * ```ts
 * const issues: ConfigIssue[] = [];
 * const read = settingFileReader(issues, (file) => readFileSync(file, "utf8"));
 * const ca = read("PSC_CA_FILE", settings.pscCaFile); // undefined when unset or unreadable
 * if (issues.length > 0) throw new ConfigError(issues);
 * ```
 */
export function settingFileReader<T>(issues: ConfigIssue[], readFile: (file: string) => T): (name: string, file: string | undefined) => T | undefined {
  return (name, file) => {
    if (file === undefined) return undefined;
    try {
      return readFile(file);
    } catch (err) {
      issues.push({ name, received: JSON.stringify(file), expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? "error"})` });
      return undefined;
    }
  };
}
