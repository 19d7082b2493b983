// The pane's reads and writes through the one cache (state/queryClient.ts): components call these hooks, never
// fetch in an effect of their own.
import { useInfiniteQuery, useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createTemplate,
  deleteTemplate,
  getFields,
  getMatch,
  getPhases,
  getRecord,
  listTemplates,
  serverFeatures,
  getDeliveries,
  updateTemplate,
} from "../api/client";
import type { DeliveriesFilter, FieldResource, HrbcField, MailingMode, PhaseResource, TemplateRequest } from "../api/types";
import { keys } from "./queryClient";
import type { QueryClient } from "@tanstack/react-query";

const fieldsQuery = (resource: FieldResource) => ({
  queryKey: keys.fields(resource),
  queryFn: ({ signal }: { signal: AbortSignal }) => getFields(resource, signal),
  staleTime: Infinity,
});

/** Field metadata of one resource, fetched once per page load (a failure is not kept: the next use asks again). */
export const useFields = (resource: FieldResource) => useQuery(fieldsQuery(resource));

/** Field metadata of several resources, each on its own key (shared with useFields). */
export const useFieldsOf = (resources: readonly FieldResource[]) =>
  useQueries({
    queries: resources.map(fieldsQuery),
    combine: (results) => ({
      byResource: resources.map((r, i) => ({ resource: r, fields: (results[i]?.data ?? []) as HrbcField[] })),
      pending: results.some((x) => x.isPending),
    }),
  });

/** The phases HRBC offers for a resource (the search's condition, the phase update after sending). */
export const usePhases = (resource: PhaseResource) =>
  useQuery({ queryKey: keys.phases(resource), queryFn: ({ signal }) => getPhases(resource, signal), staleTime: Infinity });

/** A record with its attachments (the anchor of a matching list). */
export const fetchRecord = (qc: QueryClient, resource: "resumes" | "jobs", id: number) =>
  qc.fetchQuery({ queryKey: keys.record(resource, id), queryFn: ({ signal }) => getRecord(resource, id, signal) });

export const useRecord = (resource: "resumes" | "jobs", id: number | null) =>
  useQuery({
    queryKey: keys.record(resource, id ?? -1),
    queryFn: ({ signal }) => getRecord(resource, id!, signal),
    enabled: id !== null,
  });

/** The conditions a matching list starts from: the anchor's options in the fields both resources share. */
export const useMatch = (anchor: "jobs" | "resumes", id: number | null) =>
  useQuery({
    queryKey: keys.match(anchor, id ?? -1),
    queryFn: ({ signal }) => getMatch(anchor, id!, signal),
    enabled: id !== null,
  });

const featuresQuery = { queryKey: keys.serverFeatures, queryFn: () => serverFeatures(), staleTime: Infinity } as const;

/** Whether the server holds mailings for the confirmation; asked once per page load. */
export const fetchServerHolds = (qc: QueryClient) => qc.fetchQuery(featuresQuery).then((f) => f.hold);

/** What the server can do (hold, schedule and undo, the deliveries list); asked once per page load. */
export const useServerFeatures = () => useQuery(featuresQuery).data ?? null;

/** The deliveries of a mailing that were replied to (or bounced), a page at a time (the status card's list). */
export const useDeliveries = (id: string, filter: DeliveriesFilter, enabled: boolean) =>
  useInfiniteQuery({
    queryKey: keys.deliveries(id, filter),
    queryFn: ({ pageParam, signal }) => getDeliveries(id, { filter, cursor: pageParam, count: DELIVERIES_PAGE }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled,
  });
export const DELIVERIES_PAGE = 20;

/** The saved templates of a mode. */
export const useTemplates = (mode: MailingMode) =>
  useQuery({ queryKey: keys.templates(mode), queryFn: ({ signal }) => listTemplates(mode, signal) });

/** Save, overwrite, delete a template: each refreshes every mode's list (a template's mode may change). */
export function useTemplateMutations() {
  const qc = useQueryClient();
  const onSuccess = () => qc.invalidateQueries({ queryKey: keys.allTemplates });
  return {
    create: useMutation({ mutationFn: (t: TemplateRequest) => createTemplate(t), onSuccess }),
    update: useMutation({ mutationFn: ({ id, t }: { id: string; t: TemplateRequest }) => updateTemplate(id, t), onSuccess }),
    remove: useMutation({ mutationFn: (id: string) => deleteTemplate(id), onSuccess }),
  };
}
