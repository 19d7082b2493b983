// Which tags the tag inserter offers, in which order.
import type { FieldResource, HrbcField } from "../api/types";

export interface TagGroup {
  key: FieldResource | "User";
  tags: { alias: string; label: string }[];
}

/** Names first (what a greeting needs), then the other text fields, then ids, owners and dates at the end. */
const rank = (f: HrbcField): number =>
  /\.P_(Name|Reading|Position)$/.test(f.alias) ? 0 : /\.P_(Id|Owner|RegistrationDate|UpdateDate|UpdatedBy|RegisteredBy)$/.test(f.alias) ? 2 : 1;

export const namesFirst = (fields: readonly HrbcField[]): HrbcField[] =>
  fields.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);

/** People first (the greeting's name), then the records, the sender's own tags last. */
export function tagGroups(byResource: readonly { resource: FieldResource; fields: readonly HrbcField[] }[], user: TagGroup["tags"]): TagGroup[] {
  const people = (k: TagGroup["key"]) => (k === "Candidate" || k === "Recruiter" ? 0 : 1);
  const groups = byResource.map(
    ({ resource, fields }): TagGroup => ({ key: resource, tags: namesFirst(fields).map((f) => ({ alias: f.alias, label: f.label })) }),
  );
  return [...groups.sort((a, b) => people(a.key) - people(b.key)), { key: "User", tags: user }];
}

/** The groups with only the tags whose alias or label contains the filter (case-insensitive); empty groups go. */
export function filterTags(groups: readonly TagGroup[], filter: string): TagGroup[] {
  const f = filter.trim().toLowerCase();
  return groups
    .map((g) => ({ ...g, tags: f ? g.tags.filter((x) => x.alias.toLowerCase().includes(f) || x.label.toLowerCase().includes(f)) : g.tags }))
    .filter((g) => g.tags.length > 0);
}
