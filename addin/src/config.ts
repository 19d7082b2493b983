// Runtime settings of the pane: dist/config.json (public/config.json in the source), editable per deployment.
// Demo mode (no sign-in, no Authorization header) when there is no Office host, when environment is
// "Development" or when the Entra ids are missing.
import type { OfficeEnvironment } from "./office/loader";

export interface RuntimeConfig {
  environment: string;
  clientId: string;
  apiAppId: string;
  authority: string;
  /** Optional API origin; empty = the page's own origin (the API serves the pane). */
  apiBaseUrl: string;
}

export const DEFAULT_CONFIG: RuntimeConfig = {
  environment: "Development",
  clientId: "",
  apiAppId: "",
  authority: "https://login.microsoftonline.com/common",
  apiBaseUrl: "",
};

export async function loadRuntimeConfig(url = `${import.meta.env.BASE_URL}config.json`): Promise<RuntimeConfig> {
  try {
    const res = await fetch(url, { cache: "no-cache" });
    if (!res.ok) return DEFAULT_CONFIG;
    const json = (await res.json()) as Partial<RuntimeConfig>;
    return { ...DEFAULT_CONFIG, ...json };
  } catch {
    return DEFAULT_CONFIG;
  }
}

export function isDemo(config: RuntimeConfig, env: OfficeEnvironment): boolean {
  return env.host === "none" || config.environment === "Development" || !config.clientId || !config.apiAppId;
}
