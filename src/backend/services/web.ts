// web: the runs page (src/web). This module speaks the wire for it on lane 0xEB00: an open request
// serves the page if it is not served yet and answers where it is, for quirectl ui.
import { SettingsError } from "../../ci/errors.js";
import { readSettings } from "../../ci/settings/settings-file.js";
import { QuireError } from "../../errors.js";
import { Frame_Kind } from "../../gen/quire/v1/frame.js";
import { WebRequest, WebResponse } from "../../gen/quire/v1/web.js";
import { WebBadRequestError } from "../../web/errors.js";
import { RunsPage } from "../../web/runs-page.js";
import { WebErrorCode } from "../../wire/error-codes.js";
import type { Service, ServiceContext } from "./service.js";

export function createWebService(context: ServiceContext): Service {
  const page = new RunsPage(context.places);
  const answer = async (payload: Uint8Array): Promise<Partial<WebResponse>> => {
    let request: WebRequest;
    try {
      request = WebRequest.decode(payload);
    } catch (error) {
      throw new WebBadRequestError((error as Error).message, error);
    }
    if (!request.open) throw new WebBadRequestError("empty web request: set one operation");
    return page.open(request.open.port, configuredPort(context));
  };
  return {
    onFrame(frame, client) {
      if (frame.kind !== Frame_Kind.REQUEST) return;
      const respond = (response: Partial<WebResponse>) =>
        client.respond(frame, WebResponse.encode(WebResponse.fromPartial({ ok: true, ...response })).finish());
      answer(frame.payload).then(respond, (error: unknown) => {
        context.logger?.log("warn", "the runs page could not be served", { error: (error as Error).message });
        respond({ ok: false, error: (error as Error).message, errorCode: error instanceof QuireError ? error.code : WebErrorCode.FAILED });
      });
    },
    busy: () => page.busy(),
    drain: () => page.close(),
  };
}

/** ui.port from the configuration file, read each time the page is first served; a bad file means none. */
function configuredPort(context: ServiceContext): number | null {
  try {
    return readSettings(context.places.configFile).settings["ui.port"];
  } catch (error) {
    if (error instanceof SettingsError) return null;
    throw error;
  }
}
