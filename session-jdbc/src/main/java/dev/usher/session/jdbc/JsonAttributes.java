package dev.usher.session.jdbc;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Session attributes as one JSON object of strings, the text kept in the {@code attributes} column.
 *
 * <p>Why JSON in one column rather than a child table of (session, name, value) rows: every write stays
 * one {@code UPDATE ... WHERE id = ? AND version = ?}, so a compare-and-set never spans statements or
 * leaves half of a session's attributes written; a load is one row; and the text is still readable with
 * the engines' own tools ({@code attributes ->> 'cart'} in psql, {@code json_extract(attributes, '$.cart')}
 * in sqlite3). The cost is that a write rewrites all attributes, bounded by the 1 MiB attribute limit.
 *
 * <p>Only {@code "}, {@code \} and the characters JSON forbids raw are escaped, so Korean, emoji and the
 * like stay readable. NUL is written as {@code \u0000}: PostgreSQL's {@code text} and {@code json} keep
 * that escape verbatim (its {@code jsonb} would reject it, which is why the column is not {@code jsonb}).
 * Unpaired surrogates, legal in a Java string but not in UTF-8, are escaped too, so every Java string
 * round-trips exactly. Stateless and thread-safe.
 */
final class JsonAttributes {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private JsonAttributes() {
    }

    static String encode(Map<String, String> attributes) {
        if (attributes.isEmpty()) {
            return "{}";
        }
        StringBuilder out = new StringBuilder(64);
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            appendString(out, e.getKey());
            out.append(':');
            appendString(out, e.getValue());
        }
        return out.append('}').toString();
    }

    private static void appendString(StringBuilder out, String s) {
        out.ensureCapacity(out.length() + s.length() + 2);
        out.append('"');
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        appendUnicodeEscape(out, c);
                    } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                        out.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        appendUnicodeEscape(out, c);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static void appendUnicodeEscape(StringBuilder out, char c) {
        out.append("\\u").append(HEX[c >> 12 & 0xf]).append(HEX[c >> 8 & 0xf]).append(HEX[c >> 4 & 0xf]).append(HEX[c & 0xf]);
    }

    /**
     * Parses what {@link #encode} wrote (or any JSON object whose values are all strings).
     *
     * @throws IllegalArgumentException naming the offset of the first thing that is not such an object
     */
    static Map<String, String> decode(String json) {
        Parser p = new Parser(json);
        Map<String, String> attributes = p.object();
        p.skipWhitespace();
        if (p.pos != json.length()) {
            throw p.error("end of input");
        }
        return attributes;
    }

    private static final class Parser {
        private final String in;
        private int pos;

        Parser(String in) {
            this.in = in;
        }

        Map<String, String> object() {
            skipWhitespace();
            expect('{');
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return Map.of();
            }
            Map<String, String> map = new LinkedHashMap<>();
            while (true) {
                skipWhitespace();
                String name = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                map.put(name, string());
                skipWhitespace();
                char c = next("',' or '}'");
                if (c == '}') {
                    return Collections.unmodifiableMap(map);
                }
                if (c != ',') {
                    pos--;
                    throw error("',' or '}'");
                }
            }
        }

        String string() {
            expect('"');
            StringBuilder sb = null;
            int start = pos;
            while (true) {
                char c = next("'\"'");
                if (c == '"') {
                    return sb == null ? in.substring(start, pos - 1) : sb.toString();
                }
                if (c < 0x20) {
                    pos--;
                    throw error("an escaped control character");
                }
                if (c != '\\') {
                    if (sb != null) {
                        sb.append(c);
                    }
                    continue;
                }
                if (sb == null) {
                    sb = new StringBuilder(in.length() - start).append(in, start, pos - 1);
                }
                char e = next("an escape");
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> sb.append(hex4());
                    default -> {
                        pos--;
                        throw error("an escape");
                    }
                }
            }
        }

        private char hex4() {
            if (pos + 4 > in.length()) {
                throw error("four hex digits");
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(in.charAt(pos), 16);
                if (d < 0) {
                    throw error("a hex digit");
                }
                v = v << 4 | d;
                pos++;
            }
            return (char) v;
        }

        void skipWhitespace() {
            while (pos < in.length()) {
                char c = in.charAt(pos);
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    return;
                }
                pos++;
            }
        }

        private char peek() {
            return pos < in.length() ? in.charAt(pos) : 0;
        }

        private char next(String expected) {
            if (pos >= in.length()) {
                throw error(expected);
            }
            return in.charAt(pos++);
        }

        private void expect(char c) {
            if (pos >= in.length() || in.charAt(pos) != c) {
                throw error("'" + c + "'");
            }
            pos++;
        }

        IllegalArgumentException error(String expected) {
            return new IllegalArgumentException("attributes column is not a JSON object of strings: expected "
                    + expected + " at offset " + pos + " of " + in.length());
        }
    }
}
