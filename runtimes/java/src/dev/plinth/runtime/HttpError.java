package dev.plinth.runtime;

/**
 * Thrown by a handler (or by Request.json() for a body that is not JSON) to answer with this
 * status and {"error": message} instead of a 500.
 */
public class HttpError extends RuntimeException {
  public final int status;

  public HttpError(int status, String message) {
    super(message);
    this.status = status;
  }
}
