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
