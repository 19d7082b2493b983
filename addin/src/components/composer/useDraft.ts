import { useCallback, useEffect, useState } from "react";
import type { MailingMode } from "../../api/types";
import { initialDraft, isDirty, type Draft } from "../../model/draft";
import { clearDraft, saveDraft } from "../../model/draftStore";
import type { Selection } from "../../model/search";

/** The draft being composed, kept in local storage over a reload (nothing stored while there is nothing to lose). */
export function useDraft(mode: MailingMode, anchorId: number | null, selection: Selection, initial?: Draft) {
  const [draft, setDraft] = useState<Draft>(() => initial ?? initialDraft(selection));
  const update = useCallback((patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch })), []);
  // Local storage is the system this effect keeps in step with the draft.
  useEffect(() => {
    if (isDirty(draft)) saveDraft({ mode, anchorId, selection, draft });
    else clearDraft();
  }, [draft, mode, anchorId, selection]);
  return { draft, update };
}
