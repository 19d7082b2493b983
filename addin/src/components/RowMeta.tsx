import type { FC } from "react";
import { makeStyles, tokens } from "@fluentui/react-components";
import type { HrbcListItem, ListResource } from "../api/types";
import { useI18n } from "../i18n";
import { PREFIX } from "../model/search";

const useStyles = makeStyles({
  meta: { color: tokens.colorNeutralForeground3, fontSize: tokens.fontSizeBase200, overflowWrap: "anywhere" },
});

/** Age in whole years from HRBC's yyyy/MM/dd, or null. */
export function ageOf(dateOfBirth: string | null | undefined, now = new Date()): number | null {
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})/.exec(dateOfBirth ?? "");
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let age = now.getFullYear() - y;
  if (now.getMonth() + 1 < mo || (now.getMonth() + 1 === mo && now.getDate() < d)) age--;
  return age >= 0 && age < 130 ? age : null;
}

/** The day part of HRBC's "yyyy/MM/dd HH:mm:ss" in the user's locale. */
function dayOf(text: string | null | undefined, locale: string): string | null {
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})/.exec(text ?? "");
  if (!m) return text ?? null;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/** What recruiters tell records apart by: ID, phase, owner (担当者), updated date; resumes also the age. */
export const RowMeta: FC<{ id: string; item: HrbcListItem; resource: ListResource }> = ({ id, item, resource }) => {
  const { t, locale } = useI18n();
  const s = useStyles();
  const p = PREFIX[resource];
  const f = item.fields;
  const owner = f[`${p}.P_Owner`] ?? f["User.P_Name"] ?? null;
  const updated = dayOf(f[`${p}.P_UpdateDate`], locale);
  const age = resource === "resumes" ? ageOf(f["Resume.P_DateOfBirth"]) : null;
  const parts = [
    t("rowId", { id: f[`${p}.P_Id`] ?? String(item.id) }),
    f[`${p}.P_Phase`] ?? null,
    age != null ? t("rowAge", { n: age }) : null,
    owner ? t("rowOwner", { name: owner }) : null,
    updated ? t("rowUpdated", { date: updated }) : null,
  ].filter((x): x is string => !!x);
  return (
    <span id={id} className={s.meta} data-testid="row-meta">
      {parts.join(" · ")}
    </span>
  );
};
