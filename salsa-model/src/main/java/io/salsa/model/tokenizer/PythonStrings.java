package io.salsa.model.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods and indexing on strings inside Jinjava, which otherwise offers Java's methods
 * ({@code startsWith}, a regex {@code split}) where chat templates call Python's ({@code startswith},
 * {@code split('</think>')}, {@code lstrip('\n')}, {@code content[0]}). Placed before Jinjava's own resolvers so a
 * Python name always means Python's behaviour.
 */
final class PythonStrings extends ELResolver {

    private static final Set<String> METHODS = Set.of("startswith", "endswith", "split", "rsplit", "strip",
            "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "replace", "find", "count", "splitlines",
            "join", "isspace", "isdigit", "isalpha", "isupper", "islower");

    private static final java.util.regex.Pattern INDEX = java.util.regex.Pattern.compile("-?\\d{1,9}");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name) || !METHODS.contains(name)) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "startswith" -> anyOf(p, 0, prefix -> s.startsWith(prefix));
            case "endswith" -> anyOf(p, 0, suffix -> s.endsWith(suffix));
            case "split" -> split(s, arg(p, 0), p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "rsplit" -> rsplit(s, arg(p, 0), p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "strip" -> rstrip(lstrip(s, arg(p, 0)), arg(p, 0));
            case "lstrip" -> lstrip(s, arg(p, 0));
            case "rstrip" -> rstrip(s, arg(p, 0));
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "replace" -> replace(s, (String) p[0], (String) p[1], p.length > 2 ? ((Number) p[2]).intValue() : -1);
            case "find" -> (long) s.indexOf((String) p[0]);
            case "count" -> (long) count(s, (String) p[0]);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n", -1)).subList(0, lines(s));
            case "join" -> join(s, p[0]);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PythonStrings::isSpace);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            default -> throw new IllegalStateException(name);
        };
        context.setPropertyResolved(true);
        return result;
    }

    /** {@code s[i]} with Python's negative indices, counted in code points as Python does. */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        // Jinjava hands the index over as its text ("0", "-1")
        if (base instanceof String s && property != null && INDEX.matcher(property.toString()).matches()) {
            int[] cps = s.codePoints().toArray();
            long i = Long.parseLong(property.toString());
            if (i < 0) {
                i += cps.length;
            }
            context.setPropertyResolved(true);
            if (i < 0 || i >= cps.length) {
                return null;
            }
            return new String(cps, (int) i, 1);
        }
        return null;
    }

    /** Python's {@code str.isspace} for one code point. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            if (chars == null ? !isSpace(cp) : chars.indexOf(cp) < 0) {
                break;
            }
            i += Character.charCount(cp);
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int end = s.length();
        while (end > 0) {
            int cp = s.codePointBefore(end);
            if (chars == null ? !isSpace(cp) : chars.indexOf(cp) < 0) {
                break;
            }
            end -= Character.charCount(cp);
        }
        return s.substring(0, end);
    }

    static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= n) {
                    return out;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(rstrip(s.substring(i), null));
                    return out;
                }
                int j = i;
                while (j < n && !isSpace(s.codePointAt(j))) {
                    j += Character.charCount(s.codePointAt(j));
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new ChatTemplateException("split: empty separator");
        }
        int from = 0;
        int at;
        while ((maxsplit < 0 || out.size() < maxsplit) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> rsplit(String s, String sep, int maxsplit) {
        if (sep == null || maxsplit < 0) {
            return split(s, sep, maxsplit);
        }
        List<String> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < maxsplit) {
            int at = s.lastIndexOf(sep, end - sep.length());
            if (at < 0) {
                break;
            }
            out.add(s.substring(at + sep.length(), end));
            end = at;
        }
        out.add(s.substring(0, end));
        Collections.reverse(out);
        return out;
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        if (old.isEmpty()) {
            // Python inserts before each code point (and at the end), at most count times
            StringBuilder sb = new StringBuilder();
            int done = 0;
            int i = 0;
            while (i <= s.length()) {
                if (done < count) {
                    sb.append(replacement);
                    done++;
                }
                if (i == s.length()) {
                    break;
                }
                int cp = s.codePointAt(i);
                sb.appendCodePoint(cp);
                i += Character.charCount(cp);
            }
            return sb.toString();
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        int done = 0;
        for (int at = s.indexOf(old); at >= 0 && done < count; at = s.indexOf(old, from)) {
            sb.append(s, from, at).append(replacement);
            from = at + old.length();
            done++;
        }
        return sb.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static int lines(String s) {
        String[] parts = s.split("\r\n|\r|\n", -1);
        return s.isEmpty() ? 0 : parts[parts.length - 1].isEmpty() ? parts.length - 1 : parts.length;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            boolean cased = Character.isLetter(cp);
            sb.appendCodePoint(cased ? (previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp)) : cp);
            previousCased = cased;
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        for (Object o : items instanceof Collection<?> c ? c : List.of((Object[]) items)) {
            parts.add(String.valueOf(o));
        }
        return String.join(sep, parts);
    }

    private static String arg(Object[] p, int i) {
        return p.length > i && p[i] != null ? p[i].toString() : null;
    }

    /** A prefix/suffix test with a string or, as in Python, a tuple (list) of them. */
    private static boolean anyOf(Object[] p, int i, java.util.function.Predicate<String> test) {
        if (p[i] instanceof Collection<?> c) {
            return c.stream().anyMatch(o -> test.test(String.valueOf(o)));
        }
        return test.test(String.valueOf(p[i]));
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // strings are immutable; other resolvers handle everything else
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return base instanceof String ? Object.class : null;
    }
}
