package io.salsa.schemas.registry;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;

/**
 * The registry's state machine shared by the adapters that keep schemas themselves: subjects with their
 * versions, global ids by schema text, and the BACKWARD compatibility rule. Not I/O: the Kafka adapter folds
 * its log into one of these, the in-memory adapter only uses it directly.
 */
final class SchemaStore {

    private final Map<Integer, Schema> byId = new HashMap<>();
    private final Map<String, Integer> idByText = new HashMap<>();
    private final Map<String, List<RegisteredSchema>> bySubject = new HashMap<>();
    private int maxId;

    synchronized Optional<Schema> byId(int id) {
        return Optional.ofNullable(byId.get(id));
    }

    synchronized Optional<RegisteredSchema> latest(String subject) {
        List<RegisteredSchema> versions = bySubject.get(subject);
        return versions == null || versions.isEmpty() ? Optional.empty()
                : Optional.of(versions.get(versions.size() - 1));
    }

    /** Every subject with a version, sorted. */
    synchronized List<String> subjects() {
        return bySubject.keySet().stream().sorted().toList();
    }

    /** The subject's versions, oldest first (a copy); empty for an unknown subject. */
    synchronized List<RegisteredSchema> versions(String subject) {
        return List.copyOf(bySubject.getOrDefault(subject, List.of()));
    }

    /** The version of {@code subject} whose schema is exactly {@code schema}, if registered. */
    synchronized Optional<RegisteredSchema> find(String subject, Schema schema) {
        String text = schema.toString();
        return bySubject.getOrDefault(subject, List.of()).stream()
                .filter(r -> r.schema().toString().equals(text)).findFirst();
    }

    /** Why {@code schema} cannot read the subject's latest version; empty when it can (or the subject is new). */
    synchronized List<String> incompatibilities(String subject, Schema schema) {
        return latest(subject).map(l -> Compatibility.problems(schema, l.schema())).orElse(List.of());
    }

    /** What registering {@code schema} under {@code subject} now would record: the next version and the id. */
    synchronized RegisteredSchema next(String subject, Schema schema) {
        Integer id = idByText.get(schema.toString());
        int version = latest(subject).map(RegisteredSchema::version).orElse(0) + 1;
        return new RegisteredSchema(subject, version, id != null ? id : maxId + 1, schema);
    }

    /**
     * Adds a registration; refuses (returns false) one that contradicts the state — an id already bound to
     * another schema, a version already taken, or a schema already under another id — so that every reader of
     * the same log folds it into the same state even if a foreign writer appended nonsense.
     */
    synchronized boolean apply(RegisteredSchema r) {
        String text = r.schema().toString();
        Schema boundToId = byId.get(r.id());
        Integer idOfText = idByText.get(text);
        if (boundToId != null && !boundToId.toString().equals(text)) {
            return false;
        }
        if (idOfText != null && idOfText != r.id()) {
            return false;
        }
        if (latest(r.subject()).map(RegisteredSchema::version).orElse(0) + 1 != r.version()) {
            return false;
        }
        byId.put(r.id(), r.schema());
        idByText.put(text, r.id());
        bySubject.computeIfAbsent(r.subject(), s -> new ArrayList<>()).add(r);
        maxId = Math.max(maxId, r.id());
        return true;
    }
}
