import { useMemo, useState, type FC } from "react";
import { Combobox, Field, Option, OptionGroup, Text } from "@fluentui/react-components";
import type { FieldResource } from "../api/types";
import { useI18n, type StringKey } from "../i18n";
import { USER_TAGS } from "../model/modes";
import { filterTags, tagGroups } from "../model/tags";
import { useFieldsOf } from "../state/queries";

const GROUP_LABEL: Record<FieldResource | "User", StringKey> = {
  User: "tagGroupUser",
  Resume: "tagGroupResume",
  Candidate: "tagGroupCandidate",
  Job: "tagGroupJob",
  Client: "tagGroupClient",
  Recruiter: "tagGroupRecruiter",
  Process: "tagGroupProcess",
};

/** Lists the fields of every resource of the mode's context (plus the sender) and inserts the chosen tag. */
export const TagInserter: FC<{ resources: FieldResource[]; target: "subject" | "body"; onInsert: (tag: string) => void }> = ({
  resources,
  target,
  onInsert,
}) => {
  const { t } = useI18n();
  const [filter, setFilter] = useState("");
  const { byResource } = useFieldsOf(resources);
  const groups = useMemo(
    () =>
      tagGroups(byResource, [
        { alias: USER_TAGS[0], label: t("tagUserName") },
        { alias: USER_TAGS[1], label: t("tagUserMail") },
      ]),
    [byResource, t],
  );
  const visible = useMemo(() => filterTags(groups, filter), [groups, filter]);

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
