package io.salsa.soup.builder;

import io.salsa.events.BlobRef;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.model.safetensors.SafeTensorsException;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.soup.SoupException;
import io.salsa.model.soup.Soups;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The soup builder's decisions, free of Kafka: it tracks the SFT models that landed, and for every recipe whose
 * member set changed it builds the soup with {@link Soups#build}, stores it, and returns the next manifest. The
 * same member set again is a no-op; a member whose blob fails its checksum or whose tensors do not fit the others
 * is refused (and stays refused) while the recipe's last good soup stays in force.
 *
 * <p>Members are either all full models ({@link Soups#build}) or all LoRA adapters of one base
 * ({@link LoraSoups#build}: each ΔW merged into the base, the merged weights averaged; the soup is a full model like
 * any other). A member set that mixes the two kinds, or adapters whose bases' weights hashes differ, is refused
 * (the newest member is blamed), as is an adapter announced without its base.
 */
public final class SoupBuilder {

    /** What handling one landed model led to. */
    public sealed interface Outcome permits Published, Unchanged, Refused {}

    /** A new soup version to publish. */
    public record Published(SoupManifest manifest) implements Outcome {}

    /** Nothing to do for this recipe (member set unchanged or not complete yet). */
    public record Unchanged(String recipe, String why) implements Outcome {}

    /** A member was refused; the recipe keeps its last good soup. */
    public record Refused(String recipe, String modelId, Exception error) implements Outcome {}

    private final List<SoupRecipe> recipes;
    private final ModelFolderStore store;
    private final Path workDir;
    private final Map<String, SftModelLanded> known = new LinkedHashMap<>();
    private final Set<String> refused = new HashSet<>();
    private final Map<String, SoupManifest> current = new HashMap<>();

    public SoupBuilder(List<SoupRecipe> recipes, ModelFolderStore store, Path workDir) {
        this.recipes = List.copyOf(recipes);
        this.store = store;
        this.workDir = workDir;
    }

    /** Remembers the soup a recipe already has (read back from the compacted soup topic at start). */
    public void restoreCurrent(SoupManifest manifest) {
        SoupManifest old = current.get(manifest.getRecipe());
        if (old == null || manifest.getVersion() > old.getVersion()) {
            current.put(manifest.getRecipe(), manifest);
        }
    }

    /** The soup in force for a recipe, or null. */
    public SoupManifest current(String recipe) {
        return current.get(recipe);
    }

    /**
     * Learns about a model without building anything: a restart preloads every model already on the topic, then
     * calls {@link #evaluateAll()} once, so old intermediate member sets are never rebuilt.
     */
    public void preload(SftModelLanded model) {
        if (!refused.contains(model.getModelId())) {
            known.put(model.getModelId(), model);
        }
    }

    /** Brings every recipe up to date with the models known now. */
    public List<Outcome> evaluateAll() throws IOException {
        List<Outcome> outcomes = new ArrayList<>();
        for (SoupRecipe recipe : recipes) {
            outcomes.add(rebuild(recipe, null));
        }
        return outcomes;
    }

    /** Handles one landed model: returns one outcome per recipe of its base model. */
    public List<Outcome> onModelLanded(SftModelLanded model) throws IOException {
        preload(model);
        List<Outcome> outcomes = new ArrayList<>();
        for (SoupRecipe recipe : recipes) {
            if (recipe.baseModel().equals(model.getBaseModel())) {
                outcomes.add(rebuild(recipe, model.getModelId()));
            }
        }
        return outcomes;
    }

    private Outcome rebuild(SoupRecipe recipe, String trigger) throws IOException {
        List<SftModelLanded> chosen = recipe.select(known);
        if (chosen.isEmpty()) {
            return new Unchanged(recipe.name(), "waiting for members (" + known.size() + " models known)");
        }
        Map<String, Double> weights = recipe.normalisedWeights(chosen);
        SoupManifest last = current.get(recipe.name());
        if (last != null && sameMembers(last, chosen, weights)) {
            return new Unchanged(recipe.name(), "member set unchanged (version " + last.getVersion() + ")");
        }
        String culprit = trigger != null ? trigger : chosen.stream()
                .max(Comparator.comparingLong(SftModelLanded::getLandedAtMs)).orElseThrow().getModelId();
        for (SftModelLanded m : chosen) {
            if (m.getKind() == SftModelKind.LORA_ADAPTER && (m.getBase() == null || m.getBaseWeightsSha256() == null)) {
                return refuse(recipe, m.getModelId(), new SoupException("LoRA adapter " + m.getModelId() + " was "
                        + "announced without its base (base or baseWeightsSha256 is null): publish it again with "
                        + "`salsa sft publish`"));
            }
        }
        String mismatch = kindMismatch(chosen);
        if (mismatch != null) {
            return refuse(recipe, culprit, new SoupException("recipe " + recipe.name() + ": " + mismatch));
        }
        boolean lora = chosen.get(0).getKind() == SftModelKind.LORA_ADAPTER;
        List<Soups.Member> members = new ArrayList<>();
        Path baseDir = null;
        for (SftModelLanded m : chosen) {
            try {
                members.add(new Soups.Member(store.fetchFolder(m.getBlob()), weights.get(m.getModelId())));
                if (lora) {
                    Path b = store.fetchFolder(m.getBase()); // verified per member; one cached copy when shared
                    baseDir = baseDir == null ? b : baseDir;
                }
            } catch (IOException e) {
                return refuse(recipe, m.getModelId(), e);
            }
        }
        Path out = Files.createTempDirectory(Files.createDirectories(workDir), recipe.name() + "-");
        Path soupDir = out.resolve("soup");
        try {
            if (lora) {
                LoraSoups.build(baseDir, members.stream().map(Soups.Member::dir).toList(), recipe.weights().isEmpty()
                        ? null : members.stream().map(Soups.Member::weight).toList(), soupDir);
            } else {
                Soups.build(members, soupDir);
            }
            long version = last == null ? 1 : last.getVersion() + 1;
            BlobRef blob = store.putFolder(soupDir, "soups/" + recipe.name() + "/v" + version);
            List<SoupMember> soupMembers = new ArrayList<>();
            for (SftModelLanded m : chosen) {
                soupMembers.add(new SoupMember(m.getModelId(), m.getBlob(), weights.get(m.getModelId())));
            }
            SoupManifest manifest = new SoupManifest(recipe.name(), version,
                    recipe.baseModel(), recipe.method(), soupMembers, blob, System.currentTimeMillis());
            current.put(recipe.name(), manifest);
            return new Published(manifest);
        } catch (SoupException | SafeTensorsException | NoSuchFileException | IllegalArgumentException e) {
            // the members do not fit together (or an adapter folder is unreadable): blame the model whose arrival
            // changed the set (the newest one when evaluating after a restart)
            return refuse(recipe, culprit, e);
        } finally {
            FileOps.deleteTree(out);
        }
    }

    /**
     * Why {@code chosen} cannot make one soup, or null: full models and LoRA adapters mixed, or adapters of bases
     * with different weights hashes (naming the members and hashes). Adapters must carry their base hash.
     */
    static String kindMismatch(List<SftModelLanded> chosen) {
        List<String> full = new ArrayList<>();
        List<String> adapters = new ArrayList<>();
        SftModelLanded first = null;
        for (SftModelLanded m : chosen) {
            if (m.getKind() != SftModelKind.LORA_ADAPTER) {
                full.add(m.getModelId());
                continue;
            }
            adapters.add(m.getModelId());
            if (first == null) {
                first = m;
            } else if (!first.getBaseWeightsSha256().equals(m.getBaseWeightsSha256())) {
                return "LoRA members have different bases: " + first.getModelId() + " was trained on base weights "
                        + "sha256 " + first.getBaseWeightsSha256() + ", " + m.getModelId() + " on "
                        + m.getBaseWeightsSha256();
            }
        }
        if (!full.isEmpty() && !adapters.isEmpty()) {
            return "members mix LoRA adapters " + adapters + " and full models " + full + "; a soup's members are all "
                    + "full models or all adapters of one base";
        }
        return null;
    }

    private Outcome refuse(SoupRecipe recipe, String modelId, Exception error) {
        refused.add(modelId);
        known.remove(modelId);
        return new Refused(recipe.name(), modelId, error);
    }

    private static boolean sameMembers(SoupManifest last, List<SftModelLanded> chosen, Map<String, Double> weights) {
        if (last.getMembers().size() != chosen.size()) {
            return false;
        }
        for (int i = 0; i < chosen.size(); i++) {
            SoupMember a = last.getMembers().get(i);
            SftModelLanded b = chosen.get(i);
            if (!a.getModelId().equals(b.getModelId()) || !a.getBlob().getSha256().equals(b.getBlob().getSha256())
                    || Math.abs(a.getWeight() - weights.get(b.getModelId())) > 1e-12) {
                return false;
            }
        }
        return true;
    }
}
