package io.salsa.generator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Derives each rollout's sampler seed from what identifies the rollout, so the same prompts and weights give
 * the same rollouts whichever instance, partition or batch generated them.
 */
public final class RolloutSeeds {

    private RolloutSeeds() {
    }

    /**
     * The seed of one rollout: the first 8 bytes of SHA-256 over (base seed, prompt id, epoch, sample index,
     * policy version). The epoch is included so that a prompt set cycled for several epochs under the same
     * weights yields fresh samples instead of exact repeats.
     */
    public static long derive(long baseSeed, String promptId, int epoch, int sampleIndex, long policyVersion) {
        byte[] id = promptId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + 4 + id.length + 4 + 4 + 8);
        buf.putLong(baseSeed).putInt(id.length).put(id).putInt(epoch).putInt(sampleIndex).putLong(policyVersion);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(buf.array());
            return ByteBuffer.wrap(digest, 0, 8).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
