package io.salsa.ingest;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads a request body without holding a thread, chunk by chunk and up to a bound, either keeping it (a JSON
 * request's body, handed on whole) or discarding it (the rest of a refused request's body, read so the client's
 * connection stays usable); and says which Content-Types count as JSON.
 */
final class RequestBody {

    private static final String JSON = "application/json";

    /** How a read ended: the body ended within the bound, passed it, or could not be read. */
    private enum End { COMPLETE, TOO_LARGE, FAILED }

    private RequestBody() {
    }

    /**
     * Reads the body, stopping as soon as it passes {@code max} bytes (a body without Content-Length is cut off here
     * too, not after it has all been buffered): {@code onBody} gets it whole, {@code onError} a 413 or a 400.
     */
    static void keep(Request request, int max, Consumer<byte[]> onBody, Consumer<ApiException> onError) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(Math.min(max, 4096));
        read(request, max, bytes -> {
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            buffer.writeBytes(copy);
        }, (end, failure) -> {
            switch (end) {
                case COMPLETE -> onBody.accept(buffer.toByteArray());
                case TOO_LARGE -> onError.accept(new ApiException(413, "body_too_large", "request body is larger than"
                        + " the limit of " + max + " bytes", "body"));
                case FAILED -> onError.accept(new ApiException(400, "body_unreadable", "the request body could not be"
                        + " read: " + failure.getMessage(), "body"));
            }
        });
    }

    /** Reads and discards the rest of the body; tells {@code then} whether it ended within {@code max} bytes. */
    static void discard(Request request, long max, Consumer<Boolean> then) {
        read(request, max, bytes -> { }, (end, failure) -> then.accept(end == End.COMPLETE));
    }

    /**
     * The one read loop: hands each chunk's bytes to {@code sink} until the last chunk, and calls {@code then} once
     * (with the failure for {@link End#FAILED}). With no chunk ready it asks Jetty to call it again, and returns.
     */
    private static void read(Request request, long max, Consumer<ByteBuffer> sink, BiConsumer<End, Throwable> then) {
        new Runnable() {
            long seen;

            @Override
            public void run() {
                while (true) {
                    Content.Chunk chunk = request.read();
                    if (chunk == null) {
                        request.demand(this);
                        return;
                    }
                    if (Content.Chunk.isFailure(chunk)) {
                        then.accept(End.FAILED, chunk.getFailure());
                        return;
                    }
                    seen += chunk.remaining();
                    if (seen > max) {
                        chunk.release();
                        then.accept(End.TOO_LARGE, null);
                        return;
                    }
                    sink.accept(chunk.getByteBuffer());
                    boolean last = chunk.isLast();
                    chunk.release();
                    if (last) {
                        then.accept(End.COMPLETE, null);
                        return;
                    }
                }
            }
        }.run();
    }

    /** {@code application/json}, with no charset or UTF-8. */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String[] parts = contentType.toLowerCase(Locale.ROOT).split(";");
        if (!parts[0].strip().equals(JSON)) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].strip();
            if (p.startsWith("charset=") && !p.substring(8).replace("\"", "").equals("utf-8")) {
                return false;
            }
        }
        return true;
    }
}
