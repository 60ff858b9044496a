package io.salsa.scorer;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.events.Rollout;
import io.salsa.model.lm.Precision;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Several reward models that score as one: the reward is the mean of the members' scores (an output ensemble,
 * as in Coste et al. 2023, "Reward model ensembles help mitigate overoptimization"). Members trained from one init on
 * the same pairs in different data orders disagree where the pairs say little, and their mean ranks held-out pairs
 * better than the members do on average (the demo's measurements: docs/measurements/demo.md).
 *
 * <p>On disk an ensemble is a folder holding {@value #MANIFEST} — {@code {"members": ["member-1", "member-2"]}} —
 * and one ordinary reward-model folder per member under those names; it is published and fetched as one blob like
 * any model folder. {@link #load} reads either kind of folder, so everything that loads a reward model takes an
 * ensemble too.
 */
public final class RewardModelEnsemble implements RewardScorerModel {

    /** The file that makes a folder an ensemble. */
    public static final String MANIFEST = "ensemble.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MEMBER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final List<RewardScorerModel> members;
    private final String name;
    private final long version;

    /** An ensemble of {@code members} (at least one), which it closes when closed. */
    public RewardModelEnsemble(List<? extends RewardScorerModel> members, String name, long version) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("an ensemble needs at least one member");
        }
        this.members = List.copyOf(members);
        this.name = name;
        this.version = version;
    }

    /**
     * The reward model in {@code dir}: an ensemble when the folder holds {@value #MANIFEST}, else a single model
     * ({@link LmRewardScorerModel#load(Path, String, long, Device, Precision)}).
     *
     * @throws IOException a manifest that cannot be read or names a missing or unsafe member folder (the message
     *                     names the file and the problem)
     */
    public static RewardScorerModel load(Path dir, String name, long version, Device device, Precision precision)
            throws IOException {
        if (!isEnsemble(dir)) {
            return LmRewardScorerModel.load(dir, name, version, device, precision);
        }
        List<RewardScorerModel> loaded = new ArrayList<>();
        try {
            for (Path member : members(dir)) {
                loaded.add(LmRewardScorerModel.load(member, name, version, device, precision));
            }
            return new RewardModelEnsemble(loaded, name, version);
        } catch (IOException | RuntimeException e) {
            loaded.forEach(RewardScorerModel::close);
            throw e;
        }
    }

    /** Whether {@code dir} holds an ensemble rather than one model. */
    public static boolean isEnsemble(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }

    /**
     * The member folders {@code dir}'s manifest names, in its order.
     *
     * @throws IOException an unreadable manifest, no members, a name that is not a plain folder name (no {@code /},
     *                     no {@code ..}), a repeated name, or a member folder that does not exist
     */
    public static List<Path> members(Path dir) throws IOException {
        Path manifest = dir.resolve(MANIFEST);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(manifest, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(manifest + ": not a readable JSON object: " + e.getMessage(), e);
        }
        JsonNode list = root == null ? null : root.get("members");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IOException(manifest + ": needs \"members\": a non-empty list of member folder names");
        }
        List<Path> folders = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (JsonNode m : list) {
            String member = m.isTextual() ? m.asText() : "";
            if (!MEMBER_NAME.matcher(member).matches() || member.contains("..")) {
                throw new IOException(manifest + ": member " + m + " is not a folder name inside the ensemble");
            }
            if (!seen.add(member)) {
                throw new IOException(manifest + ": member \"" + member + "\" is listed twice");
            }
            Path folder = dir.resolve(member);
            if (!Files.isDirectory(folder)) {
                throw new IOException(manifest + ": member folder " + folder + " does not exist");
            }
            folders.add(folder);
        }
        return folders;
    }

    /** Writes {@code dir}'s manifest naming {@code members} (folders inside {@code dir}). */
    public static void writeManifest(Path dir, List<String> members) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode list = root.putArray("members");
        members.forEach(list::add);
        Files.writeString(dir.resolve(MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n",
                StandardCharsets.UTF_8);
    }

    /** The members, in the manifest's order. */
    public List<RewardScorerModel> members() {
        return members;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long version() {
        return version;
    }

    /** The first member's reason, if any member cannot score {@code rollout}. */
    @Override
    public Optional<String> rejectReason(Rollout rollout) {
        for (RewardScorerModel m : members) {
            Optional<String> reason = m.rejectReason(rollout);
            if (reason.isPresent()) {
                return reason;
            }
        }
        return Optional.empty();
    }

    /** The mean of the members' scores, rollout by rollout. */
    @Override
    public float[] score(List<Rollout> batch) {
        return mean(members.stream().map(m -> m.score(batch)).toList(), batch.size());
    }

    /** Element-wise mean of the members' score arrays, each of length {@code n} (summed in double, member order). */
    public static float[] mean(List<float[]> scores, int n) {
        double[] sum = new double[n];
        for (float[] s : scores) {
            if (s.length != n) {
                throw new IllegalArgumentException("a member returned " + s.length + " scores for " + n + " inputs");
            }
            for (int i = 0; i < n; i++) {
                sum[i] += s[i];
            }
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (sum[i] / scores.size());
        }
        return out;
    }

    @Override
    public void close() {
        members.forEach(RewardScorerModel::close);
    }
}
