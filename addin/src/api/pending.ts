// TEMPORARY (issue 13): the additive API fields of coord.md's contract that the generated schema (schema.d.ts) does not
// have yet, because helpers A (scheduling, undo) and C (replies, deliveries list) build them in parallel. Everything
// the pane needs from them is here and nowhere else; once their branches are merged and `bash scripts/api-types.sh`
// has regenerated schema.d.ts, each type below becomes the generated one (types.ts) and this file is deleted.
import type { MailingStatus as GeneratedStatus } from "./types";

export type WeekDay = "Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun";
export const WEEK_DAYS: readonly WeekDay[] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** A sending window: only on these days, from–to (local "HH:mm" of the time zone), optionally not on Japanese holidays. */
export interface SendWindow {
  days: WeekDay[];
  from: string;
  to: string;
  timeZone: string;
  skipHolidays: boolean;
}

/** The wait codes A adds (a Scheduled mailing waits for sendAt, for the undo window, or for its window to open). */
export type PendingWaitCode = "Scheduled" | "UndoWindow" | "OutsideWindow";

/** The status with the additive fields of the contract (all optional: a server without them still fits). */
export type ScheduledStatus = GeneratedStatus & {
  sendAt?: string | null;
  window?: SendWindow | null;
  undoUntil?: string | null;
  replied?: number;
  bouncedHard?: number;
  bouncedSoft?: number;
};

/** POST /api/mailings/{id}/start body. */
export interface StartRequest {
  sendAt?: string | null;
  window?: SendWindow | null;
  undoSeconds?: number;
  dryRun?: boolean;
}

export type DeliveriesFilter = "replied" | "bounced" | "all";

/** One row of GET /api/mailings/{id}/deliveries. */
export interface DeliveryItem {
  deliveryId: string;
  recordType: string;
  recordId: number;
  recordName: string | null;
  address: string | null;
  status: string;
  repliedAt: string | null;
  bouncedAt: string | null;
  bounceReason: string | null;
  bounceKind: "Hard" | "Soft" | null;
}

export interface DeliveriesPage {
  items: DeliveryItem[];
  nextCursor: string | null;
}
