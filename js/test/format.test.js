import { describe, expect, it } from "vitest";
import { formatNumber, significantDigits } from "../src/format.js";

describe("formatNumber", () => {
  it("keeps at most three significant digits, with a true minus sign", () => {
    expect(formatNumber(0.15312)).toBe("0.153");
    expect(formatNumber(-0.15312)).toBe("−0.153");
    expect(formatNumber(12.3456)).toBe("12.3");
    expect(formatNumber(-2.5)).toBe("−2.5");
    expect(formatNumber(0)).toBe("0");
  });

  it("writes tiny and huge magnitudes as short exponents", () => {
    expect(formatNumber(-0.00213)).toBe("−2.1e−3");
    expect(formatNumber(0.005)).toBe("5e−3");
    expect(formatNumber(123456)).toBe("1.2e5");
    expect(formatNumber(9999.9)).toBe("1e4");
    expect(formatNumber(999)).toBe("999");
  });

  it("says n/a for NaN and – for missing values", () => {
    expect(formatNumber(Number.NaN)).toBe("n/a");
    expect(formatNumber(undefined)).toBe("–");
  });

  it("never exceeds three significant digits over many magnitudes", () => {
    for (let e = -8; e <= 8; e++) {
      for (const m of [1, 1.2345, 9.9999, -3.14159]) {
        const text = formatNumber(m * 10 ** e);
        expect(significantDigits(text)).toBeLessThanOrEqual(3);
        expect(text.length).toBeLessThanOrEqual(7);
      }
    }
  });
});

describe("checkpoint caption", () => {
  it("counts from 1 like the slider and adds only what the data says", async () => {
    const { checkpointCaption } = await import("../src/format.js");
    expect(checkpointCaption(0, 5, "epoch 0")).toBe("checkpoint 1/5 · epoch 0");
    expect(checkpointCaption(4, 5)).toBe("checkpoint 5/5");
  });
});
