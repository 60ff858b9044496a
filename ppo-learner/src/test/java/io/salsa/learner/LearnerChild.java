package io.salsa.learner;

import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Path;

/**
 * A learner in a JVM of its own, so a test can kill it with SIGKILL mid-run: args are bootstrap servers, topic
 * prefix, blob folder, run id, batch size, mini-batch size, save steps, max steps.
 */
public final class LearnerChild {

    private LearnerChild() {}

    public static void main(String[] args) throws Exception {
        KafkaSettings kafka = KafkaSettings.embedded(args[0], args[1]);
        ModelFolderStore store = LearnerFixture.store(Path.of(args[2]));
        var settings = LearnerFixture.settings(args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                Integer.parseInt(args[6]));
        settings.put("max_steps", args[7]);
        LearnerConfig config = LearnerConfig.fromMap(settings);
        try (PpoLearner learner = PpoLearner.start(config, kafka, store, LearnerFixture.gptFactory(), () -> false)) {
            learner.run();
        }
    }
}
