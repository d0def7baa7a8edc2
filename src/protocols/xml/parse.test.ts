import { describe, expect, it } from "vitest";
import { XmlParseError } from "./errors.js";
import { parseXml, serializeXml } from "./parse.js";

function refusal(input: string | Uint8Array, options?: Parameters<typeof parseXml>[1]): { error: XmlParseError; ms: number } {
  const started = performance.now();
  try {
    parseXml(input, options);
  } catch (error) {
    const ms = performance.now() - started;
    expect(error).toBeInstanceOf(XmlParseError);
    return { error: error as XmlParseError, ms };
  }
  throw new Error("parseXml accepted the document");
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`;

const XXE_FILE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [ <!ELEMENT foo ANY > <!ENTITY xxe SYSTEM "file:///etc/passwd" >]>
<foo>&xxe;</foo>`;

const EXTERNAL_DTD = `<?xml version="1.0"?><!DOCTYPE note SYSTEM "http://127.0.0.1:9/evil.dtd"><note>hi</note>`;

const PARAMETER_ENTITIES = `<?xml version="1.0"?>
<!DOCTYPE data [
  <!ENTITY % file SYSTEM "file:///etc/passwd">
  <!ENTITY % dtd SYSTEM "http://127.0.0.1:9/combine.dtd">
  %dtd;
]>
<data>&send;</data>`;

describe("parseXml refuses DTDs before anything is expanded", () => {
  it.each([
    ["billion laughs", BILLION_LAUGHS, 2],
    ["XXE file:///etc/passwd", XXE_FILE, 2],
    ["external DTD", EXTERNAL_DTD, 1],
    ["parameter entities", PARAMETER_ENTITIES, 2],
  ])("%s", (_name, payload, line) => {
    const { error, ms } = refusal(payload);
    expect(error.code).toBe("PASSERELLE_XML_FORBIDDEN");
    expect(error.status).toBe(400);
    expect(error.reason).toBe("dtd");
    expect(error.line).toBe(line);
    expect(error.message).toMatch(/DOCTYPE/);
    // Nothing was read or expanded: no file content, no "lol" avalanche, and no time spent.
    expect(JSON.stringify({ message: error.message, extensions: error.extensions })).not.toMatch(/root:|lollol/);
    expect(ms).toBeLessThan(50);
  });

  it("refuses the same payloads given as bytes, in UTF-16 too", () => {
    expect(refusal(Buffer.from(XXE_FILE, "utf8")).error.reason).toBe("dtd");
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(BILLION_LAUGHS.replace(' encoding="UTF-8"', ""), "utf16le")]);
    expect(refusal(utf16).error.reason).toBe("dtd");
  });

  it("refuses any other markup declaration, wherever it appears", () => {
    expect(refusal('<a/><!DOCTYPE a [<!ENTITY e "x">]>').error.reason).toBe("dtd");
    expect(refusal('<!ENTITY e "x"><a/>').error.reason).toBe("dtd");
    expect(refusal("<a><![INCLUDE[ x ]]></a>").error.reason).toBe("dtd");
    expect(refusal("<!-- c --><!doctype a><a/>").error.reason).toBe("dtd");
  });

  it("does not mistake DOCTYPE text inside comments, CDATA, processing instructions or attributes for a declaration", () => {
    const doc = parseXml('<a t="&lt;!DOCTYPE" u=">"><!-- <!DOCTYPE x> --><![CDATA[<!DOCTYPE y>]]><?pi <!DOCTYPE z>?></a>');
    expect(doc.documentElement?.getAttribute("t")).toBe("<!DOCTYPE");
    expect(doc.documentElement?.textContent).toBe("<!DOCTYPE y>");
    // A raw "<" in an attribute value is not well-formed: still refused, by the parser.
    expect(refusal('<a u="<!DOCTYPE x>"/>').error.reason).toBe("malformed");
  });
});

describe("parseXml limits", () => {
  it("refuses documents over maxBytes, counting encoded bytes", () => {
    expect(refusal("<a>" + "x".repeat(100) + "</a>", { maxBytes: 100 }).error).toMatchObject({ reason: "too_large", code: "PASSERELLE_XML_FORBIDDEN" });
    // 40 characters, 80 bytes in UTF-8.
    expect(refusal("<a>" + "é".repeat(37) + "</a>", { maxBytes: 60 }).error.reason).toBe("too_large");
    expect(refusal(Buffer.alloc(101, 0x20), { maxBytes: 100 }).error.reason).toBe("too_large");
  });

  it("refuses more than 10 MB by default, without parsing", () => {
    const huge = "<a>" + "x".repeat(10 * 1024 * 1024) + "</a>";
    const { error, ms } = refusal(huge);
    expect(error.reason).toBe("too_large");
    expect(ms).toBeLessThan(500);
  });

  it("accepts the maximum depth and refuses one more", () => {
    const nested = (depth: number): string => "<e>".repeat(depth) + "</e>".repeat(depth);
    expect(parseXml(nested(256)).documentElement?.localName).toBe("e");
    expect(refusal(nested(257)).error).toMatchObject({ reason: "too_deep", line: 1, column: 256 * 3 + 1 });
    expect(refusal(nested(11), { maxDepth: 10 }).error.reason).toBe("too_deep");
  });

  it("refuses very deep documents quickly and without stack overflow", () => {
    const { error, ms } = refusal("<e>".repeat(1_000_000));
    expect(error.reason).toBe("too_deep");
    expect(ms).toBeLessThan(200);
  });

  it("counts self-closing elements and quoted '>' correctly", () => {
    expect(parseXml(`<a>${'<b x="a>b" y=\'/>\'/>'.repeat(300)}</a>`, { maxDepth: 2 }).documentElement?.childNodes.length).toBe(300);
  });

  it("rejects bad options as caller mistakes", () => {
    expect(() => parseXml("<a/>", { maxDepth: 0 })).toThrow(TypeError);
    expect(() => parseXml("<a/>", { maxBytes: 1.5 })).toThrow(TypeError);
    expect(() => parseXml(42 as unknown as string)).toThrow(TypeError);
  });
});

describe("parseXml on malformed input", () => {
  it.each([
    ["<a><b></a>", 1, 4, /mismatch/],
    ["<a>\n  <b x='1' x='2'/>\n</a>", 2, 3, /redefined/],
    ["<a>&undefined;</a>", 1, 1, /entity/],
    ["<a/>trailing", 1, 1, /Extra content/],
    ["<p:a/>", 1, 1, /namespace/],
    ["<a x=1/>", 1, 1, /./],
  ])("%j is refused with its position", (input, line, column, message) => {
    const { error } = refusal(input);
    expect(error.code).toBe("PASSERELLE_XML_MALFORMED");
    expect(error.status).toBe(400);
    expect(error.reason).toBe("malformed");
    expect(error.message).toMatch(message);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
    expect(error.extensions).toMatchObject({ reason: "malformed", line, column });
  });

  it("refuses an empty document and undecodable bytes", () => {
    expect(refusal("").error.reason).toBe("malformed");
    expect(refusal(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e])).error.message).toMatch(/utf-8/);
    expect(refusal(Buffer.from('<?xml version="1.0" encoding="x-unknown"?><a/>')).error.message).toMatch(/Unsupported/);
    expect(refusal(Buffer.from('<?xml version="1.0" encoding="US-ASCII"?><a>é</a>')).error.reason).toBe("malformed");
  });
});

describe("parseXml on good input", () => {
  it("tolerates processing instructions and drops the XML declaration", () => {
    const doc = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet href="s.xsl"?><a><?app data?></a>');
    expect(serializeXml(doc)).toBe('<?xml-stylesheet href="s.xsl"?><a><?app data?></a>');
  });

  it("decodes ISO-8859-1 and UTF-16 bytes", () => {
    const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9\u0080</a>', "latin1");
    expect(parseXml(latin1).documentElement?.textContent).toBe("\u00e9\u0080");
    const utf16 = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from("<a>\u00e9</a>", "utf16le").swap16()]);
    expect(parseXml(utf16).documentElement?.textContent).toBe("\u00e9");
    expect(parseXml("\ufeff<a>é</a>").documentElement?.textContent).toBe("é");
  });

  it("normalizes line ends as XML 1.0 does, and serializes back what parses to the same content", () => {
    const doc = parseXml('<a x="1&#10;2&#9;3&#13;">l1\r\nl2\rl3&#13;\u2028\u0085</a>');
    expect(doc.documentElement?.textContent).toBe("l1\nl2\nl3\r\u2028\u0085");
    const again = parseXml(serializeXml(doc));
    expect(again.documentElement?.textContent).toBe("l1\nl2\nl3\r\u2028\u0085");
    expect(again.documentElement?.getAttribute("x")).toBe("1\n2\t3\r");
    expect(serializeXml(parseXml("<a>1&#13;</a>"))).toBe("<a>1&#xD;</a>");
  });
});
