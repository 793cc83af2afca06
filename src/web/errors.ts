// The web service's failures, each with the permanent code the service answers with (WebErrorCode).
import { QuireError } from "../errors.js";
import { WebErrorCode } from "../wire/error-codes.js";

export abstract class WebError extends QuireError {}

export class WebPortUnavailableError extends WebError {
  constructor(
    readonly port: number,
    cause: unknown,
  ) {
    const why = (cause as NodeJS.ErrnoException).code === "EADDRINUSE" ? "something else listens on it" : (cause as Error).message;
    super(
      WebErrorCode.PORT_UNAVAILABLE,
      `the runs page cannot listen on port ${port} (${why}); pick another with --port or ui.port, or leave both out for a free one`,
      { cause },
    );
  }
}

export class WebPortMismatchError extends WebError {
  constructor(asked: number, url: string) {
    super(
      WebErrorCode.PORT_MISMATCH,
      `the runs page is served at ${url} already, not on port ${asked}; run quirectl ui without --port, or quirectl daemon restart to move it`,
    );
  }
}

export class WebBadRequestError extends WebError {
  constructor(message: string, cause?: unknown) {
    super(WebErrorCode.BAD_REQUEST, `a web request quire cannot serve: ${message}; use a quirectl and a quired of the same version`, {
      cause,
    });
  }
}
