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
 * types, partitions, cleanup policy and retention (see DESIGN.md's topic table). Replayable topics are kept
 * forever; every other deleting topic states its own retention, so none lives on the broker's defaults.
 *
 * <p>Keys are plain strings (UTF-8, not registry-framed); values are the generated {@code io.salsa.events}
 * classes, written in the schema-registry wire format.
 */
public final class Topics {

    /**
     * Prompts to answer; key: promptId. Partitioned so that several generators share them. Kept 30 days: a
     * generator group that was down for weeks still finds the prompts it had not answered; replay needs none
     * (rollouts carry their prompt).
     */
    public static final Topic<String, Prompt> PROMPTS = new Topic<>("prompts", String.class, Prompt.class, 4,
            CleanupPolicy.DELETE, false, Retention.days(30));
    /** Sampled responses with behaviour log-probs; key: promptId. Kept forever for replay. */
    public static final Topic<String, Rollout> ROLLOUTS =
            new Topic<>("rollouts", String.class, Rollout.class, 4, CleanupPolicy.DELETE, true);
    /** Human preferences; key: promptId. Kept forever: reward models are retrained from them. */
    public static final Topic<String, Preference> FEEDBACK =
            new Topic<>("feedback", String.class, Preference.class, 2, CleanupPolicy.DELETE, true);
    /** Rollouts with rewards; key: promptId. Kept forever: the learner's replay reads them. */
    public static final Topic<String, ScoredRollout> SCORED_ROLLOUTS =
            new Topic<>("scored-rollouts", String.class, ScoredRollout.class, 4, CleanupPolicy.DELETE, true);
    /**
     * SFT models that landed in the blob store; key: modelId. Kept forever: the soup builder rebuilds its state
     * from the whole topic at every start and {@code init_from=sft:<id>} looks models up in it; a deleted record
     * would drop a member from later soups. One small record per model.
     */
    public static final Topic<String, SftModelLanded> SFT_MODELS = new Topic<>("sft-models", String.class,
            SftModelLanded.class, 1, CleanupPolicy.DELETE, false, Retention.FOREVER);
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
    /**
     * Training metrics per step; key: run id. Kept 90 days: long enough to compare the runs of a project; a run
     * that must outlive that is dumped to its folder ({@code metrics.jsonl}) and its checkpoint cards keep the
     * state. One small record per step.
     */
    public static final Topic<String, TrainingMetrics> METRICS = new Topic<>("metrics", String.class,
            TrainingMetrics.class, 1, CleanupPolicy.DELETE, false, Retention.days(90));
    /**
     * Records a service gave up on, with the reason; key: the original key. Kept 30 days for people to
     * investigate, and at most 1 GiB: they carry the raw bytes, and a broken producer can flood the topic.
     */
    public static final Topic<String, DeadLetter> DEAD_LETTERS = new Topic<>("dead-letters", String.class,
            DeadLetter.class, 1, CleanupPolicy.DELETE, false, Retention.days(30).atMostBytes(1L << 30));

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
