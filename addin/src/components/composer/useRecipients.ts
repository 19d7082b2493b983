import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { previewMailing } from "../../api/client";
import type { HrbcField, MailFieldCount, MailingMode } from "../../api/types";
import { countRequest, defaultMailField } from "../../model/composer";
import type { Draft } from "../../model/draft";
import { MODES } from "../../model/modes";
import type { Selection } from "../../model/search";
import { keys } from "../../state/queryClient";
import { useFields } from "../../state/queries";

export interface Recipients {
  /** The recipient resource's mail fields. */
  fields: HrbcField[];
  /** Their addresses counted over the scope (null before the first count, or when it failed). */
  counts: { fields: MailFieldCount[]; records: number } | null;
  counting: boolean;
  countError: unknown;
  fieldsError: unknown;
}

/** The recipients' mail fields and how many records of the scope have an address in each; ticks the first field
 * with addresses when none is ticked. */
export function useRecipients(
  mode: MailingMode,
  anchorId: number | null,
  selection: Selection,
  draft: Draft,
  update: (patch: Partial<Draft>) => void,
): Recipients {
  const fieldsQuery = useFields(MODES[mode].recipient);
  const fields = useMemo(() => (fieldsQuery.data ?? []).filter((f) => f.isMail), [fieldsQuery.data]);
  const request = countRequest(mode, anchorId, draft.scope, selection, fields.map((f) => f.alias));
  const counted = useQuery({
    queryKey: keys.mailCounts(request!),
    queryFn: ({ signal }) => previewMailing(request!, signal).then((p) => ({ fields: p.mailFields, records: p.records })),
    enabled: request !== null,
    // A new scope shows the last counts until its own arrive.
    placeholderData: (previous) => previous,
  });
  const counts = request && !counted.isError ? (counted.data ?? null) : null;

  // Each count that arrives ticks a field if none is (adjusted while rendering: the arrival is the event).
  const [seen, setSeen] = useState<unknown>(null);
  if (counted.data && !counted.isPlaceholderData && counted.data !== seen) {
    setSeen(counted.data);
    const first = draft.mailFields.length === 0 ? defaultMailField(counted.data.fields) : null;
    if (first) update({ mailFields: [first] });
  }

  return {
    fields,
    counts,
    counting: request !== null && counted.isFetching,
    countError: request ? counted.error : null,
    fieldsError: fieldsQuery.error,
  };
}
