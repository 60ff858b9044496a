package io.salsa.generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * A test double of the model for the Kafka behaviour tests: a pure function of (weights tag, prompt, seed),
 * fast, with the weights tag as first response token so a test can tell which weights produced a rollout.
 * The weights tag is the integer in the model folder's {@code toy-weights.txt}.
 */
final class ToySampler implements RolloutSampler {

    static final String FILE = "toy-weights.txt";
    static final int VOCAB = 1000;
    static final int EOS = 0;

    final int weightsTag;
    private final long sleepMillisPerBatch;
    volatile boolean closed;

    ToySampler(int weightsTag, long sleepMillisPerBatch) {
        this.weightsTag = weightsTag;
        this.sleepMillisPerBatch = sleepMillisPerBatch;
    }

    /** A factory reading the tag from the folder; every batch sleeps {@code sleepMillis} (to be caught mid-batch). */
    static SamplerFactory factory(long sleepMillis) {
        return (dir, device) -> new ToySampler(readTag(dir), sleepMillis);
    }

    static Path writeFolder(Path dir, int tag) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(FILE), Integer.toString(tag), StandardCharsets.UTF_8);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int readTag(Path dir) throws IOException {
        return Integer.parseInt(Files.readString(dir.resolve(FILE), StandardCharsets.UTF_8).trim());
    }

    @Override
    public List<Sample> sample(List<Request> requests, SamplingParams params) {
        if (closed) {
            throw new IllegalStateException("sampling with closed weights " + weightsTag);
        }
        if (sleepMillisPerBatch > 0) {
            try {
                Thread.sleep(sleepMillisPerBatch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<Sample> out = new ArrayList<>();
        for (Request r : requests) {
            SplittableRandom rnd = new SplittableRandom(r.seed() ^ (31L * weightsTag) ^ Arrays.hashCode(r.promptIds()));
            int len = 1 + rnd.nextInt(params.maxNewTokens());
            boolean eos = len < params.maxNewTokens() && rnd.nextBoolean();
            int[] ids = new int[len];
            float[] lp = new float[len];
            for (int i = 0; i < len; i++) {
                ids[i] = i == 0 ? weightsTag : 2 + rnd.nextInt(VOCAB - 2);
                lp[i] = (float) -rnd.nextDouble(0.01, 6.0);
            }
            if (eos && len > 1) {
                ids[len - 1] = EOS;
            }
            out.add(new Sample(ids, lp, eos && len > 1));
        }
        return out;
    }

    @Override
    public int maxPositions() {
        return 128;
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public String decode(int[] ids) {
        return Arrays.stream(ids).mapToObj(i -> "w" + i).collect(Collectors.joining(" "));
    }

    @Override
    public int[] encode(String text) {
        return Arrays.stream(text.trim().split("\\s+")).filter(w -> !w.isEmpty())
                .mapToInt(w -> 2 + Math.floorMod(w.hashCode(), VOCAB - 2)).toArray();
    }

    @Override
    public void close() {
        closed = true;
    }
}
