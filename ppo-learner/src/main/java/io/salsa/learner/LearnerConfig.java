package io.salsa.learner;

import ai.djl.Device;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Everything a learner run is configured with besides Kafka and the blob store: the run id, which soup recipe is
 * the reference, where the policy starts, how often it checkpoints, the PPO hyper-parameters and the KL-hack
 * guard. Immutable and validated; {@link #toMap()} is what a checkpoint records so a replay reuses it exactly.
 * Code builds one with {@link #builder}; {@link #fromMap} parses the flat settings of the command line and the
 * environment.
 *
 * @param runId learner run id, the key of its manifests, metrics and checkpoints ({@code run_id})
 * @param soupRecipe soup recipe whose current manifest is the KL reference ({@code soup_recipe})
 * @param initFrom {@code soup} (default) or {@code sft:<modelId>} ({@code init_from})
 * @param saveSteps publish a policy checkpoint every this many steps ({@code save_steps})
 * @param maxSteps stop after this many steps, 0 = run until stopped ({@code max_steps})
 * @param seed run seed; step k uses a seed derived from it and k ({@code seed})
 * @param device where the policy trains ({@code device}: {@code cpu}, {@code gpu} (= GPU 0) or {@code gpu<N>})
 * @param metricsPort Prometheus port, 0 = any free port, -1 = off ({@code metrics_port})
 * @param pollTimeoutMs consumer poll timeout ({@code poll_timeout_ms})
 * @param ppo PPO hyper-parameters
 * @param guard KL-hack guard settings
 * @param evalSteps score the policy on held-out prompts every this many steps, 0 = never ({@code eval_steps})
 * @param heldoutTaskSeed seed of the built-in task whose eval split is the held-out set ({@code heldout_task_seed})
 * @param heldoutCount held-out prompts per evaluation ({@code heldout_count})
 * @param heldoutEntities entities of that task's world ({@code heldout_entities}; the task's size setting)
 * @param checkpointRetention which checkpoint blobs to keep ({@code checkpoint_keep_every},
 *     {@code checkpoint_keep_last}; both 0 = all)
 * @param groupBatching whether steps train whole prompt groups ({@code group_batches}, {@code group_size},
 *     {@code group_wait_s})
 */
public record LearnerConfig(String runId, String soupRecipe, String initFrom, int saveSteps, long maxSteps,
        long seed, Device device, int metricsPort, long pollTimeoutMs, PpoConfig ppo, KlHackGuard.Config guard,
        int evalSteps, long heldoutTaskSeed, int heldoutCount, int heldoutEntities,
        CheckpointRetention checkpointRetention, GroupBatching groupBatching) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    public LearnerConfig {
        if (runId == null || !ID.matcher(runId).matches()) {
            throw new IllegalArgumentException("run_id must be 1-100 characters of [A-Za-z0-9._-] (got '" + runId + "')");
        }
        if (soupRecipe == null || !ID.matcher(soupRecipe).matches()) {
            throw new IllegalArgumentException(
                    "soup_recipe must be 1-100 characters of [A-Za-z0-9._-] (got '" + soupRecipe + "')");
        }
        if (initFrom == null || !(initFrom.equals("soup") || (initFrom.startsWith("sft:") && initFrom.length() > 4))) {
            throw new IllegalArgumentException("init_from must be 'soup' or 'sft:<modelId>' (got '" + initFrom + "')");
        }
        if (saveSteps < 1) {
            throw new IllegalArgumentException("save_steps must be >= 1 (got " + saveSteps + ")");
        }
        if (maxSteps < 0) {
            throw new IllegalArgumentException("max_steps must be >= 0, 0 = unlimited (got " + maxSteps + ")");
        }
        if (device == null || !(device.equals(Device.cpu()) || device.isGpu())) {
            throw new IllegalArgumentException("device must be the CPU or a GPU (got " + device + ")");
        }
        if (ppo == null || guard == null || checkpointRetention == null || groupBatching == null) {
            throw new IllegalArgumentException("the PPO, guard, checkpoint retention and group batching settings "
                    + "must be given");
        }
        if (groupBatching.enabled() && ppo.batchSize() % groupBatching.size() != 0) {
            throw new IllegalArgumentException("batch_size (" + ppo.batchSize() + ") must be a multiple of group_size ("
                    + groupBatching.size() + ") when group_batches is on, so a step holds whole prompt groups");
        }
        if (metricsPort < -1 || metricsPort > 65535) {
            throw new IllegalArgumentException("metrics_port must be -1 (off), 0 (any) or a port (got " + metricsPort + ")");
        }
        if (evalSteps < 0) {
            throw new IllegalArgumentException("eval_steps must be >= 0, 0 = off (got " + evalSteps + ")");
        }
        if (heldoutEntities < 1) {
            throw new IllegalArgumentException("heldout_entities must be >= 1 (got " + heldoutEntities + ")");
        }
        if (heldoutCount < 1) {
            throw new IllegalArgumentException("heldout_count must be >= 1 (got " + heldoutCount + ")");
        }
        if (pollTimeoutMs < 1) {
            throw new IllegalArgumentException("poll_timeout_ms must be >= 1 (got " + pollTimeoutMs + ")");
        }
    }

    /** The learner's own keys and their defaults (run_id and soup_recipe have none). */
    private static Map<String, String> learnerDefaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("run_id", "");
        m.put("soup_recipe", "");
        m.put("init_from", "soup");
        m.put("save_steps", "10");
        m.put("max_steps", "0");
        m.put("seed", "42");
        m.put("device", "cpu");
        m.put("metrics_port", "9404");
        m.put("poll_timeout_ms", "200");
        m.put("eval_steps", "0");
        m.put("heldout_task_seed", "42");
        m.put("heldout_count", "16");
        m.put("heldout_entities", Integer.toString(io.salsa.task.TaskConfig.DEFAULT_ENTITIES));
        m.put("checkpoint_keep_every", "0");
        m.put("checkpoint_keep_last", "0");
        m.put("group_batches", ""); // unset: on for the critic-free algorithms, off for ppo
        m.put("group_size", "1");
        m.put("group_wait_s", "30");
        KlHackGuard.Config g = KlHackGuard.Config.defaults();
        m.put("guard_action", g.action().label());
        m.put("guard_warmup_steps", Integer.toString(g.warmupSteps()));
        m.put("guard_length_collapse_ratio", Double.toString(g.lengthCollapseRatio()));
        m.put("guard_negative_kl_tolerance", Double.toString(g.negativeKlTolerance()));
        m.put("guard_divergence_window", Integer.toString(g.divergenceWindow()));
        m.put("guard_raise_beta_factor", Double.toString(g.raiseBetaFactor()));
        return m;
    }

    /**
     * Builds the config from flat settings: the learner keys above plus any {@link PpoConfig} key (TRL names).
     * Unknown keys and unparsable values are errors naming the key.
     */
    public static LearnerConfig fromMap(Map<String, String> settings) {
        Map<String, String> own = learnerDefaults();
        Map<String, String> ppo = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey().trim().toLowerCase(Locale.ROOT);
            if (own.containsKey(key)) {
                own.put(key, e.getValue().trim());
            } else if (PpoConfig.KEYS.contains(key)) {
                ppo.put(key, e.getValue());
            } else {
                throw new IllegalArgumentException("unknown learner setting '" + e.getKey() + "'; learner keys: "
                        + own.keySet() + ", PPO keys: " + PpoConfig.KEYS);
            }
        }
        KlHackGuard.Config guard = new KlHackGuard.Config(
                KlHackGuard.Action.parse(own.get("guard_action")),
                parseInt(own, "guard_warmup_steps"),
                parseDouble(own, "guard_length_collapse_ratio"),
                parseDouble(own, "guard_negative_kl_tolerance"),
                parseInt(own, "guard_divergence_window"),
                parseDouble(own, "guard_raise_beta_factor"));
        PpoConfig ppoConfig = PpoConfig.fromMap(ppo);
        String groupBatches = own.get("group_batches").toLowerCase(Locale.ROOT);
        if (!groupBatches.isEmpty() && !groupBatches.equals("true") && !groupBatches.equals("false")) {
            throw new IllegalArgumentException("group_batches must be true or false (got '" + own.get("group_batches")
                    + "')");
        }
        boolean grouped = groupBatches.isEmpty() ? !ppoConfig.algorithm().usesCritic()
                : Boolean.parseBoolean(groupBatches);
        return new LearnerConfig(own.get("run_id"), own.get("soup_recipe"), own.get("init_from"),
                parseInt(own, "save_steps"), parseLong(own, "max_steps"), parseLong(own, "seed"),
                parseDevice(own.get("device")), parseInt(own, "metrics_port"),
                parseLong(own, "poll_timeout_ms"), ppoConfig, guard, parseInt(own, "eval_steps"),
                parseLong(own, "heldout_task_seed"), parseInt(own, "heldout_count"),
                parseInt(own, "heldout_entities"), new CheckpointRetention(parseInt(own, "checkpoint_keep_every"),
                        parseInt(own, "checkpoint_keep_last")),
                new GroupBatching(grouped, parseInt(own, "group_size"), parseDouble(own, "group_wait_s")));
    }

    /**
     * Settings from the environment: every {@code SALSA_LEARNER_<KEY>} variable (upper case, e.g.
     * {@code SALSA_LEARNER_BATCH_SIZE}) becomes {@code <key>}; {@code overrides} (command-line flags) win.
     */
    public static LearnerConfig fromEnv(Map<String, String> env, Map<String, String> overrides) {
        Map<String, String> settings = new LinkedHashMap<>();
        String prefix = "SALSA_LEARNER_";
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(prefix) && !e.getValue().isBlank()) {
                settings.put(e.getKey().substring(prefix.length()).toLowerCase(Locale.ROOT), e.getValue());
            }
        }
        settings.putAll(overrides);
        return fromMap(settings);
    }

    /** Every setting by key (learner keys, guard keys, then the PPO keys), as recorded in checkpoints. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("run_id", runId);
        m.put("soup_recipe", soupRecipe);
        m.put("init_from", initFrom);
        m.put("save_steps", Integer.toString(saveSteps));
        m.put("max_steps", Long.toString(maxSteps));
        m.put("seed", Long.toString(seed));
        m.put("device", deviceName(device));
        m.put("metrics_port", Integer.toString(metricsPort));
        m.put("poll_timeout_ms", Long.toString(pollTimeoutMs));
        m.put("eval_steps", Integer.toString(evalSteps));
        m.put("heldout_task_seed", Long.toString(heldoutTaskSeed));
        m.put("heldout_count", Integer.toString(heldoutCount));
        m.put("heldout_entities", Integer.toString(heldoutEntities));
        m.put("checkpoint_keep_every", Integer.toString(checkpointRetention.keepEvery()));
        m.put("checkpoint_keep_last", Integer.toString(checkpointRetention.keepLast()));
        m.put("group_batches", Boolean.toString(groupBatching.enabled()));
        m.put("group_size", Integer.toString(groupBatching.size()));
        m.put("group_wait_s", Double.toString(groupBatching.waitSeconds()));
        m.put("guard_action", guard.action().label());
        m.put("guard_warmup_steps", Integer.toString(guard.warmupSteps()));
        m.put("guard_length_collapse_ratio", Double.toString(guard.lengthCollapseRatio()));
        m.put("guard_negative_kl_tolerance", Double.toString(guard.negativeKlTolerance()));
        m.put("guard_divergence_window", Integer.toString(guard.divergenceWindow()));
        m.put("guard_raise_beta_factor", Double.toString(guard.raiseBetaFactor()));
        m.putAll(ppo.toMap());
        return m;
    }

    /** The seed of step {@code step}: a SplitMix64 mix of the run seed and the step, so steps are independent. */
    public long stepSeed(long step) {
        long z = seed + step * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * {@code cpu}, {@code gpu} (GPU 0) or {@code gpu<N>} (DJL's name of GPU N) as a device; unlike
     * {@code Devices.parse} it does not ask PyTorch whether the GPU exists, so a recorded config parses anywhere.
     */
    public static Device parseDevice(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        if (n.equals("gpu")) {
            return Device.gpu();
        }
        if (n.matches("gpu[0-9]{1,4}")) {
            return Device.gpu(Integer.parseInt(n.substring(3)));
        }
        throw new IllegalArgumentException("device must be cpu, gpu or gpu<N> (got '" + name + "')");
    }

    /**
     * Whether the LoRA base is the SFT model {@code init_from} names rather than the soup: in LoRA mode the base is
     * what the policy starts from and also the KL reference (adapter off), so with {@code init_from=sft:<id>} that
     * SFT model is both, for the whole run, and soup updates do not reach the trainer.
     */
    public boolean loraBaseIsSft() {
        return ppo.lora().enabled() && initFrom.startsWith("sft:");
    }

    /**
     * The setting's text for {@code device}: {@code cpu}, {@code gpu} for GPU 0 (as runs have always recorded it),
     * else {@code gpu<N>}.
     */
    public static String deviceName(Device device) {
        if (!device.isGpu()) {
            return "cpu";
        }
        return device.getDeviceId() == 0 ? "gpu" : "gpu" + device.getDeviceId();
    }

    /** A builder with the defaults of {@link #fromMap} for run {@code runId} against soup recipe {@code soupRecipe}. */
    public static Builder builder(String runId, String soupRecipe) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("run_id", runId);
        m.put("soup_recipe", soupRecipe);
        return fromMap(m).toBuilder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Sets a config's fields in code, typed; {@link #build()} validates as the constructor does. */
    public static final class Builder {
        private String runId;
        private String soupRecipe;
        private String initFrom;
        private int saveSteps;
        private long maxSteps;
        private long seed;
        private Device device;
        private int metricsPort;
        private long pollTimeoutMs;
        private PpoConfig ppo;
        private KlHackGuard.Config guard;
        private int evalSteps;
        private long heldoutTaskSeed;
        private int heldoutCount;
        private int heldoutEntities;
        private CheckpointRetention checkpointRetention;
        private GroupBatching groupBatching;

        private Builder(LearnerConfig c) {
            runId = c.runId;
            soupRecipe = c.soupRecipe;
            initFrom = c.initFrom;
            saveSteps = c.saveSteps;
            maxSteps = c.maxSteps;
            seed = c.seed;
            device = c.device;
            metricsPort = c.metricsPort;
            pollTimeoutMs = c.pollTimeoutMs;
            ppo = c.ppo;
            guard = c.guard;
            evalSteps = c.evalSteps;
            heldoutTaskSeed = c.heldoutTaskSeed;
            heldoutCount = c.heldoutCount;
            heldoutEntities = c.heldoutEntities;
            checkpointRetention = c.checkpointRetention;
            groupBatching = c.groupBatching;
        }

        public Builder initFrom(String value) {
            initFrom = value;
            return this;
        }

        public Builder saveSteps(int value) {
            saveSteps = value;
            return this;
        }

        public Builder maxSteps(long value) {
            maxSteps = value;
            return this;
        }

        public Builder seed(long value) {
            seed = value;
            return this;
        }

        public Builder device(Device value) {
            device = value;
            return this;
        }

        public Builder metricsPort(int value) {
            metricsPort = value;
            return this;
        }

        public Builder pollTimeoutMs(long value) {
            pollTimeoutMs = value;
            return this;
        }

        public Builder ppo(PpoConfig value) {
            ppo = value;
            return this;
        }

        public Builder guard(KlHackGuard.Config value) {
            guard = value;
            return this;
        }

        public Builder evalSteps(int value) {
            evalSteps = value;
            return this;
        }

        public Builder heldoutTaskSeed(long value) {
            heldoutTaskSeed = value;
            return this;
        }

        public Builder heldoutCount(int value) {
            heldoutCount = value;
            return this;
        }

        public Builder heldoutEntities(int value) {
            heldoutEntities = value;
            return this;
        }

        public Builder checkpointRetention(CheckpointRetention value) {
            checkpointRetention = value;
            return this;
        }

        public Builder groupBatching(GroupBatching value) {
            groupBatching = value;
            return this;
        }

        public LearnerConfig build() {
            return new LearnerConfig(runId, soupRecipe, initFrom, saveSteps, maxSteps, seed, device, metricsPort,
                    pollTimeoutMs, ppo, guard, evalSteps, heldoutTaskSeed, heldoutCount, heldoutEntities,
                    checkpointRetention, groupBatching);
        }
    }

    private static int parseInt(Map<String, String> m, String key) {
        try {
            return Integer.parseInt(m.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": cannot parse '" + m.get(key) + "' as an integer");
        }
    }

    private static long parseLong(Map<String, String> m, String key) {
        try {
            return Long.parseLong(m.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": cannot parse '" + m.get(key) + "' as an integer");
        }
    }

    private static double parseDouble(Map<String, String> m, String key) {
        try {
            return Double.parseDouble(m.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": cannot parse '" + m.get(key) + "' as a number");
        }
    }
}
