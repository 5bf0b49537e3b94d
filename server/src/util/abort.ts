// The one way RepoPot cancels: an AbortSignal, and the platform's AbortError (a DOMException named
// 'AbortError', or the signal's own reason when it is an Error, e.g. a TimeoutError from AbortSignal.timeout).
// Callers decide by the error's type (isAbortError), never by its message.

/** The error a cancelled operation throws: the signal's reason when it is an Error, else a DOMException AbortError. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/** Throws abortError(signal) when the caller has cancelled. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** True for the errors cancellation throws (AbortError, TimeoutError): by name, as the platform defines them. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}
