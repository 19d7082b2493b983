// The cache behaviour that matters (TanStack Query, state/queryClient.ts): what is asked once, and what a change
// refreshes. Over the real client against stubbed fetch, as the components use it.
import { describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { act, renderHook, screen, waitFor } from "@testing-library/react";
import type { MailingStatus } from "../api/types";
import { placeholderStatus } from "../model/mailings";
import { mockFetch } from "../test/fetchMock";
import { Providers, renderPane } from "../test/render";
import { TagInserter } from "../components/TagInserter";
import { useMailings } from "./mailings";
import { fetchServerHolds, useFields, useTemplateMutations, useTemplates } from "./queries";
import { createQueryClient } from "./queryClient";

const status = (over: Partial<MailingStatus>): MailingStatus => ({ ...placeholderStatus("m1", { createdAt: "2026-11-27T00:00:00Z" }), ...over });
const field = (alias: string, label: string, isMail = false) => ({ alias, label, type: "SinglelineText", typeCode: 1, required: false, isMail, referTo: null });
const idle = () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } });

function wrapperOf(client = createQueryClient(), mailings = false) {
  return ({ children }: { children: ReactNode }) => (
    <Providers client={client} mailings={mailings}>
      {children}
    </Providers>
  );
}

describe("the data cache", () => {
  it("fetches a resource's fields once for every part of the page that needs them", async () => {
    const { calls } = mockFetch({
      "GET /api/hrbc/Resume/fields": () => [field("Resume.P_Name", "タイトル"), field("Resume.P_Mail", "メール", true)],
      "GET /api/hrbc/Candidate/fields": () => [field("Person.P_Name", "氏名")],
    });
    const client = createQueryClient();
    const { result } = renderHook(() => useFields("Resume"), { wrapper: wrapperOf(client) });
    await waitFor(() => expect(result.current.data).toHaveLength(2));
    // The tag inserter of the same page asks for Resume too: from the cache.
    renderPane(<TagInserter resources={["Resume", "Candidate"]} target="body" onInsert={() => undefined} />, { client });
    await waitFor(() => expect(calls.filter((c) => c.url.endsWith("/Candidate/fields"))).toHaveLength(1));
    await screen.findByRole("combobox", { name: "Insert a tag" });
    expect(calls.filter((c) => c.url.endsWith("/Resume/fields"))).toHaveLength(1);
  });

  it("asks the server once per page whether it holds mailings", async () => {
    const { calls } = mockFetch({ "GET /openapi/v1.json": () => ({ components: { schemas: { MailingRequest: { properties: { hold: {} } } } } }) });
    const client = createQueryClient();
    expect(await fetchServerHolds(client)).toBe(true);
    expect(await fetchServerHolds(client)).toBe(true);
    expect(calls).toHaveLength(1);
    // A new page (a new cache) asks again.
    expect(await fetchServerHolds(createQueryClient())).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it("refreshes the templates after one is saved, overwritten or deleted", async () => {
    let templates = [{ id: "t1", owner: "me", name: "月次", mode: "Resumes", subject: "s", body: "b", createdAt: "", updatedAt: "" }];
    const { calls } = mockFetch({
      "GET /api/templates": () => templates,
      "POST /api/templates": (c) => {
        const t = { ...templates[0]!, ...(c.body as object), id: "t2" };
        templates = [...templates, t];
        return t;
      },
      "DELETE /api/templates/t1": () => {
        templates = templates.filter((t) => t.id !== "t1");
        return new Response(null, { status: 204 });
      },
    });
    const { result } = renderHook(() => ({ list: useTemplates("Resumes"), m: useTemplateMutations() }), { wrapper: wrapperOf() });
    await waitFor(() => expect(result.current.list.data?.map((t) => t.id)).toEqual(["t1"]));
    await act(() => result.current.m.create.mutateAsync({ name: "新", mode: "Resumes", subject: "s", body: "b" }));
    // The mutation resolves once the list is fetched again; the hook re-renders with it on TanStack Query's next
    // notification tick (a timer, so not necessarily inside this act): wait for it rather than read it at once.
    await waitFor(() => expect(result.current.list.data?.map((t) => t.id)).toEqual(["t1", "t2"]));
    await act(() => result.current.m.remove.mutateAsync("t1"));
    await waitFor(() => expect(result.current.list.data?.map((t) => t.id)).toEqual(["t2"]));
    expect(calls.filter((c) => c.method === "GET")).toHaveLength(3);
  });

  it("after a send the mailings list is fetched again and shows the new mailing, followed live", async () => {
    let list: MailingStatus[] = [status({ id: "old", state: "Completed", sent: 3, subject: "先月" })];
    const { calls } = mockFetch({
      "GET /api/mailings": () => list,
      "GET /api/mailings/events": () => idle(),
    });
    const { result } = renderHook(() => useMailings(), { wrapper: wrapperOf(createQueryClient(), true) });
    await waitFor(() => expect(result.current.mailings.map((m) => m.id)).toEqual(["old"]));
    list = [status({ id: "m5", state: "Queued", subject: "お知らせ", createdAt: "2026-11-28T00:00:00Z" }), ...list];
    act(() => result.current.track("m5", "Queued", "お知らせ"));
    // At once (the card's title is the subject from the first moment), and then from the server.
    await waitFor(() => expect(result.current.mailings[0]).toMatchObject({ id: "m5", subject: "お知らせ" }));
    await waitFor(() => expect(calls.filter((c) => c.url.endsWith("/api/mailings"))).toHaveLength(2));
    // one stream for all the user's mailings, opened once one can change
    await waitFor(() => expect(calls.filter((c) => c.url.endsWith("/api/mailings/events"))).toHaveLength(1));
    expect(result.current.indicator.state).toBe("running");
  });

  it("after a delete the card leaves the list and the list is fetched again", async () => {
    let list: MailingStatus[] = [status({ id: "a", state: "Completed" }), status({ id: "b", state: "Cancelled" })];
    const { calls } = mockFetch({
      "GET /api/mailings": () => list,
      "DELETE /api/mailings/a": () => {
        list = list.filter((m) => m.id !== "a");
        return new Response(null, { status: 204 });
      },
    });
    const { result } = renderHook(() => useMailings(), { wrapper: wrapperOf(createQueryClient(), true) });
    await waitFor(() => expect(result.current.mailings).toHaveLength(2));
    await act(() => result.current.remove("a"));
    // The cache notifies the hook on its next tick (a timer): wait for it.
    await waitFor(() => expect(result.current.mailings.map((m) => m.id)).toEqual(["b"]));
    expect(calls.filter((c) => c.method === "GET" && c.url.endsWith("/api/mailings"))).toHaveLength(2);
  });

  it("a control action's status replaces the card's at once", async () => {
    const { calls } = mockFetch({
      "GET /api/mailings": () => [status({ id: "s", state: "Sending", total: 10, sent: 4, pending: 6 })],
      "GET /api/mailings/events": () => idle(),
      "POST /api/mailings/s/pause": () => status({ id: "s", state: "Paused", total: 10, sent: 4, pending: 6 }),
    });
    const { result } = renderHook(() => useMailings(), { wrapper: wrapperOf(createQueryClient(), true) });
    await waitFor(() => expect(result.current.indicator.state).toBe("running"));
    await act(() => result.current.act("s", "pause"));
    // No list fetch needed: the control's answer is the card's new status (the cache notifies on its next tick).
    await waitFor(() => expect(result.current.mailings[0]?.state).toBe("Paused"));
    expect(result.current.indicator.state).toBe("paused");
    expect(calls.filter((c) => c.url.endsWith("/api/mailings"))).toHaveLength(1);
  });
});
