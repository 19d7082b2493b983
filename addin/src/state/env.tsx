// What the pane runs in: the Office host (or none) and whether it is the demo (no sign-in).
import { createContext, useContext } from "react";
import { NO_HOST, type OfficeEnvironment } from "../office/loader";

export interface AppEnv {
  office: OfficeEnvironment;
  demo: boolean;
}

export const EnvContext = createContext<AppEnv>({ office: NO_HOST, demo: true });
export const useEnv = (): AppEnv => useContext(EnvContext);
