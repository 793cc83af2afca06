import { QuireError } from "../errors.js";

export class BackendError extends QuireError {}

export class UnknownServiceError extends BackendError {
  constructor(readonly service: string, known: readonly string[]) {
    super("QUIRE_ERR_SERVICE_UNKNOWN", `no service named "${service}"; known services: ${known.join(", ")}`);
  }
}
