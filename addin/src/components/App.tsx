import { useState, type FC } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Badge, Button, MessageBar, MessageBarBody, Spinner, Tab, TabList, Text, Tooltip, makeStyles, tokens } from "@fluentui/react-components";
import { ApiError, undoMailing } from "../api/client";
import { EditRegular } from "@fluentui/react-icons";
import { isFinished, type HrbcListItem, type HrbcRecord, type ListResource, type MailingMode } from "../api/types";
import { useI18n } from "../i18n";
import type { Draft } from "../model/draft";
import { clearDraft, loadDraft } from "../model/draftStore";
import { MODES, type AnchorKind } from "../model/modes";
import type { Selection } from "../model/search";
import { AskDialog } from "./AskDialog";
import { useEnv } from "../state/env";
import { fetchRecord, useRecord } from "../state/queries";
import { useDismissable } from "./useDismissable";
import { AnchorHeader } from "./AnchorHeader";
import { Composer, type SentScope } from "./Composer";
import { ErrorBar } from "./ErrorBar";
import { SearchPanel } from "./SearchPanel";
import { StatusIndicator } from "./StatusIndicator";
import { StatusScreen } from "./StatusScreen";
import { UndoBar } from "./UndoBar";
import type { UndoWindow } from "./composer/useSendFlow";
import { useMailings } from "../state/mailings";

const useStyles = makeStyles({
  app: { display: "flex", flexDirection: "column", minHeight: "100vh", minWidth: 0 },
  header: {
    display: "flex",
    alignItems: "center",
    justifyContent: "space-between",
    gap: tokens.spacingHorizontalS,
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalM}`,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground2,
    position: "sticky",
    top: 0,
    zIndex: 2,
    flexWrap: "wrap",
  },
  brand: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalS },
  main: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalM,
    padding: tokens.spacingHorizontalM,
    minWidth: 0,
    maxWidth: "720px",
    width: "100%",
    boxSizing: "border-box",
  },
  srOnly: { position: "absolute", width: "1px", height: "1px", overflow: "hidden", clipPath: "inset(50%)", whiteSpace: "nowrap", margin: 0 },
  pane: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM, minWidth: 0 },
});

type View = "search" | "compose" | "status";

interface ComposeState {
  mode: MailingMode;
  selection: Selection;
  anchor: HrbcRecord | null;
  key: number;
  initial?: Draft;
  restored?: boolean;
}

/** Hidden but mounted (keeps a screen's state); `hidden` alone loses to the flex display of the class. */
const hide = (h: boolean) => (h ? { display: "none" } : undefined);

export const App: FC = () => {
  const { t } = useI18n();
  const env = useEnv();
  const s = useStyles();
  const [tab, setTab] = useState<ListResource>("resumes");
  const qc = useQueryClient();
  const [anchor, setAnchor] = useState<{ kind: AnchorKind; record: HrbcRecord } | null>(null);
  const [opening, setOpening] = useState(false);
  const [openError, setOpenError] = useState<unknown>(null);
  // A reload (or Outlook closing the pane) keeps the unsent mail: it opens again where it was (an anchored one once
  // its anchor is fetched again).
  const [stored] = useState(loadDraft);
  const restoreKind = stored ? (MODES[stored.mode]?.anchor ?? null) : null;
  const restoring = stored && restoreKind && stored.anchorId != null ? { kind: restoreKind, id: stored.anchorId } : null;
  const restoreAnchor = useRecord(restoring?.kind === "job" ? "jobs" : "resumes", restoring?.id ?? null);
  const restoredCompose = (record: HrbcRecord | null): ComposeState | null =>
    stored ? { mode: stored.mode, selection: stored.selection, anchor: record, key: 0, initial: stored.draft, restored: true } : null;
  const [compose, setCompose] = useState<ComposeState | null>(() => (restoring ? null : restoredCompose(null)));
  const [view, setView] = useState<View>(() => (stored && !restoring ? "compose" : "search"));
  const [restored, setRestored] = useState(!restoring);
  if (!restored && restoreAnchor.data) {
    setRestored(true);
    setCompose(restoredCompose(restoreAnchor.data));
    setView("compose");
  }
  const [restoreError, dismissRestoreError] = useDismissable(restored ? null : restoreAnchor.error);
  const [visited, setVisited] = useState<Set<ListResource>>(() => new Set(["resumes"]));
  const [replacing, setReplacing] = useState<{ mode: MailingMode; selection: Selection } | null>(null);
  const [untick, setUntick] = useState<{ resource: ListResource; anchored: boolean; ids: number[] | "all"; key: number } | null>(null);

  const open = async (kind: AnchorKind, item: HrbcListItem) => {
    setOpening(true);
    setOpenError(null);
    try {
      const record = await fetchRecord(qc, kind === "job" ? "jobs" : "resumes", item.id);
      setAnchor({ kind, record });
    } catch (e) {
      setOpenError(e);
    } finally {
      setOpening(false);
    }
  };

  const beginCompose = (mode: MailingMode, selection: Selection) => {
    setCompose({ mode, selection, anchor: anchor?.record ?? null, key: Date.now() });
    setView("compose");
  };
  // A new mail while one is unsent asks first: the unsent one would be lost.
  const startCompose = (mode: MailingMode, selection: Selection) => {
    if (compose && loadDraft()) setReplacing({ mode, selection });
    else beginCompose(mode, selection);
  };

  const discard = () => {
    clearDraft();
    setCompose(null);
    setView("search");
  };

  // A mailing started inside its undo window: its draft (everything typed and chosen, the zip password too) is kept in
  // memory until the window closes, so Undo can bring the mail back exactly as it was. It is not kept in local
  // storage: a reload must not offer an already started mail as unsent.
  const mailings = useMailings();
  const [pendingUndo, setPendingUndo] = useState<(UndoWindow & { id: string; sent: SentScope }) | null>(null);
  const [undoNotice, setUndoNotice] = useState(false);
  const [undoError, setUndoError] = useState<unknown>(null);
  const [undoLate, setUndoLate] = useState(false);
  const [undone, setUndone] = useState<UndoWindow | null>(null);
  const undoM = useMutation({ mutationFn: (id: string) => undoMailing(id) });

  // Cancelled from its card (or finished) during the countdown: nothing left to undo.
  if (pendingUndo && mailings.mailings.some((m) => m.id === pendingUndo.id && isFinished(m.state))) setPendingUndo(null);

  /** The records just mailed are unticked in the search they came from. */
  const untickSent = (selection: Selection, anchored: boolean, sent: SentScope) =>
    setUntick({ resource: selection.resource, anchored, ids: sent.kind === "All" ? "all" : sent.ids, key: Date.now() });

  const submitted = (id: string, sent: SentScope, undo: UndoWindow | null) => {
    setUndoNotice(false);
    setUndoError(null);
    setUndoLate(false);
    if (undo) setPendingUndo({ ...undo, id, sent });
    else if (compose) untickSent(compose.selection, compose.anchor !== null, sent);
    setCompose(null);
    setView("status");
  };

  /** The undo window closed: the mailing goes on, and its records are unticked. */
  const expireUndo = () => {
    if (!pendingUndo) return;
    setPendingUndo(null);
    untickSent(pendingUndo.selection, pendingUndo.anchor !== null, pendingUndo.sent);
  };

  /** The undone mail back in the composer, as it was (stored again by the composer). */
  const reopen = (u: UndoWindow) => {
    setCompose({ mode: u.mode, selection: u.selection, anchor: u.anchor, key: Date.now(), initial: u.draft });
    setUndoNotice(true);
    setView("compose");
  };

  const undo = async () => {
    if (!pendingUndo) return;
    setUndoError(null);
    try {
      await undoM.mutateAsync(pendingUndo.id);
      // Cancelled with nothing sent: out of "my mailings" like a held one the user said No to.
      mailings.hold(pendingUndo.id);
      setPendingUndo(null);
      // A new mail begun during the countdown is not dropped without asking.
      if (compose && loadDraft()) setUndone(pendingUndo);
      else reopen(pendingUndo);
    } catch (e) {
      if (e instanceof ApiError && e.code === "UndoExpired") {
        // Too late (the window closed, or something was handed to Microsoft 365): said in words; the mailing goes on.
        setUndoLate(true);
        expireUndo();
      } else setUndoError(e);
    }
  };
  const untickFor = (resource: ListResource, anchored: boolean) =>
    untick && untick.resource === resource && untick.anchored === anchored ? { ids: untick.ids, key: untick.key } : null;

  const navValue = view === "status" ? "status" : "search";

  return (
    <div className={s.app}>
      <header className={s.header}>
        <div className={s.brand}>
          <Text weight="bold" size={400}>
            {t("appName")}
          </Text>
          {env.demo && (
            <Tooltip content={t("demoHint")} relationship="description">
              <Badge appearance="outline" color="informative" tabIndex={0}>
                {t("demoBadge")}
              </Badge>
            </Tooltip>
          )}
        </div>
        <StatusIndicator onOpen={() => setView("status")} />
      </header>
      <nav aria-label={t("mainNav")}>
        <TabList
          selectedValue={navValue}
          onTabSelect={(_, d) => setView(d.value === "status" ? "status" : compose ? "compose" : "search")}
          size="small"
        >
          <Tab value="search">{t("navSearch")}</Tab>
          <Tab value="status" data-testid="nav-status">
            {t("navStatus")}
          </Tab>
        </TabList>
      </nav>
      <main className={s.main}>
        {pendingUndo && (
          <UndoBar
            key={pendingUndo.id}
            subject={pendingUndo.subject}
            deadline={pendingUndo.deadline}
            busy={undoM.isPending}
            onUndo={() => void undo()}
            onExpire={expireUndo}
          />
        )}
        <ErrorBar error={undoError} onDismiss={() => setUndoError(null)} />
        {undoLate && (
          <MessageBar intent="warning" data-testid="undo-expired">
            <MessageBarBody>{t("undoExpired")}</MessageBarBody>
          </MessageBar>
        )}
        {/* The searches stay mounted (hidden) while composing, so "back" finds them as they were. */}
        <div className={s.pane} style={hide(view !== "search")}>
          {compose && (
            <Button
              appearance="secondary"
              icon={<EditRegular />}
              onClick={() => setView("compose")}
              data-testid="continue-draft"
              style={{ alignSelf: "flex-start", maxWidth: "100%" }}
            >
              <span style={{ overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
                {t("continueDraft", { subject: loadDraft()?.draft.subject.trim() || t("untitled") })}
              </span>
            </Button>
          )}
          <div className={s.pane} style={hide(anchor !== null)}>
            <h1 className={s.srOnly}>{t("navSearch")}</h1>
            <TabList
              selectedValue={tab}
              onTabSelect={(_, d) => {
                const r = d.value as ListResource;
                setTab(r);
                setVisited((v) => (v.has(r) ? v : new Set(v).add(r)));
              }}
              aria-label={t("searchTabs")}
              data-testid="resource-tabs"
            >
              <Tab value="resumes">{t("tabResumes")}</Tab>
              <Tab value="jobs">{t("tabJobs")}</Tab>
              <Tab value="recruiters">{t("tabRecruiters")}</Tab>
            </TabList>
            <ErrorBar error={openError} onDismiss={() => setOpenError(null)} />
            <ErrorBar error={restoreError} onDismiss={dismissRestoreError} />
            {opening && <Spinner size="tiny" label={t("loading")} />}
            {(["resumes", "jobs", "recruiters"] as const)
              .filter((r) => visited.has(r))
              .map((r) => (
                // Every tab visited stays mounted (hidden): switching back finds keywords, results and ticks as left.
                <div key={r} className={s.pane} style={hide(r !== tab)}>
                  <SearchPanel
                    resource={r}
                    anchor={null}
                    onOpen={r === "recruiters" ? undefined : (item) => void open(r === "jobs" ? "job" : "resume", item)}
                    onBulk={startCompose}
                    untick={untickFor(r, false)}
                  />
                </div>
              ))}
          </div>
          {anchor && (
            <div className={s.pane}>
              <AnchorHeader kind={anchor.kind} record={anchor.record} onBack={() => setAnchor(null)} />
              <SearchPanel
                key={`${anchor.kind}-${anchor.record.id}`}
                resource={anchor.kind === "job" ? "resumes" : "jobs"}
                anchor={anchor.kind}
                anchorId={anchor.record.id}
                heading={anchor.kind === "job" ? t("matchingResumes") : t("matchingJobs")}
                onBulk={startCompose}
                untick={untickFor(anchor.kind === "job" ? "resumes" : "jobs", true)}
              />
            </div>
          )}
        </div>
        {compose && (
          <div className={s.pane} style={hide(view !== "compose")}>
            {undoNotice && (
              <MessageBar intent="success" data-testid="undo-done">
                <MessageBarBody>{t("undoDone")}</MessageBarBody>
              </MessageBar>
            )}
            <Composer
              key={compose.key}
              mode={compose.mode}
              anchor={compose.anchor}
              selection={compose.selection}
              initial={compose.initial}
              restored={compose.restored}
              onBack={() => setView("search")}
              onDiscard={discard}
              onSubmitted={submitted}
            />
          </div>
        )}
        {view === "status" && <StatusScreen />}
      </main>
      <AskDialog
        open={replacing !== null}
        title={t("replaceTitle")}
        body={t("replaceBody")}
        yes={t("replaceYes")}
        no={t("keepEditing")}
        onYes={() => {
          const r = replacing;
          setReplacing(null);
          clearDraft();
          if (r) beginCompose(r.mode, r.selection);
        }}
        onNo={() => {
          setReplacing(null);
          setView("compose");
        }}
        testId="ask-replace"
      />
      <AskDialog
        open={undone !== null}
        title={t("undoReplaceTitle", { subject: undone?.subject || t("untitled") })}
        body={t("undoReplaceBody")}
        yes={t("undoReplaceYes")}
        no={t("keepNewMail")}
        onYes={() => {
          const u = undone;
          setUndone(null);
          if (u) reopen(u);
        }}
        onNo={() => setUndone(null)}
        testId="ask-undo-replace"
      />
    </div>
  );
};
