import { describe, expect, it } from "vitest";
import { acceptQuality, prefersPdf } from "./accept.js";

const PDF = "application/pdf";

describe("acceptQuality (RFC 9110 §12.5.1)", () => {
  it("takes the most specific matching range, with its q", () => {
    expect(acceptQuality("application/*;q=0.5, application/pdf;q=0.2, */*;q=0.9", PDF)).toBe(0.2);
    expect(acceptQuality("text/html, application/*;q=0.5", PDF)).toBe(0.5);
    expect(acceptQuality("*/*;q=0.1", PDF)).toBe(0.1);
    expect(acceptQuality("text/html", PDF)).toBeUndefined();
  });

  it("is case-insensitive and tolerates spaces and other parameters", () => {
    expect(acceptQuality("Application/PDF ; charset=x ; Q=0.7", PDF)).toBe(0.7);
  });

  it("ignores a malformed q rather than failing", () => {
    expect(acceptQuality("application/pdf;q=2", PDF)).toBe(1);
    expect(acceptQuality("application/pdf;q=0.1234", PDF)).toBe(1);
  });
});

describe("prefersPdf", () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ["", false],
    ["*/*", false],
    ["application/json", false],
    ["application/pdf", true],
    ["application/pdf, application/json", true],
    ["application/json, application/pdf", false],
    ["application/json;q=0.5, application/pdf", true],
    ["application/pdf;q=0.5, application/json", false],
    ["application/pdf;q=0, */*", false],
    ["application/pdf;q=0", false],
    ["application/*", false],
    ["application/pdf, */*;q=0.1", true],
  ])("Accept %j → PDF %s", (accept, expected) => {
    expect(prefersPdf(accept, PDF)).toBe(expected);
  });
});
