import { useEffect, useMemo, useState, type FC } from "react";
import { Combobox, Field, Option, OptionGroup, Text } from "@fluentui/react-components";
import { getFields } from "../api/client";
import type { FieldResource, HrbcField } from "../api/types";
import { useI18n, type StringKey } from "../i18n";
import { USER_TAGS } from "../model/modes";

const GROUP_LABEL: Record<FieldResource | "User", StringKey> = {
  User: "tagGroupUser",
  Resume: "tagGroupResume",
  Candidate: "tagGroupCandidate",
  Job: "tagGroupJob",
  Client: "tagGroupClient",
  Recruiter: "tagGroupRecruiter",
  Process: "tagGroupProcess",
};

const cache = new Map<FieldResource, Promise<HrbcField[]>>();
/** Field metadata per resource, fetched once per page load. */
export function fieldsOf(resource: FieldResource): Promise<HrbcField[]> {
  let p = cache.get(resource);
  if (!p) {
    p = getFields(resource).catch((e: unknown) => {
      cache.delete(resource);
      throw e;
    });
    cache.set(resource, p);
  }
  return p;
}
export const clearFieldCache = () => cache.clear();

/** Names first (what a greeting needs), then the other text fields, then ids, owners and dates at the end. */
const rank = (f: HrbcField): number =>
  /\.P_(Name|Reading|Position)$/.test(f.alias) ? 0 : /\.P_(Id|Owner|RegistrationDate|UpdateDate|UpdatedBy|RegisteredBy)$/.test(f.alias) ? 2 : 1;
const namesFirst = (fields: HrbcField[]): HrbcField[] =>
  fields.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);

interface Group {
  key: FieldResource | "User";
  tags: { alias: string; label: string }[];
}

/** Lists the fields of every resource of the mode's context (plus the sender) and inserts the chosen tag. */
export const TagInserter: FC<{ resources: FieldResource[]; target: "subject" | "body"; onInsert: (tag: string) => void }> = ({
  resources,
  target,
  onInsert,
}) => {
  const { t } = useI18n();
  const [groups, setGroups] = useState<Group[]>([]);
  const [filter, setFilter] = useState("");
  const key = resources.join(",");

  useEffect(() => {
    let live = true;
    void Promise.all(
      resources.map((r) =>
        fieldsOf(r).then(
          (fields) => ({ key: r, tags: namesFirst(fields).map((f) => ({ alias: f.alias, label: f.label })) }) as Group,
          () => ({ key: r, tags: [] }) as Group,
        ),
      ),
    ).then((gs) => {
      if (!live) return;
      const user: Group = {
        key: "User",
        tags: [
          { alias: USER_TAGS[0], label: t("tagUserName") },
          { alias: USER_TAGS[1], label: t("tagUserMail") },
        ],
      };
      // People first (the greeting's name), then the records, the sender last.
      const people = (k: Group["key"]) => (k === "Candidate" || k === "Recruiter" ? 0 : 1);
      setGroups([...gs.sort((a, b) => people(a.key) - people(b.key)), user]);
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, t]);

  const visible = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return groups
      .map((g) => ({
        ...g,
        tags: f ? g.tags.filter((x) => x.alias.toLowerCase().includes(f) || x.label.toLowerCase().includes(f)) : g.tags,
      }))
      .filter((g) => g.tags.length > 0);
  }, [groups, filter]);

  return (
    <Field
      label={t("insertTag")}
      hint={t("insertTagTarget", { target: target === "subject" ? t("subject") : t("body") })}
    >
      <Combobox
        placeholder={t("insertTagPlaceholder")}
        value={filter}
        selectedOptions={[]}
        freeform
        onChange={(e) => setFilter(e.target.value)}
        onOptionSelect={(_, d) => {
          if (d.optionValue) onInsert(`{{${d.optionValue}}}`);
          setFilter("");
        }}
        data-testid="tag-inserter"
      >
        {visible.map((g) => (
          <OptionGroup key={g.key} label={t(GROUP_LABEL[g.key])}>
            {g.tags.map((tag) => (
              <Option key={`${g.key}:${tag.alias}`} value={tag.alias} text={`${tag.label} {{${tag.alias}}}`}>
                <span>
                  {tag.label} <Text size={200} font="monospace">{`{{${tag.alias}}}`}</Text>
                </span>
              </Option>
            ))}
          </OptionGroup>
        ))}
      </Combobox>
    </Field>
  );
};
