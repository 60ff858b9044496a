package io.salsa.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * The synthetic world the built-in task asks about: a seeded set of invented animals, planets and cities with
 * attribute values, plus everything needed to recognise a question about it, so that answers can be judged
 * without any human or downloaded data.
 *
 * <p>The same seed and entity count always give the same world. Every question the task can ask is indexed, so a
 * {@link SimulatedRater} recovers the entity and attribute from the prompt text alone.
 */
public final class TaskWorld {

    /** Smallest world: two planets are needed so that a city's planet can be answered wrongly. */
    public static final int MIN_ENTITIES = 6;
    /** Largest world; names come from a finite syllable set and the vocabulary should stay small. */
    public static final int MAX_ENTITIES = 300;

    private static final List<String> SYLLABLES = List.of(
            "zor", "bit", "vel", "mor", "kam", "dra", "lun", "pex", "tib", "quo", "fen", "rax",
            "sol", "nim", "gal", "bor", "wex", "yul", "tar", "mip", "zan", "kel", "fro", "dup");

    /** Sentences an over-long answer pads itself with; known words, so only length and repetition punish them. */
    static final List<String> FILLERS = List.of(
            "that is a good question.",
            "let me think about this for a moment.",
            "many people have asked about this before.",
            "here is what i know.",
            "i hope this answer helps you.",
            "feel free to ask me anything else.",
            "as far as i can tell, this is correct.",
            "thank you for asking.");

    /** Extra words used only by the pretraining sentences and hedged answers. */
    private static final List<String> GLUE = List.of("a", "an", "with", "and", "that", "or", "maybe", "it", "is",
            "animal", "planet", "city", "moons", "on", "in", "the", "lives", "eats", "has", "famous", "for");

    private final long seed;
    private final List<Entity> entities;
    private final Map<String, Entity> byName;
    private final Map<String, PromptKey> prompts;
    private final Set<String> vocabulary;

    private TaskWorld(long seed, List<Entity> entities) {
        this.seed = seed;
        this.entities = List.copyOf(entities);
        Map<String, Entity> names = new LinkedHashMap<>();
        for (Entity e : entities) {
            if (names.put(e.name(), e) != null) {
                throw new IllegalArgumentException("entity name " + e.name() + " is used twice");
            }
        }
        this.byName = Collections.unmodifiableMap(names);
        this.prompts = indexPrompts();
        this.vocabulary = Collections.unmodifiableSet(buildVocabulary());
    }

    /** Generates the world for {@code seed} with {@code entityCount} entities split evenly among the kinds. */
    public static TaskWorld generate(long seed, int entityCount) {
        if (entityCount < MIN_ENTITIES || entityCount > MAX_ENTITIES) {
            throw new IllegalArgumentException("entities must be in " + MIN_ENTITIES + ".." + MAX_ENTITIES + ", got "
                    + entityCount);
        }
        Random rng = new Random(seed ^ 0x5A15AL);
        List<String> names = new ArrayList<>();
        for (String a : SYLLABLES) {
            for (String b : SYLLABLES) {
                if (!a.equals(b)) {
                    names.add(a + b);
                }
            }
        }
        Collections.shuffle(names, rng);
        Kind[] kinds = Kind.values();
        List<String> planetNames = new ArrayList<>();
        List<Kind> assigned = new ArrayList<>();
        for (int i = 0; i < entityCount; i++) {
            // planets first in the cycle so cities always have planets to be on
            Kind k = kinds[(i + 1) % kinds.length];
            assigned.add(k);
            if (k == Kind.PLANET) {
                planetNames.add(names.get(i));
            }
        }
        List<Entity> entities = new ArrayList<>();
        for (int i = 0; i < entityCount; i++) {
            Kind k = assigned.get(i);
            Map<Attribute, String> values = new EnumMap<>(Attribute.class);
            for (Attribute a : k.attributes()) {
                List<String> choices = a == Attribute.PLANET ? planetNames : a.fixedValues();
                values.put(a, choices.get(rng.nextInt(choices.size())));
            }
            entities.add(new Entity(names.get(i), k, values));
        }
        return new TaskWorld(seed, entities);
    }

    /** The seed this world was generated from. */
    public long seed() {
        return seed;
    }

    /** All entities in generation order. */
    public List<Entity> entities() {
        return entities;
    }

    /** The entity called {@code name}, if any. */
    public Optional<Entity> entity(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Every value {@code attribute} can take in this world (for a city's planet: the planets). */
    public List<String> values(Attribute attribute) {
        if (attribute == Attribute.PLANET) {
            return entities.stream().filter(e -> e.kind() == Kind.PLANET).map(Entity::name).toList();
        }
        return attribute.fixedValues();
    }

    /** Every word any generated text of this task uses; anything else is nonsense to the rater. */
    public Set<String> vocabulary() {
        return vocabulary;
    }

    /** Which entity, attribute and phrasing a prompt text asks about, if it is one of this world's questions. */
    public Optional<PromptKey> parsePrompt(String prompt) {
        return Optional.ofNullable(prompts.get(normalise(prompt)));
    }

    /** The question identity behind a prompt: enough to judge any answer to it. */
    public record PromptKey(Entity entity, Attribute attribute, String template, boolean oodPhrasing) {

        /** The true value. */
        public String answer() {
            return entity.value(attribute);
        }
    }

    private Map<String, PromptKey> indexPrompts() {
        Map<String, PromptKey> index = new HashMap<>();
        for (Entity e : entities) {
            for (Attribute a : e.kind().attributes()) {
                for (String t : a.trainTemplates()) {
                    addUnique(index, new PromptKey(e, a, t, false));
                }
                for (String t : a.oodTemplates()) {
                    addUnique(index, new PromptKey(e, a, t, true));
                }
            }
        }
        return Collections.unmodifiableMap(index);
    }

    private static void addUnique(Map<String, PromptKey> index, PromptKey key) {
        PromptKey clash = index.put(normalise(key.entity().ask(key.template())), key);
        if (clash != null) {
            // an ambiguous question could not be judged; the templates are designed so this never happens
            throw new IllegalStateException("prompt '" + key.entity().ask(key.template()) + "' asks both "
                    + clash.attribute().key() + " and " + key.attribute().key());
        }
    }

    private Set<String> buildVocabulary() {
        Set<String> words = new TreeSet<>();
        List<String> texts = new ArrayList<>(FILLERS);
        texts.addAll(GLUE);
        for (Attribute a : Attribute.values()) {
            texts.addAll(a.trainTemplates());
            texts.addAll(a.oodTemplates());
            texts.add(a.answerTemplate());
            texts.add(a.noun());
            texts.addAll(values(a));
        }
        for (Kind k : Kind.values()) {
            texts.add(k.noun());
            texts.add(k.preposition());
        }
        for (Entity e : entities) {
            texts.add(e.name());
        }
        for (String t : texts) {
            words.addAll(words(t.replace("{ref}", " ").replace("{prep}", " ").replace("{v}", " ")));
        }
        return words;
    }

    /** Case, spacing and punctuation do not change which question a prompt asks. */
    static String normalise(String text) {
        return String.join(" ", words(text));
    }

    /** Lower-case words of {@code text}: runs of letters, digits and apostrophes. */
    static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '\'') {
                sb.append(Character.toLowerCase(c));
            } else if (sb.length() > 0) {
                out.add(sb.toString());
                sb.setLength(0);
            }
        }
        if (sb.length() > 0) {
            out.add(sb.toString());
        }
        return out;
    }

    /** The world as {@code world.json}: seed and every entity with its values. */
    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("seed", seed);
        var list = root.putArray("entities");
        for (Entity e : entities) {
            ObjectNode n = list.addObject();
            n.put("name", e.name());
            n.put("kind", e.kind().noun());
            ObjectNode attrs = n.putObject("attributes");
            e.values().forEach((a, v) -> attrs.put(a.key(), v));
        }
        Files.writeString(file, json.writeValueAsString(root) + "\n");
    }

    /** Reads a world written by {@link #write}; errors name the file and the entity. */
    public static TaskWorld read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.path("entities").isArray() || !root.path("seed").canConvertToLong()) {
            throw new IOException(file + ": expected {\"seed\": N, \"entities\": [...]}");
        }
        List<Entity> entities = new ArrayList<>();
        for (JsonNode n : root.get("entities")) {
            String name = n.path("name").asText();
            try {
                Kind kind = Kind.valueOf(n.path("kind").asText().toUpperCase(Locale.ROOT));
                Map<Attribute, String> values = new EnumMap<>(Attribute.class);
                n.path("attributes").fields().forEachRemaining(f -> values.put(Attribute.fromKey(f.getKey()), f.getValue().asText()));
                entities.add(new Entity(name, kind, values));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": entity '" + name + "': " + e.getMessage(), e);
            }
        }
        try {
            return new TaskWorld(root.get("seed").asLong(), entities);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
