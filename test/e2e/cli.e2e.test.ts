import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, spawnCli, waitForOutput, type RunningCli } from "../support/cli.js";

const run = promisify(execFile);
const clis: RunningCli[] = [];
afterEach(() => {
  for (const c of clis.splice(0)) c.cleanup();
});

function start(args: string[], env: Record<string, string> = {}): RunningCli {
  const cli = spawnCli(args, env);
  clis.push(cli);
  return cli;
}

const URL_LINE = /listening on (https?:\/\/[^\s]+)/;

describe("passerelle CLI", () => {
  it("--help lists the commands and every setting", async () => {
    const cli = start(["--help"]);
    expect(await cli.exited).toBe(0);
    for (const s of ["passerelle start", "passerelle sandbox", "PORT, SERVER_PORT", "VAULT_KEY", "ACCEPT_LICENSE", "API_KEYS"]) {
      expect(cli.stdout()).toContain(s);
    }
  });

  it("fails fast with exit code 2 and one line per bad setting, secrets masked", async () => {
    const cli = start(["start"], { PORT: "99999", VAULT_KEY: "hunter2", DEBUG_LOG: "perhaps" });
    expect(await cli.exited).toBe(2);
    const lines = cli.stderr().split("\n").filter((l) => l.startsWith("config error:"));
    expect(lines).toHaveLength(3);
    expect(cli.stderr()).toContain('config error: PORT: received "99999"; expected an integer between 0 and 65535');
    expect(cli.stderr()).not.toContain("hunter2");
  });

  it("refuses a non-sandbox profile without ACCEPT_LICENSE, printing the terms and how to accept", async () => {
    const cli = start(["start"], { PROFILE: "production" });
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain("Apache License 2.0");
    expect(cli.stderr()).toContain("set ACCEPT_LICENSE=true");
  });

  it("starts with zero configuration, serves the sandbox and stops on SIGTERM with exit 0", async () => {
    const cli = start(["start"]);
    const out = await waitForOutput(cli, (s) => URL_LINE.test(s) && s.includes("Demo API key"));
    const url = URL_LINE.exec(out)?.[1] ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const key = /Demo API key \(admin\): (\S+)/.exec(out)?.[1] ?? "";
    const live = await fetch(`${url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    const sandbox = (await (await fetch(`${url}/sandbox`)).json()) as { demoApiKey: string; simulators: Array<{ id: string; url: string }> };
    expect(sandbox.demoApiKey).toBe(key);
    expect(sandbox.simulators.length).toBeGreaterThan(0);
    const caller = await fetch(`${url}/v1/caller`, { headers: { "x-api-key": key } });
    expect(await caller.json()).toEqual({ id: "sandbox-demo", roles: ["admin"], via: "api-key" });
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toContain('"msg":"stopped"');
    // The demo key is printed on the console banner, never in the JSON logs.
    expect(cli.stdout()).not.toContain(key);
  });

  describe("the sandbox process", () => {
    const sandboxPidOf = (cli: RunningCli): number => {
      const line = cli
        .stdout()
        .split("\n")
        .find((l) => l.includes('"msg":"sandbox process ready"'));
      const pid = (JSON.parse(line ?? "{}") as { pid?: number }).pid;
      if (pid === undefined) throw new Error(`no "sandbox process ready" log line in:\n${cli.stdout()}`);
      return pid;
    };
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const gone = async (pid: number): Promise<boolean> => {
      for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      return !alive(pid);
    };

    it("runs the simulators in a child process that stops with the gateway", async () => {
      const cli = start(["start"]);
      await waitForOutput(cli, (s) => URL_LINE.test(s));
      const pid = sandboxPidOf(cli);
      expect(pid).not.toBe(cli.child.pid);
      expect(alive(pid)).toBe(true);
      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(await gone(pid)).toBe(true);
    });

    it("leaves no simulator behind when the gateway is killed outright", async () => {
      const cli = start(["start"]);
      await waitForOutput(cli, (s) => URL_LINE.test(s));
      const pid = sandboxPidOf(cli);
      cli.child.kill("SIGKILL");
      await cli.exited;
      expect(await gone(pid)).toBe(true);
    });

    it("fails the start with the sandbox's own reason when the simulators cannot start", async () => {
      // TEST-NET-1 (RFC 5737): a valid address no interface here has, so every simulator's bind fails.
      const cli = start(["start"], { SANDBOX_HOST: "192.0.2.1" });
      expect(await cli.exited).toBe(1);
      expect(cli.stderr()).toMatch(/passerelle: The sandbox failed to start: Sandbox failed to start: simulator "sandbox-ca" \(.*EADDRNOTAVAIL/);
      expect(cli.stderr()).not.toContain("listening on");
    });

    it("fails the start with the reason when a simulator fails after the ports are bound (while the gateway starts its modules)", async () => {
      // A directory where fr-psc keeps its signing keys file: its create() fails, after every port is reported.
      const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-cli-late-"));
      try {
        mkdirSync(path.join(dataDir, "sandbox", "fr-psc", "provider-keys.json"), { recursive: true });
        const cli = start(["start"], { DATA_DIR: dataDir });
        expect(await cli.exited).toBe(1);
        expect(cli.stderr()).toMatch(/passerelle: The sandbox failed to start: Sandbox failed to start: simulator "fr-psc" \(.*EISDIR/);
        expect(cli.stderr()).not.toContain("listening on");
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("stops the gateway with exit code 1 when the simulators' process dies", async () => {
      const cli = start(["start"]);
      await waitForOutput(cli, (s) => URL_LINE.test(s));
      process.kill(sandboxPidOf(cli), "SIGKILL");
      expect(await cli.exited).toBe(1);
      expect(cli.stdout()).toContain("the sandbox process stopped: stopping the gateway");
    });
  });

  it("runs the Dockerfile's HEALTHCHECK command successfully against a gateway bound as in the image", async () => {
    const cli = start(["start"], { HOST: "0.0.0.0" });
    const out = await waitForOutput(cli, (s) => URL_LINE.test(s));
    const port = /:(\d+)$/.exec(URL_LINE.exec(out)?.[1] ?? "")?.[1] ?? "";
    const { readFileSync } = await import("node:fs");
    const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
    const script = /CMD \["node", "-e", "(.+)"\]/.exec(dockerfile)?.[1];
    expect(script).toBeDefined();
    await expect(run(process.execPath, ["-e", script ?? ""], { env: { PORT: port } })).resolves.toBeDefined();
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("sandbox starts only the simulators, serving real HTTPS, and stops on SIGTERM", async () => {
    const cli = start(["sandbox"]);
    const out = await waitForOutput(cli, (s) => s.includes("Trust anchor"));
    const url = /sandbox-ca\s+(https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url).toBeDefined();
    const { readFileSync } = await import("node:fs");
    const root = readFileSync(`${cli.dataDir}/pki/root-ca.cert.pem`, "utf8");
    const { UpstreamClient } = await import("../../src/transport/index.js");
    const client = new UpstreamClient({ name: "probe", baseUrl: url ?? "", tls: { ca: root } });
    expect((await client.request({ method: "GET", path: "/ca/root.pem" })).text()).toBe(root);
    await client.close();
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  it("hash-key prints a new key and its API_KEYS entry", async () => {
    const { stdout } = await run(process.execPath, [CLI, "hash-key", "k"]);
    expect(stdout).toBe("API_KEYS entry: <caller-id>:5c8e8d2b0ab0c1ec1ac2eb2e2e7d5b43ad3c7b1b6b4b81d3a80f0b7f2f0b1d5e\n".replace(/[0-9a-f]{64}/, (await import("node:crypto")).createHash("sha256").update("k").digest("hex")));
  });
});
