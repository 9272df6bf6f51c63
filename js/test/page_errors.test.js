import { describe, expect, it } from "vitest";
import { readConfig } from "../src/page.js";

const script = (text) => ({ textContent: text });
const good = { root: "embedding", models: { embedding: { kind: "embedding", state: {} } } };

describe("a saved page's embedded state", () => {
  it("reads strict JSON, missing numbers as null", () => {
    const cfg = readConfig(script(JSON.stringify({ ...good, bank: { x: [1, null, 2] } })));
    expect(cfg.root).toBe("embedding");
    expect(cfg.bank.x).toEqual([1, null, 2]);
  });

  it("decodes the \\u escapes of <, > and & back to the names", () => {
    const text = JSON.stringify({ ...good, name: "</script><!--<script>&lt;" }).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
    expect(text).not.toMatch(/[<>&]/);
    expect(readConfig(script(text)).name).toBe("</script><!--<script>&lt;");
  });

  it.each([
    ["bare NaN", '{"root":"embedding","models":{"embedding":{"kind":"embedding","state":{"x":NaN}}}}', /not valid JSON/],
    ["Infinity", '{"root":"embedding","models":{},"x":Infinity}', /not valid JSON/],
    ["truncated", JSON.stringify(good).slice(0, 30), /not valid JSON/],
    ["empty", "", /not valid JSON/],
    ["no models", '{"root":"embedding"}', /holds no widgets/],
    ["models a list", '{"root":"embedding","models":[]}', /holds no widgets/],
    ["null", "null", /holds no widgets/],
    ["missing root", '{"root":"explorer","models":{"embedding":{"kind":"embedding"}}}', /no widget "explorer"/],
    ["unknown kind", '{"root":"a","models":{"a":{"kind":"iframe"}}}', /unknown widget kind "iframe"/],
  ])("refuses %s with a message that says what is wrong", (_name, text, message) => {
    expect(() => readConfig(script(text))).toThrow(message);
  });

  it("refuses a page without its state script", () => {
    expect(() => readConfig(null)).toThrow(/no embedded state/);
  });
});
