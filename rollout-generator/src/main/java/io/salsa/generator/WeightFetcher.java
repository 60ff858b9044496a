package io.salsa.generator;

import io.salsa.events.BlobRef;
import java.io.IOException;
import java.nio.file.Path;

/** Brings a weights blob named in an event to a local, sha256-verified model folder. */
@FunctionalInterface
public interface WeightFetcher {

    /** A local model folder holding exactly the verified blob's weights. */
    Path fetch(BlobRef blob) throws IOException;
}
