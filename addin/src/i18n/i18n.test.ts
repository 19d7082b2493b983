import { describe, expect, it } from "vitest";
import { createI18n, detectLanguage, translate } from ".";
import { codeText, codeTexts, en, ja } from "./strings";

describe("i18n", () => {
  it("has every string in both languages", () => {
    expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of Object.entries(ja)) expect(v, k).not.toBe("");
  });

  it("keeps the same placeholders in both languages", () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(names(ja[k]), k).toEqual(names(en[k]));
    }
  });

  it("chooses ?lang= first, then Office's display language, then the browser's", () => {
    expect(detectLanguage({ search: "?lang=en", officeLanguage: "ja-JP" })).toBe("en");
    expect(detectLanguage({ search: "", officeLanguage: "ja-JP", browserLanguage: "en-US" })).toBe("ja");
    expect(detectLanguage({ officeLanguage: null, browserLanguage: "ja" })).toBe("ja");
    expect(detectLanguage({ officeLanguage: "fr-FR", browserLanguage: "de" })).toBe("en");
  });

  it("fills placeholders", () => {
    expect(translate("en", "counts", { checked: 1, displayed: 20, total: 1200 })).toBe("1 checked · 20 displayed · 1200 total");
    expect(translate("ja", "scopeChecked", { n: 3 })).toBe("チェックされているデータ（3 件）");
  });

  it("words the status codes in both languages, and knows every code of the contract", () => {
    expect(Object.keys(codeTexts.ja).sort()).toEqual(Object.keys(codeTexts.en).sort());
    for (const code of ["PacingWindow", "DailyQuota", "RetryAfter", "GraphErrors", "UploadBudget", "Expanding", "PausedByUser", "FailureStreak", "AttachmentsMissing", "SignInRefused"]) {
      expect(codeText("ja", code), code).not.toBeNull();
    }
    expect(codeText("ja", "RetryAfter", { seconds: 30 })).toBe("Microsoft 365 の送信制限により 30 秒待機中です。自動で再開します。");
    expect(codeText("en", "GraphErrors", { graphCode: "ServiceUnavailable", graphMessage: "Try later" })).toContain("Last error: ServiceUnavailable Try later");
    expect(codeText("en", "NotACode")).toBeNull();
  });

  it("formats dates in the user's locale", () => {
    const iso = "2026-11-27T03:57:13Z";
    expect(createI18n("ja", "ja-JP").formatDate(iso)).toMatch(/2026\/11\/27/);
    expect(createI18n("en", "en-US").formatDate(iso)).toMatch(/Nov 27, 2026/);
    expect(createI18n("en").formatNumber(1200)).toBe("1,200");
  });
});
