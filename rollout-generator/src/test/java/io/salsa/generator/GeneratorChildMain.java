package io.salsa.generator;

import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

/**
 * A generator in its own JVM for the crash test: {@code main(bootstrap, topicPrefix, sleepMillisPerBatch,
 * holdFile, heldFile[, where])}, the rest of the config from {@code SALSA_GENERATOR_*} variables, the toy model
 * (the crash is about delivery). Once {@code holdFile} exists, the next batch writes its requests' seeds to
 * {@code heldFile} and never finishes, so the test can kill the process at a known point: {@code model} (the
 * default) holds inside the model call, before anything of the batch is sent; {@code send} lets the model call
 * return and holds while its rollouts are being sent, after the first of them, inside the open transaction.
 */
public final class GeneratorChildMain {

    private GeneratorChildMain() {
    }

    public static void main(String[] args) throws Exception {
        // client properties from SALSA_KAFKA_* as a service reads them (the test sets a short consumer session)
        KafkaSettings settings = new KafkaSettings(args[0], args[1], KafkaSettings.EMBEDDED,
                KafkaClientConfig.fromEnv(System.getenv()));
        GeneratorConfig config = GeneratorConfig.fromEnv(System.getenv());
        long sleepMillis = Long.parseLong(args[2]);
        Path hold = Path.of(args[3]);
        Path held = Path.of(args[4]);
        boolean inSend = args.length > 5 && args[5].equals("send");
        SamplerFactory toy = ToySampler.factory(sleepMillis);
        SamplerFactory holding = (dir, device) -> new HoldingSampler(toy.open(dir, device), hold, held, inSend);
        new GeneratorApp(settings, config, holding, GeneratorAppIT.NO_BLOBS).run();
    }

    /** The toy model, except that once asked to hold it stops inside a batch until the process dies. */
    private static final class HoldingSampler extends ForwardingRolloutSampler {
        private final Path hold;
        private final Path held;
        private final boolean inSend;
        private int decodesOfHeldBatch = -1;

        HoldingSampler(RolloutSampler inner, Path hold, Path held, boolean inSend) {
            super(inner);
            this.hold = hold;
            this.held = held;
            this.inSend = inSend;
        }

        @Override
        public List<Sample> sample(List<Request> requests, SamplingParams params) {
            if (Files.exists(hold) && decodesOfHeldBatch < 0) {
                String seeds = requests.stream().map(r -> Long.toString(r.seed())).collect(Collectors.joining("\n"));
                try {
                    // written then moved, so the test never reads half a list
                    Path tmp = held.resolveSibling(held.getFileName() + ".tmp");
                    Files.writeString(tmp, seeds);
                    Files.move(tmp, held, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                if (!inSend) {
                    holdForever();
                }
                decodesOfHeldBatch = 0;
            }
            return inner.sample(requests, params);
        }

        /** The generator decodes each sample just before sending it: the third decode comes after a send. */
        @Override
        public String decode(int[] ids) {
            if (decodesOfHeldBatch >= 0 && ++decodesOfHeldBatch == 3) {
                holdForever();
            }
            return inner.decode(ids);
        }

        private static void holdForever() {
            try {
                new CountDownLatch(1).await(); // inside the batch for good: only kill -9 ends it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while holding a batch", e);
            }
        }
    }
}
