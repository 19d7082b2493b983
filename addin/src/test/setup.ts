import "@testing-library/jest-dom/vitest";
import { afterEach, vi } from "vitest";
import { cleanup, configure } from "@testing-library/react";

// The machine that runs the suite is shared (2 cores, several builds at once): testing-library's default 1 s for
// findBy*/waitFor is shorter than a first render plus two mocked fetches takes there under load (a full run during a
// dotnet build missed even 5 s twice). 15 s only delays a real failure; it never lets one pass.
configure({ asyncUtilTimeout: 15_000 });

// jsdom lacks these; Fluent UI's popovers and media queries use them.
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
if (!("ResizeObserver" in window)) {
  (window as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

afterEach(() => {
  cleanup();
  window.localStorage.clear();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});
