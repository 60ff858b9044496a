package io.salsa.cli.demo;

import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import java.util.ArrayList;
import java.util.List;

/** The demo's chain of stages, in order; each stage is the production service or command, run in-process. */
public final class DemoStages {

    /** The topics the chain writes records to, checked by the demo's test. */
    public static final List<Topic<?, ?>> TOPICS_WRITTEN = List.of(Topics.SFT_MODELS, Topics.SOUP, Topics.ROLLOUTS,
            Topics.FEEDBACK, Topics.REWARD_MODELS, Topics.PROMPTS, Topics.SCORED_ROLLOUTS, Topics.POLICY,
            Topics.LEARNER_BATCHES, Topics.METRICS);

    private DemoStages() {
    }

    /** Soup recipe the demo's soup builder keeps current (the learner's KL reference). */
    public static final String RECIPE = KafkaLoopStages.RECIPE;
    /** Reward model the demo trains, announces and the scorer follows. */
    public static final String REWARD_MODEL_NAME = FeedbackStages.REWARD_MODEL_NAME;
    /** The stage whose outputs name the SFT models' base model ({@code base}). */
    public static final String PUBLISH_SFT = "publish-sft";
    /** The stage that runs the SALSA loop; {@link #preparation} is everything before it. */
    public static final String SALSA_LOOP = "salsa-loop";

    /**
     * What the SALSA loop needs before it starts: task, base, SFT models and their soup, the reward model trained
     * from simulated raters, all published on Kafka: the stages of {@link #chain} before the loop (none after it:
     * not the loop, its held-out evaluation or the replay).
     */
    public static List<Stage> preparation(DemoProfile profile) {
        List<Stage> stages = chain(profile);
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).name().equals(SALSA_LOOP)) {
                return List.copyOf(stages.subList(0, i));
            }
        }
        throw new IllegalStateException("the demo chain has no " + SALSA_LOOP + " stage");
    }

    /** The stages of a demo of {@code profile}. */
    public static List<Stage> chain(DemoProfile profile) {
        List<Stage> stages = new ArrayList<>();
        stages.add(new TaskStage());
        stages.add(ModelStages.pretrain());
        for (int k = 1; k <= profile.sftModels(); k++) {
            stages.add(ModelStages.sft(k));
        }
        stages.add(KafkaLoopStages.publishSft());
        stages.add(KafkaLoopStages.soupBuilder());
        FeedbackStages feedback = new FeedbackStages();
        stages.add(feedback.raterPage());
        stages.add(feedback.rollouts());
        stages.add(feedback.preferences());
        stages.add(FeedbackStages.rewardModel());
        stages.add(KafkaLoopStages.salsaLoop());
        stages.add(GoldEval.stage());
        stages.add(KafkaLoopStages.replay());
        return stages;
    }
}
