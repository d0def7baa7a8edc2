import { describe, expect, it } from "vitest";
import { Decimal } from "./decimal.js";
import { ExpressionSyntaxError, parseTextTemplate, renderText, type EvaluationScope } from "./expressions.js";

const data = {
  patient: { lastName: "Müller", birth: "1985-06-15" },
  acts: [
    { quantity: 1, unitAmount: 56.1, amount: 56.1, cnsAmount: 49.37 },
    { quantity: 2, unitAmount: 41.65, amount: 83.3, cnsAmount: 73.3 },
    { quantity: 1, unitAmount: 23.45, amount: 23.45, cnsAmount: 20.64 },
  ],
  kind: "accident-travail",
  outings: false,
  codes: [{ code: "J06.9" }, { code: "R50.9" }],
};

function render(source: string, current: unknown = data, variables: Record<string, string | number> = {}): string {
  const scope: EvaluationScope = { root: data, current, variables, maps: { kinds: { "accident-travail": "Accident du travail" } } };
  return renderText(parseTextTemplate(source), scope);
}

describe("template expressions", () => {
  it("reads paths and formats with filters", () => {
    expect(render("{{patient.lastName | upper}} né le {{patient.birth | date}}")).toBe("MÜLLER né le 15/06/1985");
    expect(render("{{kind | map:kinds}} — sorties : {{outings | yesno}}")).toBe("Accident du travail — sorties : Non");
    expect(render("{{missing | default:'—'}}|{{missing}}|")).toBe("—||");
    expect(render("{{codes.*.code | join:' / '}}")).toBe("J06.9 / R50.9");
    expect(render("{{acts.1.quantity}} × {{acts.1.unitAmount | amount}}")).toBe("2 × 41,65\u00a0€");
    expect(render("{{@page}}/{{@pages}}", data, { page: 1, pages: 3 })).toBe("1/3");
  });

  it("computes amounts exactly, not in binary floating point", () => {
    expect(1.1 + 2.2).not.toBe(3.3); // what a naive sum would print
    expect(render("{{sum(values.*) | number}}", { values: [1.1, 2.2] })).toBe("3,3");
    expect(Math.round(1.005 * 100) / 100).toBe(1); // the naive rounding of 1.005
    expect(render("{{n | amount}}", { n: 1.005 })).toBe("1,01\u00a0€");
    expect(render("{{sum(acts.*.amount) | amount}}")).toBe("162,85\u00a0€");
    expect(render("{{sumProduct(acts.*.quantity, acts.*.unitAmount) | amount}}")).toBe("162,85\u00a0€");
    expect(render("{{difference(sum(acts.*.amount), sum(acts.*.cnsAmount)) | amount}}")).toBe("19,54\u00a0€");
    expect(render("{{product(quantity, unitAmount) | amount}}", data.acts[1])).toBe("83,30\u00a0€");
    expect(render("{{$.patient.lastName}}", data.acts[0])).toBe("Müller");
    // In a table row the scope is the row; `$.` reaches the whole data.
    expect(render("{{sum($.acts.*.amount) | amount}}", data.acts[0])).toBe("162,85\u00a0€");
    expect(render("{{sum(acts.*.amount) | amount}}", data.acts[0])).toBe("0,00\u00a0€");
  });

  it("rounds half away from zero and groups thousands with no-break spaces", () => {
    expect(Decimal.fromNumber(1234567.885).round(2).toFixedText()).toBe("1234567.89");
    expect(Decimal.fromNumber(-0.005).round(2).toFixedText()).toBe("-0.01");
    expect(Decimal.fromNumber(1e21).toFixedText()).toBe("1000000000000000000000");
    expect(Decimal.fromNumber(1.5e-7).toFixedText()).toBe("0.00000015");
    expect(render("{{n | amount}}", { n: 1234567.885 })).toBe("1\u00a0234\u00a0567,89\u00a0€");
    expect(render("{{n | percent}}", { n: 88 })).toBe("88\u00a0%");
  });

  it("refuses malformed texts when a template is loaded", () => {
    for (const source of ["{{ a..b }}", "{{ a | nofilter }}", "{{ unknown(a) }}", "{{ sum(a, b) }}", "{{ a ", "a }}", "{{ a | map }}", "{{ sum(a }}"]) {
      expect(() => parseTextTemplate(source), source).toThrow(ExpressionSyntaxError);
    }
  });
});
