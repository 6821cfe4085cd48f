// Node-only modules the `openai` package's ESM build names in code paths a browser never takes
// (X.509 auth, WebSockets, zod helpers). The page's import map points them here so the modules load.
const unavailable = () => { throw new Error("not available in a browser"); };
export const Agent = unavailable, ProxyAgent = unavailable, Request = unavailable, fetch = unavailable;
export const AsyncLocalStorage = unavailable, ZodFirstPartyTypeKind = {}, constants = {};
export const createPrivateKey = unavailable, X509Certificate = unavailable, spawn = unavailable;
export const lstat = unavailable, open = unavailable, realpath = unavailable, pipeline = unavailable;
export const Readable = unavailable, platform = "browser", versions = {}, delay = unavailable, types = {};
export default {};
