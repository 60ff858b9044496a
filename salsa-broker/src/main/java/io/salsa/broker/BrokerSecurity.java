package io.salsa.broker;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What makes the embedded broker a secured one, as production clusters are: its client listener speaks
 * SASL_PLAINTEXT with SCRAM-SHA-512 users, and an authorizer (KRaft's {@code StandardAuthorizer}) lets a user do only
 * what its grants allow, so the services can be tried and tested against the same refusals a real cluster gives.
 *
 * @param users  SCRAM-SHA-512 users, name → password (created through the Admin API after start)
 * @param grants what each user may do; a user without a grant may do nothing
 */
public record BrokerSecurity(Map<String, String> users, List<Grant> grants) {

    /** The SASL mechanism of the users. */
    public static final String MECHANISM = "SCRAM-SHA-512";
    /** The broker's own (super) user; it talks to itself with SASL/PLAIN and a password chosen at every start. */
    public static final String BROKER_USER = "salsa-broker";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,100}");

    public BrokerSecurity {
        users = Map.copyOf(users);
        grants = List.copyOf(grants);
        users.forEach((name, password) -> {
            requireName(name, "--sasl-user");
            if (name.equals(BROKER_USER)) {
                throw new IllegalArgumentException("--sasl-user " + name + ": that name is the broker's own user");
            }
            if (password == null || password.isEmpty() || password.contains("\"") || password.contains("\\")) {
                throw new IllegalArgumentException("--sasl-user " + name + ": the password must be non-empty and "
                        + "free of '\"' and '\\' (it is written into a JAAS configuration)");
            }
        });
        for (Grant g : grants) {
            if (!users.containsKey(g.user())) {
                throw new IllegalArgumentException("--acl " + g.user() + ":" + g.prefix() + ": no --sasl-user "
                        + g.user() + " (users: " + users.keySet() + ")");
            }
        }
    }

    /**
     * All operations on the topics, consumer groups and transactional ids whose names start with {@code prefix}
     * ({@code *}: on every one): a salsa deployment names all three with its topic prefix, so one grant lets a
     * user run a deployment and nothing else.
     */
    public record Grant(String user, String prefix) {
        public Grant {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(prefix, "prefix");
            if (prefix.isEmpty()) {
                throw new IllegalArgumentException("--acl " + user + ": the prefix must not be empty (use '*' for "
                        + "every topic, group and transactional id)");
            }
        }

        /** Whether it covers every name rather than a prefix. */
        public boolean everything() {
            return prefix.equals("*");
        }

        /**
         * Parses {@code USER:PREFIX}.
         *
         * @throws IllegalArgumentException naming the flag and the form
         */
        public static Grant parse(String spec) {
            int colon = spec.indexOf(':');
            if (colon <= 0 || colon == spec.length() - 1) {
                throw new IllegalArgumentException("--acl '" + spec + "' must be USER:PREFIX (all operations on "
                        + "topics, groups and transactional ids starting with PREFIX; '*' for all), e.g. alice:demo.");
            }
            return new Grant(requireName(spec.substring(0, colon), "--acl"), spec.substring(colon + 1));
        }
    }

    /**
     * Users from {@code NAME:PASSWORD} specs, grants from {@code USER:PREFIX} specs.
     *
     * @throws IllegalArgumentException naming the flag and the form
     */
    public static BrokerSecurity parse(List<String> userSpecs, List<String> aclSpecs) {
        Map<String, String> users = new LinkedHashMap<>();
        for (String spec : userSpecs) {
            int colon = spec.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--sasl-user '" + spec.replaceAll(":.*", ":…")
                        + "' must be NAME:PASSWORD");
            }
            users.put(requireName(spec.substring(0, colon), "--sasl-user"), spec.substring(colon + 1));
        }
        return new BrokerSecurity(users, aclSpecs.stream().map(Grant::parse).toList());
    }

    /**
     * The client properties a user logs in with ({@code security.protocol}, {@code sasl.mechanism},
     * {@code sasl.jaas.config}): what goes into its {@code client.properties}.
     */
    public static Map<String, String> clientProperties(String user, String password) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", MECHANISM);
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + user + "\" password=\"" + password + "\";");
        return p;
    }

    private static String requireName(String name, String flag) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(flag + ": user name '" + name + "' must be 1-100 characters of "
                    + "[A-Za-z0-9._@-]");
        }
        return name;
    }

    @Override
    public String toString() {
        return "BrokerSecurity[users=" + users.keySet() + ", grants=" + grants + "]";
    }
}
