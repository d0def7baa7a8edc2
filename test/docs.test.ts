import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../src/config/index.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("starts with the two set-up commands", () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = firstBlock.split("\n").filter(Boolean).map((l) => l.split("#")[0]?.trim());
    expect(commands).toEqual(["npm install && npm start", "npm test"]);
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });

  it("documents every setting in its configuration table", () => {
    for (const s of Object.values(SETTINGS)) {
      expect(readme, s.env).toContain(`| \`${s.env}\``);
    }
  });
});
