import { useCallback, useEffect, useId, useRef, useState, type FC, type FormEvent } from "react";
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
import { getMatch, getPhases, searchRecords } from "../api/client";
import type { HrbcListItem, HrbcPhase, ListResource, MailingMode } from "../api/types";
import { useI18n, type StringKey } from "../i18n";
import { modesFor, type AnchorKind } from "../model/modes";
import {
  buildCondition,
  joinConditions,
  matchCondition,
  PAGE_SIZE,
  PHASE_RESOURCE,
  type MatchChip,
  type SearchConditions,
  type Selection,
} from "../model/search";
import { ErrorBar } from "./ErrorBar";
import { modeLabelKey } from "./modeLabels";
import { RowMeta } from "./RowMeta";

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
  const [phases, setPhases] = useState<HrbcPhase[]>([]);
  const [query, setQuery] = useState<{ keywords?: string; condition?: string }>({});
  const [items, setItems] = useState<HrbcListItem[]>([]);
  const [total, setTotal] = useState(0);
  const [checked, setChecked] = useState<Set<number>>(new Set());
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const request = useRef(0);

  const [unticked, setUnticked] = useState<number | null>(null);
  useEffect(() => {
    if (!untick) return;
    setChecked((prev) => {
      const next = untick.ids === "all" ? new Set<number>() : new Set([...prev].filter((id) => !(untick.ids as number[]).includes(id)));
      setUnticked(prev.size - next.size);
      return next;
    });
  }, [untick]);

  const modes = modesFor(resource, anchor);
  const selectable = modes.length > 0;

  useEffect(() => {
    const ac = new AbortController();
    getPhases(PHASE_RESOURCE[resource], ac.signal).then(setPhases, () => setPhases([]));
    return () => ac.abort();
  }, [resource]);

  const load = useCallback(
    async (q: { keywords?: string; condition?: string }, start: number) => {
      const n = ++request.current;
      setLoading(true);
      setError(null);
      try {
        const page = await searchRecords(resource, { ...q, start, count: PAGE_SIZE });
        if (n !== request.current) return;
        setTotal(page.total);
        setItems((prev) => (start === 0 ? page.items : [...prev, ...page.items.filter((i) => !prev.some((p) => p.id === i.id))]));
        if (start === 0) setChecked(new Set());
      } catch (e) {
        if (n === request.current) setError(e);
      } finally {
        if (n === request.current) setLoading(false);
      }
    },
    [resource],
  );

  // A matching list starts from the anchor's values in the option fields both resources share (勤務地, 職種, 業種 …),
  // not from every record; null until known (the list waits for them).
  const matched = anchor !== null && anchorId !== undefined;
  const [chips, setChips] = useState<MatchChip[] | null>(matched ? null : []);
  useEffect(() => {
    if (!matched) return;
    const ac = new AbortController();
    getMatch(anchor === "job" ? "jobs" : "resumes", anchorId, ac.signal).then(
      (m) => {
        const found = m.conditions.flatMap((c) => c.options.map((o) => ({ field: c.field, label: c.label, option: o.alias, optionName: o.name })));
        setChips(found);
        const q = { condition: matchCondition(found) };
        setQuery(q);
        void load(q, 0);
      },
      (e: unknown) => {
        if (ac.signal.aborted) return;
        setError(e);
        setChips([]);
        void load({}, 0);
      },
    );
    return () => ac.abort();
  }, [matched, anchor, anchorId, load]);

  useEffect(() => {
    if (!matched) void load({}, 0);
  }, [load, matched]);

  const search = (next: MatchChip[] = chips ?? []) => {
    const q = { keywords: keywords.trim() || undefined, condition: joinConditions(buildCondition(resource, conditions), matchCondition(next)) };
    setQuery(q);
    void load(q, 0);
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    search();
  };
  const removeChip = (value: string) => {
    const next = (chips ?? []).filter((c) => `${c.field}|${c.option}` !== value);
    setChips(next);
    search(next);
  };

  const clear = () => {
    setKeywords("");
    setConditions({});
    setChips((c) => (c === null ? c : []));
    setQuery({});
    void load({}, 0);
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
      <ErrorBar error={error} onDismiss={() => setError(null)} />

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
        <Button onClick={() => void load(query, items.length)} data-testid="show-more">
          {t("showMore")}
        </Button>
      )}
    </section>
  );
};
