// The search conditions the pane offers (a few common ones) and how they become HRBC condition text.
import type { ListResource, MatchConditions, PhaseResource } from "../api/types";

export interface SearchConditions {
  /** Phase option alias, e.g. Option.P_ResumePhase_Active. */
  phase?: string;
  /** yyyy-mm-dd: updated on or after this day. */
  updatedSince?: string;
}

export const PREFIX: Record<ListResource, string> = { resumes: "Resume", jobs: "Job", recruiters: "Recruiter" };
export const PHASE_RESOURCE: Record<ListResource, PhaseResource> = { resumes: "Resume", jobs: "Job", recruiters: "Recruiter" };

/** HRBC condition text, e.g. `Resume.P_Phase:or=Option.P_ResumePhase_Active,Resume.P_UpdateDate:ge=2025/10/01 00:00:00`. */
export function buildCondition(resource: ListResource, c: SearchConditions): string | undefined {
  const p = PREFIX[resource];
  const terms: string[] = [];
  if (c.phase) terms.push(`${p}.P_Phase:or=${c.phase}`);
  if (c.updatedSince && /^\d{4}-\d{2}-\d{2}$/.test(c.updatedSince)) {
    terms.push(`${p}.P_UpdateDate:ge=${c.updatedSince.replace(/-/g, "/")} 00:00:00`);
  }
  return terms.length > 0 ? terms.join(",") : undefined;
}

export const PAGE_SIZE = 20;

/** What the search screen hands to the composer: the query (for All), what is displayed and what is checked. */
export interface Selection {
  resource: ListResource;
  query: { keywords?: string; condition?: string };
  displayedIds: number[];
  checkedIds: number[];
  total: number;
}

/** The pages of a search as one list: a record that moved into a later page while paging is shown once. */
export function mergePages<T extends { id: number }>(pages: readonly { items: readonly T[] }[]): T[] {
  const seen = new Set<number>();
  const out: T[] = [];
  for (const page of pages)
    for (const item of page.items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      out.push(item);
    }
  return out;
}

/** The ticks left after a mailing went to `sent` ("all" = every tick). */
export const untickSent = (checked: ReadonlySet<number>, sent: readonly number[] | "all"): Set<number> =>
  sent === "all" ? new Set() : new Set([...checked].filter((id) => !sent.includes(id)));

/** One removable condition of a matching list: an option of the anchor in a field both resources share. */
export interface MatchChip {
  /** The list's field, e.g. Resume.P_ExpectArea. */
  field: string;
  label: string;
  option: string;
  optionName: string;
}

/** The chips as HRBC terms, one `or` term per field: `Resume.P_ExpectArea:or=Option.P_Tokyo:Option.P_Osaka`. */
export function matchCondition(chips: MatchChip[]): string | undefined {
  const byField = new Map<string, string[]>();
  for (const c of chips) byField.set(c.field, [...(byField.get(c.field) ?? []), c.option]);
  const terms = [...byField].map(([field, options]) => `${field}:or=${options.join(":")}`);
  return terms.length > 0 ? terms.join(",") : undefined;
}

/** Conditions joined with HRBC's AND (a comma), leaving out the empty ones. */
export const joinConditions = (...parts: (string | undefined)[]): string | undefined =>
  parts.filter((p): p is string => !!p).join(",") || undefined;

/** The anchor's shared option values as chips, one per option. */
export const matchChips = (m: MatchConditions): MatchChip[] =>
  m.conditions.flatMap((c) => c.options.map((o) => ({ field: c.field, label: c.label, option: o.alias, optionName: o.name })));
