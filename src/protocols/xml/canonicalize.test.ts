import { readFileSync } from "node:fs";
import type { Element } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { canonicalize } from "./canonicalize.js";
import { parseXml } from "./parse.js";

const MERLIN = new URL("../../../../shared/conformance/xmldsig/merlin-xmldsig-twenty-three/", import.meta.url);
const DSIG = "http://www.w3.org/2000/09/xmldsig#";

function first(doc: ReturnType<typeof parseXml>, localName: string): Element {
  const element = doc.getElementsByTagNameNS("*", localName)[0];
  if (element === undefined) throw new Error(`no ${localName}`);
  return element;
}

describe("canonicalize against the Merlin interop vectors (inclusive C14N 1.0)", () => {
  it.each(["signature-enveloped-dsa", "signature-enveloping-rsa", "signature-enveloping-hmac-sha1"])("%s", (name) => {
    const doc = parseXml(readFileSync(new URL(`${name}.xml`, MERLIN)));
    const expected0 = readFileSync(new URL(`${name}-c14n-0.txt`, MERLIN), "utf8");
    const expected1 = readFileSync(new URL(`${name}-c14n-1.txt`, MERLIN), "utf8");
    expect(canonicalize(first(doc, "SignedInfo"), { mode: "c14n" })).toBe(expected1);
    const signature = doc.getElementsByTagNameNS(DSIG, "Signature")[0];
    // c14n-0 is what Reference 0 digests: the document minus the signature (enveloped) or the Object.
    const referenced = name === "signature-enveloped-dsa" ? canonicalize(doc, { mode: "c14n", exclude: signature }) : canonicalize(first(doc, "Object"), { mode: "c14n" });
    expect(referenced).toBe(expected0);
  });
});

describe("canonicalize", () => {
  const doc = parseXml(
    '<?pre x?><!--before--><a xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q" xml:lang="fr" b="1" a="2"><p:b q:x="1" xmlns:p="urn:p"><c xmlns=""/><![CDATA[<&>]]><?in y?><!--c--></p:b></a><?post?>',
  );

  it("renders the document with line feeds around the document element, without the comments", () => {
    expect(canonicalize(doc, { mode: "c14n" })).toBe(
      '<?pre x?>\n<a xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q" a="2" b="1" xml:lang="fr"><p:b q:x="1"><c xmlns=""></c>&lt;&amp;&gt;<?in y?></p:b></a>\n<?post?>',
    );
  });

  it("keeps comments in the WithComments variant", () => {
    expect(canonicalize(doc, { mode: "exc-c14n", withComments: true })).toBe(
      '<?pre x?>\n<!--before-->\n<a xmlns="urn:d" a="2" b="1" xml:lang="fr"><p:b xmlns:p="urn:p" xmlns:q="urn:q" q:x="1"><c xmlns=""></c>&lt;&amp;&gt;<?in y?><!--c--></p:b></a>\n<?post?>',
    );
  });

  it("inclusive: an apex element carries every namespace in scope and inherits xml:* attributes", () => {
    expect(canonicalize(first(doc, "b"), { mode: "c14n" })).toBe(
      // xml:lang sorts before q:x: http://www.w3.org/XML/1998/namespace < urn:q.
      '<p:b xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q" xml:lang="fr" q:x="1"><c xmlns=""></c>&lt;&amp;&gt;<?in y?></p:b>',
    );
  });

  it("exclusive: only visibly utilized namespaces, no inherited xml:* attributes", () => {
    expect(canonicalize(first(doc, "b"), { mode: "exc-c14n" })).toBe('<p:b xmlns:p="urn:p" xmlns:q="urn:q" q:x="1"><c></c>&lt;&amp;&gt;<?in y?></p:b>');
    // xmlns="" is rendered only if an output ancestor rendered a non-empty default namespace.
    expect(canonicalize(first(doc, "c"), { mode: "exc-c14n" })).toBe("<c></c>");
  });

  it("exclusive: the InclusiveNamespaces PrefixList brings prefixes in scope, #default included", () => {
    expect(canonicalize(first(doc, "c"), { mode: "exc-c14n", inclusivePrefixes: ["p", "q", "absent"] })).toBe('<c xmlns:p="urn:p" xmlns:q="urn:q"></c>');
    const withDefault = parseXml('<a xmlns="urn:d"><b:x xmlns:b="urn:b"/></a>');
    expect(canonicalize(first(withDefault, "x"), { mode: "exc-c14n", inclusivePrefixes: ["#default"] })).toBe('<b:x xmlns="urn:d" xmlns:b="urn:b"></b:x>');
  });

  it("sorts namespaces by prefix and attributes by namespace URI then local name", () => {
    const sorted = parseXml('<a b="1" xmlns:z="urn:a" z:c="2" a="3" xmlns:y="urn:b" y:d="4" y:a="5"/>');
    expect(canonicalize(sorted, { mode: "c14n" })).toBe('<a xmlns:y="urn:b" xmlns:z="urn:a" a="3" b="1" z:c="2" y:a="5" y:d="4"></a>');
  });

  it("escapes text and attribute values as C14N §2.3 says", () => {
    const escaped = parseXml('<a v="&amp;&lt;>&quot;\'&#9;&#10;&#13;">&amp;&lt;&gt;"\'&#13;</a>');
    expect(canonicalize(escaped, { mode: "exc-c14n" })).toBe('<a v="&amp;&lt;>&quot;\'&#x9;&#xA;&#xD;">&amp;&lt;&gt;"\'&#xD;</a>');
  });

  it("drops superfluous namespace declarations and keeps needed redeclarations", () => {
    const redeclared = parseXml('<a xmlns:p="urn:p"><b xmlns:p="urn:p"><p:c xmlns:p="urn:other"/></b></a>');
    expect(canonicalize(redeclared, { mode: "c14n" })).toBe('<a xmlns:p="urn:p"><b><p:c xmlns:p="urn:other"></p:c></b></a>');
    expect(canonicalize(redeclared, { mode: "exc-c14n" })).toBe('<a><b><p:c xmlns:p="urn:other"></p:c></b></a>');
  });

  it("leaves out the excluded subtree (the enveloped-signature transform)", () => {
    const enveloped = parseXml('<a><x>1</x><ds:Signature xmlns:ds="urn:ds"><ds:v>s</ds:v></ds:Signature><y/></a>');
    expect(canonicalize(enveloped, { mode: "exc-c14n", exclude: first(enveloped, "Signature") })).toBe("<a><x>1</x><y></y></a>");
  });

  it("uses the namespaces of a DOM built without xmlns attributes", () => {
    const built = parseXml("<a/>");
    const child = built.createElementNS("urn:n", "n:child");
    child.setAttributeNS("urn:m", "m:attr", "v");
    built.documentElement?.appendChild(child);
    expect(canonicalize(built, { mode: "exc-c14n" })).toBe('<a><n:child xmlns:m="urn:m" xmlns:n="urn:n" m:attr="v"></n:child></a>');
  });

  it("rejects what it cannot canonicalize", () => {
    expect(() => canonicalize(doc, { mode: "c14n11" as "c14n" })).toThrow(TypeError);
    expect(() => canonicalize(first(doc, "b").childNodes[1] as never, { mode: "c14n" })).toThrow(TypeError);
  });
});
