// initlab playground: the client of the server's JSON API (docs/playground-api.md). Every
// request the page makes goes through `request`, which turns a failure into an ApiError that
// carries the server's own message (its `{"error": ...}` answer) and the HTTP status.

/** A failed request: `status` is the HTTP status (0: the server could not be reached). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The server's token, which it wrote into the page (`<meta name="initlab-token">`): every
 * request that changes something sends it, so that no other web page can (it cannot read the
 * page, nor send this header without a CORS preflight the server never grants). */
const TOKEN = document.querySelector('meta[name="initlab-token"]')?.content ?? "";

/**
 * Send one request: `json` as a JSON body or `body` as it is; answer the parsed JSON (null
 * for 204), or the Response itself with `raw`. Throws ApiError on a network failure or a
 * non-2xx status, with the server's message when it sent one.
 */
async function request(method, path, { json, body, raw = false } = {}) {
  const init = { method, headers: method === "GET" ? {} : { "X-Initlab-Token": TOKEN } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the initlab server (${e.message})`);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && typeof j.error === "string") message = j.error;
      else if (j && j.detail !== undefined) {
        message = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
      }
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, message);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

const sessionPath = (id, suffix = "") => `/api/sessions/${encodeURIComponent(id)}${suffix}`;

/** `GET /api/options`: the choices, the defaults and the limits. */
export const options = () => request("GET", "/api/options");

/** `POST /api/sessions`: a new session → {session, data, frame}. */
export const createSession = (config) => request("POST", "/api/sessions", { json: config });

/** `PUT /api/sessions/{id}`: the session on a new configuration → {session, data, frame}. */
export const update = (id, config) => request("PUT", sessionPath(id), { json: config });

/** `POST /api/sessions/{id}/step`: train `iterations` more → a frame with the curve points
 * past iteration `since`. */
export const step = (id, iterations, since) =>
  request("POST", sessionPath(id, "/step"), { json: { iterations, since } });

/** `POST /api/sessions/{id}/reset`: draw the weights again (seed null: the same seed). */
export const reset = (id, seed) => request("POST", sessionPath(id, "/reset"), { json: { seed } });

/** `POST /api/uploads`: a CSV file as the raw body → {dataset, name, rows, …}; `task`
 * "regression" reads its label column as a real target. */
export const upload = (file, task = "classification") => {
  const query = `name=${encodeURIComponent(file.name)}${task === "classification" ? "" : `&task=${encodeURIComponent(task)}`}`;
  return request("POST", `/api/uploads?${query}`, { body: file });
};

/** `GET /api/sessions/{id}/export/{kind}` (spec or results) → the file as a Blob. */
export async function exportBlob(id, kind) {
  return (await request("GET", sessionPath(id, `/export/${kind}`), { raw: true })).blob();
}
