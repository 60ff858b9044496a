package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.ingest.IngestApp;
import io.salsa.ingest.IngestConfig;
import io.salsa.ingest.IngestKafka;
import io.salsa.ingest.Raters;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.Devices;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.io.FileOps;
import io.salsa.schemas.AvroArrays;
import io.salsa.schemas.Topics;
import io.salsa.scorer.rm.PreferenceData;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.scorer.rm.RewardModelCatalog;
import io.salsa.scorer.rm.RewardModelTrainer;
import io.salsa.scorer.rm.RmTrainConfig;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The demo's human-feedback stages: the rater page (feedback-ingest, kept open for people), responses of the SFT
 * models to compare, simulated raters answering through the HTTP API, and the reward model trained from the
 * feedback topic and announced on the reward-models topic. One instance per demo run: it holds the simulated
 * raters' tokens, which are made fresh each run and never written down.
 */
final class FeedbackStages {

    static final String REWARD_MODEL_NAME = "demo-rm";
    private static final int SIMULATED_RATERS = 2;
    private static final int SAMPLES_PER_MODEL = 2;
    private static final int MAX_NEW_TOKENS = 24;
    /**
     * Sampling temperature of the responses the raters compare: at 1.0 the 4-epoch SFT models write many garbled
     * answers, and the raters' pairs between two of them turn on the judge's fine print (unknown-word share, name
     * bonus); at 0.7 more pairs turn on the answer (reward-model accuracy +0.08 / +0.01 / +0.10 on seeds 7 / 11 / 3,
     * docs/measurements/demo.md).
     */
    static final double RATER_SAMPLE_TEMPERATURE = KafkaLoopStages.TEMPERATURE;
    /** The reward trainer's largest epoch count: with it, the profile's step count alone ends training. */
    private static final int RM_MAX_EPOCHS = 1000;
    /**
     * Reward models in the demo's ensemble ({@link io.salsa.scorer.RewardModelEnsemble}: the scorer serves the mean
     * of their scores), trained one after the other in different data orders. One model's held-out accuracy moves by
     * ±0.05 from one data order to the next (0.68–0.84 on seed 3); over 26 pairs of seed 3, 5 and 11 models the mean
     * of two ranked the common held-out pairs +0.016 better than its members' average (−0.008 to +0.047), the mean
     * of five or six +0.05 to +0.06 (docs/measurements/demo.md). Two, because each costs the stage ~2 min.
     */
    static final int RM_MEMBERS = 2;
    /** PyTorch threads the reward-model stage takes at most (fewer on a smaller machine, more if --threads says so). */
    private static final int RM_MAX_THREADS = 4;
    /** The SFT model the reward model starts from (given a fresh score head). */
    private static final int RM_INIT_SFT = 1;
    /** Peak learning rate of the reward model (the trainer's default 1e-4 leaves it under-fit on the world's facts). */
    static final double RM_LR = 3e-4;
    /**
     * {@link QuestionPairs} per training prompt: off-topic answers (all of a kind's other attributes), wrong values of
     * the asked attribute (all of them), 3 other entities' answers, 3 wrong values also below an off-topic answer.
     * The last two kinds teach what the raters' held-out pairs between two non-answers turn on (naming the asked
     * entity, no fact rather than a wrong one): the ensemble's accuracy on seeds 23 / 29 went 0.658 → 0.825 and
     * 0.734 → 0.727, on the pairs between two non-answers that name the asked entity or not 0.44 → 1.00 and
     * 0.72 → 0.80 (docs/measurements/demo.md).
     */
    static final QuestionPairs.Mix QUESTION_MIX = new QuestionPairs.Mix(8, 9, 3, 3);

    private final Map<String, String> simulatedTokens = new LinkedHashMap<>();
    private volatile URI raterPage;

    FeedbackStages() {
        SecureRandom random = new SecureRandom();
        for (int i = 1; i <= SIMULATED_RATERS; i++) {
            byte[] token = new byte[16];
            random.nextBytes(token);
            simulatedTokens.put("simulated-" + i, HexFormat.of().formatHex(token));
        }
    }

    /** Starts feedback-ingest (every run: it is a service) and prints the rater page's URL and a person's token. */
    Stage raterPage() {
        return new Stage() {
            public String name() {
                return "rater-page";
            }

            public String description() {
                return "start feedback-ingest: the raters' HTTP API and web page";
            }

            public boolean resumable() {
                return false;
            }

            public Map<String, String> run(DemoContext ctx) throws Exception {
                String personToken = personToken(ctx.dir().resolve("stages").resolve("rater-token.txt"));
                StringBuilder raters = new StringBuilder("you:").append(Raters.sha256Hex(personToken));
                simulatedTokens.forEach((id, t) -> raters.append(',').append(id).append(':')
                        .append(Raters.sha256Hex(t)));
                Map<String, String> env = Map.of(IngestConfig.PORT, "0", IngestConfig.RATERS, raters.toString(),
                        IngestConfig.RATE_PER_SECOND, "500", IngestConfig.RATE_BURST, "500");
                IngestApp app = IngestApp.start(IngestConfig.fromEnv(env), new IngestKafka(ctx.kafka()));
                ctx.services().start("feedback-ingest", app);
                raterPage = URI.create("http://127.0.0.1:" + app.port() + "/");
                ctx.out().println("   Rater page: " + raterPage + "   (your token: " + personToken
                        + " — stays open while the demo runs)");
                return Map.of("url", raterPage.toString());
            }
        };
    }

    /** Samples responses of every SFT model to training prompts and publishes them as rollouts to compare. */
    Stage rollouts() {
        return new ModelStages.Simple("sft-rollouts", "sample responses of the SFT models to training prompts "
                + "-> rollouts topic (what raters compare)", ctx -> {
            DemoProfile p = ctx.profile();
            List<TaskPrompt> chosen = ratedPrompts(p);
            int needed = chosen.size();
            String topic = ctx.kafka().topic(Topics.ROLLOUTS);
            Progress progress = ctx.progress("sft-rollouts", (long) needed * p.sftModels() * SAMPLES_PER_MODEL,
                    "responses");
            long sent = 0;
            try (SalsaTokenizer tok = SalsaTokenizer.load(TaskStage.dir(ctx).resolve(SalsaTokenizer.TOKENIZER_JSON));
                 KafkaProducer<String, Rollout> producer = new KafkaProducer<>(ctx.kafka().producerProps(),
                         ctx.kafka().keySerde().serializer(), ctx.kafka().valueSerde(Topics.ROLLOUTS).serializer())) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int k = 1; k <= p.sftModels(); k++) {
                    try (CausalLm model = CausalLms.load(ModelStages.sft(ctx, k), GptModel.Head.NONE, Device.cpu())) {
                        Generator generator = new Generator(model);
                        for (int s = 0; s < SAMPLES_PER_MODEL; s++) {
                            ctx.checkNotStopped();
                            List<int[]> ids = chosen.stream().map(tp -> tok.encode(tp.text())).toList();
                            long[] seeds = new long[ids.size()];
                            for (int i = 0; i < seeds.length; i++) {
                                seeds[i] = 1_000_003L * k + 10_007L * s + i;
                            }
                            long t0 = System.currentTimeMillis();
                            List<Generation> gens = generator.generate(ids, SamplingConfig.sampling(MAX_NEW_TOKENS)
                                    .withTemperature(RATER_SAMPLE_TEMPERATURE), seeds);
                            long ms = System.currentTimeMillis() - t0;
                            for (int i = 0; i < gens.size(); i++) {
                                Generation g = gens.get(i);
                                TaskPrompt tp = chosen.get(i);
                                Rollout r = Rollout.newBuilder().setRolloutId("sft-" + k + "/" + tp.id() + "/" + s)
                                        .setPromptId(tp.id()).setPromptTokenIds(AvroArrays.ints(ids.get(i)))
                                        .setResponseTokenIds(AvroArrays.ints(g.tokens())).setBehaviourLogProbs(AvroArrays.floats(g.logProbs()))
                                        .setStoppedAtEos(g.stoppedAtEos()).setPolicyRunId("sft-" + k)
                                        .setPolicyVersion(0).setGeneratorId("demo-sft-sampler").setSampleIndex(s)
                                        .setSeed(seeds[i]).setTemperature((float) RATER_SAMPLE_TEMPERATURE).setTopK(0).setTopP(1f)
                                        .setPromptText(tp.text()).setResponseText(tok.decode(g.tokens(), true))
                                        .setGenerationMs(ms / gens.size()).setCreatedAtMs(System.currentTimeMillis())
                                        .build();
                                acks.add(producer.send(new ProducerRecord<>(topic, tp.id(), r)));
                                sent++;
                            }
                            progress.update(sent);
                        }
                    }
                }
                for (Future<RecordMetadata> ack : acks) {
                    ack.get(60, TimeUnit.SECONDS); // durable before the stage counts as done
                }
            }
            progress.finish();
            return Map.of("rollouts", String.valueOf(sent), "prompts", String.valueOf(needed));
        });
    }

    /**
     * The training prompts whose SFT responses the raters compare: enough for the profile's preferences at
     * {@code pairs(K × samples)} comparisons per prompt, plus two.
     */
    static List<TaskPrompt> ratedPrompts(DemoProfile p) {
        List<TaskPrompt> prompts = TaskStage.dataset(p).prompts("train");
        int pairsPerPrompt = pairs(p.sftModels() * SAMPLES_PER_MODEL);
        int needed = Math.min(prompts.size(), (p.preferences() + pairsPerPrompt - 1) / pairsPerPrompt + 2);
        return prompts.subList(0, needed);
    }

    /** Simulated raters answer comparisons through the HTTP API until the profile's number of preferences. */
    Stage preferences() {
        return new ModelStages.Simple("preferences", "simulated raters submit preferences through the HTTP API "
                + "-> feedback topic", ctx -> {
            if (raterPage == null) {
                throw new IllegalStateException("the rater page is not running");
            }
            SimulatedRater judge = new SimulatedRater(TaskStage.dataset(ctx.profile()).world());
            int perRater = (ctx.profile().preferences() + SIMULATED_RATERS - 1) / SIMULATED_RATERS;
            List<SimulatedRaterClient> clients = new ArrayList<>();
            simulatedTokens.forEach((id, token) -> clients.add(new SimulatedRaterClient(raterPage, id, token, judge)));
            Progress progress = ctx.progress("preferences", (long) perRater * clients.size(), "preferences");
            List<Thread> threads = new ArrayList<>();
            List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (SimulatedRaterClient c : clients) {
                Thread t = new Thread(() -> {
                    try {
                        c.run(() -> c.submitted() >= perRater || ctx.stopping());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (Exception e) {
                        failures.add(e);
                    }
                }, "simulated-rater");
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
            try {
                while (threads.stream().anyMatch(Thread::isAlive)) {
                    Thread.sleep(250);
                    progress.update(clients.stream().mapToLong(SimulatedRaterClient::submitted).sum());
                    if (!failures.isEmpty()) {
                        throw failures.get(0);
                    }
                }
            } finally {
                threads.forEach(Thread::interrupt);
            }
            ctx.checkNotStopped();
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
            progress.finish();
            long total = clients.stream().mapToLong(SimulatedRaterClient::submitted).sum();
            long ties = clients.stream().mapToLong(SimulatedRaterClient::ties).sum();
            return Map.of("preferences", String.valueOf(total), "ties", String.valueOf(ties));
        });
    }

    /** Trains the reward model from the feedback topic and announces it on the reward-models topic. */
    static Stage rewardModel() {
        return new ModelStages.Simple("reward-model", "train the reward model from the feedback topic "
                + "-> reward-models topic", ctx -> {
            Path out = ModelStages.models(ctx).resolve("reward-model");
            FileOps.deleteTree(out);
            RmTrainConfig cfg = rewardModelConfig(ctx.profile());
            PreferenceData.Loaded loaded;
            RewardModelTrainer.Split split;
            int questionPairs;
            try (SalsaTokenizer tok = SalsaTokenizer.load(TaskStage.dir(ctx).resolve(SalsaTokenizer.TOKENIZER_JSON))) {
                loaded = PreferenceData.readTopic(ctx.kafka(), tok, Duration.ofSeconds(60));
                if (loaded.pairs().isEmpty()) {
                    throw new IllegalStateException("the feedback topic has no pairwise preferences to train on");
                }
                // held out from the prompts the raters were asked about (a pair's group is its prompt text), not from
                // the ones that got pairs: which few pairs two raters leave unrated differs run to run, and must not
                // move the whole split
                List<String> asked = ratedPrompts(ctx.profile()).stream().map(TaskPrompt::text).toList();
                RewardModelTrainer.Split rated = RewardModelTrainer.split(canonicalOrder(loaded.pairs()), asked,
                        cfg.heldOutFraction(), cfg.seed());
                List<PreferencePair> derived = new ArrayList<>(ModelRecipes.taskPreferences(TaskStage.dir(ctx), tok));
                TaskDataset task = TaskStage.dataset(ctx.profile());
                List<PreferencePair> question = QuestionPairs.build(task.prompts("train"), task.world(), tok,
                        heldOutPrompts(rated), QUESTION_MIX, cfg.seed());
                questionPairs = question.size();
                derived.addAll(question);
                split = withOfflinePairs(rated, derived);
            }
            // from an SFT model, not the base: it already answers the task's questions, so its features tell a
            // right answer from a wrong one (held-out accuracy +0.05 to +0.07 over the base on the demo's pairs);
            // every member from the same one (members from SFT 1 and SFT 2 measured no better, seed 3)
            List<Path> inits = java.util.Collections.nCopies(RM_MEMBERS, ModelStages.sft(ctx, RM_INIT_SFT));
            // nothing else computes during this stage (the broker and the rater page idle), so it takes the cores:
            // 2 threads trained 1.6× faster than 1 on a 2-core machine; beyond RM_MAX_THREADS they would only spin
            // on these small matrices (not measured here)
            int threads = Devices.threads();
            Devices.setThreads(Math.max(threads, Math.min(RM_MAX_THREADS, Runtime.getRuntime().availableProcessors())));
            ModelRecipes.EnsembleResult ensemble;
            try {
                ensemble = ModelRecipes.rewardModelEnsemble(split, inits, out, cfg, Device.cpu(),
                        line -> ctx.out().println("   " + line));
            } finally {
                Devices.setThreads(threads);
            }
            RewardModelTrainer.Result r = ensemble.combined();
            long version = RewardModelCatalog.latestVersion(ctx.kafka(), REWARD_MODEL_NAME, Duration.ofSeconds(60))
                    .orElse(0) + 1;
            RewardModelCheckpoint checkpoint = RewardModelCatalog.uploadAndPublish(ctx.kafka(), ctx.store().blobStore(),
                    out, REWARD_MODEL_NAME, version, "sft-" + RM_INIT_SFT, r, cfg.seed());
            String sha = checkpoint.getBlob().getSha256();
            ctx.out().printf("   published reward model %s v%d -> %s%n", REWARD_MODEL_NAME, version,
                    checkpoint.getBlob().getUri());
            Map<String, String> o = new LinkedHashMap<>();
            o.put("dir", out.toString());
            o.put("sha256", sha);
            o.put("train_pairs", String.valueOf(r.trainPairs()));
            o.put("rated_pairs", String.valueOf(loaded.pairs().size()));
            o.put("question_pairs", String.valueOf(questionPairs));
            o.put("held_out_pairs", String.valueOf(split.heldOut().size()));
            o.put("skipped_records", String.valueOf(loaded.skipped()));
            o.put("members", String.valueOf(RM_MEMBERS));
            o.put("member_accuracy", ensemble.members().stream()
                    .map(m -> String.format(Locale.ROOT, "%.3f", m.after().accuracy()))
                    .collect(java.util.stream.Collectors.joining(" ")));
            o.put("held_out_accuracy", String.format(Locale.ROOT, "%.3f -> %.3f", r.before().accuracy(),
                    r.after().accuracy()));
            o.put("rm_accuracy", String.format(Locale.ROOT, "%.6f", r.after().accuracy()));
            return o;
        });
    }

    /**
     * The reward-model training of {@code profile}: exactly its {@code rewardSteps} optimizer steps, whatever the
     * number of pairs (the epochs only bound how often the pairs are revisited, so they never stop it earlier).
     */
    static RmTrainConfig rewardModelConfig(DemoProfile profile) {
        RmTrainConfig defaults = RmTrainConfig.defaults(profile.taskSeed());
        return defaults.withSteps(RM_MAX_EPOCHS, profile.rewardSteps()).withLr(RM_LR, defaults.batchSize());
    }

    /**
     * The raters' pairs in an order that does not depend on when each rater answered: two simulated raters work the
     * page at once, so the feedback topic's order (which would be the reward model's data order) differs from run to
     * run. Sorted by prompt, then the chosen and the rejected token ids, the training sees the same sequence
     * whenever the same pairs were rated (a tie's two sides are in token order whichever the page showed first,
     * {@link PreferencePair}; before, the ties — a quarter of the pairs — sorted differently in every run).
     */
    static List<PreferencePair> canonicalOrder(List<PreferencePair> pairs) {
        List<PreferencePair> sorted = new ArrayList<>(pairs);
        sorted.sort(Comparator.comparing(PreferencePair::group)
                .thenComparing(PreferencePair::chosen, Arrays::compare)
                .thenComparing(PreferencePair::rejected, Arrays::compare)
                .thenComparing(PreferencePair::tie));
        return sorted;
    }

    /** The prompts of the raters' held-out pairs: nothing derived from them is trained on. */
    static Set<String> heldOutPrompts(RewardModelTrainer.Split rated) {
        Set<String> heldOut = new HashSet<>();
        rated.heldOut().forEach(p -> heldOut.add(p.group()));
        return heldOut;
    }

    /**
     * The raters' pairs split by prompt, with the task's offline simulated-rater pairs (its written answer styles:
     * concise, wrong, hedging, repetitive, nonsense, ...) added to the training side only: they show the reward
     * model the failure modes SFT samples rarely contrast, and the held-out accuracy stays a measure on the raters'
     * pairs alone. An offline pair on a held-out prompt is left out, so no held-out prompt is trained on.
     */
    static RewardModelTrainer.Split withOfflinePairs(RewardModelTrainer.Split rated, List<PreferencePair> offline) {
        Set<String> heldOut = new HashSet<>();
        rated.heldOut().forEach(p -> heldOut.add(p.group()));
        List<PreferencePair> train = new ArrayList<>(rated.train());
        offline.stream().filter(p -> !heldOut.contains(p.group())).forEach(train::add);
        return new RewardModelTrainer.Split(train, rated.heldOut());
    }

    /** The person's token, made once and kept in the data folder so it survives restarts. */
    private static String personToken(Path file) throws IOException {
        if (Files.isRegularFile(file)) {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        }
        byte[] token = new byte[12];
        new SecureRandom().nextBytes(token);
        String t = HexFormat.of().formatHex(token);
        Files.createDirectories(file.getParent());
        Files.writeString(file, t + "\n", StandardCharsets.UTF_8);
        return t;
    }

    private static int pairs(int responses) {
        return responses * (responses - 1) / 2;
    }


}
