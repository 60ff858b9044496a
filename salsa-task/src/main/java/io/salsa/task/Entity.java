package io.salsa.task;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * An invented thing of the task world with one value per attribute of its kind: the ground truth that answers
 * are judged against.
 *
 * @param name   lower-case invented name ("zorbit")
 * @param kind   animal, planet or city
 * @param values the value of every attribute of the kind
 */
public record Entity(String name, Kind kind, Map<Attribute, String> values) {

    public Entity {
        values = Collections.unmodifiableMap(new EnumMap<>(values));
        for (Attribute a : kind.attributes()) {
            if (!values.containsKey(a)) {
                throw new IllegalArgumentException("entity " + name + " (" + kind.noun() + ") has no " + a.key());
            }
        }
        if (!kind.attributes().containsAll(values.keySet())) {
            throw new IllegalArgumentException("entity " + name + " (" + kind.noun() + ") has attributes " + values.keySet()
                    + " but its kind has only " + kind.attributes());
        }
    }

    /** How text refers to it ("the zorbit", "velmor"). */
    public String ref() {
        return kind.refer(name);
    }

    /** The true value of {@code attribute}. */
    public String value(Attribute attribute) {
        String v = values.get(attribute);
        if (v == null) {
            throw new IllegalArgumentException(kind.noun() + " " + name + " has no " + attribute.key());
        }
        return v;
    }

    /** The concise correct answer about {@code attribute} ("the zorbit is red."). */
    public String answer(Attribute attribute) {
        return fill(attribute.answerTemplate(), value(attribute));
    }

    /** The same sentence with another value, for wrong answers. */
    public String answerWith(Attribute attribute, String value) {
        return fill(attribute.answerTemplate(), value);
    }

    /** A question phrasing filled in for this entity. */
    public String ask(String template) {
        return fill(template, "");
    }

    private String fill(String template, String value) {
        return template.replace("{ref}", ref()).replace("{prep}", kind.preposition()).replace("{v}", value);
    }
}
