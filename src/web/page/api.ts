// Talking to the page's server: JSON reads, the two changes (sent as POST from this origin, which the
// server checks), and event streams that say whether they are connected.
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) throw new Error(await errorText(response));
  return (await response.json()) as T;
}

export async function post<T>(path: string): Promise<T> {
  const response = await fetch(path, { method: "POST", credentials: "same-origin" });
  if (!response.ok) throw new Error(await errorText(response));
  return (await response.json()) as T;
}

async function errorText(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: string };
    return body.error ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** Listens to `path`'s events with JSON data; the status line says when the stream is lost and back. */
export function listen(path: string, handlers: Record<string, (data: unknown) => void>): EventSource {
  const source = new EventSource(path);
  for (const [event, handle] of Object.entries(handlers))
    source.addEventListener(event, (e) => handle(JSON.parse((e as MessageEvent<string>).data)));
  const status = document.getElementById("status");
  source.addEventListener("open", () => status && (status.textContent = "live"));
  source.addEventListener("error", () => status && (status.textContent = "reconnecting…"));
  return source;
}
