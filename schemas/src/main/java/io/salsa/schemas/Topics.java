package io.salsa.schemas;

import io.salsa.events.BatchManifest;
import io.salsa.events.DeadLetter;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.Preference;
import io.salsa.events.Prompt;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.events.TrainingMetrics;
import java.util.List;

/**
 * The topic catalog: every topic name of salsa-stream appears here and nowhere else, with its key and value
 * types, partitions and cleanup policy (see DESIGN.md's topic table).
 *
 * <p>Keys are plain strings (UTF-8, not registry-framed); values are the generated {@code io.salsa.events}
 * classes, written in the schema-registry wire format.
 */
public final class Topics {

    /** Prompts to answer; key: promptId. Partitioned so that several generators share them. */
    public static final Topic<String, Prompt> PROMPTS =
            new Topic<>("prompts", String.class, Prompt.class, 4, CleanupPolicy.DELETE, false);
    /** Sampled responses with behaviour log-probs; key: promptId. Kept forever for replay. */
    public static final Topic<String, Rollout> ROLLOUTS =
            new Topic<>("rollouts", String.class, Rollout.class, 4, CleanupPolicy.DELETE, true);
    /** Human preferences; key: promptId. Kept forever: reward models are retrained from them. */
    public static final Topic<String, Preference> FEEDBACK =
            new Topic<>("feedback", String.class, Preference.class, 2, CleanupPolicy.DELETE, true);
    /** Rollouts with rewards; key: promptId. Kept forever: the learner's replay reads them. */
    public static final Topic<String, ScoredRollout> SCORED_ROLLOUTS =
            new Topic<>("scored-rollouts", String.class, ScoredRollout.class, 4, CleanupPolicy.DELETE, true);
    /** SFT models that landed in the blob store; key: modelId. */
    public static final Topic<String, SftModelLanded> SFT_MODELS =
            new Topic<>("sft-models", String.class, SftModelLanded.class, 1, CleanupPolicy.DELETE, false);
    /** Current soup per recipe; key: recipe name. */
    public static final Topic<String, SoupManifest> SOUP =
            new Topic<>("soup", String.class, SoupManifest.class, 1, CleanupPolicy.COMPACT, false);
    /** Current policy checkpoint per run; key: run id. */
    public static final Topic<String, PolicyCheckpoint> POLICY =
            new Topic<>("policy", String.class, PolicyCheckpoint.class, 1, CleanupPolicy.COMPACT, false);
    /** Current reward model per name; key: reward model name. */
    public static final Topic<String, RewardModelCheckpoint> REWARD_MODELS =
            new Topic<>("reward-models", String.class, RewardModelCheckpoint.class, 1, CleanupPolicy.COMPACT, false);
    /** Which offsets formed each PPO step; key: run id. Kept forever: replay rebuilds batches from it. */
    public static final Topic<String, BatchManifest> LEARNER_BATCHES =
            new Topic<>("learner-batches", String.class, BatchManifest.class, 1, CleanupPolicy.DELETE, true);
    /** Training metrics per step; key: run id. */
    public static final Topic<String, TrainingMetrics> METRICS =
            new Topic<>("metrics", String.class, TrainingMetrics.class, 1, CleanupPolicy.DELETE, false);
    /** Records a service gave up on, with the reason; key: the original key. */
    public static final Topic<String, DeadLetter> DEAD_LETTERS =
            new Topic<>("dead-letters", String.class, DeadLetter.class, 1, CleanupPolicy.DELETE, false);

    /**
     * The embedded schema registry's log (like Confluent's {@code _schemas}): one partition so that its records
     * are totally ordered, compacted, values are JSON. Not an event topic, so not in {@link #all()}.
     */
    public static final Topic<String, String> SCHEMAS =
            new Topic<>("_salsa_schemas", String.class, String.class, 1, CleanupPolicy.COMPACT, false);

    private static final List<Topic<?, ?>> ALL = List.of(PROMPTS, ROLLOUTS, FEEDBACK, SCORED_ROLLOUTS, SFT_MODELS,
            SOUP, POLICY, REWARD_MODELS, LEARNER_BATCHES, METRICS, DEAD_LETTERS);

    private Topics() {
    }

    /** Every event topic, in DESIGN.md's order. */
    public static List<Topic<?, ?>> all() {
        return ALL;
    }
}
