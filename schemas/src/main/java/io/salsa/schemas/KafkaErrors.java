package io.salsa.schemas;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;

/**
 * Turns the Kafka client's security failures into messages an operator can act on (who was refused, what, where
 * it was configured, what to change), in one place for every service: Kafka's own say only "Authentication failed
 * during authentication due to invalid credentials" or "Not authorized to access topics: [x]" without the principal.
 */
public final class KafkaErrors {

    private KafkaErrors() {}

    /** A service cannot use Kafka because the cluster refused its credentials or its access. */
    public static final class KafkaAccessException extends IllegalStateException {
        KafkaAccessException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The operator's explanation of {@code failure} (or of the first security failure among its causes), or empty
     * when it is not a security failure.
     *
     * @param topics the topics the failed call was about, named when Kafka's exception does not name them
     */
    public static Optional<String> explain(Throwable failure, KafkaSettings settings, Collection<String> topics) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = explainOne(t, settings, topics);
            if (m != null) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** Throws {@link KafkaAccessException} with the {@link #explain explanation} if {@code failure} is a security failure. */
    public static void throwIfAccessDenied(Throwable failure, KafkaSettings settings, Collection<String> topics) {
        Optional<String> m = explain(failure, settings, topics);
        if (m.isPresent()) {
            throw new KafkaAccessException(m.get(), failure);
        }
    }

    /**
     * A hint for a call that timed out, else empty: a client whose security protocol does not match the listener
     * (plaintext against SASL, say) sees only dropped connections and waits until its timeout, with no error that
     * says why.
     */
    public static String timeoutHint(Throwable failure, KafkaSettings settings) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
                String protocol = settings.client().properties().get("security.protocol");
                return protocol == null
                        ? " (this client connects with PLAINTEXT: if the cluster requires SASL or TLS, set "
                                + KafkaClientConfig.CONFIG_ENV + " to a client.properties, or "
                                + KafkaClientConfig.variableName("security.protocol") + " and the sasl.*/ssl.* "
                                + "variables)"
                        : " (check that security.protocol=" + protocol + ", from "
                                + settings.client().sourceOf("security.protocol") + ", is what the listener at "
                                + settings.bootstrapServers() + " speaks)";
            }
        }
        return "";
    }

    private static String explainOne(Throwable t, KafkaSettings settings, Collection<String> topics) {
        KafkaClientConfig client = settings.client();
        String principal = client.principal();
        String where = "Kafka at " + settings.bootstrapServers();
        if (t instanceof SslAuthenticationException) {
            return "the TLS handshake with " + where + " failed (" + t.getMessage() + "): check ssl.truststore.* "
                    + "(the broker's certificate authority) and ssl.keystore.* (a client certificate, if the broker "
                    + "asks for one)" + configured(client, "ssl.truststore.location");
        }
        if (t instanceof SaslAuthenticationException || t instanceof AuthenticationException) {
            return where + " refused to authenticate " + principal + " (SASL mechanism "
                    + client.properties().getOrDefault("sasl.mechanism", "GSSAPI") + "): the password is wrong, or "
                    + "the user does not exist on the cluster, or its credentials are for another mechanism"
                    + configured(client, "sasl.jaas.config") + ". Kafka said: " + t.getMessage();
        }
        if (t instanceof TopicAuthorizationException e) {
            List<String> named = new ArrayList<>(e.unauthorizedTopics());
            if (named.isEmpty()) {
                named.addAll(topics);
            }
            return principal + " is not authorized for topic" + (named.size() == 1 ? " " : "s ")
                    + String.join(", ", named) + " at " + where + ": grant it ACLs on "
                    + (named.size() == 1 ? "that topic" : "those topics") + hint(principal, settings, "--topic");
        }
        if (t instanceof GroupAuthorizationException e) {
            String group = e.groupId() != null ? e.groupId() : "(not named by Kafka)";
            return principal + " is not authorized for consumer group " + group + " at " + where
                    + ": grant it Read on the group" + hint(principal, settings, "--group");
        }
        if (t instanceof TransactionalIdAuthorizationException) {
            return principal + " is not authorized for a transactional id at " + where + " (" + t.getMessage()
                    + "): grant it Write and Describe on transactional ids" + hint(principal, settings,
                    "--transactional-id");
        }
        if (t instanceof ClusterAuthorizationException) {
            return principal + " is not authorized for a cluster operation at " + where + " (" + t.getMessage()
                    + "): idempotent producers need Write on their topics (or IdempotentWrite on the cluster)";
        }
        if (t instanceof AuthorizationException) {
            return principal + " is not authorized at " + where + ": " + t.getMessage();
        }
        return null;
    }

    private static String hint(String principal, KafkaSettings settings, String resourceFlag) {
        String prefix = settings.topicPrefix();
        return prefix.isEmpty()
                ? " (e.g. kafka-acls --add --allow-principal " + principal + " --operation All " + resourceFlag + " '*')"
                : " (a deployment's topics, groups and transactional ids all start with its prefix: kafka-acls --add "
                        + "--allow-principal " + principal + " --operation All " + resourceFlag + " " + prefix
                        + " --resource-pattern-type prefixed)";
    }

    private static String configured(KafkaClientConfig client, String property) {
        String source = client.sourceOf(property);
        return source == null ? "" : "; " + property + " comes from " + source;
    }
}
