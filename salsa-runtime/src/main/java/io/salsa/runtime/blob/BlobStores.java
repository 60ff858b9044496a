package io.salsa.runtime.blob;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/** Opens the blob store a configuration URI names, so services take one setting ({@code SALSA_BLOB_STORE}) for either kind. */
public final class BlobStores {
    private BlobStores() {
    }

    /** {@code file:///abs/folder} → {@link LocalBlobStore}; {@code s3://bucket[/prefix]} → {@link S3BlobStore} from the environment. */
    public static BlobStore fromUri(String uri) throws IOException {
        return fromUri(uri, System.getenv());
    }

    /** As {@link #fromUri(String)} with an explicit environment (for tests and config objects). */
    public static BlobStore fromUri(String uri, Map<String, String> env) throws IOException {
        URI u;
        try {
            u = URI.create(uri);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("blob store URI '" + uri + "' is not a URI: " + e.getMessage(), e);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        return switch (scheme) {
            case "file" -> new LocalBlobStore(Path.of(u));
            case "s3" -> {
                if (u.getHost() == null) {
                    throw new IllegalArgumentException("blob store URI '" + uri + "' names no bucket (s3://bucket/prefix)");
                }
                yield new S3BlobStore(S3Config.fromEnv(u.getHost(), u.getPath(), env));
            }
            default -> throw new IllegalArgumentException("blob store URI must start with file:/// or s3://, got '" + uri + "'");
        };
    }
}
