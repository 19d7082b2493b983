// Language choice (?lang= override, then Office's display language, then the browser's) and the t() function.
import { createContext, useContext, useMemo, type ReactNode } from "react";
import { en, ja, type StringKey } from "./strings";

export type Lang = "ja" | "en";
export type { StringKey };

const DICTS: Record<Lang, Record<StringKey, string>> = { en, ja };

export function normalizeLang(tag: string | null | undefined): Lang | null {
  if (!tag) return null;
  const t = tag.toLowerCase();
  if (t.startsWith("ja")) return "ja";
  if (t.startsWith("en")) return "en";
  return null;
}

/** ?lang=ja|en wins (handy for tests), then Office.context.displayLanguage, then navigator.language; English otherwise. */
export function detectLanguage(options: { search?: string; officeLanguage?: string | null; browserLanguage?: string | null }): Lang {
  const param = new URLSearchParams(options.search ?? "").get("lang");
  return normalizeLang(param) ?? normalizeLang(options.officeLanguage) ?? normalizeLang(options.browserLanguage) ?? "en";
}

export type Vars = Record<string, string | number>;

export function translate(lang: Lang, key: StringKey, vars?: Vars): string {
  const text = DICTS[lang][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export interface I18n {
  lang: Lang;
  /** BCP 47 locale for Intl: the Office/browser locale when it matches the language, else ja-JP / en-US. */
  locale: string;
  t: (key: StringKey, vars?: Vars) => string;
  formatDate: (iso: string | null | undefined) => string;
  formatNumber: (n: number) => string;
}

export function createI18n(lang: Lang, preferredLocale?: string | null): I18n {
  const locale = preferredLocale && normalizeLang(preferredLocale) === lang ? preferredLocale : lang === "ja" ? "ja-JP" : "en-US";
  let dateFmt: Intl.DateTimeFormat;
  let numFmt: Intl.NumberFormat;
  try {
    dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    numFmt = new Intl.NumberFormat(locale);
  } catch {
    dateFmt = new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : "en-US", { dateStyle: "medium", timeStyle: "short" });
    numFmt = new Intl.NumberFormat(lang === "ja" ? "ja-JP" : "en-US");
  }
  return {
    lang,
    locale,
    t: (key, vars) => translate(lang, key, vars),
    formatDate: (iso) => {
      if (!iso) return "";
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
    },
    formatNumber: (n) => numFmt.format(n),
  };
}

const I18nContext = createContext<I18n>(createI18n("en"));

export function I18nProvider({ lang, locale, children }: { lang: Lang; locale?: string | null; children: ReactNode }) {
  const value = useMemo(() => createI18n(lang, locale), [lang, locale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export const useI18n = (): I18n => useContext(I18nContext);
