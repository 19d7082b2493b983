import { vi } from "vitest";

export interface Call {
  method: string;
  url: string;
  body: unknown;
  headers: Headers;
}

type Handler = (call: Call) => unknown | Response | Promise<unknown | Response>;

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

export const problem = (body: unknown, status = 400) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json" } });

/** Stubs fetch with routes "METHOD /path" (path without the query); unknown routes answer 404 problem details. */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? "GET").toUpperCase();
    let body: unknown = init?.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        /* keep text */
      }
    }
    const call: Call = { method, url, body, headers: new Headers(init?.headers) };
    calls.push(call);
    const path = url.replace(/^https?:\/\/[^/]+/, "").split("?")[0] ?? "";
    const handler = routes[`${method} ${path}`] ?? Object.entries(routes).find(([k]) => {
      const [m, p] = k.split(" ");
      return m === method && p!.endsWith("*") && path.startsWith(p!.slice(0, -1));
    })?.[1];
    if (!handler) return problem({ title: "Not found", status: 404, detail: `${method} ${path}` }, 404);
    const out = await handler(call);
    return out instanceof Response ? out : json(out);
  });
  vi.stubGlobal("fetch", fn);
  return { calls, fn };
}
