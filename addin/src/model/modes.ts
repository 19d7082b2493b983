// The six bulk-mail modes (docs/architecture.md, Modes) and what each allows. The table is the API's (api/Modes/ModeTable.cs, served
// as GET /api/modes): modes.json is that answer, committed and checked by the API's ApiTypesTests (regenerate it with
// `bash scripts/api-types.sh`). Nothing here restates a rule; it only gives the rows the pane's types.
import type { FieldResource, ListResource, MailingMode, PhaseResource } from "../api/types";
import type { components } from "../api/schema";
import table from "./modes.json";

export type AnchorKind = "job" | "resume";

export interface ModeInfo {
  mode: MailingMode;
  /** The records searched and picked (one mail per record and ticked field). */
  list: ListResource;
  /** The record the matching list started from. */
  anchor: AnchorKind | null;
  /** Whose mail fields are ticked. */
  recipient: FieldResource;
  /** True when every mail goes to the anchor's side (one person). */
  recipientIsAnchor: boolean;
  /** Whether the anchor record's HRBC files may be attached. */
  anchorAttachments: boolean;
  /** Which phase options the phase picker lists. */
  phaseResource: PhaseResource;
  /** Resources whose fields the templates of this mode may use as tags (besides User.P_Name / User.P_Mail). */
  tagResources: FieldResource[];
}

// The served row's type (tsc fails here if the JSON's shape drifts from the API's; a JSON import widens the mode
// names to string, which ApiTypesTests pins to MailingMode's).
type Row = components["schemas"]["ModeInfo"];
const rows: (Omit<Row, "mode"> & { mode: string })[] = table;

export const MODES = Object.fromEntries(
  rows.map((r) => [
    r.mode as MailingMode,
    {
      mode: r.mode as MailingMode,
      list: r.list as ListResource,
      anchor: (r.anchor ?? null) as AnchorKind | null,
      recipient: r.recipient as FieldResource,
      recipientIsAnchor: r.recipientIsAnchor,
      anchorAttachments: r.anchorAttachments,
      phaseResource: r.phaseResource as PhaseResource,
      tagResources: r.tagResources as FieldResource[],
    } satisfies ModeInfo,
  ]),
) as Record<MailingMode, ModeInfo>;

/** The modes the bulk-action menu offers where the user is: exactly those of the mode table (docs/architecture.md, Modes). */
export function modesFor(list: ListResource, anchor: AnchorKind | null): MailingMode[] {
  return (Object.values(MODES) as ModeInfo[]).filter((m) => m.list === list && m.anchor === anchor).map((m) => m.mode);
}

export const USER_TAGS = ["User.P_Name", "User.P_Mail"] as const;
