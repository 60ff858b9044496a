package io.salsa.cli.demo;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One marker file per finished demo stage ({@code DIR/stages/NAME.json}, holding what the stage produced), so
 * running the demo again resumes after the last finished stage instead of starting over.
 *
 * <p>A marker is written atomically (temp file + move) only after the stage's outputs are durable, so a stage
 * interrupted by Ctrl-C has no marker and runs again.
 */
public final class StageMarkers {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public StageMarkers(Path dir) {
        this.dir = dir;
    }

    /** The outputs recorded when {@code stage} finished, if it did. */
    public Optional<Map<String, String>> finished(String stage) {
        Path file = file(stage);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), new TypeReference<LinkedHashMap<String, String>>() {
            }));
        } catch (IOException e) {
            // a marker we cannot read does not prove the stage finished: run it again
            return Optional.empty();
        }
    }

    /** Records that {@code stage} finished with these outputs. */
    public void markFinished(String stage, Map<String, String> outputs) {
        try {
            FileOps.writeAtomically(file(stage), tmp -> JSON.writeValue(tmp.toFile(), new LinkedHashMap<>(outputs)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the marker of stage " + stage + " in " + dir, e);
        }
    }

    private Path file(String stage) {
        return dir.resolve(stage + ".json");
    }
}
