package io.salsa.ingest;

/**
 * A request refused with a 4xx/5xx status, carrying a stable machine-readable reason (also the metrics label)
 * and the place in the request that is wrong, so a client can fix it without reading server logs.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String reason;
    private final String where;

    public ApiException(int status, String reason, String message, String where) {
        super(message, null, false, false);
        this.status = status;
        this.reason = reason;
        this.where = where;
    }

    public int status() {
        return status;
    }

    public String reason() {
        return reason;
    }

    /** A JSON-pointer-like location ({@code $.choice}), a header name, or {@code null}. */
    public String where() {
        return where;
    }
}
