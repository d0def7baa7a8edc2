/**
 * SoftHSM2 tokens standing in for smart cards, for the tests and the
 * sandbox: a token directory and its `softhsm2.conf` under a directory of
 * the caller's choosing (so nothing touches /var/lib/softhsm), a token
 * initialised with `softhsm2-util`, and identities (private key +
 * certificate) imported the way a card is personalised: the key as a
 * sensitive, non-extractable object, the certificate as a public object with
 * the same CKA_ID.
 *
 * The tools are the independent ones (softhsm2-util for the key, OpenSC's
 * pkcs11-tool for the certificate), run with SOFTHSM2_CONF in their own
 * environment: process.env is not changed. PINs go on the tools' command
 * lines: this is for sandbox and test tokens only.
 *
 * @example
 * ```ts
 * const token = await createSoftHsmToken({ label: "CPS-10000000001", soPin: "12345678", userPin: "1234", dir });
 * await importIdentity(token, { keyPem, certPem, label: "Authentification CPS", id: "01" });
 * process.env.SOFTHSM2_CONF = token.configPath; // before the first C_Initialize in this process
 * ```
 */
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_PKCS11_MODULE } from "./pkcs11-module.js";

const run = promisify(execFile);

export interface SoftHsmTokenOptions {
  /** Token label (1–32 characters: PKCS#11 CK_TOKEN_INFO.label is 32 bytes). */
  label: string;
  /** Security officer PIN (SoftHSM wants 4–255 characters). */
  soPin: string;
  /** User PIN. */
  userPin: string;
  /** Directory for `softhsm2.conf` and the `tokens/` directory; created if needed. */
  dir: string;
  /** Default /usr/lib/softhsm/libsofthsm2.so. */
  modulePath?: string;
}

export interface SoftHsmToken {
  label: string;
  soPin: string;
  userPin: string;
  dir: string;
  /** The `softhsm2.conf` to put in SOFTHSM2_CONF. */
  configPath: string;
  tokenDirectory: string;
  modulePath: string;
  /** Environment additions for processes that must see this token. */
  env: { SOFTHSM2_CONF: string };
}

export interface SoftHsmIdentity {
  /** The private key (PEM, any format OpenSSL reads; not encrypted). */
  keyPem: string;
  /** Its certificate (PEM). */
  certPem: string;
  /** CKA_LABEL of both the key and the certificate. */
  label: string;
  /** CKA_ID of both, in hex (e.g. "01"). */
  id: string;
}

const HEX_ID = /^(?:[0-9a-fA-F]{2}){1,32}$/;

/** Whether SoftHSM, its tool and OpenSC's pkcs11-tool are installed (the sandbox provisions cards only then). */
export async function isSoftHsmAvailable(modulePath: string = DEFAULT_PKCS11_MODULE): Promise<boolean> {
  try {
    await access(modulePath, constants.R_OK);
  } catch {
    return false;
  }
  const found = await Promise.all(["softhsm2-util", "pkcs11-tool"].map((command) => isOnPath(command)));
  return found.every(Boolean);
}

async function isOnPath(command: string): Promise<boolean> {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (directory === "") continue;
    try {
      await access(join(directory, command), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/**
 * Writes `<dir>/softhsm2.conf`, and initialises a token labelled
 * `options.label` in `<dir>/tokens` (replacing a token of the same label
 * left by a previous run, so provisioning is repeatable).
 */
export async function createSoftHsmToken(options: SoftHsmTokenOptions): Promise<SoftHsmToken> {
  if (options === null || typeof options !== "object") throw new TypeError("createSoftHsmToken needs options");
  const { label, soPin, userPin } = options;
  if (typeof label !== "string" || label.length < 1 || Buffer.byteLength(label) > 32) {
    throw new TypeError("A token label is 1 to 32 bytes long");
  }
  for (const [name, pin] of [["soPin", soPin], ["userPin", userPin]] as const) {
    if (typeof pin !== "string" || pin.length < 4 || pin.length > 255) throw new TypeError(`${name} must be 4 to 255 characters`);
  }
  if (typeof options.dir !== "string" || options.dir === "") throw new TypeError("dir must be a directory path");
  const dir = resolve(options.dir);
  const tokenDirectory = join(dir, "tokens");
  const configPath = join(dir, "softhsm2.conf");
  await mkdir(tokenDirectory, { recursive: true, mode: 0o700 });
  await writeFile(
    configPath,
    [
      "# SoftHSM2 configuration written by Passerelle (src/trust/pkcs11/softhsm-fixture.ts): sandbox and test tokens only.",
      `directories.tokendir = ${tokenDirectory}`,
      "objectstore.backend = file",
      "log.level = ERROR",
      "slots.removable = false",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const token: SoftHsmToken = {
    label,
    soPin,
    userPin,
    dir,
    configPath,
    tokenDirectory,
    modulePath: options.modulePath ?? DEFAULT_PKCS11_MODULE,
    env: { SOFTHSM2_CONF: configPath },
  };
  if ((await readdir(tokenDirectory)).length > 0 && (await tokenExists(token))) {
    await softhsmUtil(token, ["--delete-token", "--token", label]);
  }
  await softhsmUtil(token, ["--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", userPin]);
  return token;
}

/**
 * Imports a private key (softhsm2-util makes it CKA_SENSITIVE and not
 * CKA_EXTRACTABLE: it can sign but cannot be read back) and its certificate
 * under the same CKA_LABEL and CKA_ID. The certificate must match the key.
 * (An imported key is not CKA_NEVER_EXTRACTABLE, by definition; a real CPS
 * card's key is generated on the card.)
 */
export async function importIdentity(token: SoftHsmToken, identity: SoftHsmIdentity): Promise<void> {
  if (identity === null || typeof identity !== "object") throw new TypeError("importIdentity needs { keyPem, certPem, label, id }");
  if (!HEX_ID.test(identity.id)) throw new TypeError('id must be hex, e.g. "01"');
  if (typeof identity.label !== "string" || identity.label === "") throw new TypeError("label must be a non-empty string");
  const privateKey = createPrivateKey(identity.keyPem);
  const certificate = new X509Certificate(identity.certPem);
  if (!certificate.checkPrivateKey(privateKey)) throw new TypeError("The certificate does not match the private key");

  // Temporary files live in the token's own 0700 directory, and are removed whatever happens.
  const stem = join(token.dir, `.import-${randomBytes(8).toString("hex")}`);
  const keyFile = `${stem}.key.pem`;
  const certificateFile = `${stem}.cert.der`;
  try {
    await writeFile(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    await writeFile(certificateFile, certificate.raw, { mode: 0o600 });
    await softhsmUtil(token, [
      "--import", keyFile, "--token", token.label, "--label", identity.label, "--id", identity.id, "--pin", token.userPin,
    ]);
    await pkcs11Tool(token, [
      "--token-label", token.label, "--login", "--pin", token.userPin,
      "--write-object", certificateFile, "--type", "cert", "--id", identity.id, "--label", identity.label,
    ]);
  } finally {
    await Promise.all([rm(keyFile, { force: true }), rm(certificateFile, { force: true })]);
  }
}

async function tokenExists(token: SoftHsmToken): Promise<boolean> {
  const { stdout } = await softhsmUtil(token, ["--show-slots"]);
  return stdout.split("\n").some((line) => /^\s*Label:\s*(.*?)\s*$/.exec(line)?.[1] === token.label);
}

async function softhsmUtil(token: SoftHsmToken, args: string[]): Promise<{ stdout: string }> {
  return tool("softhsm2-util", args, token);
}

async function pkcs11Tool(token: SoftHsmToken, args: string[]): Promise<{ stdout: string }> {
  return tool("pkcs11-tool", ["--module", token.modulePath, ...args], token);
}

async function tool(command: string, args: string[], token: SoftHsmToken): Promise<{ stdout: string }> {
  try {
    const { stdout } = await run(command, args, { env: { ...process.env, ...token.env }, timeout: 30_000 });
    return { stdout };
  } catch (error) {
    // Neither the arguments nor the child-process error (its `cmd` has them) may surface: they hold PINs.
    const stderr = (error as { stderr?: unknown }).stderr;
    const exitCode = (error as { code?: unknown }).code;
    const reason = typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : `exit code ${String(exitCode)}`;
    // eslint-disable-next-line preserve-caught-error -- the caught error's `cmd` holds PINs; its useful part is in the message.
    throw new Error(`${command} ${args[0] ?? ""} failed for token ${token.label}: ${reason}`);
  }
}
