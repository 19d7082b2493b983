import { describe, expect, it } from "vitest";
import { codeTables, codeText, fill } from "./codes";
import { en, ja } from "./strings";

describe("the table of the API's codes", () => {
  it("says every code in both languages with the same placeholders", () => {
    const names = (s: string) => new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
    for (const [set, entries] of Object.entries(codeTables)) {
      for (const [code, text] of Object.entries(entries)) {
        expect(text?.en, `${set}.${code}`).toBeTruthy();
        expect(text?.ja, `${set}.${code}`).toBeTruthy();
        for (const n of names(text!.ja)) expect(names(text!.en), `${set}.${code}: {${n}}`).toContain(n);
      }
    }
  });

  it("fills arguments, in Japanese with the API's words translated, and leaves {{tags}} alone", () => {
    expect(codeText("reason", "AnchorGone", "ja", { resource: "Job" })).toBe("起点の JOB が HRBC にもうありません");
    expect(codeText("wait", "DailyQuota", "en", { limit: "10,000" })).toMatch(/^The daily limit of 10,000 recipients/);
    expect(codeText("paused", "NoSuchCode", "ja")).toBeNull();
    expect(fill("{{Person.P_Name}} {{else}} {name}", "en", { name: "x" })).toBe("{{Person.P_Name}} {{else}} x");
    expect(codeText("template", "UnknownTag", "ja", { tag: "Nope.X", suggestion: "Person.P_Name" })).toBe(
      "{{Nope.X}} は使えない差し込みタグです。{{Person.P_Name}} のことですか？",
    );
    // a variant chosen by an argument's value; other values keep the code's sentence (here the pane's own)
    expect(codeText("problem", "RateLimited", "en", { policy: "streams", limit: 10, retryAfterSeconds: 7 })).toBe(
      "You have 10 status streams open already; close one or try again in 7 seconds.",
    );
    expect(codeText("problem", "RateLimited", "ja", { policy: "submits", retryAfterSeconds: 7 })).toBe(
      "短時間の送信が多すぎます。7 秒後にもう一度お試しください。",
    );
  });

  it("uses the pane's status words: the same as the result file's (送信対象外, 中止: HRBC's terms)", () => {
    expect(codeTables.deliveryStatus.Skipped.ja).toBe("送信対象外");
    expect(codeTables.deliveryStatus.Cancelled.ja).toBe("中止");
    expect(ja.countSkipped.startsWith(codeTables.deliveryStatus.Skipped.ja)).toBe(true);
    expect(ja.countCancelled.startsWith(codeTables.deliveryStatus.Cancelled.ja)).toBe(true);
    expect(ja.stateCancelled).toBe(codeTables.deliveryStatus.Cancelled.ja);
    expect(en.countSkipped.startsWith(codeTables.deliveryStatus.Skipped.en)).toBe(true);
  });
});
