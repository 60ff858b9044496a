package io.salsa.generator;

import io.salsa.schemas.KafkaSettings;

/**
 * A generator in its own JVM for the crash test: {@code main(bootstrap, topicPrefix, sleepMillisPerBatch)},
 * the rest of the config from {@code SALSA_GENERATOR_*} variables, the toy model (the crash is about delivery).
 */
public final class GeneratorChildMain {

    private GeneratorChildMain() {
    }

    public static void main(String[] args) throws Exception {
        KafkaSettings settings = KafkaSettings.embedded(args[0], args[1]);
        GeneratorConfig config = GeneratorConfig.fromEnv(System.getenv());
        new GeneratorApp(settings, config, ToySampler.factory(Long.parseLong(args[2])), GeneratorAppIT.NO_BLOBS).run();
    }
}
