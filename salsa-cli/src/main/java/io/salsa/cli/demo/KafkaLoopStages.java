package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.generator.BlobWeightFetcher;
import io.salsa.generator.GeneratorApp;
import io.salsa.generator.GeneratorConfig;
import io.salsa.generator.ModelRolloutSampler;
import io.salsa.generator.PromptFile;
import io.salsa.generator.PromptPublisher;
import io.salsa.learner.GroupBatching;
import io.salsa.learner.LearnCommand;
import io.salsa.learner.LearnerConfig;
import io.salsa.learner.LearnerState;
import io.salsa.learner.PpoLearner;
import io.salsa.learner.PpoTrainer;
import io.salsa.learner.Replay;
import io.salsa.learner.ppo.Algorithm;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.io.FileOps;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.Topics;
import io.salsa.scorer.BlobRewardModelLoader;
import io.salsa.scorer.RewardScorerApp;
import io.salsa.scorer.ScorerConfig;
import io.salsa.soup.builder.SftPublisher;
import io.salsa.soup.builder.SoupBuilderApp;
import io.salsa.soup.builder.SoupRecipe;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskPrompt;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's production path over Kafka: SFT models announced on {@code sft-models} → the soup-builder service
 * publishes the soup → rollout generators, the reward scorer and the PPO learner run the SALSA loop, the policy
 * flowing back to the generators through the policy topic → {@code salsa replay} re-trains the run from the
 * retained topics and must reproduce its final checkpoint bit for bit. Every service is the production class,
 * configured as its command would configure it, on its own thread of this process.
 */
final class KafkaLoopStages {

    /** The soup recipe the demo's soup builder keeps current and the learner uses as its reference. */
    static final String RECIPE = "demo";
    /** The learner run id (also the generators' followed run and the learner's consumer group suffix). */
    static final String RUN = "demo";
    /** Responses sampled per prompt by the generators. */
    static final int SAMPLES_PER_PROMPT = 4;
    static final int MAX_NEW_TOKENS = 16;
    /**
     * Sampling temperature of the generators, the raters' (FeedbackStages.RATER_SAMPLE_TEMPERATURE): at 1.0 the
     * small policy's samples are often garbled text the reward model ranks poorly, and the held-out gold fell on
     * every seed; at 0.7 it rose on two of three (docs/measurements/demo.md). The learner corrects for it per
     * rollout (the logits are divided by the rollout's temperature, as TRL does).
     */
    static final double TEMPERATURE = 0.7;
    /** How long a prompt group missing a member may hold up a learner step before it is dropped and counted. */
    static final double GROUP_WAIT_SECONDS = 30;
    /**
     * The scorer serves scores in standard units of its reward model's running distribution ({@code salsa score
     * --normalize}), so β weighs the KL penalty against the same scale whatever the reward model. A raw reward
     * model's scale grows with its training (over-confidence): at a fixed β of 0.4 on raw scores the 3,600-step model
     * lifted the policy's mean raw score by 2.5-3 over 80 steps (900 steps: 1.1-1.4) while held-out gold stayed
     * flat on seeds 3 and 11 (docs/measurements/demo.md).
     */
    static final boolean NORMALIZE_SCORES = true;
    /** The fixed KL coefficient β against the soup, for normalised scores. */
    static final double KL_COEF = 0.1;
    /** Eval-split prompts the learner's held-out gold curve scores at most (the demo's split has fewer). */
    static final int HELDOUT_CURVE_PROMPTS = 256;
    private static final Duration SOUP_TIMEOUT = Duration.ofMinutes(5);
    /** A learner without a step for this long fails the stage with what it waits for, rather than hang. */
    private static final Duration STALL_TIMEOUT = Duration.ofMinutes(5);

    private KafkaLoopStages() {
    }

    /** The SFT model id of SFT model {@code k} on the sft-models topic. */
    static String sftModelId(int k) {
        return "demo-sft-" + k;
    }

    /** {@code salsa sft publish} for each SFT model: upload to the blob store, announce on sft-models. */
    static Stage publishSft() {
        return new ModelStages.Simple("publish-sft", "publish the SFT models: blob store + sft-models topic "
                + "(what `salsa sft publish DIR` does)", ctx -> {
            Map<String, String> o = new LinkedHashMap<>();
            for (int k = 1; k <= ctx.profile().sftModels(); k++) {
                ctx.checkNotStopped();
                SftModelLanded landed = SftPublisher.publish(ctx.kafka(), ctx.store(), ModelStages.sft(ctx, k),
                        sftModelId(k), null, (long) k);
                ctx.out().printf("   published %s (base %s) -> %s%n", landed.getModelId(), landed.getBaseModel(),
                        landed.getBlob().getUri());
                o.put(landed.getModelId(), landed.getBlob().getSha256());
                o.put("base", landed.getBaseModel());
            }
            return o;
        });
    }

    /**
     * Starts the soup-builder service (every run: it is a service) with the demo's recipe, waits until the soup
     * of the K published models is on the soup topic, and keeps a copy of it in {@code models/} for people.
     */
    static Stage soupBuilder() {
        return new Stage() {
            public String name() {
                return "soup-builder";
            }

            public String description() {
                return "start the soup-builder service; it averages the K SFT models and publishes the soup";
            }

            public boolean resumable() {
                return false;
            }

            public Map<String, String> run(DemoContext ctx) throws Exception {
                int k = ctx.profile().sftModels();
                String base = ctx.output("publish-sft", "base");
                SoupRecipe recipe = SoupRecipe.parse("name=" + RECIPE + ",base=" + base + ",k=" + k);
                SoupBuilderApp app = new SoupBuilderApp(ctx.kafka(), List.of(recipe), ctx.store(),
                        ctx.dir().resolve("services").resolve("soup-work"));
                ServiceRunner.Background service = ctx.services().start("soup-builder", app);
                Progress progress = ctx.progress("soup-builder", 1, "soup");
                long deadline = System.nanoTime() + SOUP_TIMEOUT.toNanos();
                SoupManifest soup;
                while ((soup = KafkaLog.latestSoup(ctx.kafka(), RECIPE)) == null || soup.getMembers().size() != k) {
                    service.checkHealthy();
                    ctx.checkNotStopped();
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("no soup of recipe '" + RECIPE + "' with " + k
                                + " members on " + ctx.kafka().topic(Topics.SOUP) + " after "
                                + SOUP_TIMEOUT.toMinutes() + " min; see the soup-builder log and the dead-letter topic");
                    }
                    Thread.sleep(500);
                    progress.update(0);
                }
                progress.update(1);
                progress.finish();
                Path copy = ModelStages.soup(ctx);
                FileOps.deleteTree(copy);
                ctx.store().blobStore().getFolder(URI.create(soup.getBlob().getUri()), soup.getBlob().getSha256(),
                        copy);
                ctx.out().printf("   soup %s version %d of %s -> %s%n", soup.getRecipe(), soup.getVersion(),
                        soup.getMembers().stream().map(m -> m.getModelId()).toList(), soup.getBlob().getUri());
                Map<String, String> o = new LinkedHashMap<>();
                o.put("recipe", soup.getRecipe());
                o.put("version", String.valueOf(soup.getVersion()));
                o.put("members", String.valueOf(soup.getMembers().size()));
                o.put("blob", soup.getBlob().getUri());
                o.put("sha256", soup.getBlob().getSha256());
                o.put("dir", copy.toString());
                return o;
            }
        };
    }

    /**
     * The SALSA loop: training prompts on the prompts topic; generators (following the learner's run), the
     * reward scorer (serving the published reward model) and the learner (soup reference, starting from the soup,
     * a checkpoint every step so the policy flows back to the generators at once) until the profile's steps.
     * Re-running after a stop resumes the learner run from its last checkpoint and manifests.
     */
    static Stage salsaLoop() {
        return new ModelStages.Simple(DemoStages.SALSA_LOOP, "SALSA over Kafka: generators + reward scorer + PPO learner, "
                + "policy checkpoints flowing back to the generators", ctx -> {
            DemoProfile p = ctx.profile();
            long published = publishPrompts(ctx);
            Path services = ctx.dir().resolve("services");
            ModelFolderStore store = ctx.store();
            List<ServiceRunner.Background> running = new ArrayList<>();
            List<GeneratorApp> generators = new ArrayList<>();
            List<String> names = new ArrayList<>();
            try {
                ScorerConfig scorer = new ScorerConfig(ctx.kafka(), ScorerConfig.DEFAULT_APP_ID, "demo-scorer",
                        FeedbackStages.REWARD_MODEL_NAME, null, ScorerConfig.DEFAULT_BATCH_SIZE,
                        Duration.ofMillis(ScorerConfig.DEFAULT_BATCH_WAIT_MS), NORMALIZE_SCORES,
                        ScorerConfig.DEFAULT_NORMALIZE_EPS,
                        1, Duration.ofMillis(ScorerConfig.DEFAULT_COMMIT_MS), services.resolve("scorer-state"),
                        ctx.blobStoreUri(), services.resolve("scorer-models"));
                // --reward oracle: the scorer serves the simulated rater, above every version the catalog
                // announces, so the trained reward model never replaces it
                RewardScorerApp scoring = new RewardScorerApp(scorer, ctx.reward() == DemoReward.ORACLE
                        ? new GoldRewardModel(new SimulatedRater(TaskStage.dataset(p).world())) : null,
                        new BlobRewardModelLoader(store.blobStore(), scorer.modelCache(), Device.cpu()));
                running.add(ctx.services().start("reward-scorer", scoring));
                names.add("reward-scorer");
                for (int g = 1; g <= p.generators(); g++) {
                    GeneratorConfig config = generatorConfig(ctx, g, services.resolve("generator-" + g));
                    GeneratorApp app = new GeneratorApp(ctx.kafka(), config, ModelRolloutSampler.factory(config.precision()),
                            new BlobWeightFetcher(store.blobStore(), config.stateDir().resolve("weights")));
                    String name = "rollout-generator-" + g;
                    running.add(ctx.services().start(name, app));
                    generators.add(app);
                    names.add(name);
                }
                ctx.out().printf("   %d prompts on %s; %d generator(s), reward scorer (%s), learner run '%s'%n",
                        published, ctx.kafka().topic(Topics.PROMPTS), p.generators(), ctx.reward() == DemoReward.ORACLE
                                ? "oracle: the simulated rater" : "the reward model", RUN);
                return learn(ctx, running, scoring, generators);
            } finally {
                // the loop's services stop with it; the rater page and the soup builder stay up
                for (int i = names.size() - 1; i >= 0; i--) {
                    ctx.services().closeOne(names.get(i));
                }
            }
        });
    }

    private static Map<String, String> learn(DemoContext ctx, List<ServiceRunner.Background> running,
            RewardScorerApp scoring, List<GeneratorApp> generators) throws Exception {
        int steps = ctx.profile().ppoSteps();
        LearnerConfig config = learnerConfig(ctx.profile());
        Progress progress = ctx.progress(DemoStages.SALSA_LOOP, steps, "PPO steps");
        PpoLearner learner = ctx.services().push("ppo-learner", PpoLearner.start(config, ctx.kafka(), ctx.store(),
                LearnCommand.trainerFactory(), ctx::stopping));
        try {
            if (learner.metricsPort() > 0) {
                ctx.out().println("   learner metrics (Prometheus): http://127.0.0.1:" + learner.metricsPort()
                        + "/metrics");
            }
            progress.update(learner.state().step());
            while (learner.state().step() < steps) {
                for (ServiceRunner.Background s : running) {
                    s.checkHealthy();
                }
                if (scoring.failed()) {
                    throw new IllegalStateException("reward-scorer stopped (Kafka Streams state " + scoring.state()
                            + ")");
                }
                long stepStarted = System.nanoTime();
                PpoTrainer.Stop why = learner.runUntil(learner.state().step() + 1, () -> ctx.stopping()
                        || System.nanoTime() - stepStarted > STALL_TIMEOUT.toNanos());
                if (why == PpoTrainer.Stop.REQUESTED) {
                    ctx.checkNotStopped();
                    long produced = generators.stream().mapToLong(g -> g.stats().rolloutsSent()).sum();
                    throw new IllegalStateException("no PPO step for " + STALL_TIMEOUT.toMinutes() + " min at step "
                            + learner.state().step() + ": the generators sent " + produced + " rollouts, the scorer "
                            + "scored " + scoring.metrics().scored() + "; see the learner's 'waiting for scored "
                            + "rollouts' lines and the dead-letter topic");
                }
                progress.update(learner.state().step());
                if (why == PpoTrainer.Stop.HALTED_BY_GUARD) {
                    ctx.out().println("   the KL-hack guard halted the run (see the report's guard events)");
                    break;
                }
            }
            progress.finish();
            LearnerState state = learner.state();
            LearnerState.CheckpointRef last = state.checkpoints().get(state.checkpoints().size() - 1);
            long rollouts = generators.stream().mapToLong(g -> g.stats().rolloutsSent()).sum();
            Map<String, String> o = new LinkedHashMap<>();
            o.put("run", RUN);
            o.put("reward", ctx.reward().optionName());
            o.put("steps", String.valueOf(state.step()));
            o.put("policy_version", String.valueOf(last.version()));
            o.put("final_checkpoint_sha256", last.weightsSha256());
            o.put("final_checkpoint", last.blob().getUri());
            o.put("final_checkpoint_blob_sha256", last.blob().getSha256());
            o.put("soup_version", String.valueOf(state.soup().version()));
            o.put("rollouts_generated_this_run", String.valueOf(rollouts));
            o.put("rollouts_scored_this_run", String.valueOf(scoring.metrics().scored()));
            return o;
        } finally {
            ctx.services().closeOne("ppo-learner");
        }
    }

    /** The learner's config for the demo (its settings are the TRL names of the ppo-learner README). */
    static LearnerConfig learnerConfig(DemoProfile p) {
        PpoConfig ppo = PpoConfig.builder()
                .batchSize(p.ppoBatch())
                .miniBatchSize(p.ppoBatch() / 2)
                // at lr 1e-4 (ppo) the policy's entropy doubled within 16 steps and KL reached 5-6; rloo's
                // leave-one-out baseline needs no value head to warm up, and a fixed beta keeps the policy near the
                // soup, since the small reward model is gamed far from it (KL_COEF, on normalised scores)
                .learningRate(2e-5)
                .initKlCoef(KL_COEF)
                .adapKlCtrl(false)
                .algorithm(Algorithm.RLOO)
                // generators aim at staleness <= 1; the learner tolerates 2 (importance-corrected) so that the
                // one-batch overshoot several generators can make is not thrown away
                .maxStaleness(2)
                .build();
        return LearnerConfig.builder(RUN, RECIPE)
                .initFrom("soup")
                .saveSteps(1)
                .maxSteps(p.ppoSteps())
                .seed(p.taskSeed())
                .device(Device.cpu())
                .metricsPort(0)
                // the simulated rater's score of greedy answers to the task's eval prompts (gold, never trained
                // on): a report curve, and the KL-hack guard's check that the proxy reward does not rise while it
                // falls
                .evalSteps(Math.max(1, p.ppoSteps() / 10))
                .heldoutTaskSeed(p.taskSeed())
                .heldoutEntities(p.entities())
                // every eval-split prompt, so the curve ends where the gold-eval stage's eval-split row does (the
                // default, 16, is a noisier curve)
                .heldoutCount(HELDOUT_CURVE_PROMPTS)
                .ppo(ppo)
                .groupBatching(new GroupBatching(true, SAMPLES_PER_PROMPT, GROUP_WAIT_SECONDS))
                .build();
    }

    private static GeneratorConfig generatorConfig(DemoContext ctx, int g, Path stateDir) {
        Map<String, String> env = new HashMap<>();
        env.put("SALSA_GENERATOR_ID", "demo-generator-" + g);
        env.put("SALSA_GENERATOR_STATE_DIR", stateDir.toString());
        env.put("SALSA_GENERATOR_SAMPLES_PER_PROMPT", String.valueOf(SAMPLES_PER_PROMPT));
        env.put("SALSA_GENERATOR_BATCH_SIZE", String.valueOf(ctx.profile().ppoBatch()));
        env.put("SALSA_GENERATOR_MAX_NEW_TOKENS", String.valueOf(MAX_NEW_TOKENS));
        env.put("SALSA_GENERATOR_TEMPERATURE", String.valueOf(TEMPERATURE));
        env.put("SALSA_GENERATOR_SEED", String.valueOf(ctx.profile().taskSeed()));
        env.put("SALSA_GENERATOR_MAX_STALENESS", "1");
        env.put("SALSA_GENERATOR_LEARNER_BATCH_ROLLOUTS", String.valueOf(ctx.profile().ppoBatch()));
        env.put("SALSA_GENERATOR_POLICY_RUN_ID", RUN);
        env.put("SALSA_GENERATOR_INITIAL_WEIGHTS", "soup:" + RECIPE);
        env.put("SALSA_GENERATOR_DEVICE", "cpu");
        return GeneratorConfig.fromEnv(env);
    }

    /**
     * Publishes enough epochs of the training prompts for the profile's steps (four times what the learner
     * needs, as generators run ahead up to the staleness bound and stale rollouts are dropped); on resume, only
     * when the topic is still short of that.
     */
    private static long publishPrompts(DemoContext ctx) throws Exception {
        List<TaskPrompt> train = TaskStage.dataset(ctx.profile()).prompts("train");
        // prompt events are tiny and the staleness gate bounds what is generated, so leave a wide margin
        long needed = 4L * ctx.profile().ppoSteps() * ctx.profile().ppoBatch() / SAMPLES_PER_PROMPT
                + 2L * ctx.profile().generators() * ctx.profile().ppoBatch();
        int epochs = (int) Math.max(1, (needed + train.size() - 1) / train.size());
        long have = KafkaLog.endOffsetSum(ctx.kafka(), ctx.kafka().topic(Topics.PROMPTS));
        if (have >= (long) epochs * train.size()) {
            return have;
        }
        List<PromptFile.Entry> entries = train.stream()
                .map(tp -> new PromptFile.Entry(tp.id(), tp.text(), "train", Map.of())).toList();
        return PromptPublisher.publish(ctx.kafka(), entries, epochs);
    }

    /**
     * {@code salsa replay --run demo}: re-trains the loop's run from its manifests and the retained topics and
     * checks that every checkpoint, the final one included, comes out bit for bit the same.
     */
    static Stage replay() {
        return new ModelStages.Simple("replay", "salsa replay --run " + RUN + ": re-train from the retained topics, "
                + "compare every checkpoint's sha256", ctx -> {
            Replay.Report report = Replay.run(RUN, ctx.kafka(), ctx.store(), LearnCommand.trainerFactory(),
                    Device.cpu());
            Replay.Checkpoint last = report.checkpoints().get(report.checkpoints().size() - 1);
            ctx.out().printf(Locale.ROOT, "   re-trained %d steps; %d checkpoints compared; final v%d %s%n",
                    report.steps(), report.checkpoints().size(), last.version(),
                    last.identical() ? "identical (" + last.actualSha256() + ")" : "DIFFERS");
            if (!report.allIdentical()) {
                List<String> differ = report.checkpoints().stream().filter(c -> !c.identical())
                        .map(c -> "v" + c.version()).toList();
                throw new IllegalStateException("replay did not reproduce checkpoints " + differ);
            }
            String expected = ctx.output(DemoStages.SALSA_LOOP, "final_checkpoint_sha256");
            if (!expected.equals(last.actualSha256())) {
                throw new IllegalStateException("replayed final checkpoint " + last.actualSha256()
                        + " is not the loop's final checkpoint " + expected);
            }
            Map<String, String> o = new LinkedHashMap<>();
            o.put("steps", String.valueOf(report.steps()));
            o.put("checkpoints_identical", report.checkpoints().size() + "/" + report.checkpoints().size());
            o.put("final_checkpoint_sha256", last.actualSha256());
            return o;
        });
    }
}
