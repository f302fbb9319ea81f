/**
 * A business refusal: a domain saying no, by a code of its own vocabulary (each domain's
 * refusals.ts). Services throw or return refusals and never know about HTTP or Temporal: the API
 * maps each code to an HTTP status and error code (src/api/refusals.ts), and the activities map the
 * codes that end a transfer or payout to its outcome (activities/refusals.ts).
 */
export type RefusalProblem = { message: string; path: string | null };

export class Refusal<C extends string = string> extends Error {
  /**
   * `path` names the input that caused it, as a JSON pointer into the request (`#/source_amount`) or
   * `header/<Name>`; `problems` lists several at once (each with its own path) when there are several.
   */
  constructor(
    readonly code: C,
    message: string,
    readonly path: string | null = null,
    readonly problems: RefusalProblem[] = [],
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/** Whether `err` is a refusal, with one of `codes` when any are given. */
export function isRefusal<C extends string>(err: unknown, ...codes: C[]): err is Refusal<C> {
  return err instanceof Refusal && (codes.length === 0 || codes.includes(err.code as C));
}

/** The codes of a vocabulary, as the union type its refusals carry. */
export type CodeOf<V extends Record<string, string>> = V[keyof V];
