package io.salsa.generator;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Real, randomly initialised GPT-2 model folders for tests, made on the spot (different seed = different weights). */
final class TinyModels {

    static final int VOCAB = 300;
    static final int POSITIONS = 64;

    private TinyModels() {
    }

    static Path write(Path dir, long seed) {
        try (GptModel model = GptModel.random(GptConfig.of(2, 2, 32, VOCAB, POSITIONS, 0, 1), GptModel.Head.NONE,
                seed, Device.cpu())) {
            model.save(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
