package io.salsa.soup.builder;

import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupMethod;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How one soup is made: its name (the soup topic key), the base model its members must share, and either an
 * explicit member list (with optional weights) or "the K most recent SFT models of that base". Immutable and
 * validated; parsed from {@code name=…,base=…,k=2} or {@code name=…,base=…,members=a:0.7|b:0.3}.
 *
 * @param name recipe name ({@code name})
 * @param baseModel base model id every member must have been fine-tuned from ({@code base})
 * @param members explicit member model ids, in order; empty when {@code k} selects them ({@code members})
 * @param weights weight per explicit member (normalised when the soup is built); empty = uniform
 * @param k number of most recent members to average when no explicit list is given ({@code k})
 */
public record SoupRecipe(String name, String baseModel, List<String> members, Map<String, Double> weights, int k) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

    public SoupRecipe {
        if (name == null || !Pattern.matches("[A-Za-z0-9._-]{1,100}", name)) {
            throw new IllegalArgumentException("recipe name must be 1-100 characters of [A-Za-z0-9._-] (got '" + name + "')");
        }
        if (baseModel == null || baseModel.isBlank()) {
            throw new IllegalArgumentException("recipe " + name + ": base must name the base model");
        }
        members = List.copyOf(members);
        weights = Map.copyOf(weights);
        if (members.isEmpty()) {
            if (k < 1) {
                throw new IllegalArgumentException("recipe " + name + ": k must be >= 1 when no members are listed (got "
                        + k + ")");
            }
            if (!weights.isEmpty()) {
                throw new IllegalArgumentException("recipe " + name + ": weights need an explicit member list");
            }
        } else {
            if (k != members.size()) {
                throw new IllegalArgumentException("recipe " + name + ": k must equal the number of listed members");
            }
            if (members.stream().distinct().count() != members.size()) {
                throw new IllegalArgumentException("recipe " + name + ": a member is listed twice: " + members);
            }
            for (String m : members) {
                if (!ID.matcher(m).matches()) {
                    throw new IllegalArgumentException("recipe " + name + ": bad member id '" + m + "'");
                }
            }
            for (Map.Entry<String, Double> w : weights.entrySet()) {
                if (!members.contains(w.getKey())) {
                    throw new IllegalArgumentException("recipe " + name + ": weight for unlisted member " + w.getKey());
                }
                if (!(w.getValue() > 0) || w.getValue().isInfinite()) {
                    throw new IllegalArgumentException("recipe " + name + ": weight of " + w.getKey()
                            + " must be a finite number > 0 (got " + w.getValue() + ")");
                }
            }
            if (!weights.isEmpty() && weights.size() != members.size()) {
                throw new IllegalArgumentException("recipe " + name + ": give a weight for every member or none");
            }
        }
    }

    /** How the manifest describes the combination. */
    public SoupMethod method() {
        return weights.isEmpty() ? SoupMethod.UNIFORM : SoupMethod.WEIGHTED;
    }

    /**
     * The member set this recipe asks for given the models known now (refused ones excluded), in a stable order,
     * or an empty list while the recipe cannot be filled yet.
     */
    public List<SftModelLanded> select(Map<String, SftModelLanded> known) {
        if (!members.isEmpty()) {
            List<SftModelLanded> out = new ArrayList<>();
            for (String id : members) {
                SftModelLanded m = known.get(id);
                if (m == null || !m.getBaseModel().equals(baseModel)) {
                    return List.of();
                }
                out.add(m);
            }
            return out;
        }
        List<SftModelLanded> candidates = new ArrayList<>();
        for (SftModelLanded m : known.values()) {
            if (m.getBaseModel().equals(baseModel)) {
                candidates.add(m);
            }
        }
        if (candidates.size() < k) {
            return List.of();
        }
        candidates.sort(Comparator.comparingLong(SftModelLanded::getLandedAtMs).reversed()
                .thenComparing(SftModelLanded::getModelId));
        List<SftModelLanded> chosen = new ArrayList<>(candidates.subList(0, k));
        chosen.sort(Comparator.comparing(SftModelLanded::getModelId));
        return chosen;
    }

    /** The normalised weight of each chosen member. */
    public Map<String, Double> normalisedWeights(List<SftModelLanded> chosen) {
        Map<String, Double> out = new LinkedHashMap<>();
        double total = 0;
        for (SftModelLanded m : chosen) {
            total += weights.getOrDefault(m.getModelId(), 1.0);
        }
        for (SftModelLanded m : chosen) {
            out.put(m.getModelId(), weights.getOrDefault(m.getModelId(), 1.0) / total);
        }
        return out;
    }

    /** Parses {@code name=…,base=…,k=N} or {@code name=…,base=…,members=a|b} / {@code members=a:0.7|b:0.3}. */
    public static SoupRecipe parse(String spec) {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("recipe '" + spec + "': expected key=value pairs separated by commas"
                        + " (name, base, k or members)");
            }
            String key = part.substring(0, eq).trim();
            if (!List.of("name", "base", "k", "members").contains(key)) {
                throw new IllegalArgumentException("recipe '" + spec + "': unknown key '" + key
                        + "' (known: name, base, k, members)");
            }
            kv.put(key, part.substring(eq + 1).trim());
        }
        List<String> members = new ArrayList<>();
        Map<String, Double> weights = new LinkedHashMap<>();
        if (kv.containsKey("members")) {
            for (String m : kv.get("members").split("\\|")) {
                int colon = m.lastIndexOf(':');
                String id = m;
                if (colon > 0) {
                    try {
                        weights.put(m.substring(0, colon), Double.parseDouble(m.substring(colon + 1)));
                        id = m.substring(0, colon);
                    } catch (NumberFormatException e) {
                        id = m;
                    }
                }
                members.add(id.trim());
            }
        }
        int k;
        try {
            k = kv.containsKey("k") ? Integer.parseInt(kv.get("k")) : members.size();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("recipe '" + spec + "': k must be an integer (got '" + kv.get("k") + "')");
        }
        return new SoupRecipe(kv.get("name"), kv.get("base"), members, weights, k);
    }
}
