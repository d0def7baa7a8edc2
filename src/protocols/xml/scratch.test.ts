import { it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { parseXml } from "./parse.js";
import { canonicalize } from "./canonicalize.js";
const dir = "/work/shared/conformance/xmldsig/merlin-xmldsig-twenty-three/";
it("merlin", () => {
  for (const [name, sel] of [["signature-enveloped-dsa", 0], ["signature-enveloping-rsa", 1], ["signature-enveloping-hmac-sha1", 1]] as const) {
    const doc = parseXml(readFileSync(dir + name + ".xml"));
    const sig = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature")[0]!;
    const si = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "SignedInfo")[0]!;
    expect(canonicalize(si, { mode: "c14n" })).toBe(readFileSync(dir + name + "-c14n-1.txt", "utf8"));
    if (name === "signature-enveloped-dsa") expect(canonicalize(doc, { mode: "c14n", exclude: sig })).toBe(readFileSync(dir + name + "-c14n-0.txt", "utf8"));
    else expect(canonicalize(doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Object")[0]!, { mode: "c14n" })).toBe(readFileSync(dir + name + "-c14n-0.txt", "utf8"));
  }
  const d = parseXml('<?xml version="1.0"?><?pi x?><a xmlns:p="urn:p" xmlns="urn:d" b="2" a="1" xml:lang="fr"><p:c/><e xmlns=""/></a><?post?>');
  console.log(canonicalize(d, { mode: "exc-c14n" }));
  console.log(canonicalize(d, { mode: "c14n" }));
  console.log(canonicalize(d.documentElement!.firstChild as never, { mode: "c14n" }));
  console.log(canonicalize(d.documentElement!.firstChild as never, { mode: "exc-c14n" }));
});
