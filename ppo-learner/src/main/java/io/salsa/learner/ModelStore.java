package io.salsa.learner;

import io.salsa.events.BlobRef;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where the learner keeps model folders (soups it reads, checkpoints it writes): the blob store, reduced to the
 * two operations the learner needs. Reads verify the sha256 before the folder is used.
 */
public interface ModelStore {

    /** Stores a model folder and returns its reference. */
    BlobRef putFolder(Path folder) throws IOException;

    /** A local copy of a stored model folder, verified against {@code ref.sha256}. */
    Path fetchFolder(BlobRef ref) throws IOException;
}
