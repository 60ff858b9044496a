package io.salsa.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Writes an answer to a task question in a given {@link ResponseStyle}, so data sets and preference pairs can be made from the world alone. */
public final class ResponseWriter {

    private static final List<String> GIBBERISH = List.of("blorf", "xq", "snee", "vooth", "krimble", "ptah", "glom",
            "wuzzle", "frenk", "oob", "zzt", "quamp");

    private final TaskWorld world;

    public ResponseWriter(TaskWorld world) {
        this.world = world;
    }

    /** The response to a question about {@code entity}'s {@code attribute} in {@code style}, varied by {@code rng}. */
    public String write(Entity entity, Attribute attribute, ResponseStyle style, Random rng) {
        String correct = entity.answer(attribute);
        return switch (style) {
            case CONCISE -> correct;
            case TERSE -> entity.value(attribute) + ".";
            case VERBOSE -> {
                List<String> fillers = new ArrayList<>(TaskWorld.FILLERS);
                java.util.Collections.shuffle(fillers, rng);
                int before = 1 + rng.nextInt(2);
                int after = 1 + rng.nextInt(2);
                List<String> parts = new ArrayList<>(fillers.subList(0, before));
                parts.add(correct);
                parts.addAll(fillers.subList(before, before + after));
                yield String.join(" ", parts);
            }
            case REPETITIVE -> {
                int times = 3 + rng.nextInt(3);
                String unit = rng.nextBoolean() ? correct : entity.value(attribute);
                List<String> parts = new ArrayList<>();
                for (int i = 0; i < times; i++) {
                    parts.add(unit.endsWith(".") ? unit.substring(0, unit.length() - 1) : unit);
                }
                yield String.join(" ", parts) + ".";
            }
            case WRONG -> entity.answerWith(attribute, wrongValue(entity, attribute, rng));
            case HEDGING -> {
                String wrong = wrongValue(entity, attribute, rng);
                String right = entity.value(attribute);
                yield rng.nextBoolean()
                        ? entity.answerWith(attribute, right + " or maybe " + wrong)
                        : entity.answerWith(attribute, wrong + " or maybe " + right);
            }
            case EMPTY -> "";
            case NONSENSE -> {
                int n = 3 + rng.nextInt(6);
                List<String> words = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    words.add(GIBBERISH.get(rng.nextInt(GIBBERISH.size())));
                }
                yield String.join(" ", words);
            }
        };
    }

    /** A value of the same attribute that is not the true one. */
    String wrongValue(Entity entity, Attribute attribute, Random rng) {
        List<String> others = new ArrayList<>(world.values(attribute));
        others.remove(entity.value(attribute));
        if (others.isEmpty()) {
            throw new IllegalStateException(attribute.key() + " has a single value in this world; no wrong answer exists");
        }
        return others.get(rng.nextInt(others.size()));
    }
}
