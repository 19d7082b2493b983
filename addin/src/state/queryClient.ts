// The pane's one data cache (TanStack Query): every GET the pane makes is a query keyed by what it fetches, every
// change a mutation that invalidates the queries it makes stale. One QueryClient per page (main.tsx), one per test.
import { QueryClient } from "@tanstack/react-query";
import type { DeliveriesFilter, FieldResource, ListResource, MailingMode, MailingRequest, PhaseResource, SearchQuery, StartRequest } from "../api/types";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Errors are shown at once, with the server's problem (a retry would only delay a 400 or a 403 by seconds).
        retry: false,
        // The pane refreshes what it must itself (after a change, on "Refresh", live statuses by SSE); a focus or a
        // reconnect does not reload a search under the user's ticks.
        refetchOnWindowFocus: false,
        refetchOnReconnect: false,
        staleTime: 30_000,
      },
      mutations: { retry: false },
    },
  });
}

/** Query keys: what is fetched, from the general to the particular, so one prefix invalidates a family. */
export const keys = {
  /** HRBC field metadata of a resource (it changes only when HRBC's admin changes the schema: kept for the page). */
  fields: (resource: FieldResource) => ["hrbc", "fields", resource] as const,
  phases: (resource: PhaseResource) => ["hrbc", "phases", resource] as const,
  record: (resource: "resumes" | "jobs", id: number) => ["hrbc", "record", resource, id] as const,
  match: (anchor: "jobs" | "resumes", id: number) => ["hrbc", "match", anchor, id] as const,
  search: (resource: ListResource, query: SearchQuery) => ["hrbc", "search", resource, query] as const,
  templates: (mode: MailingMode) => ["templates", mode] as const,
  allTemplates: ["templates"] as const,
  /** What the server can do: hold, schedule and undo, the deliveries list (read once from its OpenAPI document). */
  serverFeatures: ["server", "features"] as const,
  mailings: ["mailings"] as const,
  /** One mailing's status (the held one of the confirmation, followed by its events). */
  mailing: (id: string) => ["mailing", id] as const,
  /** The status a held mailing would have if started with this schedule (POST start with dryRun). */
  dryRun: (id: string, schedule: StartRequest) => ["dryRun", id, schedule] as const,
  /** A mailing's deliveries that were replied to, bounced, or all (paged). */
  deliveries: (id: string, filter: DeliveriesFilter) => ["mailing", id, "deliveries", filter] as const,
  /** The recipients' mail fields counted over a scope (a preview without a template). */
  mailCounts: (request: MailingRequest) => ["preview", "counts", request] as const,
  /** One record's messages as they will be sent. */
  previewOf: (request: MailingRequest, recordId: number) => ["preview", "record", request, recordId] as const,
};
