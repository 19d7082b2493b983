// The pane's one table of the API's codes: problem, field and template codes, delivery reasons, why a mailing waits
// or is paused, follow-up outcomes, delivery status words. The texts are the server's table (ServerText, written to
// codes.json by the API's ApiTypesTests); the code unions come from the generated API types, so tsc fails here when
// the API has a code this table cannot say.
import table from "./codes.json";
import type {
  DeliveryStatus,
  PausedCode,
  PhaseUpdateCode,
  ProblemCode,
  ReasonCode,
  TemplateErrorCode,
  WaitCode,
} from "../api/types";

export type CodeLang = "ja" | "en";
export interface CodeText {
  en: string;
  ja: string;
}
export type Args = Record<string, string | number>;

const problem: Record<ProblemCode, CodeText> = table.ProblemCode;
const problemTitle: Partial<Record<ProblemCode, CodeText>> = table.ProblemTitle;
const template: Record<TemplateErrorCode, CodeText> = table.TemplateErrorCode;
/** Template codes whose sentence adds "did you mean …?" when the args carry a suggestion. */
const templateWithSuggestion: Partial<Record<TemplateErrorCode, CodeText>> = table.TemplateErrorCodeWithSuggestion;
const reason: Record<ReasonCode, CodeText> = table.ReasonCode;
const wait: Record<WaitCode, CodeText> = table.WaitCode;
const paused: Record<PausedCode, CodeText> = table.PausedCode;
const phaseUpdate: Record<PhaseUpdateCode, CodeText> = table.PhaseUpdateCode;
const deliveryStatus: Record<DeliveryStatus, CodeText> = table.DeliveryStatus;
const argWords: Record<string, Record<string, string>> = table.ArgWords;

// The pane's own wording for a few problems whose server sentence names an API word (RateLimited's policy is the
// rate-limit policy's id, "submits"): the same code, with the argument said in the user's language. The server's
// table stays the one source for every other code.
const paneProblem: Partial<Record<ProblemCode, CodeText>> = {
  RateLimited: {
    en: "Too many {policy} in a short time. Try again in {retryAfterSeconds} seconds.",
    ja: "短時間の{policy}が多すぎます。{retryAfterSeconds} 秒後にもう一度お試しください。",
  },
};
/** Problem codes the pane words itself in English too (the server's English names an API word). */
export const paneWorded: ReadonlySet<string> = new Set(Object.keys(paneProblem));
const paneArgWords: Record<string, Record<CodeLang, Record<string, string>>> = {
  // api/Infrastructure/RateLimits.cs's policy names
  policy: {
    en: { submits: "sends", previews: "previews", "test-sends": "test sends", uploads: "uploads", "template-writes": "template saves", streams: "status views" },
    ja: { submits: "送信", previews: "プレビュー", "test-sends": "テスト送信", uploads: "ファイルの追加", "template-writes": "テンプレートの保存", streams: "実行状況の表示" },
  },
};

export const codeTables = { problem: { ...problem, ...paneProblem } as Record<ProblemCode, CodeText>, problemTitle, template, reason, wait, paused, phaseUpdate, deliveryStatus } as const;
export type CodeSet = keyof typeof codeTables;

/** Fills {name} placeholders (not {{tags}}); in Japanese, values that are API words (parts, resources, states) too. */
export function fill(text: string, lang: CodeLang, args?: Args | null): string {
  if (!args) return text;
  // {name} also inside braces ({{{tag}}} shows {{Alias}}); a name that is not an argument stays ({{else}})
  return text.replace(/\{(\w+)\}/g, (m, name: string) => {
    if (!(name in args)) return m;
    const value = String(args[name]);
    return paneArgWords[name]?.[lang]?.[value] ?? ((lang === "ja" && argWords[name]?.[value]) || value);
  });
}

/** The text of a code of one set, or null when the code is not in it (a newer server): the caller falls back to the
 * server's own words. */
export function codeText(set: CodeSet, code: string | null | undefined, lang: CodeLang, args?: Args | null): string | null {
  if (!code) return null;
  const own = (t: Partial<Record<string, CodeText>>) => (Object.prototype.hasOwnProperty.call(t, code) ? t[code] : undefined);
  const suggested = set === "template" && args?.suggestion ? own(templateWithSuggestion) : undefined;
  const entry = suggested ?? own(codeTables[set] as Partial<Record<string, CodeText>>);
  return entry ? fill(entry[lang], lang, args) : null;
}

/** A field or problem code (the two sets share no names), e.g. from a validation problem's fieldCodes. */
export function messageText(code: string | null | undefined, lang: CodeLang, args?: Args | null): string | null {
  return codeText("problem", code, lang, args) ?? codeText("template", code, lang, args);
}
