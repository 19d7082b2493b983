import { useId, useMemo, useState, type FC, type FormEvent } from "react";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import {
  Button,
  Checkbox,
  Dropdown,
  Field,
  Input,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  Option,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { Tag, TagGroup } from "@fluentui/react-components";
import { MailMultipleRegular, OpenRegular, SearchRegular } from "@fluentui/react-icons";
import { searchRecords } from "../api/client";
import type { HrbcListItem, HrbcPhase, ListResource, MailingMode, SearchQuery } from "../api/types";
import { useI18n, type StringKey } from "../i18n";
import { modesFor, type AnchorKind } from "../model/modes";
import {
  buildCondition,
  joinConditions,
  matchCondition,
  matchChips,
  mergePages,
  PAGE_SIZE,
  PHASE_RESOURCE,
  untickSent,
  type MatchChip,
  type SearchConditions,
  type Selection,
} from "../model/search";
import { keys } from "../state/queryClient";
import { useMatch, usePhases } from "../state/queries";
import { ErrorBar } from "./ErrorBar";
import { modeLabelKey } from "./modeLabels";
import { RowMeta } from "./RowMeta";
import { useDismissable } from "./useDismissable";

const NO_PHASES: HrbcPhase[] = [];

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  row: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalS, alignItems: "end" },
  grow: { flexGrow: 1, minWidth: "120px" },
  toolbar: {
    display: "flex",
    flexWrap: "wrap",
    gap: tokens.spacingHorizontalS,
    alignItems: "center",
    justifyContent: "space-between",
  },
  list: { listStyleType: "none", margin: 0, padding: 0, borderTop: `1px solid ${tokens.colorNeutralStroke2}` },
  item: {
    display: "flex",
    alignItems: "center",
    gap: tokens.spacingHorizontalXS,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    padding: `${tokens.spacingVerticalXXS} 0`,
    minWidth: 0,
  },
  itemMain: { flexGrow: 1, minWidth: 0, display: "flex", flexDirection: "column", paddingInlineStart: tokens.spacingHorizontalS },
  name: { fontWeight: tokens.fontWeightSemibold, overflowWrap: "anywhere" },
  sub: { color: tokens.colorNeutralForeground3, fontSize: tokens.fontSizeBase200, overflowWrap: "anywhere" },
  checkLabel: { display: "flex", flexDirection: "column", overflowWrap: "anywhere" },
});



const RESOURCE_LABEL: Record<ListResource, StringKey> = { resumes: "tabResumes", jobs: "tabJobs", recruiters: "tabRecruiters" };

export interface SearchPanelProps {
  resource: ListResource;
  anchor: AnchorKind | null;
  /** Heading of the list (a matching list names its anchor). */
  heading?: string;
  /** A matching list's anchor record: the list starts from the conditions it shares with it (removable chips). */
  anchorId?: number;
  onOpen?: (item: HrbcListItem) => void;
  onBulk: (mode: MailingMode, selection: Selection) => void;
  /** Records just mailed from this list: unticked so a second mode cannot mail them again by accident ("all" = every tick). */
  untick?: { ids: number[] | "all"; key: number } | null;
}

/** A search of resumes, jobs or recruiters: keywords and a few conditions, a page at a time, with checkboxes. */
export const SearchPanel: FC<SearchPanelProps> = ({ resource, anchor, heading, anchorId, onOpen, onBulk, untick }) => {
  const { t, formatNumber } = useI18n();
  const s = useStyles();
  const ids = useId();
  const [keywords, setKeywords] = useState("");
  const [conditions, setConditions] = useState<SearchConditions>({});
  const qc = useQueryClient();
  const [submitted, setSubmitted] = useState<SearchQuery | null>(null);
  const [checked, setChecked] = useState<Set<number>>(new Set());

  // Records just mailed from this list are unticked (adjusted while rendering: the prop is the event).
  const [unticked, setUnticked] = useState<number | null>(null);
  const [seenUntick, setSeenUntick] = useState(untick);
  if (untick !== seenUntick) {
    setSeenUntick(untick);
    if (untick) {
      const next = untickSent(checked, untick.ids);
      setUnticked(checked.size - next.size);
      setChecked(next);
    }
  }

  const modes = modesFor(resource, anchor);
  const selectable = modes.length > 0;

  const phases = usePhases(PHASE_RESOURCE[resource]).data ?? NO_PHASES;

  // A matching list starts from the anchor's values in the option fields both resources share (勤務地, 職種, 業種 …),
  // not from every record; the list waits for them (a failure shows, and the list starts from every record).
  const matched = anchor !== null && anchorId !== undefined;
  const match = useMatch(anchor === "job" ? "jobs" : "resumes", matched ? anchorId : null);
  const [chipsSet, setChipsSet] = useState<MatchChip[] | null>(null);
  const chips: MatchChip[] | null = !matched ? [] : (chipsSet ?? (match.data ? matchChips(match.data) : match.isError ? [] : null));
  const query: SearchQuery = submitted ?? (matched ? { condition: matchCondition(chips ?? []) } : {});

  const search = useInfiniteQuery({
    queryKey: keys.search(resource, query),
    queryFn: ({ pageParam, signal }) => searchRecords(resource, { ...query, start: pageParam, count: PAGE_SIZE }, signal),
    initialPageParam: 0,
    // The next page starts after the records shown so far.
    getNextPageParam: (last, pages) => {
      const shown = mergePages(pages).length;
      return shown < last.total ? shown : undefined;
    },
    enabled: chips !== null,
  });
  const items = useMemo(() => mergePages(search.data?.pages ?? []), [search.data]);
  const total = search.data?.pages[search.data.pages.length - 1]?.total ?? 0;
  const loading = search.isFetching || (matched && match.isPending);
  const [error, dismissError] = useDismissable(search.error ?? match.error);

  /** Runs a search afresh (the same search again reloads it) and drops the ticks. */
  const run = (q: SearchQuery) => {
    void qc.resetQueries({ queryKey: keys.search(resource, q), exact: true });
    setSubmitted(q);
    setChecked(new Set());
  };
  const runWith = (next: MatchChip[] = chips ?? []) =>
    run({ keywords: keywords.trim() || undefined, condition: joinConditions(buildCondition(resource, conditions), matchCondition(next)) });

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    runWith();
  };
  const removeChip = (value: string) => {
    const next = (chips ?? []).filter((c) => `${c.field}|${c.option}` !== value);
    setChipsSet(next);
    runWith(next);
  };

  const clear = () => {
    setKeywords("");
    setConditions({});
    if (chips !== null) setChipsSet([]);
    run({});
  };

  const toggle = (id: number, on: boolean) =>
    setChecked((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const displayedChecked = items.filter((i) => checked.has(i.id)).length;
  const allState = items.length > 0 && displayedChecked === items.length ? true : displayedChecked > 0 ? "mixed" : false;
  // "Select all" checks only what is displayed.
  const toggleAll = () => setChecked(allState === true ? new Set() : new Set(items.map((i) => i.id)));

  const selection = (): Selection => ({
    resource,
    query,
    displayedIds: items.map((i) => i.id),
    checkedIds: items.filter((i) => checked.has(i.id)).map((i) => i.id),
    total,
  });

  const label = t(RESOURCE_LABEL[resource]);
  const anchorLabel = anchor === "job" ? t("anchorJob") : t("anchorResume");
  const phaseText = phases.find((p) => p.alias === conditions.phase)?.name ?? t("anyPhase");

  return (
    <section className={s.root} aria-label={heading ?? t("searchResultsOf", { label })}>
      <form className={s.form} onSubmit={submit} role="search" aria-label={t("search") + ": " + label}>
        <Field label={t("keywords")}>
          <Input
            value={keywords}
            onChange={(_, d) => setKeywords(d.value)}
            placeholder={t("keywordsPlaceholder")}
            contentBefore={<SearchRegular aria-hidden="true" />}
            name="keywords"
          />
        </Field>
        <div className={s.row}>
          <Field label={t("phase")} className={s.grow}>
            <Dropdown
              value={phaseText}
              selectedOptions={[conditions.phase ?? ""]}
              onOptionSelect={(_, d) => setConditions((c) => ({ ...c, phase: d.optionValue || undefined }))}
            >
              <Option value="">{t("anyPhase")}</Option>
              {phases.map((p) => (
                <Option key={p.alias} value={p.alias}>
                  {p.name}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label={t("updatedSince")} className={s.grow}>
            <Input
              type="date"
              value={conditions.updatedSince ?? ""}
              onChange={(_, d) => setConditions((c) => ({ ...c, updatedSince: d.value || undefined }))}
            />
          </Field>
        </div>
        <div className={s.row}>
          <Button type="submit" appearance="primary" icon={<SearchRegular />}>
            {t("search")}
          </Button>
          <Button type="button" onClick={clear}>
            {t("clear")}
          </Button>
        </div>
      </form>

      {matched && chips !== null && (
        <div data-testid="match-conditions">
          <Text size={200} weight="semibold" as="p" block style={{ margin: 0 }}>
            {t("matchConditions", { anchor: anchorLabel })}
          </Text>
          {chips.length > 0 ? (
            <>
              <TagGroup
                onDismiss={(_, d) => removeChip(String(d.value))}
                aria-label={t("matchConditions", { anchor: anchorLabel })}
                style={{ flexWrap: "wrap", gap: 4, marginTop: 4 }}
              >
                {chips.map((c) => (
                  <Tag
                    key={`${c.field}|${c.option}`}
                    value={`${c.field}|${c.option}`}
                    size="small"
                    dismissible
                    dismissIcon={{ "aria-label": t("matchChipRemove") }}
                  >
                    {t("matchChip", { label: c.label, option: c.optionName })}
                  </Tag>
                ))}
              </TagGroup>
              <Text size={200}>{t("matchConditionsHint", { anchor: anchorLabel })}</Text>
            </>
          ) : (
            <Text size={200}>{t("matchNone", { anchor: anchorLabel })}</Text>
          )}
        </div>
      )}

      <ErrorBar error={error} onDismiss={dismissError} />

      <div className={s.toolbar}>
        {selectable ? (
          <Checkbox
            checked={allState}
            onChange={toggleAll}
            label={t("selectAllDisplayed")}
            disabled={items.length === 0}
            data-testid="select-all"
          />
        ) : (
          <Text size={200}>{resource === "jobs" ? t("jobsHint") : ""}</Text>
        )}
        {selectable && (
          <Menu>
            <MenuTrigger disableButtonEnhancement>
              <Button appearance="primary" icon={<MailMultipleRegular />} aria-label={t("bulkActionMenu")} data-testid="bulk-action">
                {t("bulkAction")}
              </Button>
            </MenuTrigger>
            <MenuPopover>
              <MenuList>
                {modes.map((m) => (
                  <MenuItem key={m} onClick={() => onBulk(m, selection())} data-mode={m}>
                    {t(modeLabelKey(m))}
                  </MenuItem>
                ))}
              </MenuList>
            </MenuPopover>
          </Menu>
        )}
      </div>
      <Text size={200} id={`${ids}-counts`} aria-live="polite" data-testid="counts">
        {t("counts", {
          checked: formatNumber(checked.size),
          displayed: formatNumber(items.length),
          total: formatNumber(total),
        })}
      </Text>

      {unticked ? (
        <Text size={200} data-testid="unticked">
          {t("sentUnticked", { n: formatNumber(unticked) })}
        </Text>
      ) : null}
      {items.length === 0 && !loading && !error ? <Text>{t("noResults")}</Text> : null}
      <ul className={s.list} aria-labelledby={`${ids}-counts`}>
        {items.map((item) => (
          <li key={item.id} className={s.item} data-record-id={item.id}>
            {selectable ? (
              <div className={s.itemMain} style={{ paddingInlineStart: 0 }}>
              <Checkbox
                checked={checked.has(item.id)}
                onChange={(_, d) => toggle(item.id, d.checked === true)}
                aria-label={t("checkRecord", { name: item.name })}
                aria-describedby={`${ids}-meta-${item.id}`}
                label={
                  <span className={s.checkLabel}>
                    <span className={s.name}>{item.name}</span>
                    {item.subtitle && <span className={s.sub}>{item.subtitle}</span>}
                    <RowMeta id={`${ids}-meta-${item.id}`} item={item} resource={resource} />
                  </span>
                }
              />
              </div>
            ) : (
              <div className={s.itemMain}>
                <span className={s.name}>{item.name}</span>
                {item.subtitle && <span className={s.sub}>{item.subtitle}</span>}
                <RowMeta id={`${ids}-meta-${item.id}`} item={item} resource={resource} />
              </div>
            )}
            {onOpen && (
              <Button
                appearance="subtle"
                size="small"
                icon={<OpenRegular />}
                onClick={() => onOpen(item)}
                aria-label={t("openRecord", { name: item.name })}
              >
                {t("open")}
              </Button>
            )}
          </li>
        ))}
      </ul>
      {loading && <Spinner size="tiny" label={t("loading")} />}
      {!loading && items.length < total && (
        <Button onClick={() => void search.fetchNextPage()} data-testid="show-more">
          {t("showMore")}
        </Button>
      )}
    </section>
  );
};
