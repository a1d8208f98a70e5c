package dev.usher.gate.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads the hops of a {@code Forwarded} header (RFC 7239): elements separated by commas, parameters by
 * semicolons, values tokens or quoted strings. Only {@code for} and {@code proto} matter. Tolerant of
 * garbage by construction: an element that cannot be read becomes a malformed hop (it stops the walk in
 * {@link TrustedProxies}), never an exception.
 */
final class ForwardedParser {
    private ForwardedParser() {
    }

    static List<TrustedProxies.Hop> hops(String header) {
        List<TrustedProxies.Hop> hops = new ArrayList<>();
        if (header.isBlank()) {
            return hops;
        }
        for (String element : split(header, ',')) {
            String forValue = null;
            String proto = null;
            boolean malformed = false;
            for (String pair : split(element, ';')) {
                String p = pair.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                if (eq <= 0) {
                    malformed = true;
                    continue;
                }
                String name = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
                String value = unquote(p.substring(eq + 1).trim());
                if (value == null) {
                    malformed = true;
                } else if (name.equals("for")) {
                    forValue = value;
                } else if (name.equals("proto")) {
                    proto = value;
                }
            }
            hops.add(new TrustedProxies.Hop(malformed || forValue == null ? null : Addresses.parseHop(forValue), proto));
        }
        return hops;
    }

    /** Splits on {@code separator} outside double quotes. */
    private static List<String> split(String s, char separator) {
        List<String> parts = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '\\' && quoted && i + 1 < s.length()) {
                current.append(c);
                c = s.charAt(++i);
            } else if (c == separator && !quoted) {
                parts.add(current.toString());
                current.setLength(0);
                continue;
            }
            current.append(c);
        }
        parts.add(current.toString());
        return parts;
    }

    /** A token as is, a quoted string without quotes and escapes, or null when the quoting is broken. */
    private static String unquote(String v) {
        if (!v.startsWith("\"")) {
            return v.indexOf('"') >= 0 ? null : v;
        }
        if (v.length() < 2 || !v.endsWith("\"")) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < v.length() - 1; i++) {
            char c = v.charAt(i);
            if (c == '\\' && i + 1 < v.length() - 1) {
                c = v.charAt(++i);
            } else if (c == '"' || c == '\\') {
                return null;
            }
            out.append(c);
        }
        return out.toString();
    }
}
